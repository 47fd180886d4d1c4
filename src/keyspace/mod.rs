//! One shard's data: its logical databases, the values they hold, and expiry.
//!
//! A [`Keyspace`] owns `databases` [`Db`]s. Each `Db` maps keys (byte strings)
//! to [`Entry`]s in a [`dict::Dict`] — a chained hash table whose reverse-binary
//! cursor gives SCAN Redis's guarantees — and keeps an ordered expiry index so
//! the active-expiry cycle finds due keys without sampling.
//!
//! Expiry follows Redis (`keyIsExpired`): a key whose expire time is `when`
//! (Unix ms) is expired once `now_ms > when`. Every lookup expires lazily; the
//! shard calls [`Db::active_expire`] from a platform timer.
//!
//! This module never reads the clock or draws randomness itself: the caller
//! passes `now_ms` and an RNG. It knows nothing of connections or shards.

mod canonical;
pub mod dict;
pub mod hash;
pub mod list;
pub mod set;
mod snapshot;
pub mod zset;

use std::collections::BTreeSet;

use bytes::Bytes;
use rand::RngCore;

pub use canonical::CanonicalValue;
use dict::{Dict, Lookup};

/// A value stored under a key. Collections are boxed so that the common
/// case, a string, keeps entries small.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A Redis string: arbitrary bytes, at most `proto-max-bulk-len` long.
    String(Bytes),
    /// A list.
    List(Box<list::List>),
    /// A hash.
    Hash(Box<hash::Hash>),
    /// A set.
    Set(Box<set::Set>),
    /// A sorted set.
    ZSet(Box<zset::ZSet>),
}

impl Value {
    /// The name `TYPE` reports (Redis: `string`, `list`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name `OBJECT ENCODING` reports, as Redis would for the same
    /// content: `int` for a canonical 64-bit integer, `embstr` up to 44 bytes,
    /// `raw` beyond.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(bytes) => string_encoding(bytes),
            Value::List(list) => list.encoding(),
            Value::Hash(hash) => hash.encoding(),
            Value::Set(set) => set.encoding(),
            Value::ZSet(zset) => zset.encoding(),
        }
    }

    /// Approximate heap bytes this value holds (INFO memory estimates).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::String(bytes) => bytes.len(),
            Value::List(list) => list.heap_bytes(),
            Value::Hash(hash) => hash.heap_bytes(),
            Value::Set(set) => set.heap_bytes(),
            Value::ZSet(zset) => zset.heap_bytes(),
        }
    }
}

fn string_encoding(bytes: &[u8]) -> &'static str {
    const EMBSTR_BYTES_MAX: usize = 44;
    if bytes.len() <= 20 && parse_canonical_i64(bytes).is_some() {
        "int"
    } else if bytes.len() <= EMBSTR_BYTES_MAX {
        "embstr"
    } else {
        "raw"
    }
}

/// Parses `bytes` as a signed 64-bit integer in canonical form, as Redis's
/// `string2ll`: optional `-`, no `+`, no leading zeros (except `0` itself), no
/// spaces. `None` if not canonical or out of range.
pub fn parse_canonical_i64(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        None => return None,
        Some((b'-', rest)) => (true, rest),
        Some(_) => (false, bytes),
    };
    match digits {
        [] => return None,
        [b'0'] => return if negative { None } else { Some(0) },
        [b'0', ..] => return None,
        _ => {}
    }
    let mut magnitude: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(byte - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// A key's value and its expire time.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The stored value.
    pub value: Value,
    /// Absolute expire time in Unix ms, if the key has a TTL. Changed only
    /// through [`Db`] so the expiry index stays consistent.
    expire_at_ms: Option<u64>,
}

impl Entry {
    /// An entry with the given value and optional absolute expire time (Unix ms).
    pub fn new(value: Value, expire_at_ms: Option<u64>) -> Entry {
        Entry {
            value,
            expire_at_ms,
        }
    }

    /// Absolute expire time in Unix ms, if any.
    pub fn expire_at_ms(&self) -> Option<u64> {
        self.expire_at_ms
    }

    fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms.is_some_and(|when| now_ms > when)
    }
}

/// Counters a database keeps for `INFO stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Successful read lookups (`keyspace_hits`).
    pub keyspace_hits: u64,
    /// Failed read lookups (`keyspace_misses`).
    pub keyspace_misses: u64,
    /// Keys removed because their TTL passed (`expired_keys`).
    pub expired_keys: u64,
}

