//! Sorted sets (redis.io/commands/?group=sorted-set).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
