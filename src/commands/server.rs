//! Connection and server commands.
//!
//! PING, ECHO and TIME are pure handlers; the rest (SELECT, HELLO, CLIENT,
//! INFO, CONFIG, COMMAND, ...) need connection or server state and are
//! declared here as [`Exec::Server`](super::Exec::Server) so that the table
//! stays the single source of names, arity and flags; the shard layer
//! implements them.

use bytes::Bytes;

use super::flags::*;
use super::{Args, CommandResult, CommandSpec, Ctx, KeySpec, Route, ServerCommand};
use crate::resp::Reply;

/// Connection and server commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::server("multi", 1, FAST | LOADING | STALE | NOSCRIPT, ServerCommand::Multi).doc(
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        "O(1)",
    ),
    CommandSpec::server("exec", 1, LOADING | STALE | NOSCRIPT | SKIP_SLOWLOG, ServerCommand::Exec).doc(
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        "Depends on commands in the transaction",
    ),
    CommandSpec::server("discard", 1, FAST | LOADING | STALE | NOSCRIPT, ServerCommand::Discard).doc(
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        "O(N), when N is the number of queued commands",
    ),
    CommandSpec::server("watch", -2, FAST | LOADING | STALE | NOSCRIPT, ServerCommand::Watch)
        .with_key_finder(all_but_first)
        .doc(
            "transactions",
            "2.2.0",
            "Monitors changes to keys to determine the execution of a transaction.",
            "O(1) for every key.",
        ),
    CommandSpec::server("unwatch", 1, FAST | LOADING | STALE | NOSCRIPT, ServerCommand::Unwatch).doc(
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        "O(1)",
    ),
    CommandSpec::keyspace("ping", -1, FAST | STALE | LOADING, KeySpec::NONE, Route::Local, ping).doc(
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        "O(1)",
    ),
    CommandSpec::keyspace("echo", 2, FAST | STALE | LOADING, KeySpec::NONE, Route::Local, echo).doc(
        "connection",
        "1.0.0",
        "Returns the given string.",
        "O(1)",
    ),
    CommandSpec::keyspace("time", 1, FAST | STALE | LOADING, KeySpec::NONE, Route::Local, time).doc(
        "server",
        "2.6.0",
        "Returns the server time.",
        "O(1)",
    ),
    CommandSpec::server("select", 2, FAST | STALE | LOADING, ServerCommand::Select).doc(
        "connection",
        "1.0.0",
        "Changes the selected database.",
        "O(1)",
    ),
    CommandSpec::server("hello", -1, FAST | NO_AUTH | STALE | LOADING | NOSCRIPT, ServerCommand::Hello).doc(
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        "O(1)",
    ),
    CommandSpec::server("auth", -2, FAST | NO_AUTH | STALE | LOADING | NOSCRIPT, ServerCommand::Auth).doc(
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        "O(N) where N is the number of passwords defined for the user",
    ),
    CommandSpec::server("client", -2, STALE | LOADING | NOSCRIPT, ServerCommand::Client).doc(
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        "Depends on subcommand.",
    ),
    CommandSpec::server("quit", -1, FAST | NO_AUTH | STALE | LOADING | NOSCRIPT, ServerCommand::Quit).doc(
        "connection",
        "1.0.0",
        "Closes the connection.",
        "O(1)",
    ),
    CommandSpec::server("reset", 1, FAST | NO_AUTH | STALE | LOADING | NOSCRIPT, ServerCommand::Reset).doc(
        "connection",
        "6.2.0",
        "Resets the connection.",
        "O(1)",
    ),
    CommandSpec::server("info", -1, STALE | LOADING, ServerCommand::Info).doc(
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        "O(1)",
    ),
    CommandSpec::server("config", -2, ADMIN | NOSCRIPT | LOADING | STALE, ServerCommand::Config).doc(
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        "Depends on subcommand.",
    ),
    CommandSpec::server("command", -1, STALE | LOADING, ServerCommand::Command).doc(
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        "O(N) where N is the total number of Redis commands",
    ),
    CommandSpec::server("bgrewriteaof", 1, ADMIN | NOSCRIPT, ServerCommand::BgRewriteAof).doc(
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        "O(1)",
    ),
    CommandSpec::server("save", 1, ADMIN | NOSCRIPT | NO_MULTI, ServerCommand::Save).doc(
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        "O(N) where N is the total number of keys in all databases",
    ),
    CommandSpec::server("bgsave", -1, ADMIN | NOSCRIPT, ServerCommand::BgSave).doc(
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        "O(1)",
    ),
    CommandSpec::server("lastsave", 1, FAST | STALE | LOADING, ServerCommand::LastSave).doc(
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        "O(1)",
    ),
    CommandSpec::server("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI, ServerCommand::Shutdown)
        .doc("server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
];

/// Every argument after the command name is a key (WATCH).
fn all_but_first(argv: &[Bytes]) -> Vec<usize> {
    (1..argv.len()).collect()
}

/// `PING [message]` — `+PONG`, or the message as a bulk string.
fn ping(_ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    if args.is_empty() {
        return Ok(Reply::simple("PONG"));
    }
    let message = args.next_bytes()?;
    if !args.is_empty() {
        return Err(CommandError::arity("ping"));
    }
    Ok(Reply::Bulk(message))
}

/// `ECHO message` — the message as a bulk string.
fn echo(_ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    Ok(Reply::Bulk(args.next_bytes()?))
}

/// `TIME` — `[unix seconds, microseconds]` as two bulk strings.
fn time(ctx: &mut Ctx<'_>, _args: &mut Args) -> CommandResult {
    let seconds = ctx.now_us / 1_000_000;
    let micros = ctx.now_us % 1_000_000;
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(seconds.to_string())),
        Reply::Bulk(Bytes::from(micros.to_string())),
    ]))
}

use super::CommandError;
