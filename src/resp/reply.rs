//! [`Reply`], the value every command handler returns, and its RESP2/RESP3
//! encoder.
//!
//! One `Reply` type serves both protocols: each variant names the RESP3 type
//! it is, and [`Reply::encode`] degrades it to the RESP2 shape Redis 7.0 uses
//! when the connection has not sent `HELLO 3` (see [`Reply::to_resp2_shape`]).
//! The encoder is on the hot path: it writes straight into the connection's
//! output buffer, reserves once per reply (once per aggregate level for
//! aggregates), formats integers on the stack and never allocates for the
//! common replies.
//!
//! This module owns no I/O and no connection state; it only turns values into
//! bytes.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use super::number::{format_i64, format_u64, INTEGER_TEXT_BYTES_MAX};

/// Which protocol a connection speaks: RESP2 until it sends `HELLO 3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default: maps, sets, doubles and booleans are sent as
    /// arrays, bulk strings and integers.
    #[default]
    Resp2,
    /// RESP3 (`HELLO 3`): every [`Reply`] variant has its own wire type.
    Resp3,
}

/// A reply to one command, before encoding. The wire shapes below are RESP3;
/// [`Reply::to_resp2_shape`] documents what RESP2 clients receive instead.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Status reply, `+OK\r\n`. CR and LF in the text are sent as spaces.
    Simple(Bytes),
    /// Error reply, `-ERR syntax error\r\n`. The text excludes the leading
    /// `-` and starts with the error code (`ERR`, `WRONGTYPE`, ...). CR and LF
    /// in the text are sent as spaces.
    Error(Bytes),
    /// Integer reply, `:1\r\n`.
    Integer(i64),
    /// Bulk string, `$3\r\nfoo\r\n`; binary safe.
    Bulk(Bytes),
    /// Null bulk string: RESP2 `$-1\r\n`, RESP3 `_\r\n`.
    Null,
    /// Null array: RESP2 `*-1\r\n`, RESP3 `_\r\n`.
    NullArray,
    /// Array, `*2\r\n` followed by its elements.
    Array(Vec<Reply>),
    /// Map, `%1\r\n` followed by key, value, key, value...
    Map(Vec<(Reply, Reply)>),
    /// Set, `~2\r\n` followed by its elements.
    Set(Vec<Reply>),
    /// Double, `,1.5\r\n`, formatted by [`format_double`].
    Double(f64),
    /// Boolean, `#t\r\n` or `#f\r\n`.
    Boolean(bool),
    /// Big number, `(3492890328409238509324850943850943825024385\r\n`.
    BigNumber(Bytes),
    /// Verbatim string, `=9\r\ntxt:hello\r\n`: the length counts the
    /// three-byte format, the `:` and the text.
    Verbatim {
        /// Format of the text: `txt` or `mkd`.
        format: [u8; 3],
        /// The text itself.
        text: Bytes,
    },
    /// Out-of-band push (pub/sub messages), `>3\r\n` followed by elements.
    Push(Vec<Reply>),
    /// Pairs such as (member, score): RESP3 an array of two-element arrays
    /// (`*N` of `*2`), RESP2 one flat array of 2N elements. Redis replies
    /// this way to ZRANGE WITHSCORES, HRANDFIELD WITHVALUES and the like.
    Pairs(Vec<(Reply, Reply)>),
}

/// Bytes of an aggregate or bulk header beyond its prefix: the longest count
/// text plus CRLF.
const HEADER_BYTES_MAX: usize = 1 + INTEGER_TEXT_BYTES_MAX + 2;

/// Longest text [`format_double`] produces (`-1.0000000000000001e-308` is 24
/// bytes), rounded up.
const DOUBLE_TEXT_BYTES_MAX: usize = 32;

impl Reply {
    /// `+OK\r\n`.
    pub fn ok() -> Reply {
        Reply::Simple(Bytes::from_static(b"OK"))
    }

