//! Interval queries over one sorted set: ZRANGE (by rank, BYSCORE, BYLEX,
//! REV, LIMIT, WITHSCORES) and its legacy forms, ZRANGESTORE, ZCOUNT,
//! ZLEXCOUNT and ZREMRANGEBYRANK/SCORE/LEX — Redis 7.0's
//! `zrangeGenericCommand` and friends, with its exact order of checks.
//!
//! A score or lex interval is found in O(log n) on a skiplist: the first
//! element in range is "how many leading elements are below min", the last
//! is found from the other end likewise; then the walk is O(offset + count).

use bytes::Bytes;

use super::float::parse_score_bound;
use super::{delete_if_empty, peek_zset, read_zset, scored_reply, store_entries, zset_for_write};
use crate::commands::args::parse_i64;
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::keyspace::zset::ZSet;
use crate::resp::Reply;

/// Which elements an interval keeps, tested one bound at a time.
pub(super) trait Interval {
    /// True if (`member`, `score`) is at or above the lower bound.
    fn above_min(&self, member: &[u8], score: f64) -> bool;
    /// True if (`member`, `score`) is at or below the upper bound.
    fn below_max(&self, member: &[u8], score: f64) -> bool;
    /// True if no value can be in the interval (min above max, or equal
    /// with an exclusive end).
    fn is_empty(&self) -> bool;
}

/// Redis's `zslIsInRange` / `zzlIsInLexRange` test, which every interval
/// query makes first: the interval is not empty, the last element is at or
/// above min and the first at or below max. (With mixed scores a lex query
/// can fail this even though some element lies between the bounds; Redis
/// then answers empty, and so does corekv.)
fn may_intersect(zset: &ZSet, interval: &impl Interval) -> bool {
    let mut first_ok = false;
    let mut last_ok = false;
    zset.walk(0, false, |member, score| {
        first_ok = interval.below_max(member, score);
        false
    });
    if let Some(last) = zset.len().checked_sub(1) {
        zset.walk(last, true, |member, score| {
            last_ok = interval.above_min(member, score);
            false
        });
    }
    !interval.is_empty() && first_ok && last_ok
}

/// A score interval (`zrangespec`): `(` makes a bound exclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ScoreRange {
    min: f64,
    max: f64,
    min_exclusive: bool,
    max_exclusive: bool,
}

