//! ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER and ZSCAN — Redis 7.0's
//! `genericZpopCommand`, `zrandmemberWithCountCommand` and the sorted-set
//! side of `scanGenericCommand`.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::{flat_scored_reply, peek_zset, read_zset, scored_reply, zset_for_write};
use crate::commands::sets::db_and_rng;
use crate::commands::sets::random::{
    check_repeats, parse_collection_cursor, parse_positive_count, parse_random_count,
    parse_scan_options, scan_matches, scan_reply,
};
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::keyspace::zset::ZSet;
use crate::keyspace::Value;
use crate::resp::reply::format_double;
use crate::resp::Reply;

/// Pops up to `count` elements from the low (or, with `max`, high) end of
/// the sorted set under `key`, deleting the key when it empties.
fn pop_entries(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    max: bool,
    count: u64,
) -> Result<Vec<(Bytes, f64)>, CommandError> {
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let exists = peek_zset(db, key, now_ms)?.is_some();
    let Some(zset) = zset_for_write(db, key, now_ms)?.filter(|_| exists && count > 0) else {
        return Ok(Vec::new());
    };
    let count = count.min(zset.len() as u64);
    let popped: Vec<(Bytes, f64)> = (0..count).filter_map(|_| zset.pop(max)).collect();
    if zset.is_empty() {
        db.remove(key, now_ms);
    }
    Ok(popped)
}

/// `ZPOPMIN key [count]` — array: member, score (a double), ... for the
/// popped elements, lowest first; empty if the key does not exist.
pub(super) fn zpopmin(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    pop_generic(ctx, args, false)
}

