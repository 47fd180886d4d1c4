//! String commands (redis.io/commands/?group=string).
//!
//! Values are `Value::String(Bytes)`; integers are parsed from and formatted
//! to decimal text on use, as Redis does for its `int` encoding. Semantics,
//! argument order of checks and error texts follow Redis 7.0's t_string.c.
//! INCRBYFLOAT's extended-precision arithmetic lives in [`long_double`], the
//! LCS table in [`lcs`].

mod lcs;
pub(crate) mod long_double;

use bytes::{Bytes, BytesMut};

use super::flags::*;
use super::{
    Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Reduce, Route,
};
use crate::keyspace::{parse_canonical_i64, Value};
use crate::resp::Reply;
use lcs::{lcs_table, LCS_CELL_BYTES};
use long_double::{LongDouble, LongDoubleError};

const GROUP: &str = "string";
/// Route of single-key commands: they run on the key's shard (the multi-shard mode is never used).
const KEYED: Route = Route::Keys(MultiShard::Gather);
/// Route of commands that must see all their keys at once (MSETNX, LCS).
const GATHERED: Route = Route::Keys(MultiShard::Gather);

/// Most bytes of LCS's transient table (`(len1 + 1) * (len2 + 1)` cells of 4
/// bytes). Redis 7.0 only refuses tables above `proto-max-bulk-len` (512 MB
/// by default); corekv caps lower so one command on one shard cannot hold
/// half a gigabyte and stall every client of that core for seconds. 64 MiB
/// allows two 4 KB strings.
pub const LCS_TABLE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// String commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("get", 2, READONLY | FAST, KeySpec::FIRST, KEYED, get)
        .doc(GROUP, "1.0.0", "Get the value of a key", "O(1)"),
    CommandSpec::keyspace("set", -3, WRITE | DENYOOM, KeySpec::FIRST, KEYED, set)
        .doc(GROUP, "1.0.0", "Set the string value of a key", "O(1)"),
    CommandSpec::keyspace("setnx", 3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, setnx)
        .doc(GROUP, "1.0.0", "Set the value of a key, only if the key does not exist", "O(1)"),
    CommandSpec::keyspace("setex", 4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, setex)
        .doc(GROUP, "2.0.0", "Set the value and expiration of a key", "O(1)"),
    CommandSpec::keyspace("psetex", 4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, psetex)
        .doc(GROUP, "2.6.0", "Set the value and expiration in milliseconds of a key", "O(1)"),
    CommandSpec::keyspace("getset", 3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, getset)
        .doc(GROUP, "1.0.0", "Set the string value of a key and return its old value", "O(1)"),
    CommandSpec::keyspace("getdel", 2, WRITE | FAST, KeySpec::FIRST, KEYED, getdel)
        .doc(GROUP, "6.2.0", "Get the value of a key and delete the key", "O(1)"),
    CommandSpec::keyspace("getex", -2, WRITE | FAST, KeySpec::FIRST, KEYED, getex)
        .doc(GROUP, "6.2.0", "Get the value of a key and optionally set its expiration", "O(1)"),
    CommandSpec::keyspace("mget", -2, READONLY | FAST, KeySpec::ALL, Route::Keys(MultiShard::Split(Reduce::MergeInKeyOrder)), mget)
        .doc(GROUP, "1.0.0", "Get the values of all the given keys", "O(N) where N is the number of keys to retrieve."),
    CommandSpec::keyspace("mset", -3, WRITE | DENYOOM, KeySpec::PAIRS, Route::Keys(MultiShard::Split(Reduce::AllOk)), mset)
        .doc(GROUP, "1.0.1", "Set multiple keys to multiple values", "O(N) where N is the number of keys to set."),
    CommandSpec::keyspace("msetnx", -3, WRITE | DENYOOM, KeySpec::PAIRS, GATHERED, msetnx)
        .doc(GROUP, "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", "O(N) where N is the number of keys to set."),
    CommandSpec::keyspace("append", 3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, append)
        .doc(GROUP, "2.0.0", "Append a value to a key", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation."),
    CommandSpec::keyspace("strlen", 2, READONLY | FAST, KeySpec::FIRST, KEYED, strlen)
        .doc(GROUP, "2.2.0", "Get the length of the value stored in a key", "O(1)"),
    CommandSpec::keyspace("incr", 2, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, incr)
        .doc(GROUP, "1.0.0", "Increment the integer value of a key by one", "O(1)"),
    CommandSpec::keyspace("incrby", 3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, incrby)
        .doc(GROUP, "1.0.0", "Increment the integer value of a key by the given amount", "O(1)"),
    CommandSpec::keyspace("decr", 2, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, decr)
        .doc(GROUP, "1.0.0", "Decrement the integer value of a key by one", "O(1)"),
    CommandSpec::keyspace("decrby", 3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, decrby)
        .doc(GROUP, "1.0.0", "Decrement the integer value of a key by the given number", "O(1)"),
    CommandSpec::keyspace("incrbyfloat", 3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, incrbyfloat)
        .doc(GROUP, "2.6.0", "Increment the float value of a key by the given amount", "O(1)"),
    CommandSpec::keyspace("getrange", 4, READONLY, KeySpec::FIRST, KEYED, getrange)
        .doc(GROUP, "2.4.0", "Get a substring of the string stored at a key", RANGE_COMPLEXITY),
    CommandSpec::keyspace("substr", 4, READONLY, KeySpec::FIRST, KEYED, getrange)
        .doc(GROUP, "1.0.0", "Get a substring of the string stored at a key", RANGE_COMPLEXITY),
    CommandSpec::keyspace("setrange", 4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, setrange)
        .doc(GROUP, "2.2.0", "Overwrite part of a string at key starting at the specified offset", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument."),
    CommandSpec::keyspace("lcs", -3, READONLY, KeySpec::TWO, GATHERED, lcs)
        .doc(GROUP, "7.0.0", "Find longest common substring", "O(N*M) where N and M are the lengths of s1 and s2, respectively"),
];

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";

/// Reads the string under `key`: `Ok(None)` if absent, WRONGTYPE if another
/// type. Counts a keyspace hit or miss (Redis's `lookupKeyRead`).
pub(crate) fn read_string(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CommandError> {
    let now_ms = ctx.now_ms;
    string_of(ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value))
}

/// Like [`read_string`] for commands about to write the key (Redis's
/// `lookupKeyWrite`: no hit/miss counted).
fn string_for_write(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CommandError> {
    let now_ms = ctx.now_ms;
    string_of(ctx.db().get(key, now_ms).map(|entry| &entry.value))
}

fn string_of(value: Option<&Value>) -> Result<Option<Bytes>, CommandError> {
    match value {
        None => Ok(None),
        Some(Value::String(bytes)) => Ok(Some(bytes.clone())),
        #[allow(unreachable_patterns)]
        Some(_) => Err(CommandError::WrongType),
    }
}

/// `GET key` — bulk string, or null if the key does not exist.
fn get(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    Ok(read_string(ctx, &key)?.map_or(Reply::Null, Reply::Bulk))
}

/// What a SET-like command does to the TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Remove any TTL.
    Clear,
    /// Keep the existing TTL (KEEPTTL).
    Keep,
    /// Expire at this Unix ms.
    At(u64),
}

/// The unit of an expire-time argument, as its option keyword names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpireUnit {
    /// `EX`: seconds from now.
    Seconds,
    /// `PX`: milliseconds from now.
    Milliseconds,
    /// `EXAT`: Unix seconds.
    UnixSeconds,
    /// `PXAT`: Unix milliseconds.
    UnixMilliseconds,
}

