//! The keyspace's hash table: a chained hash table over byte-string keys,
//! with Redis's `SCAN` cursor.
//!
//! Why not `std::collections::HashMap`: `SCAN` must return every key present
//! for a whole iteration at least once even though the table grows and
//! shrinks between calls, with a cursor that is just a number. Redis gets
//! this from `dictScan`: buckets form a power-of-two array indexed by the low
//! bits of the hash, and the cursor advances by incrementing its *reversed*
//! bits, so the buckets already visited stay visited when the table doubles
//! or halves. This table reproduces that layout and cursor.
//!
//! Unlike Redis, the table rehashes all at once when it grows or shrinks
//! (O(n) on that one call); incremental rehashing across two tables, as
//! Redis does to bound latency, is future work.
//!
//! Hashing is `ahash` seeded by the caller — from the `Platform`'s RNG — so
//! iteration, `SCAN` and random-key order are fixed by the simulator seed,
//! and clients cannot pick colliding keys. Keys are hashed through their
//! `&[u8]` view only, so a stored `Bytes` key and a `&[u8]` lookup key always
//! hash alike. This module owns the table only; expiry, values and databases
//! belong to the rest of `keyspace`.

use std::borrow::Borrow;

/// Fewest buckets a table has; also its size when created or cleared.
const BUCKETS_MIN: usize = 4;

/// A shrink happens once fewer than one bucket in this many holds an element
/// on average (Redis: 10% fill).
const SHRINK_LOAD_DIVISOR: usize = 8;

/// Random bucket probes [`Dict::random_entry`] makes before falling back to a
/// linear walk. At least one bucket in `SHRINK_LOAD_DIVISOR` is non-empty, so
/// all probes miss with probability at most (7/8)^64 ≈ 0.02%.
const RANDOM_PROBES_MAX: usize = 64;

/// A chained hash table from byte-string keys `K` to values `V`, with a
/// Redis-compatible `SCAN` cursor.
///
/// The number of buckets is a power of two, at least 4; it
/// doubles when the table holds more elements than buckets (load factor 1)
/// and shrinks when fewer than one bucket in eight would be used. Lookups,
/// inserts and removals take O(1) expected time, plus O(n) on the call that
/// resizes.
#[derive(Clone, Debug)]
pub struct Dict<K, V> {
    /// Bucket `i` holds the elements whose hash has `i` in its low bits.
    buckets: Vec<Vec<(K, V)>>,
    /// Number of elements in all buckets.
    len: usize,
    hasher: ahash::RandomState,
}

/// The outcome of [`Dict::get_unless`].
#[derive(Debug)]
pub enum Lookup<'a, K, V> {
    /// The element is present and alive.
    Found(&'a mut V),
    /// The element was dead and has been removed.
    Removed(K, V),
    /// No such element.
    Missing,
}

impl<K: Borrow<[u8]>, V> Dict<K, V> {
    /// An empty table whose hash function is keyed by `seeds`. Give it seeds
    /// drawn from the `Platform`'s RNG so that iteration order is fixed by the
    /// simulator seed.
    pub fn with_seeds(seeds: [u64; 4]) -> Dict<K, V> {
        let [k0, k1, k2, k3] = seeds;
        Dict {
            buckets: empty_buckets(BUCKETS_MIN),
            len: 0,
            hasher: ahash::RandomState::with_seeds(k0, k1, k2, k3),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value stored under `key`. O(1) expected.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.get_key_value(key).map(|(_, value)| value)
    }

    /// The value stored under `key`, mutably. O(1) expected.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let index = self.bucket_index(key);
        self.buckets[index]
            .iter_mut()
            .find(|(stored, _)| stored.borrow() == key)
            .map(|(_, value)| value)
    }

