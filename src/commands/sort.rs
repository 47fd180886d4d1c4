//! SORT and SORT_RO (redis.io/commands/sort).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