/// Bumps `key`'s version if it is watched (see [`Db::watch`]).
fn touch_watched(
    watched: &mut std::collections::HashMap<Bytes, WatchedKey, ahash::RandomState>,
    version_clock: &mut u64,
    key: &[u8],
) {
    if watched.is_empty() {
        return;
    }
    if let Some(entry) = watched.get_mut(key) {
        *version_clock += 1;
        entry.version = *version_clock;
    }
}

/// A watched key's bookkeeping: how many watchers, and its version.
#[derive(Clone, Copy, Debug)]
struct WatchedKey {
    watchers: u32,
    version: u64,
}

/// One logical database (`SELECT n`).
#[derive(Debug)]
pub struct Db {
    /// Every method that changes it calls [`Db::before_change`] first (a
    /// snapshot in progress captures the old entry; see [`snapshot`]) and
    /// [`Db::touch`] (WATCH), or hands a removed entry to the snapshot.
    dict: Dict<Bytes, Entry>,
    /// Versions of watched keys only (WATCH); see [`Db::watch`].
    watched: std::collections::HashMap<Bytes, WatchedKey, ahash::RandomState>,
    /// Source of watched-key versions: bumped on every change to one.
    version_clock: u64,
    /// Changes made to the database, counted as WATCH sees them (the AOF
    /// logs a command that failed only if it changed something).
    changes: u64,
    /// (expire_at_ms, key) for every key with a TTL, ordered by due time.
    expires: BTreeSet<(u64, Bytes)>,
    stats: DbStats,
    /// The snapshot in progress, if any ([`Keyspace::start_snapshot`]).
    snapshot: Option<Box<snapshot::DbSnapshot>>,
    /// Keys removed because their TTL passed, until taken
    /// ([`Keyspace::take_expired`]); `None` when not recorded.
    expired: Option<Vec<Bytes>>,
}

impl Db {
    /// An empty database whose hash order is fixed by `seeds` (from the
    /// Platform's RNG, so the simulator seed fixes KEYS/SCAN order).
    pub fn new(seeds: [u64; 4]) -> Db {
        Db {
            dict: Dict::with_seeds(seeds),
            // Never iterated: a fixed seed cannot leak an order to clients.
            watched: std::collections::HashMap::with_hasher(ahash::RandomState::with_seeds(
                5, 6, 7, 8,
            )),
            version_clock: 0,
            changes: 0,
            expires: BTreeSet::new(),
            stats: DbStats::default(),
            snapshot: None,
            expired: None,
        }
    }

    /// Number of keys, including expired ones not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// True when the database holds no keys.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Number of keys with a TTL (`expires=` in INFO keyspace).
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Counters for INFO.
    pub fn stats(&self) -> DbStats {
        self.stats
    }

    /// Records that `key` expired, when expirations are recorded.
    fn note_expired(&mut self, key: &[u8]) {
        if let Some(expired) = self.expired.as_mut() {
            expired.push(Bytes::copy_from_slice(key));
        }
    }

    /// Lets a snapshot in progress capture `key`'s entry before it changes
    /// (see [`snapshot`]); with none running it is one `is_none` check.
    fn before_change(&mut self, key: &[u8]) {
        if let Some(snapshot) = self.snapshot.as_deref_mut() {
            snapshot.before_change(&self.dict, key);
        }
    }

    /// Records a change to `key` for WATCH: bumps its version if watched.
    /// Every mutating method calls this; with nothing watched it is one
    /// `is_empty` check.
    fn touch(&mut self, key: &[u8]) {
        self.changes += 1;
        touch_watched(&mut self.watched, &mut self.version_clock, key);
    }

    /// How many changes the database has seen (see [`Db::touch`]).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The live entry under `key` with one probe, expiring it first if due.
    fn lookup(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.lookup_split(key, now_ms).0
    }

    /// [`Db::lookup`] that also hands back the stats, which the returned
    /// entry does not borrow (the entry borrows only the dict).
    fn lookup_split(&mut self, key: &[u8], now_ms: u64) -> (Option<&mut Entry>, &mut DbStats) {
        let Db {
            dict,
            expires,
            watched,
            version_clock,
            changes,
            stats,
            snapshot,
            expired,
        } = self;
        let entry = match dict.get_unless(key, |entry| entry.is_expired(now_ms)) {
            Lookup::Found(entry) => Some(entry),
            Lookup::Missing => None,
            Lookup::Removed(key, entry) => {
                if let Some(snapshot) = snapshot.as_deref_mut() {
                    snapshot.after_remove(&key, &entry);
                }
                if let Some(when) = entry.expire_at_ms {
                    expires.remove(&(when, key.clone()));
                }
                touch_watched(watched, version_clock, &key);
                *changes += 1;
                stats.expired_keys += 1;
                if let Some(expired) = expired {
                    expired.push(key);
                }
                None
            }
        };
        (entry, stats)
    }

