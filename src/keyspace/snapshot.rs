//! Point-in-time snapshots of a database, taken a slice at a time while the
//! database keeps changing (BGSAVE, BGREWRITEAOF's base).
//!
//! Redis forks and lets the kernel copy pages on write. A thread-per-core
//! shard cannot fork, so this is versioning instead, as Dragonfly does: the
//! snapshot walks the table with the `SCAN` cursor, and a change to a key
//! the walk has not reached yet first captures the key's value as it was.
//!
//! * **Visited or not.** [`Dict::scan_position`] orders keys so that the
//!   walk has visited exactly the keys below its *frontier*, even when the
//!   table grows or shrinks between steps. A step visits the bucket at the
//!   cursor and keeps only keys at or past the frontier (after a shrink a
//!   bucket also holds keys visited earlier).
//! * **Before a change** ([`DbSnapshot::before_change`]) to a key past the
//!   frontier that was not handled yet: its entry, if it was live when the
//!   snapshot started, is captured (cloned) for the writer, and the key is
//!   remembered as handled — so the walk skips it later, and also skips it
//!   if the change created it (it did not exist at the start).
//! * **Removed while expiring**: lazy expiry hands the removed entry over
//!   ([`DbSnapshot::after_remove`]); no clone needed.
//! * **FLUSHDB** detaches the whole table into the snapshot ([`Dict::take`]):
//!   the walk finishes over it, untouched, and later changes don't matter.
//! * **SWAPDB** swaps snapshots with the tables: each snapshot reports
//!   entries under the database index it started with.
//!
//! Memory: the handled set and the captured entries grow with the writes
//! made while the snapshot runs, not with the keyspace; captured entries
//! leave at every step. A key's value is serialized whole, so a slice is
//! bounded in keys, plus one value.

use std::collections::HashSet;

use bytes::Bytes;

use super::dict::Dict;
use super::Entry;

/// One database's snapshot in progress.
#[derive(Debug)]
pub(super) struct DbSnapshot {
    /// The database index the snapshot started under (entries are reported
    /// under it, whatever SWAPDB does later).
    db: usize,
    /// Keys expired at this time (Unix ms) were already dead: left out.
    start_ms: u64,
    /// The next bucket to visit ([`Dict::scan`]'s cursor).
    cursor: u64,
    /// Keys whose [`Dict::scan_position`] is below this were visited.
    frontier: u64,
    /// The walk is over (every key was visited).
    walked: bool,
    /// Keys at or past the frontier already handled: captured before a
    /// change, or absent when first changed.
    handled: HashSet<Bytes, ahash::RandomState>,
    /// Entries captured before a change, to be reported by the next step.
    captured: Vec<(Bytes, Entry)>,
    /// The table FLUSHDB replaced: the walk goes on over it.
    detached: Option<Dict<Bytes, Entry>>,
    /// The table's scan order ([`Dict::scan_order`]), kept so that a
    /// removal can be placed without borrowing the table.
    order: ahash::RandomState,
    /// Planted bug for the tests: changes capture nothing.
    #[cfg(test)]
    pub(super) skip_capture: bool,
}

impl DbSnapshot {
    /// A snapshot of database `db` as it is now, at Unix ms `start_ms`.
    pub(super) fn new(db: usize, start_ms: u64, dict: &Dict<Bytes, Entry>) -> DbSnapshot {
        DbSnapshot {
            db,
            start_ms,
            cursor: 0,
            frontier: 0,
            walked: false,
            // Never iterated: a fixed seed cannot leak an order.
            handled: HashSet::with_hasher(ahash::RandomState::with_seeds(9, 10, 11, 12)),
            captured: Vec::new(),
            detached: None,
            order: dict.scan_order(),
            #[cfg(test)]
            skip_capture: false,
        }
    }

    /// True when `entry` belongs in the snapshot (live at the start).
    fn wanted(&self, entry: &Entry) -> bool {
        !entry.is_expired(self.start_ms)
    }

    /// True when changes to `key` no longer concern the snapshot.
    fn settled(&self, key: &[u8]) -> bool {
        #[cfg(test)]
        if self.skip_capture {
            return true;
        }
        self.walked
            || self.detached.is_some()
            || self.order.hash_one(key).reverse_bits() < self.frontier
            || self.handled.contains(key)
    }

    /// Call before `key` in `dict` changes in any way (value, TTL, removal,
    /// creation).
    pub(super) fn before_change(&mut self, dict: &Dict<Bytes, Entry>, key: &[u8]) {
        if self.settled(key) {
            return;
        }
        let key = Bytes::copy_from_slice(key);
        if let Some(entry) = dict.get(&key) {
            if self.wanted(entry) {
                self.captured.push((key.clone(), entry.clone()));
            }
        }
        self.handled.insert(key);
    }

    /// Call after the table lost `key` without
    /// [`DbSnapshot::before_change`] (lazy expiry), with the removed entry.
    pub(super) fn after_remove(&mut self, key: &Bytes, entry: &Entry) {
        if self.settled(key) {
            return;
        }
        if self.wanted(entry) {
            self.captured.push((key.clone(), entry.clone()));
        }
        self.handled.insert(key.clone());
    }

    /// FLUSHDB: the walk finishes over `dict`, which no one changes again.
    pub(super) fn detach(&mut self, dict: Dict<Bytes, Entry>) {
        if !self.walked && self.detached.is_none() {
            self.detached = Some(dict);
        }
    }

    /// True when every entry has been reported.
    pub(super) fn is_done(&self) -> bool {
        self.walked && self.captured.is_empty()
    }

    /// Reports captured entries, then walks on until about `keys_max`
    /// entries were reported in all (or buckets worth four times that were
    /// visited); `report(db, key, entry)` gets each entry once. `live` is
    /// the database's current table.
    pub(super) fn step(
        &mut self,
        live: &Dict<Bytes, Entry>,
        keys_max: usize,
        report: &mut dyn FnMut(usize, &[u8], &Entry),
    ) {
        let mut reported = 0;
        for (key, entry) in self.captured.drain(..) {
            report(self.db, &key, &entry);
            reported += 1;
        }
        let DbSnapshot {
            db,
            start_ms,
            cursor,
            frontier,
            walked,
            handled,
            detached,
            ..
        } = self;
        let table = detached.as_ref().unwrap_or(live);
        let mut buckets = 0;
        while !*walked && reported < keys_max && buckets < keys_max.saturating_mul(4) {
            let passed = *frontier;
            let next = table.scan(*cursor, |key, entry| {
                if table.scan_position(key) >= passed
                    && !handled.contains(&key[..])
                    && !entry.is_expired(*start_ms)
                {
                    report(*db, key, entry);
                    reported += 1;
                }
            });
            buckets += 1;
            if next == 0 {
                *walked = true;
            } else {
                *cursor = next;
                *frontier = next.reverse_bits();
            }
        }
        if *walked {
            // Nothing is compared against them any more.
            handled.clear();
            handled.shrink_to_fit();
            *detached = None;
        }
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
