//! INCRBYFLOAT arithmetic, bit for bit as Redis on x86-64.
//!
//! Redis adds with C's `long double`, which on x86-64 is the x87 80-bit
//! extended format (64-bit significand), parses with `strtold` and prints the
//! sum with `"%.17Lf"` before stripping trailing zeros. An `f64` gives
//! different digits (`10.5 + 0.1` is `10.6` in extended precision but
//! `10.599999999999999` in double), so this module emulates the format
//! exactly: correctly rounded parsing (decimal and hex), one correctly
//! rounded addition, and exact fixed-point printing. Exactness comes from a
//! small unsigned big integer; every size is bounded by
//! [`LONG_DOUBLE_CHARS_MAX`] and the format's exponent range.
//!
//! Pure computation: no I/O, no allocation proportional to anything but the
//! (bounded) input length.

use std::cmp::Ordering;

/// Longest string Redis parses as a long double (`MAX_LONG_DOUBLE_CHARS`);
/// longer input is not a valid float.
pub(crate) const LONG_DOUBLE_CHARS_MAX: usize = 5 * 1024;

/// Significand bits of the x87 extended format.
const SIGNIFICAND_BITS: i64 = 64;
/// Exponent of the lowest significand bit of the smallest subnormal: values
/// are `mantissa * 2^exponent` with `exponent >= EXPONENT_MIN`.
const EXPONENT_MIN: i64 = -16445;
/// Largest `exponent` of a finite value (`mantissa < 2^64`).
const EXPONENT_MAX: i64 = 16320;
/// Digits `%.17Lf` prints after the decimal point.
const FRACTION_DIGITS: u32 = 17;

/// A finite extended-precision value: `(-1)^negative * mantissa * 2^exponent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LongDouble {
    negative: bool,
    mantissa: u64,
    exponent: i64,
}

/// Why a value could not be produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LongDoubleError {
    /// Not a number `string2ld` accepts (`ERR value is not a valid float`).
    NotFloat,
    /// The result is infinite or NaN.
    NotFinite,
}

impl LongDouble {
    /// Positive zero.
    pub(crate) const ZERO: LongDouble = LongDouble {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };

    /// Parses as Redis's `string2ld`: `strtold` syntax (decimal, `0x` hex
    /// float, `inf`/`infinity`), no leading space, nothing trailing, no NaN,
    /// no overflow, no underflow to zero. Infinity parses (as
    /// [`LongDoubleError::NotFinite`]) because Redis accepts it and only
    /// refuses the sum.
    pub(crate) fn parse(text: &[u8]) -> Result<LongDouble, LongDoubleError> {
        if text.is_empty() || text.len() >= LONG_DOUBLE_CHARS_MAX {
            return Err(LongDoubleError::NotFloat);
        }
        let (negative, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Err(LongDoubleError::NotFinite);
        }
        let exact = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex),
            _ => parse_decimal(body),
        }
        .ok_or(LongDoubleError::NotFloat)?;
        match exact.round(negative) {
            // strtold reports underflow to zero and overflow as ERANGE: refused.
            Some(value) if value.mantissa == 0 && !exact.is_zero() => {
                Err(LongDoubleError::NotFloat)
            }
            Some(value) => Ok(value),
            None => Err(LongDoubleError::NotFloat),
        }
    }

    /// The correctly rounded sum; `NotFinite` if it overflows.
    pub(crate) fn add(self, other: LongDouble) -> Result<LongDouble, LongDoubleError> {
        let exponent = self.exponent.min(other.exponent);
        let a = BigUint::from_u64(self.mantissa).shl((self.exponent - exponent) as usize);
        let b = BigUint::from_u64(other.mantissa).shl((other.exponent - exponent) as usize);
        let (negative, magnitude) = if self.negative == other.negative {
            (self.negative, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Less => (other.negative, b.sub(&a)),
                // x + (-x) is +0 when rounding to nearest.
                Ordering::Equal => (false, BigUint::zero()),
                Ordering::Greater => (self.negative, a.sub(&b)),
            }
        };
        let exact = Exact {
            magnitude,
            shift: exponent,
            sticky: false,
        };
        exact.round(negative).ok_or(LongDoubleError::NotFinite)
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `"%.17Lf"`, trailing zeros
    /// (and a trailing point) removed, `-0` printed as `0`.
    pub(crate) fn to_human_string(self) -> String {
        let scaled = BigUint::from_u64(self.mantissa).mul_pow10(FRACTION_DIGITS);
        let fixed = if self.exponent >= 0 {
            scaled.shl(self.exponent as usize)
        } else {
            let dropped = self.exponent.unsigned_abs() as usize;
            let round_up = scaled.bit(dropped - 1)
                && (scaled.any_bit_below(dropped - 1) || scaled.bit(dropped));
            let truncated = scaled.shr(dropped);
            if round_up {
                truncated.add(&BigUint::from_u64(1))
            } else {
                truncated
            }
        };
        let mut digits = fixed.to_decimal();
        let width = FRACTION_DIGITS as usize + 1;
        if digits.len() < width {
            digits.insert_str(0, &"0".repeat(width - digits.len()));
        }
        let point = digits.len() - FRACTION_DIGITS as usize;
        let fraction = digits[point..].trim_end_matches('0');
        let mut text = String::with_capacity(digits.len() + 2);
        if self.negative {
            text.push('-');
        }
        text.push_str(&digits[..point]);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        if text == "-0" {
            text.remove(0);
        }
        text
    }
}

