//! Bitmap commands over strings (redis.io/commands/?group=bitmap).
//!
//! A bitmap is a plain `Value::String`: bit 0 is the most significant bit of
//! the first byte, and bytes past the end read as zero. Semantics, the order
//! in which arguments are checked, and error texts follow Redis 7.0.15's
//! bitops.c (checked against redis-server 7.0.15). BITFIELD's parser and
//! overflow arithmetic live in [`bitfield`].
//!
//! Offsets are chosen by clients, so every write is bounded before any
//! allocation: a bit offset whose byte index reaches `proto-max-bulk-len` is
//! refused with Redis's `ERR bit offset is not an integer or out of range`
//! (with the default 512 MB that is any offset above 2^32 - 1).
//!
//! Writes edit the stored bytes in place when no reply still shares them
//! ([`Bytes::try_into_mut`]), so SETBIT on a large bitmap costs O(1), not a
//! copy of the whole string.

mod bitfield;
#[cfg(test)]
pub(crate) mod tests;

use bytes::{Bytes, BytesMut};

use super::args::parse_i64;
use super::flags::*;
use super::strings::read_string;
use super::{Args, CommandError, CommandResult, CommandSpec, Ctx, KeySpec, MultiShard, Route};
use crate::keyspace::{parse_canonical_i64, Value};
use crate::resp::Reply;

const GROUP: &str = "bitmap";
/// Route of single-key commands: they run on the key's shard.
const KEYED: Route = Route::Keys(MultiShard::Gather);
/// BITOP's keys: the destination at argv[2], then every source key.
const BITOP_KEYS: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};

/// The family's commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::keyspace("setbit", 4, WRITE | DENYOOM, KeySpec::FIRST, KEYED, setbit).doc(
        GROUP,
        "2.2.0",
        "Sets or clears the bit at offset in the string value stored at key",
        "O(1)",
    ),
    CommandSpec::keyspace("getbit", 3, READONLY | FAST, KeySpec::FIRST, KEYED, getbit).doc(
        GROUP,
        "2.2.0",
        "Returns the bit value at offset in the string value stored at key",
        "O(1)",
    ),
    CommandSpec::keyspace("bitcount", -2, READONLY, KeySpec::FIRST, KEYED, bitcount).doc(
        GROUP,
        "2.6.0",
        "Count set bits in a string",
        "O(N)",
    ),
    CommandSpec::keyspace("bitpos", -3, READONLY, KeySpec::FIRST, KEYED, bitpos).doc(
        GROUP,
        "2.8.7",
        "Find first bit set or clear in a string",
        "O(N)",
    ),
    CommandSpec::keyspace(
        "bitop",
        -4,
        WRITE | DENYOOM,
        BITOP_KEYS,
        Route::Keys(MultiShard::Gather),
        bitop,
    )
    .doc(
        GROUP,
        "2.6.0",
        "Perform bitwise operations between strings",
        "O(N)",
    ),
    CommandSpec::keyspace(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        KeySpec::FIRST,
        KEYED,
        bitfield::bitfield,
    )
    .doc(
        GROUP,
        "3.2.0",
        "Perform arbitrary bitfield integer operations on strings",
        "O(1) for each subcommand specified",
    ),
    CommandSpec::keyspace(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        KeySpec::FIRST,
        KEYED,
        bitfield::bitfield_ro,
    )
    .doc(
        GROUP,
        "6.0.0",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        "O(1) for each subcommand specified",
    ),
];

/// `ERR bit offset is not an integer or out of range`
const OFFSET_ERROR: CommandError =
    CommandError::Static("ERR bit offset is not an integer or out of range");

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`: a canonical
/// non-negative integer whose byte index is below `proto_max_bulk_len`. With
/// `field_bits` (BITFIELD), `#n` means `n * field_bits`.
pub(crate) fn parse_bit_offset(
    arg: &[u8],
    field_bits: Option<u32>,
    proto_max_bulk_len: usize,
) -> Result<u64, CommandError> {
    let (digits, multiplier) = match (arg.split_first(), field_bits) {
        (Some((b'#', rest)), Some(bits)) => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_canonical_i64(digits)
        .and_then(|offset| offset.checked_mul(multiplier))
        .ok_or(OFFSET_ERROR)?;
    let offset = u64::try_from(offset).map_err(|_| OFFSET_ERROR)?;
    if offset >> 3 >= proto_max_bulk_len as u64 {
        return Err(OFFSET_ERROR);
    }
    Ok(offset)
}

/// Runs `edit` over the string under `key`, zero-padded to at least
/// `len_min` bytes and created if absent (Redis's
/// `lookupStringForBitCommand`); the key keeps its TTL. The caller has
/// bounded `len_min` by `proto-max-bulk-len`. The stored bytes are edited in
/// place when nothing else shares them, otherwise copied once.
pub(crate) fn edit_string<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    len_min: usize,
    edit: impl FnOnce(&mut [u8]) -> R,
) -> Result<R, CommandError> {
    assert!(
        len_min <= ctx.proto_max_bulk_len.saturating_add(8),
        "bitmap growth must be bounded by the caller"
    );
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    match db.value_mut(key, now_ms) {
        Some(Value::String(stored)) => {
            let old = std::mem::take(stored);
            let mut buffer = old
                .try_into_mut()
                .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
            if buffer.len() < len_min {
                buffer.resize(len_min, 0);
            }
            let result = edit(&mut buffer);
            *stored = buffer.freeze();
            Ok(result)
        }
        Some(_) => Err(CommandError::WrongType),
        None => {
            let mut buffer = BytesMut::zeroed(len_min);
            let result = edit(&mut buffer);
            db.insert(key, Value::String(buffer.freeze()), None);
            Ok(result)
        }
    }
}

