//! List commands (redis.io/commands/?group=list).
//!
//! Values are `Value::List(Box<List>)` ([`crate::keyspace::list`]). Semantics,
//! the order in which arguments and keys are checked, and error texts follow
//! Redis 7.0's t_list.c. An emptied list is deleted. Elements are copied in
//! (`Bytes::copy_from_slice`) so they never pin a network buffer.
//!
//! Lookups that only decide whether a command will write go through
//! [`Db::get`](crate::keyspace::Db::get); the mutable lookup (which WATCH
//! counts as a change) is taken only once the command is sure to modify the
//! list, so a no-op (LPUSHX on a missing key, LREM finding nothing, LPOP
//! with count 0) leaves WATCH alone, as Redis's `signalModifiedKey` does.
//!
//! Every push goes through [`push_all`], the single place a list grows:
//! blocking pops will hook their waiter wake-up there.

use bytes::Bytes;

use super::args::parse_i64;
use super::flags::*;
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::list::{resolve_index, resolve_range, End, List};
use crate::keyspace::{parse_canonical_i64, Value};
use crate::resp::Reply;

const GROUP: &str = "list";
/// Route of single-key commands: they run on the key's shard (the multi-shard mode is never used).
const KEYED: Route = Route::Keys(MultiShard::Gather);
/// Route of commands that must see all their keys at once (LMOVE, LMPOP).
const GATHERED: Route = Route::Keys(MultiShard::Gather);

/// Elements up to this size are copied into replies; larger ones are shared
/// (a shared `Bytes` keeps a small refcount header alive with the element).
const REPLY_COPY_BYTES_MAX: usize = 128;

const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const POP_COMPLEXITY: &str = "O(N) where N is the number of elements returned";

