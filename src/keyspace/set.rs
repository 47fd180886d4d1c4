//! A Redis set: unique byte-string members, in Redis 7.0's two encodings.
//!
//! * **intset** — every member is a canonical 64-bit integer (as Redis's
//!   `string2ll`) and there are at most [`INTSET_ENTRIES_MAX`] of them. The
//!   integers sit in one sorted `Vec` of the narrowest width that holds them
//!   all (16, 32 or 64 bits, widened on demand and never narrowed, as
//!   Redis's `intset.c`), so a small set of small integers costs 2 bytes per
//!   member. Lookups are binary searches (O(log n)); inserts and removals
//!   shift the tail (O(n), n ≤ 512). Iteration is ascending, which is why
//!   `SMEMBERS` of an intset is sorted — in Redis too, byte for byte.
//! * **hashtable** — a [`Dict`]`<Bytes, ()>` seeded from the caller's RNG, so
//!   iteration, `SSCAN` cursors and random picks are fixed by the simulator
//!   seed. O(1) expected per lookup, insert and removal. Per member: the
//!   `(Bytes, ())` slot (32 bytes) in a bucket `Vec`, the member's own heap
//!   copy, and amortised bucket headers (24 bytes per bucket, about one
//!   bucket per member).
//!
//! Conversion is one way, as in Redis: an intset becomes a hashtable when a
//! non-integer member is added or it would exceed [`INTSET_ENTRIES_MAX`]
//! entries; a hashtable never goes back (even if emptied down to integers).
//! Redis 7.0 has no listpack sets.
//!
//! This module owns the representation only: no commands, no replies, no
//! clock. Randomness comes from the caller.

use bytes::Bytes;
use rand::RngCore;

use super::dict::Dict;
use super::parse_canonical_i64;

/// Most entries an intset holds (Redis's `set-max-intset-entries` default).
pub const INTSET_ENTRIES_MAX: usize = 512;

/// A Redis set: unique byte-string members.
#[derive(Clone, Debug)]
pub struct Set {
    repr: Repr,
}

/// The hashtable is boxed so that the common small set (an intset) keeps
/// `Set` at 32 bytes.
#[derive(Clone, Debug)]
enum Repr {
    Ints(IntSet),
    Table(Box<Dict<Bytes, ()>>),
}

impl Default for Set {
    fn default() -> Set {
        Set::new()
    }
}

/// Sets are equal when they hold the same members, whatever their encoding.
impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|member| other.contains(&member))
    }
}

impl Set {
    /// An empty set, intset-encoded (Redis's `createIntsetObject`).
    pub fn new() -> Set {
        Set {
            repr: Repr::Ints(IntSet::default()),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(ints) => ints.len(),
            Repr::Table(table) => table.len(),
        }
    }

    /// True when empty (an empty collection is never stored under a key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// True for the intset encoding (iteration is then ascending).
    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Ints(_))
    }

    /// Approximate heap bytes held (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Ints(ints) => ints.heap_bytes(),
            Repr::Table(table) => {
                // Slot per member plus about one bucket header per member.
                table.iter().map(|(member, _)| member.len() + 32 + 24).sum()
            }
        }
    }

    /// True if `member` is in the set. O(log n) intset, O(1) hashtable.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(ints) => parse_canonical_i64(member).is_some_and(|v| ints.contains(v)),
            Repr::Table(table) => table.contains_key(member),
        }
    }

    /// Adds `member` (copied); false if it was already there. Converts an
    /// intset to a hashtable (hash seeds drawn from `rng`) when the member is
    /// not an integer or the intset would grow past [`INTSET_ENTRIES_MAX`].
    pub fn insert(&mut self, member: &[u8], rng: &mut dyn RngCore) -> bool {
        if let Repr::Ints(ints) = &mut self.repr {
            match parse_canonical_i64(member) {
                Some(value) if ints.contains(value) => return false,
                Some(value) if ints.len() < INTSET_ENTRIES_MAX => {
                    ints.insert(value);
                    return true;
                }
                _ => self.convert_to_table(rng),
            }
        }
        let Repr::Table(table) = &mut self.repr else {
            unreachable!("converted above");
        };
        if table.contains_key(member) {
            return false;
        }
        table.insert(Bytes::copy_from_slice(member), ());
        true
    }

    /// Removes `member`; false if it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(ints) => parse_canonical_i64(member).is_some_and(|v| ints.remove(v)),
            Repr::Table(table) => table.remove(member).is_some(),
        }
    }

    fn convert_to_table(&mut self, rng: &mut dyn RngCore) {
        let Repr::Ints(ints) = &self.repr else {
            return;
        };
        let seeds = [
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
        ];
        let mut table = Dict::with_seeds(seeds);
        for index in 0..ints.len() {
            table.insert(Bytes::from(ints.get(index).to_string()), ());
        }
        self.repr = Repr::Table(Box::new(table));
    }

    /// Every member: ascending for an intset, hash order for a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = Bytes> + '_ {
        let (ints, table) = match &self.repr {
            Repr::Ints(ints) => (Some(ints), None),
            Repr::Table(table) => (None, Some(table)),
        };
        let from_ints = ints
            .into_iter()
            .flat_map(|ints| (0..ints.len()).map(|index| integer_member(ints.get(index))));
        let from_table = table
            .into_iter()
            .flat_map(|table| table.iter().map(|(member, _)| member.clone()));
        from_ints.chain(from_table)
    }

    /// A random member (`None` if empty): uniform for an intset, Redis's
    /// bucket-then-chain pick for a hashtable.
    pub fn random_member(&self, rng: &mut dyn RngCore) -> Option<Bytes> {
        match &self.repr {
            Repr::Ints(ints) if ints.len() == 0 => None,
            Repr::Ints(ints) => {
                let index = (rng.next_u64() % ints.len() as u64) as usize;
                Some(integer_member(ints.get(index)))
            }
            Repr::Table(table) => table
                .random_entry(&mut || rng.next_u64())
                .map(|(member, _)| member.clone()),
        }
    }

    /// Removes and returns a random member (`None` if empty).
    pub fn pop_random(&mut self, rng: &mut dyn RngCore) -> Option<Bytes> {
        let member = self.random_member(rng)?;
        let removed = self.remove(&member);
        assert!(removed, "a random member is a member");
        Some(member)
    }

    /// One SSCAN step: an intset is returned whole with next cursor 0 (as
    /// Redis does for small encodings); a hashtable visits the bucket(s) at
    /// `cursor` with [`Dict::scan`]'s guarantees.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(Bytes)) -> u64 {
        match &self.repr {
            Repr::Ints(_) => {
                self.iter().for_each(visit);
                0
            }
            Repr::Table(table) => table.scan(cursor, |member, _| visit(member.clone())),
        }
    }
}

