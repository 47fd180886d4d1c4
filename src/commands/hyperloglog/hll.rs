//! Redis's HyperLogLog, byte for byte (Redis 7.0 hyperloglog.c).
//!
//! An HLL is a string: a 16-byte header (`HYLL`, the encoding byte, three
//! unused bytes, and the cached cardinality as a little-endian u64 whose top
//! bit marks it stale), then either the *dense* registers (16384 registers of
//! 6 bits packed LSB first, 12288 bytes) or the *sparse* run-length opcodes
//! (see [`super::sparse`]). Elements hash with MurmurHash64A (seed
//! `0xadc83b19`); the low 14 bits pick a register and the run of zeros above
//! them (plus one) is the register's candidate value. Counts use Otmar
//! Ertl's improved estimator over the register histogram, as Redis does, so
//! PFCOUNT answers exactly what Redis answers for the same elements.

/// Bits of the hash that select a register.
pub(crate) const P: u32 = 14;
/// Hash bits left for the zero run.
pub(crate) const Q: usize = 64 - P as usize;
/// Number of registers.
pub(crate) const REGISTERS: usize = 1 << P;
/// Bits per dense register.
const REGISTER_BITS: usize = 6;
/// Largest value a dense register holds.
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
/// Header bytes: magic, encoding, 3 unused, cached cardinality.
pub(crate) const HEADER_BYTES: usize = 16;
/// Total bytes of a dense HLL.
pub(crate) const DENSE_BYTES: usize = HEADER_BYTES + (REGISTERS * REGISTER_BITS).div_ceil(8);
/// Encoding byte of a dense HLL.
pub(crate) const DENSE: u8 = 0;
/// Encoding byte of a sparse HLL.
pub(crate) const SPARSE: u8 = 1;
/// Index of the encoding byte in the header.
pub(crate) const ENCODING_INDEX: usize = 4;
/// Index of the cardinality's most significant byte (its top bit: stale).
const CARD_TOP_INDEX: usize = 15;
/// 0.5 / ln(2), the estimator's constant.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// A sparse HLL whose opcodes do not cover exactly 16384 registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Corrupt;

/// True if `bytes` is a valid HLL string (Redis's `isHLLObjectOrReply`):
/// header, magic, a known encoding, and the exact dense length.
pub(crate) fn is_valid(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_BYTES
        && bytes.starts_with(b"HYLL")
        && match bytes[ENCODING_INDEX] {
            DENSE => bytes.len() == DENSE_BYTES,
            SPARSE => true,
            _ => false,
        }
}

/// The cached cardinality, if it is not marked stale.
pub(crate) fn cached_cardinality(hll: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(hll[8..16].try_into().ok()?);
    (card >> 63 == 0).then_some(card)
}

