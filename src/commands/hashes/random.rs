//! HRANDFIELD and HSCAN: the hash commands whose replies depend on
//! randomness or on the table's layout.
//!
//! HRANDFIELD with a negative count repeats fields, so a client can ask for
//! far more reply than the hash holds; Redis 7.0 streams such replies until
//! the output buffer limit closes the connection. corekv builds each reply
//! whole, so it refuses a reply beyond [`RANDOM_FIELDS_REPLY_MAX`] fields or
//! [`RANDOM_REPLY_BYTES_MAX`] bytes with an error (a deviation: Redis would
//! start answering).

use std::collections::HashSet;

use bytes::Bytes;
use rand::RngCore;

use super::{bulk, hash_of, read_hash};
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::glob::glob_match;
use crate::keyspace::hash::Hash;
use crate::resp::Reply;

/// Most fields one HRANDFIELD reply may hold when its count is negative
/// (fields may repeat). About 40 bytes of reply structure per field.
pub const RANDOM_FIELDS_REPLY_MAX: usize = 1 << 20;

/// Most field and value bytes one HRANDFIELD reply with a negative count
/// may hold.
pub const RANDOM_REPLY_BYTES_MAX: usize = 64 << 20;

/// `count * 3 > size` switches unique sampling from random probes to a
/// shuffle of all fields (Redis's `HRANDFIELD_SUB_STRATEGY_MUL`).
const SHUFFLE_MULTIPLIER: usize = 3;

/// A field, and its value if WITHVALUES was given.
type Sample<'h> = (&'h [u8], &'h [u8]);

/// `HRANDFIELD key [count [WITHVALUES]]` — without count, one random field
/// (null if the key does not exist). With count: an array of fields (with
/// WITHVALUES, RESP2 alternates field, value; RESP3 nests [field, value]
/// pairs — see [`pairs_reply`]); `count > 0` gives up to `count` distinct
/// fields, `count < 0` exactly `|count|` fields that may repeat; empty if
/// the key does not exist. Source: redis.io/commands/hrandfield
pub(super) fn hrandfield(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    if args.is_empty() {
        let now_ms = ctx.now_ms;
        let Ctx {
            keyspace,
            db_index,
            rng,
            ..
        } = ctx;
        let entry = keyspace.db(*db_index).get_for_read(&key, now_ms);
        let hash = hash_of(entry.map(|entry| &entry.value))?;
        let field = hash.and_then(|hash| hash.random_pair(&mut **rng));
        return Ok(field.map_or(Reply::Null, |(field, _)| bulk(field)));
    }
    let count = parse_count(&args.next_bytes()?)?;
    let with_values = match (args.remaining(), args.eat_keyword("withvalues")) {
        (0, _) => false,
        (1, true) => true,
        _ => return Err(CommandError::Syntax),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::Static("ERR value is out of range"));
    }
    let now_ms = ctx.now_ms;
    let Ctx {
        keyspace,
        db_index,
        rng,
        ..
    } = ctx;
    let entry = keyspace.db(*db_index).get_for_read(&key, now_ms);
    let Some(hash) = hash_of(entry.map(|entry| &entry.value))? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let samples = if count < 0 {
        let count = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        sample_with_repeats(hash, count, with_values, &mut **rng)?
    } else {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        sample_distinct(hash, count, &mut **rng)
    };
    Ok(samples_reply(&samples, with_values))
}

/// HRANDFIELD's count: any i64 but `i64::MIN` (Redis's range check).
fn parse_count(text: &[u8]) -> Result<i64, CommandError> {
    match crate::commands::args::parse_i64(text)? {
        i64::MIN => Err(CommandError::Static(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        count => Ok(count),
    }
}

/// `count` uniform draws (fields may repeat), refused beyond the reply limits.
fn sample_with_repeats<'h>(
    hash: &'h Hash,
    count: usize,
    with_values: bool,
    rng: &mut dyn RngCore,
) -> Result<Vec<Sample<'h>>, CommandError> {
    let elements = count.saturating_mul(1 + usize::from(with_values));
    if elements > RANDOM_FIELDS_REPLY_MAX {
        return Err(CommandError::Message(format!(
            "ERR value is out of range, corekv replies with at most {RANDOM_FIELDS_REPLY_MAX} random elements"
        )));
    }
    // A listpack is indexed once so each draw is O(1) instead of a walk.
    let indexed: Vec<Sample<'h>> = match hash.is_packed() {
        true => hash.iter().collect(),
        false => Vec::new(),
    };
    let mut samples = Vec::with_capacity(count);
    let mut reply_bytes = 0usize;
    for _ in 0..count {
        let sample = match indexed.is_empty() {
            false => indexed[(rng.next_u64() % indexed.len() as u64) as usize],
            true => match hash.random_pair(rng) {
                Some(sample) => sample,
                None => break,
            },
        };
        reply_bytes += sample.0.len() + if with_values { sample.1.len() } else { 0 };
        if reply_bytes > RANDOM_REPLY_BYTES_MAX {
            return Err(CommandError::Message(format!(
                "ERR reply too large: corekv replies with at most {RANDOM_REPLY_BYTES_MAX} bytes of random fields"
            )));
        }
        samples.push(sample);
    }
    Ok(samples)
}