/// The bit at `position` (0 is the MSB of the first byte); 0 past the end.
pub(crate) fn bit_at(bytes: &[u8], position: u64) -> u8 {
    let Ok(byte_index) = usize::try_from(position >> 3) else {
        return 0;
    };
    bytes
        .get(byte_index)
        .map_or(0, |byte| (byte >> (7 - (position & 7))) & 1)
}

/// `SETBIT key offset value` — integer: the bit's previous value.
///
/// Grows (zero-pads) or creates the string so the bit exists.
/// Source: redis.io/commands/setbit.
fn setbit(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let offset = parse_bit_offset(&args.next_bytes()?, None, ctx.proto_max_bulk_len)?;
    let value = args.next_bytes()?;
    let on = match parse_canonical_i64(&value) {
        Some(on @ (0 | 1)) => on as u8,
        _ => {
            return Err(CommandError::Static(
                "ERR bit is not an integer or out of range",
            ))
        }
    };
    let byte_index = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let old = edit_string(ctx, &key, byte_index + 1, |bytes| {
        let old = (bytes[byte_index] >> shift) & 1;
        bytes[byte_index] = (bytes[byte_index] & !(1 << shift)) | (on << shift);
        old
    })?;
    Ok(Reply::Integer(i64::from(old)))
}

/// `GETBIT key offset` — integer: the bit at offset (0 past the end or for
/// a missing key). Source: redis.io/commands/getbit.
fn getbit(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let offset = parse_bit_offset(&args.next_bytes()?, None, ctx.proto_max_bulk_len)?;
    let bit = read_string(ctx, &key)?.map_or(0, |bytes| bit_at(&bytes, offset));
    Ok(Reply::Integer(i64::from(bit)))
}

/// Whether a range's indexes count bytes or bits (`BYTE` | `BIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Byte,
    Bit,
}

/// Parses the optional `BYTE` | `BIT` argument; `ERR syntax error` otherwise.
fn parse_unit(arg: Option<&Bytes>) -> Result<Unit, CommandError> {
    match arg {
        None => Ok(Unit::Byte),
        Some(word) if word.eq_ignore_ascii_case(b"byte") => Ok(Unit::Byte),
        Some(word) if word.eq_ignore_ascii_case(b"bit") => Ok(Unit::Bit),
        Some(_) => Err(CommandError::Syntax),
    }
}

/// Resolves a Redis `start end` range over `total` units (negative indexes
/// count from the end, clamped to the string) into an inclusive bit range;
/// `None` when empty.
fn bit_range(start: i64, end: i64, total_bytes: usize, unit: Unit) -> Option<(u64, u64)> {
    let total = match unit {
        Unit::Byte => total_bytes as i64,
        Unit::Bit => total_bytes as i64 * 8,
    };
    let start = if start < 0 { total + start } else { start }.max(0);
    let end = if end < 0 { total + end } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        Unit::Byte => (start * 8, end * 8 + 7),
        Unit::Bit => (start, end),
    })
}

/// Number of set bits in the inclusive bit range `[first, last]`, which must
/// lie inside `bytes`.
pub(crate) fn count_bits(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    let whole: u64 = bytes[first_byte..=last_byte]
        .iter()
        .map(|byte| u64::from(byte.count_ones()))
        .sum();
    // Bits of the edge bytes that lie outside the range.
    let head_mask = !(0xffu8 >> (first & 7));
    let tail_mask = 0xffu8.checked_shr((last & 7) as u32 + 1).unwrap_or(0);
    let outside =
        (bytes[first_byte] & head_mask).count_ones() + (bytes[last_byte] & tail_mask).count_ones();
    whole - u64::from(outside)
}

/// `BITCOUNT key [start end [BYTE | BIT]]` — integer: the number of set bits
/// in the string, or in the given range (indexes in bytes by default,
/// negative from the end). Source: redis.io/commands/bitcount.
///
/// As Redis 7.0, the key is looked up first: a missing key counts 0 whatever
/// the arguments, and a non-string is WRONGTYPE before any argument error.
fn bitcount(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let Some(bytes) = read_string(ctx, &key)? else {
        return Ok(Reply::Integer(0));
    };
    let rest = args.rest();
    let range = match rest.as_slice() {
        [] => bit_range(0, -1, bytes.len(), Unit::Byte),
        [start, end, unit @ ..] if unit.len() <= 1 => {
            let (start, end) = (parse_i64(start)?, parse_i64(end)?);
            // Redis 7.0 answers 0 here before looking at BYTE | BIT.
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Integer(0));
            }
            let unit = parse_unit(unit.first())?;
            bit_range(start, end, bytes.len(), unit)
        }
        _ => return Err(CommandError::Syntax),
    };
    let count = range.map_or(0, |(first, last)| count_bits(&bytes, first, last));
    Ok(Reply::Integer(count as i64))
}

