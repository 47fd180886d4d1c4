//! Lists (redis.io/commands/?group=list).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
