//! A general RESP2 + RESP3 value parser: the client side of the protocol,
//! used by tests, the simulator's clients and the fuzzers to read what the
//! server sends.
//!
//! # Wire shapes
//!
//! | prefix | value | decoded as |
//! |---|---|---|
//! | `+text\r\n` | status | [`Reply::Simple`] |
//! | `-text\r\n` | error | [`Reply::Error`] |
//! | `:123\r\n` | integer | [`Reply::Integer`] |
//! | `$3\r\nfoo\r\n`, `$-1\r\n` | bulk string, null bulk | [`Reply::Bulk`], [`Reply::Null`] |
//! | `*2\r\n…`, `*-1\r\n` | array, null array | [`Reply::Array`], [`Reply::NullArray`] |
//! | `_\r\n` | RESP3 null | [`Reply::Null`] |
//! | `,1.5\r\n` | double | [`Reply::Double`] |
//! | `#t\r\n` | boolean | [`Reply::Boolean`] |
//! | `(123\r\n` | big number | [`Reply::BigNumber`] |
//! | `=9\r\ntxt:hello\r\n` | verbatim string | [`Reply::Verbatim`] |
//! | `%1\r\n…` | map | [`Reply::Map`] |
//! | `~2\r\n…` | set | [`Reply::Set`] |
//! | `>3\r\n…` | push | [`Reply::Push`] |
//! | `\|1\r\n…` | attribute | skipped: the value after it is returned |
//!
//! Lines end at the first `\r`, which must be followed by `\n`; a bulk or
//! verbatim payload must be followed by `\r\n`. Integers and lengths follow
//! Redis's strict integer grammar. Streamed strings and aggregates (`$?`,
//! `*?`) are rejected.
//!
//! # Limits
//!
//! Aggregates nest at most [`RESP_NESTING_MAX`] deep; recursion is bounded
//! by that. Vectors start with at most `AGGREGATE_PREALLOC_MAX` (16) slots
//! whatever count the header declares, and grow as elements parse. An
//! incomplete value is parsed again from its start on the next call, which
//! suits a client but not a server.

use std::fmt;

use bytes::Bytes;

use super::number::parse_i64;
use super::reply::Reply;
use crate::limits::RESP_NESTING_MAX;

/// Most element slots allocated for an aggregate before its elements have
/// actually parsed. A performance knob, not a limit: larger aggregates grow.
const AGGREGATE_PREALLOC_MAX: usize = 16;

/// Parses one complete RESP2 or RESP3 value from the front of `input`.
///
/// `Ok(Some((reply, consumed_bytes)))` for a complete value; `Ok(None)` if
/// `input` ends before the value does; `Err` if the value is malformed or
/// nested deeper than [`RESP_NESTING_MAX`].
pub fn parse_frame(input: &[u8]) -> Result<Option<(Reply, usize)>, FrameError> {
    let mut cursor = Cursor { input, position: 0 };
    match cursor.value(0) {
        Ok(reply) => Ok(Some((reply, cursor.position))),
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::Malformed(error)) => Err(error),
    }
}

/// A malformed RESP value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    kind: FrameErrorKind,
    offset: usize,
}

/// What was wrong with a malformed RESP value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameErrorKind {
    /// The value starts with a byte that is no RESP type prefix.
    UnknownType(u8),
    /// A `\r` not followed by `\n`, or a payload not followed by `\r\n`.
    MissingCrlf,
    /// An integer reply that is not a strict decimal `i64`.
    InvalidInteger,
    /// A length or count that is not a strict non-negative decimal (`$-1`
    /// and `*-1`, the nulls, aside).
    InvalidLength,
    /// A double that does not parse as one.
    InvalidDouble,
    /// A boolean other than `t` or `f`.
    InvalidBoolean,
    /// A RESP3 null (`_`) with text after the prefix.
    InvalidNull,
    /// A verbatim string shorter than 4 bytes or without `:` after its format.
    InvalidVerbatim,
    /// Aggregates nested deeper than [`RESP_NESTING_MAX`].
    NestingTooDeep,
}

