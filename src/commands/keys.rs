//! Generic key commands (redis.io/commands/?group=generic) and the
//! whole-keyspace commands that fan out to every shard.

use bytes::Bytes;

use super::flags::*;
use super::{
    Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Reduce, Route,
};
use crate::glob::glob_match;
use crate::limits::SCAN_CURSOR_SHARD_BITS;
use crate::resp::Reply;

const GROUP: &str = "generic";

/// Generic key commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace(
        "del",
        -2,
        WRITE,
        KeySpec::ALL,
        Route::Keys(MultiShard::Split(Reduce::SumIntegers)),
        del,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Deletes one or more keys.",
        "O(N) where N is the number of keys that will be removed.",
    ),
    CommandSpec::keyspace(
        "exists",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        Route::Keys(MultiShard::Split(Reduce::SumIntegers)),
        exists,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Determines whether one or more keys exist.",
        "O(N) where N is the number of keys to check.",
    ),
    CommandSpec::keyspace(
        "dbsize",
        1,
        READONLY | FAST,
        KeySpec::NONE,
        Route::AllShards(Reduce::SumIntegers),
        dbsize,
    )
    .doc(
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        "O(1)",
    ),
    CommandSpec::keyspace(
        "keys",
        2,
        READONLY,
        KeySpec::NONE,
        Route::AllShards(Reduce::ConcatArrays),
        keys,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Returns all key names that match a pattern.",
        "O(N) with N being the number of keys in the database",
    ),
    CommandSpec::keyspace("scan", -2, READONLY, KeySpec::NONE, Route::ScanCursor, scan).doc(
        GROUP,
        "2.8.0",
        "Iterates over the key names in the database.",
        "O(1) for every call. O(N) for a complete iteration.",
    ),
    CommandSpec::keyspace(
        "flushdb",
        -1,
        WRITE,
        KeySpec::NONE,
        Route::AllShards(Reduce::AllOk),
        flushdb,
    )
    .doc(
        "server",
        "1.0.0",
        "Remove all keys from the current database.",
        "O(N) where N is the number of keys in the selected database",
    ),
    CommandSpec::keyspace(
        "flushall",
        -1,
        WRITE,
        KeySpec::NONE,
        Route::AllShards(Reduce::AllOk),
        flushall,
    )
    .doc(
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        "O(N) where N is the total number of keys in all databases",
    ),
];

/// `DEL key [key ...]` — the number of keys removed.
fn del(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let now_ms = ctx.now_ms;
    let removed = args
        .rest()
        .iter()
        .filter(|key| ctx.db().remove(key, now_ms).is_some())
        .count();
    Ok(Reply::Integer(removed as i64))
}

/// `EXISTS key [key ...]` — how many of the keys exist (repeats count again).
fn exists(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let now_ms = ctx.now_ms;
    let found = args
        .rest()
        .iter()
        .filter(|key| ctx.db().contains(key, now_ms))
        .count();
    Ok(Reply::Integer(found as i64))
}

/// `DBSIZE` — the number of keys in the selected database (this shard's part).
fn dbsize(ctx: &mut Ctx<'_>, _args: &mut Args) -> CommandResult {
    Ok(Reply::Integer(ctx.db().len() as i64))
}

/// `KEYS pattern` — every live key matching the glob pattern.
fn keys(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let pattern = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    let all = pattern.as_ref() == b"*";
    let matched = ctx
        .db()
        .iter(now_ms)
        .filter(|(key, _)| all || glob_match(&pattern, key, false))
        .map(|(key, _)| Reply::Bulk(key.clone()))
        .collect();
    Ok(Reply::Array(matched))
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]` — `[next cursor,
/// [keys]]`. The cursor's low `SCAN_CURSOR_SHARD_BITS` bits name the shard;
/// the rest is this shard's dict cursor. When this shard's iteration ends,
/// the next cursor points at the next shard's start (0 after the last).
fn scan(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let cursor = parse_scan_cursor(&args.next_bytes()?)?;
    let mut pattern: Option<Bytes> = None;
    let mut count: usize = 10;
    let mut type_name: Option<Bytes> = None;
    while !args.is_empty() {
        if args.eat_keyword("match") {
            pattern = Some(args.next_bytes()?);
        } else if args.eat_keyword("count") {
            let value = args.next_i64()?;
            if value < 1 {
                return Err(CommandError::Syntax);
            }
            count = usize::try_from(value).unwrap_or(usize::MAX);
        } else if args.eat_keyword("type") {
            type_name = Some(args.next_bytes()?);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let mut dict_cursor = cursor >> SCAN_CURSOR_SHARD_BITS;
    let now_ms = ctx.now_ms;
    let mut found = Vec::new();
    // Redis bounds the work of one call at COUNT*10 buckets when elements are sparse.
    let mut steps_left = count.saturating_mul(10);
    loop {
        dict_cursor = ctx.db().scan(dict_cursor, now_ms, |key, entry| {
            let type_ok = type_name
                .as_ref()
                .is_none_or(|t| t.eq_ignore_ascii_case(entry.value.type_name().as_bytes()));
            let match_ok = pattern.as_ref().is_none_or(|p| glob_match(p, key, false));
            if type_ok && match_ok {
                found.push(Reply::Bulk(key.clone()));
            }
        });
        steps_left = steps_left.saturating_sub(1);
        if dict_cursor == 0 || found.len() >= count || steps_left == 0 {
            break;
        }
    }
    let next = next_scan_cursor(dict_cursor, ctx.shard_index, ctx.shard_count);
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(found),
    ]))
}

/// Parses a SCAN cursor: an unsigned 64-bit decimal (`ERR invalid cursor`).
pub fn parse_scan_cursor(text: &[u8]) -> Result<u64, CommandError> {
    std::str::from_utf8(text)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or(CommandError::Static("ERR invalid cursor"))
}

/// The shard a SCAN cursor continues on.
pub fn scan_cursor_shard(cursor: u64) -> usize {
    (cursor & ((1 << SCAN_CURSOR_SHARD_BITS) - 1)) as usize
}

fn next_scan_cursor(dict_cursor: u64, shard_index: usize, shard_count: usize) -> u64 {
    if dict_cursor != 0 {
        return (dict_cursor << SCAN_CURSOR_SHARD_BITS) | shard_index as u64;
    }
    // This shard is done: the next shard starts at dict cursor 0; after the last, the scan ends.
    let next_shard = shard_index + 1;
    if next_shard < shard_count {
        next_shard as u64
    } else {
        0
    }
}

/// `FLUSHDB [ASYNC|SYNC]` — `+OK` after removing every key of the selected database.
fn flushdb(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    parse_flush_mode(args)?;
    ctx.db().clear();
    Ok(Reply::ok())
}

/// `FLUSHALL [ASYNC|SYNC]` — `+OK` after removing every key of every database.
fn flushall(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    parse_flush_mode(args)?;
    for db in ctx.keyspace.dbs_mut() {
        db.clear();
    }
    Ok(Reply::ok())
}

fn parse_flush_mode(args: &mut Args) -> Result<(), CommandError> {
    if !args.eat_keyword("async") {
        args.eat_keyword("sync");
    }
    args.finish()
}
