//! The serial model for P2: one unsharded keyspace that replays every
//! execution the shards report, in the order they happened, through the very
//! same command handlers.
//!
//! Each replayed reply must equal the one the shard recorded. What
//! legitimately differs between sharded and unsharded execution is
//! normalised, and nothing else:
//!
//! * Whole-keyspace commands (KEYS, FLUSHDB, DBSIZE, ...) run once per shard
//!   and each part sees only that shard's keys, so their parts are replayed
//!   over a *shard view*: the model's keys owned by the executing shard are
//!   moved into a scratch keyspace, the handler runs there, and the keys move
//!   back. A FLUSHDB part thus clears only its shard's keys, exactly as
//!   the shard did, while the other shards' keys stay visible to commands
//!   interleaved between the parts.
//! * Hash order differs (each shard seeds its own tables), so KEYS replies
//!   compare as sets; a SCAN part is checked for what SCAN promises (live,
//!   owned, matching keys; no duplicates; a cursor naming a valid shard)
//!   rather than replayed; RANDOMKEY must name a live key of the shard.
//! * DBSIZE counts keys whose TTL passed but that nobody has reclaimed yet,
//!   and shards reclaim them on timers the model does not run. The model
//!   reclaims only lazily, on the same commands as the shards, so it holds a
//!   superset of the shard's expired keys: a shard's DBSIZE must lie between
//!   its live keys and the keys the model still holds for it.
//!
//! The model also checks that every execution ran where it should: keyed
//! parts only on the shard owning every key.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use corekv::commands::keys::{parse_scan_cursor, scan_cursor_shard};
use corekv::commands::{Args, CommandSpec, Ctx, Exec, MultiShard, Route, Table};
use corekv::glob::glob_match;
use corekv::keyspace::{Keyspace, Value};
use corekv::resp::Reply;
use corekv::slot::SlotMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::trace::{show_argv, show_reply};
use crate::world::Execution;

/// Commands whose array reply has no defined order (compared as sets).
const UNORDERED: &[&str] = &[
    "keys", "smembers", "sinter", "sunion", "sdiff", "hkeys", "hvals", "hgetall",
];

/// The unsharded reference keyspace.
pub struct Model {
    keyspace: Keyspace,
    scratch: Keyspace,
    table: Table,
    slots: SlotMap,
    rng: ChaCha8Rng,
    proto_max_bulk_len: usize,
    watches: BTreeMap<u64, WatchReg>,
    next_watch: u64,
    /// Every expire time (Unix ms) a key has had after a replayed command:
    /// a key may have been reclaimed since, on its shard or here.
    expire_times_ms: BTreeSet<u64>,
}

/// A watched key as the model tracks it: registered on the model's own
/// keyspace (so its versions follow exactly the keyspace's `touch` rules:
/// writes, `value_mut` even without a change, expiry, FLUSHDB/FLUSHALL/
/// SWAPDB over existing keys), and polled into a count of changes.
#[derive(Clone, Debug)]
struct WatchReg {
    db: usize,
    key: Bytes,
    shard: usize,
    version: u64,
    changes: u32,
    expire_at_ms: Option<u64>,
    /// A change the model cannot call: FLUSHDB/SWAPDB over the key while
    /// the model held it expired (a shard may have reclaimed it already).
    ambiguous: bool,
}

impl Model {
    /// An empty model of a server with `shard_count` shards and `databases` databases.
    pub fn new(shard_count: usize, databases: usize, proto_max_bulk_len: usize) -> Model {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        Model {
            keyspace: Keyspace::new(databases, &mut rng),
            scratch: Keyspace::new(databases, &mut rng),
            table: Table::new(),
            slots: SlotMap::new(shard_count),
            rng,
            proto_max_bulk_len,
            watches: BTreeMap::new(),
            next_watch: 0,
            expire_times_ms: BTreeSet::new(),
        }
    }

