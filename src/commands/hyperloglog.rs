//! HyperLogLog commands (redis.io/commands/?group=hyperloglog).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