    /// A status reply with static text, e.g. `Reply::simple("PONG")`.
    pub fn simple(text: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(text.as_bytes()))
    }

    /// An error reply with static text, without the leading `-`, e.g.
    /// `Reply::error("ERR syntax error")`.
    pub fn error(text: &'static str) -> Reply {
        Reply::Error(Bytes::from_static(text.as_bytes()))
    }

    /// An error reply with built text, without the leading `-`.
    pub fn error_string(text: String) -> Reply {
        Reply::Error(Bytes::from(text))
    }

    /// A bulk string reply.
    pub fn bulk(payload: impl Into<Bytes>) -> Reply {
        Reply::Bulk(payload.into())
    }

    /// True for [`Reply::Error`].
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the encoding of this reply for `protocol` to `out`.
    pub fn encode(&self, protocol: Protocol, out: &mut BytesMut) {
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Reply::Simple(text) => encode_line(b'+', text, out),
            Reply::Error(text) => encode_line(b'-', text, out),
            Reply::Integer(value) => encode_integer(*value, out),
            Reply::Bulk(payload) => encode_bulk(payload, out),
            Reply::Null if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => encode_aggregate(b'*', items, protocol, out),
            Reply::Set(items) if resp3 => encode_aggregate(b'~', items, protocol, out),
            Reply::Push(items) if resp3 => encode_aggregate(b'>', items, protocol, out),
            Reply::Set(items) | Reply::Push(items) => encode_aggregate(b'*', items, protocol, out),
            Reply::Map(pairs) => encode_map(pairs, protocol, out),
            Reply::Pairs(pairs) => encode_pairs(pairs, protocol, out),
            Reply::Double(value) => encode_double(*value, protocol, out),
            Reply::Boolean(value) if resp3 => {
                out.extend_from_slice(if *value { b"#t\r\n" } else { b"#f\r\n" })
            }
            Reply::Boolean(value) => {
                out.extend_from_slice(if *value { b":1\r\n" } else { b":0\r\n" })
            }
            Reply::BigNumber(digits) if resp3 => encode_line(b'(', digits, out),
            Reply::BigNumber(digits) => encode_bulk(digits, out),
            Reply::Verbatim { format, text } if resp3 => encode_verbatim(format, text, out),
            Reply::Verbatim { text, .. } => encode_bulk(text, out),
        }
    }

    /// The reply a RESP2 client decodes from `self.encode(Protocol::Resp2, ..)`,
    /// as a value of the RESP2 subset of `Reply` (`Simple`, `Error`,
    /// `Integer`, `Bulk`, `Null`, `NullArray`, `Array`):
    ///
    /// * `Map` becomes an `Array` of key, value, key, value...;
    /// * `Set` and `Push` become `Array`s;
    /// * `Double` becomes a `Bulk` of its [`format_double`] text;
    /// * `Boolean` becomes `Integer` 1 or 0;
    /// * `BigNumber` becomes a `Bulk` of its digits;
    /// * `Verbatim` becomes a `Bulk` of its text, without the format;
    /// * everything else is unchanged (apart from the CR/LF → space rewrite
    ///   the encoder applies to status and error text).
    pub fn to_resp2_shape(&self) -> Reply {
        let all = |items: &[Reply]| items.iter().map(Reply::to_resp2_shape).collect();
        match self {
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
                Reply::Array(all(items))
            }
            Reply::Map(pairs) | Reply::Pairs(pairs) => Reply::Array(
                pairs
                    .iter()
                    .flat_map(|(key, value)| [key.to_resp2_shape(), value.to_resp2_shape()])
                    .collect(),
            ),
            Reply::Double(value) => {
                let mut text = Vec::new();
                format_double(*value, &mut text);
                Reply::Bulk(Bytes::from(text))
            }
            Reply::Boolean(value) => Reply::Integer(i64::from(*value)),
            Reply::BigNumber(digits) => Reply::Bulk(digits.clone()),
            Reply::Verbatim { text, .. } => Reply::Bulk(text.clone()),
            scalar => scalar.clone(),
        }
    }

    /// An upper bound of the bytes this reply encodes to, not counting the
    /// elements of aggregates (each aggregate reserves for its own elements
    /// when it is encoded).
    fn shallow_encoded_bytes(&self) -> usize {
        match self {
            Reply::Simple(text) | Reply::Error(text) => 1 + text.len() + 2,
            Reply::Bulk(payload) | Reply::BigNumber(payload) => {
                HEADER_BYTES_MAX + payload.len() + 2
            }
            Reply::Verbatim { text, .. } => HEADER_BYTES_MAX + 4 + text.len() + 2,
            Reply::Double(_) => HEADER_BYTES_MAX + DOUBLE_TEXT_BYTES_MAX + 2,
            Reply::Integer(_)
            | Reply::Null
            | Reply::NullArray
            | Reply::Boolean(_)
            | Reply::Array(_)
            | Reply::Map(_)
            | Reply::Set(_)
            | Reply::Push(_)
            | Reply::Pairs(_) => HEADER_BYTES_MAX,
        }
    }
}

