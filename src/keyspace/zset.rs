//! A Redis sorted set: unique members ordered by (score, member).
//!
//! Placeholder representation; the family's command work replaces it.

/// A Redis sorted set: unique members ordered by (score, member).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {
    len: usize,
}

impl ZSet {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty (an empty collection is never stored under a key).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Approximate heap bytes held (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        0
    }
}