/// Parses an expire-time argument of `unit` into an absolute Unix ms, as
/// Redis's `getExpireMillisecondsOrReply`: not an integer → `ERR value is not
/// an integer or out of range`; not positive, or overflowing once converted →
/// `ERR invalid expire time in '<command>' command`.
pub(crate) fn parse_expire(
    unit: ExpireUnit,
    value: &[u8],
    now_ms: u64,
    command: &'static str,
) -> Result<u64, CommandError> {
    let amount = super::args::parse_i64(value)?;
    let invalid = CommandError::InvalidExpireTime(command);
    if amount <= 0 {
        return Err(invalid);
    }
    let amount = amount as u64;
    let at_ms = match unit {
        ExpireUnit::Seconds => amount
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(now_ms)),
        ExpireUnit::Milliseconds => amount.checked_add(now_ms),
        ExpireUnit::UnixSeconds => amount.checked_mul(1000),
        ExpireUnit::UnixMilliseconds => Some(amount),
    };
    at_ms.filter(|&ms| ms <= i64::MAX as u64).ok_or(invalid)
}

/// Options of SET and GETEX, parsed as Redis's
/// `parseExtendedStringArgumentsOrReply`: repeating an option is allowed,
/// conflicting ones are `ERR syntax error`.
#[derive(Debug, Default, PartialEq)]
struct StringOptions {
    if_absent: bool,
    if_present: bool,
    return_old: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(ExpireUnit, Bytes)>,
}