/// Up to `count` distinct fields: the whole hash (in its order) if `count`
/// covers it; for a listpack, a random subset kept in listpack order (as
/// Redis's `lpRandomPairsUnique`); for a table, random order.
fn sample_distinct<'h>(hash: &'h Hash, count: usize, rng: &mut dyn RngCore) -> Vec<Sample<'h>> {
    if count >= hash.len() {
        return hash.iter().collect();
    }
    if hash.is_packed() || count.saturating_mul(SHUFFLE_MULTIPLIER) > hash.len() {
        let mut all: Vec<(usize, Sample<'h>)> = hash.iter().enumerate().collect();
        // Partial Fisher-Yates: the first `count` slots become a uniform subset.
        for slot in 0..count {
            let remaining = (all.len() - slot) as u64;
            let pick = slot + (rng.next_u64() % remaining) as usize;
            all.swap(slot, pick);
        }
        all.truncate(count);
        if hash.is_packed() {
            all.sort_unstable_by_key(|(position, _)| *position);
        }
        return all.into_iter().map(|(_, sample)| sample).collect();
    }
    // Sparse sampling: random probes until `count` distinct fields (Redis's
    // case 4). `count * 3 <= len` keeps the expected probes below 1.5 * count.
    let mut seen = HashSet::with_capacity(count);
    let mut samples = Vec::with_capacity(count);
    while samples.len() < count {
        let Some(sample) = hash.random_pair(rng) else {
            break;
        };
        if seen.insert(sample.0) {
            samples.push(sample);
        }
    }
    samples
}

fn samples_reply(samples: &[Sample<'_>], with_values: bool) -> Reply {
    if with_values {
        pairs_reply(
            samples
                .iter()
                .map(|&(field, value)| (bulk(field), bulk(value))),
        )
    } else {
        Reply::Array(samples.iter().map(|&(field, _)| bulk(field)).collect())
    }
}

/// HRANDFIELD WITHVALUES's shape: RESP2 clients get a flat array (field,
/// value, ...), RESP3 clients an array of [field, value] arrays.
fn pairs_reply(pairs: impl Iterator<Item = (Reply, Reply)>) -> Reply {
    Reply::Pairs(pairs.collect())
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]` — `[next cursor,
/// [field, value, ...]]`. A `listpack` hash is returned whole with cursor
/// 0; a `hashtable` walks buckets until about `count` elements (fields and
/// values both count, as in Redis) or `count * 10` buckets. MATCH filters
/// fields after they are collected. Source: redis.io/commands/hscan
pub(super) fn hscan(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let cursor = parse_cursor(&args.next_bytes()?)?;
    let mut pattern: Option<Bytes> = None;
    let mut count = 10usize;
    while !args.is_empty() {
        if args.remaining() > 1 && args.eat_keyword("match") {
            pattern = Some(args.next_bytes()?);
        } else if args.remaining() > 1 && args.eat_keyword("count") {
            let value = args.next_i64()?;
            if value < 1 {
                return Err(CommandError::Syntax);
            }
            count = usize::try_from(value).unwrap_or(usize::MAX);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let Some(hash) = read_hash(ctx, &key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let mut found: Vec<(Bytes, Bytes)> = Vec::new();
    let mut cursor = cursor;
    let mut buckets_left = count.saturating_mul(10);
    loop {
        cursor = hash.scan(cursor, |field, value| {
            found.push((Bytes::copy_from_slice(field), Bytes::copy_from_slice(value)))
        });
        buckets_left = buckets_left.saturating_sub(1);
        if cursor == 0 || found.len().saturating_mul(2) >= count || buckets_left == 0 {
            break;
        }
    }
    let elements = found
        .into_iter()
        .filter(|(field, _)| pattern.as_ref().is_none_or(|p| glob_match(p, field, false)))
        .flat_map(|(field, value)| [Reply::Bulk(field), Reply::Bulk(value)]);
    Ok(scan_reply(cursor, elements.collect()))
}

fn scan_reply(cursor: u64, elements: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(elements),
    ])
}

/// Parses a SCAN-family cursor as Redis's `parseScanCursorOrReply`, which
/// uses C's `strtoul`: no leading space, an optional sign (a negative value
/// wraps, so `-1` is `u64::MAX`), decimal digits, nothing after; an empty
/// string is cursor 0. `ERR invalid cursor` otherwise, and on overflow.
fn parse_cursor(text: &[u8]) -> Result<u64, CommandError> {
    let invalid = CommandError::Static("ERR invalid cursor");
    let (negative, digits) = match text.split_first() {
        None => return Ok(0),
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    let magnitude = digits.iter().try_fold(0u64, |value, &digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    });
    let magnitude = magnitude.ok_or(invalid)?;
    Ok(if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"abc",
            b"-",
            b"+",
            b"1.5",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
