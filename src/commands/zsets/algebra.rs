//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD — Redis 7.0's
//! `zunionInterDiffGenericCommand`. Inputs may be sorted sets or sets (a
//! set member counts with score 1). Every input's type is checked before
//! the options are parsed, as Redis does.
//!
//! Scores aggregate exactly as Redis's: a weighted score that is NaN
//! (`inf * 0`) becomes 0; SUM turns `inf + -inf` into 0; inputs are
//! visited from the smallest to the largest (stable among equal sizes), so
//! floating-point sums add in Redis's order. Results are sorted by (score,
//! member) before they are replied or stored; a stored result is a
//! listpack when it fits, as `zsetConvertToListpackIfNeeded` decides.
//!
//! The keyspace lends one value at a time, so the intersection filters the
//! smallest input's elements through each other input in turn (O(N·K)),
//! the union folds every input into an ordered map (O(L log L)) and the
//! difference filters the first input through the others (O(N·K)).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::float::parse_score;
use super::{scored_reply, store_entries, zset_of};
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::keyspace::{Db, Value};
use crate::resp::Reply;

/// What the command computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Union,
    Inter,
    Diff,
}

/// How scores of the same member combine (AGGREGATE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    fn apply(self, target: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = target + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min => {
                if value < target {
                    value
                } else {
                    target
                }
            }
            Aggregate::Max => {
                if value > target {
                    value
                } else {
                    target
                }
            }
        }
    }
}

/// Which command is parsing: decides the options it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// ZUNION, ZINTER, ZDIFF: WITHSCORES allowed.
    Reply,
    /// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE.
    Store,
    /// ZINTERCARD: LIMIT only.
    Cardinality,
}

/// A parsed command.
struct Request {
    keys: Vec<Bytes>,
    /// Each input's size (0 when missing), in key order.
    sizes: Vec<usize>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: u64,
}

/// The input under `key`: a sorted set or a set, or nothing.
fn input<'a>(db: &'a mut Db, key: &[u8], now_ms: u64) -> Option<&'a Value> {
    db.get(key, now_ms).map(|entry| &entry.value)
}

/// Every (member, score) of an input (set members score 1).
fn input_entries(value: Option<&Value>) -> Vec<(Bytes, f64)> {
    match value {
        Some(Value::ZSet(zset)) => zset.iter().collect(),
        Some(Value::Set(set)) => set.iter().map(|member| (member, 1.0)).collect(),
        _ => Vec::new(),
    }
}

/// The score of `member` in an input, if present.
fn input_score(value: Option<&Value>, member: &[u8]) -> Option<f64> {
    match value {
        Some(Value::ZSet(zset)) => zset.score(member),
        Some(Value::Set(set)) => set.contains(member).then_some(1.0),
        _ => None,
    }
}