/// Which command's options [`parse_string_options`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsOf {
    Set,
    GetEx,
}

fn parse_string_options(args: &mut Args, of: OptionsOf) -> Result<StringOptions, CommandError> {
    let mut options = StringOptions::default();
    let set = of == OptionsOf::Set;
    while !args.is_empty() {
        let option = args.next_bytes()?.to_ascii_lowercase();
        let expire_unit = match option.as_slice() {
            b"nx" if set && !options.if_present => {
                options.if_absent = true;
                continue;
            }
            b"xx" if set && !options.if_absent => {
                options.if_present = true;
                continue;
            }
            b"get" if set => {
                options.return_old = true;
                continue;
            }
            b"keepttl" if set && !options.persist && options.expire.is_none() => {
                options.keep_ttl = true;
                continue;
            }
            b"persist" if !set && !options.keep_ttl && options.expire.is_none() => {
                options.persist = true;
                continue;
            }
            b"ex" => ExpireUnit::Seconds,
            b"px" => ExpireUnit::Milliseconds,
            b"exat" => ExpireUnit::UnixSeconds,
            b"pxat" => ExpireUnit::UnixMilliseconds,
            _ => return Err(CommandError::Syntax),
        };
        // The same expire option may repeat (the last wins); two different ones conflict.
        let other_unit = options
            .expire
            .as_ref()
            .is_some_and(|(u, _)| *u != expire_unit);
        if options.keep_ttl || options.persist || other_unit || args.is_empty() {
            return Err(CommandError::Syntax);
        }
        options.expire = Some((expire_unit, args.next_bytes()?));
    }
    Ok(options)
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT unix-s|PXAT unix-ms|KEEPTTL]`
/// — `+OK`; null if NX/XX prevented the write; with GET, the old value (or
/// null) instead.
fn set(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let options = parse_string_options(args, OptionsOf::Set)?;
    let expiry = match &options.expire {
        Some((unit, amount)) => Expiry::At(parse_expire(*unit, amount, ctx.now_ms, "set")?),
        None if options.keep_ttl => Expiry::Keep,
        None => Expiry::Clear,
    };
    let old = if options.return_old {
        read_string(ctx, &key)?
    } else {
        None
    };
    let now_ms = ctx.now_ms;
    // Plain SET needs no existence probe.
    let conditional = options.if_absent || options.if_present;
    let exists = conditional && ctx.db().contains(&key, now_ms);
    let write = !(options.if_absent && exists || options.if_present && !exists);
    if write {
        store_string(ctx, &key, value, expiry);
    }
    Ok(match (options.return_old, write) {
        (true, _) => old.map_or(Reply::Null, Reply::Bulk),
        (false, true) => Reply::ok(),
        (false, false) => Reply::Null,
    })
}

/// Stores a string (copied, so it never pins a network buffer) with `expiry`.
pub(crate) fn store_string(ctx: &mut Ctx<'_>, key: &[u8], value: Bytes, expiry: Expiry) {
    let now_ms = ctx.now_ms;
    let value = Value::String(Bytes::copy_from_slice(&value));
    let db = ctx.db();
    match expiry {
        Expiry::Clear => db.insert(key, value, None),
        Expiry::At(at_ms) => db.insert(key, value, Some(at_ms)),
        Expiry::Keep => {
            let ttl = db.get(key, now_ms).and_then(|entry| entry.expire_at_ms());
            db.insert(key, value, ttl)
        }
    }
}

/// `SETNX key value` — 1 if the key was set, 0 if it already existed.
fn setnx(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    if ctx.db().contains(&key, now_ms) {
        return Ok(Reply::Integer(0));
    }
    store_string(ctx, &key, value, Expiry::Clear);
    Ok(Reply::Integer(1))
}

/// `SETEX key seconds value` — `+OK`.
fn setex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    set_with_expire(ctx, args, ExpireUnit::Seconds, "setex")
}

/// `PSETEX key milliseconds value` — `+OK`.
fn psetex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    set_with_expire(ctx, args, ExpireUnit::Milliseconds, "psetex")
}

fn set_with_expire(
    ctx: &mut Ctx<'_>,
    args: &mut Args,
    unit: ExpireUnit,
    command: &'static str,
) -> CommandResult {
    let key = args.next_bytes()?;
    let amount = args.next_bytes()?;
    let value = args.next_bytes()?;
    let at_ms = parse_expire(unit, &amount, ctx.now_ms, command)?;
    store_string(ctx, &key, value, Expiry::At(at_ms));
    Ok(Reply::ok())
}

/// `GETSET key value` — the old value (or null); the key is set without TTL.
fn getset(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let old = read_string(ctx, &key)?;
    store_string(ctx, &key, value, Expiry::Clear);
    Ok(old.map_or(Reply::Null, Reply::Bulk))
}

/// `GETDEL key` — the value (or null), after which the key is deleted.
fn getdel(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let old = read_string(ctx, &key)?;
    if old.is_some() {
        let now_ms = ctx.now_ms;
        ctx.db().remove(&key, now_ms);
    }
    Ok(old.map_or(Reply::Null, Reply::Bulk))
}

/// `GETEX key [EX s|PX ms|EXAT unix-s|PXAT unix-ms|PERSIST]` — the value (or
/// null), after changing the TTL. An absolute time already past deletes the key.
fn getex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let options = parse_string_options(args, OptionsOf::GetEx)?;
    let Some(value) = read_string(ctx, &key)? else {
        return Ok(Reply::Null);
    };
    let now_ms = ctx.now_ms;
    match &options.expire {
        Some((unit, amount)) => {
            let at_ms = parse_expire(*unit, amount, now_ms, "getex")?;
            if at_ms <= now_ms && !ctx.loading {
                ctx.db().remove(&key, now_ms);
            } else {
                ctx.db().set_expiry(&key, Some(at_ms), now_ms);
            }
        }
        None if options.persist => {
            ctx.db().set_expiry(&key, None, now_ms);
        }
        None => {}
    }
    Ok(Reply::Bulk(value))
}

/// `MGET key [key ...]` — an array with each key's string or null (null for
/// keys of other types too).
fn mget(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let keys = args.rest();
    let values = keys.iter().map(|key| {
        read_string(ctx, key)
            .ok()
            .flatten()
            .map_or(Reply::Null, Reply::Bulk)
    });
    Ok(Reply::Array(values.collect()))
}

/// `MSET key value [key value ...]` — `+OK`.
fn mset(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    if args.remaining() % 2 != 0 {
        return Err(CommandError::arity("mset"));
    }
    store_pairs(ctx, &args.rest());
    Ok(Reply::ok())
}

/// `MSETNX key value [key value ...]` — 1 if every key was set, 0 (and
/// nothing set) if any key already existed.
fn msetnx(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    if args.remaining() % 2 != 0 {
        return Err(CommandError::arity("msetnx"));
    }
    let now_ms = ctx.now_ms;
    let pairs = args.rest();
    if pairs
        .iter()
        .step_by(2)
        .any(|key| ctx.db().contains(key, now_ms))
    {
        return Ok(Reply::Integer(0));
    }
    store_pairs(ctx, &pairs);
    Ok(Reply::Integer(1))
}

/// Stores each (key, value) of a flat key, value, key, value... list.
fn store_pairs(ctx: &mut Ctx<'_>, pairs: &[Bytes]) {
    for pair in pairs.chunks_exact(2) {
        store_string(ctx, &pair[0], pair[1].clone(), Expiry::Clear);
    }
}

/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)` unless a
/// string of `size + append` bytes is allowed (Redis's `checkStringLength`).
fn check_string_length(ctx: &Ctx<'_>, size: u64, append: u64) -> Result<(), CommandError> {
    match size.checked_add(append) {
        Some(total) if total <= ctx.proto_max_bulk_len as u64 => Ok(()),
        _ => Err(CommandError::StringTooLong),
    }
}

