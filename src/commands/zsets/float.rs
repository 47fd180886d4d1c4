//! Number parsing exactly as Redis 7.0 does it for sorted sets, on top of a
//! byte-level emulation of C's `strtod` (glibc): scores and weights go
//! through `getDoubleFromObject` (whole string, no leading space, hex
//! accepted, overflow and underflow to zero refused), range bounds through
//! `zslParseRange` (leading space accepted, an empty bound is 0, anything
//! after a NUL ignored).

use crate::commands::CommandError;

/// What `strtod` made of a prefix of its input.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Strtod {
    value: f64,
    /// Bytes consumed; 0 when no conversion was performed.
    consumed: usize,
    /// `errno == ERANGE`: the result overflowed or underflowed.
    range_error: bool,
}

/// C's `isspace` in the "C" locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn starts_with_ignore_case(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word)
}

/// Parses the longest prefix of `text` that `strtod` accepts.
fn strtod(text: &[u8]) -> Strtod {
    let none = Strtod {
        value: 0.0,
        consumed: 0,
        range_error: false,
    };
    let mut index = text.iter().take_while(|&&b| is_c_space(b)).count();
    let negative = text.get(index) == Some(&b'-');
    if matches!(text.get(index), Some(b'-' | b'+')) {
        index += 1;
    }
    let rest = &text[index..];
    let (magnitude, length, range_error) = if starts_with_ignore_case(rest, b"infinity") {
        (f64::INFINITY, 8, false)
    } else if starts_with_ignore_case(rest, b"inf") {
        (f64::INFINITY, 3, false)
    } else if starts_with_ignore_case(rest, b"nan") {
        (f64::NAN, 3, false)
    } else if let Some(hex) = parse_hex(rest) {
        hex
    } else if let Some(decimal) = parse_decimal(rest) {
        decimal
    } else {
        return none;
    };
    Strtod {
        value: if negative { -magnitude } else { magnitude },
        consumed: index + length,
        range_error,
    }
}

fn digits_at(text: &[u8], from: usize, radix: u32) -> usize {
    text[from.min(text.len())..]
        .iter()
        .take_while(|b| (**b as char).is_digit(radix))
        .count()
}

/// `digits [. digits] [e [+-] digits]` with at least one mantissa digit:
/// (magnitude, length, range error).
fn parse_decimal(text: &[u8]) -> Option<(f64, usize, bool)> {
    let integer = digits_at(text, 0, 10);
    let mut length = integer;
    let mut fraction = 0;
    if text.get(length) == Some(&b'.') {
        fraction = digits_at(text, length + 1, 10);
        if integer + fraction > 0 {
            length += 1 + fraction;
        }
    }
    if integer + fraction == 0 {
        return None;
    }
    let mantissa_end = length;
    if matches!(text.get(length), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(text.get(length + 1), Some(b'+' | b'-')));
        let exponent = digits_at(text, length + 1 + sign, 10);
        if exponent > 0 {
            length += 1 + sign + exponent;
        }
    }
    let literal = std::str::from_utf8(&text[..length]).ok()?;
    let value: f64 = literal.parse().ok()?;
    let nonzero_digit = text[..mantissa_end]
        .iter()
        .any(|b| (b'1'..=b'9').contains(b));
    let underflow = nonzero_digit && (value == 0.0 || value.is_subnormal());
    Some((value, length, value.is_infinite() || underflow))
}