fn parse_request(
    ctx: &mut Ctx<'_>,
    args: &mut Args,
    operation: Operation,
    form: Form,
) -> Result<Request, CommandError> {
    let name = String::from_utf8_lossy(&args.argv()[0]).to_ascii_lowercase();
    let numkeys = args.next_i64()?;
    if numkeys < 1 {
        return Err(CommandError::Message(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CommandError::Syntax);
    }
    let keys: Vec<Bytes> = (0..numkeys)
        .map(|_| args.next_bytes())
        .collect::<Result<_, _>>()?;
    let now_ms = ctx.now_ms;
    let mut sizes = Vec::with_capacity(keys.len());
    for key in &keys {
        let size = match ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value) {
            None => 0,
            Some(Value::Set(set)) => set.len(),
            other => zset_of(other)?.map_or(0, |zset| zset.len()),
        };
        sizes.push(size);
    }
    let mut request = Request {
        weights: vec![1.0; keys.len()],
        keys,
        sizes,
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    parse_options(args, &mut request, operation, form)?;
    Ok(request)
}

fn parse_options(
    args: &mut Args,
    request: &mut Request,
    operation: Operation,
    form: Form,
) -> Result<(), CommandError> {
    let scoring = operation != Operation::Diff && form != Form::Cardinality;
    while let Some(word) = args.peek().map(|w| w.to_ascii_lowercase()) {
        let remaining = args.remaining();
        args.next_bytes()?;
        match word.as_slice() {
            b"weights" if scoring && remaining > request.keys.len() => {
                for weight in request.weights.iter_mut() {
                    *weight = parse_score(&args.next_bytes()?)
                        .ok_or(CommandError::Static("ERR weight value is not a float"))?;
                }
            }
            b"aggregate" if scoring && remaining >= 2 => {
                request.aggregate = match args.next_bytes()?.to_ascii_lowercase().as_slice() {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => return Err(CommandError::Syntax),
                };
            }
            b"withscores" if form == Form::Reply => request.withscores = true,
            b"limit" if form == Form::Cardinality && remaining >= 2 => {
                let negative = CommandError::Static("ERR LIMIT can't be negative");
                let limit = args.next_i64().map_err(|_| negative.clone())?;
                request.limit = u64::try_from(limit).map_err(|_| negative)?;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok(())
}

/// Input indexes from the smallest to the largest (stable).
fn by_size(request: &Request) -> Vec<usize> {
    let mut order: Vec<usize> = (0..request.keys.len()).collect();
    order.sort_by_key(|&index| request.sizes[index]);
    order
}

/// The intersection with aggregated scores, unsorted; stops at `limit`
/// members when `limit` > 0 (ZINTERCARD).
fn intersection(ctx: &mut Ctx<'_>, request: &Request, limit: u64) -> Vec<(Bytes, f64)> {
    let order = by_size(request);
    if request.sizes[order[0]] == 0 {
        return Vec::new();
    }
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let first = order[0];
    let mut entries: Vec<(Bytes, f64)> = input_entries(input(db, &request.keys[first], now_ms))
        .into_iter()
        .map(|(member, score)| {
            let weighted = request.weights[first] * score;
            (member, if weighted.is_nan() { 0.0 } else { weighted })
        })
        .collect();
    for &index in &order[1..] {
        let value = input(db, &request.keys[index], now_ms);
        entries.retain_mut(|(member, score)| match input_score(value, member) {
            Some(other) => {
                *score = request
                    .aggregate
                    .apply(*score, other * request.weights[index]);
                true
            }
            None => false,
        });
    }
    if limit > 0 {
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    entries
}

fn union(ctx: &mut Ctx<'_>, request: &Request) -> Vec<(Bytes, f64)> {
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let mut accumulator: BTreeMap<Bytes, f64> = BTreeMap::new();
    for index in by_size(request) {
        for (member, score) in input_entries(input(db, &request.keys[index], now_ms)) {
            let weighted = request.weights[index] * score;
            let weighted = if weighted.is_nan() { 0.0 } else { weighted };
            accumulator
                .entry(member)
                .and_modify(|total| *total = request.aggregate.apply(*total, weighted))
                .or_insert(weighted);
        }
    }
    accumulator.into_iter().collect()
}

fn difference(ctx: &mut Ctx<'_>, request: &Request) -> Vec<(Bytes, f64)> {
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let mut entries = input_entries(input(db, &request.keys[0], now_ms));
    for key in &request.keys[1..] {
        if entries.is_empty() {
            break;
        }
        let value = input(db, key, now_ms);
        entries.retain(|(member, _)| input_score(value, member).is_none());
    }
    entries
}

/// Runs the operation and sorts the result by (score, member).
fn compute(ctx: &mut Ctx<'_>, request: &Request, operation: Operation) -> Vec<(Bytes, f64)> {
    let mut entries = match operation {
        Operation::Union => union(ctx, request),
        Operation::Inter => intersection(ctx, request, 0),
        Operation::Diff => difference(ctx, request),
    };
    entries.sort_by(|(a, x), (b, y)| {
        x.partial_cmp(y)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.cmp(b))
    });
    entries
}

fn reply_form(ctx: &mut Ctx<'_>, args: &mut Args, operation: Operation) -> CommandResult {
    let request = parse_request(ctx, args, operation, Form::Reply)?;
    let entries = compute(ctx, &request, operation);
    Ok(scored_reply(entries, request.withscores))
}

fn store_form(ctx: &mut Ctx<'_>, args: &mut Args, operation: Operation) -> CommandResult {
    let destination = args.next_bytes()?;
    let request = parse_request(ctx, args, operation, Form::Store)?;
    let entries = compute(ctx, &request, operation);
    Ok(store_entries(ctx, &destination, entries))
}

/// `ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
/// [WITHSCORES]` — array of the union's members by ascending score.
pub(super) fn zunion(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    reply_form(ctx, args, Operation::Union)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
/// [WITHSCORES]` — array of the intersection's members by ascending score.
pub(super) fn zinter(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    reply_form(ctx, args, Operation::Inter)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]` — array of the first input's
/// members found in no other input, by ascending score.
pub(super) fn zdiff(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    reply_form(ctx, args, Operation::Diff)
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...]
/// [AGGREGATE SUM|MIN|MAX]` — integer: the stored result's size.
pub(super) fn zunionstore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    store_form(ctx, args, Operation::Union)
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...]
/// [AGGREGATE SUM|MIN|MAX]` — integer: the stored result's size.
pub(super) fn zinterstore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    store_form(ctx, args, Operation::Inter)
}

/// `ZDIFFSTORE destination numkeys key [key ...]` — integer: the stored
/// result's size.
pub(super) fn zdiffstore(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    store_form(ctx, args, Operation::Diff)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]` — integer: the size of
/// the intersection, counting at most `limit` (0: no limit).
pub(super) fn zintercard(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let request = parse_request(ctx, args, Operation::Inter, Form::Cardinality)?;
    let entries = intersection(ctx, &request, request.limit);
    Ok(Reply::Integer(entries.len() as i64))
}
