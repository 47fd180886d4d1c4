//! SORT and SORT_RO (redis.io/commands/sort), as Redis 7.0's sort.c.
//!
//! The elements of a list, set or sorted set are sorted numerically (as
//! `strtod` reads them) or, with `ALPHA`, as strings; `BY pattern` sorts by
//! other keys' values and `GET pattern` returns them (see [`pattern`]).
//! `BY` with a pattern holding no `*` skips sorting.
//!
//! Sharding: BY and GET patterns name other keys, and a handler only sees
//! the keys of the shard it runs on. Like Redis Cluster (which refuses BY and
//! GET patterns outright), corekv answers them only for keys on the same
//! shard as the sorted key — use a `{hash tag}` shared by the key and its
//! pattern (`SORT {u}ids BY {u}weight_*`). When `STORE` names a key on
//! another shard, the command is gathered to one shard with only its two
//! keys, so pattern lookups see neither shard's other keys. `BY nosort` works
//! everywhere.
//!
//! Deviations from Redis, both unobservable with the default C locale and
//! plain text: ALPHA without STORE compares bytes (Redis uses `strcoll`, so
//! the server's locale could order non-ASCII text differently), and ties
//! between equal ALPHA sort keys keep the collection's order (Redis's
//! partial quicksort for `BY ... LIMIT` may not).

mod pattern;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::list::{End, List};
use crate::keyspace::Value;
use crate::resp::Reply;
use pattern::{lookup_by_pattern, parse_score};

const GROUP: &str = "generic";
const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";
/// With STORE the destination may live on another shard: gather both keys.
const GATHERED: Route = Route::Keys(MultiShard::Gather);

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("sort", -2, WRITE | DENYOOM, KeySpec::FIRST, GATHERED, sort)
        .with_key_finder(sort_keys)
        .doc(
            GROUP,
            "1.0.0",
            "Sort the elements in a list, set or sorted set",
            COMPLEXITY,
        ),
    CommandSpec::keyspace("sort_ro", -2, READONLY, KeySpec::FIRST, GATHERED, sort_ro).doc(
        GROUP,
        "7.0.0",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        COMPLEXITY,
    ),
];

/// SORT's keys: the sorted key and the last `STORE` destination, found as
/// Redis's `sortGetKeys` finds them (LIMIT skips two arguments, GET and BY
/// one).
fn sort_keys(argv: &[Bytes]) -> Vec<usize> {
    let mut keys = Vec::with_capacity(2);
    if argv.len() > 1 {
        keys.push(1);
    }
    let mut store = None;
    let mut index = 2;
    while index < argv.len() {
        let word = &argv[index];
        if word.eq_ignore_ascii_case(b"limit") {
            index += 2;
        } else if word.eq_ignore_ascii_case(b"store") && index + 1 < argv.len() {
            store = Some(index + 1);
        } else if word.eq_ignore_ascii_case(b"get") || word.eq_ignore_ascii_case(b"by") {
            index += 1;
        }
        index += 1;
    }
    keys.extend(store);
    keys
}

/// SORT's options.
#[derive(Debug, Default)]
struct SortOptions {
    descending: bool,
    alpha: bool,
    /// `LIMIT offset count`.
    limit: Option<(i64, i64)>,
    store: Option<Bytes>,
    by: Option<Bytes>,
    get: Vec<Bytes>,
    /// A `BY` pattern without `*`: keep the collection's order.
    dont_sort: bool,
}