/// `<prefix><text>\r\n`, with CR and LF in `text` written as spaces (as
/// Redis does for status and error text), so the line can never be cut short.
fn encode_line(prefix: u8, text: &[u8], out: &mut BytesMut) {
    out.reserve(1 + text.len() + 2);
    out.put_u8(prefix);
    if text.iter().any(|&byte| byte == b'\r' || byte == b'\n') {
        out.extend(text.iter().map(|&byte| match byte {
            b'\r' | b'\n' => b' ',
            other => other,
        }));
    } else {
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// `:<value>\r\n`.
fn encode_integer(value: i64, out: &mut BytesMut) {
    let mut digits = [0; INTEGER_TEXT_BYTES_MAX];
    let text = format_i64(value, &mut digits);
    out.reserve(1 + text.len() + 2);
    out.put_u8(b':');
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

/// `<prefix><count>\r\n`, the header of bulk strings and aggregates.
fn encode_header(prefix: u8, count: usize, out: &mut BytesMut) {
    let mut digits = [0; INTEGER_TEXT_BYTES_MAX];
    // usize -> u64 is lossless on every platform Rust supports.
    let text = format_u64(count as u64, &mut digits);
    out.put_u8(prefix);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

/// `$<len>\r\n<payload>\r\n`.
fn encode_bulk(payload: &[u8], out: &mut BytesMut) {
    out.reserve(HEADER_BYTES_MAX + payload.len() + 2);
    encode_header(b'$', payload.len(), out);
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// `=<4 + len>\r\n<format>:<text>\r\n`.
fn encode_verbatim(format: &[u8; 3], text: &[u8], out: &mut BytesMut) {
    out.reserve(HEADER_BYTES_MAX + 4 + text.len() + 2);
    encode_header(b'=', 4 + text.len(), out);
    out.extend_from_slice(format);
    out.put_u8(b':');
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

/// `<prefix><n>\r\n` followed by the `n` elements.
fn encode_aggregate(prefix: u8, items: &[Reply], protocol: Protocol, out: &mut BytesMut) {
    let elements_bytes: usize = items.iter().map(Reply::shallow_encoded_bytes).sum();
    out.reserve(HEADER_BYTES_MAX + elements_bytes);
    encode_header(prefix, items.len(), out);
    for item in items {
        item.encode(protocol, out);
    }
}

/// RESP3 `%<n>\r\n` followed by key, value pairs; RESP2 `*<2n>\r\n` followed
/// by the same elements.
fn encode_pairs(pairs: &[(Reply, Reply)], protocol: Protocol, out: &mut BytesMut) {
    match protocol {
        Protocol::Resp3 => {
            encode_header(b'*', pairs.len(), out);
            for (first, second) in pairs {
                encode_header(b'*', 2, out);
                first.encode(protocol, out);
                second.encode(protocol, out);
            }
        }
        Protocol::Resp2 => {
            encode_header(b'*', pairs.len() * 2, out);
            for (first, second) in pairs {
                first.encode(protocol, out);
                second.encode(protocol, out);
            }
        }
    }
}

fn encode_map(pairs: &[(Reply, Reply)], protocol: Protocol, out: &mut BytesMut) {
    let elements_bytes: usize = pairs
        .iter()
        .map(|(key, value)| key.shallow_encoded_bytes() + value.shallow_encoded_bytes())
        .sum();
    out.reserve(HEADER_BYTES_MAX + elements_bytes);
    match protocol {
        Protocol::Resp3 => encode_header(b'%', pairs.len(), out),
        Protocol::Resp2 => encode_header(b'*', pairs.len() * 2, out),
    }
    for (key, value) in pairs {
        key.encode(protocol, out);
        value.encode(protocol, out);
    }
}

/// RESP3 `,<text>\r\n`; RESP2 `$<len>\r\n<text>\r\n`, where `text` is
/// [`format_double`]'s.
fn encode_double(value: f64, protocol: Protocol, out: &mut BytesMut) {
    let mut text = DoubleText::default();
    text.format(value);
    match protocol {
        Protocol::Resp3 => {
            out.reserve(1 + text.len + 2);
            out.put_u8(b',');
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Protocol::Resp2 => encode_bulk(text.as_bytes(), out),
    }
}

/// Formats a double exactly as Redis 7.0 does in replies: C's `"%.17g"`
/// (e.g. 1.5 → `1.5`, 0.1 → `0.10000000000000001`, 1e300 →
/// `1.0000000000000001e+300`, 3.0 → `3`, -0.0 → `-0`), and `inf`, `-inf`,
/// `nan` for the non-finite values. Seventeen significant digits identify
/// every `f64`, so the text parses back to the same value.
pub fn format_double(value: f64, out: &mut Vec<u8>) {
    let mut text = DoubleText::default();
    text.format(value);
    out.extend_from_slice(text.as_bytes());
}

/// Significant digits `%.17g` prints.
const DOUBLE_DIGITS: usize = 17;

/// A double's text, built on the stack.
#[derive(Default)]
struct DoubleText {
    bytes: [u8; DOUBLE_TEXT_BYTES_MAX],
    len: usize,
}

impl std::fmt::Write for DoubleText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl DoubleText {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Writes `value` as `%.17g` does: round to 17 significant digits, then
    /// use fixed notation when the decimal exponent is in `-4..17` and
    /// exponent notation otherwise, dropping trailing zeros (and a trailing
    /// `.`) from the fraction.
    fn format(&mut self, value: f64) {
        if value.is_nan() {
            return self.push(b"nan");
        }
        if value.is_infinite() {
            return self.push(if value > 0.0 { b"inf" } else { b"-inf" });
        }
        if value.is_sign_negative() {
            self.push(b"-");
        }
        // Rust's `{:.16e}` rounds exactly (like glibc), giving `d.ddd…de<exp>`
        // with 17 significant digits; reshape it into `%g` form.
        let mut scientific = DoubleText::default();
        // 24 bytes at most (`1.2345678901234567e-308`): the write cannot fail.
        let _ = write!(scientific, "{:.16e}", value.abs());
        let (mantissa, exponent) = scientific.as_bytes().split_at(DOUBLE_DIGITS + 1);
        let mut digits = [0; DOUBLE_DIGITS];
        digits[0] = mantissa[0];
        digits[1..].copy_from_slice(&mantissa[2..]);
        let exponent = std::str::from_utf8(&exponent[1..])
            .ok()
            .and_then(|text| text.parse::<i32>().ok())
            .unwrap_or(0);
        if (-4..DOUBLE_DIGITS as i32).contains(&exponent) {
            self.push_fixed(&digits, exponent);
        } else {
            self.push_exponential(&digits, exponent);
        }
    }

    /// `digits` × 10^(exponent - 16) in fixed notation, `-4 <= exponent < 17`.
    fn push_fixed(&mut self, digits: &[u8; DOUBLE_DIGITS], exponent: i32) {
        let fraction = if exponent >= 0 {
            let (integer, fraction) = digits.split_at(exponent as usize + 1);
            self.push(integer);
            fraction
        } else {
            self.push(b"0");
            digits
        };
        let fraction = trim_trailing_zeros(fraction);
        if !fraction.is_empty() {
            self.push(b".");
            for _ in exponent..-1 {
                self.push(b"0");
            }
            self.push(fraction);
        }
    }

    /// `d.ddde±XX`: at least two exponent digits, as C prints them.
    fn push_exponential(&mut self, digits: &[u8; DOUBLE_DIGITS], exponent: i32) {
        self.push(&digits[..1]);
        let fraction = trim_trailing_zeros(&digits[1..]);
        if !fraction.is_empty() {
            self.push(b".");
            self.push(fraction);
        }
        self.push(if exponent < 0 { b"e-" } else { b"e+" });
        if exponent.abs() < 10 {
            self.push(b"0");
        }
        let mut buffer = [0; INTEGER_TEXT_BYTES_MAX];
        self.push(format_u64(u64::from(exponent.unsigned_abs()), &mut buffer));
    }
}

fn trim_trailing_zeros(digits: &[u8]) -> &[u8] {
    let kept = digits
        .iter()
        .rposition(|&digit| digit != b'0')
        .map_or(0, |last| last + 1);
    &digits[..kept]
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
