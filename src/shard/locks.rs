//! Key locks: how multi-shard commands and transactions stay atomic.
//!
//! A command or MULTI/EXEC block whose keys live on several shards locks
//! them before it runs: it asks each involved shard, **one at a time in
//! ascending shard index**, to lock that shard's share of its keys (or the
//! whole shard, for whole-keyspace commands). A shard grants a request all at
//! once or queues it. Because every owner acquires shards in the same global
//! order and holds nothing on higher shards while it waits, no cycle of
//! waiters can form: the scheme is deadlock-free (classic ordered locking,
//! as in Dragonfly's VLL-inspired design, at key granularity).
//!
//! While an owner holds its locks, other work touching those keys waits
//! (the shard parks it), and the owner's own requests pass. Commands whose
//! keys all live on one shard never take locks: they run in one step of that
//! shard's single thread, which is atomic by construction; they only check
//! the table when it is not empty.
//!
//! Cost: a multi-shard operation pays one round trip per involved shard to
//! lock, plus its execution round trips, plus a one-way release; single-shard
//! commands pay one `is_empty` check.
//!
//! This module is the table alone: pure data, no messages, no I/O.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;

use super::message::ConnId;

/// Identifies a lock owner: one multi-shard command or EXEC of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId {
    /// The connection running it (server-wide unique).
    pub conn: ConnId,
    /// Which of the connection's atomic operations it is.
    pub serial: u64,
}

/// What an owner asks one shard to lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockSet {
    /// Lock the whole shard (whole-keyspace commands).
    pub whole: bool,
    /// (database, key) pairs owned by this shard.
    pub keys: Vec<(usize, Bytes)>,
}

impl LockSet {
    /// True when the set locks nothing.
    pub fn is_empty(&self) -> bool {
        !self.whole && self.keys.is_empty()
    }
}

type KeyHasher = ahash::RandomState;

/// The locks one shard has granted, and the requests waiting for them.
/// `W` is whatever the shard needs to answer a waiter once it is granted.
#[derive(Debug)]
pub struct LockTable<W> {
    holders: HashMap<(usize, Bytes), TxnId, KeyHasher>,
    whole: Option<TxnId>,
    granted: BTreeMap<TxnId, LockSet>,
    waiting: VecDeque<(TxnId, LockSet, W)>,
}

impl<W> Default for LockTable<W> {
    fn default() -> Self {
        LockTable {
            // Never iterated, so a fixed seed cannot leak an order to clients.
            holders: HashMap::with_hasher(KeyHasher::with_seeds(1, 2, 3, 4)),
            whole: None,
            granted: BTreeMap::new(),
            waiting: VecDeque::new(),
        }
    }
}

impl<W> LockTable<W> {
    /// True when nothing is held or waiting: the fast path skips all checks.
    pub fn is_idle(&self) -> bool {
        self.granted.is_empty() && self.waiting.is_empty()
    }

    /// True when `set` touches something held by an owner other than `owner`.
    ///
    /// An empty set (a keyless command such as PING or TIME) conflicts with
    /// nothing, not even a whole-shard lock: it reads no key, and parking it
    /// would let a transaction that holds a higher shard wait on a lower one,
    /// breaking the global lock order (a deadlock the simulator found, seed
    /// 20 with `--txn heavy`).
    pub fn conflicts_with_held(&self, owner: Option<TxnId>, set: &LockSet) -> bool {
        if set.is_empty() {
            return false;
        }
        let other = |holder: &TxnId| Some(*holder) != owner;
        if self.whole.as_ref().is_some_and(other) {
            return true;
        }
        if set.whole {
            return self.granted.keys().any(other);
        }
        set.keys
            .iter()
            .any(|key| self.holders.get(key).is_some_and(other))
    }

    fn conflicts_with_waiting(&self, set: &LockSet, before: usize) -> bool {
        self.waiting
            .iter()
            .take(before)
            .any(|(_, waiting, _)| sets_overlap(waiting, set))
    }

    /// Grants `set` to `owner` now if nothing held or waiting conflicts
    /// (`None`); otherwise hands the set back for [`LockTable::enqueue`].
    pub fn try_acquire(&mut self, owner: TxnId, set: LockSet) -> Option<LockSet> {
        if self.conflicts_with_held(Some(owner), &set)
            || self.conflicts_with_waiting(&set, self.waiting.len())
        {
            return Some(set);
        }
        self.grant(owner, set);
        None
    }

    /// Queues a request [`LockTable::try_acquire`] could not grant; it is
    /// granted, and `waiter` returned, by a later [`LockTable::release`].
    pub fn enqueue(&mut self, owner: TxnId, set: LockSet, waiter: W) {
        self.waiting.push_back((owner, set, waiter));
    }

    fn grant(&mut self, owner: TxnId, set: LockSet) {
        if set.whole {
            self.whole = Some(owner);
        }
        for key in &set.keys {
            self.holders.insert(key.clone(), owner);
        }
        let entry = self.granted.entry(owner).or_default();
        entry.whole |= set.whole;
        entry.keys.extend(set.keys);
    }