    /// The stored key equal to `key`, and its value. O(1) expected.
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&K, &V)> {
        self.buckets[self.bucket_index(key)]
            .iter()
            .find(|(stored, _)| stored.borrow() == key)
            .map(|(stored, value)| (stored, value))
    }

    /// Whether an element is stored under `key`. O(1) expected.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get_key_value(key).is_some()
    }

    /// Stores `value` under `key` and returns the value it replaces, if any.
    /// When the key was present, the stored key is kept and `key` dropped, as
    /// `std::collections::HashMap` does. O(1) expected; O(n) when the table
    /// doubles.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let index = self.bucket_index(key.borrow());
        let bucket = &mut self.buckets[index];
        if let Some((_, stored)) = bucket.iter_mut().find(|(k, _)| k.borrow() == key.borrow()) {
            return Some(std::mem::replace(stored, value));
        }
        if bucket.is_empty() {
            // Most chains hold one element: don't let `push` reserve four.
            bucket.reserve_exact(1);
        }
        bucket.push((key, value));
        self.len += 1;
        if self.len > self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        None
    }

    /// Removes the element stored under `key` and returns it. O(1) expected;
    /// O(n) when the table shrinks.
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        let index = self.bucket_index(key);
        let bucket = &mut self.buckets[index];
        let position = bucket
            .iter()
            .position(|(stored, _)| stored.borrow() == key)?;
        // Order within a bucket is irrelevant: scans visit whole buckets.
        let removed = bucket.swap_remove(position);
        if bucket.is_empty() {
            *bucket = Vec::new(); // Keep memory proportional to `len`.
        }
        self.len -= 1;
        self.shrink_if_sparse();
        Some(removed)
    }

    /// Looks `key` up with one hash and one probe. If `dead(value)` holds the
    /// element is removed and returned (lazy expiry); otherwise it is handed
    /// out mutably. O(1) expected.
    pub fn get_unless(&mut self, key: &[u8], dead: impl FnOnce(&V) -> bool) -> Lookup<'_, K, V> {
        let index = self.bucket_index(key);
        let Some(position) = self.buckets[index]
            .iter()
            .position(|(stored, _)| stored.borrow() == key)
        else {
            return Lookup::Missing;
        };
        if !dead(&self.buckets[index][position].1) {
            return Lookup::Found(&mut self.buckets[index][position].1);
        }
        let (stored, value) = self.buckets[index].swap_remove(position);
        if self.buckets[index].is_empty() {
            self.buckets[index] = Vec::new();
        }
        self.len -= 1;
        self.shrink_if_sparse();
        Lookup::Removed(stored, value)
    }

    /// Removes every element and returns to the minimum size. O(n).
    pub fn clear(&mut self) {
        self.buckets = empty_buckets(BUCKETS_MIN);
        self.len = 0;
    }

    /// Keeps only the elements for which `keep` returns true, then shrinks
    /// the table if it became sparse. O(n).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for bucket in &mut self.buckets {
            bucket.retain_mut(|(key, value)| keep(key, value));
            if bucket.is_empty() {
                *bucket = Vec::new();
            }
        }
        self.len = self.buckets.iter().map(Vec::len).sum();
        self.shrink_if_sparse();
    }

    /// Every element, in bucket order (fixed by the seeds and the history of
    /// the table).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.buckets
            .iter()
            .flat_map(|bucket| bucket.iter().map(|(key, value)| (key, value)))
    }

    /// One step of a `SCAN` iteration, with Redis's `dictScan` semantics:
    /// calls `visit` on every element of the bucket(s) at `cursor` and
    /// returns the next cursor, 0 once the iteration is complete. Start with
    /// cursor 0.
    ///
    /// A full iteration (0 → ... → 0) visits every element present throughout
    /// it at least once, even if the table grows or shrinks between steps;
    /// exactly once if the table does not change. Elements may be visited
    /// more than once after a shrink. Any `u64` is accepted as a cursor (its
    /// bits above the table size are ignored); cursors returned are below
    /// the number of buckets, so they fit 56 bits for any table that fits in
    /// memory.
    ///
    /// Each step is O(elements in one bucket); a full iteration is
    /// O(buckets + n).
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&K, &V)) -> u64 {
        let mask = self.mask() as u64;
        // `cursor & mask` < buckets.len(), so the cast is lossless.
        for (key, value) in &self.buckets[(cursor & mask) as usize] {
            visit(key, value);
        }
        // Increment the cursor's bits under the mask in reverse order (from
        // the high bit down): setting the bits above the mask first makes the
        // carry skip them.
        (cursor | !mask)
            .reverse_bits()
            .wrapping_add(1)
            .reverse_bits()
    }

    /// Where `key` lies in the order a full [`Dict::scan`] visits: the
    /// bits of its hash reversed. A scan whose next cursor is `c` (not 0)
    /// has visited exactly the keys whose position is below
    /// `c.reverse_bits()`, whatever size the table had at each step: a
    /// bucket under any mask covers one aligned range of positions, and the
    /// cursor advances range by range. O(key length).
    pub fn scan_position(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key).reverse_bits()
    }

    /// The hash function behind [`Dict::scan_position`]:
    /// `scan_order().hash_one(key).reverse_bits()` is the key's position,
    /// for callers that cannot borrow the table.
    pub fn scan_order(&self) -> ahash::RandomState {
        self.hasher.clone()
    }

    /// Takes every element, leaving the table empty with the same hash
    /// function (so positions and hash order stay comparable). O(1).
    pub fn take(&mut self) -> Dict<K, V> {
        let empty = Dict {
            buckets: empty_buckets(BUCKETS_MIN),
            len: 0,
            hasher: self.hasher.clone(),
        };
        std::mem::replace(self, empty)
    }

    /// A random element, or `None` if the table is empty: a random non-empty
    /// bucket, then a random element in it, like Redis's `dictGetRandomKey`
    /// (not uniform: elements in long chains are less likely).
    ///
    /// Probes up to 64 random buckets, then walks from a
    /// random bucket to the next non-empty one, so it ends in O(buckets) at
    /// worst and O(1) expected. `random` supplies uniform `u64` draws.
    pub fn random_entry(&self, random: &mut dyn FnMut() -> u64) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let mask = self.mask();
        // Truncating a uniform u64 then masking keeps it uniform.
        let probed = (0..RANDOM_PROBES_MAX)
            .map(|_| &self.buckets[random() as usize & mask])
            .find(|bucket| !bucket.is_empty());
        let bucket = match probed {
            Some(bucket) => bucket,
            None => {
                let start = random() as usize & mask;
                let mut walk = (0..self.buckets.len()).map(|step| (start + step) & mask);
                let index = walk.find(|&index| !self.buckets[index].is_empty())?;
                &self.buckets[index]
            }
        };
        // Modulo bias is negligible: chains are short.
        let (key, value) = &bucket[(random() % bucket.len() as u64) as usize];
        Some((key, value))
    }

    /// `buckets.len() - 1`: buckets are a power of two in number, so this
    /// masks a hash down to a bucket index.
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    fn bucket_index(&self, key: &[u8]) -> usize {
        bucket_index(&self.hasher, key, self.mask())
    }

    /// Shrinks to the smallest power of two holding `len` at load factor 1
    /// once fewer than 1/[`SHRINK_LOAD_DIVISOR`] of the buckets would be used.
    fn shrink_if_sparse(&mut self) {
        if self.buckets.len() > BUCKETS_MIN && self.len < self.buckets.len() / SHRINK_LOAD_DIVISOR {
            self.resize(self.len.next_power_of_two().max(BUCKETS_MIN));
        }
    }

    /// Moves every element into a new array of `bucket_count` buckets. O(n).
    fn resize(&mut self, bucket_count: usize) {
        assert!(bucket_count.is_power_of_two() && bucket_count >= BUCKETS_MIN);
        assert!(self.len <= bucket_count, "resize would overload the table");
        let mask = bucket_count - 1;
        let mut buckets = empty_buckets(bucket_count);
        for (key, value) in self.buckets.drain(..).flatten() {
            let bucket = &mut buckets[bucket_index(&self.hasher, key.borrow(), mask)];
            if bucket.is_empty() {
                bucket.reserve_exact(1);
            }
            bucket.push((key, value));
        }
        self.buckets = buckets;
    }
}

