//! A Redis sorted set: unique members ordered by (score, member), in Redis
//! 7.0's two encodings.
//!
//! * **listpack** — at most [`LISTPACK_ENTRIES_MAX`] entries, each member at
//!   most [`LISTPACK_VALUE_BYTES_MAX`] bytes. Entries are packed in one
//!   `Vec<u8>` in ascending order, each as `[member length: u8][member
//!   bytes][score: f64 little-endian]`: 9 bytes of overhead per entry, one
//!   allocation per set, so a million small sorted sets stay compact. Every
//!   operation is a linear walk (n ≤ 128), as in Redis.
//! * **skiplist** — a [`SkipList`] with rank spans (O(log n) insert, delete,
//!   rank, element by rank and range bounds) plus a [`Dict`] from member to
//!   score (O(1) ZSCORE and membership), both holding the same `Bytes`.
//!
//! Order: scores compare as `f64` (so `-0.0 == 0.0`; NaN never gets in),
//! ties by member bytes (`memcmp`), exactly as `zslInsert` and `zzlInsert`.
//! Like Redis's listpack, which stores scores as text, a listpack keeps
//! `-0` as `0`; a skiplist keeps the sign.
//!
//! Conversion is one way, as in Redis: adding a member longer than 64 bytes
//! or a 129th entry makes a skiplist, which stays one. Only results built
//! whole ([`ZSet::from_entries`]: ZUNIONSTORE, ZRANGESTORE, ...) pick the
//! encoding from their final size, as Redis's `zsetConvertToListpackIfNeeded`.
//!
//! This module owns the representation only: no commands, no replies.

mod skiplist;

use bytes::Bytes;
use rand::RngCore;

use super::dict::Dict;
pub use skiplist::SkipList;

/// Most entries of a listpack-encoded sorted set (`zset-max-listpack-entries`).
pub const LISTPACK_ENTRIES_MAX: usize = 128;

/// Longest member of a listpack-encoded sorted set (`zset-max-listpack-value`).
pub const LISTPACK_VALUE_BYTES_MAX: usize = 64;

const _: () = assert!(
    LISTPACK_VALUE_BYTES_MAX <= u8::MAX as usize,
    "lengths fit one byte"
);

/// A Redis sorted set: unique members ordered by (score, member).
#[derive(Clone, Debug)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    Listpack(Listpack),
    Skiplist(Box<Sorted>),
}

/// The skiplist encoding: order plus member → score.
#[derive(Clone, Debug)]
struct Sorted {
    list: SkipList,
    scores: Dict<Bytes, f64>,
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::new()
    }
}

