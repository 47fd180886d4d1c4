//! The argument cursor every command handler drains (mini-redis style).
//!
//! A handler takes arguments in order with `next_*`, and calls
//! [`Args::finish`] when it expects no more, so stray arguments become
//! `ERR syntax error` in one place.

use bytes::Bytes;

use super::CommandError;
use crate::keyspace::parse_canonical_i64;

/// A command's argv with a read position just after the command name.
#[derive(Clone, Debug)]
pub struct Args {
    argv: Vec<Bytes>,
    position: usize,
}

impl Args {
    /// Wraps a parsed argv (`argv[0]` is the command name). The cursor starts
    /// at `argv[1]`.
    pub fn new(argv: Vec<Bytes>) -> Args {
        Args { argv, position: 1 }
    }

    /// The whole argv, command name included.
    pub fn argv(&self) -> &[Bytes] {
        &self.argv
    }

    /// Consumes the cursor, returning the argv.
    pub fn into_argv(self) -> Vec<Bytes> {
        self.argv
    }

    /// Arguments not yet taken.
    pub fn remaining(&self) -> usize {
        self.argv.len().saturating_sub(self.position)
    }

    /// True when every argument has been taken.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next argument without taking it.
    pub fn peek(&self) -> Option<&Bytes> {
        self.argv.get(self.position)
    }

    /// Takes the next argument; `ERR syntax error` if there is none.
    pub fn next_bytes(&mut self) -> Result<Bytes, CommandError> {
        let arg = self
            .argv
            .get(self.position)
            .cloned()
            .ok_or(CommandError::Syntax)?;
        self.position += 1;
        Ok(arg)
    }

    /// Takes the next argument as a canonical signed 64-bit integer;
    /// `ERR value is not an integer or out of range` otherwise.
    pub fn next_i64(&mut self) -> Result<i64, CommandError> {
        let arg = self.next_bytes()?;
        parse_i64(&arg)
    }

    /// Takes the next argument as a double (`ERR value is not a valid float`).
    pub fn next_f64(&mut self) -> Result<f64, CommandError> {
        let arg = self.next_bytes()?;
        parse_f64(&arg)
    }

    /// Takes the next argument if it equals `word` (ASCII case-insensitive).
    pub fn eat_keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(arg) if arg.eq_ignore_ascii_case(word.as_bytes()) => {
                self.position += 1;
                true
            }
            _ => false,
        }
    }

    /// Takes every remaining argument.
    pub fn rest(&mut self) -> Vec<Bytes> {
        let rest = self
            .argv
            .get(self.position..)
            .map(<[Bytes]>::to_vec)
            .unwrap_or_default();
        self.position = self.argv.len();
        rest
    }

    /// `ERR syntax error` if any argument is left.
    pub fn finish(&self) -> Result<(), CommandError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CommandError::Syntax)
        }
    }
}

/// Parses a canonical signed 64-bit integer as Redis's `string2ll`.
pub fn parse_i64(bytes: &[u8]) -> Result<i64, CommandError> {
    parse_canonical_i64(bytes).ok_or(CommandError::NotInteger)
}

/// Parses a double as Redis's `string2d`/`getDoubleFromObject`: no leading or
/// trailing spaces, `inf`/`-inf`/`+inf` accepted, `nan` refused.
pub fn parse_f64(bytes: &[u8]) -> Result<f64, CommandError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CommandError::NotFloat)?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return Err(CommandError::NotFloat);
    }
    let value: f64 = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')) =>
        {
            return Err(CommandError::NotFloat)
        }
        _ => text.parse().map_err(|_| CommandError::NotFloat)?,
    };
    if value.is_nan() {
        return Err(CommandError::NotFloat);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Args {
        Args::new(
            items
                .iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn finish_rejects_extra_arguments() {
        let mut a = args(&["get", "k", "extra"]);
        assert_eq!(a.next_bytes().unwrap(), "k");
        assert_eq!(a.finish(), Err(CommandError::Syntax));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let mut a = args(&["set", "nx"]);
        assert!(a.eat_keyword("NX"));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn floats_follow_redis() {
        assert_eq!(parse_f64(b"1.5"), Ok(1.5));
        assert_eq!(parse_f64(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Ok(1000.0));
        for bad in [&b"nan"[..], b"", b" 1", b"1 ", b"abc", b"0x10"] {
            assert_eq!(parse_f64(bad), Err(CommandError::NotFloat));
        }
    }
}