/// The bucket of `key` in a table whose bucket count is `mask + 1`.
fn bucket_index(hasher: &ahash::RandomState, key: &[u8], mask: usize) -> usize {
    // Truncating the hash keeps its low bits, which are the ones the mask
    // (and so the scan cursor) works on.
    hasher.hash_one(key) as usize & mask
}

fn empty_buckets<K, V>(count: usize) -> Vec<Vec<(K, V)>> {
    std::iter::repeat_with(Vec::new).take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};
    use std::collections::{BTreeMap, BTreeSet};

    const SEEDS: [u64; 4] = [1, 2, 3, 4];

    fn key(index: usize) -> Bytes {
        Bytes::from(format!("key:{index}"))
    }

    fn dict_with(count: usize) -> Dict<Bytes, usize> {
        let mut dict = Dict::with_seeds(SEEDS);
        for index in 0..count {
            dict.insert(key(index), index);
        }
        dict
    }

    /// Runs a full scan without changes and counts visits per key.
    fn scan_all(dict: &Dict<Bytes, usize>) -> BTreeMap<Bytes, usize> {
        let mut visits = BTreeMap::new();
        let mut cursor = 0;
        loop {
            cursor = dict.scan(cursor, |key, _| {
                *visits.entry(key.clone()).or_insert(0) += 1
            });
            if cursor == 0 {
                return visits;
            }
        }
    }

    fn assert_invariants(dict: &Dict<Bytes, usize>) {
        let bucket_count = dict.buckets.len();
        assert!(bucket_count.is_power_of_two() && bucket_count >= BUCKETS_MIN);
        assert!(dict.len() <= bucket_count);
        assert_eq!(dict.iter().count(), dict.len());
        for (index, bucket) in dict.buckets.iter().enumerate() {
            for (key, _) in bucket {
                assert_eq!(dict.bucket_index(key), index);
            }
        }
    }

    #[test]
    fn insert_get_and_replace() {
        let mut dict: Dict<Bytes, &str> = Dict::with_seeds(SEEDS);
        assert!(dict.is_empty());
        assert_eq!(dict.insert(Bytes::from_static(b"a"), "one"), None);
        assert_eq!(dict.insert(Bytes::from_static(b"b"), "two"), None);
        assert_eq!(dict.insert(Bytes::from_static(b"a"), "uno"), Some("one"));
        assert_eq!(dict.len(), 2);
        assert_eq!(dict.get(b"a"), Some(&"uno"));
        assert_eq!(dict.get(b"b"), Some(&"two"));
        assert_eq!(dict.get(b"c"), None);
        assert!(dict.contains_key(b"b"));
        assert!(!dict.contains_key(b""));
        let (stored, value) = dict.get_key_value(b"b").unwrap();
        assert_eq!((stored.as_ref(), *value), (&b"b"[..], "two"));
    }

    #[test]
    fn empty_key_is_an_ordinary_key() {
        let mut dict: Dict<Bytes, u8> = Dict::with_seeds(SEEDS);
        dict.insert(Bytes::new(), 7);
        assert_eq!(dict.get(b""), Some(&7));
        assert_eq!(dict.remove(b""), Some((Bytes::new(), 7)));
    }

    #[test]
    fn get_mut_changes_the_stored_value() {
        let mut dict = dict_with(10);
        *dict.get_mut(b"key:3").unwrap() += 100;
        assert_eq!(dict.get(b"key:3"), Some(&103));
        assert!(dict.get_mut(b"missing").is_none());
    }

    #[test]
    fn remove_returns_the_element_once() {
        let mut dict = dict_with(10);
        assert_eq!(dict.remove(b"key:4"), Some((key(4), 4)));
        assert_eq!(dict.remove(b"key:4"), None);
        assert_eq!(dict.len(), 9);
        assert!(!dict.contains_key(b"key:4"));
        assert_invariants(&dict);
    }

    #[test]
    fn lookups_accept_any_byte_view_of_the_key() {
        let mut dict: Dict<Vec<u8>, u8> = Dict::with_seeds(SEEDS);
        dict.insert(b"vec".to_vec(), 1);
        assert_eq!(dict.get(&Bytes::from_static(b"vec")), Some(&1));
        let mut dict: Dict<Bytes, u8> = Dict::with_seeds(SEEDS);
        dict.insert(Bytes::copy_from_slice(b"bytes"), 2);
        assert_eq!(dict.get(b"bytes".to_vec().as_slice()), Some(&2));
    }

    #[test]
    fn grows_and_shrinks_by_powers_of_two() {
        let mut dict = dict_with(1000);
        assert_eq!(dict.buckets.len(), 1024);
        assert_invariants(&dict);
        for index in 0..1000 {
            assert_eq!(dict.get(&key(index)), Some(&index));
        }
        for index in 0..990 {
            assert_eq!(dict.remove(&key(index)), Some((key(index), index)));
            assert_invariants(&dict);
        }
        assert_eq!(dict.len(), 10);
        assert!(dict.buckets.len() <= 10 * SHRINK_LOAD_DIVISOR);
        for index in 990..1000 {
            dict.remove(&key(index));
        }
        assert_eq!(dict.buckets.len(), BUCKETS_MIN);
    }

    #[test]
    fn clear_empties_and_resets_the_table() {
        let mut dict = dict_with(100);
        dict.clear();
        assert!(dict.is_empty());
        assert_eq!(dict.buckets.len(), BUCKETS_MIN);
        assert_eq!(dict.get(b"key:1"), None);
        assert_eq!(dict.iter().count(), 0);
        dict.insert(key(1), 1);
        assert_eq!(dict.get(b"key:1"), Some(&1));
    }

    #[test]
    fn retain_keeps_matching_elements_and_shrinks() {
        let mut dict = dict_with(1000);
        dict.retain(|_, value| {
            *value *= 2;
            *value % 100 == 0
        });
        assert_eq!(dict.len(), 20);
        assert!(dict.buckets.len() <= 32);
        assert_invariants(&dict);
        for index in (0..1000).step_by(50) {
            assert_eq!(dict.get(&key(index)), Some(&(index * 2)));
        }
        dict.retain(|_, _| false);
        assert!(dict.is_empty());
    }

    #[test]
    fn iter_yields_every_element_once() {
        let dict = dict_with(500);
        let values: BTreeSet<usize> = dict.iter().map(|(_, value)| *value).collect();
        assert_eq!(values, (0..500).collect());
        assert_eq!(dict.iter().count(), 500);
    }

    #[test]
    fn same_seeds_give_the_same_order() {
        let first: Vec<usize> = dict_with(100).iter().map(|(_, value)| *value).collect();
        let second: Vec<usize> = dict_with(100).iter().map(|(_, value)| *value).collect();
        assert_eq!(first, second);
        let mut other = Dict::with_seeds([5, 6, 7, 8]);
        for index in 0..100 {
            other.insert(key(index), index);
        }
        let third: Vec<usize> = other.iter().map(|(_, value)| *value).collect();
        assert_ne!(first, third);
    }

    #[test]
    fn scan_without_changes_visits_every_element_exactly_once() {
        for count in [0, 1, 2, 3, 4, 5, 7, 8, 9, 100, 1000] {
            let visits = scan_all(&dict_with(count));
            assert_eq!(visits.len(), count, "{count} elements");
            assert!(visits.values().all(|&times| times == 1), "{count} elements");
        }
    }

    #[test]
    fn scan_returns_cursors_below_the_bucket_count() {
        let dict = dict_with(100);
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = dict.scan(cursor, |_, _| {});
            steps += 1;
            if cursor == 0 {
                break;
            }
            assert!(cursor < dict.buckets.len() as u64);
        }
        assert_eq!(steps, dict.buckets.len());
        // A garbage cursor is masked, not rejected.
        assert!(dict.scan(u64::MAX, |_, _| {}) < dict.buckets.len() as u64);
    }

    #[test]
    fn scan_survives_growth_between_steps() {
        let mut dict = dict_with(10);
        let mut seen = BTreeSet::new();
        let mut cursor = dict.scan(0, |key, _| {
            seen.insert(key.clone());
        });
        for index in 10..5000 {
            dict.insert(key(index), index);
        }
        while cursor != 0 {
            cursor = dict.scan(cursor, |key, _| {
                seen.insert(key.clone());
            });
        }
        assert!((0..10).all(|index| seen.contains(&key(index))));
    }

    #[test]
    fn random_entry_of_an_empty_table_is_none() {
        let dict: Dict<Bytes, usize> = Dict::with_seeds(SEEDS);
        assert!(dict.random_entry(&mut || 0).is_none());
    }

    #[test]
    fn random_entry_returns_present_entries_and_eventually_each() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut dict = dict_with(1000);
        dict.retain(|_, value| *value < 8 || *value % 2 == 0);
        let mut drawn = BTreeSet::new();
        for _ in 0..20_000 {
            let (key, value) = dict.random_entry(&mut || rng.next_u64()).unwrap();
            assert_eq!(dict.get(key), Some(value));
            drawn.insert(*value);
        }
        assert_eq!(drawn.len(), dict.len());
        let small = dict_with(5);
        let mut drawn = BTreeSet::new();
        for _ in 0..1000 {
            drawn.insert(*small.random_entry(&mut || rng.next_u64()).unwrap().1);
        }
        assert_eq!(drawn, (0..5).collect());
    }

    /// With a source that always probes empty buckets, the fallback walk
    /// still finds the one element.
    #[test]
    fn random_entry_falls_back_to_a_walk() {
        let mut dict = dict_with(1000);
        dict.retain(|_, value| *value == 0);
        dict.insert(key(1), 1);
        dict.remove(b"key:0");
        let occupied = dict.bucket_index(b"key:1") as u64;
        let empty = (occupied + 1) & dict.mask() as u64;
        let (stored, _) = dict.random_entry(&mut || empty).unwrap();
        assert_eq!(stored, &key(1));
    }

    #[derive(Clone, Debug)]
    enum Change {
        Insert(u16),
        Remove(u16),
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            (0..2000u16).prop_map(Change::Insert),
            (0..2000u16).prop_map(Change::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Redis's SCAN guarantee: elements present from the first step to
        /// the last are returned, whatever grows or shrinks the table between
        /// steps.
        #[test]
        fn scan_returns_elements_present_throughout(
            initial in proptest::collection::btree_set(0..2000u16, 0..300),
            batches in proptest::collection::vec(proptest::collection::vec(change(), 0..80), 0..64),
        ) {
            let mut dict: Dict<Bytes, usize> = Dict::with_seeds(SEEDS);
            for &index in &initial {
                dict.insert(key(index.into()), index.into());
            }
            let mut survivors: BTreeSet<Bytes> = initial.iter().map(|&index| key(index.into())).collect();
            let mut seen = BTreeSet::new();
            let mut batches = batches.into_iter();
            let mut cursor = 0;
            loop {
                cursor = dict.scan(cursor, |stored, value| {
                    assert_eq!(stored, &key(*value));
                    seen.insert(stored.clone());
                });
                if cursor == 0 {
                    break;
                }
                for change in batches.next().unwrap_or_default() {
                    match change {
                        Change::Insert(index) => { dict.insert(key(index.into()), index.into()); }
                        Change::Remove(index) => {
                            dict.remove(&key(index.into()));
                            survivors.remove(&key(index.into()));
                        }
                    }
                }
            }
            assert_invariants(&dict);
            let missed: Vec<_> = survivors.difference(&seen).collect();
            prop_assert!(missed.is_empty(), "missed {:?}", missed);
        }

        #[test]
        fn behaves_like_a_map(changes in proptest::collection::vec(change(), 0..2000)) {
            let mut dict: Dict<Bytes, usize> = Dict::with_seeds(SEEDS);
            let mut model = BTreeMap::new();
            for change in changes {
                match change {
                    Change::Insert(index) => prop_assert_eq!(
                        dict.insert(key(index.into()), index.into()),
                        model.insert(key(index.into()), usize::from(index))
                    ),
                    Change::Remove(index) => prop_assert_eq!(
                        dict.remove(&key(index.into())).map(|(_, value)| value),
                        model.remove(&key(index.into()))
                    ),
                }
            }
            assert_invariants(&dict);
            let contents: BTreeMap<Bytes, usize> =
                dict.iter().map(|(key, value)| (key.clone(), *value)).collect();
            prop_assert_eq!(contents, model);
        }
    }
}