/// Sorted sets are equal when they hold the same (member, score) pairs,
/// whatever their encoding.
impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl ZSet {
    /// An empty, listpack-encoded sorted set.
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Listpack(Listpack::default()),
        }
    }

    /// A sorted set holding `entries` (distinct members), listpack-encoded
    /// when it fits the listpack limits, as Redis encodes a result built
    /// whole.
    pub fn from_entries(entries: Vec<(Bytes, f64)>, rng: &mut dyn RngCore) -> ZSet {
        let fits = entries.len() <= LISTPACK_ENTRIES_MAX
            && entries
                .iter()
                .all(|(member, _)| member.len() <= LISTPACK_VALUE_BYTES_MAX);
        let mut zset = ZSet::new();
        if !fits {
            zset.convert_to_skiplist(rng);
        }
        for (member, score) in entries {
            zset.set_score(&member, score, rng);
        }
        zset
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(listpack) => listpack.len,
            Repr::Skiplist(sorted) => sorted.list.len(),
        }
    }

    /// True when empty (an empty collection is never stored under a key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    /// Approximate heap bytes held (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(listpack) => listpack.bytes.capacity(),
            Repr::Skiplist(sorted) => {
                let members: usize = sorted.list.iter().map(|(member, _)| member.len()).sum();
                // Dict slot (40 bytes) plus about one bucket header (24) per member.
                sorted.list.heap_bytes() + members + sorted.scores.len() * 64
            }
        }
    }

    /// Every (member, score) in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (Bytes, f64)> + '_ {
        let (listpack, sorted) = match &self.repr {
            Repr::Listpack(listpack) => (Some(listpack), None),
            Repr::Skiplist(sorted) => (None, Some(sorted)),
        };
        let packed = listpack.into_iter().flat_map(|listpack| {
            listpack
                .iter()
                .map(|(member, score)| (Bytes::copy_from_slice(member), score))
        });
        let linked = sorted.into_iter().flat_map(|sorted| {
            sorted
                .list
                .iter()
                .map(|(member, score)| (member.clone(), score))
        });
        packed.chain(linked)
    }

    /// The score of `member`. O(n ≤ 128) listpack, O(1) skiplist.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(listpack) => listpack.find(member).map(|(_, score)| score),
            Repr::Skiplist(sorted) => sorted.scores.get(member).copied(),
        }
    }

    /// Sets `member`'s score, adding it if absent (converting to a skiplist
    /// when the listpack limits would be passed; `rng` seeds the new
    /// structures). Returns true if the member was added. A member whose
    /// score compares equal (`-0.0` vs `0.0`) keeps its old score, as Redis.
    pub fn set_score(&mut self, member: &[u8], score: f64, rng: &mut dyn RngCore) -> bool {
        assert!(!score.is_nan(), "callers reject NaN scores");
        let old = self.score(member);
        if let Some(old) = old {
            if old != score {
                self.remove(member);
                self.insert_new(member, score);
            }
            return false;
        }
        let too_big =
            self.len() + 1 > LISTPACK_ENTRIES_MAX || member.len() > LISTPACK_VALUE_BYTES_MAX;
        if too_big {
            self.convert_to_skiplist(rng);
        }
        self.insert_new(member, score);
        true
    }

    fn insert_new(&mut self, member: &[u8], score: f64) {
        match &mut self.repr {
            Repr::Listpack(listpack) => listpack.insert(member, score),
            Repr::Skiplist(sorted) => {
                let member = Bytes::copy_from_slice(member);
                sorted.list.insert(score, member.clone());
                sorted.scores.insert(member, score);
            }
        }
    }

    fn convert_to_skiplist(&mut self, rng: &mut dyn RngCore) {
        let Repr::Listpack(listpack) = &self.repr else {
            return;
        };
        let seeds = [
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
        ];
        let mut sorted = Sorted {
            list: SkipList::new(rng.next_u64()),
            scores: Dict::with_seeds(seeds),
        };
        for (member, score) in listpack.iter() {
            let member = Bytes::copy_from_slice(member);
            sorted.list.insert(score, member.clone());
            sorted.scores.insert(member, score);
        }
        self.repr = Repr::Skiplist(Box::new(sorted));
    }

    /// Removes `member`; false if absent.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(listpack) => match listpack.find(member) {
                Some((offset, _)) => {
                    listpack.remove_at(offset);
                    true
                }
                None => false,
            },
            Repr::Skiplist(sorted) => match sorted.scores.remove(member) {
                Some((_, score)) => {
                    let deleted = sorted.list.delete(score, member);
                    assert!(deleted, "dict and skip list agree");
                    true
                }
                None => false,
            },
        }
    }

    /// 0-based ascending rank of `member`. O(n ≤ 128) listpack, O(log n)
    /// skiplist.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(listpack) => listpack.iter().position(|(m, _)| m == member),
            Repr::Skiplist(sorted) => {
                let score = *sorted.scores.get(member)?;
                let rank = sorted.list.rank(score, member);
                assert!(rank.is_some(), "dict and skip list agree");
                rank.map(|rank| rank - 1)
            }
        }
    }

    /// How many leading (ascending) elements satisfy `pred`, which must
    /// hold for a prefix of the order. O(log n) skiplist.
    pub fn lead_count(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(listpack) => listpack.iter().take_while(|&(m, s)| pred(m, s)).count(),
            Repr::Skiplist(sorted) => sorted.list.lead_count(pred),
        }
    }

    /// How many trailing elements satisfy `pred`, which must hold for a
    /// suffix of the order.
    pub fn trail_count(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(listpack) => {
                let entries: Vec<(&[u8], f64)> = listpack.iter().collect();
                entries
                    .iter()
                    .rev()
                    .take_while(|&&(m, s)| pred(m, s))
                    .count()
            }
            Repr::Skiplist(sorted) => {
                sorted.list.len() - sorted.list.lead_count(|m, s| !pred(m, s))
            }
        }
    }

    /// Visits elements from 0-based ascending index `start`, forward or
    /// (with `reverse`) backward, until `visit` returns false.
    pub fn walk(&self, start: usize, reverse: bool, mut visit: impl FnMut(&[u8], f64) -> bool) {
        match &self.repr {
            Repr::Listpack(listpack) => {
                let entries: Vec<(&[u8], f64)> = listpack.iter().collect();
                if start >= entries.len() {
                    return;
                }
                let mut index = start;
                loop {
                    let (member, score) = entries[index];
                    if !visit(member, score) {
                        return;
                    }
                    match (reverse, index) {
                        (true, 0) => return,
                        (true, _) => index -= 1,
                        (false, _) if index + 1 == entries.len() => return,
                        (false, _) => index += 1,
                    }
                }
            }
            Repr::Skiplist(sorted) => sorted.list.walk(start, reverse, |m, s| visit(m, s)),
        }
    }

    /// Removes and returns the lowest (or, with `max`, highest) element.
    pub fn pop(&mut self, max: bool) -> Option<(Bytes, f64)> {
        let (member, score) = match &self.repr {
            Repr::Listpack(listpack) => {
                let (member, score) = if max {
                    listpack.iter().last()?
                } else {
                    listpack.iter().next()?
                };
                (Bytes::copy_from_slice(member), score)
            }
            Repr::Skiplist(sorted) => {
                let (member, score) = sorted.list.edge(max)?;
                (member.clone(), score)
            }
        };
        let removed = self.remove(&member);
        assert!(removed, "the edge element is a member");
        Some((member, score))
    }

    /// A random element: uniform for a listpack, Redis's bucket-then-chain
    /// pick over the dict for a skiplist.
    pub fn random_entry(&self, rng: &mut dyn RngCore) -> Option<(Bytes, f64)> {
        match &self.repr {
            Repr::Listpack(listpack) if listpack.len == 0 => None,
            Repr::Listpack(listpack) => {
                let index = (rng.next_u64() % listpack.len as u64) as usize;
                let (member, score) = listpack.iter().nth(index)?;
                Some((Bytes::copy_from_slice(member), score))
            }
            Repr::Skiplist(sorted) => sorted
                .scores
                .random_entry(&mut || rng.next_u64())
                .map(|(member, score)| (member.clone(), *score)),
        }
    }

    /// One ZSCAN step: a listpack is returned whole (ascending) with next
    /// cursor 0; a skiplist's dict is walked with [`Dict::scan`].
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(Bytes, f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(_) => {
                self.iter().for_each(|(member, score)| visit(member, score));
                0
            }
            Repr::Skiplist(sorted) => sorted
                .scores
                .scan(cursor, |member, score| visit(member.clone(), *score)),
        }
    }

    /// Asserts the representation's invariants (tests and fuzzing).
    pub fn check_invariants(&self) {
        match &self.repr {
            Repr::Listpack(listpack) => {
                let entries: Vec<(&[u8], f64)> = listpack.iter().collect();
                assert_eq!(entries.len(), listpack.len);
                assert!(entries.len() <= LISTPACK_ENTRIES_MAX);
                for pair in entries.windows(2) {
                    let ((a, x), (b, y)) = (pair[0], pair[1]);
                    assert!(x < y || (x == y && a < b), "listpack out of order");
                }
            }
            Repr::Skiplist(sorted) => {
                sorted.list.check_invariants();
                assert_eq!(sorted.scores.len(), sorted.list.len());
                for (member, score) in sorted.list.iter() {
                    assert_eq!(sorted.scores.get(member), Some(&score), "dict agrees");
                }
            }
        }
    }
}

