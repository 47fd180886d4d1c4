//! Generic key commands (redis.io/commands/?group=generic) and the
//! whole-keyspace commands that fan out to every shard. Semantics and error
//! texts follow Redis 7.0's db.c, expire.c and object.c; the TTL commands
//! live in [`expire`].

mod expire;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use super::args::parse_i64;
use super::flags::*;
use super::unknown_subcommand_error;
use super::{
    Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Reduce, Route,
};
use crate::glob::glob_match;
use crate::keyspace::{parse_canonical_i64, Value};
use crate::limits::SCAN_CURSOR_SHARD_BITS;
use crate::resp::Reply;
use crate::slot::SlotMap;

const GROUP: &str = "generic";
/// Route of single-key commands: they run on the key's shard (the multi-shard mode is never used).
const KEYED: Route = Route::Keys(MultiShard::Gather);
/// Route of commands that must see all their keys at once (RENAME, COPY).
const GATHERED: Route = Route::Keys(MultiShard::Gather);
/// Route of commands whose keys are independent and whose replies add up.
const SPLIT_SUM: Route = Route::Keys(MultiShard::Split(Reduce::SumIntegers));
/// OBJECT's key: `OBJECT <subcommand> key` (none for `OBJECT HELP`).
const OBJECT_KEY: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

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
        "Delete a key",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
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
        "Determine if a key exists",
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
        "Return the number of keys in the selected database",
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
        "Find all keys matching the given pattern",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    ),
    CommandSpec::keyspace("scan", -2, READONLY, KeySpec::NONE, Route::ScanCursor, scan).doc(
        GROUP,
        "2.8.0",
        "Incrementally iterate the keys space",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
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
        "Remove all keys from the current database",
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
        "Remove all keys from all databases",
        "O(N) where N is the total number of keys in all databases",
    ),
    CommandSpec::keyspace("unlink", -2, WRITE | FAST, KeySpec::ALL, SPLIT_SUM, del)
        .doc(GROUP, "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."),
    CommandSpec::keyspace("touch", -2, READONLY | FAST, KeySpec::ALL, SPLIT_SUM, touch)
        .doc(GROUP, "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "O(N) where N is the number of keys that will be touched."),
    CommandSpec::keyspace("type", 2, READONLY | FAST, KeySpec::FIRST, KEYED, type_of)
        .doc(GROUP, "1.0.0", "Determine the type stored at key", "O(1)"),
    CommandSpec::keyspace("expire", -3, WRITE | FAST, KeySpec::FIRST, KEYED, expire::expire)
        .doc(GROUP, "1.0.0", "Set a key's time to live in seconds", "O(1)"),
    CommandSpec::keyspace("pexpire", -3, WRITE | FAST, KeySpec::FIRST, KEYED, expire::pexpire)
        .doc(GROUP, "2.6.0", "Set a key's time to live in milliseconds", "O(1)"),
    CommandSpec::keyspace("expireat", -3, WRITE | FAST, KeySpec::FIRST, KEYED, expire::expireat)
        .doc(GROUP, "1.2.0", "Set the expiration for a key as a UNIX timestamp", "O(1)"),
    CommandSpec::keyspace("pexpireat", -3, WRITE | FAST, KeySpec::FIRST, KEYED, expire::pexpireat)
        .doc(GROUP, "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "O(1)"),
    CommandSpec::keyspace("ttl", 2, READONLY | FAST, KeySpec::FIRST, KEYED, expire::ttl)
        .doc(GROUP, "1.0.0", "Get the time to live for a key in seconds", "O(1)"),
    CommandSpec::keyspace("pttl", 2, READONLY | FAST, KeySpec::FIRST, KEYED, expire::pttl)
        .doc(GROUP, "2.6.0", "Get the time to live for a key in milliseconds", "O(1)"),
    CommandSpec::keyspace("expiretime", 2, READONLY | FAST, KeySpec::FIRST, KEYED, expire::expiretime)
        .doc(GROUP, "7.0.0", "Get the expiration Unix timestamp for a key", "O(1)"),
    CommandSpec::keyspace("pexpiretime", 2, READONLY | FAST, KeySpec::FIRST, KEYED, expire::pexpiretime)
        .doc(GROUP, "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", "O(1)"),
    CommandSpec::keyspace("persist", 2, WRITE | FAST, KeySpec::FIRST, KEYED, expire::persist)
        .doc(GROUP, "2.2.0", "Remove the expiration from a key", "O(1)"),
    CommandSpec::keyspace("rename", 3, WRITE, KeySpec::TWO, GATHERED, rename)
        .doc(GROUP, "1.0.0", "Rename a key", "O(1)"),
    CommandSpec::keyspace("renamenx", 3, WRITE | FAST, KeySpec::TWO, GATHERED, renamenx)
        .doc(GROUP, "1.0.0", "Rename a key, only if the new key does not exist", "O(1)"),
    CommandSpec::keyspace("copy", -3, WRITE | DENYOOM, KeySpec::TWO, GATHERED, copy)
        .doc(GROUP, "6.2.0", "Copy a key", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values."),
    CommandSpec::keyspace("randomkey", 1, READONLY, KeySpec::NONE, Route::AllShards(Reduce::RandomNonNull), randomkey)
        .doc(GROUP, "1.0.0", "Return a random key from the keyspace", "O(1)"),
    CommandSpec::keyspace("object", -2, READONLY, OBJECT_KEY, KEYED, object)
        .doc(GROUP, "2.2.3", "A container for object introspection commands", "Depends on subcommand."),
    CommandSpec::keyspace("swapdb", 3, WRITE | FAST, KeySpec::NONE, Route::AllShards(Reduce::AllOk), swapdb)
        .doc("server", "4.0.0", "Swaps two Redis databases", "O(N) where N is the count of clients watching or blocking on keys from both databases."),
];

/// `DEL key [key ...]` (and `UNLINK`) — the number of keys removed.
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

/// `TOUCH key [key ...]` — how many of the keys exist.
fn touch(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let now_ms = ctx.now_ms;
    let found = args
        .rest()
        .iter()
        .filter(|key| ctx.db().get_for_read(key, now_ms).is_some())
        .count();
    Ok(Reply::Integer(found as i64))
}

/// `TYPE key` — the value's type as a status (`string`, ...), `none` if the
/// key does not exist.
fn type_of(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    let name = ctx
        .db()
        .get_for_read(&key, now_ms)
        .map_or("none", |entry| entry.value.type_name());
    Ok(Reply::simple(name))
}

/// `RENAME key newkey` — `+OK`; `ERR no such key` if `key` is missing.
/// The value keeps its TTL and replaces whatever `newkey` held.
fn rename(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    move_key(ctx, args, false)?;
    Ok(Reply::ok())
}

/// `RENAMENX key newkey` — 1 if renamed, 0 if `newkey` already exists;
/// `ERR no such key` if `key` is missing.
fn renamenx(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let moved = move_key(ctx, args, true)?;
    Ok(Reply::Integer(i64::from(moved)))
}

/// Moves `key` to `newkey` (Redis's `renameGenericCommand`); with
/// `unless_exists`, does nothing and returns false when `newkey` exists.
/// Renaming a key to itself succeeds without effect (RENAMENX: 0).
fn move_key(ctx: &mut Ctx<'_>, args: &mut Args, unless_exists: bool) -> Result<bool, CommandError> {
    let key = args.next_bytes()?;
    let new_key = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    if !db.contains(&key, now_ms) {
        return Err(CommandError::NoSuchKey);
    }
    if key == new_key {
        return Ok(!unless_exists);
    }
    if unless_exists && db.contains(&new_key, now_ms) {
        return Ok(false);
    }
    let Some(entry) = db.remove(&key, now_ms) else {
        return Err(CommandError::NoSuchKey);
    };
    db.insert_entry(&new_key, entry);
    Ok(true)
}

/// `COPY source destination [DB destination-db] [REPLACE]` — 1 if copied
/// (with its TTL), 0 if `source` is missing or `destination` exists without
/// REPLACE.
///
/// Deviation: when the keys live on different shards the command runs over
/// a gathered copy of the selected database only, so a copy into another
/// database is refused unless both keys share a shard (e.g. a hash tag).
fn copy(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let source = args.next_bytes()?;
    let destination = args.next_bytes()?;
    let mut replace = false;
    let mut destination_db = ctx.db_index;
    while !args.is_empty() {
        if args.eat_keyword("replace") {
            replace = true;
        } else if args.remaining() > 1 && args.eat_keyword("db") {
            destination_db = parse_db_index(&args.next_bytes()?, ctx.keyspace.db_count())?;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if destination_db == ctx.db_index && source == destination {
        return Err(CommandError::Static(
            "ERR source and destination objects are the same",
        ));
    }
    if destination_db != ctx.db_index && !same_shard(ctx, &source, &destination) {
        return Err(CommandError::Static(
            "ERR COPY with DB needs both keys on one shard in corekv: give them the same {hash tag}",
        ));
    }
    let now_ms = ctx.now_ms;
    let Some(entry) = ctx.db().get_for_read(&source, now_ms).cloned() else {
        return Ok(Reply::Integer(0));
    };
    let target = ctx.keyspace.db(destination_db);
    if target.contains(&destination, now_ms) && !replace {
        return Ok(Reply::Integer(0));
    }
    target.insert_entry(&destination, entry);
    Ok(Reply::Integer(1))
}

/// True when both keys hash to the same shard, i.e. the command is not
/// running over a gathered scratch keyspace.
fn same_shard(ctx: &Ctx<'_>, a: &[u8], b: &[u8]) -> bool {
    if ctx.shard_count <= 1 {
        return true;
    }
    let slots = SlotMap::new(ctx.shard_count);
    slots.shard_of_key(a) == slots.shard_of_key(b)
}

/// A database index argument as COPY's `DB` takes it (`getIntFromObject`,
/// then `selectDb`'s range check).
fn parse_db_index(text: &[u8], db_count: usize) -> Result<usize, CommandError> {
    let index = parse_i64(text)?;
    let index = i32::try_from(index).map_err(|_| {
        CommandError::Static(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        )
    })?;
    usize::try_from(index)
        .ok()
        .filter(|&index| index < db_count)
        .ok_or(CommandError::DbIndexOutOfRange)
}

/// `RANDOMKEY` — a random live key of this shard, or null if it has none
/// (the shard layer picks one non-null answer among the shards).
fn randomkey(ctx: &mut Ctx<'_>, _args: &mut Args) -> CommandResult {
    let now_ms = ctx.now_ms;
    let db = ctx.keyspace.db(ctx.db_index);
    Ok(db
        .random_key(now_ms, &mut *ctx.rng)
        .map_or(Reply::Null, Reply::Bulk))
}

/// `SWAPDB index1 index2` — `+OK` after exchanging the two databases' contents.
fn swapdb(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let first = parse_swap_index(&args.next_bytes()?, "ERR invalid first DB index")?;
    let second = parse_swap_index(&args.next_bytes()?, "ERR invalid second DB index")?;
    let db_count = ctx.keyspace.db_count();
    let in_range = |index: i32| usize::try_from(index).ok().filter(|&i| i < db_count);
    let (Some(first), Some(second)) = (in_range(first), in_range(second)) else {
        return Err(CommandError::DbIndexOutOfRange);
    };
    ctx.keyspace.swap(first, second);
    Ok(Reply::ok())
}

/// A 32-bit integer, or `message` (Redis's `getIntFromObjectOrReply` with a message).
fn parse_swap_index(text: &[u8], message: &'static str) -> Result<i32, CommandError> {
    parse_i64(text)
        .ok()
        .and_then(|index| i32::try_from(index).ok())
        .ok_or(CommandError::Static(message))
}

/// Reference count Redis reports for its shared integer objects (`INT_MAX`).
const SHARED_OBJECT_REFCOUNT: i64 = i32::MAX as i64;
/// Integers below this are shared objects in Redis (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;

/// `OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key`, `OBJECT HELP` — the
/// encoding name (null if the key is missing), reference count, idle
/// seconds, or help lines.
///
/// Deviations: corekv tracks no access times, so IDLETIME is always 0; and
/// the encoding is derived from the value's content (see
/// `Value::encoding`), so a string Redis keeps `raw` after APPEND or
/// SETRANGE, or `embstr` after INCRBYFLOAT, may be reported as `int`.
fn object(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let subcommand = args.next_bytes()?.to_ascii_lowercase();
    let name = match subcommand.as_slice() {
        b"help" => "object|help",
        b"encoding" => "object|encoding",
        b"refcount" => "object|refcount",
        b"idletime" => "object|idletime",
        b"freq" => "object|freq",
        _ => {
            let reply = unknown_subcommand_error("object", &subcommand);
            return Ok(reply);
        }
    };
    if name == "object|help" {
        return if args.is_empty() {
            Ok(object_help())
        } else {
            Err(CommandError::arity(name))
        };
    }
    let key = args.next_bytes().map_err(|_| CommandError::arity(name))?;
    if !args.is_empty() {
        return Err(CommandError::arity(name));
    }
    let now_ms = ctx.now_ms;
    let Some(entry) = ctx.db().get(&key, now_ms) else {
        return Ok(Reply::Null);
    };
    Ok(match name {
        "object|encoding" => Reply::bulk(entry.value.encoding()),
        "object|refcount" => Reply::Integer(refcount(&entry.value)),
        "object|idletime" => Reply::Integer(0),
        _ => return Err(CommandError::Static(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        )),
    })
}

/// Redis shares the objects of small non-negative integers.
fn refcount(value: &Value) -> i64 {
    match value {
        Value::String(bytes) => match parse_canonical_i64(bytes) {
            Some(n) if (0..SHARED_INTEGERS).contains(&n) => SHARED_OBJECT_REFCOUNT,
            _ => 1,
        },
        #[allow(unreachable_patterns)]
        _ => 1,
    }
}

fn object_help() -> Reply {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    Reply::Array(LINES.iter().copied().map(Reply::simple).collect())
}