/// `APPEND key value` — the string's length after appending (the key is
/// created if absent; its TTL is kept).
fn append(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let suffix = args.next_bytes()?;
    let Some(old) = string_for_write(ctx, &key)? else {
        store_string(ctx, &key, suffix.clone(), Expiry::Clear);
        return Ok(Reply::Integer(suffix.len() as i64));
    };
    check_string_length(ctx, old.len() as u64, suffix.len() as u64)?;
    let mut joined = BytesMut::with_capacity(old.len() + suffix.len());
    joined.extend_from_slice(&old);
    joined.extend_from_slice(&suffix);
    let length = joined.len();
    let now_ms = ctx.now_ms;
    ctx.db()
        .replace_value(&key, Value::String(joined.freeze()), now_ms);
    Ok(Reply::Integer(length as i64))
}

/// `STRLEN key` — the string's length, 0 if the key does not exist.
fn strlen(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let length = read_string(ctx, &key)?.map_or(0, |value| value.len());
    Ok(Reply::Integer(length as i64))
}

/// `INCR key` — the value after adding 1 (a missing key counts as 0).
fn incr(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    add_to_integer(ctx, &key, 1)
}

/// `DECR key` — the value after subtracting 1.
fn decr(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    add_to_integer(ctx, &key, -1)
}