/// Entries packed in one buffer: `[len: u8][member][score: f64 LE]`, ascending.
#[derive(Clone, Debug, Default)]
struct Listpack {
    bytes: Vec<u8>,
    len: usize,
}

impl Listpack {
    fn entry_at(&self, offset: usize) -> (&[u8], f64, usize) {
        let length = self.bytes[offset] as usize;
        let member = &self.bytes[offset + 1..offset + 1 + length];
        let score_at = offset + 1 + length;
        let mut score = [0u8; 8];
        score.copy_from_slice(&self.bytes[score_at..score_at + 8]);
        (member, f64::from_le_bytes(score), score_at + 8)
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut offset = 0;
        std::iter::from_fn(move || {
            if offset >= self.bytes.len() {
                return None;
            }
            let (member, score, next) = self.entry_at(offset);
            offset = next;
            Some((member, score))
        })
    }

    /// (offset, score) of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, f64)> {
        let mut offset = 0;
        while offset < self.bytes.len() {
            let (stored, score, next) = self.entry_at(offset);
            if stored == member {
                return Some((offset, score));
            }
            offset = next;
        }
        None
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        assert!(
            member.len() <= LISTPACK_VALUE_BYTES_MAX,
            "member fits a listpack"
        );
        let mut offset = 0;
        while offset < self.bytes.len() {
            let (stored, stored_score, next) = self.entry_at(offset);
            if stored_score > score || (stored_score == score && stored > member) {
                break;
            }
            offset = next;
        }
        // Redis stores listpack scores as text, where -0 reads back as 0:
        // adding +0.0 turns -0.0 into 0.0 and leaves every other value alone.
        let score = score + 0.0;
        let mut entry = Vec::with_capacity(member.len() + 9);
        entry.push(member.len() as u8);
        entry.extend_from_slice(member);
        entry.extend_from_slice(&score.to_le_bytes());
        if self.bytes.capacity() == 0 {
            self.bytes.reserve_exact(entry.len());
        }
        self.bytes.splice(offset..offset, entry);
        self.len += 1;
    }

    fn remove_at(&mut self, offset: usize) {
        let (_, _, next) = self.entry_at(offset);
        self.bytes.drain(offset..next);
        self.len -= 1;
        if self.bytes.capacity() > 2 * self.bytes.len() + 64 {
            self.bytes.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests;
