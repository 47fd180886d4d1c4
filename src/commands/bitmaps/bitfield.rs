//! BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits at
//! arbitrary bit offsets of a string (redis.io/commands/bitfield).
//!
//! The overflow checks reproduce Redis 7.0's `checkSignedBitfieldOverflow` /
//! `checkUnsignedBitfieldOverflow` with the same two's-complement
//! (wrapping) arithmetic, so even their corner cases (a SET value far out of
//! the type's range under `OVERFLOW SAT`) answer as Redis does.

use super::{bit_at, edit_string, parse_bit_offset};
use crate::commands::args::parse_i64;
use crate::commands::{Args, CommandError, CommandResult, Ctx};
use crate::resp::Reply;

/// What an integer that does not fit its field becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// Modular arithmetic (the default).
    Wrap,
    /// Saturate at the type's minimum or maximum.
    Sat,
    /// Leave the field unchanged and answer null.
    Fail,
}

/// A field type: `i<bits>` (1..=64) or `u<bits>` (1..=63).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

/// One BITFIELD subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// A parsed subcommand with the overflow mode in force when it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    operation: Operation,
    field_type: FieldType,
    offset: u64,
    overflow: Overflow,
}

impl Field {
    /// The last bit a write touches, or `None` for GET.
    fn last_written_bit(&self) -> Option<u64> {
        match self.operation {
            Operation::Get => None,
            Operation::Set(_) | Operation::IncrBy(_) => {
                Some(self.offset + u64::from(self.field_type.bits) - 1)
            }
        }
    }
}

/// `ERR Invalid bitfield type. ...`
const TYPE_ERROR: CommandError = CommandError::Static(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);

/// Parses `i<bits>` / `u<bits>` as Redis's `getBitfieldTypeFromArgument`.
pub(crate) fn parse_field_type(arg: &[u8]) -> Result<FieldType, CommandError> {
    let (signed, digits) = match arg.split_first() {
        Some((b'i', digits)) => (true, digits),
        Some((b'u', digits)) => (false, digits),
        _ => return Err(TYPE_ERROR),
    };
    let bits_max = if signed { 64 } else { 63 };
    match parse_i64(digits) {
        Ok(bits) if (1..=bits_max).contains(&bits) => Ok(FieldType {
            signed,
            bits: bits as u32,
        }),
        _ => Err(TYPE_ERROR),
    }
}

/// Parses every subcommand, checking arguments in Redis's order (type,
/// offset, then value). `OVERFLOW` applies to the subcommands after it.
fn parse_fields(args: &mut Args, proto_max_bulk_len: usize) -> Result<Vec<Field>, CommandError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    while let Ok(name) = args.next_bytes() {
        let name = name.to_ascii_lowercase();
        let needed = match name.as_slice() {
            b"get" => 2,
            b"set" | b"incrby" => 3,
            b"overflow" if args.remaining() >= 1 => {
                overflow = match args.next_bytes()?.to_ascii_lowercase().as_slice() {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => return Err(CommandError::Static("ERR Invalid OVERFLOW type specified")),
                };
                continue;
            }
            _ => return Err(CommandError::Syntax),
        };
        if args.remaining() < needed {
            return Err(CommandError::Syntax);
        }
        let field_type = parse_field_type(&args.next_bytes()?)?;
        let offset_arg = args.next_bytes()?;
        let offset = parse_bit_offset(&offset_arg, Some(field_type.bits), proto_max_bulk_len)?;
        let operation = match name.as_slice() {
            b"get" => Operation::Get,
            b"set" => Operation::Set(args.next_i64()?),
            _ => Operation::IncrBy(args.next_i64()?),
        };
        fields.push(Field {
            operation,
            field_type,
            offset,
            overflow,
        });
    }
    Ok(fields)
}

/// `BITFIELD key [GET type offset | [OVERFLOW WRAP | SAT | FAIL]
/// SET type offset value | INCRBY type offset increment] ...` — array with
/// one entry per GET/SET/INCRBY: the value read, the previous value (SET),
/// the new value (INCRBY), or null when `OVERFLOW FAIL` refused the write.
/// `#n` offsets are multiplied by the type's width.
/// Source: redis.io/commands/bitfield.
pub(super) fn bitfield(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    bitfield_generic(ctx, args, false)
}

