//! Set commands (redis.io/commands/?group=set).
//!
//! Values are `Value::Set` ([`crate::keyspace::set::Set`]: intset or
//! hashtable, as Redis 7.0). Semantics, the order of argument checks and
//! error texts follow Redis 7.0's t_set.c; the multi-key algebra (SINTER,
//! SUNION, SDIFF and their STORE forms, SINTERCARD) lives in [`algebra`],
//! SSCAN and the random commands in [`random`]. Multi-key commands are
//! routed `Gather`, so they work whatever shards their keys live on.
//!
//! Empty sets are never stored: a command that empties one deletes the key.

mod algebra;
pub(crate) mod random;
#[cfg(test)]
pub(crate) mod tests;

use bytes::Bytes;
use rand::RngCore;

use super::flags::*;
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::set::Set;
use crate::keyspace::{parse_canonical_i64, Db, Value};
use crate::resp::Reply;

pub use random::RANDOM_REPEATS_MAX;

const GROUP: &str = "set";
/// Route of every set command: single-key ones run on the key's shard;
/// multi-key ones gather their keys to one shard.
const KEYED: Route = Route::Keys(MultiShard::Gather);

/// Set commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("sadd", -3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, sadd)
        .doc(GROUP, "1.0.0", "Add one or more members to a set", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    CommandSpec::keyspace("srem", -3, WRITE | FAST, KeySpec::FIRST, KEYED, srem)
        .doc(GROUP, "1.0.0", "Remove one or more members from a set", "O(N) where N is the number of members to be removed."),
    CommandSpec::keyspace("sismember", 3, READONLY | FAST, KeySpec::FIRST, KEYED, sismember)
        .doc(GROUP, "1.0.0", "Determine if a given value is a member of a set", "O(1)"),
    CommandSpec::keyspace("smismember", -3, READONLY | FAST, KeySpec::FIRST, KEYED, smismember)
        .doc(GROUP, "6.2.0", "Returns the membership associated with the given elements for a set", "O(N) where N is the number of elements being checked for membership"),
    CommandSpec::keyspace("scard", 2, READONLY | FAST, KeySpec::FIRST, KEYED, scard)
        .doc(GROUP, "1.0.0", "Get the number of members in a set", "O(1)"),
    CommandSpec::keyspace("smembers", 2, READONLY, KeySpec::FIRST, KEYED, smembers)
        .doc(GROUP, "1.0.0", "Get all the members in a set", "O(N) where N is the set cardinality."),
    CommandSpec::keyspace("smove", 4, WRITE | FAST, KeySpec::TWO, KEYED, smove)
        .doc(GROUP, "1.0.0", "Move a member from one set to another", "O(1)"),
    CommandSpec::keyspace("spop", -2, WRITE | FAST, KeySpec::FIRST, KEYED, random::spop)
        .doc(GROUP, "1.0.0", "Remove and return one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    CommandSpec::keyspace("srandmember", -2, READONLY, KeySpec::FIRST, KEYED, random::srandmember)
        .doc(GROUP, "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    CommandSpec::keyspace("sscan", -3, READONLY, KeySpec::FIRST, KEYED, random::sscan)
        .doc(GROUP, "2.8.0", "Incrementally iterate Set elements", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    CommandSpec::keyspace("sinter", -2, READONLY, KeySpec::ALL, KEYED, algebra::sinter)
        .doc(GROUP, "1.0.0", "Intersect multiple sets", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    CommandSpec::keyspace("sintercard", -3, READONLY, KeySpec::NONE, KEYED, algebra::sintercard)
        .with_key_finder(keys_after_numkeys_at_1)
        .doc(GROUP, "7.0.0", "Intersect multiple sets and return the cardinality of the result", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    CommandSpec::keyspace("sinterstore", -3, WRITE | DENYOOM, KeySpec::ALL, KEYED, algebra::sinterstore)
        .doc(GROUP, "1.0.0", "Intersect multiple sets and store the resulting set in a key", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    CommandSpec::keyspace("sunion", -2, READONLY, KeySpec::ALL, KEYED, algebra::sunion)
        .doc(GROUP, "1.0.0", "Add multiple sets", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::keyspace("sunionstore", -3, WRITE | DENYOOM, KeySpec::ALL, KEYED, algebra::sunionstore)
        .doc(GROUP, "1.0.0", "Add multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::keyspace("sdiff", -2, READONLY, KeySpec::ALL, KEYED, algebra::sdiff)
        .doc(GROUP, "1.0.0", "Subtract multiple sets", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::keyspace("sdiffstore", -3, WRITE | DENYOOM, KeySpec::ALL, KEYED, algebra::sdiffstore)
        .doc(GROUP, "1.0.0", "Subtract multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets."),
];

/// Key finder of `<command> numkeys key [key ...] ...` (SINTERCARD, ZUNION,
/// ZINTER, ZDIFF, ZINTERCARD, ZMPOP): the `numkeys` keys after argv[1].
/// Invalid `numkeys` gives no keys; the handler then reports the error.
pub(crate) fn keys_after_numkeys_at_1(argv: &[Bytes]) -> Vec<usize> {
    keys_after_numkeys(argv, 1)
}

/// The `numkeys` keys following argv[`numkeys_index`]; none if `numkeys` is
/// not a positive integer or exceeds the arguments left.
pub(crate) fn keys_after_numkeys(argv: &[Bytes], numkeys_index: usize) -> Vec<usize> {
    let Some(numkeys) = argv.get(numkeys_index).and_then(|n| parse_canonical_i64(n)) else {
        return Vec::new();
    };
    let first = numkeys_index + 1;
    let available = argv.len().saturating_sub(first);
    match usize::try_from(numkeys) {
        Ok(count) if count >= 1 && count <= available => (first..first + count).collect(),
        _ => Vec::new(),
    }
}

/// The selected database and the command's RNG, borrowed together.
pub(crate) fn db_and_rng<'a>(ctx: &'a mut Ctx<'_>) -> (&'a mut Db, &'a mut dyn RngCore) {
    (ctx.keyspace.db(ctx.db_index), &mut *ctx.rng)
}

/// The set under `key` for a read (counts a keyspace hit or miss, Redis's
/// `lookupKeyRead`): `Ok(None)` if absent, WRONGTYPE if another type.
pub(crate) fn read_set<'a>(
    ctx: &'a mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'a Set>, CommandError> {
    let now_ms = ctx.now_ms;
    match ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value) {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// The set under `key` without counting a hit or miss and without marking
/// it modified: for the checks a write makes before deciding to change
/// anything (WATCH is only invalidated by real changes, as Redis's
/// `signalModifiedKey`).
pub(crate) fn peek_set<'a>(
    db: &'a mut Db,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a Set>, CommandError> {
    match db.get(key, now_ms).map(|entry| &entry.value) {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// The set under `key` for a write (no hit/miss counted; marks the key
/// modified, so call it only once a change is certain).
fn set_for_write<'a>(
    db: &'a mut Db,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a mut Set>, CommandError> {
    match db.value_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// Stores `set` under `key` (no TTL), or deletes `key` when `set` is empty;
/// replies with the set's size (the STORE commands' reply).
pub(crate) fn store_set(ctx: &mut Ctx<'_>, key: &[u8], set: Set) -> Reply {
    let now_ms = ctx.now_ms;
    let size = set.len();
    if set.is_empty() {
        ctx.db().remove(key, now_ms);
    } else {
        ctx.db().insert(key, Value::Set(Box::new(set)), None);
    }
    Reply::Integer(size as i64)
}

/// Deletes `key` if it holds an empty set (after a removal).
fn delete_if_empty(db: &mut Db, key: &[u8], now_ms: u64) {
    if matches!(db.get(key, now_ms).map(|entry| &entry.value), Some(Value::Set(set)) if set.is_empty())
    {
        db.remove(key, now_ms);
    }
}

/// `SADD key member [member ...]` — integer: how many members were added.
fn sadd(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let existing = peek_set(db, &key, now_ms)?;
    if existing.is_some_and(|set| members.iter().all(|member| set.contains(member))) {
        return Ok(Reply::Integer(0));
    }
    let added = match set_for_write(db, &key, now_ms)? {
        Some(set) => add_all(set, &members, rng),
        None => {
            let mut set = Set::new();
            let added = add_all(&mut set, &members, rng);
            db.insert(&key, Value::Set(Box::new(set)), None);
            added
        }
    };
    Ok(Reply::Integer(added as i64))
}

fn add_all(set: &mut Set, members: &[Bytes], rng: &mut dyn RngCore) -> usize {
    members
        .iter()
        .filter(|member| set.insert(member, rng))
        .count()
}

/// `SREM key member [member ...]` — integer: how many members were removed.
fn srem(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let present =
        peek_set(db, &key, now_ms)?.is_some_and(|set| members.iter().any(|m| set.contains(m)));
    let Some(set) = set_for_write(db, &key, now_ms)?.filter(|_| present) else {
        return Ok(Reply::Integer(0));
    };
    let removed = members.iter().filter(|member| set.remove(member)).count();
    delete_if_empty(db, &key, now_ms);
    Ok(Reply::Integer(removed as i64))
}

/// `SISMEMBER key member` — integer 1 if `member` is in the set, else 0.
fn sismember(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    let found = read_set(ctx, &key)?.is_some_and(|set| set.contains(&member));
    Ok(Reply::Integer(i64::from(found)))
}

/// `SMISMEMBER key member [member ...]` — array of integers, 1 or 0 per
/// member (all 0 when the key does not exist).
fn smismember(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let set = read_set(ctx, &key)?;
    let flags = members
        .iter()
        .map(|member| Reply::Integer(i64::from(set.is_some_and(|s| s.contains(member)))))
        .collect();
    Ok(Reply::Array(flags))
}

/// `SCARD key` — integer: the set's size (0 if the key does not exist).
fn scard(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let size = read_set(ctx, &key)?.map_or(0, Set::len);
    Ok(Reply::Integer(size as i64))
}

/// `SMEMBERS key` — set (RESP3 `~`, RESP2 array) of every member: ascending
/// for an intset, hash order otherwise.
fn smembers(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let members =
        read_set(ctx, &key)?.map_or_else(Vec::new, |set| set.iter().map(Reply::Bulk).collect());
    Ok(Reply::Set(members))
}

/// `SMOVE source destination member` — integer 1 if moved, 0 if `member`
/// is not in `source` (or `source` does not exist). As Redis: a missing
/// source answers 0 before the destination's type is checked, and moving
/// within one set is a membership test.
fn smove(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let source = args.next_bytes()?;
    let destination = args.next_bytes()?;
    let member = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    if !db.contains(&source, now_ms) {
        return Ok(Reply::Integer(0));
    }
    let found = peek_set(db, &source, now_ms)?.is_some_and(|set| set.contains(&member));
    peek_set(db, &destination, now_ms)?;
    if source == destination || !found {
        return Ok(Reply::Integer(i64::from(found)));
    }
    if let Some(set) = set_for_write(db, &source, now_ms)? {
        set.remove(&member);
    }
    delete_if_empty(db, &source, now_ms);
    match set_for_write(db, &destination, now_ms)? {
        Some(set) => {
            set.insert(&member, rng);
        }
        None => {
            let mut set = Set::new();
            set.insert(&member, rng);
            db.insert(&destination, Value::Set(Box::new(set)), None);
        }
    }
    Ok(Reply::Integer(1))
}
