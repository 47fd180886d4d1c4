//! The server's command parser: turns the bytes a client sends into argument
//! vectors, exactly as Redis 7.0's `processMultibulkBuffer` and
//! `processInlineBuffer` (networking.c) do.
//!
//! # Wire shapes
//!
//! * Multibulk: `*<count>\r\n` then `count` times `$<len>\r\n<payload>\r\n`.
//!   A count of zero or less (`*0\r\n`, `*-1\r\n`) is skipped silently.
//! * Inline: any line not starting with `*`, ended by `\n` (an `\r` before it
//!   is dropped), split into arguments like Redis's `sdssplitargs`: blanks
//!   separate arguments, `"double quotes"` understand `\xHH`, `\n`, `\r`,
//!   `\t`, `\b`, `\a` and `\<any>` → `<any>`, `'single quotes'` only `\'`.
//!   Blank lines are skipped silently.
//!
//! # Choices that pin Redis's behaviour
//!
//! * Header lines end at the first `\r`, and the byte after it is skipped
//!   without being checked; the two bytes after a bulk payload are skipped
//!   unchecked too (Redis does both).
//! * A header line (`*`/`$`) whose `\r` is not within the first
//!   `inline_bytes_max + 1` bytes, or an inline line whose `\n` is not, is
//!   refused ("too big ... count string", "too big inline request") as soon as
//!   more than `inline_bytes_max` bytes are buffered. That is what Redis does
//!   when bytes trickle in; Redis, which searches its whole query buffer,
//!   could accept a longer line delivered in one read. Bounding the search
//!   makes the outcome independent of how the stream is split and bounds the
//!   work per call.
//! * NUL is an ordinary byte. (Redis searches with C string functions, so a
//!   NUL hides the rest of an inline request from it.)
//!
//! # Memory
//!
//! Nothing is reserved from a length the client declared: the argument
//! vector starts with at most [`ARGV_PREALLOC_MAX`] slots and grows as
//! arguments arrive, and the parser never reserves input buffer space for a
//! declared bulk. Bulk payloads are split off the input buffer without
//! copying.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use super::number::parse_i64;
use super::reply::Reply;
use crate::limits::{
    ARGV_PREALLOC_MAX, INLINE_BYTES_MAX, MULTIBULK_COUNT_MAX, PROTO_MAX_BULK_LEN_DEFAULT,
};

/// The limits a connection's input is held to.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Largest bulk payload accepted (bytes); Redis's `proto-max-bulk-len`.
    pub bulk_bytes_max: usize,
    /// Largest multibulk count accepted (elements).
    pub multibulk_count_max: usize,
    /// Longest inline request, or `*`/`$` header line, that may be buffered
    /// before its line end (bytes).
    pub inline_bytes_max: usize,
}

impl Default for ParseLimits {
    fn default() -> ParseLimits {
        ParseLimits {
            bulk_bytes_max: PROTO_MAX_BULK_LEN_DEFAULT,
            multibulk_count_max: MULTIBULK_COUNT_MAX,
            inline_bytes_max: INLINE_BYTES_MAX,
        }
    }
}

/// Input that is not a valid command stream. The server replies
/// [`ProtocolError::to_reply`] and closes the connection.
///
/// `Display` gives Redis's exact text without the `ERR ` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `*` count that is not a number, or above the limit:
    /// "Protocol error: invalid multibulk length".
    InvalidMultibulkLength,
    /// A multibulk element that does not start with `$`:
    /// `Protocol error: expected '$', got '<byte>'`.
    ExpectedDollar(u8),
    /// `$` length that is not a number, negative, or above the limit:
    /// "Protocol error: invalid bulk length".
    InvalidBulkLength,
    /// No `\r` within `inline_bytes_max` bytes of a `*` line:
    /// "Protocol error: too big mbulk count string".
    TooBigMbulkCountString,
    /// No `\r` within `inline_bytes_max` bytes of a `$` line:
    /// "Protocol error: too big bulk count string".
    TooBigBulkCountString,
    /// No `\n` within `inline_bytes_max` bytes of an inline request:
    /// "Protocol error: too big inline request".
    TooBigInlineRequest,
    /// An inline request with an unterminated quote, or a closing quote not
    /// followed by a blank: "Protocol error: unbalanced quotes in request".
    UnbalancedQuotes,
}