/// An exact non-negative value `magnitude * 2^shift`, plus, when `sticky`,
/// some positive amount smaller than `2^shift` (a nonzero remainder).
struct Exact {
    magnitude: BigUint,
    shift: i64,
    sticky: bool,
}

impl Exact {
    fn is_zero(&self) -> bool {
        self.magnitude.is_zero() && !self.sticky
    }

    /// Rounds to the nearest extended value, ties to even; `None` on overflow.
    fn round(&self, negative: bool) -> Option<LongDouble> {
        let zero = LongDouble {
            negative,
            mantissa: 0,
            exponent: EXPONENT_MIN,
        };
        let bits = self.magnitude.bit_len() as i64;
        if bits == 0 {
            return Some(zero);
        }
        let top = self.shift + bits - 1;
        let lowest_kept = (top - (SIGNIFICAND_BITS - 1)).max(EXPONENT_MIN);
        let dropped = lowest_kept - self.shift;
        if dropped <= 0 {
            let mantissa = self.magnitude.bits_at(0, 64) << dropped.unsigned_abs();
            return finite(negative, mantissa, self.shift + dropped);
        }
        let dropped = dropped as usize;
        let mantissa = self.magnitude.bits_at(dropped, 64);
        let half = self.magnitude.bit(dropped - 1);
        let rest = self.sticky || self.magnitude.any_bit_below(dropped - 1);
        if !(half && (rest || mantissa & 1 == 1)) {
            return finite(negative, mantissa, lowest_kept);
        }
        match mantissa.checked_add(1) {
            Some(mantissa) => finite(negative, mantissa, lowest_kept),
            None => finite(negative, 1 << 63, lowest_kept + 1),
        }
    }
}

fn finite(negative: bool, mantissa: u64, exponent: i64) -> Option<LongDouble> {
    (exponent <= EXPONENT_MAX).then_some(LongDouble {
        negative,
        mantissa,
        exponent,
    })
}

