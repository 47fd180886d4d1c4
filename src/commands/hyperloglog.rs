//! HyperLogLog commands (redis.io/commands/?group=hyperloglog).
//!
//! HLLs are strings in Redis's own format — sparse while small, dense
//! beyond [`sparse::SPARSE_BYTES_MAX`] bytes or any register above 32 — and
//! [`hll`] reproduces Redis 7.0's hashing, register updates and estimator,
//! so PFCOUNT answers, and GET returns, exactly what Redis would. A
//! single-key PFCOUNT caches the count in the header as Redis does.
//!
//! PFCOUNT over several keys and PFMERGE are gathered to one shard when
//! their keys live on several (the merge needs every HLL at once).

mod hll;
mod sparse;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use super::flags::*;
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::Value;
use crate::resp::Reply;
use hll::{Corrupt, DENSE, ENCODING_INDEX, HEADER_BYTES, REGISTERS};

const GROUP: &str = "hyperloglog";
/// Single-key commands run on the key's shard; several keys are gathered.
const GATHERED: Route = Route::Keys(MultiShard::Gather);

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("pfadd", -2, WRITE | DENYOOM | FAST, KeySpec::FIRST, GATHERED, pfadd)
        .doc(GROUP, "2.8.9", "Adds the specified elements to the specified HyperLogLog.", "O(1) to add every element."),
    CommandSpec::keyspace("pfcount", -2, READONLY, KeySpec::ALL, GATHERED, pfcount)
        .doc(GROUP, "2.8.9", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys."),
    CommandSpec::keyspace("pfmerge", -2, WRITE | DENYOOM, KeySpec::ALL, GATHERED, pfmerge)
        .doc(GROUP, "2.8.9", "Merge N different HyperLogLogs into a single one.", "O(N) to merge N HyperLogLogs, but with high constant times."),
];

/// `WRONGTYPE Key is not a valid HyperLogLog string value.`
const NOT_HLL: CommandError =
    CommandError::Static("WRONGTYPE Key is not a valid HyperLogLog string value.");
/// `INVALIDOBJ Corrupted HLL object detected`
const CORRUPT: CommandError = CommandError::Static("INVALIDOBJ Corrupted HLL object detected");

impl From<Corrupt> for CommandError {
    fn from(_: Corrupt) -> CommandError {
        CORRUPT
    }
}

/// The HLL under `key` (`None` if absent): WRONGTYPE for other types, and
/// Redis's HLL-specific WRONGTYPE for strings that are not HLLs. `for_read`
/// counts a keyspace hit or miss.
fn lookup_hll(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    for_read: bool,
) -> Result<Option<Bytes>, CommandError> {
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let entry = if for_read {
        db.get_for_read(key, now_ms)
    } else {
        db.get(key, now_ms)
    };
    match entry.map(|entry| &entry.value) {
        None => Ok(None),
        Some(Value::String(bytes)) if hll::is_valid(bytes) => Ok(Some(bytes.clone())),
        Some(Value::String(_)) => Err(NOT_HLL),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// Stores `hll` under `key`, keeping an existing key's TTL.
fn store_hll(ctx: &mut Ctx<'_>, key: &[u8], hll: Vec<u8>) {
    let now_ms = ctx.now_ms;
    ctx.db()
        .replace_value(key, Value::String(Bytes::from(hll)), now_ms);
}

/// `PFADD key [element ...]` — integer: 1 if a register changed (or the key
/// was created), else 0. Source: redis.io/commands/pfadd.
fn pfadd(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let (mut hll, mut updated) = match lookup_hll(ctx, &key, false)? {
        Some(bytes) => (bytes.to_vec(), false),
        None => (sparse::empty(), true),
    };
    match add_elements(&mut hll, &args.rest()) {
        Ok(changed) => updated |= changed,
        Err(corrupt) => {
            // Redis keeps what it added before noticing the corruption.
            store_hll(ctx, &key, hll);
            return Err(corrupt.into());
        }
    }
    if updated {
        hll::invalidate_cache(&mut hll);
        store_hll(ctx, &key, hll);
    }
    Ok(Reply::Integer(i64::from(updated)))
}

/// Adds every element to `hll`; true if any register changed.
fn add_elements(hll: &mut Vec<u8>, elements: &[Bytes]) -> Result<bool, Corrupt> {
    let mut changed = false;
    for element in elements {
        let (index, count) = hll::pattern(element);
        changed |= if hll[ENCODING_INDEX] == DENSE {
            hll::dense_set(&mut hll[HEADER_BYTES..], index, count)
        } else {
            sparse::set(hll, index, count)?
        };
    }
    Ok(changed)
}

/// `PFCOUNT key [key ...]` — integer: the estimated number of distinct
/// elements added to the HLL, or to the union of several HLLs (computed
/// without writing anything). Missing keys are empty HLLs. A single key's
/// count is cached in its header. Source: redis.io/commands/pfcount.
fn pfcount(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let keys = args.rest();
    if let [key] = keys.as_slice() {
        return pfcount_single(ctx, key);
    }
    let mut max = Box::new([0u8; REGISTERS]);
    for key in &keys {
        if let Some(hll) = lookup_hll(ctx, key, true)? {
            hll::merge_into(&mut max, &hll)?;
        }
    }
    let count = hll::estimate(&hll::raw_histogram(&max));
    Ok(Reply::Integer(count as i64))
}

fn pfcount_single(ctx: &mut Ctx<'_>, key: &[u8]) -> CommandResult {
    let Some(hll) = lookup_hll(ctx, key, true)? else {
        return Ok(Reply::Integer(0));
    };
    if let Some(count) = hll::cached_cardinality(&hll) {
        return Ok(Reply::Integer(count as i64));
    }
    let count = hll::estimate(&hll::histogram(&hll)?);
    let mut cached = hll.to_vec();
    hll::set_cached_cardinality(&mut cached, count);
    store_hll(ctx, key, cached);
    Ok(Reply::Integer(count as i64))
}

/// `PFMERGE destkey [sourcekey ...]` — `+OK`: destkey becomes the union of
/// itself and every source (dense if any input is dense).
/// Source: redis.io/commands/pfmerge.
fn pfmerge(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let keys = args.rest();
    let Some(destination_key) = keys.first() else {
        return Err(CommandError::arity("pfmerge"));
    };
    let mut max = Box::new([0u8; REGISTERS]);
    let mut any_dense = false;
    let mut destination = None;
    for (position, key) in keys.iter().enumerate() {
        let Some(hll) = lookup_hll(ctx, key, true)? else {
            continue;
        };
        any_dense |= hll[ENCODING_INDEX] == DENSE;
        hll::merge_into(&mut max, &hll)?;
        if position == 0 {
            destination = Some(hll);
        }
    }
    let mut hll = destination.map_or_else(sparse::empty, |bytes| bytes.to_vec());
    if any_dense {
        hll = hll::to_dense(&hll)?;
    }
    for (index, &value) in max.iter().enumerate() {
        if value == 0 {
            continue;
        }
        if hll[ENCODING_INDEX] == DENSE {
            hll::dense_set(&mut hll[HEADER_BYTES..], index, value);
        } else {
            // Validated by the merge above, so it cannot be corrupt; Redis
            // ignores the result here too.
            let _ = sparse::set(&mut hll, index, value);
        }
    }
    hll::invalidate_cache(&mut hll);
    store_hll(ctx, destination_key, hll);
    Ok(Reply::ok())
}