impl ProtocolError {
    /// Redis's text; for [`ProtocolError::ExpectedDollar`], the part before
    /// the offending byte.
    fn text_prefix(&self) -> &'static str {
        match self {
            ProtocolError::InvalidMultibulkLength => "Protocol error: invalid multibulk length",
            ProtocolError::ExpectedDollar(_) => "Protocol error: expected '$', got '",
            ProtocolError::InvalidBulkLength => "Protocol error: invalid bulk length",
            ProtocolError::TooBigMbulkCountString => "Protocol error: too big mbulk count string",
            ProtocolError::TooBigBulkCountString => "Protocol error: too big bulk count string",
            ProtocolError::TooBigInlineRequest => "Protocol error: too big inline request",
            ProtocolError::UnbalancedQuotes => "Protocol error: unbalanced quotes in request",
        }
    }

    /// The error reply Redis sends before closing the connection, byte for
    /// byte: `ERR ` followed by the `Display` text, except that the byte of
    /// [`ProtocolError::ExpectedDollar`] is sent raw (Redis's `%c`) where
    /// `Display` shows the char with that code point.
    pub fn to_reply(&self) -> Reply {
        let mut text = b"ERR ".to_vec();
        text.extend_from_slice(self.text_prefix().as_bytes());
        if let ProtocolError::ExpectedDollar(byte) = self {
            text.extend_from_slice(&[*byte, b'\'']);
        }
        Reply::Error(Bytes::from(text))
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.text_prefix())?;
        if let ProtocolError::ExpectedDollar(byte) = self {
            write!(formatter, "{}'", char::from(*byte))?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {}

/// Incremental command parser for one connection.
///
/// Keeps the multibulk in progress between calls, so bytes already consumed
/// are never scanned again.
#[derive(Debug, Default)]
pub struct Parser {
    multibulk: Option<Multibulk>,
}

/// A multibulk command whose header has been consumed.
#[derive(Debug)]
struct Multibulk {
    /// Arguments not yet read.
    remaining_count: usize,
    /// Arguments read so far.
    argv: Vec<Bytes>,
    /// Length of the bulk whose `$` line has been consumed but whose payload
    /// has not fully arrived.
    pending_bulk_len: Option<usize>,
}

/// Where a header or inline line ends, if it is all there.
enum LineEnd {
    /// Index of the line's terminator byte in the buffer.
    At(usize),
    /// The terminator has not arrived yet; wait for more bytes.
    Incomplete,
    /// More than `inline_bytes_max` bytes are buffered without a terminator.
    TooLong,
}

/// The start of the next command.
enum Command {
    /// A whole inline command.
    Inline(Vec<Bytes>),
    /// A multibulk command whose header has been read.
    Multibulk(Multibulk),
}

/// Outcome of reading a multibulk header or an inline request from the front
/// of the buffer.
enum Step {
    /// A command was started (and its bytes consumed).
    Ready(Command),
    /// An empty command (`*0`, a blank line) was consumed; parse on.
    Empty,
    /// The line is not all there; nothing was consumed.
    Incomplete,
}

impl Parser {
    /// A parser with nothing in progress.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses the next complete command from the front of `buf`, consuming
    /// (advancing past) the bytes it used.
    ///
    /// `Ok(Some(argv))` with `argv` non-empty; `Ok(None)` when more bytes are
    /// needed (the partial frame's state is kept in `self`, so consumed parts
    /// are not rescanned); `Err` on a protocol error, after which the
    /// connection must be closed. Empty commands (`*0\r\n`, blank inline
    /// lines) are skipped, so one call returns at most one command but may
    /// consume any number of empty ones.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.multibulk.is_none() {
            if let Some(argv) = parse_whole_multibulk(buf, limits) {
                return Ok(Some(argv));
            }
        }
        let parsed = self.parse_command(buf, limits);
        if parsed.is_err() {
            self.multibulk = None;
        }
        parsed
    }

    /// True while a multibulk command is partially parsed.
    pub fn in_progress(&self) -> bool {
        self.multibulk.is_some()
    }

    fn parse_command(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let multibulk = match self.multibulk.as_mut() {
            Some(multibulk) => multibulk,
            None => match start_command(buf, limits)? {
                Some(Command::Inline(argv)) => return Ok(Some(argv)),
                Some(Command::Multibulk(multibulk)) => self.multibulk.insert(multibulk),
                None => return Ok(None),
            },
        };
        if !parse_bulks(multibulk, buf, limits)? {
            return Ok(None);
        }
        Ok(self.multibulk.take().map(|multibulk| multibulk.argv))
    }
}

