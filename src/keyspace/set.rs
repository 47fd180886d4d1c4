//! A Redis set: unique byte-string members.
//!
//! Placeholder representation; the family's command work replaces it.

/// A Redis set: unique byte-string members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {
    len: usize,
}

impl Set {
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
        "hashtable"
    }

    /// Approximate heap bytes held (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        0
    }
}