    /// Records a change to every watched key that exists (FLUSHDB, SWAPDB).
    fn touch_all_existing(&mut self) {
        self.changes += 1;
        let existing: Vec<Bytes> = self
            .watched
            .keys()
            .filter(|key| self.dict.contains_key(key))
            .cloned()
            .collect();
        for key in existing {
            self.touch(&key);
        }
    }

    /// WATCH: starts tracking `key` (expiring it first if due, so a later
    /// expiry is a change) and returns its current version. Each call must
    /// be paired with [`Db::unwatch`].
    pub fn watch(&mut self, key: &[u8], now_ms: u64) -> u64 {
        self.expire_if_due(key, now_ms);
        let clock = self.version_clock;
        let watched = self
            .watched
            .entry(Bytes::copy_from_slice(key))
            .or_insert(WatchedKey {
                watchers: 0,
                version: clock,
            });
        watched.watchers += 1;
        watched.version
    }

    /// Stops one watcher of `key`.
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(watched) = self.watched.get_mut(key) {
            watched.watchers = watched.watchers.saturating_sub(1);
            if watched.watchers == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// True if `key` changed (or expired) since WATCH returned `version`.
    pub fn watch_is_dirty(&mut self, key: &[u8], version: u64, now_ms: u64) -> bool {
        self.expire_if_due(key, now_ms);
        self.watched
            .get(key)
            .is_none_or(|watched| watched.version != version)
    }

    /// Removes `key` if its TTL has passed; true if the key is (now) absent.
    fn expire_if_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        let expired = match self.dict.get(key) {
            None => return true,
            Some(entry) => entry.is_expired(now_ms),
        };
        if expired {
            self.remove_entry(key);
            self.stats.expired_keys += 1;
            self.note_expired(key);
        }
        expired
    }