/// List commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("lpush", -3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, lpush)
        .doc(GROUP, "1.0.0", "Prepend one or multiple elements to a list", PUSH_COMPLEXITY),
    CommandSpec::keyspace("rpush", -3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, rpush)
        .doc(GROUP, "1.0.0", "Append one or multiple elements to a list", PUSH_COMPLEXITY),
    CommandSpec::keyspace("lpushx", -3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, lpushx)
        .doc(GROUP, "2.2.0", "Prepend an element to a list, only if the list exists", PUSH_COMPLEXITY),
    CommandSpec::keyspace("rpushx", -3, WRITE | DENYOOM | FAST, KeySpec::FIRST, KEYED, rpushx)
        .doc(GROUP, "2.2.0", "Append an element to a list, only if the list exists", PUSH_COMPLEXITY),
    CommandSpec::keyspace("lpop", -2, WRITE | FAST, KeySpec::FIRST, KEYED, lpop)
        .doc(GROUP, "1.0.0", "Remove and get the first elements in a list", POP_COMPLEXITY),
    CommandSpec::keyspace("rpop", -2, WRITE | FAST, KeySpec::FIRST, KEYED, rpop)
        .doc(GROUP, "1.0.0", "Remove and get the last elements in a list", POP_COMPLEXITY),
    CommandSpec::keyspace("llen", 2, READONLY | FAST, KeySpec::FIRST, KEYED, llen)
        .doc(GROUP, "1.0.0", "Get the length of a list", "O(1)"),
    CommandSpec::keyspace("lrange", 4, READONLY, KeySpec::FIRST, KEYED, lrange)
        .doc(GROUP, "1.0.0", "Get a range of elements from a list", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    CommandSpec::keyspace("lindex", 3, READONLY, KeySpec::FIRST, KEYED, lindex)
        .doc(GROUP, "1.0.0", "Get an element from a list by its index", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    CommandSpec::keyspace("lset", 4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, lset)
        .doc(GROUP, "1.0.0", "Set the value of an element in a list by its index", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    CommandSpec::keyspace("linsert", 5, WRITE | DENYOOM, KeySpec::FIRST, KEYED, linsert)
        .doc(GROUP, "2.2.0", "Insert an element before or after another element in a list", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    CommandSpec::keyspace("lrem", 4, WRITE, KeySpec::FIRST, KEYED, lrem)
        .doc(GROUP, "1.0.0", "Remove elements from a list", "O(N+M) where N is the length of the list and M is the number of elements removed."),
    CommandSpec::keyspace("ltrim", 4, WRITE, KeySpec::FIRST, KEYED, ltrim)
        .doc(GROUP, "1.0.0", "Trim a list to the specified range", "O(N) where N is the number of elements to be removed by the operation."),
    CommandSpec::keyspace("lpos", -3, READONLY, KeySpec::FIRST, KEYED, lpos)
        .doc(GROUP, "6.0.6", "Return the index of matching elements on a list", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    CommandSpec::keyspace("lmove", 5, WRITE | DENYOOM, KeySpec::TWO, GATHERED, lmove)
        .doc(GROUP, "6.2.0", "Pop an element from a list, push it to another list and return it", "O(1)"),
    CommandSpec::keyspace("rpoplpush", 3, WRITE | DENYOOM, KeySpec::TWO, GATHERED, rpoplpush)
        .doc(GROUP, "1.2.0", "Remove the last element in a list, prepend it to another list and return it", "O(1)"),
    CommandSpec::keyspace("lmpop", -4, WRITE, KeySpec::NONE, GATHERED, lmpop)
        .with_key_finder(lmpop_keys)
        .doc(GROUP, "7.0.0", "Pop elements from a list", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
];

// ---------------------------------------------------------------------------
// Lookups and the shared push/pop paths.
// ---------------------------------------------------------------------------

fn list_of(value: Option<&Value>) -> Result<Option<&List>, CommandError> {
    match value {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// The list under `key` for a command that reads it: counts a keyspace hit
/// or miss (Redis's `lookupKeyRead`). WRONGTYPE for another type.
fn read_list<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c List>, CommandError> {
    let now_ms = ctx.now_ms;
    list_of(ctx.db().get_for_read(key, now_ms).map(|entry| &entry.value))
}

/// The list under `key` for a command that may write it (Redis's
/// `lookupKeyWrite`): no hit/miss counted, no change recorded.
fn peek_list<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c List>, CommandError> {
    let now_ms = ctx.now_ms;
    list_of(ctx.db().get(key, now_ms).map(|entry| &entry.value))
}

/// The list under `key`, mutably: take it only to change it (WATCH sees a
/// change). `None` if absent; WRONGTYPE for another type.
fn list_mut<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut List>, CommandError> {
    let now_ms = ctx.now_ms;
    match ctx.db().value_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// Deletes `key` if its list became empty.
fn delete_if_empty(ctx: &mut Ctx<'_>, key: &[u8]) {
    let now_ms = ctx.now_ms;
    if matches!(peek_list(ctx, key), Ok(Some(list)) if list.is_empty()) {
        ctx.db().remove(key, now_ms);
    }
}

/// Pushes `items` (already owned copies) at `end` of the list under `key`,
/// creating it if absent; returns the new length. The one place a list
/// grows: blocking pops will be served from here.
fn push_all(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    end: End,
    items: impl IntoIterator<Item = Bytes>,
) -> Result<usize, CommandError> {
    if let Some(list) = list_mut(ctx, key)? {
        items.into_iter().for_each(|item| list.push(end, item));
        return Ok(list.len());
    }
    let mut list = List::new();
    items.into_iter().for_each(|item| list.push(end, item));
    let len = list.len();
    if len > 0 {
        ctx.db().insert(key, Value::List(Box::new(list)), None);
    }
    Ok(len)
}

/// Pops up to `count` elements from `end` of the (existing) list under
/// `key`, deleting the key if it empties.
fn pop_items(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Vec<Bytes>, CommandError> {
    let Some(list) = list_mut(ctx, key)? else {
        return Ok(Vec::new());
    };
    let taken = count.min(list.len());
    let items = (0..taken).filter_map(|_| list.pop(end)).collect();
    delete_if_empty(ctx, key);
    Ok(items)
}

/// A stored element as a reply: small ones copied, large ones shared.
fn element_reply(item: &Bytes) -> Reply {
    if item.len() <= REPLY_COPY_BYTES_MAX {
        Reply::Bulk(Bytes::copy_from_slice(item))
    } else {
        Reply::Bulk(item.clone())
    }
}

fn elements_reply(items: &[Bytes]) -> Reply {
    Reply::Array(items.iter().map(element_reply).collect())
}

/// Parses `LEFT`/`RIGHT` (`ERR syntax error` otherwise).
fn parse_end(word: &[u8]) -> Result<End, CommandError> {
    if word.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if word.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(CommandError::Syntax)
    }
}

// ---------------------------------------------------------------------------
// Push and pop.
// ---------------------------------------------------------------------------

/// `LPUSH key element [element ...]` — integer: the list's length after
/// pushing each element at the head in turn (so they end up reversed).
/// Source: redis.io/commands/lpush
fn lpush(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    push_command(ctx, args, End::Head, false)
}

/// `RPUSH key element [element ...]` — integer: the list's length after
/// appending the elements. Source: redis.io/commands/rpush
fn rpush(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    push_command(ctx, args, End::Tail, false)
}

/// `LPUSHX key element [element ...]` — integer: the length after pushing,
/// 0 (and nothing created) if the key does not exist.
/// Source: redis.io/commands/lpushx
fn lpushx(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    push_command(ctx, args, End::Head, true)
}

/// `RPUSHX key element [element ...]` — integer: the length after
/// appending, 0 if the key does not exist. Source: redis.io/commands/rpushx
fn rpushx(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    push_command(ctx, args, End::Tail, true)
}

fn push_command(
    ctx: &mut Ctx<'_>,
    args: &mut Args,
    end: End,
    only_existing: bool,
) -> CommandResult {
    let key = args.next_bytes()?;
    let items = args.rest();
    if peek_list(ctx, &key)?.is_none() && only_existing {
        return Ok(Reply::Integer(0));
    }
    let items = items.iter().map(|item| Bytes::copy_from_slice(item));
    let len = push_all(ctx, &key, end, items)?;
    Ok(Reply::Integer(len as i64))
}

/// `LPOP key [count]` — without count, the first element (null if the key
/// does not exist); with count, an array of up to `count` elements (null
/// array if the key does not exist, empty array for count 0).
/// Source: redis.io/commands/lpop
fn lpop(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    pop_command(ctx, args, End::Head, "lpop")
}

/// `RPOP key [count]` — as LPOP, from the tail. Source: redis.io/commands/rpop
fn rpop(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    pop_command(ctx, args, End::Tail, "rpop")
}

fn pop_command(ctx: &mut Ctx<'_>, args: &mut Args, end: End, name: &str) -> CommandResult {
    let key = args.next_bytes()?;
    if args.remaining() > 1 {
        return Err(CommandError::arity(name));
    }
    let count = match args.is_empty() {
        true => None,
        false => Some(parse_non_negative(
            &args.next_bytes()?,
            "ERR value is out of range, must be positive",
        )?),
    };
    if peek_list(ctx, &key)?.is_none() {
        return Ok(if count.is_some() {
            Reply::NullArray
        } else {
            Reply::Null
        });
    }
    match count {
        None => {
            let items = pop_items(ctx, &key, end, 1)?;
            Ok(items.first().map_or(Reply::Null, element_reply))
        }
        Some(0) => Ok(Reply::Array(Vec::new())),
        Some(count) => Ok(elements_reply(&pop_items(ctx, &key, end, count)?)),
    }
}

/// Parses a count in `0..=i64::MAX`; `error` (full text) for anything else,
/// as Redis's `getPositiveLongFromObjectOrReply` with a message.
fn parse_non_negative(text: &[u8], error: &'static str) -> Result<usize, CommandError> {
    match parse_canonical_i64(text) {
        Some(value) if value >= 0 => Ok(usize::try_from(value).unwrap_or(usize::MAX)),
        _ => Err(CommandError::Static(error)),
    }
}

/// `LLEN key` — integer: the list's length, 0 if the key does not exist.
/// Source: redis.io/commands/llen
fn llen(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let len = read_list(ctx, &key)?.map_or(0, List::len);
    Ok(Reply::Integer(len as i64))
}

// ---------------------------------------------------------------------------
// Indexes and ranges.
// ---------------------------------------------------------------------------

/// `LRANGE key start stop` — array of the elements from `start` to `stop`
/// inclusive (negative indexes count from the tail; out-of-range indexes
/// are clamped); empty if the key does not exist.
/// Source: redis.io/commands/lrange
fn lrange(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let Some(list) = read_list(ctx, &key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let items = match resolve_range(list.len(), start, end) {
        Some((start, end)) => list.range(start, end).map(element_reply).collect(),
        None => Vec::new(),
    };
    Ok(Reply::Array(items))
}

/// `LINDEX key index` — the element at `index` (negative counts from the
/// tail), or null if out of range or the key does not exist.
/// Source: redis.io/commands/lindex
fn lindex(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let index = args.next_bytes()?;
    // Redis looks the key up before parsing the index.
    let Some(list) = read_list(ctx, &key)? else {
        return Ok(Reply::Null);
    };
    let index = parse_i64(&index)?;
    let item = resolve_index(list.len(), index).and_then(|at| list.get(at));
    Ok(item.map_or(Reply::Null, element_reply))
}

/// `LSET key index element` — `+OK`; `ERR no such key` if the key does not
/// exist, `ERR index out of range` if `index` is outside the list.
/// Source: redis.io/commands/lset
fn lset(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let index = args.next_bytes()?;
    let item = args.next_bytes()?;
    let Some(list) = peek_list(ctx, &key)? else {
        return Err(CommandError::NoSuchKey);
    };
    let at = resolve_index(list.len(), parse_i64(&index)?)
        .ok_or(CommandError::Static("ERR index out of range"))?;
    if let Some(list) = list_mut(ctx, &key)? {
        list.set(at, Bytes::copy_from_slice(&item));
    }
    Ok(Reply::ok())
}

/// `LINSERT key BEFORE|AFTER pivot element` — integer: the length after
/// inserting, -1 if `pivot` is not in the list, 0 if the key does not exist.
/// Source: redis.io/commands/linsert
fn linsert(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let after = if args.eat_keyword("after") {
        true
    } else if args.eat_keyword("before") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    let pivot = args.next_bytes()?;
    let item = args.next_bytes()?;
    let Some(list) = peek_list(ctx, &key)? else {
        return Ok(Reply::Integer(0));
    };
    let Some(at) = list.position(&pivot) else {
        return Ok(Reply::Integer(-1));
    };
    let Some(list) = list_mut(ctx, &key)? else {
        return Ok(Reply::Integer(0));
    };
    list.insert(at + usize::from(after), Bytes::copy_from_slice(&item));
    Ok(Reply::Integer(list.len() as i64))
}

/// `LREM key count element` — integer: how many elements equal to `element`
/// were removed (`count > 0`: the first `count` from the head; `< 0`: from
/// the tail; `0`: all). Source: redis.io/commands/lrem
fn lrem(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let count = args.next_i64()?;
    let element = args.next_bytes()?;
    let Some(list) = peek_list(ctx, &key)? else {
        return Ok(Reply::Integer(0));
    };
    if list.position(&element).is_none() {
        return Ok(Reply::Integer(0));
    }
    let removed = match list_mut(ctx, &key)? {
        Some(list) => list.remove_matching(&element, count),
        None => 0,
    };
    delete_if_empty(ctx, &key);
    Ok(Reply::Integer(removed as i64))
}

/// `LTRIM key start stop` — `+OK`; keeps only the elements from `start` to
/// `stop` inclusive (indexes as LRANGE), deleting the key if none remain.
/// Source: redis.io/commands/ltrim
fn ltrim(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    if peek_list(ctx, &key)?.is_none() {
        return Ok(Reply::ok());
    }
    if let Some(list) = list_mut(ctx, &key)? {
        list.trim(resolve_range(list.len(), start, end));
    }
    delete_if_empty(ctx, &key);
    Ok(Reply::ok())
}

// ---------------------------------------------------------------------------
// LPOS.
// ---------------------------------------------------------------------------

/// LPOS options. `rank` is Redis's signed RANK (never 0).
struct LposOptions {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_lpos_options(args: &mut Args) -> Result<LposOptions, CommandError> {
    let mut options = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    while !args.is_empty() {
        let option = args.next_bytes()?;
        if args.is_empty() {
            return Err(CommandError::Syntax);
        }
        let value = args.next_bytes()?;
        if option.eq_ignore_ascii_case(b"rank") {
            options.rank = parse_i64(&value)?;
            if options.rank == 0 {
                return Err(CommandError::Static("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if option.eq_ignore_ascii_case(b"count") {
            options.count = Some(parse_non_negative(&value, "ERR COUNT can't be negative")?);
        } else if option.eq_ignore_ascii_case(b"maxlen") {
            options.maxlen = parse_non_negative(&value, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(options)
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]` —
/// without COUNT, the index of the matching element (null if none); with
/// COUNT, an array of up to `num-matches` indexes (0: all). RANK n skips
/// to the n-th match (negative: searching from the tail); MAXLEN bounds
/// the elements compared (0: no bound). Source: redis.io/commands/lpos
fn lpos(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let element = args.next_bytes()?;
    let options = parse_lpos_options(args)?;
    let Some(list) = read_list(ctx, &key)? else {
        return Ok(match options.count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Null,
        });
    };
    let matches = find_positions(list, &element, &options);
    Ok(match options.count {
        Some(_) => Reply::Array(
            matches
                .into_iter()
                .map(|at| Reply::Integer(at as i64))
                .collect(),
        ),
        None => matches
            .first()
            .map_or(Reply::Null, |&at| Reply::Integer(at as i64)),
    })
}

/// The indexes LPOS replies with (at most one without COUNT).
fn find_positions(list: &List, element: &[u8], options: &LposOptions) -> Vec<usize> {
    let len = list.len();
    let from_tail = options.rank < 0;
    // Redis negates RANK with C's wrap-around: RANK i64::MIN then matches
    // from the first hit and its COUNT never stops the search.
    let (skip, count) = match options.rank {
        i64::MIN => (0, 0),
        rank => (
            usize::try_from(rank.unsigned_abs() - 1).unwrap_or(usize::MAX),
            options.count.unwrap_or(1),
        ),
    };
    let limit = if options.maxlen == 0 {
        len
    } else {
        options.maxlen.min(len)
    };
    let ordered: Box<dyn Iterator<Item = (usize, &Bytes)>> = if from_tail {
        Box::new(list.iter().enumerate().rev())
    } else {
        Box::new(list.iter().enumerate())
    };
    let matching = ordered
        .take(limit)
        .filter(|(_, item)| item.as_ref() == element)
        .map(|(at, _)| at)
        .skip(skip);
    match count {
        0 => matching.collect(),
        count => matching.take(count).collect(),
    }
}

// ---------------------------------------------------------------------------
// Moving between lists.
// ---------------------------------------------------------------------------

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` — the element popped
/// from `source` and pushed onto `destination`, or null if `source` does
/// not exist. The same key rotates the list. Source: redis.io/commands/lmove
fn lmove(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let source = args.next_bytes()?;
    let destination = args.next_bytes()?;
    let from = parse_end(&args.next_bytes()?)?;
    let to = parse_end(&args.next_bytes()?)?;
    move_element(ctx, &source, &destination, from, to)
}

/// `RPOPLPUSH source destination` — as `LMOVE source destination RIGHT LEFT`.
/// Source: redis.io/commands/rpoplpush
fn rpoplpush(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let source = args.next_bytes()?;
    let destination = args.next_bytes()?;
    move_element(ctx, &source, &destination, End::Tail, End::Head)
}

/// Redis's `lmoveGenericCommand`: a missing source answers null before the
/// destination's type is checked; a wrong-typed destination refuses before
/// anything is popped.
fn move_element(
    ctx: &mut Ctx<'_>,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
) -> CommandResult {
    if peek_list(ctx, source)?.is_none() {
        return Ok(Reply::Null);
    }
    peek_list(ctx, destination)?;
    if source == destination {
        // Rotate in place: the key (and its TTL) survives even with one element.
        let Some(list) = list_mut(ctx, source)? else {
            return Ok(Reply::Null);
        };
        let Some(item) = list.pop(from) else {
            return Ok(Reply::Null);
        };
        list.push(to, item.clone());
        return Ok(element_reply(&item));
    }
    let Some(item) = pop_items(ctx, source, from, 1)?.pop() else {
        return Ok(Reply::Null);
    };
    push_all(ctx, destination, to, [item.clone()])?;
    Ok(element_reply(&item))
}

/// The keys of `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`:
/// argv[2..2 + numkeys], none if numkeys is invalid (the handler reports it).
fn lmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    let numkeys = argv
        .get(1)
        .and_then(|text| parse_canonical_i64(text))
        .and_then(|numkeys| usize::try_from(numkeys).ok())
        .unwrap_or(0);
    match numkeys.checked_add(2) {
        Some(end) if numkeys > 0 && end < argv.len() => (2..end).collect(),
        _ => Vec::new(),
    }
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]` — `[key,
/// [elements]]` from the first non-empty list among the keys (up to
/// `count` elements, default 1), or a null array if all are empty.
/// Source: redis.io/commands/lmpop
fn lmpop(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let numkeys = parse_positive(&args.next_bytes()?, "ERR numkeys should be greater than 0")?;
    if numkeys >= args.remaining() {
        return Err(CommandError::Syntax);
    }
    let keys: Vec<Bytes> = (0..numkeys)
        .map(|_| args.next_bytes())
        .collect::<Result<_, _>>()?;
    let end = parse_end(&args.next_bytes()?)?;
    let mut count = None;
    while !args.is_empty() {
        if count.is_none() && args.remaining() > 1 && args.eat_keyword("count") {
            let text = args.next_bytes()?;
            count = Some(parse_positive(&text, "ERR count should be greater than 0")?);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    for key in &keys {
        if peek_list(ctx, key)?.is_none() {
            continue;
        }
        let items = pop_items(ctx, key, end, count.unwrap_or(1))?;
        return Ok(Reply::Array(vec![
            Reply::Bulk(key.clone()),
            elements_reply(&items),
        ]));
    }
    Ok(Reply::NullArray)
}

/// Parses a count in `1..=i64::MAX`; `error` (full text) otherwise.
fn parse_positive(text: &[u8], error: &'static str) -> Result<usize, CommandError> {
    match parse_non_negative(text, error)? {
        0 => Err(CommandError::Static(error)),
        value => Ok(value),
    }
}

#[cfg(test)]
pub(crate) mod tests;