/// Parses the options after the key as Redis's `sortCommandGeneric`: STORE
/// is a syntax error for SORT_RO, and options may repeat.
fn parse_options(args: &mut Args, read_only: bool) -> Result<SortOptions, CommandError> {
    let mut options = SortOptions::default();
    while let Ok(word) = args.next_bytes() {
        let left = args.remaining();
        match word.to_ascii_lowercase().as_slice() {
            b"asc" => options.descending = false,
            b"desc" => options.descending = true,
            b"alpha" => options.alpha = true,
            b"limit" if left >= 2 => options.limit = Some((args.next_i64()?, args.next_i64()?)),
            b"store" if !read_only && left >= 1 => options.store = Some(args.next_bytes()?),
            b"by" if left >= 1 => {
                let by = args.next_bytes()?;
                // Redis's strchr: the search stops at a NUL byte.
                let text = by.split(|&b| b == 0).next().unwrap_or_default();
                options.dont_sort |= !text.contains(&b'*');
                options.by = Some(by);
            }
            b"get" if left >= 1 => options.get.push(args.next_bytes()?),
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok(options)
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern
/// ...]] [ASC | DESC] [ALPHA] [STORE destination]` — array of the sorted
/// elements (or of the GET values, null where missing), or with STORE the
/// integer length of the list stored at destination (an empty result
/// deletes it). Source: redis.io/commands/sort.
fn sort(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    sort_generic(ctx, args, false)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...]
/// [ASC | DESC] [ALPHA]` — as SORT without STORE.
/// Source: redis.io/commands/sort_ro.
fn sort_ro(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    sort_generic(ctx, args, true)
}

/// The kind of collection being sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    SortedSet,
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &mut Args, read_only: bool) -> CommandResult {
    let key = args.next_bytes()?;
    let mut options = parse_options(args, read_only)?;
    let (kind, mut elements) = load_elements(ctx, &key)?;
    // Sets have no order of their own: Redis sorts them when storing.
    if options.dont_sort && kind == Kind::Set && options.store.is_some() {
        options.dont_sort = false;
        options.alpha = true;
        options.by = None;
    }
    let (start, end) = limit_range(options.limit, elements.len());
    if options.dont_sort {
        if kind != Kind::Set && options.descending {
            elements.reverse();
        }
    } else {
        elements = sort_elements(ctx, elements, &options)?;
    }
    let selected = elements.get(start..end).unwrap_or_default();
    match &options.store {
        None => Ok(Reply::Array(output(ctx, selected, &options.get))),
        Some(destination) => store(ctx, destination, selected, &options.get),
    }
}

/// The collection under `key` in its own order (list order, set iteration
/// order, sorted-set rank order); a missing key is an empty list.
fn load_elements(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<(Kind, Vec<Bytes>), CommandError> {
    let now_ms = ctx.now_ms;
    match ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value) {
        None => Ok((Kind::List, Vec::new())),
        Some(Value::List(list)) => Ok((Kind::List, list.iter().cloned().collect())),
        Some(Value::Set(set)) => Ok((Kind::Set, set.iter().collect())),
        Some(Value::ZSet(zset)) => Ok((Kind::SortedSet, zset_members_by_rank(zset))),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// A sorted set's members by rank (ascending score, then member).
fn zset_members_by_rank(zset: &crate::keyspace::zset::ZSet) -> Vec<Bytes> {
    zset.iter().map(|(member, _score)| member).collect()
}

/// The half-open range of sorted elements LIMIT selects, clamped as Redis
/// 7.0 clamps it (offset and count first bounded by the collection's size).
fn limit_range(limit: Option<(i64, i64)>, len: usize) -> (usize, usize) {
    let len = len as i64;
    let (offset, count) = limit.unwrap_or((0, -1));
    let mut start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    if end < start {
        return (0, 0);
    }
    (start as usize, end as usize + 1)
}

/// What an element sorts by.
enum SortKey {
    Score(f64),
    Text(Option<Bytes>),
}

fn sort_elements(
    ctx: &mut Ctx<'_>,
    elements: Vec<Bytes>,
    options: &SortOptions,
) -> Result<Vec<Bytes>, CommandError> {
    let mut keyed = Vec::with_capacity(elements.len());
    let mut unparsable = false;
    for element in elements {
        let by_value = match &options.by {
            Some(pattern) => lookup_by_pattern(ctx, pattern, &element),
            None => Some(element.clone()),
        };
        let sort_key = if options.alpha {
            SortKey::Text(by_value)
        } else {
            // A missing BY key sorts as 0, as in Redis.
            let score = by_value.map_or(Some(0.0), |value| parse_score(&value));
            unparsable |= score.is_none();
            SortKey::Score(score.unwrap_or(0.0))
        };
        keyed.push((sort_key, element));
    }
    if unparsable {
        return Err(CommandError::Static(
            "ERR One or more scores can't be converted into double",
        ));
    }
    keyed.sort_by(|(a_key, a), (b_key, b)| {
        let ordering = compare(a_key, a, b_key, b);
        if options.descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    Ok(keyed.into_iter().map(|(_, element)| element).collect())
}

/// Redis's `sortCompare`: scores, ties broken by the elements' bytes; or
/// text, a missing BY value first.
fn compare(a_key: &SortKey, a: &Bytes, b_key: &SortKey, b: &Bytes) -> Ordering {
    match (a_key, b_key) {
        (SortKey::Score(x), SortKey::Score(y)) => x
            .partial_cmp(y)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.cmp(b)),
        (SortKey::Text(x), SortKey::Text(y)) => x.cmp(y),
        // Never mixed: every key of one SORT has the same kind.
        (SortKey::Score(_), SortKey::Text(_)) => Ordering::Less,
        (SortKey::Text(_), SortKey::Score(_)) => Ordering::Greater,
    }
}

/// The reply's elements: each element, or each GET pattern's value.
fn output(ctx: &mut Ctx<'_>, selected: &[Bytes], get: &[Bytes]) -> Vec<Reply> {
    if get.is_empty() {
        return selected.iter().cloned().map(Reply::Bulk).collect();
    }
    // Not reserved up front: elements × patterns is chosen by the client.
    let mut replies = Vec::new();
    for element in selected {
        for pattern in get {
            let value = lookup_by_pattern(ctx, pattern, element);
            replies.push(value.map_or(Reply::Null, Reply::Bulk));
        }
    }
    replies
}

/// Stores the result as a list under `destination` (replacing any value and
/// TTL), or deletes it when empty; replies with the list's length.
fn store(
    ctx: &mut Ctx<'_>,
    destination: &[u8],
    selected: &[Bytes],
    get: &[Bytes],
) -> CommandResult {
    let mut list = List::new();
    for element in selected {
        if get.is_empty() {
            list.push(End::Tail, element.clone());
        }
        for pattern in get {
            let value = lookup_by_pattern(ctx, pattern, element).unwrap_or_default();
            list.push(End::Tail, value);
        }
    }
    let length = list.len();
    let now_ms = ctx.now_ms;
    if list.is_empty() {
        ctx.db().remove(destination, now_ms);
    } else {
        ctx.db()
            .insert(destination, Value::List(Box::new(list)), None);
    }
    Ok(Reply::Integer(length as i64))
}