/// Stores `card` as the cached cardinality.
pub(crate) fn set_cached_cardinality(hll: &mut [u8], card: u64) {
    hll[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale (only the top bit changes, as Redis's
/// `HLL_INVALIDATE_CACHE`).
pub(crate) fn invalidate_cache(hll: &mut [u8]) {
    hll[CARD_TOP_INDEX] |= 0x80;
}

/// MurmurHash64A as Redis's (endian-neutral) copy computes it.
pub(crate) fn murmur_hash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (index, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * index);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element updates and its candidate value: one plus the
/// number of zeros above the index bits (Redis's `hllPatLen`), 1..=Q+1.
pub(crate) fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash64a(element, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Dense register `index` of `registers` (the bytes after the header).
pub(crate) fn dense_get(registers: &[u8], index: usize) -> u8 {
    let byte = index * REGISTER_BITS / 8;
    let shift = (index * REGISTER_BITS) & 7;
    let low = u16::from(registers[byte]) >> shift;
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0)) << (8 - shift);
    ((low | high) & u16::from(REGISTER_MAX)) as u8
}

/// Sets dense register `index` to `value` (at most 63).
pub(crate) fn dense_put(registers: &mut [u8], index: usize, value: u8) {
    let byte = index * REGISTER_BITS / 8;
    let shift = (index * REGISTER_BITS) & 7;
    let value = u16::from(value & REGISTER_MAX);
    let mask = u16::from(REGISTER_MAX);
    registers[byte] = ((u16::from(registers[byte]) & !(mask << shift)) | (value << shift)) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        let shift_back = 8 - shift;
        *next = ((u16::from(*next) & !(mask >> shift_back)) | (value >> shift_back)) as u8;
    }
}

/// Raises dense register `index` to `count` if lower; true if it changed.
pub(crate) fn dense_set(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(registers, index) {
        dense_put(registers, index, count);
        true
    } else {
        false
    }
}

/// Walks a sparse HLL's opcodes, calling `run(first_register, length,
/// value)` for every run. `Corrupt` unless the runs cover exactly
/// [`REGISTERS`]; a value run past the last register is refused before it
/// is visited (redis-server 7.0.15 as Debian ships it, with the
/// CVE-2025-32023 fix, refuses such values in PFCOUNT and PFMERGE).
pub(crate) fn sparse_runs(
    opcodes: &[u8],
    mut run: impl FnMut(usize, usize, u8),
) -> Result<(), Corrupt> {
    let mut index = 0usize;
    let mut position = 0;
    while position < opcodes.len() {
        let (length, value, opcode_bytes) = super::sparse::decode(opcodes, position);
        if value > 0 && index + length > REGISTERS {
            return Err(Corrupt);
        }
        run(index, length, value);
        index += length;
        position += opcode_bytes;
    }
    if index == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Raises each of `max`'s registers to the HLL's (Redis's `hllMerge`).
/// `hll` must be valid per [`is_valid`].
pub(crate) fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    let body = &hll[HEADER_BYTES..];
    if hll[ENCODING_INDEX] == DENSE {
        for (index, slot) in max.iter_mut().enumerate() {
            *slot = (*slot).max(dense_get(body, index));
        }
        return Ok(());
    }
    // A corrupted sparse body may describe runs past the last register:
    // refuse it (Redis: INVALIDOBJ) rather than index out of bounds.
    let mut overflow = false;
    sparse_runs(body, |first, length, value| {
        match max.get_mut(first..first.saturating_add(length)) {
            Some(slots) => slots.iter_mut().for_each(|slot| *slot = (*slot).max(value)),
            None => overflow = true,
        }
    })?;
    if overflow {
        return Err(Corrupt);
    }
    Ok(())
}

/// The dense form of a valid HLL (header copied, encoding set to dense).
pub(crate) fn to_dense(hll: &[u8]) -> Result<Vec<u8>, Corrupt> {
    if hll[ENCODING_INDEX] == DENSE {
        return Ok(hll.to_vec());
    }
    let mut dense = vec![0u8; DENSE_BYTES];
    dense[..HEADER_BYTES].copy_from_slice(&hll[..HEADER_BYTES]);
    dense[ENCODING_INDEX] = DENSE;
    let registers = &mut dense[HEADER_BYTES..];
    sparse_runs(&hll[HEADER_BYTES..], |first, length, value| {
        if value > 0 {
            for index in first..first + length {
                dense_put(registers, index, value);
            }
        }
    })?;
    Ok(dense)
}

/// Histogram of register values of a valid HLL.
pub(crate) fn histogram(hll: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut histogram = [0u32; 64];
    let body = &hll[HEADER_BYTES..];
    if hll[ENCODING_INDEX] == DENSE {
        for index in 0..REGISTERS {
            histogram[usize::from(dense_get(body, index))] += 1;
        }
        return Ok(histogram);
    }
    // Unlike the merge, Redis's sparse histogram never stops early.
    let mut index = 0usize;
    let mut position = 0;
    while position < body.len() {
        let (length, value, opcode_bytes) = super::sparse::decode(body, position);
        let slot = &mut histogram[usize::from(value)];
        *slot = slot.saturating_add(length as u32);
        index += length;
        position += opcode_bytes;
    }
    if index == REGISTERS {
        Ok(histogram)
    } else {
        Err(Corrupt)
    }
}

/// Histogram of raw (one byte per register) values.
pub(crate) fn raw_histogram(registers: &[u8; REGISTERS]) -> [u32; 64] {
    let mut histogram = [0u32; 64];
    for &value in registers {
        histogram[usize::from(value & REGISTER_MAX)] += 1;
    }
    histogram
}

/// Ertl's sigma function (arXiv:1702.01284).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// Ertl's tau function (arXiv:1702.01284).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        // Redis writes pow(1 - x, 2), which compilers emit as one multiply.
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram (Redis's `hllCount`).
pub(crate) fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q + 1])) / m);
    for count in histogram[1..=Q].iter().rev() {
        z += f64::from(*count);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}