impl FrameError {
    /// What was wrong.
    pub fn kind(&self) -> &FrameErrorKind {
        &self.kind
    }

    /// Offset in the input of the line or payload found malformed.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FrameErrorKind::UnknownType(byte) => {
                write!(formatter, "unknown RESP type byte 0x{byte:02x}")?
            }
            FrameErrorKind::MissingCrlf => formatter.write_str("expected CRLF")?,
            FrameErrorKind::InvalidInteger => formatter.write_str("invalid integer")?,
            FrameErrorKind::InvalidLength => formatter.write_str("invalid length")?,
            FrameErrorKind::InvalidDouble => formatter.write_str("invalid double")?,
            FrameErrorKind::InvalidBoolean => formatter.write_str("invalid boolean")?,
            FrameErrorKind::InvalidNull => formatter.write_str("invalid null")?,
            FrameErrorKind::InvalidVerbatim => formatter.write_str("invalid verbatim string")?,
            FrameErrorKind::NestingTooDeep => write!(
                formatter,
                "aggregates nested deeper than {RESP_NESTING_MAX} levels"
            )?,
        }
        write!(formatter, " at byte {}", self.offset)
    }
}

impl std::error::Error for FrameError {}

/// Why parsing stopped before a value was complete.
enum Stop {
    /// The input ends inside the value.
    Incomplete,
    /// The value is malformed.
    Malformed(FrameError),
}

