//! Hash commands (redis.io/commands/?group=hash).
//!
//! Values are `Value::Hash(Box<Hash>)` ([`crate::keyspace::hash`]), in
//! Redis's `listpack` or `hashtable` encoding. Semantics, the order in which
//! arguments and keys are checked, and error texts follow Redis 7.0's
//! t_hash.c. An emptied hash is deleted. HRANDFIELD and HSCAN live in
//! [`random`].
//!
//! As in lists.rs, a command takes the mutable lookup (which WATCH counts as
//! a change) only once it is sure to modify the hash.

use super::strings::long_double;
mod random;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use rand::RngCore;

use super::flags::*;
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::hash::Hash;
use crate::keyspace::{parse_canonical_i64, Value};
use crate::resp::Reply;
use long_double::{LongDouble, LongDoubleError};
pub use random::{RANDOM_FIELDS_REPLY_MAX, RANDOM_REPLY_BYTES_MAX};

const GROUP: &str = "hash";
/// Route of single-key commands: they run on the key's shard (the multi-shard mode is never used).
const KEYED: Route = Route::Keys(MultiShard::Gather);

const WHOLE_HASH: &str = "O(N) where N is the size of the hash.";

/// Hash commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("hset", -4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, hset)
        .doc(GROUP, "2.0.0", "Set the string value of a hash field", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."),
    CommandSpec::keyspace("hsetnx", 4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, hsetnx)
        .doc(GROUP, "2.0.0", "Set the value of a hash field, only if the field does not exist", "O(1)"),
    CommandSpec::keyspace("hmset", -4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, hmset)
        .doc(GROUP, "2.0.0", "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set."),
    CommandSpec::keyspace("hget", 3, READONLY | FAST, KeySpec::FIRST, KEYED, hget)
        .doc(GROUP, "2.0.0", "Get the value of a hash field", "O(1)"),
    CommandSpec::keyspace("hmget", -3, READONLY | FAST, KeySpec::FIRST, KEYED, hmget)
        .doc(GROUP, "2.0.0", "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested."),
    CommandSpec::keyspace("hdel", -3, WRITE | FAST, KeySpec::FIRST, KEYED, hdel)
        .doc(GROUP, "2.0.0", "Delete one or more hash fields", "O(N) where N is the number of fields to be removed."),
    CommandSpec::keyspace("hexists", 3, READONLY | FAST, KeySpec::FIRST, KEYED, hexists)
        .doc(GROUP, "2.0.0", "Determine if a hash field exists", "O(1)"),
    CommandSpec::keyspace("hlen", 2, READONLY | FAST, KeySpec::FIRST, KEYED, hlen)
        .doc(GROUP, "2.0.0", "Get the number of fields in a hash", "O(1)"),
    CommandSpec::keyspace("hstrlen", 3, READONLY | FAST, KeySpec::FIRST, KEYED, hstrlen)
        .doc(GROUP, "3.2.0", "Get the length of the value of a hash field", "O(1)"),
    CommandSpec::keyspace("hkeys", 2, READONLY, KeySpec::FIRST, KEYED, hkeys)
        .doc(GROUP, "2.0.0", "Get all the fields in a hash", WHOLE_HASH),
    CommandSpec::keyspace("hvals", 2, READONLY, KeySpec::FIRST, KEYED, hvals)
        .doc(GROUP, "2.0.0", "Get all the values in a hash", WHOLE_HASH),
    CommandSpec::keyspace("hgetall", 2, READONLY, KeySpec::FIRST, KEYED, hgetall)
        .doc(GROUP, "2.0.0", "Get all the fields and values in a hash", WHOLE_HASH),
    CommandSpec::keyspace("hincrby", 4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, hincrby)
        .doc(GROUP, "2.0.0", "Increment the integer value of a hash field by the given number", "O(1)"),
    CommandSpec::keyspace("hincrbyfloat", 4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, hincrbyfloat)
        .doc(GROUP, "2.6.0", "Increment the float value of a hash field by the given amount", "O(1)"),
    CommandSpec::keyspace("hrandfield", -2, READONLY, KeySpec::FIRST, KEYED, random::hrandfield)
        .doc(GROUP, "6.2.0", "Get one or multiple random fields from a hash", "O(N) where N is the number of fields returned"),
    CommandSpec::keyspace("hscan", -3, READONLY, KeySpec::FIRST, KEYED, random::hscan)
        .doc(GROUP, "2.8.0", "Incrementally iterate hash fields and associated values", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
];

// ---------------------------------------------------------------------------
// Lookups.
// ---------------------------------------------------------------------------

fn hash_of(value: Option<&Value>) -> Result<Option<&Hash>, CommandError> {
    match value {
        None => Ok(None),
        Some(Value::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// The hash under `key` for a command that reads it: counts a keyspace hit
/// or miss (Redis's `lookupKeyRead`). WRONGTYPE for another type.
fn read_hash<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c Hash>, CommandError> {
    let now_ms = ctx.now_ms;
    hash_of(ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value))
}

/// The hash under `key` for a command that may write it (Redis's
/// `lookupKeyWrite`): no hit/miss counted, no change recorded.
fn peek_hash<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c Hash>, CommandError> {
    let now_ms = ctx.now_ms;
    hash_of(ctx.db().get(key, now_ms).map(|entry| &entry.value))
}

/// The hash under `key`, mutably, created empty if absent (Redis's
/// `hashTypeLookupWriteOrCreate`), with the RNG that seeds a conversion.
/// Take it only to change the hash: WATCH sees a change, and the caller
/// must leave the hash non-empty.
fn hash_for_write<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<(&'c mut Hash, &'c mut dyn RngCore), CommandError> {
    peek_hash(ctx, key)?;
    let now_ms = ctx.now_ms;
    let db = ctx.keyspace.db(ctx.db_index);
    if db.get(key, now_ms).is_none() {
        db.insert(key, Value::Hash(Box::default()), None);
    }
    match db.value_mut(key, now_ms) {
        Some(Value::Hash(hash)) => Ok((hash, &mut *ctx.rng)),
        _ => Err(CommandError::WrongType),
    }
}

/// Removes `key` if its hash became empty.
fn delete_if_empty(ctx: &mut Ctx<'_>, key: &[u8]) {
    let now_ms = ctx.now_ms;
    if matches!(peek_hash(ctx, key), Ok(Some(hash)) if hash.is_empty()) {
        ctx.db().remove(key, now_ms);
    }
}

/// A stored field or value as a bulk reply (copied out of the hash).
fn bulk(bytes: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(bytes))
}

// ---------------------------------------------------------------------------
// Setting and deleting.
// ---------------------------------------------------------------------------

/// `HSET key field value [field value ...]` — integer: the number of fields
/// that were added (updates do not count). Source: redis.io/commands/hset
fn hset(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let added = set_pairs(ctx, args, "hset")?;
    Ok(Reply::Integer(added as i64))
}

/// `HMSET key field value [field value ...]` — `+OK` (deprecated form of
/// HSET). Source: redis.io/commands/hmset
fn hmset(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    set_pairs(ctx, args, "hmset")?;
    Ok(Reply::ok())
}

/// Sets every field/value pair of the remaining arguments; returns how many
/// fields were new. An odd number of arguments is an arity error.
fn set_pairs(ctx: &mut Ctx<'_>, args: &mut Args, name: &str) -> Result<usize, CommandError> {
    let key = args.next_bytes()?;
    if args.remaining() % 2 != 0 {
        return Err(CommandError::arity(name));
    }
    let pairs = args.rest();
    let (hash, rng) = hash_for_write(ctx, &key)?;
    let added = pairs
        .chunks_exact(2)
        .filter(|pair| hash.insert(&pair[0], &pair[1], rng))
        .count();
    Ok(added)
}

/// `HSETNX key field value` — 1 if the field was set, 0 if it already
/// existed (then nothing changes). Source: redis.io/commands/hsetnx
fn hsetnx(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let value = args.next_bytes()?;
    if peek_hash(ctx, &key)?.is_some_and(|hash| hash.contains(&field)) {
        return Ok(Reply::Integer(0));
    }
    let (hash, rng) = hash_for_write(ctx, &key)?;
    hash.insert(&field, &value, rng);
    Ok(Reply::Integer(1))
}

/// `HDEL key field [field ...]` — integer: the number of fields removed
/// (the key is deleted when none remain). Source: redis.io/commands/hdel
fn hdel(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let fields = args.rest();
    let present = match peek_hash(ctx, &key)? {
        Some(hash) => fields.iter().any(|field| hash.contains(field)),
        None => false,
    };
    if !present {
        return Ok(Reply::Integer(0));
    }
    let (hash, _) = hash_for_write(ctx, &key)?;
    let removed = fields.iter().filter(|field| hash.remove(field)).count();
    delete_if_empty(ctx, &key);
    Ok(Reply::Integer(removed as i64))
}

// ---------------------------------------------------------------------------
// Reading.
// ---------------------------------------------------------------------------

/// `HGET key field` — the value, or null if the field or key does not
/// exist. Source: redis.io/commands/hget
fn hget(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let value = read_hash(ctx, &key)?.and_then(|hash| hash.get(&field));
    Ok(value.map_or(Reply::Null, bulk))
}

/// `HMGET key field [field ...]` — array: each field's value or null.
/// Source: redis.io/commands/hmget
fn hmget(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let fields = args.rest();
    let hash = read_hash(ctx, &key)?;
    let values = fields.iter().map(|field| {
        hash.and_then(|hash| hash.get(field))
            .map_or(Reply::Null, bulk)
    });
    Ok(Reply::Array(values.collect()))
}

/// `HEXISTS key field` — 1 if the field exists, else 0.
/// Source: redis.io/commands/hexists
fn hexists(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let exists = read_hash(ctx, &key)?.is_some_and(|hash| hash.contains(&field));
    Ok(Reply::Integer(i64::from(exists)))
}

/// `HLEN key` — integer: the number of fields, 0 if the key does not exist.
/// Source: redis.io/commands/hlen
fn hlen(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let len = read_hash(ctx, &key)?.map_or(0, Hash::len);
    Ok(Reply::Integer(len as i64))
}

/// `HSTRLEN key field` — integer: the length of the field's value, 0 if the
/// field or key does not exist. Source: redis.io/commands/hstrlen
fn hstrlen(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let len = read_hash(ctx, &key)?
        .and_then(|hash| hash.get(&field))
        .map_or(0, <[u8]>::len);
    Ok(Reply::Integer(len as i64))
}

/// `HKEYS key` — array of every field (empty if the key does not exist),
/// in insertion order for a `listpack` hash. Source: redis.io/commands/hkeys
fn hkeys(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let hash = read_hash(ctx, &key)?;
    let fields = hash
        .into_iter()
        .flat_map(Hash::iter)
        .map(|(field, _)| bulk(field));
    Ok(Reply::Array(fields.collect()))
}

/// `HVALS key` — array of every value (empty if the key does not exist).
/// Source: redis.io/commands/hvals
fn hvals(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let hash = read_hash(ctx, &key)?;
    let values = hash
        .into_iter()
        .flat_map(Hash::iter)
        .map(|(_, value)| bulk(value));
    Ok(Reply::Array(values.collect()))
}

/// `HGETALL key` — map of field → value (RESP2: flat array field, value,
/// ...); empty if the key does not exist. Source: redis.io/commands/hgetall
fn hgetall(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let hash = read_hash(ctx, &key)?;
    let pairs = hash
        .into_iter()
        .flat_map(Hash::iter)
        .map(|(field, value)| (bulk(field), bulk(value)));
    Ok(Reply::Map(pairs.collect()))
}

// ---------------------------------------------------------------------------
// Counters.
// ---------------------------------------------------------------------------

/// `HINCRBY key field increment` — integer: the field's value after adding
/// `increment` (a missing field counts as 0). `ERR hash value is not an
/// integer` if the value is not a canonical 64-bit integer.
/// Source: redis.io/commands/hincrby
fn hincrby(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let increment = args.next_i64()?;
    let current = match peek_hash(ctx, &key)?.and_then(|hash| hash.get(&field)) {
        None => 0,
        Some(text) => parse_canonical_i64(text)
            .ok_or(CommandError::Static("ERR hash value is not an integer"))?,
    };
    let value = current
        .checked_add(increment)
        .ok_or(CommandError::Overflow)?;
    let (hash, rng) = hash_for_write(ctx, &key)?;
    hash.insert(&field, value.to_string().as_bytes(), rng);
    Ok(Reply::Integer(value))
}

/// `HINCRBYFLOAT key field increment` — bulk string: the field's value after
/// adding `increment`, computed in x87 extended precision and printed as
/// Redis does (`%.17Lf`, trailing zeros removed).
/// Source: redis.io/commands/hincrbyfloat
fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let increment = match LongDouble::parse(&args.next_bytes()?) {
        Ok(increment) => increment,
        Err(LongDoubleError::NotFloat) => return Err(CommandError::NotFloat),
        Err(LongDoubleError::NotFinite) => {
            return Err(CommandError::Static("ERR value is NaN or Infinity"))
        }
    };
    let not_finite = CommandError::Static("ERR increment would produce NaN or Infinity");
    let current = match peek_hash(ctx, &key)?.and_then(|hash| hash.get(&field)) {
        None => LongDouble::ZERO,
        Some(text) => match LongDouble::parse(text) {
            Ok(current) => current,
            // Redis parses a stored infinity; only the sum is refused.
            Err(LongDoubleError::NotFinite) => return Err(not_finite),
            Err(LongDoubleError::NotFloat) => {
                return Err(CommandError::Static("ERR hash value is not a float"))
            }
        },
    };
    let sum = current.add(increment).map_err(|_| not_finite)?;
    let text = Bytes::from(sum.to_human_string());
    let (hash, rng) = hash_for_write(ctx, &key)?;
    hash.insert(&field, &text, rng);
    Ok(Reply::Bulk(text))
}