/// `BITFIELD_RO key [GET type offset ...]` — array of the values read; any
/// other subcommand but OVERFLOW is refused.
/// Source: redis.io/commands/bitfield_ro.
pub(super) fn bitfield_ro(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &mut Args, read_only: bool) -> CommandResult {
    let key = args.next_bytes()?;
    let fields = parse_fields(args, ctx.proto_max_bulk_len)?;
    let Some(last_bit) = fields.iter().filter_map(Field::last_written_bit).max() else {
        let bytes = super::read_string(ctx, &key)?.unwrap_or_default();
        let replies = fields.iter().map(|field| get_reply(&bytes, field));
        return Ok(Reply::Array(replies.collect()));
    };
    if read_only {
        return Err(CommandError::Static(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    // Bounded: every offset's byte index is below proto-max-bulk-len.
    let len_min = (last_bit >> 3) as usize + 1;
    let replies = edit_string(ctx, &key, len_min, |bytes| {
        fields
            .iter()
            .map(|field| apply(bytes, field))
            .collect::<Vec<_>>()
    })?;
    Ok(Reply::Array(replies))
}

fn get_reply(bytes: &[u8], field: &Field) -> Reply {
    let raw = read_field(bytes, field.offset, field.field_type.bits);
    Reply::Integer(to_signed_if(raw, field.field_type))
}

/// Runs one subcommand over `bytes`, long enough for every write.
fn apply(bytes: &mut [u8], field: &Field) -> Reply {
    let FieldType { signed, bits } = field.field_type;
    let old = read_field(bytes, field.offset, bits);
    let (outcome, new, reply_value) = match (field.operation, signed) {
        (Operation::Get, _) => return get_reply(bytes, field),
        (Operation::Set(value), true) => {
            let (outcome, new) = signed_add(value, 0, bits, field.overflow);
            (outcome, new as u64, to_signed_if(old, field.field_type))
        }
        (Operation::Set(value), false) => {
            let (outcome, new) = unsigned_add(value as u64, 0, bits, field.overflow);
            (outcome, new, old as i64)
        }
        (Operation::IncrBy(increment), true) => {
            let old = to_signed_if(old, field.field_type);
            let (outcome, new) = signed_add(old, increment, bits, field.overflow);
            (outcome, new as u64, new)
        }
        (Operation::IncrBy(increment), false) => {
            let (outcome, new) = unsigned_add(old, increment, bits, field.overflow);
            (outcome, new, new as i64)
        }
    };
    if outcome != Outcome::InRange && field.overflow == Overflow::Fail {
        return Reply::Null;
    }
    write_field(bytes, field.offset, bits, new);
    Reply::Integer(reply_value)
}

/// Reads `bits` bits at `offset` as an unsigned integer (MSB first); bits
/// past the end read as 0.
fn read_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |value, index| {
        (value << 1) | u64::from(bit_at(bytes, offset + index))
    })
}

/// Writes the low `bits` bits of `value` at `offset` (MSB first).
fn write_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for index in 0..u64::from(bits) {
        let bit = ((value >> (u64::from(bits) - 1 - index)) & 1) as u8;
        let position = offset + index;
        let byte = &mut bytes[(position >> 3) as usize];
        let shift = 7 - (position & 7);
        *byte = (*byte & !(1 << shift)) | (bit << shift);
    }
}

/// Sign-extends a raw field of a signed type; unsigned values pass through.
fn to_signed_if(raw: u64, field_type: FieldType) -> i64 {
    let bits = field_type.bits;
    if field_type.signed && bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// Whether a result fits its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    InRange,
    Overflow,
    Underflow,
}

/// `value + increment` in an unsigned field of `bits` bits: the outcome and
/// the value to store under `mode` (Redis's `checkUnsignedBitfieldOverflow`).
pub(crate) fn unsigned_add(
    value: u64,
    increment: i64,
    bits: u32,
    mode: Overflow,
) -> (Outcome, u64) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let increment_max = max.wrapping_sub(value) as i64;
    let increment_min = value.wrapping_neg() as i64;
    let wrapped = value.wrapping_add(increment as u64) & max;
    if value > max || (increment > 0 && increment > increment_max) {
        (
            Outcome::Overflow,
            if mode == Overflow::Sat { max } else { wrapped },
        )
    } else if increment < 0 && increment < increment_min {
        (
            Outcome::Underflow,
            if mode == Overflow::Sat { 0 } else { wrapped },
        )
    } else {
        (Outcome::InRange, value.wrapping_add(increment as u64))
    }
}

/// `value + increment` in a signed field of `bits` bits: the outcome and the
/// value to store under `mode` (Redis's `checkSignedBitfieldOverflow`).
pub(crate) fn signed_add(value: i64, increment: i64, bits: u32, mode: Overflow) -> (Outcome, i64) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let increment_max = (max as u64).wrapping_sub(value as u64) as i64;
    let increment_min = min.wrapping_sub(value);
    let narrow = bits != 64;
    let wrapped = {
        let sum = (value as u64).wrapping_add(increment as u64);
        if bits < 64 {
            let high = u64::MAX << bits;
            if sum & (1 << (bits - 1)) != 0 {
                sum | high
            } else {
                sum & !high
            }
        } else {
            sum
        }
    } as i64;
    if value > max
        || (narrow && increment > increment_max)
        || (value >= 0 && increment > 0 && increment > increment_max)
    {
        (
            Outcome::Overflow,
            if mode == Overflow::Sat { max } else { wrapped },
        )
    } else if value < min
        || (narrow && increment < increment_min)
        || (value < 0 && increment < 0 && increment < increment_min)
    {
        (
            Outcome::Underflow,
            if mode == Overflow::Sat { min } else { wrapped },
        )
    } else {
        (Outcome::InRange, value.wrapping_add(increment))
    }
}
