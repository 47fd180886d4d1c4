//! A Redis list: a sequence of byte strings, pushed and popped at both ends.
//!
//! Placeholder representation; the family's command work replaces it.

/// A Redis list: a sequence of byte strings, pushed and popped at both ends.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    len: usize,
}

impl List {
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