/// Fast path for the common case: a complete, well-formed multibulk at the
/// front of `buf` (every header `<digits>\r\n`, count and lengths within
/// limits). The frame is taken with one `split_to` and its arguments are
/// slices of it. Anything else — partial, empty, malformed, oversized —
/// returns `None` without consuming, and the general parser (which owns every
/// error and edge case) takes over. Both paths yield the same argv for the
/// frames this one accepts; tests and the `resp_parse` fuzz target compare
/// whole-buffer parsing (this path) with byte-by-byte parsing (the other).
fn parse_whole_multibulk(buf: &mut BytesMut, limits: &ParseLimits) -> Option<Vec<Bytes>> {
    /// Reads `<digits>\r\n` at `at`: (value, index after the LF).
    fn header(buf: &[u8], at: usize) -> Option<(usize, usize)> {
        const DIGITS_MAX: usize = 10;
        let mut value = 0usize;
        let mut index = at;
        while let Some(&byte) = buf.get(index) {
            if !byte.is_ascii_digit() {
                break;
            }
            value = value * 10 + usize::from(byte - b'0');
            index += 1;
            if index - at > DIGITS_MAX {
                return None;
            }
        }
        let digits = index - at;
        let canonical = digits == 1 || (digits > 1 && buf[at] != b'0');
        (canonical && buf.get(index..index + 2) == Some(b"\r\n")).then_some((value, index + 2))
    }
    if buf.first() != Some(&b'*') {
        return None;
    }
    let (count, mut at) = header(buf, 1)?;
    if count == 0 || count > ARGV_PREALLOC_MAX {
        return None;
    }
    let mut ranges = [(0usize, 0usize); 8];
    let mut more = Vec::new();
    for index in 0..count {
        if buf.get(at) != Some(&b'$') {
            return None;
        }
        let (len, start) = header(buf, at + 1)?;
        if len > limits.bulk_bytes_max {
            return None;
        }
        let end = start.checked_add(len)?;
        if buf.len() < end.checked_add(2)? {
            return None;
        }
        if index < ranges.len() {
            ranges[index] = (start, end);
        } else {
            more.push((start, end));
        }
        at = end + 2; // the two bytes after a payload are skipped unchecked, as Redis does
    }
    let frame = buf.split_to(at).freeze();
    let argv = ranges[..count.min(ranges.len())]
        .iter()
        .chain(more.iter())
        .map(|&(start, end)| frame.slice(start..end))
        .collect();
    Some(argv)
}

