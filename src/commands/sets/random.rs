//! SPOP, SRANDMEMBER and SSCAN: the set commands whose replies depend on
//! randomness or on a cursor, plus the cursor and option parsing that ZSCAN
//! shares.
//!
//! Randomness comes from `ctx.rng` (the Platform's seeded stream), so the
//! simulator seed fixes every pick. Which members come back is unspecified
//! in Redis too; only the reply's shape and the members' validity are.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::{db_and_rng, peek_set, read_set, set_for_write};
use crate::commands::args::parse_i64;
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::glob::glob_match;
use crate::keyspace::set::Set;
use crate::keyspace::Value;
use crate::resp::Reply;

/// Most elements SRANDMEMBER and ZRANDMEMBER return for a negative count
/// (picks with repetition). Redis 7.0 has no bound and will build a reply
/// of any size a client asks for (`SRANDMEMBER k -4611686018427387904`
/// exhausts its memory); corekv refuses counts beyond this with
/// [`RANDOM_REPEATS_ERROR`] so one command cannot stall a core or exhaust
/// memory. Positive counts are bounded by the collection's size.
pub const RANDOM_REPEATS_MAX: u64 = 1_000_000;

/// The error for a negative count beyond [`RANDOM_REPEATS_MAX`] (corekv only).
pub const RANDOM_REPEATS_ERROR: &str =
    "ERR count is out of range: corekv returns at most 1000000 random elements with repetitions";

const _: () = assert!(
    RANDOM_REPEATS_MAX == 1_000_000,
    "update RANDOM_REPEATS_ERROR"
);