/// `0x hexdigits [. hexdigits] [p [+-] digits]`: (magnitude, length, range
/// error). A bare `0x` is the number 0 followed by `x`, as in C.
fn parse_hex(text: &[u8]) -> Option<(f64, usize, bool)> {
    if !(starts_with_ignore_case(text, b"0x")) {
        return None;
    }
    let integer = digits_at(text, 2, 16);
    let mut length = 2 + integer;
    let mut fraction = 0;
    if text.get(length) == Some(&b'.') {
        fraction = digits_at(text, length + 1, 16);
        if integer + fraction > 0 {
            length += 1 + fraction;
        }
    }
    if integer + fraction == 0 {
        return Some((0.0, 1, false));
    }
    let integer_digits = &text[2..2 + integer];
    let fraction_digits = match fraction {
        0 => &[][..],
        _ => &text[3 + integer..3 + integer + fraction],
    };
    let mut mantissa = 0.0f64;
    for &byte in integer_digits.iter().chain(fraction_digits) {
        mantissa = mantissa * 16.0 + f64::from((byte as char).to_digit(16).unwrap_or(0));
    }
    let mut exponent: i64 = -4 * fraction as i64;
    if matches!(text.get(length), Some(b'p' | b'P')) {
        let sign = usize::from(matches!(text.get(length + 1), Some(b'+' | b'-')));
        let digits = digits_at(text, length + 1 + sign, 10);
        if digits > 0 {
            let start = length + 1 + sign;
            let value: i64 = std::str::from_utf8(&text[start..start + digits])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(i64::MAX / 2);
            exponent += if text[length + 1] == b'-' {
                -value
            } else {
                value
            };
            length = start + digits;
        }
    }
    let exponent = i32::try_from(exponent.clamp(-5000, 5000)).unwrap_or(0);
    let value = mantissa * 2f64.powi(exponent.clamp(-1074, 1024));
    let value = if exponent < -1074 && mantissa != 0.0 {
        0.0
    } else {
        value
    };
    let range_error =
        value.is_infinite() || (mantissa != 0.0 && (value == 0.0 || value.is_subnormal()));
    Some((value, length, range_error))
}

/// Parses a score, increment or weight as Redis's `getDoubleFromObject`:
/// the whole string must be a number `strtod` accepts (decimal, hex,
/// `inf`), without leading space; NaN, overflow and underflow to zero are
/// refused. `None` on any failure (callers pick the error text).
pub(crate) fn parse_score(text: &[u8]) -> Option<f64> {
    if text.first().is_none_or(|&b| is_c_space(b)) {
        return None;
    }
    let parsed = strtod(text);
    let refused_range = parsed.range_error && (parsed.value.is_infinite() || parsed.value == 0.0);
    (parsed.consumed == text.len() && !refused_range && !parsed.value.is_nan())
        .then_some(parsed.value)
}

/// [`parse_score`] with `ERR value is not a valid float`.
pub(crate) fn parse_score_or_error(text: &[u8]) -> Result<f64, CommandError> {
    parse_score(text).ok_or(CommandError::NotFloat)
}

/// Parses one bound of a score interval as Redis's `zslParseRange`: an
/// optional `(` (exclusive), then what `strtod` accepts up to the end or a
/// NUL byte; NaN refused. Returns (value, exclusive).
pub(crate) fn parse_score_bound(text: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, number) = match text.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, text),
    };
    let number = number.split(|&b| b == 0).next().unwrap_or_default();
    let parsed = strtod(number);
    (parsed.consumed == number.len() && !parsed.value.is_nan()).then_some((parsed.value, exclusive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_get_double_from_object() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"0x1p3"), Some(8.0));
        assert_eq!(parse_score(b"0x.8"), Some(0.5));
        assert_eq!(parse_score(b"INF"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1."), Some(1.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"1e-310"), Some(1e-310));
        assert_eq!(parse_score(b"0e-400"), Some(0.0));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"0x",
            b"abc",
            b"1e",
            b".",
            b"1\x002",
            b"--1",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn bounds_follow_zsl_parse_range() {
        assert_eq!(parse_score_bound(b"(1"), Some((1.0, true)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b" 1"), Some((1.0, false)));
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"5\0junk"), Some((5.0, false)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        for bad in [&b"(("[..], b"a", b"1 ", b"nan", b"  "] {
            assert_eq!(
                parse_score_bound(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