    /// The server restarted from `keyspaces` (one per shard): the model
    /// continues from their union, with no watch registered.
    pub fn reset_to(&mut self, keyspaces: &[Keyspace]) {
        let databases = self.keyspace.db_count();
        self.keyspace = Keyspace::new(databases, &mut self.rng);
        self.scratch = Keyspace::new(databases, &mut self.rng);
        self.watches.clear();
        for keyspace in keyspaces {
            for (index, db) in keyspace.dbs().iter().enumerate() {
                for (key, entry) in db.iter(0) {
                    self.keyspace.db(index).insert_entry(key, entry.clone());
                }
            }
        }
    }

    /// The entry under `key` of `db`, if live at `now_ms` (read without
    /// reclaiming anything).
    pub fn live_entry(
        &self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Option<corekv::keyspace::Entry> {
        self.keyspace.dbs()[db]
            .iter(now_ms)
            .find(|(k, _)| k[..] == *key)
            .map(|(_, entry)| entry.clone())
    }

    /// Starts watching `key` of `db`; returns the registration's id. The
    /// shard's WATCH reclaims the key if its TTL passed; the model does not
    /// (it cannot know when the shard served it, and holding fewer expired
    /// keys than a shard would break the DBSIZE bound): such a key's TTL
    /// makes the verdict lenient instead (see `watch_expire_at_ms`).
    pub fn watch_register(&mut self, db: usize, key: &Bytes) -> u64 {
        let version = self.keyspace.db(db).watch(key, 0);
        let expire_at_ms = self.keyspace.dbs()[db]
            .iter(0)
            .find(|(k, _)| *k == key)
            .and_then(|(_, entry)| entry.expire_at_ms());
        let id = self.next_watch;
        self.next_watch += 1;
        let shard = self.slots.shard_of_key(key);
        self.watches.insert(
            id,
            WatchReg {
                db,
                key: key.clone(),
                shard,
                version,
                changes: 0,
                expire_at_ms,
                ambiguous: false,
            },
        );
        id
    }

    /// Changes to registration `id`'s key since it was registered (at least
    /// one per interval in which it changed, polled now).
    pub fn watch_changes(&mut self, id: u64) -> u32 {
        self.poll_watch(id, true);
        self.watches.get(&id).map_or(0, |reg| reg.changes)
    }

    /// The TTL the key had when registration `id` began.
    pub fn watch_expire_at_ms(&self, id: u64) -> Option<u64> {
        self.watches.get(&id).and_then(|reg| reg.expire_at_ms)
    }

    /// The TTL registration `id`'s key holds now (expired or not).
    pub fn watch_ttl_now(&self, id: u64) -> Option<u64> {
        let reg = self.watches.get(&id)?;
        self.keyspace.dbs()[reg.db]
            .iter(0)
            .find(|(k, _)| **k == reg.key)
            .and_then(|(_, entry)| entry.expire_at_ms())
    }

    /// True once registration `id` saw a change the model cannot call.
    pub fn watch_ambiguous(&self, id: u64) -> bool {
        self.watches.get(&id).is_some_and(|reg| reg.ambiguous)
    }

    /// The (db, key) of registration `id`.
    pub fn watch_key(&self, id: u64) -> Option<(usize, Bytes)> {
        self.watches.get(&id).map(|reg| (reg.db, reg.key.clone()))
    }

    /// Ends registration `id`.
    pub fn watch_drop(&mut self, id: u64) {
        if let Some(reg) = self.watches.remove(&id) {
            self.keyspace.db(reg.db).unwatch(&reg.key);
        }
    }

    /// Counts a change if the key's version moved (`count`), and re-arms.
    fn poll_watch(&mut self, id: u64, count: bool) {
        let Some(reg) = self.watches.get_mut(&id) else {
            return;
        };
        let db = self.keyspace.db(reg.db);
        // now_ms 0: never expires anything, so polling changes nothing.
        if db.watch_is_dirty(&reg.key, reg.version, 0) {
            reg.changes += u32::from(count);
            reg.version = db.watch(&reg.key, 0);
            db.unwatch(&reg.key);
        }
    }

    /// How far back (ms) the wall clock may be set from `now_ms` without
    /// bringing back a key that expired: no key ever had an expire time in
    /// between (one reclaimed since, by its shard or by the model, would
    /// live again where it was not reclaimed), and no WATCH is registered
    /// (its verdict
    /// compares wall-clock instants). `None`: not at all.
    pub fn clock_set_back_ms_max(&self, now_ms: u64) -> Option<u64> {
        if !self.watches.is_empty() {
            return None;
        }
        match self.expire_times_ms.range(..now_ms).next_back() {
            // Still expired afterwards: the clock stays past `at` (a key
            // expires once now > at), with a millisecond to spare.
            Some(at) => now_ms.checked_sub(at + 2).filter(|ms| *ms > 0),
            None => Some(u64::MAX),
        }
    }

    /// The shard owning `key`.
    pub fn shard_of_key(&self, key: &[u8]) -> usize {
        self.slots.shard_of_key(key)
    }

    /// Replays one execution; `Err` describes how it departs from the serial model.
    pub fn replay(&mut self, exec: &mut Execution) -> Result<(), String> {
        let Some(spec) = exec.argv.first().and_then(|name| self.table.lookup(name)) else {
            return Err(format!(
                "traced an unknown command: {}",
                show_argv(&exec.argv)
            ));
        };
        let Exec::Keyspace { handler, route } = spec.exec else {
            return Err(format!(
                "traced a server command: {}",
                show_argv(&exec.argv)
            ));
        };
        if exec.db >= self.keyspace.db_count() {
            return Err(format!(
                "executed in database {} which does not exist",
                exec.db
            ));
        }
        if let Route::Keys(multi) = route {
            let keys: Vec<&Bytes> = spec.keys_of(&exec.argv).collect();
            self.check_owner(exec, &keys, multi)?;
        }
        let now_ms = exec.unix_time_us / 1000;
        match (spec.name, route) {
            ("scan", _) => return self.check_scan(handler, exec, now_ms),
            ("dbsize", _) => {
                return self.in_view(exec.shard, &[], now_ms, |m| m.check_dbsize(exec, now_ms))
            }
            ("randomkey", _) => {
                return self.in_view(exec.shard, &[], now_ms, |m| {
                    m.check_random_key(exec, now_ms)
                })
            }
            _ => {}
        }
        let replayed = if matches!(route, Route::AllShards(_)) {
            let writes = self.databases_written(spec.name, exec);
            self.in_view(exec.shard, &writes, now_ms, |m| m.run(handler, exec))
        } else {
            self.run(handler, exec)
        };
        self.note_expire_times(spec, exec, now_ms);
        let same = if UNORDERED.contains(&spec.name) {
            unordered(&replayed) == unordered(&exec.reply)
        } else {
            replayed == exec.reply
        };
        if same {
            Ok(())
        } else {
            Err(format!(
                "shard {} replied {} to {} (db {}), the serial model replies {}",
                exec.shard,
                show_reply(&exec.reply),
                show_argv(&exec.argv),
                exec.db,
                show_reply(&replayed)
            ))
        }
    }

    /// Notes the expire times `exec` may have set (for
    /// [`Model::clock_set_back_ms_max`]): those its keys have now, and, for
    /// a command that sets one, the instant it ran — an expire time already
    /// past deletes the key at once, yet replaying the AOF keeps it until
    /// that time, so the clock must not go back to it.
    fn note_expire_times(&mut self, spec: &CommandSpec, exec: &Execution, now_ms: u64) {
        const SETTERS: &[&str] = &[
            "expire",
            "pexpire",
            "expireat",
            "pexpireat",
            "setex",
            "psetex",
            "getex",
            "restore",
        ];
        let option = |arg: &Bytes| {
            [&b"ex"[..], b"px", b"exat", b"pxat"]
                .iter()
                .any(|o| arg.eq_ignore_ascii_case(o))
        };
        let name = spec.name;
        if SETTERS.contains(&name) || (name == "set" && exec.argv.iter().skip(3).any(option)) {
            self.expire_times_ms.insert(now_ms);
        }
        for key in spec.keys_of(&exec.argv) {
            // Every database: COPY ... DB and MOVE put the key in another.
            for db in self.keyspace.dbs_mut() {
                // now_ms 0: never expires anything.
                if let Some(at) = db.get(key, 0).and_then(|entry| entry.expire_at_ms()) {
                    self.expire_times_ms.insert(at);
                }
            }
        }
    }

    /// The databases a whole-keyspace command changes (for WATCH).
    fn databases_written(&self, name: &str, exec: &Execution) -> Vec<usize> {
        let parse = |arg: Option<&Bytes>| {
            arg.and_then(|a| std::str::from_utf8(a).ok())
                .and_then(|a| a.parse::<usize>().ok())
        };
        match name {
            "flushdb" => vec![exec.db],
            "flushall" => (0..self.keyspace.db_count()).collect(),
            "swapdb" => match (parse(exec.argv.get(1)), parse(exec.argv.get(2))) {
                (Some(a), Some(b)) if a != b && exec.reply == Reply::ok() => vec![a, b],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Runs `handler` over the model for `exec` (argv is lent to the handler and given back).
    fn run(&mut self, handler: corekv::commands::Handler, exec: &mut Execution) -> Reply {
        let (keyspace, rng) = (&mut self.keyspace, &mut self.rng);
        let mut ctx = Ctx {
            keyspace,
            db_index: exec.db,
            now_ms: exec.unix_time_us / 1000,
            now_us: exec.unix_time_us,
            rng,
            shard_index: 0,
            shard_count: 1,
            proto_max_bulk_len: self.proto_max_bulk_len,
            loading: false,
        };
        let mut args = Args::new(std::mem::take(&mut exec.argv));
        let reply = handler(&mut ctx, &mut args).unwrap_or_else(Reply::from);
        exec.argv = args.into_argv();
        reply
    }

    /// A keyed part must run on the shard owning all its keys. (A gathered
    /// command whose keys span shards runs at its home shard over fetched
    /// entries instead.)
    fn check_owner(
        &self,
        exec: &Execution,
        keys: &[&Bytes],
        multi: MultiShard,
    ) -> Result<(), String> {
        let mut owners = keys.iter().map(|key| self.slots.shard_of_key(key));
        let first = owners.next();
        if multi == MultiShard::Gather && owners.any(|owner| Some(owner) != first) {
            return Ok(());
        }
        let Some(stray) = keys
            .iter()
            .find(|key| self.slots.shard_of_key(key) != exec.shard)
        else {
            return Ok(());
        };
        Err(format!(
            "{} ran on shard {} but key \"{}\" belongs to shard {}",
            show_argv(&exec.argv),
            exec.shard,
            crate::trace::show_bytes(stray),
            self.slots.shard_of_key(stray)
        ))
    }

    /// Runs `body` with the keyspace narrowed to the keys `shard` owns: they
    /// move to the scratch keyspace, which takes the keyspace's place, and
    /// move back afterwards (with whatever `body` did to them).
    ///
    /// Moving keys counts as a change for WATCH; the model's registrations
    /// on `shard` count only the changes `writes` (databases the command
    /// flushes or swaps) made to keys held before.
    fn in_view<T>(
        &mut self,
        shard: usize,
        writes: &[usize],
        now_ms: u64,
        body: impl FnOnce(&mut Model) -> T,
    ) -> T {
        let ids: Vec<u64> = self
            .watches
            .iter()
            .filter(|(_, reg)| reg.shard == shard)
            .map(|(id, _)| *id)
            .collect();
        // SWAPDB counts keys held on either side; FLUSHDB/FLUSHALL only
        // keys held in their own database.
        let swap = writes.len() == 2;
        let mut held = Vec::with_capacity(ids.len());
        for id in &ids {
            self.poll_watch(*id, true);
            let reg = &self.watches[id];
            let sides: &[usize] = if swap {
                writes
            } else {
                std::slice::from_ref(&reg.db)
            };
            let mut live = false;
            let mut expired = false;
            if writes.contains(&reg.db) {
                for db in sides {
                    let entry = self.keyspace.dbs()[*db]
                        .iter(0)
                        .find(|(key, _)| **key == reg.key)
                        .map(|(_, entry)| entry.expire_at_ms());
                    match entry {
                        Some(Some(at)) if at < now_ms => expired = true,
                        Some(_) => live = true,
                        None => {}
                    }
                }
            }
            if expired && !live {
                self.watches.get_mut(id).expect("registered").ambiguous = true;
            }
            held.push(live);
        }
        let result = self.in_view_moving(shard, body);
        for (id, held) in ids.iter().zip(held) {
            self.poll_watch(*id, held);
        }
        result
    }

    fn in_view_moving<T>(&mut self, shard: usize, body: impl FnOnce(&mut Model) -> T) -> T {
        for index in 0..self.keyspace.db_count() {
            let owned: Vec<Bytes> = self
                .keyspace
                .db(index)
                .iter(0)
                .map(|(key, _)| key.clone())
                .filter(|key| self.slots.shard_of_key(key) == shard)
                .collect();
            for key in owned {
                if let Some(entry) = self.keyspace.db(index).remove(&key, 0) {
                    self.scratch.db(index).insert_entry(&key, entry);
                }
            }
        }
        std::mem::swap(&mut self.keyspace, &mut self.scratch);
        let result = body(self);
        std::mem::swap(&mut self.keyspace, &mut self.scratch);
        for index in 0..self.keyspace.db_count() {
            let viewed: Vec<Bytes> = self
                .scratch
                .db(index)
                .iter(0)
                .map(|(key, _)| key.clone())
                .collect();
            for key in viewed {
                if let Some(entry) = self.scratch.db(index).remove(&key, 0) {
                    self.keyspace.db(index).insert_entry(&key, entry);
                }
            }
        }
        result
    }

    fn check_dbsize(&mut self, exec: &Execution, now_ms: u64) -> Result<(), String> {
        let db = self.keyspace.db(exec.db);
        let live = db.iter(now_ms).count() as i64;
        let held = db.len() as i64;
        match exec.reply {
            Reply::Integer(n) if (live..=held).contains(&n) => Ok(()),
            _ => Err(format!(
                "shard {} replied {} to DBSIZE (db {}); the serial model has {live} live keys \
                 there and holds {held}",
                exec.shard,
                show_reply(&exec.reply),
                exec.db
            )),
        }
    }

    fn check_random_key(&mut self, exec: &Execution, now_ms: u64) -> Result<(), String> {
        let db = self.keyspace.db(exec.db);
        let ok = match &exec.reply {
            Reply::Null => db.iter(now_ms).next().is_none(),
            Reply::Bulk(key) => db.iter(now_ms).any(|(k, _)| k == key),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "shard {} replied {} to RANDOMKEY (db {}), not one of its live keys",
                exec.shard,
                show_reply(&exec.reply),
                exec.db
            ))
        }
    }

    /// SCAN's promises for one call on one shard.
    fn check_scan(
        &mut self,
        handler: corekv::commands::Handler,
        exec: &mut Execution,
        now_ms: u64,
    ) -> Result<(), String> {
        if exec.reply.is_error() {
            // Errors come from argument parsing, before any key is visited:
            // the serial model must refuse the same way.
            let replayed = self.run(handler, exec);
            if replayed == exec.reply {
                return Ok(());
            }
            return Err(format!(
                "shard {} replied {} to {} (db {}), the serial model replies {}",
                exec.shard,
                show_reply(&exec.reply),
                show_argv(&exec.argv),
                exec.db,
                show_reply(&replayed)
            ));
        }
        let exec = &*exec;
        let fail = |why: String| {
            Err(format!(
                "shard {} replied {} to {} (db {}): {why}",
                exec.shard,
                show_reply(&exec.reply),
                show_argv(&exec.argv),
                exec.db
            ))
        };
        let Ok(cursor) = parse_scan_cursor(&exec.argv[1]) else {
            return fail("the cursor is invalid; the reply should be an error".into());
        };
        if scan_cursor_shard(cursor) != exec.shard {
            return fail(format!("cursor {cursor} names another shard"));
        }
        let mut pattern = None;
        let mut type_name = None;
        for option in exec.argv[2..].chunks(2) {
            match option {
                [name, value] if name.eq_ignore_ascii_case(b"match") => pattern = Some(value),
                [name, value] if name.eq_ignore_ascii_case(b"type") => type_name = Some(value),
                _ => {}
            }
        }
        let Reply::Array(parts) = &exec.reply else {
            return fail("not an array".into());
        };
        let [Reply::Bulk(next), Reply::Array(keys)] = parts.as_slice() else {
            return fail("not [cursor, keys]".into());
        };
        let Ok(next) = parse_scan_cursor(next) else {
            return fail("the next cursor does not parse".into());
        };
        let last_shard = self.slots.shard_count() - 1;
        let next_ok = match next {
            0 => exec.shard == last_shard,
            n if n == exec.shard as u64 + 1 => true,
            n => scan_cursor_shard(n) == exec.shard,
        };
        if !next_ok {
            return fail(format!("next cursor {next} does not continue this scan"));
        }
        let live: BTreeMap<&Bytes, &'static str> = self.keyspace.dbs()[exec.db]
            .iter(now_ms)
            .filter(|(key, _)| self.slots.shard_of_key(key) == exec.shard)
            .map(|(key, entry)| (key, entry.value.type_name()))
            .collect();
        let mut seen = BTreeSet::new();
        for key in keys {
            let Reply::Bulk(key) = key else {
                return fail("a key is not a bulk string".into());
            };
            let Some(type_of) = live.get(key) else {
                return fail(format!("\"{}\" is not a live key of this shard", show(key)));
            };
            if pattern.is_some_and(|p| !glob_match(p, key, false))
                || type_name.is_some_and(|t| !t.eq_ignore_ascii_case(type_of.as_bytes()))
            {
                return fail(format!("\"{}\" does not match the filter", show(key)));
            }
            if !seen.insert(key) {
                return fail(format!("\"{}\" returned twice", show(key)));
            }
        }
        Ok(())
    }

    /// Compares a shard's live contents with the model's keys it owns.
    pub fn compare_shard(
        &self,
        shard: usize,
        keyspace: &Keyspace,
        now_ms: u64,
    ) -> Result<(), String> {
        type Contents<'a> = BTreeMap<&'a Bytes, (&'a Value, Option<u64>)>;
        for (index, (theirs, ours)) in keyspace.dbs().iter().zip(self.keyspace.dbs()).enumerate() {
            let of = |db: &'_ corekv::keyspace::Db| -> Vec<(Bytes, Value, Option<u64>)> {
                db.iter(now_ms)
                    .filter(|(key, _)| self.slots.shard_of_key(key) == shard)
                    .map(|(key, entry)| (key.clone(), entry.value.clone(), entry.expire_at_ms()))
                    .collect()
            };
            let (theirs, ours) = (of(theirs), of(ours));
            let theirs: Contents<'_> = theirs.iter().map(|(k, v, t)| (k, (v, *t))).collect();
            let ours: Contents<'_> = ours.iter().map(|(k, v, t)| (k, (v, *t))).collect();
            if theirs != ours {
                let differing = theirs
                    .keys()
                    .chain(ours.keys())
                    .find(|key| theirs.get(*key) != ours.get(*key))
                    .map(|key| show(key))
                    .unwrap_or_default();
                return Err(format!(
                    "at the end, shard {shard} db {index} holds {} live keys, the serial model {}; \
                     first difference at \"{differing}\": shard {:?}, model {:?}",
                    theirs.len(),
                    ours.len(),
                    theirs.iter().find(|(k, _)| show(k) == differing).map(|(_, v)| v),
                    ours.iter().find(|(k, _)| show(k) == differing).map(|(_, v)| v),
                ));
            }
        }
        Ok(())
    }
}

fn show(bytes: &[u8]) -> String {
    crate::trace::show_bytes(bytes)
}

/// An array, set or map reply's elements (pairs) as a sorted list of their
/// debug forms, for replies whose order is unspecified; other replies as
/// themselves.
fn unordered(reply: &Reply) -> Result<Vec<String>, &Reply> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => {
            let mut items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
            items.sort();
            Ok(items)
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) => {
            let mut pairs: Vec<String> = pairs.iter().map(|p| format!("{p:?}")).collect();
            pairs.sort();
            Ok(pairs)
        }
        other => Err(other),
    }
}
