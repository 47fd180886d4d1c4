//! The set algebra: SINTER, SINTERCARD, SUNION, SDIFF and the STORE forms
//! (Redis 7.0's `sinterGenericCommand` and `sunionDiffGenericCommand`).
//!
//! Every key's type is checked before anything is computed, as Redis does,
//! so a wrong type anywhere is WRONGTYPE even when an earlier key is
//! missing. Results are built as Redis builds them — a fresh intset that
//! converts to a hashtable as members demand — so a stored result has the
//! encoding Redis would give it, and a reply built from an intset result is
//! ascending, byte for byte as Redis's.
//!
//! The keyspace can only lend one value at a time, so the algorithms hold
//! one input at a time: the intersection filters the smallest set's members
//! through each other set (O(N·M), N the smallest size, M the number of
//! sets), the difference filters the first set's members the same way, and
//! the union inserts every input's members into the result (O(total)).

use bytes::Bytes;

use super::{db_and_rng, read_set, store_set};
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::keyspace::set::Set;
use crate::keyspace::{Db, Value};
use crate::resp::Reply;

/// The set under `key` without counting a keyspace hit: for the passes after
/// [`sizes`] has looked every key up (and checked its type) once.
fn peek_set<'a>(db: &'a mut Db, key: &[u8], now_ms: u64) -> Option<&'a Set> {
    match db.get(key, now_ms).map(|entry| &entry.value) {
        Some(Value::Set(set)) => Some(set),
        _ => None,
    }
}

/// Each key's set size (`None` when the key does not exist), after checking
/// every key's type: WRONGTYPE if any key holds something else.
fn sizes(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<Vec<Option<usize>>, CommandError> {
    keys.iter()
        .map(|key| Ok(read_set(ctx, key)?.map(Set::len)))
        .collect()
}

/// The members common to every set, in the iteration order of the smallest
/// (ascending when it is an intset). A missing key is an empty set. Stops
/// at `limit` members when `limit` > 0.
fn intersection(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    limit: usize,
) -> Result<Vec<Bytes>, CommandError> {
    let sizes = sizes(ctx, keys)?;
    if sizes.iter().any(|size| size.is_none_or(|size| size == 0)) {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&index| sizes[index]);
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let smallest = &keys[order[0]];
    let mut members: Vec<Bytes> = peek_set(db, smallest, now_ms)
        .map(|set| set.iter().collect())
        .unwrap_or_default();
    for &index in &order[1..] {
        if members.is_empty() {
            break;
        }
        if let Some(set) = peek_set(db, &keys[index], now_ms) {
            members.retain(|member| set.contains(member));
        }
    }
    if limit > 0 {
        members.truncate(limit);
    }
    Ok(members)
}

/// The union of the sets under `keys`, built as a fresh set.
fn union(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<Set, CommandError> {
    sizes(ctx, keys)?;
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let mut result = Set::new();
    for key in keys {
        if let Some(set) = peek_set(db, key, now_ms) {
            for member in set.iter() {
                result.insert(&member, rng);
            }
        }
    }
    Ok(result)
}

/// The members of the first set that are in none of the others, built as a
/// fresh set.
fn difference(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<Set, CommandError> {
    sizes(ctx, keys)?;
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let Some((first, others)) = keys.split_first() else {
        return Ok(Set::new());
    };
    let mut members: Vec<Bytes> = peek_set(db, first, now_ms)
        .map(|set| set.iter().collect())
        .unwrap_or_default();
    for key in others {
        if members.is_empty() {
            break;
        }
        if let Some(set) = peek_set(db, key, now_ms) {
            members.retain(|member| !set.contains(member));
        }
    }
    Ok(set_of(&members, rng))
}

fn set_of(members: &[Bytes], rng: &mut dyn rand::RngCore) -> Set {
    let mut set = Set::new();
    for member in members {
        set.insert(member, rng);
    }
    set
}

fn set_reply(set: &Set) -> Reply {
    Reply::Set(set.iter().map(Reply::Bulk).collect())
}

/// `SINTER key [key ...]` — set of the members present in every set
/// (empty if any key is missing).
pub(super) fn sinter(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let keys = args.rest();
    let members = intersection(ctx, &keys, 0)?;
    Ok(Reply::Set(members.into_iter().map(Reply::Bulk).collect()))
}

/// `SINTERSTORE destination key [key ...]` — integer: the size of the
/// intersection stored at `destination` (deleted when empty).
pub(super) fn sinterstore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let destination = args.next_bytes()?;
    let keys = args.rest();
    let members = intersection(ctx, &keys, 0)?;
    let (_, rng) = db_and_rng(ctx);
    let set = set_of(&members, rng);
    Ok(store_set(ctx, &destination, set))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]` — integer: the size of
/// the intersection, counting at most `limit` members (0: no limit).
pub(super) fn sintercard(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let numkeys_error = CommandError::Static("ERR numkeys should be greater than 0");
    let numkeys = args.next_i64().map_err(|_| numkeys_error.clone())?;
    if numkeys < 1 {
        return Err(numkeys_error);
    }
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CommandError::Static(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys: Vec<Bytes> = (0..numkeys)
        .map(|_| args.next_bytes())
        .collect::<Result<_, _>>()?;
    let mut limit = 0;
    while !args.is_empty() {
        if args.eat_keyword("limit") && !args.is_empty() {
            let negative = CommandError::Static("ERR LIMIT can't be negative");
            limit = args.next_i64().map_err(|_| negative.clone())?;
            if limit < 0 {
                return Err(negative);
            }
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let members = intersection(ctx, &keys, limit)?;
    Ok(Reply::Integer(members.len() as i64))
}

/// `SUNION key [key ...]` — set of the members of any of the sets.
pub(super) fn sunion(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let keys = args.rest();
    Ok(set_reply(&union(ctx, &keys)?))
}

/// `SUNIONSTORE destination key [key ...]` — integer: the size of the union
/// stored at `destination` (deleted when empty).
pub(super) fn sunionstore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let destination = args.next_bytes()?;
    let keys = args.rest();
    let set = union(ctx, &keys)?;
    Ok(store_set(ctx, &destination, set))
}

/// `SDIFF key [key ...]` — set of the members of the first set in none of
/// the others.
pub(super) fn sdiff(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let keys = args.rest();
    Ok(set_reply(&difference(ctx, &keys)?))
}

/// `SDIFFSTORE destination key [key ...]` — integer: the size of the
/// difference stored at `destination` (deleted when empty).
pub(super) fn sdiffstore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let destination = args.next_bytes()?;
    let keys = args.rest();
    let set = difference(ctx, &keys)?;
    Ok(store_set(ctx, &destination, set))
}
