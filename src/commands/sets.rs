//! Sets (redis.io/commands/?group=set).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