/// Parses a random-selection count as Redis 7.0.15's
/// `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`.
pub(crate) fn parse_random_count(text: &[u8]) -> Result<i64, CommandError> {
    let count = parse_i64(text)?;
    if count == i64::MIN {
        return Err(CommandError::Static(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(count)
}

/// Checks a negative (repeating) count against [`RANDOM_REPEATS_MAX`].
pub(crate) fn check_repeats(count: i64) -> Result<usize, CommandError> {
    let repeats = count.unsigned_abs();
    if repeats > RANDOM_REPEATS_MAX {
        return Err(CommandError::Static(RANDOM_REPEATS_ERROR));
    }
    Ok(repeats as usize)
}

/// Parses a count as Redis's `getPositiveLongFromObjectOrReply` with no
/// custom message (SPOP, ZPOPMIN, ZPOPMAX): anything but a non-negative
/// integer — even a non-number — is `ERR value is out of range, must be
/// positive`.
pub(crate) fn parse_positive_count(text: &[u8]) -> Result<u64, CommandError> {
    parse_i64(text)
        .ok()
        .and_then(|count| u64::try_from(count).ok())
        .ok_or(CommandError::Static(
            "ERR value is out of range, must be positive",
        ))
}

/// `SPOP key [count]` — without count: the removed member as a bulk
/// string, or null; with count: a set of up to `count` removed members
/// (all of them, ascending for an intset, when `count` ≥ the size).
pub(crate) fn spop(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(parse_positive_count(&args.next_bytes()?)?),
        _ => return Err(CommandError::Syntax),
    };
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let exists = peek_set(db, &key, now_ms)?.is_some();
    let Some(set) = set_for_write(db, &key, now_ms)?.filter(|_| exists && count != Some(0)) else {
        return Ok(count.map_or(Reply::Null, |_| Reply::Set(Vec::new())));
    };
    let reply = match count {
        None => set.pop_random(rng).map_or(Reply::Null, Reply::Bulk),
        Some(count) if count >= set.len() as u64 => {
            let all = std::mem::take(set);
            Reply::Set(all.iter().map(Reply::Bulk).collect())
        }
        // `count` < the set's size here, so it fits in usize.
        Some(count) => Reply::Set(
            (0..count)
                .filter_map(|_| set.pop_random(rng).map(Reply::Bulk))
                .collect(),
        ),
    };
    if set.is_empty() {
        db.remove(&key, now_ms);
    }
    Ok(reply)
}

/// `SRANDMEMBER key [count]` — without count: a random member or null;
/// with count ≥ 0: an array of up to `count` distinct members (the whole
/// set, ascending for an intset, when `count` ≥ its size); with count < 0:
/// an array of |count| members that may repeat (at most
/// [`RANDOM_REPEATS_MAX`]: a corekv bound).
pub(crate) fn srandmember(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(parse_random_count(&args.next_bytes()?)?),
        _ => return Err(CommandError::Syntax),
    };
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let set = match db.get_for_read(&key, now_ms).map(|entry| &entry.value) {
        None => None,
        Some(Value::Set(set)) => Some(set),
        Some(_) => return Err(CommandError::WrongType),
    };
    let Some(count) = count else {
        let member = set.and_then(|set| set.random_member(rng));
        return Ok(member.map_or(Reply::Null, Reply::Bulk));
    };
    let Some(set) = set.filter(|_| count != 0) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let members = if count < 0 {
        let repeats = check_repeats(count)?;
        (0..repeats)
            .filter_map(|_| set.random_member(rng))
            .collect()
    } else {
        distinct_sample(set, count as u64, rng)
    };
    Ok(Reply::Array(members.into_iter().map(Reply::Bulk).collect()))
}

/// Up to `count` distinct members: all of them (in iteration order) when
/// `count` ≥ the size; otherwise a uniform sample. Work is O(min(count ×
/// 3, size)) like Redis's CASE 3 / CASE 4 split.
fn distinct_sample(set: &Set, count: u64, rng: &mut dyn rand::RngCore) -> Vec<Bytes> {
    let size = set.len() as u64;
    if count >= size {
        return set.iter().collect();
    }
    // `count` < size, so it fits in usize.
    let count = count as usize;
    if count as u64 * 3 > size || set.is_intset() {
        // Partial Fisher-Yates over every member.
        let mut all: Vec<Bytes> = set.iter().collect();
        for index in 0..count {
            let pick = index + (rng.next_u64() % (all.len() - index) as u64) as usize;
            all.swap(index, pick);
        }
        all.truncate(count);
        return all;
    }
    // The set is much larger than the sample: draw until enough are unique.
    let mut seen = BTreeSet::new();
    let mut sample = Vec::with_capacity(count);
    while sample.len() < count {
        let Some(member) = set.random_member(rng) else {
            break;
        };
        if seen.insert(member.clone()) {
            sample.push(member);
        }
    }
    sample
}

/// Options of SSCAN, HSCAN and ZSCAN.
#[derive(Debug)]
pub(crate) struct ScanOptions {
    /// Elements to aim for per call (COUNT, default 10).
    pub count: usize,
    /// Glob pattern members must match (MATCH).
    pub pattern: Option<Bytes>,
}

/// Parses a collection scan's cursor as Redis's `parseScanCursorOrReply`
/// (`strtoul`): an optional sign and decimal digits, no leading space, no
/// trailing garbage, within 64 bits; a negative cursor wraps as `strtoul`
/// wraps it; an empty cursor is 0. `ERR invalid cursor` otherwise.
pub(crate) fn parse_collection_cursor(text: &[u8]) -> Result<u64, CommandError> {
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
    let mut value: u64 = 0;
    for &digit in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or(invalid.clone())?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Parses `[MATCH pattern] [COUNT count]` as Redis's `scanGenericCommand`
/// for a key's collection (no TYPE): COUNT below 1 is a syntax error.
pub(crate) fn parse_scan_options(args: &mut Args) -> Result<ScanOptions, CommandError> {
    let mut options = ScanOptions {
        count: 10,
        pattern: None,
    };
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat_keyword("count") {
            let count = args.next_i64()?;
            if count < 1 {
                return Err(CommandError::Syntax);
            }
            options.count = usize::try_from(count).unwrap_or(usize::MAX);
        } else if args.remaining() >= 2 && args.eat_keyword("match") {
            options.pattern = Some(args.next_bytes()?);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(options)
}

/// True if `member` passes the MATCH filter.
pub(crate) fn scan_matches(options: &ScanOptions, member: &[u8]) -> bool {
    options
        .pattern
        .as_ref()
        .is_none_or(|pattern| glob_match(pattern, member, false))
}

/// The reply of every SCAN-family command: `[cursor, [elements...]]`.
pub(crate) fn scan_reply(cursor: u64, elements: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(elements),
    ])
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]` — `[next cursor,
/// [member...]]`. An intset comes back whole with cursor 0; a hashtable is
/// walked with Redis's reverse-binary cursor, up to COUNT × 10 buckets per
/// call. As Redis, the key is looked up before the options are parsed.
pub(crate) fn sscan(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let mut cursor = parse_collection_cursor(&args.next_bytes()?)?;
    let Some(set) = read_set(ctx, &key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let options = parse_scan_options(args)?;
    let mut found = Vec::new();
    let mut steps_left = options.count.saturating_mul(10);
    loop {
        cursor = set.scan(cursor, |member| found.push(member));
        steps_left = steps_left.saturating_sub(1);
        if cursor == 0 || steps_left == 0 || found.len() >= options.count {
            break;
        }
    }
    let members = found
        .into_iter()
        .filter(|member| scan_matches(&options, member))
        .map(Reply::Bulk)
        .collect();
    Ok(scan_reply(cursor, members))
}