/// Decimal digits with an optional point and exponent, all consumed.
fn parse_decimal(body: &[u8]) -> Option<Exact> {
    let (mantissa_text, exponent_text) = split_exponent(body, b'e')?;
    let (digits, fraction_digits) = collect_digits(mantissa_text, 10)?;
    let exponent10 = parse_exponent(exponent_text)? - fraction_digits;
    let significant = digits.iter().skip_while(|&&d| d == 0).count() as i64;
    if significant == 0 {
        return Some(Exact {
            magnitude: BigUint::zero(),
            shift: 0,
            sticky: false,
        });
    }
    // Beyond these decimal magnitudes the value overflows the format, or
    // rounds to zero (smallest subnormal ≈ 3.6e-4951): no exact work needed.
    let magnitude10 = significant + exponent10;
    if magnitude10 > 4935 {
        return None;
    }
    if magnitude10 < -4960 {
        return Some(Exact {
            magnitude: BigUint::zero(),
            shift: 0,
            sticky: true,
        });
    }
    let mut value = BigUint::zero();
    for &digit in &digits {
        value = value
            .mul_small(10)
            .add(&BigUint::from_u64(u64::from(digit)));
    }
    if exponent10 >= 0 {
        let magnitude = value.mul_pow10(exponent10 as u32);
        return Some(Exact {
            magnitude,
            shift: 0,
            sticky: false,
        });
    }
    let denominator = BigUint::from_u64(1).mul_pow10(exponent10.unsigned_abs() as u32);
    Some(divide(&value, &denominator))
}

/// `numerator / denominator` to at least 67 significant bits, with the
/// remainder folded into the sticky flag.
fn divide(numerator: &BigUint, denominator: &BigUint) -> Exact {
    const QUOTIENT_BITS: i64 = 67;
    let excess = numerator.bit_len() as i64 - denominator.bit_len() as i64 - QUOTIENT_BITS;
    let (mut remainder, divisor) = if excess >= 0 {
        (numerator.clone(), denominator.shl(excess as usize))
    } else {
        (
            numerator.shl(excess.unsigned_abs() as usize),
            denominator.clone(),
        )
    };
    // The quotient is below 2^(QUOTIENT_BITS + 2): restoring division, one bit a step.
    let mut quotient: u128 = 0;
    let mut step = divisor.shl(QUOTIENT_BITS as usize + 2);
    for bit in (0..=QUOTIENT_BITS + 2).rev() {
        if remainder.cmp(&step) != Ordering::Less {
            remainder = remainder.sub(&step);
            quotient |= 1 << bit;
        }
        step = step.shr(1);
    }
    Exact {
        magnitude: BigUint::from_u128(quotient),
        shift: excess,
        sticky: !remainder.is_zero(),
    }
}

/// A `strtold` hex float after its `0x`: hex digits, optional point, optional
/// binary exponent `p[+-]digits`.
fn parse_hex(body: &[u8]) -> Option<Exact> {
    let (mantissa_text, exponent_text) = split_exponent(body, b'p')?;
    let (digits, fraction_digits) = collect_digits(mantissa_text, 16)?;
    let mut magnitude = BigUint::zero();
    for &digit in &digits {
        magnitude = magnitude
            .mul_small(16)
            .add(&BigUint::from_u64(u64::from(digit)));
    }
    let shift = parse_exponent(exponent_text)? - 4 * fraction_digits;
    Some(Exact {
        magnitude,
        shift,
        sticky: false,
    })
}

/// Splits at the exponent marker (`e` or `p`, any case).
fn split_exponent(body: &[u8], marker: u8) -> Option<(&[u8], Option<&[u8]>)> {
    match body.iter().position(|b| b.eq_ignore_ascii_case(&marker)) {
        Some(index) => Some((&body[..index], Some(&body[index + 1..]))),
        None => Some((body, None)),
    }
}

/// Digits of `radix` with at most one point, at least one digit: the digit
/// values and how many came after the point.
fn collect_digits(text: &[u8], radix: u32) -> Option<(Vec<u8>, i64)> {
    let mut digits = Vec::with_capacity(text.len());
    let mut fraction_digits = None;
    for &byte in text {
        match byte {
            b'.' if fraction_digits.is_none() => fraction_digits = Some(0),
            _ => {
                digits.push(char::from(byte).to_digit(radix)? as u8);
                if let Some(count) = fraction_digits.as_mut() {
                    *count += 1;
                }
            }
        }
    }
    (!digits.is_empty()).then_some((digits, fraction_digits.unwrap_or(0)))
}

/// An optional exponent `[+-]digits`, saturated far beyond any meaningful
/// range so huge exponents still overflow or underflow as they should.
fn parse_exponent(text: Option<&[u8]>) -> Option<i64> {
    const SATURATED: i64 = 1 << 40;
    let Some(text) = text else { return Some(0) };
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0i64, |acc, &d| {
        (acc * 10 + i64::from(d - b'0')).min(SATURATED)
    });
    Some(if negative { -value } else { value })
}

