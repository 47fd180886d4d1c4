//! The longest common subsequence behind `LCS`, as Redis 7.0 computes it
//! (`lcsCommand` in t_string.c): the classic dynamic-programming table, then a
//! walk back from its corner that yields the subsequence and the matching
//! ranges, last range first.
//!
//! The table has `(a.len() + 1) * (b.len() + 1)` cells; callers check that
//! size against their limits before calling [`lcs_table`].

/// Bytes one table cell takes (Redis uses `uint32_t`).
pub(crate) const LCS_CELL_BYTES: u64 = 4;

/// A contiguous run of matching bytes: inclusive index ranges in each string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MatchRange {
    /// First and last index in the first string.
    pub a: (u32, u32),
    /// First and last index in the second string.
    pub b: (u32, u32),
}

impl MatchRange {
    /// Number of bytes in the run.
    pub fn len(&self) -> u32 {
        self.a.1 - self.a.0 + 1
    }
}

/// The LCS table of `a` and `b`: cell `(i, j)` holds the LCS length of
/// `a[..i]` and `b[..j]`.
pub(crate) struct LcsTable<'s> {
    a: &'s [u8],
    b: &'s [u8],
    cells: Vec<u32>,
}

/// Builds the table. Both lengths must be below `u32::MAX`.
pub(crate) fn lcs_table<'s>(a: &'s [u8], b: &'s [u8]) -> LcsTable<'s> {
    assert!(a.len() < u32::MAX as usize && b.len() < u32::MAX as usize);
    let width = b.len() + 1;
    let mut cells = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            cells[i * width + j] = if a[i - 1] == b[j - 1] {
                cells[(i - 1) * width + j - 1] + 1
            } else {
                cells[(i - 1) * width + j].max(cells[i * width + j - 1])
            };
        }
    }
    LcsTable { a, b, cells }
}

impl LcsTable<'_> {
    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * (self.b.len() + 1) + j]
    }

    /// Length of the longest common subsequence.
    pub fn len(&self) -> u32 {
        self.at(self.a.len(), self.b.len())
    }

    /// The subsequence itself and its matching ranges (from the end of the
    /// strings backwards, as Redis emits them).
    pub fn walk(&self) -> (Vec<u8>, Vec<MatchRange>) {
        let mut sequence = vec![0u8; self.len() as usize];
        let mut remaining = sequence.len();
        let mut ranges = Vec::new();
        let mut current: Option<MatchRange> = None;
        let (mut i, mut j) = (self.a.len(), self.b.len());
        while i > 0 && j > 0 {
            let mut emit = false;
            if self.a[i - 1] == self.b[j - 1] {
                remaining -= 1;
                sequence[remaining] = self.a[i - 1];
                let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
                match current.as_mut() {
                    None => {
                        current = Some(MatchRange {
                            a: (ai, ai),
                            b: (bj, bj),
                        })
                    }
                    Some(range) if range.a.0 == ai + 1 && range.b.0 == bj + 1 => {
                        range.a.0 = ai;
                        range.b.0 = bj;
                    }
                    Some(_) => emit = true,
                }
                // A match at the start of either string ends the walk.
                emit |= current.is_some_and(|r| r.a.0 == 0 || r.b.0 == 0);
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = current.is_some();
            }
            if emit {
                ranges.extend(current.take());
            }
        }
        (sequence, ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_documentation_example() {
        let table = lcs_table(b"ohmytext", b"mynewtext");
        assert_eq!(table.len(), 6);
        let (sequence, ranges) = table.walk();
        assert_eq!(sequence, b"mytext");
        let pairs: Vec<_> = ranges.iter().map(|r| (r.a, r.b, r.len())).collect();
        assert_eq!(pairs, vec![((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
    }

    #[test]
    fn empty_and_disjoint_strings() {
        assert_eq!(lcs_table(b"", b"abc").walk(), (Vec::new(), Vec::new()));
        assert_eq!(lcs_table(b"abc", b"xyz").len(), 0);
        let (sequence, ranges) = lcs_table(b"abc", b"abc").walk();
        assert_eq!(sequence, b"abc");
        assert_eq!(ranges.len(), 1);
    }
}
