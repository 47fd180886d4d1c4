//! Integer text in both directions, shared by the parser and the encoder.
//!
//! [`parse_i64`] is Redis's strict `string2ll`: the one grammar every length
//! and count on the wire must obey. [`format_u64`] / [`format_i64`] are the
//! encoder's itoa: two digits per division, into a stack buffer, so writing
//! an integer never allocates.

/// Longest decimal text of an `i64` or `u64` (`-9223372036854775808` is 20
/// bytes, `18446744073709551615` is 20 bytes).
pub(super) const INTEGER_TEXT_BYTES_MAX: usize = 20;

/// Parses `text` exactly as Redis's `string2ll` does: an optional `-`, then
/// either the single digit `0` or a digit `1`-`9` followed by digits, and
/// nothing else (no `+`, no spaces, no leading zeros, no `-0`). Texts of 21
/// bytes or more, and values outside `i64`, are rejected. `None` when the
/// text is not such a number.
pub(super) fn parse_i64(text: &[u8]) -> Option<i64> {
    // string2ll refuses anything of LONG_STR_SIZE (21) bytes or more.
    if text.is_empty() || text.len() > INTEGER_TEXT_BYTES_MAX {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(byte - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `"00" "01" ... "99"`: two digits per table entry.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the decimal text of `value` at the end of `buffer` and returns it.
pub(super) fn format_u64(mut value: u64, buffer: &mut [u8; INTEGER_TEXT_BYTES_MAX]) -> &[u8] {
    let mut start = buffer.len();
    while value >= 100 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        start -= 2;
        buffer[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if value >= 10 {
        let pair = value as usize * 2;
        start -= 2;
        buffer[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        start -= 1;
        buffer[start] = b'0' + value as u8;
    }
    &buffer[start..]
}

/// Writes the decimal text of `value` (with a leading `-` when negative) at
/// the end of `buffer` and returns it.
pub(super) fn format_i64(value: i64, buffer: &mut [u8; INTEGER_TEXT_BYTES_MAX]) -> &[u8] {
    let digits_len = format_u64(value.unsigned_abs(), buffer).len();
    let mut start = buffer.len() - digits_len;
    if value < 0 {
        // |i64::MIN| has 19 digits, so there is always room for the sign.
        start -= 1;
        buffer[start] = b'-';
    }
    &buffer[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_accepts_what_string2ll_accepts() {
        for (text, value) in [
            (&b"0"[..], 0),
            (b"1", 1),
            (b"-1", -1),
            (b"1234567890", 1_234_567_890),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(parse_i64(text), Some(value), "{text:?}");
        }
    }

    #[test]
    fn parse_i64_rejects_what_string2ll_rejects() {
        for text in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b"00",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
            b"000000000000000000001",
        ] {
            assert_eq!(parse_i64(text), None, "{text:?}");
        }
    }

    #[test]
    fn format_i64_round_trips_extremes_and_digit_count_edges() {
        let mut buffer = [0; INTEGER_TEXT_BYTES_MAX];
        for value in [0, 1, 9, 10, 99, 100, 101, -1, -10, -100, i64::MAX, i64::MIN] {
            assert_eq!(format_i64(value, &mut buffer), value.to_string().as_bytes());
        }
        assert_eq!(format_u64(u64::MAX, &mut buffer), b"18446744073709551615");
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_identity(value: i64) {
            let mut buffer = [0; INTEGER_TEXT_BYTES_MAX];
            let text = format_i64(value, &mut buffer);
            let expected = value.to_string();
            proptest::prop_assert_eq!(text, expected.as_bytes());
            proptest::prop_assert_eq!(parse_i64(text), Some(value));
        }
    }
}