/// A minimal arbitrary-precision unsigned integer: little-endian 32-bit limbs,
/// no trailing zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BigUint {
    limbs: Vec<u32>,
}

impl BigUint {
    fn zero() -> BigUint {
        BigUint { limbs: Vec::new() }
    }

    fn from_u64(value: u64) -> BigUint {
        BigUint::from_u128(u128::from(value))
    }

    fn from_u128(mut value: u128) -> BigUint {
        let mut limbs = Vec::new();
        while value != 0 {
            limbs.push(value as u32);
            value >>= 32;
        }
        BigUint { limbs }
    }

    fn trimmed(mut self) -> BigUint {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
        self
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn bit_len(&self) -> usize {
        match self.limbs.last() {
            None => 0,
            Some(top) => self.limbs.len() * 32 - top.leading_zeros() as usize,
        }
    }

    fn bit(&self, index: usize) -> bool {
        self.limbs
            .get(index / 32)
            .is_some_and(|limb| limb >> (index % 32) & 1 == 1)
    }

    /// True if any bit below `index` is set.
    fn any_bit_below(&self, index: usize) -> bool {
        let whole = (index / 32).min(self.limbs.len());
        self.limbs[..whole].iter().any(|&limb| limb != 0)
            || (index % 32 != 0
                && self
                    .limbs
                    .get(index / 32)
                    .is_some_and(|limb| limb & ((1 << (index % 32)) - 1) != 0))
    }

    /// Bits `[start, start + count)` as an integer (`count` ≤ 64).
    fn bits_at(&self, start: usize, count: usize) -> u64 {
        (0..count).fold(0, |acc, i| acc | (u64::from(self.bit(start + i)) << i))
    }

    fn cmp(&self, other: &BigUint) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    fn add(&self, other: &BigUint) -> BigUint {
        let mut limbs = Vec::with_capacity(self.limbs.len().max(other.limbs.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.limbs.len().max(other.limbs.len()) {
            let sum = carry
                + u64::from(self.limbs.get(i).copied().unwrap_or(0))
                + u64::from(other.limbs.get(i).copied().unwrap_or(0));
            limbs.push(sum as u32);
            carry = sum >> 32;
        }
        limbs.push(carry as u32);
        BigUint { limbs }.trimmed()
    }

    /// `self - other`; requires `self >= other`.
    fn sub(&self, other: &BigUint) -> BigUint {
        assert!(self.cmp(other) != Ordering::Less, "BigUint underflow");
        let mut limbs = Vec::with_capacity(self.limbs.len());
        let mut borrow = 0i64;
        for (i, &limb) in self.limbs.iter().enumerate() {
            let mut difference =
                i64::from(limb) - i64::from(other.limbs.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(difference < 0);
            if difference < 0 {
                difference += 1 << 32;
            }
            limbs.push(difference as u32);
        }
        BigUint { limbs }.trimmed()
    }

    fn mul_small(&self, factor: u32) -> BigUint {
        let mut limbs = Vec::with_capacity(self.limbs.len() + 1);
        let mut carry = 0u64;
        for &limb in &self.limbs {
            let product = u64::from(limb) * u64::from(factor) + carry;
            limbs.push(product as u32);
            carry = product >> 32;
        }
        limbs.push(carry as u32);
        BigUint { limbs }.trimmed()
    }

    fn mul_pow10(&self, mut power: u32) -> BigUint {
        let mut value = self.clone();
        while power >= 9 {
            value = value.mul_small(1_000_000_000);
            power -= 9;
        }
        value.mul_small(10u32.pow(power))
    }

    fn shl(&self, bits: usize) -> BigUint {
        if self.is_zero() {
            return BigUint::zero();
        }
        let (whole, part) = (bits / 32, bits % 32);
        let mut limbs = vec![0u32; whole];
        let mut carry = 0u32;
        for &limb in &self.limbs {
            limbs.push(if part == 0 {
                limb
            } else {
                (limb << part) | carry
            });
            carry = if part == 0 { 0 } else { limb >> (32 - part) };
        }
        limbs.push(carry);
        BigUint { limbs }.trimmed()
    }

    fn shr(&self, bits: usize) -> BigUint {
        let (whole, part) = (bits / 32, bits % 32);
        let kept = self.limbs.get(whole..).unwrap_or_default();
        let limbs = (0..kept.len())
            .map(|i| {
                let high = kept.get(i + 1).copied().unwrap_or(0);
                if part == 0 {
                    kept[i]
                } else {
                    (kept[i] >> part) | (high << (32 - part))
                }
            })
            .collect();
        BigUint { limbs }.trimmed()
    }

    fn to_decimal(&self) -> String {
        let mut chunks = Vec::new();
        let mut value = self.clone();
        while !value.is_zero() {
            let mut remainder = 0u64;
            for limb in value.limbs.iter_mut().rev() {
                let current = (remainder << 32) | u64::from(*limb);
                *limb = (current / 1_000_000_000) as u32;
                remainder = current % 1_000_000_000;
            }
            chunks.push(remainder as u32);
            value = value.trimmed();
        }
        let mut text = chunks
            .pop()
            .map_or_else(|| "0".to_owned(), |c| c.to_string());
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(value: &str, increment: &str) -> Result<String, LongDoubleError> {
        let value = LongDouble::parse(value.as_bytes())?;
        let increment = LongDouble::parse(increment.as_bytes())?;
        Ok(value.add(increment)?.to_human_string())
    }

    #[test]
    fn sums_match_redis_on_x86_64() {
        // Expected strings come from redis-server 7.0.15 on x86-64.
        assert_eq!(incr("10.5", "0.1").unwrap(), "10.6");
        assert_eq!(incr("10.5", "0.5").unwrap(), "11");
        assert_eq!(
            incr("0", "1e30").unwrap(),
            "1000000000000000000024696061952"
        );
        assert_eq!(incr("0", "5.0e3").unwrap(), "5000");
        assert_eq!(incr("0", "3.0e3").unwrap(), "3000");
        assert_eq!(incr("0", "0x10").unwrap(), "16");
        assert_eq!(incr("16", "1e-4000").unwrap(), "16");
        assert_eq!(incr("0", "1e-30").unwrap(), "0");
        assert_eq!(incr("0", "-0.0").unwrap(), "0");
        assert_eq!(incr("1", "-1").unwrap(), "0");
        assert_eq!(incr("-5", "2.25").unwrap(), "-2.75");
        assert_eq!(incr("0", "0x1.8p1").unwrap(), "3");
    }

    #[test]
    fn parsing_refuses_what_string2ld_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e+", "--1", "1..2", ".", "0x", "1e99999",
        ] {
            assert_eq!(
                LongDouble::parse(bad.as_bytes()),
                Err(LongDoubleError::NotFloat),
                "{bad:?}"
            );
        }
        assert_eq!(
            LongDouble::parse(b"1e-99999"),
            Err(LongDoubleError::NotFloat)
        );
        assert_eq!(LongDouble::parse(b"inf"), Err(LongDoubleError::NotFinite));
        assert_eq!(
            LongDouble::parse(b"-Infinity"),
            Err(LongDoubleError::NotFinite)
        );
        assert!(LongDouble::parse(b"+.5").is_ok());
        assert!(LongDouble::parse(b"5.").is_ok());
        assert!(LongDouble::parse(&[b'1'; LONG_DOUBLE_CHARS_MAX]).is_err());
    }

    #[test]
    fn overflowing_sum_is_not_finite() {
        let huge = LongDouble::parse(b"1e4932").unwrap();
        assert_eq!(huge.add(huge), Err(LongDoubleError::NotFinite));
    }

    #[test]
    fn big_uint_round_trips_decimal() {
        let value = BigUint::from_u64(123_456_789_012).mul_pow10(20);
        assert_eq!(value.to_decimal(), "12345678901200000000000000000000");
        assert_eq!(value.shl(70).shr(70), value);
        assert_eq!(BigUint::zero().to_decimal(), "0");
    }
}