impl ScoreRange {
    /// Parses `min` and `max` (`ERR min or max is not a float`).
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CommandError> {
        let error = CommandError::Static("ERR min or max is not a float");
        let (min, min_exclusive) = parse_score_bound(min).ok_or(error.clone())?;
        let (max, max_exclusive) = parse_score_bound(max).ok_or(error)?;
        Ok(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }
}

impl Interval for ScoreRange {
    fn above_min(&self, _: &[u8], score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    fn below_max(&self, _: &[u8], score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

/// One end of a lex interval (`zslParseLexRangeItem`).
#[derive(Clone, Debug, PartialEq)]
enum LexBound {
    /// `-`: below every string.
    Lowest,
    /// `+`: above every string.
    Highest,
    /// `[member`.
    Inclusive(Bytes),
    /// `(member`.
    Exclusive(Bytes),
}

impl LexBound {
    /// Position for comparing bounds (`sdscmplex`): `-` below every
    /// string, `+` above; and whether the bound is exclusive (`-` and `+`
    /// count as exclusive, as in Redis).
    fn key(&self) -> (u8, &[u8], bool) {
        match self {
            LexBound::Lowest => (0, &[], true),
            LexBound::Inclusive(bound) => (1, bound, false),
            LexBound::Exclusive(bound) => (1, bound, true),
            LexBound::Highest => (2, &[], true),
        }
    }

    fn parse(item: &[u8]) -> Option<LexBound> {
        // Like C, `+` or `-` followed by a NUL byte is still just `+`/`-`.
        let alone = item.len() == 1 || item.get(1) == Some(&0);
        match item.first()? {
            b'+' if alone => Some(LexBound::Highest),
            b'-' if alone => Some(LexBound::Lowest),
            b'[' => Some(LexBound::Inclusive(Bytes::copy_from_slice(&item[1..]))),
            b'(' => Some(LexBound::Exclusive(Bytes::copy_from_slice(&item[1..]))),
            _ => None,
        }
    }
}

/// A lex interval over members (meaningful when all scores are equal).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    /// Parses `min` and `max` (`ERR min or max not valid string range item`).
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CommandError> {
        let error = CommandError::Static("ERR min or max not valid string range item");
        Ok(LexRange {
            min: LexBound::parse(min).ok_or(error.clone())?,
            max: LexBound::parse(max).ok_or(error)?,
        })
    }
}

impl Interval for LexRange {
    fn above_min(&self, member: &[u8], _: f64) -> bool {
        match &self.min {
            LexBound::Lowest => true,
            LexBound::Highest => false,
            LexBound::Inclusive(bound) => member >= &bound[..],
            LexBound::Exclusive(bound) => member > &bound[..],
        }
    }

    fn below_max(&self, member: &[u8], _: f64) -> bool {
        match &self.max {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Inclusive(bound) => member <= &bound[..],
            LexBound::Exclusive(bound) => member < &bound[..],
        }
    }

    fn is_empty(&self) -> bool {
        let (min_rank, min, min_exclusive) = self.min.key();
        let (max_rank, max, max_exclusive) = self.max.key();
        match (min_rank, min).cmp(&(max_rank, max)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => min_exclusive || max_exclusive,
            std::cmp::Ordering::Less => false,
        }
    }
}

/// Elements of `interval`: forward from the first at or above min, or
/// backward from the last at or below max; `offset` skipped first (a
/// negative offset skips everything, as Redis's `offset--` loop does), then
/// at most `limit` taken (negative: no limit).
pub(super) fn interval_entries(
    zset: &ZSet,
    interval: &impl Interval,
    reverse: bool,
    offset: i64,
    limit: i64,
) -> Vec<(Bytes, f64)> {
    let len = zset.len();
    let offset_past_end = offset > 0 && offset as u64 >= len as u64;
    if offset < 0 || offset_past_end || !may_intersect(zset, interval) {
        return Vec::new();
    }
    let start = if reverse {
        let above = zset.trail_count(|m, s| !interval.below_max(m, s));
        if above == len {
            return Vec::new();
        }
        len - 1 - above
    } else {
        let below = zset.lead_count(|m, s| !interval.above_min(m, s));
        if below == len {
            return Vec::new();
        }
        below
    };
    let mut to_skip = offset;
    let mut left = limit;
    let mut entries = Vec::new();
    zset.walk(start, reverse, |member, score| {
        if to_skip > 0 {
            to_skip -= 1;
            return true;
        }
        let in_range = if reverse {
            interval.above_min(member, score)
        } else {
            interval.below_max(member, score)
        };
        if left == 0 || !in_range {
            return false;
        }
        entries.push((Bytes::copy_from_slice(member), score));
        left -= i64::from(left > 0);
        true
    });
    entries
}

/// Number of elements of `interval`. O(log n) on a skiplist.
fn interval_count(zset: &ZSet, interval: &impl Interval) -> usize {
    if !may_intersect(zset, interval) {
        return 0;
    }
    let below = zset.lead_count(|m, s| !interval.above_min(m, s));
    let up_to_max = zset.lead_count(|m, s| interval.below_max(m, s));
    up_to_max.saturating_sub(below)
}

/// Redis's rank sanitising: negative indexes count from the end; `None`
/// when the range is empty, else inclusive 0-based (start, end).
fn rank_bounds(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    }
    .max(0);
    let end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// Elements at ranks `start..=end` counted from the low end (or, with
/// `reverse`, from the high end), in that order.
fn rank_entries(zset: &ZSet, start: usize, end: usize, reverse: bool) -> Vec<(Bytes, f64)> {
    let count = end - start + 1;
    let first = if reverse {
        zset.len() - 1 - start
    } else {
        start
    };
    let mut entries = Vec::with_capacity(count);
    zset.walk(first, reverse, |member, score| {
        entries.push((Bytes::copy_from_slice(member), score));
        entries.len() < count
    });
    entries
}

/// How ZRANGE's `min` and `max` are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// A parsed interval, ready to query.
enum Query {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// ZRANGE-family options after `key min max`, as `zrangeGenericCommand`
/// parses them: `kind`/`reverse` are `None` when the command lets
/// BYSCORE/BYLEX/REV choose them.
struct RangeOptions {
    kind: RangeKind,
    reverse: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

fn parse_range_options(
    args: &mut Args,
    store: bool,
    kind: Option<RangeKind>,
    reverse: Option<bool>,
) -> Result<RangeOptions, CommandError> {
    let (mut kind_given, mut reverse_given) = (kind, reverse);
    let (mut withscores, mut offset, mut limit) = (false, 0, -1);
    while let Some(word) = args.peek().map(|w| w.to_ascii_lowercase()) {
        match word.as_slice() {
            b"withscores" if !store => withscores = true,
            b"limit" if args.remaining() >= 3 => {
                args.next_bytes()?;
                offset = parse_i64(&args.next_bytes()?)?;
                limit = parse_i64(args.peek().ok_or(CommandError::Syntax)?)?;
            }
            b"rev" if reverse_given.is_none() => reverse_given = Some(true),
            b"bylex" if kind_given.is_none() => kind_given = Some(RangeKind::Lex),
            b"byscore" if kind_given.is_none() => kind_given = Some(RangeKind::Score),
            _ => return Err(CommandError::Syntax),
        }
        args.next_bytes()?;
    }
    let kind = kind_given.unwrap_or(RangeKind::Rank);
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CommandError::Static(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CommandError::Static(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(RangeOptions {
        kind,
        reverse: reverse_given.unwrap_or(false),
        withscores,
        offset,
        limit,
    })
}

/// ZRANGE, ZRANGESTORE and the legacy range commands: argv from the source
/// key on is `key min max [options]`; `destination` is ZRANGESTORE's.
fn range_generic(
    ctx: &mut Ctx<'_>,
    args: &mut Args,
    destination: Option<Bytes>,
    kind: Option<RangeKind>,
    reverse: Option<bool>,
) -> CommandResult {
    let key = args.next_bytes()?;
    let mut min = args.next_bytes()?;
    let mut max = args.next_bytes()?;
    let options = parse_range_options(args, destination.is_some(), kind, reverse)?;
    if options.reverse && options.kind != RangeKind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let query = match options.kind {
        RangeKind::Rank => Query::Rank(parse_i64(&min)?, parse_i64(&max)?),
        RangeKind::Score => Query::Score(ScoreRange::parse(&min, &max)?),
        RangeKind::Lex => Query::Lex(LexRange::parse(&min, &max)?),
    };
    let entries = match read_zset(ctx, &key)? {
        None => Vec::new(),
        Some(zset) => match &query {
            Query::Rank(start, end) => rank_bounds(zset.len(), *start, *end)
                .map(|(start, end)| rank_entries(zset, start, end, options.reverse))
                .unwrap_or_default(),
            Query::Score(range) => {
                interval_entries(zset, range, options.reverse, options.offset, options.limit)
            }
            Query::Lex(range) => {
                interval_entries(zset, range, options.reverse, options.offset, options.limit)
            }
        },
    };
    Ok(match destination {
        Some(destination) => store_entries(ctx, &destination, entries),
        None => scored_reply(entries, options.withscores),
    })
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// [WITHSCORES]` — array of members (with scores: see `scored_reply`).
pub(super) fn zrange(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    range_generic(ctx, args, None, None, None)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
/// — integer: how many elements were stored at `dst` (deleted when none).
pub(super) fn zrangestore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let destination = args.next_bytes()?;
    range_generic(ctx, args, Some(destination), None, None)
}

/// `ZREVRANGE key start stop [WITHSCORES]` — array, highest score first.
pub(super) fn zrevrange(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    range_generic(ctx, args, None, Some(RangeKind::Rank), Some(true))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]` — array.
pub(super) fn zrangebyscore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    range_generic(ctx, args, None, Some(RangeKind::Score), Some(false))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]` — array.
pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    range_generic(ctx, args, None, Some(RangeKind::Score), Some(true))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]` — array of members.
pub(super) fn zrangebylex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    range_generic(ctx, args, None, Some(RangeKind::Lex), Some(false))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]` — array of members.
pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    range_generic(ctx, args, None, Some(RangeKind::Lex), Some(true))
}

/// `ZCOUNT key min max` — integer: members with a score in the interval.
pub(super) fn zcount(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let range = ScoreRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    let count = read_zset(ctx, &key)?.map_or(0, |zset| interval_count(zset, &range));
    Ok(Reply::Integer(count as i64))
}

/// `ZLEXCOUNT key min max` — integer: members in the lex interval.
pub(super) fn zlexcount(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let range = LexRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    let count = read_zset(ctx, &key)?.map_or(0, |zset| interval_count(zset, &range));
    Ok(Reply::Integer(count as i64))
}

/// Removes the elements `select` picks from the sorted set under `key`;
/// replies with how many (0 if no key), deleting the key if emptied.
fn remove_selected(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    select: impl FnOnce(&ZSet) -> Vec<(Bytes, f64)>,
) -> CommandResult {
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let doomed = peek_zset(db, key, now_ms)?.map(select).unwrap_or_default();
    if doomed.is_empty() {
        return Ok(Reply::Integer(0));
    }
    if let Some(zset) = zset_for_write(db, key, now_ms)? {
        for (member, _) in &doomed {
            zset.remove(member);
        }
    }
    delete_if_empty(db, key, now_ms);
    Ok(Reply::Integer(doomed.len() as i64))
}

/// `ZREMRANGEBYRANK key start stop` — integer: members removed.
pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let start = parse_i64(&args.next_bytes()?)?;
    let end = parse_i64(&args.next_bytes()?)?;
    remove_selected(ctx, &key, |zset| {
        rank_bounds(zset.len(), start, end)
            .map(|(start, end)| rank_entries(zset, start, end, false))
            .unwrap_or_default()
    })
}

/// `ZREMRANGEBYSCORE key min max` — integer: members removed.
pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let range = ScoreRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    remove_selected(ctx, &key, |zset| {
        interval_entries(zset, &range, false, 0, -1)
    })
}

/// `ZREMRANGEBYLEX key min max` — integer: members removed.
pub(super) fn zremrangebylex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let range = LexRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    remove_selected(ctx, &key, |zset| {
        interval_entries(zset, &range, false, 0, -1)
    })
}