    /// The live entry under `key`, expiring it lazily first.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.lookup(key, now_ms).map(|entry| &*entry)
    }

    /// Like [`Db::get`], but counts a keyspace hit or miss (Redis's
    /// `lookupKeyRead`). Use for commands that read the key's value.
    pub fn get_for_read(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let (found, stats) = self.lookup_split(key, now_ms);
        match found {
            Some(_) => stats.keyspace_hits += 1,
            None => stats.keyspace_misses += 1,
        }
        found.map(|entry| &*entry)
    }

    /// The live value under `key`, mutably (the TTL is kept).
    pub fn value_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        if self.expire_if_due(key, now_ms) {
            return None;
        }
        // Handing out a mutable value counts as a change for WATCH (an
        // over-approximation: a handler may end up changing nothing).
        self.before_change(key);
        self.touch(key);
        self.dict.get_mut(key).map(|entry| &mut entry.value)
    }

    /// True if a live key exists.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.lookup(key, now_ms).is_some()
    }

    /// Stores `value` under `key` with the given TTL, replacing any previous
    /// entry (and its TTL). `key` is copied so it never pins a network buffer.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>) {
        self.before_change(key);
        self.touch(key);
        // Overwriting keeps the stored key: no allocation for the key.
        if let Some(entry) = self.dict.get_mut(key) {
            let old_expire = std::mem::replace(&mut entry.expire_at_ms, expire_at_ms);
            entry.value = value;
            if old_expire != expire_at_ms {
                let key = Bytes::copy_from_slice(key);
                if let Some(old_when) = old_expire {
                    self.expires.remove(&(old_when, key.clone()));
                }
                if let Some(when) = expire_at_ms {
                    self.expires.insert((when, key));
                }
            }
            return;
        }
        // A new key. Cloning a fresh `Bytes` allocates a shared header, so
        // only keys with a TTL (indexed in `expires`) pay for a clone.
        let key = Bytes::copy_from_slice(key);
        if let Some(when) = expire_at_ms {
            self.expires.insert((when, key.clone()));
        }
        let previous = self.dict.insert(
            key,
            Entry {
                value,
                expire_at_ms,
            },
        );
        assert!(previous.is_none(), "the key was absent a moment ago");
    }

    /// Stores a whole entry (value and TTL) under `key`.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) {
        self.insert(key, entry.value, entry.expire_at_ms);
    }

    /// Replaces the value under an existing live key, keeping its TTL
    /// (APPEND, INCR, SETRANGE, KEEPTTL). Inserts without TTL if absent.
    pub fn replace_value(&mut self, key: &[u8], value: Value, now_ms: u64) {
        match self.value_mut(key, now_ms) {
            Some(slot) => *slot = value,
            None => self.insert(key, value, None),
        }
    }

    /// Removes a live key, returning its entry (`None` if absent or expired).
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        if self.expire_if_due(key, now_ms) {
            return None;
        }
        self.remove_entry(key)
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        self.before_change(key);
        let (key, entry) = self.dict.remove(key)?;
        self.touch(&key);
        if let Some(when) = entry.expire_at_ms {
            self.expires.remove(&(when, key));
        }
        Some(entry)
    }

    /// Sets or clears the TTL of a live key; false if the key is absent.
    pub fn set_expiry(&mut self, key: &[u8], expire_at_ms: Option<u64>, now_ms: u64) -> bool {
        if self.expire_if_due(key, now_ms) {
            return false;
        }
        let Some((stored_key, entry)) = self.dict.get_key_value(key) else {
            return false;
        };
        let stored_key = stored_key.clone();
        let old = entry.expire_at_ms;
        if old == expire_at_ms {
            return true;
        }
        self.before_change(&stored_key);
        if let Some(old_when) = old {
            self.expires.remove(&(old_when, stored_key.clone()));
        }
        if let Some(when) = expire_at_ms {
            self.expires.insert((when, stored_key));
        }
        if let Some(entry) = self.dict.get_mut(key) {
            entry.expire_at_ms = expire_at_ms;
        }
        self.touch(key);
        true
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.touch_all_existing();
        match self.snapshot.as_deref_mut() {
            Some(snapshot) => snapshot.detach(self.dict.take()),
            None => self.dict.clear(),
        }
        self.expires.clear();
    }

    /// One SCAN step over the dict (see [`dict::Dict::scan`]): visits live keys
    /// at `cursor` and returns the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, now_ms: u64, mut visit: impl FnMut(&Bytes, &Entry)) -> u64 {
        self.dict.scan(cursor, |key, entry| {
            if !entry.is_expired(now_ms) {
                visit(key, entry)
            }
        })
    }

    /// Every live key with its entry, in hash order.
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.dict
            .iter()
            .filter(move |(_, entry)| !entry.is_expired(now_ms))
    }

    /// A random live key (RANDOMKEY), expiring dead candidates it meets.
    pub fn random_key(&mut self, now_ms: u64, rng: &mut dyn RngCore) -> Option<Bytes> {
        const ATTEMPTS_MAX: usize = 100;
        for _ in 0..ATTEMPTS_MAX {
            let (key, expired) = {
                let mut draw = || rng.next_u64();
                let (key, entry) = self.dict.random_entry(&mut draw)?;
                (key.clone(), entry.is_expired(now_ms))
            };
            if !expired {
                return Some(key);
            }
            self.expire_if_due(&key, now_ms);
        }
        None
    }

    /// Removes up to `keys_max` keys whose TTL has passed, in due order;
    /// returns how many were removed (Redis's active expiry cycle).
    pub fn active_expire(&mut self, now_ms: u64, keys_max: usize) -> usize {
        let mut removed = 0;
        while removed < keys_max {
            let Some((when, key)) = self.expires.first().cloned() else {
                break;
            };
            if now_ms <= when {
                break;
            }
            self.remove_entry(&key);
            self.stats.expired_keys += 1;
            self.note_expired(&key);
            removed += 1;
        }
        removed
    }

    /// Approximate heap bytes of keys and values (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        self.dict
            .iter()
            .map(|(key, entry)| key.len() + entry.value.heap_bytes())
            .sum()
    }
}

/// The databases of one shard.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
}