/// Position of the first bit equal to `bit` in the inclusive range
/// `[first, last]` of `bytes` (which must contain it).
pub(crate) fn find_bit(bytes: &[u8], first: u64, last: u64, bit: u8) -> Option<u64> {
    let skip = if bit == 1 { 0x00 } else { 0xff };
    let mut position = first;
    while position <= last {
        if position & 7 == 0 && position + 7 <= last {
            // A whole byte: skip it at once when it cannot hold the bit.
            let byte_index = (position >> 3) as usize;
            let whole_bytes = ((last + 1 - position) >> 3) as usize;
            let run = bytes[byte_index..byte_index + whole_bytes]
                .iter()
                .position(|&byte| byte != skip)
                .unwrap_or(whole_bytes);
            position += run as u64 * 8;
            if run == whole_bytes {
                continue;
            }
        }
        if bit_at(bytes, position) == bit {
            return Some(position);
        }
        position += 1;
    }
    None
}

/// `BITPOS key bit [start [end [BYTE | BIT]]]` — integer: the position of
/// the first bit set to `bit`, or -1. Source: redis.io/commands/bitpos.
///
/// Looking for a 0 past the last set bit: without an explicit `end` the
/// string counts as zero-padded on the right, so the answer is the first bit
/// after the range; with `end` given it is -1. A missing key is all zeros.
fn bitpos(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let bit = match args.next_i64()? {
        bit @ (0 | 1) => bit as u8,
        _ => return Err(CommandError::Static("ERR The bit argument must be 1 or 0.")),
    };
    let Some(bytes) = read_string(ctx, &key)? else {
        return Ok(Reply::Integer(if bit == 1 { -1 } else { 0 }));
    };
    let rest = args.rest();
    let (range, end_given) = match rest.as_slice() {
        [] => (bit_range(0, -1, bytes.len(), Unit::Byte), false),
        [start, more @ ..] if more.len() <= 2 => {
            let start = parse_i64(start)?;
            // Redis 7.0 checks BYTE | BIT before parsing `end`.
            let unit = parse_unit(more.get(1))?;
            let end = more.first().map(|end| parse_i64(end)).transpose()?;
            let range = bit_range(start, end.unwrap_or(-1), bytes.len(), unit);
            (range, end.is_some())
        }
        _ => return Err(CommandError::Syntax),
    };
    let Some((first, last)) = range else {
        return Ok(Reply::Integer(-1));
    };
    let position = match find_bit(&bytes, first, last, bit) {
        Some(position) => position as i64,
        None if bit == 0 && !end_given => (last + 1) as i64,
        None => -1,
    };
    Ok(Reply::Integer(position))
}

/// A BITOP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// `BITOP AND | OR | XOR | NOT destkey key [key ...]` — integer: the length
/// of the string stored at destkey (the longest source; shorter ones are
/// zero-padded). An all-empty result deletes destkey. Missing sources are
/// empty strings. Source: redis.io/commands/bitop.
fn bitop(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let name = args.next_bytes()?;
    let op = match name.to_ascii_lowercase().as_slice() {
        b"and" => BitOp::And,
        b"or" => BitOp::Or,
        b"xor" => BitOp::Xor,
        b"not" => BitOp::Not,
        _ => return Err(CommandError::Syntax),
    };
    let destination = args.next_bytes()?;
    if op == BitOp::Not && args.remaining() != 1 {
        return Err(CommandError::Static(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut sources = Vec::with_capacity(args.remaining());
    for key in args.rest() {
        sources.push(read_string(ctx, &key)?.unwrap_or_default());
    }
    let result = bitop_apply(op, &sources);
    let length = result.len();
    let now_ms = ctx.now_ms;
    if result.is_empty() {
        ctx.db().remove(&destination, now_ms);
    } else {
        ctx.db()
            .insert(&destination, Value::String(result.freeze()), None);
    }
    Ok(Reply::Integer(length as i64))
}

/// Computes BITOP over `sources` (at least one); the result is as long as
/// the longest source.
fn bitop_apply(op: BitOp, sources: &[Bytes]) -> BytesMut {
    let length = sources.iter().map(Bytes::len).max().unwrap_or(0);
    let mut result = BytesMut::zeroed(length);
    let byte_of = |source: &Bytes, index: usize| source.get(index).copied().unwrap_or(0);
    for (index, out) in result.iter_mut().enumerate() {
        let mut bytes = sources.iter().map(|source| byte_of(source, index));
        let first = bytes.next().unwrap_or(0);
        *out = match op {
            BitOp::And => bytes.fold(first, |acc, byte| acc & byte),
            BitOp::Or => bytes.fold(first, |acc, byte| acc | byte),
            BitOp::Xor => bytes.fold(first, |acc, byte| acc ^ byte),
            BitOp::Not => !first,
        };
    }
    result
}