/// `ZPOPMAX key [count]` — as ZPOPMIN, highest first.
pub(super) fn zpopmax(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    pop_generic(ctx, args, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &mut Args, max: bool) -> CommandResult {
    let key = args.next_bytes()?;
    let (count, nested) = match args.remaining() {
        0 => (1, false),
        1 => (parse_positive_count(&args.next_bytes()?)?, true),
        _ => return Err(CommandError::Syntax),
    };
    let entries = pop_entries(ctx, &key, max, count)?;
    // Redis 7.0 nests pairs (in RESP3) only when a count was given.
    Ok(if nested {
        scored_reply(entries, true)
    } else {
        flat_scored_reply(entries)
    })
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]` — `[key, [[member,
/// score], ...]]` from the first non-empty sorted set (nested in both
/// protocols), or a null array when every key is missing. Only keys up to
/// the first existing one are type-checked, as Redis.
pub(super) fn zmpop(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let numkeys_error = CommandError::Static("ERR numkeys should be greater than 0");
    let numkeys = args.next_i64().map_err(|_| numkeys_error.clone())?;
    if numkeys < 1 {
        return Err(numkeys_error);
    }
    // The MIN|MAX word must follow the keys.
    if numkeys as u64 >= args.remaining() as u64 {
        return Err(CommandError::Syntax);
    }
    let keys: Vec<Bytes> = (0..numkeys)
        .map(|_| args.next_bytes())
        .collect::<Result<_, _>>()?;
    let max = match args.next_bytes()?.to_ascii_lowercase().as_slice() {
        b"min" => false,
        b"max" => true,
        _ => return Err(CommandError::Syntax),
    };
    let mut count = None;
    while !args.is_empty() {
        if count.is_none() && args.remaining() >= 2 && args.eat_keyword("count") {
            let positive = CommandError::Static("ERR count should be greater than 0");
            let value = args.next_i64().map_err(|_| positive.clone())?;
            count = Some(
                u64::try_from(value)
                    .ok()
                    .filter(|&v| v >= 1)
                    .ok_or(positive)?,
            );
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let now_ms = ctx.now_ms;
    for key in keys {
        if peek_zset(ctx.db(), &key, now_ms)?.is_none() {
            continue;
        }
        let popped = pop_entries(ctx, &key, max, count.unwrap_or(1))?;
        let pairs = popped
            .into_iter()
            .map(|(member, score)| Reply::Array(vec![Reply::Bulk(member), Reply::Double(score)]))
            .collect();
        return Ok(Reply::Array(vec![Reply::Bulk(key), Reply::Array(pairs)]));
    }
    Ok(Reply::NullArray)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]` — without count: a random member
/// or null; count ≥ 0: up to `count` distinct members (the whole sorted set,
/// highest first, when `count` ≥ its size); count < 0: |count| members that may
/// repeat (at most `RANDOM_REPEATS_MAX`, a corekv bound). WITHSCORES adds
/// each score (see `scored_reply`).
pub(super) fn zrandmember(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let mut count = None;
    let mut withscores = false;
    if !args.is_empty() {
        count = Some(parse_random_count(&args.next_bytes()?)?);
        match args.remaining() {
            0 => {}
            1 if args.eat_keyword("withscores") => withscores = true,
            _ => return Err(CommandError::Syntax),
        }
    }
    if let Some(count) = count.filter(|_| withscores) {
        // Redis 7.0.15 refuses counts whose reply length (2 × count) could overflow.
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(CommandError::Static("ERR value is out of range"));
        }
    }
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let zset = match db.get_for_read(&key, now_ms).map(|entry| &entry.value) {
        None => None,
        Some(Value::ZSet(zset)) => Some(zset),
        Some(_) => return Err(CommandError::WrongType),
    };
    let Some(count) = count else {
        let member = zset
            .and_then(|zset| zset.random_entry(rng))
            .map(|(member, _)| member);
        return Ok(member.map_or(Reply::Null, Reply::Bulk));
    };
    let Some(zset) = zset.filter(|_| count != 0) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let entries = if count < 0 {
        let repeats = check_repeats(count)?;
        (0..repeats)
            .filter_map(|_| zset.random_entry(rng))
            .collect()
    } else {
        distinct_sample(zset, count as u64, rng)
    };
    Ok(scored_reply(entries, withscores))
}

/// Up to `count` distinct elements: the whole sorted set, highest first
/// (Redis's `zuiNext` walks from the tail), when `count` ≥ its size; else a
/// uniform sample.
fn distinct_sample(zset: &ZSet, count: u64, rng: &mut dyn rand::RngCore) -> Vec<(Bytes, f64)> {
    if count >= zset.len() as u64 {
        let mut all: Vec<(Bytes, f64)> = zset.iter().collect();
        all.reverse();
        return all;
    }
    // `count` < the size here, so it fits in usize.
    let count = count as usize;
    if count * 3 > zset.len() || zset.encoding() == "listpack" {
        let mut all: Vec<(Bytes, f64)> = zset.iter().collect();
        for index in 0..count {
            let pick = index + (rng.next_u64() % (all.len() - index) as u64) as usize;
            all.swap(index, pick);
        }
        all.truncate(count);
        return all;
    }
    let mut seen = BTreeSet::new();
    let mut sample = Vec::with_capacity(count);
    while sample.len() < count {
        let Some((member, score)) = zset.random_entry(rng) else {
            break;
        };
        if seen.insert(member.clone()) {
            sample.push((member, score));
        }
    }
    sample
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]` — `[next cursor,
/// [member, score, ...]]` with scores as bulk strings (`%.17g`). A listpack
/// comes back whole with cursor 0; a skiplist's dict is walked with Redis's
/// reverse-binary cursor, up to COUNT × 10 buckets per call.
pub(super) fn zscan(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let mut cursor = parse_collection_cursor(&args.next_bytes()?)?;
    let Some(zset) = read_zset(ctx, &key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let options = parse_scan_options(args)?;
    let mut found = Vec::new();
    let mut steps_left = options.count.saturating_mul(10);
    loop {
        cursor = zset.scan(cursor, |member, score| found.push((member, score)));
        steps_left = steps_left.saturating_sub(1);
        if cursor == 0 || steps_left == 0 || found.len() >= options.count {
            break;
        }
    }
    let mut elements = Vec::new();
    for (member, score) in found
        .into_iter()
        .filter(|(member, _)| scan_matches(&options, member))
    {
        let mut text = Vec::new();
        format_double(score, &mut text);
        elements.push(Reply::Bulk(member));
        elements.push(Reply::Bulk(Bytes::from(text)));
    }
    Ok(scan_reply(cursor, elements))
}