impl Keyspace {
    /// `databases` empty databases; `seed_source` supplies hash seeds.
    pub fn new(databases: usize, seed_source: &mut dyn RngCore) -> Keyspace {
        assert!(databases > 0, "a keyspace needs at least one database");
        let dbs = (0..databases)
            .map(|_| {
                let seeds = [
                    seed_source.next_u64(),
                    seed_source.next_u64(),
                    seed_source.next_u64(),
                    seed_source.next_u64(),
                ];
                Db::new(seeds)
            })
            .collect();
        Keyspace { dbs }
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `index`. Panics if out of range: callers validate SELECT.
    pub fn db(&mut self, index: usize) -> &mut Db {
        &mut self.dbs[index]
    }

    /// Changes seen by every database together (see [`Db::changes`]).
    pub fn changes(&self) -> u64 {
        self.dbs.iter().map(Db::changes).sum()
    }

    /// Every database, for whole-keyspace commands and INFO.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Every database, mutably (FLUSHALL, active expiry).
    pub fn dbs_mut(&mut self) -> &mut [Db] {
        &mut self.dbs
    }

    /// Starts a point-in-time snapshot of every database, taken as of now
    /// (Unix ms `now_ms`: keys already expired are left out) and read out
    /// a slice at a time by [`Keyspace::snapshot_step`] while the keyspace
    /// keeps changing. False (and nothing started) if one is running.
    pub fn start_snapshot(&mut self, now_ms: u64) -> bool {
        if self.snapshot_running() {
            return false;
        }
        for (index, db) in self.dbs.iter_mut().enumerate() {
            db.snapshot = Some(Box::new(snapshot::DbSnapshot::new(index, now_ms, &db.dict)));
        }
        true
    }

    /// True while a snapshot started by [`Keyspace::start_snapshot`] has
    /// not been ended.
    pub fn snapshot_running(&self) -> bool {
        self.dbs.iter().any(|db| db.snapshot.is_some())
    }

    /// Reports about `keys_max` more entries of the snapshot (and every
    /// entry captured before a change since the last step) to
    /// `report(db, key, entry)`, each entry of the snapshot exactly once
    /// over all steps, with the database index and value it had when the
    /// snapshot started. Returns true once every entry was reported; the
    /// snapshot then ends.
    pub fn snapshot_step(
        &mut self,
        keys_max: usize,
        report: &mut dyn FnMut(usize, &[u8], &Entry),
    ) -> bool {
        let mut done = true;
        for db in &mut self.dbs {
            if let Some(snapshot) = db.snapshot.as_deref_mut() {
                snapshot.step(&db.dict, keys_max, report);
                done &= snapshot.is_done();
            }
        }
        if done {
            self.end_snapshot();
        }
        done
    }

    /// Records every key removed because its TTL passed, from now on
    /// (`true`), for [`Keyspace::take_expired`]; the AOF logs them as DELs
    /// as Redis propagates expirations, so that replay never depends on
    /// the clock agreeing with the one they expired by.
    pub fn record_expired(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.expired = on.then(Vec::new);
        }
    }

    /// Moves the keys that expired since the last call, with their
    /// database index, into `out`, in the order they expired per database.
    pub fn take_expired(&mut self, out: &mut Vec<(usize, Bytes)>) {
        for (index, db) in self.dbs.iter_mut().enumerate() {
            if let Some(expired) = db.expired.as_mut() {
                out.extend(expired.drain(..).map(|key| (index, key)));
            }
        }
    }

    /// Drops the snapshot in progress, if any (abandoned, or finished).
    pub fn end_snapshot(&mut self) {
        for db in &mut self.dbs {
            db.snapshot = None;
        }
    }

    /// Swaps databases `a` and `b` (SWAPDB). Panics if out of range.
    pub fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        // Watches stay with the database index, as clients see it: keys
        // that exist on either side before or after count as changed.
        self.dbs[a].touch_all_existing();
        self.dbs[b].touch_all_existing();
        let (low, high) = (a.min(b), a.max(b));
        let (left, right) = self.dbs.split_at_mut(high);
        let (first, second) = (&mut left[low], &mut right[0]);
        std::mem::swap(&mut first.dict, &mut second.dict);
        std::mem::swap(&mut first.expires, &mut second.expires);
        // A snapshot follows its table (and reports under its own index).
        std::mem::swap(&mut first.snapshot, &mut second.snapshot);
        first.touch_all_existing();
        second.touch_all_existing();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn db() -> Db {
        Db::new([1, 2, 3, 4])
    }