/// Skips empty commands and starts the next one: `Ok(None)` when its first
/// line has not fully arrived.
fn start_command(
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Result<Option<Command>, ProtocolError> {
    loop {
        let step = match buf.first() {
            None => return Ok(None),
            Some(b'*') => parse_multibulk_header(buf, limits)?,
            Some(_) => parse_inline(buf, limits)?,
        };
        match step {
            Step::Ready(command) => return Ok(Some(command)),
            Step::Empty => {}
            Step::Incomplete => return Ok(None),
        }
    }
}

/// Finds the first `terminator` in `buf`, looking no further than
/// `inline_bytes_max` bytes in, and requires `extra_bytes` more bytes after
/// it to be buffered.
fn find_line_end(buf: &[u8], terminator: u8, extra_bytes: usize, limits: &ParseLimits) -> LineEnd {
    let window_len = buf.len().min(limits.inline_bytes_max.saturating_add(1));
    match buf[..window_len]
        .iter()
        .position(|&byte| byte == terminator)
    {
        Some(index) if buf.len() - index > extra_bytes => LineEnd::At(index),
        Some(_) => LineEnd::Incomplete,
        None if buf.len() > limits.inline_bytes_max => LineEnd::TooLong,
        None => LineEnd::Incomplete,
    }
}

/// Parses `*<count>\r?` at the front of `buf` (which starts with `*`);
/// a count of zero or less is an empty command.
fn parse_multibulk_header(buf: &mut BytesMut, limits: &ParseLimits) -> Result<Step, ProtocolError> {
    let cr_index = match find_line_end(buf, b'\r', 1, limits) {
        LineEnd::At(index) => index,
        LineEnd::Incomplete => return Ok(Step::Incomplete),
        LineEnd::TooLong => return Err(ProtocolError::TooBigMbulkCountString),
    };
    // `buf[0]` is the '*', so the '\r' is at index 1 or later.
    let count = match parse_i64(&buf[1..cr_index]) {
        Some(count) if count <= 0 => 0,
        Some(count) => usize::try_from(count)
            .ok()
            .filter(|&count| count <= limits.multibulk_count_max)
            .ok_or(ProtocolError::InvalidMultibulkLength)?,
        None => return Err(ProtocolError::InvalidMultibulkLength),
    };
    // Redis skips the '\r' and the byte after it without checking for '\n'.
    buf.advance(cr_index + 2);
    if count == 0 {
        return Ok(Step::Empty);
    }
    Ok(Step::Ready(Command::Multibulk(Multibulk {
        remaining_count: count,
        argv: Vec::with_capacity(count.min(ARGV_PREALLOC_MAX)),
        pending_bulk_len: None,
    })))
}

/// Reads bulk arguments into `multibulk` until it is complete (`Ok(true)`)
/// or `buf` runs out (`Ok(false)`).
fn parse_bulks(
    multibulk: &mut Multibulk,
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Result<bool, ProtocolError> {
    while multibulk.remaining_count > 0 {
        let bulk_len = match multibulk.pending_bulk_len {
            Some(bulk_len) => bulk_len,
            None => match parse_bulk_header(buf, limits)? {
                Some(bulk_len) => *multibulk.pending_bulk_len.insert(bulk_len),
                None => return Ok(false),
            },
        };
        // The payload and the two bytes after it (normally CRLF).
        if bulk_len
            .checked_add(2)
            .is_none_or(|needed| buf.len() < needed)
        {
            return Ok(false);
        }
        multibulk.argv.push(buf.split_to(bulk_len).freeze());
        // Redis skips these two bytes without checking that they are CRLF.
        buf.advance(2);
        multibulk.pending_bulk_len = None;
        multibulk.remaining_count -= 1;
    }
    Ok(true)
}

/// Parses `$<len>\r?` at the front of `buf`, consuming it. `Ok(None)` when
/// the line is incomplete (nothing consumed).
fn parse_bulk_header(
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Result<Option<usize>, ProtocolError> {
    let cr_index = match find_line_end(buf, b'\r', 1, limits) {
        LineEnd::At(index) => index,
        LineEnd::Incomplete => return Ok(None),
        LineEnd::TooLong => return Err(ProtocolError::TooBigBulkCountString),
    };
    // Like Redis, the '$' is checked only once the whole line is there.
    let digits = match buf[..cr_index].split_first() {
        Some((b'$', digits)) => digits,
        _ => return Err(ProtocolError::ExpectedDollar(buf[0])),
    };
    let bulk_len = parse_i64(digits)
        .and_then(|len| usize::try_from(len).ok())
        .filter(|&len| len <= limits.bulk_bytes_max)
        .ok_or(ProtocolError::InvalidBulkLength)?;
    buf.advance(cr_index + 2);
    Ok(Some(bulk_len))
}

/// Parses one inline request line at the front of `buf`; a blank line is an
/// empty command.
fn parse_inline(buf: &mut BytesMut, limits: &ParseLimits) -> Result<Step, ProtocolError> {
    let lf_index = match find_line_end(buf, b'\n', 0, limits) {
        LineEnd::At(index) => index,
        LineEnd::Incomplete => return Ok(Step::Incomplete),
        LineEnd::TooLong => return Err(ProtocolError::TooBigInlineRequest),
    };
    let line = &buf[..lf_index];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let argv = split_inline_args(line)?;
    buf.advance(lf_index + 1);
    if argv.is_empty() {
        return Ok(Step::Empty);
    }
    Ok(Step::Ready(Command::Inline(argv)))
}

/// C's `isspace` in the "C" locale: the blanks skipped between arguments and
/// accepted after a closing quote.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Splits an inline request into arguments as Redis's `sdssplitargs` does.
fn split_inline_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut argv = Vec::new();
    let mut index = 0;
    loop {
        while line.get(index).copied().is_some_and(is_blank) {
            index += 1;
        }
        if index == line.len() {
            return Ok(argv);
        }
        let mut arg = Vec::new();
        index = read_inline_arg(line, index, &mut arg)?;
        argv.push(Bytes::from(arg));
    }
}

/// Reads one argument starting at `index` into `arg`; returns the index just
/// past it. An unquoted run ends at space, tab, CR or LF (not at vertical tab
/// or form feed: `sdssplitargs` does not stop there); a quoted section ends
/// the argument.
fn read_inline_arg(
    line: &[u8],
    mut index: usize,
    arg: &mut Vec<u8>,
) -> Result<usize, ProtocolError> {
    loop {
        match line.get(index) {
            None | Some(b' ' | b'\t' | b'\r' | b'\n') => return Ok(index),
            Some(b'"') => return read_double_quoted(line, index + 1, arg),
            Some(b'\'') => return read_single_quoted(line, index + 1, arg),
            Some(&byte) => {
                arg.push(byte);
                index += 1;
            }
        }
    }
}

/// Reads a `"double quoted"` section whose body starts at `index`; returns
/// the index just past the closing quote.
fn read_double_quoted(
    line: &[u8],
    mut index: usize,
    arg: &mut Vec<u8>,
) -> Result<usize, ProtocolError> {
    loop {
        match line.get(index..) {
            Some([b'\\', escaped, rest @ ..]) => {
                let (byte, escape_len) = unescape(*escaped, rest);
                arg.push(byte);
                index += 1 + escape_len;
            }
            Some([b'"', rest @ ..]) => return closing_quote_end(rest, index + 1),
            Some([byte, ..]) => {
                arg.push(*byte);
                index += 1;
            }
            Some([]) | None => return Err(ProtocolError::UnbalancedQuotes),
        }
    }
}

/// Reads a `'single quoted'` section whose body starts at `index`; returns
/// the index just past the closing quote. Only `\'` is an escape.
fn read_single_quoted(
    line: &[u8],
    mut index: usize,
    arg: &mut Vec<u8>,
) -> Result<usize, ProtocolError> {
    loop {
        match line.get(index..) {
            Some([b'\\', b'\'', ..]) => {
                arg.push(b'\'');
                index += 2;
            }
            Some([b'\'', rest @ ..]) => return closing_quote_end(rest, index + 1),
            Some([byte, ..]) => {
                arg.push(*byte);
                index += 1;
            }
            Some([]) | None => return Err(ProtocolError::UnbalancedQuotes),
        }
    }
}

/// A closing quote must be followed by a blank or the end of the line.
fn closing_quote_end(rest: &[u8], end: usize) -> Result<usize, ProtocolError> {
    match rest.first() {
        Some(&byte) if !is_blank(byte) => Err(ProtocolError::UnbalancedQuotes),
        _ => Ok(end),
    }
}

/// The byte that `\<escaped><rest>` stands for inside double quotes, and how
/// many bytes after the backslash it used: `\xHH` (two hex digits), `\n`,
/// `\r`, `\t`, `\b`, `\a`, and `\<any>` for `<any>` (so `\xZZ` is `xZZ`).
fn unescape(escaped: u8, rest: &[u8]) -> (u8, usize) {
    if let (b'x', [high, low, ..]) = (escaped, rest) {
        if let Some(byte) = hex_byte(*high, *low) {
            return (byte, 3);
        }
    }
    let byte = match escaped {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => b'\x08',
        b'a' => b'\x07',
        other => other,
    };
    (byte, 1)
}

/// The byte two hex digits spell, if they are hex digits.
fn hex_byte(high: u8, low: u8) -> Option<u8> {
    let high = char::from(high).to_digit(16)?;
    let low = char::from(low).to_digit(16)?;
    u8::try_from(high * 16 + low).ok()
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