/// Reading position in the input.
struct Cursor<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn malformed(&self, kind: FrameErrorKind, offset: usize) -> Stop {
        Stop::Malformed(FrameError { kind, offset })
    }

    /// Reads the line at the cursor, without its `\r\n`, and moves past it.
    fn line(&mut self) -> Result<&'a [u8], Stop> {
        let input = self.input;
        let rest = input.get(self.position..).unwrap_or_default();
        let cr_index = rest
            .iter()
            .position(|&byte| byte == b'\r')
            .ok_or(Stop::Incomplete)?;
        match rest.get(cr_index + 1) {
            None => Err(Stop::Incomplete),
            Some(b'\n') => {
                self.position += cr_index + 2;
                Ok(&rest[..cr_index])
            }
            Some(_) => Err(self.malformed(FrameErrorKind::MissingCrlf, self.position + cr_index)),
        }
    }

    /// Reads `len` payload bytes and the `\r\n` after them.
    fn payload(&mut self, len: usize) -> Result<&'a [u8], Stop> {
        let input = self.input;
        let rest = input.get(self.position..).unwrap_or_default();
        let needed = len.checked_add(2).ok_or(Stop::Incomplete)?;
        if rest.len() < needed {
            return Err(Stop::Incomplete);
        }
        if &rest[len..needed] != b"\r\n" {
            return Err(self.malformed(FrameErrorKind::MissingCrlf, self.position + len));
        }
        self.position += needed;
        Ok(&rest[..len])
    }

    /// Parses a length or count header's text: a strict, non-negative
    /// decimal.
    fn length(&self, text: &[u8], offset: usize) -> Result<usize, Stop> {
        parse_i64(text)
            .and_then(|value| usize::try_from(value).ok())
            .ok_or_else(|| self.malformed(FrameErrorKind::InvalidLength, offset))
    }

    /// Parses the value at the cursor; `depth` aggregates enclose it.
    /// Attributes before the value are parsed and dropped.
    fn value(&mut self, depth: usize) -> Result<Reply, Stop> {
        loop {
            let start = self.position;
            let line = self.line()?;
            let Some((&prefix, text)) = line.split_first() else {
                return Err(self.malformed(FrameErrorKind::UnknownType(b'\r'), start));
            };
            match prefix {
                b'$' | b'=' => return self.blob(prefix, text, start),
                b'*' | b'%' | b'~' | b'>' => return self.aggregate(prefix, text, depth, start),
                b'|' => {
                    self.attribute(text, depth, start)?;
                }
                _ => return self.simple(prefix, text, start),
            }
        }
    }

    /// A value that is all on its line.
    fn simple(&self, prefix: u8, text: &[u8], start: usize) -> Result<Reply, Stop> {
        let invalid = |kind| self.malformed(kind, start);
        match prefix {
            b'+' => Ok(Reply::Simple(Bytes::copy_from_slice(text))),
            b'-' => Ok(Reply::Error(Bytes::copy_from_slice(text))),
            b'(' => Ok(Reply::BigNumber(Bytes::copy_from_slice(text))),
            b':' => parse_i64(text)
                .map(Reply::Integer)
                .ok_or_else(|| invalid(FrameErrorKind::InvalidInteger)),
            b',' => std::str::from_utf8(text)
                .ok()
                .and_then(|text| text.parse::<f64>().ok())
                .map(Reply::Double)
                .ok_or_else(|| invalid(FrameErrorKind::InvalidDouble)),
            b'#' => match text {
                b"t" => Ok(Reply::Boolean(true)),
                b"f" => Ok(Reply::Boolean(false)),
                _ => Err(invalid(FrameErrorKind::InvalidBoolean)),
            },
            b'_' if text.is_empty() => Ok(Reply::Null),
            b'_' => Err(invalid(FrameErrorKind::InvalidNull)),
            other => Err(invalid(FrameErrorKind::UnknownType(other))),
        }
    }

    /// A bulk (`$`) or verbatim (`=`) string, whose header line was `text`.
    fn blob(&mut self, prefix: u8, text: &[u8], start: usize) -> Result<Reply, Stop> {
        if prefix == b'$' && text == b"-1" {
            return Ok(Reply::Null);
        }
        let len = self.length(text, start)?;
        let payload_start = self.position;
        let payload = self.payload(len)?;
        if prefix == b'$' {
            return Ok(Reply::Bulk(Bytes::copy_from_slice(payload)));
        }
        match payload {
            [a, b, c, b':', text @ ..] => Ok(Reply::Verbatim {
                format: [*a, *b, *c],
                text: Bytes::copy_from_slice(text),
            }),
            _ => Err(self.malformed(FrameErrorKind::InvalidVerbatim, payload_start)),
        }
    }

    /// An array (`*`), map (`%`), set (`~`) or push (`>`), whose header line
    /// was `text`; `depth` aggregates enclose it.
    fn aggregate(
        &mut self,
        prefix: u8,
        text: &[u8],
        depth: usize,
        start: usize,
    ) -> Result<Reply, Stop> {
        if depth >= RESP_NESTING_MAX {
            return Err(self.malformed(FrameErrorKind::NestingTooDeep, start));
        }
        if prefix == b'*' && text == b"-1" {
            return Ok(Reply::NullArray);
        }
        let count = self.length(text, start)?;
        if prefix == b'%' {
            return self.pairs(count, depth + 1).map(Reply::Map);
        }
        let mut items = Vec::with_capacity(count.min(AGGREGATE_PREALLOC_MAX));
        for _ in 0..count {
            items.push(self.value(depth + 1)?);
        }
        Ok(match prefix {
            b'~' => Reply::Set(items),
            b'>' => Reply::Push(items),
            _ => Reply::Array(items),
        })
    }

    /// `count` key, value pairs, each at `depth`.
    fn pairs(&mut self, count: usize, depth: usize) -> Result<Vec<(Reply, Reply)>, Stop> {
        let mut pairs = Vec::with_capacity(count.min(AGGREGATE_PREALLOC_MAX));
        for _ in 0..count {
            let key = self.value(depth)?;
            pairs.push((key, self.value(depth)?));
        }
        Ok(pairs)
    }

    /// An attribute map (`|`), whose header line was `text`: parsed for
    /// well-formedness, then dropped.
    fn attribute(&mut self, text: &[u8], depth: usize, start: usize) -> Result<(), Stop> {
        if depth >= RESP_NESTING_MAX {
            return Err(self.malformed(FrameErrorKind::NestingTooDeep, start));
        }
        let count = self.length(text, start)?;
        self.pairs(count, depth + 1).map(drop)
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
