//! Hashes (redis.io/commands/?group=hash).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
