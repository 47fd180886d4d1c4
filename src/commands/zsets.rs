//! Sorted set commands (redis.io/commands/?group=sorted-set).
//!
//! Values are `Value::ZSet` ([`crate::keyspace::zset::ZSet`]: listpack or
//! skiplist, as Redis 7.0). Semantics, the order of argument checks and
//! error texts follow Redis 7.0's t_zset.c: this file holds the table and
//! the single-member commands (ZADD, ZINCRBY, ZREM, ZSCORE, ZRANK, ...);
//! [`ranges`] the interval queries (ZRANGE and friends, ZCOUNT, ZREMRANGEBY*),
//! [`algebra`] ZUNION/ZINTER/ZDIFF and their STORE forms, [`pop`] ZPOPMIN,
//! ZPOPMAX, ZMPOP, ZRANDMEMBER and ZSCAN, and [`float`] the `strtod`-exact
//! number parsing. Multi-key commands are routed `Gather`.
//!
//! Known deviation — RESP3 shapes of scored replies: Redis 7 sends RESP3
//! clients `[member, score]` pairs (nested arrays) for ZRANGE ... WITHSCORES,
//! ZPOPMIN/ZPOPMAX with a count, ZRANDMEMBER ... WITHSCORES and
//! ZUNION/ZINTER/ZDIFF ... WITHSCORES, and a flat array to RESP2 clients.
//! Handlers do not know the connection's protocol (`Ctx` does not carry
//! it and `Reply` has no "pairs" variant), so [`scored_reply`] — the one
//! place that builds these — sends the RESP2 shape to both for now. ZMPOP,
//! whose shape is nested in both protocols, matches exactly.
//!
//! Empty sorted sets are never stored: a command that empties one deletes
//! the key.

mod algebra;
mod float;
mod pop;
mod ranges;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use super::flags::*;
use super::sets::{db_and_rng, keys_after_numkeys, keys_after_numkeys_at_1};
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::zset::ZSet;
use crate::keyspace::{Db, Value};
use crate::resp::Reply;
use float::parse_score_or_error;

const GROUP: &str = "sorted-set";
/// Route of every sorted set command: single-key ones run on the key's
/// shard; multi-key ones gather their keys to one shard.
const KEYED: Route = Route::Keys(MultiShard::Gather);

const RANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const STORE_COMPLEXITY: &str = "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";

