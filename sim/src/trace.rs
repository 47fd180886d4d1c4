//! The run's trace: an incremental hash of every event (P5 determinism) and,
//! when asked for, readable lines (`--trace`, failure excerpts).
//!
//! Hashing is cheap and always on: event fields are folded into a 64-bit
//! state as they happen, with no formatting and no allocation. Readable
//! lines are built only when a mode other than [`TraceMode::Off`] is chosen,
//! so a sweep pays nothing for them; a failing seed is simply run again with
//! a ring buffer to show the events leading up to the failure.

use std::collections::VecDeque;
use std::fmt::Write as _;

use bytes::Bytes;
use corekv::resp::Reply;

/// What to do with readable trace lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// Build none (sweeps).
    Off,
    /// Print each line to stdout as it happens (`--trace`).
    Print,
    /// Keep the last this-many lines (failure excerpts).
    Ring(usize),
}

/// A 64-bit multiplicative hash, fed word by word (FxHash's mixing step).
/// Not cryptographic: it only has to make two different traces collide
/// with negligible probability.
#[derive(Clone, Copy, Debug)]
pub struct TraceHash(u64);

const MIX: u64 = 0x517c_c1b7_2722_0a95;

impl TraceHash {
    /// A fresh hash.
    pub fn new() -> TraceHash {
        TraceHash(0x243f_6a88_85a3_08d3)
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }

    /// Folds in one word.
    pub fn word(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MIX);
    }

    /// Folds in a byte string (length first, so concatenations differ).
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(word));
        }
    }

    /// Folds in a command's arguments.
    pub fn argv(&mut self, argv: &[Bytes]) {
        self.word(argv.len() as u64);
        for arg in argv {
            self.bytes(arg);
        }
    }

    /// Folds in a reply, structurally (no encoding).
    pub fn reply(&mut self, reply: &Reply) {
        match reply {
            Reply::Simple(text) => {
                self.word(1);
                self.bytes(text);
            }
            Reply::Error(text) => {
                self.word(2);
                self.bytes(text);
            }
            Reply::Integer(value) => {
                self.word(3);
                self.word(*value as u64);
            }
            Reply::Bulk(payload) => {
                self.word(4);
                self.bytes(payload);
            }
            Reply::Null => self.word(5),
            Reply::NullArray => self.word(6),
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
                self.word(7);
                self.word(items.len() as u64);
                items.iter().for_each(|item| self.reply(item));
            }
            Reply::Map(pairs) | Reply::Pairs(pairs) => {
                self.word(if matches!(reply, Reply::Map(_)) {
                    8
                } else {
                    13
                });
                self.word(pairs.len() as u64);
                for (key, value) in pairs {
                    self.reply(key);
                    self.reply(value);
                }
            }
            Reply::Double(value) => {
                self.word(9);
                self.word(value.to_bits());
            }
            Reply::Boolean(value) => {
                self.word(10);
                self.word(u64::from(*value));
            }
            Reply::BigNumber(digits) => {
                self.word(11);
                self.bytes(digits);
            }
            Reply::Verbatim { format, text } => {
                self.word(12);
                self.bytes(format);
                self.bytes(text);
            }
            // Variants added to the engine later hash by their debug form
            // until they get a case of their own.
            #[allow(unreachable_patterns)]
            other => {
                self.word(14);
                self.bytes(format!("{other:?}").as_bytes());
            }
        }
    }
}

/// So that std types (e.g. enum discriminants) can be folded in with `Hash`.
impl std::hash::Hasher for TraceHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }

    fn write_u64(&mut self, word: u64) {
        self.word(word);
    }
}

impl Default for TraceHash {
    fn default() -> TraceHash {
        TraceHash::new()
    }
}

/// Collects the trace of one run.
#[derive(Debug)]
pub struct Recorder {
    mode: TraceMode,
    ring: VecDeque<String>,
    /// The determinism hash of every event so far.
    pub hash: TraceHash,
}

impl Recorder {
    /// A recorder in `mode`.
    pub fn new(mode: TraceMode) -> Recorder {
        Recorder {
            mode,
            ring: VecDeque::new(),
            hash: TraceHash::new(),
        }
    }

    /// True when readable lines are wanted (callers skip formatting otherwise).
    pub fn lines_enabled(&self) -> bool {
        self.mode != TraceMode::Off
    }

