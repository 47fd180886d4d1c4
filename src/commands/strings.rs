//! String commands (redis.io/commands/?group=string).
//!
//! Values are `Value::String(Bytes)`; integers are parsed from and formatted
//! to decimal text on use, as Redis does for its `int` encoding.

use bytes::Bytes;

use super::flags::*;
use super::{
    Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Reduce, Route,
};
use crate::keyspace::Value;
use crate::resp::Reply;

const GROUP: &str = "string";
/// Route of single-key commands: they run on the key's shard (the multi-shard mode is never used).
const KEYED: Route = Route::Keys(MultiShard::Gather);

/// String commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("get", 2, READONLY | FAST, KeySpec::FIRST, KEYED, get).doc(
        GROUP,
        "1.0.0",
        "Returns the string value of a key.",
        "O(1)",
    ),
    CommandSpec::keyspace("set", -3, WRITE | DENYOOM, KeySpec::FIRST, KEYED, set).doc(
        GROUP,
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        "O(1)",
    ),
    CommandSpec::keyspace("mget", -2, READONLY | FAST, KeySpec::ALL, Route::Keys(MultiShard::Split(Reduce::MergeInKeyOrder)), mget)
        .doc(GROUP, "1.0.0", "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve."),
    CommandSpec::keyspace("mset", -3, WRITE | DENYOOM, KeySpec::PAIRS, Route::Keys(MultiShard::Split(Reduce::AllOk)), mset)
        .doc(GROUP, "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set."),
];

/// Reads the string under `key`: `Ok(None)` if absent, WRONGTYPE if another type.
pub(crate) fn read_string(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CommandError> {
    let now_ms = ctx.now_ms;
    match ctx.db().get_for_read(key, now_ms) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::String(bytes) => Ok(Some(bytes.clone())),
            #[allow(unreachable_patterns)]
            _ => Err(CommandError::WrongType),
        },
    }
}

/// `GET key` — bulk string, or null if the key does not exist.
fn get(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    Ok(read_string(ctx, &key)?.map_or(Reply::Null, Reply::Bulk))
}

/// When a SET-like command should write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    IfAbsent,
    IfPresent,
}

/// What a SET-like command does to the TTL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Remove any TTL.
    Clear,
    /// Keep the existing TTL (KEEPTTL).
    Keep,
    /// Expire at this Unix ms.
    At(u64),
}

/// Parses `EX|PX|EXAT|PXAT value` given the keyword already taken, into an
/// absolute Unix ms; `ERR invalid expire time in '<command>' command` if not
/// positive or overflowing.
pub(crate) fn parse_expire(
    keyword: &[u8],
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
    let at_ms = match keyword.to_ascii_lowercase().as_slice() {
        b"ex" => amount
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(now_ms)),
        b"px" => amount.checked_add(now_ms),
        b"exat" => amount.checked_mul(1000),
        b"pxat" => Some(amount),
        _ => return Err(CommandError::Syntax),
    };
    at_ms.filter(|&ms| ms <= i64::MAX as u64).ok_or(invalid)
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT unix-s|PXAT unix-ms|KEEPTTL]`
/// — `+OK`; null if NX/XX prevented the write; with GET, the old value (or
/// null) instead.
fn set(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let mut condition = Condition::Always;
    let mut expiry = Expiry::Clear;
    let mut expiry_given = false;
    let mut return_old = false;
    while let Some(option) = args.peek().cloned() {
        args.next_bytes()?;
        match option.to_ascii_lowercase().as_slice() {
            b"nx" if condition == Condition::Always => condition = Condition::IfAbsent,
            b"xx" if condition == Condition::Always => condition = Condition::IfPresent,
            b"get" if !return_old => return_old = true,
            b"keepttl" if !expiry_given => {
                expiry_given = true;
                expiry = Expiry::Keep;
            }
            word @ (b"ex" | b"px" | b"exat" | b"pxat") if !expiry_given => {
                expiry_given = true;
                let amount = args.next_bytes()?;
                expiry = Expiry::At(parse_expire(word, &amount, ctx.now_ms, "set")?);
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    let old = if return_old {
        read_string(ctx, &key)?
    } else {
        None
    };
    let now_ms = ctx.now_ms;
    let exists = ctx.db().contains(&key, now_ms);
    let write = match condition {
        Condition::Always => true,
        Condition::IfAbsent => !exists,
        Condition::IfPresent => exists,
    };
    if write {
        store_string(ctx, &key, value, expiry);
    }
    Ok(match (return_old, write) {
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
    while !args.is_empty() {
        let key = args.next_bytes()?;
        let value = args.next_bytes()?;
        store_string(ctx, &key, value, Expiry::Clear);
    }
    Ok(Reply::ok())
}
