//! SORT's BY/GET patterns and numeric sort keys.
//!
//! A pattern's first `*` is replaced by the element to name a key; a `->`
//! after the `*` selects a hash field (`weight_*->w`); `#` alone is the
//! element itself (Redis's `lookupKeyByPattern`). Lookups see only the
//! shard the command runs on (see the parent module).
//!
//! Numeric sort keys are read as glibc's `strtod` reads them, with Redis's
//! checks: the whole text (up to a NUL byte) must be consumed, and a value
//! out of range (overflow, underflow) or NaN is an error.

use bytes::Bytes;

use crate::commands::Ctx;
use crate::keyspace::Value;

/// The text of `bytes` as a C string sees it: up to the first NUL.
fn c_string(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

/// The value `pattern` names for `element`: a string key's value, a hash
/// field's value, or the element itself for `#`. `None` when the pattern
/// has no `*`, the key is missing, or it holds another type.
pub(super) fn lookup_by_pattern(
    ctx: &mut Ctx<'_>,
    pattern: &[u8],
    element: &Bytes,
) -> Option<Bytes> {
    if pattern.first() == Some(&b'#') && pattern.get(1).is_none_or(|&b| b == 0) {
        return Some(element.clone());
    }
    let star = c_string(pattern).iter().position(|&b| b == b'*')?;
    let after_star = &pattern[star + 1..];
    let field = c_string(after_star)
        .windows(2)
        .position(|pair| pair == b"->")
        .map(|arrow| star + 1 + arrow)
        .filter(|&arrow| pattern.get(arrow + 2).is_some_and(|&b| b != 0));
    let suffix_end = field.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..suffix_end]);
    let now_ms = ctx.now_ms;
    let value = &ctx.db().get_for_read(&key, now_ms)?.value;
    match (field, value) {
        (None, Value::String(bytes)) => Some(bytes.clone()),
        (Some(arrow), Value::Hash(hash)) => {
            hash.get(&pattern[arrow + 2..]).map(Bytes::copy_from_slice)
        }
        _ => None,
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads a sort score as Redis does (`strtod` over the C string, which must
/// be consumed whole; ERANGE or NaN refused). `None` when it is not a number.
pub(super) fn parse_score(bytes: &[u8]) -> Option<f64> {
    let text = c_string(bytes);
    if text.is_empty() {
        return Some(0.0); // strtod converts nothing and stops at the NUL
    }
    let start = text.iter().position(|&b| !is_c_space(b))?;
    let text = &text[start..];
    let (negative, unsigned) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if unsigned.first().is_some_and(|&b| b == b'+' || b == b'-') {
        return None;
    }
    let magnitude = match unsigned {
        [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex)?,
        _ => parse_decimal(unsigned)?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_decimal(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    let value: f64 = text.parse().ok()?;
    let lower = text.to_ascii_lowercase();
    let literal_infinity = lower == "inf" || lower == "infinity";
    if value.is_nan() || (value.is_infinite() && !literal_infinity) {
        return None; // NaN, or ERANGE on overflow
    }
    let mantissa = lower.split('e').next().unwrap_or_default();
    let nonzero_digits = mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'));
    if nonzero_digits && (value == 0.0 || value.is_subnormal()) {
        return None; // ERANGE on underflow
    }
    Some(value)
}

/// A C99 hexadecimal float after its `0x`: hex digits with an optional
/// point, then an optional binary exponent `p[+-]digits`.
fn parse_hex(text: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'p' || b == b'P') {
        Some(p) => (&text[..p], Some(&text[p + 1..])),
        None => (text, None),
    };
    let mut value = 0.0f64;
    let mut scale = 0i32;
    let mut seen_point = false;
    let mut digits = 0;
    for &byte in mantissa {
        match byte {
            b'.' if !seen_point => seen_point = true,
            _ => {
                let digit = char::from(byte).to_digit(16)?;
                value = value * 16.0 + f64::from(digit);
                digits += 1;
                if seen_point {
                    scale = scale.saturating_sub(4);
                }
            }
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(exponent) = exponent {
        let exponent: i32 = std::str::from_utf8(exponent).ok()?.parse().ok()?;
        scale = scale.saturating_add(exponent);
    }
    let result = value * 2f64.powi(scale);
    (result.is_finite() && !(value != 0.0 && (result == 0.0 || result.is_subnormal())))
        .then_some(result)
}