    /// Records a readable line, built only if lines are enabled.
    pub fn line(&mut self, build: impl FnOnce() -> String) {
        match self.mode {
            TraceMode::Off => {}
            TraceMode::Print => println!("{}", build()),
            TraceMode::Ring(capacity) => {
                if self.ring.len() == capacity {
                    self.ring.pop_front();
                }
                self.ring.push_back(build());
            }
        }
    }

    /// The lines kept by [`TraceMode::Ring`], oldest first.
    pub fn take_lines(&mut self) -> Vec<String> {
        self.ring.drain(..).collect()
    }
}

/// A byte string for humans: printable ASCII as is, the rest escaped.
pub fn show_bytes(bytes: &[u8]) -> String {
    const SHOWN_BYTES_MAX: usize = 64;
    let mut text = String::new();
    for &byte in bytes.iter().take(SHOWN_BYTES_MAX) {
        match byte {
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(char::from(byte)),
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            _ => {
                let _ = write!(text, "\\x{byte:02x}");
            }
        }
    }
    if bytes.len() > SHOWN_BYTES_MAX {
        let _ = write!(text, "...(+{} bytes)", bytes.len() - SHOWN_BYTES_MAX);
    }
    text
}

/// A command for humans: `SET "k1" "v"`.
pub fn show_argv(argv: &[Bytes]) -> String {
    let mut parts = argv.iter();
    let mut text = parts
        .next()
        .map(|name| show_bytes(name).to_ascii_uppercase())
        .unwrap_or_default();
    for arg in parts {
        let _ = write!(text, " \"{}\"", show_bytes(arg));
    }
    text
}

/// A reply for humans, in the style of redis-cli.
pub fn show_reply(reply: &Reply) -> String {
    const SHOWN_ITEMS_MAX: usize = 16;
    let list = |open: &str, items: &[Reply], close: &str| {
        let mut text = String::from(open);
        for (index, item) in items.iter().take(SHOWN_ITEMS_MAX).enumerate() {
            if index > 0 {
                text.push_str(", ");
            }
            text.push_str(&show_reply(item));
        }
        if items.len() > SHOWN_ITEMS_MAX {
            let _ = write!(text, ", ...(+{})", items.len() - SHOWN_ITEMS_MAX);
        }
        text.push_str(close);
        text
    };
    match reply {
        Reply::Simple(text) => format!("+{}", show_bytes(text)),
        Reply::Error(text) => format!("-{}", show_bytes(text)),
        Reply::Integer(value) => format!(":{value}"),
        Reply::Bulk(payload) => format!("\"{}\"", show_bytes(payload)),
        Reply::Null => "(nil)".to_string(),
        Reply::NullArray => "(nil array)".to_string(),
        Reply::Array(items) => list("[", items, "]"),
        Reply::Set(items) => list("~{", items, "}"),
        Reply::Push(items) => list(">[", items, "]"),
        Reply::Map(pairs) | Reply::Pairs(pairs) => {
            let flat: Vec<Reply> = pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            let open = if matches!(reply, Reply::Map(_)) {
                "%{"
            } else {
                "pairs{"
            };
            list(open, &flat, "}")
        }
        Reply::Double(value) => format!(",{value}"),
        Reply::Boolean(value) => format!("#{value}"),
        Reply::BigNumber(digits) => format!("({}", show_bytes(digits)),
        Reply::Verbatim { text, .. } => format!("={}", show_bytes(text)),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_distinguishes_concatenations_and_structure() {
        let hash = |parts: &[&[u8]]| {
            let mut h = TraceHash::new();
            parts.iter().for_each(|p| h.bytes(p));
            h.value()
        };
        assert_ne!(hash(&[b"ab", b"c"]), hash(&[b"a", b"bc"]));
        let reply = |r: &Reply| {
            let mut h = TraceHash::new();
            h.reply(r);
            h.value()
        };
        assert_ne!(reply(&Reply::Null), reply(&Reply::NullArray));
        assert_ne!(
            reply(&Reply::Array(vec![Reply::Integer(1)])),
            reply(&Reply::Set(vec![Reply::Integer(2)]))
        );
    }

    #[test]
    fn shows_binary_safely() {
        assert_eq!(show_bytes(b"a\r\n\x00\""), "a\\r\\n\\x00\\\"");
        assert_eq!(
            show_argv(&[Bytes::from_static(b"set"), Bytes::from_static(b"k")]),
            "SET \"k\""
        );
    }
}
