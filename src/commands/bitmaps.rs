//! Bitmap commands over strings (redis.io/commands/?group=bitmap).

use super::CommandSpec;

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[];