/// `INCRBY key increment` — the value after adding `increment`.
fn incrby(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let increment = args.next_i64()?;
    add_to_integer(ctx, &key, increment)
}

/// `DECRBY key decrement` — the value after subtracting `decrement`.
fn decrby(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let decrement = args.next_i64()?;
    let increment = decrement
        .checked_neg()
        .ok_or(CommandError::Static("ERR decrement would overflow"))?;
    add_to_integer(ctx, &key, increment)
}

/// Adds `increment` to the integer under `key`, keeping its TTL; replies
/// with the new value.
fn add_to_integer(ctx: &mut Ctx<'_>, key: &[u8], increment: i64) -> CommandResult {
    let current = match string_for_write(ctx, key)? {
        None => 0,
        Some(text) => parse_canonical_i64(&text).ok_or(CommandError::NotInteger)?,
    };
    let value = current
        .checked_add(increment)
        .ok_or(CommandError::Overflow)?;
    let now_ms = ctx.now_ms;
    let text = Bytes::from(value.to_string());
    ctx.db().replace_value(key, Value::String(text), now_ms);
    Ok(Reply::Integer(value))
}

/// `INCRBYFLOAT key increment` — the new value as a bulk string, computed in
/// x87 extended precision and printed as Redis does (`%.17Lf`, trailing
/// zeros removed).
fn incrbyfloat(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let increment = args.next_bytes()?;
    let current = string_for_write(ctx, &key)?;
    let not_float = |error| match error {
        // Redis parses infinity and refuses only the sum.
        LongDoubleError::NotFinite => Ok(None),
        LongDoubleError::NotFloat => Err(CommandError::NotFloat),
    };
    let current = match current {
        None => Some(LongDouble::ZERO),
        Some(text) => LongDouble::parse(&text).map(Some).or_else(not_float)?,
    };
    let increment = LongDouble::parse(&increment).map(Some).or_else(not_float)?;
    let sum = match (current, increment) {
        (Some(current), Some(increment)) => current.add(increment).ok(),
        _ => None,
    }
    .ok_or(CommandError::Static(
        "ERR increment would produce NaN or Infinity",
    ))?;
    let text = Bytes::from(sum.to_human_string());
    let now_ms = ctx.now_ms;
    ctx.db()
        .replace_value(&key, Value::String(text.clone()), now_ms);
    Ok(Reply::Bulk(text))
}

/// `GETRANGE key start end` (and `SUBSTR`) — the bytes from `start` to `end`
/// inclusive; negative indexes count from the end; empty if out of range or
/// the key is missing.
fn getrange(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let value = read_string(ctx, &key)?.unwrap_or_default();
    Ok(Reply::Bulk(match byte_range(value.len(), start, end) {
        Some((from, to)) => value.slice(from..=to),
        None => Bytes::new(),
    }))
}