    /// Releases everything `owner` holds or awaits on this shard, then grants every
    /// waiting request that no longer conflicts, in arrival order (a request
    /// never overtakes an earlier one it overlaps). Returns the waiters just
    /// granted, in order.
    pub fn release(&mut self, owner: TxnId) -> Vec<(TxnId, W)> {
        self.waiting.retain(|(waiting, _, _)| *waiting != owner);
        if let Some(set) = self.granted.remove(&owner) {
            if set.whole && self.whole == Some(owner) {
                self.whole = None;
            }
            for key in &set.keys {
                if self.holders.get(key) == Some(&owner) {
                    self.holders.remove(key);
                }
            }
        }
        let mut granted = Vec::new();
        let mut index = 0;
        while index < self.waiting.len() {
            let (candidate, set, _) = &self.waiting[index];
            let blocked = self.conflicts_with_held(Some(*candidate), set)
                || self.conflicts_with_waiting(set, index);
            if blocked {
                index += 1;
                continue;
            }
            let Some((owner, set, waiter)) = self.waiting.remove(index) else {
                break;
            };
            self.grant(owner, set);
            granted.push((owner, waiter));
        }
        granted
    }

    /// Owners currently holding locks here (diagnostics and tests).
    pub fn holders(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.granted.keys().copied()
    }
}

fn sets_overlap(a: &LockSet, b: &LockSet) -> bool {
    if a.whole || b.whole {
        return true;
    }
    a.keys.iter().any(|key| b.keys.contains(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(conn: u64) -> TxnId {
        TxnId { conn, serial: 0 }
    }

    /// try_acquire, queueing on failure; true when granted at once.
    fn acquire<W>(table: &mut LockTable<W>, owner: TxnId, set: LockSet, waiter: W) -> bool {
        match table.try_acquire(owner, set) {
            None => true,
            Some(set) => {
                table.enqueue(owner, set, waiter);
                false
            }
        }
    }

    fn keys(names: &[&str]) -> LockSet {
        LockSet {
            whole: false,
            keys: names
                .iter()
                .map(|n| (0, Bytes::copy_from_slice(n.as_bytes())))
                .collect(),
        }
    }

    #[test]
    fn disjoint_sets_are_granted_together() {
        let mut table: LockTable<()> = LockTable::default();
        assert!(acquire(&mut table, owner(1), keys(&["a"]), ()));
        assert!(acquire(&mut table, owner(2), keys(&["b"]), ()));
        assert!(table.conflicts_with_held(None, &keys(&["a"])));
        assert!(!table.conflicts_with_held(Some(owner(1)), &keys(&["a"])));
        assert!(!table.conflicts_with_held(None, &keys(&["c"])));
    }

    #[test]
    fn overlapping_request_waits_and_is_granted_on_release() {
        let mut table = LockTable::default();
        assert!(acquire(&mut table, owner(1), keys(&["a", "b"]), "first"));
        assert!(!acquire(&mut table, owner(2), keys(&["b"]), "second"));
        assert_eq!(table.release(owner(1)), vec![(owner(2), "second")]);
        assert!(table.conflicts_with_held(None, &keys(&["b"])));
        assert!(table.release(owner(2)).is_empty());
        assert!(table.is_idle());
    }

    #[test]
    fn a_later_request_never_overtakes_an_earlier_overlapping_one() {
        let mut table = LockTable::default();
        assert!(acquire(&mut table, owner(1), keys(&["a"]), 1));
        assert!(!acquire(&mut table, owner(2), keys(&["a", "b"]), 2));
        // "b" is free, but owner 2 asked for it first: owner 3 must queue.
        assert!(!acquire(&mut table, owner(3), keys(&["b"]), 3));
        assert!(acquire(&mut table, owner(4), keys(&["c"]), 4));
        assert_eq!(table.release(owner(1)), vec![(owner(2), 2)]);
        assert_eq!(table.release(owner(2)), vec![(owner(3), 3)]);
    }

    #[test]
    fn whole_shard_lock_excludes_every_key() {
        let mut table = LockTable::default();
        assert!(acquire(&mut table, owner(1), keys(&["a"]), 1));
        let whole = LockSet {
            whole: true,
            keys: Vec::new(),
        };
        assert!(!acquire(&mut table, owner(2), whole.clone(), 2));
        assert!(!acquire(&mut table, owner(3), keys(&["z"]), 3));
        assert_eq!(table.release(owner(1)), vec![(owner(2), 2)]);
        assert!(table.conflicts_with_held(None, &keys(&["q"])));
        assert_eq!(table.release(owner(2)), vec![(owner(3), 3)]);
    }

    #[test]
    fn keyless_work_passes_a_whole_shard_lock() {
        let mut table: LockTable<()> = LockTable::default();
        let whole = LockSet {
            whole: true,
            keys: Vec::new(),
        };
        assert!(acquire(&mut table, owner(1), whole, ()));
        assert!(!table.conflicts_with_held(None, &LockSet::default()));
        assert!(table.conflicts_with_held(None, &keys(&["a"])));
    }

    #[test]
    fn releasing_an_unknown_owner_is_harmless() {
        let mut table: LockTable<()> = LockTable::default();
        assert!(table.release(owner(9)).is_empty());
    }
}