    #[test]
    fn canonical_integers_match_string2ll() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-12"), Some(-12));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(
                parse_canonical_i64(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn key_with_expire_equal_to_now_is_still_alive() {
        let mut db = db();
        db.insert(b"k", Value::String(Bytes::from_static(b"v")), Some(1000));
        assert!(db.get(b"k", 1000).is_some());
        assert!(db.get(b"k", 1001).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.expires_len(), 0);
        assert_eq!(db.stats().expired_keys, 1);
    }

    #[test]
    fn overwrite_clears_old_ttl_from_index() {
        let mut db = db();
        db.insert(b"k", Value::String(Bytes::from_static(b"v")), Some(1000));
        db.insert(b"k", Value::String(Bytes::from_static(b"w")), None);
        assert_eq!(db.expires_len(), 0);
        assert_eq!(db.active_expire(5000, 10), 0);
        assert!(db.get(b"k", 5000).is_some());
    }

    #[test]
    fn active_expire_removes_due_keys_in_order_and_respects_budget() {
        let mut db = db();
        for i in 0..10u64 {
            db.insert(
                format!("k{i}").as_bytes(),
                Value::String(Bytes::new()),
                Some(100 + i),
            );
        }
        db.insert(b"forever", Value::String(Bytes::new()), None);
        assert_eq!(db.active_expire(104, 3), 3);
        assert_eq!(db.active_expire(104, 100), 1);
        assert!(db.get(b"k4", 104).is_some());
        assert_eq!(db.len(), 7);
    }

    #[test]
    fn set_expiry_moves_index_entry() {
        let mut db = db();
        db.insert(b"k", Value::String(Bytes::new()), Some(50));
        assert!(db.set_expiry(b"k", Some(500), 0));
        assert_eq!(db.active_expire(100, 10), 0);
        assert!(db.set_expiry(b"k", None, 0));
        assert_eq!(db.expires_len(), 0);
        assert!(!db.set_expiry(b"missing", Some(1), 0));
    }

    #[test]
    fn random_key_skips_expired_keys() {
        let mut db = db();
        db.insert(b"dead", Value::String(Bytes::new()), Some(1));
        db.insert(b"live", Value::String(Bytes::new()), None);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20 {
            assert_eq!(db.random_key(10, &mut rng).as_deref(), Some(&b"live"[..]));
        }
    }

    #[test]
    fn watch_versions_change_on_every_kind_of_write() {
        let mut db = db();
        let v = db.watch(b"k", 0);
        assert!(!db.watch_is_dirty(b"k", v, 0));
        db.insert(b"k", Value::String(Bytes::from_static(b"1")), None);
        assert!(db.watch_is_dirty(b"k", v, 0), "insert");
        let v = db.watch(b"k", 0);
        db.set_expiry(b"k", Some(10), 0);
        assert!(db.watch_is_dirty(b"k", v, 0), "expire set");
        let v = db.watch(b"k", 0);
        assert!(db.watch_is_dirty(b"k", v, 11), "expired");
        let v = db.watch(b"gone", 0);
        assert!(db.remove(b"gone", 0).is_none());
        assert!(
            !db.watch_is_dirty(b"gone", v, 0),
            "removing nothing changes nothing"
        );
        db.insert(b"other", Value::String(Bytes::new()), None);
        assert!(!db.watch_is_dirty(b"gone", v, 0), "other keys do not count");
    }

    #[test]
    fn flush_and_swap_touch_only_existing_watched_keys() {
        let mut keyspace = Keyspace::new(2, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        keyspace
            .db(0)
            .insert(b"a", Value::String(Bytes::new()), None);
        let a = keyspace.db(0).watch(b"a", 0);
        let b = keyspace.db(0).watch(b"b", 0);
        keyspace
            .db(1)
            .insert(b"b", Value::String(Bytes::new()), None);
        keyspace.swap(0, 1);
        assert!(keyspace.db(0).watch_is_dirty(b"a", a, 0));
        assert!(
            keyspace.db(0).watch_is_dirty(b"b", b, 0),
            "b appears in db 0 after the swap"
        );
        let a = keyspace.db(0).watch(b"a", 0);
        keyspace.db(0).clear();
        assert!(
            !keyspace.db(0).watch_is_dirty(b"a", a, 0),
            "a no longer existed"
        );
    }

    #[test]
    fn encodings_follow_redis_rules() {
        let enc = |s: &'static [u8]| Value::String(Bytes::from_static(s)).encoding();
        assert_eq!(enc(b"12345"), "int");
        assert_eq!(enc(b"012"), "embstr");
        assert_eq!(enc(&[b'a'; 44]), "embstr");
        assert_eq!(enc(&[b'a'; 45]), "raw");
    }
}