/// Redis's GETRANGE index arithmetic: the inclusive byte range of a string of
/// `length` bytes selected by `start` and `end`, `None` if empty.
fn byte_range(length: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let length = length as i128;
    let resolve = |index: i64| {
        let index = i128::from(index);
        if index < 0 {
            (length + index).max(0)
        } else {
            index
        }
    };
    let (start, end) = (resolve(start), resolve(end).min(length - 1));
    if start > end || length == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

/// `SETRANGE key offset value` — the string's length after writing `value`
/// at `offset`, zero-padding as needed (the key's TTL is kept).
fn setrange(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let offset = args.next_i64()?;
    let patch = args.next_bytes()?;
    let offset =
        u64::try_from(offset).map_err(|_| CommandError::Static("ERR offset is out of range"))?;
    let old = string_for_write(ctx, &key)?;
    if patch.is_empty() {
        return Ok(Reply::Integer(old.map_or(0, |value| value.len() as i64)));
    }
    // Checked before any allocation: the result is at most proto-max-bulk-len bytes.
    check_string_length(ctx, offset, patch.len() as u64)?;
    let offset = offset as usize;
    let old = old.unwrap_or_default();
    let mut value = BytesMut::zeroed(old.len().max(offset + patch.len()));
    value[..old.len()].copy_from_slice(&old);
    value[offset..offset + patch.len()].copy_from_slice(&patch);
    let length = value.len();
    let now_ms = ctx.now_ms;
    ctx.db()
        .replace_value(&key, Value::String(value.freeze()), now_ms);
    Ok(Reply::Integer(length as i64))
}

/// Options of LCS.
#[derive(Debug, Default, PartialEq)]
struct LcsOptions {
    length_only: bool,
    indexes: bool,
    with_match_length: bool,
    min_match_length: u64,
}

fn parse_lcs_options(args: &mut Args) -> Result<LcsOptions, CommandError> {
    let mut options = LcsOptions::default();
    while !args.is_empty() {
        if args.eat_keyword("idx") {
            options.indexes = true;
        } else if args.eat_keyword("len") {
            options.length_only = true;
        } else if args.eat_keyword("withmatchlen") {
            options.with_match_length = true;
        } else if args.remaining() > 1 && args.eat_keyword("minmatchlen") {
            options.min_match_length = args.next_i64()?.max(0) as u64;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if options.indexes && options.length_only {
        return Err(CommandError::Static(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(options)
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]` — the longest
/// common subsequence of two strings (missing keys are empty); with LEN its
/// length; with IDX a map `{matches: [[[a_start, a_end], [b_start, b_end],
/// (len)], ...], len: n}`.
fn lcs(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let (key_a, key_b) = (args.next_bytes()?, args.next_bytes()?);
    let (a, b) = match (read_string(ctx, &key_a), read_string(ctx, &key_b)) {
        (Ok(a), Ok(b)) => (a.unwrap_or_default(), b.unwrap_or_default()),
        _ => {
            return Err(CommandError::Static(
                "ERR The specified keys must contain string values",
            ))
        }
    };
    let options = parse_lcs_options(args)?;
    check_lcs_size(ctx, a.len(), b.len())?;
    let table = lcs_table(&a, &b);
    if options.length_only {
        return Ok(Reply::Integer(i64::from(table.len())));
    }
    let (sequence, ranges) = table.walk();
    if !options.indexes {
        return Ok(Reply::Bulk(Bytes::from(sequence)));
    }
    let position = |(start, end): (u32, u32)| {
        Reply::Array(vec![
            Reply::Integer(start.into()),
            Reply::Integer(end.into()),
        ])
    };
    let matches = ranges
        .iter()
        .filter(|range| u64::from(range.len()) >= options.min_match_length)
        .map(|range| {
            let mut entry = vec![position(range.a), position(range.b)];
            if options.with_match_length {
                entry.push(Reply::Integer(range.len().into()));
            }
            Reply::Array(entry)
        });
    Ok(Reply::Map(vec![
        (Reply::bulk("matches"), Reply::Array(matches.collect())),
        (Reply::bulk("len"), Reply::Integer(i64::from(table.len()))),
    ]))
}

/// Refuses LCS tables beyond Redis's limits and corekv's [`LCS_TABLE_BYTES_MAX`].
fn check_lcs_size(ctx: &Ctx<'_>, a_len: usize, b_len: usize) -> Result<(), CommandError> {
    if a_len >= u32::MAX as usize - 1 || b_len >= u32::MAX as usize - 1 {
        return Err(CommandError::Static("ERR String too long for LCS"));
    }
    let table_bytes = (a_len as u64 + 1) * (b_len as u64 + 1) * LCS_CELL_BYTES;
    if table_bytes > ctx.proto_max_bulk_len as u64 {
        return Err(CommandError::Static(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    if table_bytes > LCS_TABLE_BYTES_MAX {
        return Err(CommandError::Message(format!(
            "ERR Insufficient memory, transient memory for LCS exceeds corekv's limit of {LCS_TABLE_BYTES_MAX} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
