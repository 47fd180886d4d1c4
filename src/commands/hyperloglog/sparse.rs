//! The sparse HLL encoding, updated exactly as Redis 7.0's `hllSparseSet`
//! updates it, so GET of a small HLL returns Redis's bytes.
//!
//! Opcodes (after the 16-byte header):
//! * `ZERO`  `00xxxxxx` — 1..=64 registers set to 0;
//! * `XZERO` `01xxxxxx yyyyyyyy` — 1..=16384 registers set to 0;
//! * `VAL`   `1vvvvvxx` — 1..=4 registers set to a value of 1..=32.
//!
//! A register above 32, or an encoding that would grow past
//! [`SPARSE_BYTES_MAX`], promotes the HLL to dense.

use super::hll::{dense_set, invalidate_cache, to_dense, Corrupt, HEADER_BYTES, REGISTERS, SPARSE};

/// Largest sparse HLL before promotion to dense (bytes, header included):
/// Redis's `hll-sparse-max-bytes` default.
pub(crate) const SPARSE_BYTES_MAX: usize = 3000;
/// Largest value a VAL opcode holds.
const VAL_VALUE_MAX: u8 = 32;
/// Longest run of a VAL opcode.
const VAL_LENGTH_MAX: usize = 4;
/// Longest run of a ZERO opcode.
const ZERO_LENGTH_MAX: usize = 64;

/// An empty HLL in the sparse encoding: XZERO:16384, stale cache bit clear.
pub(crate) fn empty() -> Vec<u8> {
    let mut hll = vec![0u8; HEADER_BYTES];
    hll[..4].copy_from_slice(b"HYLL");
    hll[4] = SPARSE;
    push_zeros(&mut hll, REGISTERS);
    hll
}

/// The opcode at `position`: (run length, value, opcode bytes). A missing
/// second XZERO byte reads as 0, as Redis reads the string's terminator.
pub(crate) fn decode(opcodes: &[u8], position: usize) -> (usize, u8, usize) {
    let op = opcodes[position];
    match op & 0xc0 {
        0x00 => (usize::from(op & 0x3f) + 1, 0, 1),
        0x40 => {
            let low = opcodes.get(position + 1).copied().unwrap_or(0);
            ((usize::from(op & 0x3f) << 8 | usize::from(low)) + 1, 0, 2)
        }
        _ => (usize::from(op & 0x3) + 1, ((op >> 2) & 0x1f) + 1, 1),
    }
}

fn val(value: u8, length: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (length - 1) as u8
}

/// Appends a ZERO or XZERO opcode for `length` (1..=16384) zero registers.
fn push_zeros(out: &mut Vec<u8>, length: usize) {
    if length > ZERO_LENGTH_MAX {
        let encoded = length - 1;
        out.push(0x40 | (encoded >> 8) as u8);
        out.push((encoded & 0xff) as u8);
    } else {
        out.push((length - 1) as u8);
    }
}

/// Where an update lands: the opcode covering the register and its context.
struct Located {
    /// Offset of the opcode covering the register.
    position: usize,
    /// Offset of the opcode before it, if any.
    previous: Option<usize>,
    /// First register the opcode covers.
    first: usize,
    /// Registers it covers.
    length: usize,
    /// Its value (0 for ZERO / XZERO).
    value: u8,
    /// Its size in bytes.
    opcode_bytes: usize,
}

fn locate(hll: &[u8], index: usize) -> Result<Located, Corrupt> {
    let mut position = HEADER_BYTES;
    let mut previous = None;
    let mut first = 0;
    while position < hll.len() {
        let (length, value, opcode_bytes) = decode(hll, position);
        if index < first + length {
            let located = Located {
                position,
                previous,
                first,
                length,
                value,
                opcode_bytes,
            };
            return Ok(located);
        }
        previous = Some(position);
        position += opcode_bytes;
        first += length;
    }
    Err(Corrupt)
}

/// Raises register `index` to `count` if lower (Redis's `hllSparseSet`).
/// Returns whether it changed; `hll` may come back dense. The caller has
/// checked the header.
pub(crate) fn set(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > VAL_VALUE_MAX {
        return promote_and_set(hll, index, count);
    }
    let at = locate(hll, index)?;
    let is_val = at.value > 0;
    if is_val && at.value >= count {
        return Ok(false);
    }
    if at.length == 1 && at.opcode_bytes == 1 {
        // A VAL or ZERO covering only this register: rewrite it in place.
        hll[at.position] = val(count, 1);
    } else {
        let sequence = split(&at, index, count);
        let grown = sequence.len() as isize - at.opcode_bytes as isize;
        if grown > 0 && hll.len() + grown as usize > SPARSE_BYTES_MAX {
            return promote_and_set(hll, index, count);
        }
        let end = hll.len();
        let new_len = end.checked_add_signed(grown).ok_or(Corrupt)?;
        let tail_start = (at.position + at.opcode_bytes).min(end);
        let tail = hll.split_off(tail_start);
        hll.truncate(at.position);
        hll.extend_from_slice(&sequence);
        hll.extend_from_slice(&tail);
        // Redis's length arithmetic when a truncated XZERO ends the string.
        hll.truncate(new_len);
    }
    merge_adjacent_values(hll, at.previous.unwrap_or(HEADER_BYTES));
    invalidate_cache(hll);
    Ok(true)
}

/// The opcodes replacing the one at `at` once register `index` holds `count`.
fn split(at: &Located, index: usize, count: u8) -> Vec<u8> {
    let mut sequence = Vec::with_capacity(5);
    let last = at.first + at.length - 1;
    let before = index - at.first;
    let after = last - index;
    if at.value == 0 {
        if before > 0 {
            push_zeros(&mut sequence, before);
        }
        sequence.push(val(count, 1));
        if after > 0 {
            push_zeros(&mut sequence, after);
        }
    } else {
        if before > 0 {
            sequence.push(val(at.value, before));
        }
        sequence.push(val(count, 1));
        if after > 0 {
            sequence.push(val(at.value, after));
        }
    }
    sequence
}

/// Merges adjacent VAL opcodes of equal value, scanning at most five opcodes
/// from `position` (Redis's step 4).
fn merge_adjacent_values(hll: &mut Vec<u8>, mut position: usize) {
    let mut scans_left = 5;
    while position < hll.len() && scans_left > 0 {
        scans_left -= 1;
        let (length, value, opcode_bytes) = decode(hll, position);
        if value == 0 {
            position += opcode_bytes;
            continue;
        }
        if let Some(&next) = hll.get(position + 1) {
            if next & 0x80 != 0 {
                let (next_length, next_value, _) = decode(hll, position + 1);
                if next_value == value && length + next_length <= VAL_LENGTH_MAX {
                    hll[position + 1] = val(value, length + next_length);
                    hll.remove(position);
                    continue;
                }
            }
        }
        position += 1;
    }
}

fn promote_and_set(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    *hll = to_dense(hll)?;
    Ok(dense_set(&mut hll[HEADER_BYTES..], index, count))
}