fn integer_member(value: i64) -> Bytes {
    Bytes::from(value.to_string())
}

/// A sorted array of distinct integers stored at the narrowest width that
/// holds them all (Redis's intset): 2, 4 or 8 bytes per element.
#[derive(Clone, Debug, PartialEq)]
enum IntSet {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> IntSet {
        IntSet::I16(Vec::new())
    }
}

impl IntSet {
    fn len(&self) -> usize {
        match self {
            IntSet::I16(values) => values.len(),
            IntSet::I32(values) => values.len(),
            IntSet::I64(values) => values.len(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            IntSet::I16(values) => values.capacity() * 2,
            IntSet::I32(values) => values.capacity() * 4,
            IntSet::I64(values) => values.capacity() * 8,
        }
    }

    /// The element at `index` (ascending order). Panics if out of range.
    fn get(&self, index: usize) -> i64 {
        match self {
            IntSet::I16(values) => i64::from(values[index]),
            IntSet::I32(values) => i64::from(values[index]),
            IntSet::I64(values) => values[index],
        }
    }

    /// `Ok(index)` of `value`, or `Err(insertion index)`.
    fn search(&self, value: i64) -> Result<usize, usize> {
        match self {
            IntSet::I16(values) => match i16::try_from(value) {
                Ok(narrow) => values.binary_search(&narrow),
                Err(_) => Err(if value < 0 { 0 } else { values.len() }),
            },
            IntSet::I32(values) => match i32::try_from(value) {
                Ok(narrow) => values.binary_search(&narrow),
                Err(_) => Err(if value < 0 { 0 } else { values.len() }),
            },
            IntSet::I64(values) => values.binary_search(&value),
        }
    }

    fn contains(&self, value: i64) -> bool {
        self.search(value).is_ok()
    }

    /// Inserts `value` (widening first if needed); false if present.
    fn insert(&mut self, value: i64) -> bool {
        self.widen_for(value);
        let Err(index) = self.search(value) else {
            return false;
        };
        // `widen_for` made the width hold `value`: the casts are lossless.
        match self {
            IntSet::I16(values) => values.insert(index, value as i16),
            IntSet::I32(values) => values.insert(index, value as i32),
            IntSet::I64(values) => values.insert(index, value),
        }
        true
    }

    fn remove(&mut self, value: i64) -> bool {
        let Ok(index) = self.search(value) else {
            return false;
        };
        match self {
            IntSet::I16(values) => {
                values.remove(index);
            }
            IntSet::I32(values) => {
                values.remove(index);
            }
            IntSet::I64(values) => {
                values.remove(index);
            }
        }
        true
    }

    /// Re-encodes at a width that holds `value` (never narrows).
    fn widen_for(&mut self, value: i64) {
        let needs_64 = i32::try_from(value).is_err();
        let needs_32 = i16::try_from(value).is_err();
        match self {
            IntSet::I16(values) if needs_64 => {
                *self = IntSet::I64(values.iter().map(|&v| i64::from(v)).collect());
            }
            IntSet::I16(values) if needs_32 => {
                *self = IntSet::I32(values.iter().map(|&v| i32::from(v)).collect());
            }
            IntSet::I32(values) if needs_64 => {
                *self = IntSet::I64(values.iter().map(|&v| i64::from(v)).collect());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(11)
    }

    fn members(set: &Set) -> Vec<Bytes> {
        set.iter().collect()
    }

    #[test]
    fn intset_iterates_ascending_and_widens() {
        let mut rng = rng();
        let mut set = Set::new();
        for member in ["5", "-3", "70000", "1", "-9223372036854775808"] {
            assert!(set.insert(member.as_bytes(), &mut rng));
        }
        assert!(!set.insert(b"5", &mut rng));
        assert_eq!(set.encoding(), "intset");
        let expected: Vec<Bytes> = ["-9223372036854775808", "-3", "1", "5", "70000"]
            .iter()
            .map(|s| Bytes::from(s.to_string()))
            .collect();
        assert_eq!(members(&set), expected);
        assert!(set.contains(b"70000"));
        assert!(!set.contains(b"070000"));
        assert!(set.remove(b"-3"));
        assert!(!set.remove(b"-3"));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn non_canonical_integers_convert_to_hashtable() {
        let mut rng = rng();
        let mut set = Set::new();
        set.insert(b"1", &mut rng);
        set.insert(b"01", &mut rng);
        assert_eq!(set.encoding(), "hashtable");
        assert!(set.contains(b"1") && set.contains(b"01"));
        // One way: removing the string keeps the hashtable.
        set.remove(b"01");
        assert_eq!(set.encoding(), "hashtable");
    }

    #[test]
    fn intset_converts_past_its_entry_limit() {
        let mut rng = rng();
        let mut set = Set::new();
        for value in 0..INTSET_ENTRIES_MAX {
            set.insert(value.to_string().as_bytes(), &mut rng);
        }
        assert_eq!(set.encoding(), "intset");
        set.insert(b"100000", &mut rng);
        assert_eq!(set.encoding(), "hashtable");
        assert_eq!(set.len(), INTSET_ENTRIES_MAX + 1);
    }

    #[test]
    fn scan_of_an_intset_is_one_step() {
        let mut rng = rng();
        let mut set = Set::new();
        set.insert(b"2", &mut rng);
        set.insert(b"1", &mut rng);
        let mut seen = Vec::new();
        assert_eq!(set.scan(0, |m| seen.push(m)), 0);
        assert_eq!(seen, vec![Bytes::from("1"), Bytes::from("2")]);
    }

    #[test]
    fn small_sets_stay_small() {
        assert!(std::mem::size_of::<Set>() <= 32);
    }

    #[test]
    fn equality_ignores_encoding() {
        let mut rng = rng();
        let mut a = Set::new();
        let mut b = Set::new();
        a.insert(b"1", &mut rng);
        b.insert(b"x", &mut rng);
        b.remove(b"x");
        b.insert(b"1", &mut rng);
        assert_eq!(a, b);
        assert_ne!(a.encoding(), b.encoding());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(String),
        Remove(String),
        Pop,
    }

    fn member() -> impl Strategy<Value = String> {
        prop_oneof![
            (-40i64..40).prop_map(|v| v.to_string()),
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(70_000), Just(-40_000)]
                .prop_map(|v| v.to_string()),
            "[a-c]{1,2}",
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => member().prop_map(Op::Insert),
            2 => member().prop_map(Op::Remove),
            1 => Just(Op::Pop),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn behaves_like_a_btreeset(ops in proptest::collection::vec(op(), 0..300)) {
            let mut rng = rng();
            let mut set = Set::new();
            let mut model: BTreeSet<Bytes> = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(m) => prop_assert_eq!(
                        set.insert(m.as_bytes(), &mut rng),
                        model.insert(Bytes::from(m))
                    ),
                    Op::Remove(m) => prop_assert_eq!(set.remove(m.as_bytes()), model.remove(m.as_bytes())),
                    Op::Pop => {
                        let popped = set.pop_random(&mut rng);
                        prop_assert_eq!(popped.is_some(), !model.is_empty());
                        if let Some(popped) = popped {
                            prop_assert!(model.remove(&popped));
                        }
                    }
                }
                prop_assert_eq!(set.len(), model.len());
                let all_ints = model.iter().all(|m| parse_canonical_i64(m).is_some());
                if !all_ints {
                    prop_assert_eq!(set.encoding(), "hashtable");
                }
                if set.is_intset() {
                    let ints: Vec<i64> = set.iter().map(|m| parse_canonical_i64(&m).unwrap()).collect();
                    prop_assert!(ints.windows(2).all(|w| w[0] < w[1]), "intset not sorted");
                }
            }
            let contents: BTreeSet<Bytes> = set.iter().collect();
            prop_assert_eq!(contents, model);
        }
    }
}