/// Sorted set commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("zadd", -4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, zadd)
        .doc(GROUP, "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    CommandSpec::keyspace("zincrby", 4, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, zincrby)
        .doc(GROUP, "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set."),
    CommandSpec::keyspace("zrem", -3, WRITE | FAST, KeySpec::FIRST, KEYED, zrem)
        .doc(GROUP, "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    CommandSpec::keyspace("zcard", 2, READONLY | FAST, KeySpec::FIRST, KEYED, zcard)
        .doc(GROUP, "1.2.0", "Get the number of members in a sorted set", "O(1)"),
    CommandSpec::keyspace("zscore", 3, READONLY | FAST, KeySpec::FIRST, KEYED, zscore)
        .doc(GROUP, "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)"),
    CommandSpec::keyspace("zmscore", -3, READONLY | FAST, KeySpec::FIRST, KEYED, zmscore)
        .doc(GROUP, "6.2.0", "Get the score associated with the given members in a sorted set", "O(N) where N is the number of members being requested."),
    CommandSpec::keyspace("zrank", 3, READONLY | FAST, KeySpec::FIRST, KEYED, zrank)
        .doc(GROUP, "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))"),
    CommandSpec::keyspace("zrevrank", 3, READONLY | FAST, KeySpec::FIRST, KEYED, zrevrank)
        .doc(GROUP, "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))"),
    CommandSpec::keyspace("zcount", 4, READONLY | FAST, KeySpec::FIRST, KEYED, ranges::zcount)
        .doc(GROUP, "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set."),
    CommandSpec::keyspace("zlexcount", 4, READONLY | FAST, KeySpec::FIRST, KEYED, ranges::zlexcount)
        .doc(GROUP, "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set."),
    CommandSpec::keyspace("zrange", -4, READONLY, KeySpec::FIRST, KEYED, ranges::zrange)
        .doc(GROUP, "1.2.0", "Return a range of members in a sorted set", RANGE_COMPLEXITY),
    CommandSpec::keyspace("zrangestore", -5, WRITE | DENYOOM, KeySpec::TWO, KEYED, ranges::zrangestore)
        .doc(GROUP, "6.2.0", "Store a range of members from sorted set into another key", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    CommandSpec::keyspace("zrangebyscore", -4, READONLY, KeySpec::FIRST, KEYED, ranges::zrangebyscore)
        .doc(GROUP, "1.0.5", "Return a range of members in a sorted set, by score", RANGE_COMPLEXITY),
    CommandSpec::keyspace("zrevrangebyscore", -4, READONLY, KeySpec::FIRST, KEYED, ranges::zrevrangebyscore)
        .doc(GROUP, "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", RANGE_COMPLEXITY),
    CommandSpec::keyspace("zrangebylex", -4, READONLY, KeySpec::FIRST, KEYED, ranges::zrangebylex)
        .doc(GROUP, "2.8.9", "Return a range of members in a sorted set, by lexicographical range", RANGE_COMPLEXITY),
    CommandSpec::keyspace("zrevrangebylex", -4, READONLY, KeySpec::FIRST, KEYED, ranges::zrevrangebylex)
        .doc(GROUP, "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", RANGE_COMPLEXITY),
    CommandSpec::keyspace("zrevrange", -4, READONLY, KeySpec::FIRST, KEYED, ranges::zrevrange)
        .doc(GROUP, "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", RANGE_COMPLEXITY),
    CommandSpec::keyspace("zremrangebyrank", 4, WRITE, KeySpec::FIRST, KEYED, ranges::zremrangebyrank)
        .doc(GROUP, "2.0.0", "Remove all members in a sorted set within the given indexes", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    CommandSpec::keyspace("zremrangebyscore", 4, WRITE, KeySpec::FIRST, KEYED, ranges::zremrangebyscore)
        .doc(GROUP, "1.2.0", "Remove all members in a sorted set within the given scores", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    CommandSpec::keyspace("zremrangebylex", 4, WRITE, KeySpec::FIRST, KEYED, ranges::zremrangebylex)
        .doc(GROUP, "2.8.9", "Remove all members in a sorted set between the given lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    CommandSpec::keyspace("zpopmin", -2, WRITE | FAST, KeySpec::FIRST, KEYED, pop::zpopmin)
        .doc(GROUP, "5.0.0", "Remove and return members with the lowest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::keyspace("zpopmax", -2, WRITE | FAST, KeySpec::FIRST, KEYED, pop::zpopmax)
        .doc(GROUP, "5.0.0", "Remove and return members with the highest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::keyspace("zmpop", -4, WRITE, KeySpec::NONE, KEYED, pop::zmpop)
        .with_key_finder(keys_after_numkeys_at_1)
        .doc(GROUP, "7.0.0", "Remove and return members with scores in a sorted set", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::keyspace("zrandmember", -2, READONLY, KeySpec::FIRST, KEYED, pop::zrandmember)
        .doc(GROUP, "6.2.0", "Get one or multiple random elements from a sorted set", "O(N) where N is the number of elements returned"),
    CommandSpec::keyspace("zscan", -3, READONLY, KeySpec::FIRST, KEYED, pop::zscan)
        .doc(GROUP, "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    CommandSpec::keyspace("zunion", -3, READONLY, KeySpec::NONE, KEYED, algebra::zunion)
        .with_key_finder(keys_after_numkeys_at_1)
        .doc(GROUP, "6.2.0", "Add multiple sorted sets", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    CommandSpec::keyspace("zinter", -3, READONLY, KeySpec::NONE, KEYED, algebra::zinter)
        .with_key_finder(keys_after_numkeys_at_1)
        .doc(GROUP, "6.2.0", "Intersect multiple sorted sets", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    CommandSpec::keyspace("zdiff", -3, READONLY, KeySpec::NONE, KEYED, algebra::zdiff)
        .with_key_finder(keys_after_numkeys_at_1)
        .doc(GROUP, "6.2.0", "Subtract multiple sorted sets", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    CommandSpec::keyspace("zintercard", -3, READONLY, KeySpec::NONE, KEYED, algebra::zintercard)
        .with_key_finder(keys_after_numkeys_at_1)
        .doc(GROUP, "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    CommandSpec::keyspace("zunionstore", -4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, algebra::zunionstore)
        .with_key_finder(destination_then_numkeys)
        .doc(GROUP, "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", STORE_COMPLEXITY),
    CommandSpec::keyspace("zinterstore", -4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, algebra::zinterstore)
        .with_key_finder(destination_then_numkeys)
        .doc(GROUP, "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    CommandSpec::keyspace("zdiffstore", -4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, algebra::zdiffstore)
        .with_key_finder(destination_then_numkeys)
        .doc(GROUP, "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
];

/// Key finder of `<command> destination numkeys key [key ...] ...`
/// (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE): the destination, then the
/// `numkeys` keys (none of them when `numkeys` is invalid).
fn destination_then_numkeys(argv: &[Bytes]) -> Vec<usize> {
    let mut keys = Vec::new();
    if argv.len() > 1 {
        keys.push(1);
    }
    keys.extend(keys_after_numkeys(argv, 2));
    keys
}

/// The sorted set in `value`: `Ok(None)` if absent, WRONGTYPE if another type.
fn zset_of(value: Option<&Value>) -> Result<Option<&ZSet>, CommandError> {
    match value {
        None => Ok(None),
        Some(Value::ZSet(zset)) => Ok(Some(zset)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// The sorted set under `key` for a read (counts a keyspace hit or miss,
/// Redis's `lookupKeyRead`).
pub(crate) fn read_zset<'a>(
    ctx: &'a mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'a ZSet>, CommandError> {
    let now_ms = ctx.now_ms;
    zset_of(ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value))
}

/// The sorted set under `key` without counting a hit or miss and without
/// marking it modified: for the checks a write makes before deciding to
/// change anything (WATCH is only invalidated by real changes).
fn peek_zset<'a>(
    db: &'a mut Db,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a ZSet>, CommandError> {
    zset_of(db.get(key, now_ms).map(|entry| &entry.value))
}

/// The sorted set under `key` for a write (no hit/miss counted; marks the
/// key modified, so call it only once a change is certain).
fn zset_for_write<'a>(
    db: &'a mut Db,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a mut ZSet>, CommandError> {
    match db.value_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::ZSet(zset)) => Ok(Some(zset)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// Deletes `key` if it holds an empty sorted set (after a removal).
fn delete_if_empty(db: &mut Db, key: &[u8], now_ms: u64) {
    if matches!(db.get(key, now_ms).map(|entry| &entry.value), Some(Value::ZSet(zset)) if zset.is_empty())
    {
        db.remove(key, now_ms);
    }
}

/// Stores a result built whole under `destination` (listpack if it fits),
/// or deletes `destination` when there is nothing to store; replies with
/// the stored size (the STORE commands' reply).
fn store_entries(ctx: &mut Ctx<'_>, destination: &[u8], entries: Vec<(Bytes, f64)>) -> Reply {
    let now_ms = ctx.now_ms;
    let size = entries.len();
    if entries.is_empty() {
        ctx.db().remove(destination, now_ms);
        return Reply::Integer(0);
    }
    let (db, rng) = db_and_rng(ctx);
    let zset = ZSet::from_entries(entries, rng);
    db.insert(destination, Value::ZSet(Box::new(zset)), None);
    Reply::Integer(size as i64)
}

/// Members, each followed by its score (a double) when `withscores`: the
/// RESP2 shape of every scored reply (see the module doc for RESP3).
fn scored_reply(entries: Vec<(Bytes, f64)>, withscores: bool) -> Reply {
    if withscores {
        // RESP3 clients get [member, score] pairs, RESP2 a flat array.
        let pairs = entries
            .into_iter()
            .map(|(member, score)| (Reply::Bulk(member), Reply::Double(score)));
        return Reply::Pairs(pairs.collect());
    }
    Reply::Array(
        entries
            .into_iter()
            .map(|(member, _)| Reply::Bulk(member))
            .collect(),
    )
}

/// A flat member, score, ... array in both protocols (ZPOPMIN without a
/// count, as Redis 7.0 replies).
fn flat_scored_reply(entries: Vec<(Bytes, f64)>) -> Reply {
    let items = entries
        .into_iter()
        .flat_map(|(member, score)| [Reply::Bulk(member), Reply::Double(score)]);
    Reply::Array(items.collect())
}

/// ZADD's options (Redis's `ZADD_IN_*` flags and CH).
#[derive(Clone, Copy, Debug, Default)]
struct ZaddOptions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What applying one score-member pair did (Redis's `ZADD_OUT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Added,
    Updated,
    /// Processed, but the score was already that value.
    Unchanged,
    /// Skipped by NX, XX, GT or LT.
    Skipped,
}

/// Parses ZADD's option words (any order, repeats allowed) and checks the
/// pairs that follow, in Redis's order of checks.
fn parse_zadd(
    args: &mut Args,
    incr: bool,
) -> Result<(ZaddOptions, Vec<(f64, Bytes)>), CommandError> {
    let mut options = ZaddOptions {
        incr,
        ..ZaddOptions::default()
    };
    while let Some(word) = args.peek() {
        let flag = match word.to_ascii_lowercase().as_slice() {
            b"nx" => &mut options.nx,
            b"xx" => &mut options.xx,
            b"gt" => &mut options.gt,
            b"lt" => &mut options.lt,
            b"ch" => &mut options.ch,
            b"incr" => &mut options.incr,
            _ => break,
        };
        *flag = true;
        args.next_bytes()?;
    }
    let rest = args.rest();
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(CommandError::Syntax);
    }
    if options.nx && options.xx {
        return Err(CommandError::Static(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (options.gt || options.lt) && options.nx || options.gt && options.lt {
        return Err(CommandError::Static(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if options.incr && rest.len() > 2 {
        return Err(CommandError::Static(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest
        .chunks(2)
        .map(|pair| Ok((parse_score_or_error(&pair[0])?, pair[1].clone())))
        .collect::<Result<_, CommandError>>()?;
    Ok((options, pairs))
}

/// Applies one pair as Redis's `zsetAdd`; returns the outcome and the
/// member's score afterwards.
fn apply_pair(
    zset: &mut ZSet,
    options: ZaddOptions,
    score: f64,
    member: &[u8],
    rng: &mut dyn rand::RngCore,
) -> Result<(Outcome, f64), CommandError> {
    let Some(current) = zset.score(member) else {
        if options.xx {
            return Ok((Outcome::Skipped, score));
        }
        zset.set_score(member, score, rng);
        return Ok((Outcome::Added, score));
    };
    if options.nx {
        return Ok((Outcome::Skipped, current));
    }
    let new = if options.incr { current + score } else { score };
    if new.is_nan() {
        return Err(CommandError::Static(
            "ERR resulting score is not a number (NaN)",
        ));
    }
    if options.lt && new >= current || options.gt && new <= current {
        return Ok((Outcome::Skipped, current));
    }
    if new == current {
        return Ok((Outcome::Unchanged, new));
    }
    zset.set_score(member, new, rng);
    Ok((Outcome::Updated, new))
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]` —
/// integer: members added (with CH: added or updated); with INCR, the
/// member's new score as a double, or null if NX/XX/GT/LT skipped it.
fn zadd(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    zadd_generic(ctx, args, false)
}

/// `ZINCRBY key increment member` — the member's new score (a double).
/// Runs through ZADD's parser with INCR, as Redis does.
fn zincrby(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    zadd_generic(ctx, args, true)
}

fn zadd_generic(ctx: &mut Ctx<'_>, args: &mut Args, incr: bool) -> CommandResult {
    let key = args.next_bytes()?;
    let (options, pairs) = parse_zadd(args, incr)?;
    let now_ms = ctx.now_ms;
    let (db, rng) = db_and_rng(ctx);
    let exists = {
        let existing = peek_zset(db, &key, now_ms)?;
        if let Some(reply) = unchanged_reply(existing, options, &pairs)? {
            return Ok(reply);
        }
        existing.is_some()
    };
    if !exists {
        db.insert(&key, Value::ZSet(Box::default()), None);
    }
    let (mut added, mut updated, mut processed, mut last_score) = (0, 0, 0, 0.0);
    if let Some(zset) = zset_for_write(db, &key, now_ms)? {
        for (score, member) in &pairs {
            let (outcome, score) = apply_pair(zset, options, *score, member, rng)?;
            added += i64::from(outcome == Outcome::Added);
            updated += i64::from(outcome == Outcome::Updated);
            processed += i64::from(outcome != Outcome::Skipped);
            last_score = score;
        }
    }
    Ok(zadd_reply(options, added, updated, processed, last_score))
}

fn zadd_reply(
    options: ZaddOptions,
    added: i64,
    updated: i64,
    processed: i64,
    last_score: f64,
) -> Reply {
    match (options.incr, processed) {
        (true, 0) => Reply::Null,
        (true, _) => Reply::Double(last_score),
        (false, _) if options.ch => Reply::Integer(added + updated),
        (false, _) => Reply::Integer(added),
    }
}

/// ZADD's reply when no pair would change the sorted set, worked out
/// without touching it (so WATCH sees no change, as in Redis); `None` when
/// some pair would add or update a member. Exact: while every pair is a
/// no-op the set does not change, so each pair sees the same state.
fn unchanged_reply(
    zset: Option<&ZSet>,
    options: ZaddOptions,
    pairs: &[(f64, Bytes)],
) -> Result<Option<Reply>, CommandError> {
    let Some(zset) = zset else {
        return Ok(options.xx.then(|| zadd_reply(options, 0, 0, 0, 0.0)));
    };
    let (mut processed, mut last_score) = (0, 0.0);
    for (score, member) in pairs {
        let Some(current) = zset.score(member) else {
            if options.xx {
                continue;
            }
            return Ok(None);
        };
        if options.nx {
            continue;
        }
        let new = if options.incr {
            current + score
        } else {
            *score
        };
        if new.is_nan() {
            return Err(CommandError::Static(
                "ERR resulting score is not a number (NaN)",
            ));
        }
        if options.lt && new >= current || options.gt && new <= current {
            continue;
        }
        if new != current {
            return Ok(None);
        }
        processed += 1;
        last_score = new;
    }
    Ok(Some(zadd_reply(options, 0, 0, processed, last_score)))
}

/// `ZREM key member [member ...]` — integer: members removed.
fn zrem(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let present =
        peek_zset(db, &key, now_ms)?.is_some_and(|z| members.iter().any(|m| z.score(m).is_some()));
    let Some(zset) = zset_for_write(db, &key, now_ms)?.filter(|_| present) else {
        return Ok(Reply::Integer(0));
    };
    let removed = members.iter().filter(|member| zset.remove(member)).count();
    delete_if_empty(db, &key, now_ms);
    Ok(Reply::Integer(removed as i64))
}

/// `ZCARD key` — integer: the number of members (0 if no key).
fn zcard(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    Ok(Reply::Integer(
        read_zset(ctx, &key)?.map_or(0, ZSet::len) as i64
    ))
}

/// `ZSCORE key member` — the member's score (a double), or null.
fn zscore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    let score = read_zset(ctx, &key)?.and_then(|zset| zset.score(&member));
    Ok(score.map_or(Reply::Null, Reply::Double))
}

/// `ZMSCORE key member [member ...]` — array: each member's score (double)
/// or null.
fn zmscore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let zset = read_zset(ctx, &key)?;
    let scores = members
        .iter()
        .map(|member| {
            zset.and_then(|z| z.score(member))
                .map_or(Reply::Null, Reply::Double)
        })
        .collect();
    Ok(Reply::Array(scores))
}

/// `ZRANK key member` — integer: the member's 0-based rank by ascending
/// score, or null. (WITHSCORE is Redis 7.2; 7.0 refuses it by arity.)
fn zrank(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    rank_generic(ctx, args, false)
}

/// `ZREVRANK key member` — integer: the member's 0-based rank by
/// descending score, or null.
fn zrevrank(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    rank_generic(ctx, args, true)
}

fn rank_generic(ctx: &mut Ctx<'_>, args: &mut Args, reverse: bool) -> CommandResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    let Some(zset) = read_zset(ctx, &key)? else {
        return Ok(Reply::Null);
    };
    let rank = zset
        .rank(&member)
        .map(|rank| if reverse { zset.len() - 1 - rank } else { rank });
    Ok(rank.map_or(Reply::Null, |rank| Reply::Integer(rank as i64)))
}
