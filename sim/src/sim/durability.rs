//! P4: what recovery gives back after a crash.
//!
//! From a start (the first, or a recovery) to the next crash, every write
//! a shard executes is recorded here, per shard in execution order, with
//! what the simulator knows of it: its connection and program position, the
//! atomic unit it belongs to (EXEC block, multi-shard or gathered command),
//! and whether its client read the reply. A gathered command's effect on
//! each shard is recorded as the entries it stored there, taken from the
//! serial model right after replaying it.
//!
//! After the crash and recovery, the recovered keyspaces must equal the
//! serial state after a set S of those writes such that
//!
//! * **(a)** on each shard, S is a prefix of the shard's writes, except
//!   that whole atomic units whose commit may not have survived are left
//!   out (units still running at the crash always are);
//! * **(b)** a unit is in S on every shard it wrote, or on none;
//! * **(c)** S is closed under each connection's program order;
//! * **(d)** S holds every write acknowledged under `always`, and every one
//!   acknowledged more than a second of virtual time before the crash
//!   under `everysec` (unless the disk failed since a second before);
//! * **(e)** S respects real time: a write executed after a client read
//!   the reply of another is in S only if that other one is. (The design's
//!   "prefix of the recorded order": under `always` an acknowledged write
//!   is durable; under `everysec`/`no` its epoch is at most the wall
//!   epoch of its acknowledgement, so at most that of anything executed
//!   later, and the recovery cut keeps both or drops the later.)
//!
//! A unit left out while later writes of its shard are kept must commute
//! with them: a later write on its keys (or its whole shard) would have
//! waited for its locks, so that write is left out too.
//!
//! **Search.** Per shard, the writes are replayed from the state at the
//! start onto a keyspace, and the recovered shard compared after each one
//! (incrementally, by the keys each write touches). A unit whose fate is
//! open forks the replay: one branch keeps it, one leaves it out. Every
//! position where a branch equals the recovered shard is a candidate. Then
//! one candidate per shard is chosen so that (b) and (c) hold across
//! shards (a small backtracking search). The branch and step counts are
//! bounded; a search that runs out is reported as inconclusive, not as a
//! failure (and counted in the run's stats).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use corekv::commands::{Args, Ctx, Exec, Table};
use corekv::keyspace::{Entry, Keyspace};
use corekv::persist::Policy;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::trace::{show_argv, show_bytes};

/// An atomic unit: (connection index, sequence number of its EXEC, or of
/// the command itself).
pub(super) type UnitKey = (usize, usize);

/// Live replay branches per shard: beyond, only the closest to the
/// recovered state are followed (and a miss is inconclusive, not a
/// failure). A pruned search that finds nothing runs again with the
/// larger bound.
const BRANCHES_MAX: usize = 64;
/// The bound of the second try.
const BRANCHES_RETRY_MAX: usize = 1024;
/// Steps of the cross-shard choice before it gives up.
const CHOICE_STEPS_MAX: u64 = 200_000;
/// How long before a crash an `everysec` acknowledgement must be durable.
const EVERYSEC_BOUND_US: u64 = 1_000_000;

/// What a recorded write does to its shard.
#[derive(Clone, Debug)]
pub(super) enum Op {
    /// Runs the command (its handler, at its execution time).
    Run(Vec<Bytes>),
    /// Stores the entries a gathered command left under these keys (`None`
    /// until the serial model has replayed the command).
    Store {
        keys: Vec<(usize, Bytes)>,
        entries: Option<Vec<Option<Entry>>>,
    },
}

/// One write a shard executed since the last start.
#[derive(Clone, Debug)]
pub(super) struct Record {
    /// The connection (index into the simulator's list).
    pub conn: usize,
    /// Its sequence number on the connection.
    pub seq: usize,
    /// The command whose reply acknowledges it (its EXEC, or itself).
    pub ack_seq: usize,
    /// The atomic unit it belongs to, if any.
    pub unit: Option<UnitKey>,
    /// Wall-clock time of the execution, Unix µs.
    pub unix_time_us: u64,
    /// Virtual time of the execution (µs), for real-time order.
    pub at_us: u64,
    /// The database it ran in.
    pub db: usize,
    /// What it does.
    pub op: Op,
    /// It touches its whole shard (FLUSHDB, SWAPDB, COPY ... DB).
    pub whole: bool,
    /// The keys it touches.
    pub keys: Vec<(usize, Bytes)>,
}

/// The P4 bookkeeping of one run.
pub(super) struct Durability {
    /// The fsync policy of the run.
    pub policy: Policy,
    /// Each shard's keyspace at the last start.
    bases: Vec<Keyspace>,
    /// Each shard's writes since the last start, in execution order.
    pub records: Vec<Vec<Record>>,
    /// Gathered commands whose stored entries are still to be captured:
    /// (connection index, seq) → (shard, record index) of each store.
    pending_stores: BTreeMap<(usize, usize), Vec<(usize, usize)>>,
    /// The entries under a pending store's keys before the serial model
    /// replayed its command ([`Durability::note_before`]).
    stores_before: BTreeMap<(usize, usize), Vec<Vec<Option<Entry>>>>,
    /// Virtual time of the last start (µs).
    pub started_us: u64,
    /// Virtual time of the last disk fault (µs).
    pub last_fault_us: Option<u64>,
    /// Disk faults seen so far (to notice new ones).
    pub faults_seen: u64,
}

/// How a unit (or a lone write) must fare in S.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    /// In S: acknowledged as durable.
    Required,
    /// Either way (for a lone write: as the prefix falls).
    Open,
    /// Out of S: the unit was still running at the crash.
    Excluded,
}

/// The fate of each record of one shard, and of each unit.
pub(super) struct Fates {
    /// Per shard, per record: required (lone writes and required units).
    pub required: Vec<Vec<bool>>,
    /// Per shard, per record: when a client read the reply acknowledging
    /// it (virtual µs), if one did before the crash.
    pub read_at_us: Vec<Vec<Option<u64>>>,
    /// Per unit.
    pub units: BTreeMap<UnitKey, Fate>,
}

/// Everything the per-shard search needs besides the records.
pub(super) struct SearchCtx<'a> {
    pub table: &'a Table,
    pub shard_count: usize,
    pub databases: usize,
    /// Unix ms at which live contents are compared (recovery's time).
    pub now_ms: u64,
    pub fates: &'a Fates,
}

impl Durability {
    /// Bookkeeping for a run under `policy` whose shards start from `bases`.
    pub fn new(policy: Policy, bases: Vec<Keyspace>, started_us: u64) -> Durability {
        let shards = bases.len();
        Durability {
            policy,
            bases,
            records: (0..shards).map(|_| Vec::new()).collect(),
            pending_stores: BTreeMap::new(),
            stores_before: BTreeMap::new(),
            started_us,
            last_fault_us: None,
            faults_seen: 0,
        }
    }

    /// A new start from `bases`: the records begin again.
    pub fn restart(&mut self, bases: Vec<Keyspace>, started_us: u64) {
        self.records = (0..bases.len()).map(|_| Vec::new()).collect();
        self.bases = bases;
        self.pending_stores.clear();
        self.stores_before.clear();
        self.started_us = started_us;
    }

    /// Records a write executed on `shard`.
    pub fn record(&mut self, shard: usize, record: Record) {
        self.records[shard].push(record);
    }

    /// Records a gathered command of (`conn`, `seq`): one store per shard
    /// owning some of its keys, filled by [`Durability::stored`].
    pub fn record_gathered(&mut self, stores: Vec<(usize, Record)>) {
        let mut places = Vec::with_capacity(stores.len());
        let mut origin = None;
        for (shard, record) in stores {
            origin = Some((record.conn, record.seq));
            places.push((shard, self.records[shard].len()));
            self.records[shard].push(record);
        }
        if let Some(origin) = origin {
            self.pending_stores.insert(origin, places);
        }
    }

    /// True if (`conn`, `seq`) is a gathered write awaiting its entries.
    pub fn awaits_store(&self, conn: usize, seq: usize) -> bool {
        self.pending_stores.contains_key(&(conn, seq))
    }

    /// The serial model is about to replay gathered command (`conn`,
    /// `seq`): `entry` gives what its keys hold before.
    pub fn note_before(
        &mut self,
        conn: usize,
        seq: usize,
        mut entry: impl FnMut(usize, &Bytes) -> Option<Entry>,
    ) {
        let Some(places) = self.pending_stores.get(&(conn, seq)) else {
            return;
        };
        let before = places
            .iter()
            .map(|&(shard, index)| match &self.records[shard][index].op {
                Op::Store { keys, .. } => keys.iter().map(|(db, key)| entry(*db, key)).collect(),
                Op::Run(_) => Vec::new(),
            })
            .collect();
        self.stores_before.insert((conn, seq), before);
    }

    /// The serial model replayed gathered command (`conn`, `seq`): `entry`
    /// gives what it left under each key. A store that changed nothing on
    /// its shard (the command only read the keys there: COPY's source,
    /// PFMERGE's sources) is dropped: the engine stores nothing there, and
    /// placed at the command's execution it would order the shard's other
    /// writes against a read that happened earlier.
    pub fn stored(
        &mut self,
        conn: usize,
        seq: usize,
        mut entry: impl FnMut(usize, &Bytes) -> Option<Entry>,
    ) {
        let Some(places) = self.pending_stores.remove(&(conn, seq)) else {
            return;
        };
        let before = self.stores_before.remove(&(conn, seq));
        let mut unchanged = Vec::new();
        for (place, (shard, index)) in places.into_iter().enumerate() {
            if let Op::Store { keys, entries } = &mut self.records[shard][index].op {
                let after: Vec<Option<Entry>> =
                    keys.iter().map(|(db, key)| entry(*db, key)).collect();
                if before.as_ref().and_then(|b| b.get(place)) == Some(&after) {
                    unchanged.push((shard, index));
                }
                *entries = Some(after);
            }
        }
        // Later positions first, so earlier ones stay valid.
        unchanged.sort_unstable_by(|a, b| b.cmp(a));
        for (shard, index) in unchanged {
            self.records[shard].remove(index);
            for places in self.pending_stores.values_mut() {
                for place in places.iter_mut().filter(|p| p.0 == shard && p.1 > index) {
                    place.1 -= 1;
                }
            }
        }
    }

    /// Each shard's keyspace at the last start.
    pub fn bases(&self) -> &[Keyspace] {
        &self.bases
    }

    /// The fate of a write acknowledged at `replied_at_us` (if it was),
    /// for a crash at `crash_us`.
    pub fn acknowledged_fate(&self, replied_at_us: Option<u64>, crash_us: u64) -> Fate {
        let Some(replied_us) = replied_at_us else {
            return Fate::Open;
        };
        match self.policy {
            Policy::Always => Fate::Required,
            Policy::EverySec => {
                let old_enough = crash_us.saturating_sub(replied_us) > EVERYSEC_BOUND_US;
                // A failing disk suspends the promise (as Redis's: the
                // fsync it relies on did not happen).
                let disk_sound = self
                    .last_fault_us
                    .is_none_or(|fault| fault + EVERYSEC_BOUND_US < replied_us);
                if old_enough && disk_sound {
                    Fate::Required
                } else {
                    Fate::Open
                }
            }
            Policy::No => Fate::Open,
        }
    }
}

/// A keyspace with the same entries (hash seeds fixed: order is not compared).
pub(super) fn clone_keyspace(keyspace: &Keyspace) -> Keyspace {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut copy = Keyspace::new(keyspace.db_count(), &mut rng);
    for (index, db) in keyspace.dbs().iter().enumerate() {
        for (key, entry) in db.iter(0) {
            copy.db(index).insert_entry(key, entry.clone());
        }
    }
    copy
}

/// The live entry under `key` at `now_ms`, without touching the keyspace.
fn live<'a>(keyspace: &'a Keyspace, db: usize, key: &[u8], now_ms: u64) -> Option<&'a Entry> {
    keyspace.dbs()[db]
        .iter(now_ms)
        .find(|(k, _)| k[..] == *key)
        .map(|(_, entry)| entry)
}

/// Two live entries hold the same content and expire time.
fn same_entry(a: Option<&Entry>, b: Option<&Entry>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.expire_at_ms() == b.expire_at_ms()
                && // By content: a loaded value is re-encoded for its size, as
                // Redis re-encodes on load.
                (a.value == b.value || a.value.canonical() == b.value.canonical())
        }
        _ => false,
    }
}

/// Every live (db, key) of a keyspace at `now_ms`.
fn live_keys(keyspace: &Keyspace, now_ms: u64) -> BTreeSet<(usize, Bytes)> {
    let mut keys = BTreeSet::new();
    for (index, db) in keyspace.dbs().iter().enumerate() {
        for (key, _) in db.iter(now_ms) {
            keys.insert((index, key.clone()));
        }
    }
    keys
}

/// A place the search may stop: a prefix of `position` writes, minus the
/// writes of the `excluded` units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Candidate {
    pub position: usize,
    pub excluded: BTreeSet<UnitKey>,
}

/// One replay of a shard's writes, with some units left out.
struct Branch {
    keyspace: Keyspace,
    excluded: BTreeSet<UnitKey>,
    /// What the left-out units touch: whole shard, or keys.
    excluded_whole: bool,
    excluded_keys: BTreeSet<(usize, Bytes)>,
    /// Units kept so far, and those of them with writes still to come.
    included: BTreeSet<UnitKey>,
    open: BTreeSet<UnitKey>,
    /// Keys whose live entry differs from the recovered shard's.
    diff: BTreeSet<(usize, Bytes)>,
    /// The earliest acknowledgement of a left-out unit: nothing executed
    /// after it may be kept (real time).
    lost_read_us: Option<u64>,
}

impl Branch {
    fn fork(&self) -> Branch {
        Branch {
            keyspace: clone_keyspace(&self.keyspace),
            excluded: self.excluded.clone(),
            excluded_whole: self.excluded_whole,
            excluded_keys: self.excluded_keys.clone(),
            included: self.included.clone(),
            open: self.open.clone(),
            diff: self.diff.clone(),
            lost_read_us: self.lost_read_us,
        }
    }

    fn conflicts(&self, record: &Record) -> bool {
        if self.excluded.is_empty() {
            return false;
        }
        self.lost_read_us.is_some_and(|read| record.at_us > read)
            || self.excluded_whole
            || (record.whole && !self.excluded_keys.is_empty())
            || record.keys.iter().any(|k| self.excluded_keys.contains(k))
    }

    fn exclude(&mut self, unit: UnitKey, records: &[Record], read_at_us: &[Option<u64>]) {
        self.excluded.insert(unit);
        for (index, record) in records.iter().enumerate() {
            if record.unit != Some(unit) {
                continue;
            }
            self.excluded_whole |= record.whole;
            self.excluded_keys.extend(record.keys.iter().cloned());
            if let Some(read) = read_at_us[index] {
                self.lost_read_us = Some(self.lost_read_us.map_or(read, |r| r.min(read)));
            }
        }
    }
}

/// What the search found on one shard.
pub(super) enum ShardSearch {
    /// The places where the replay equals the recovered shard (true: some
    /// branches were dropped, so the list may be incomplete).
    Found(Vec<Candidate>, bool),
    /// The search ran out of branches.
    Inconclusive(String),
}

/// Per shard: replays `records` from `base` and lists where the state
/// equals `target` (see the module documentation). `why` gets a
/// description of the closest miss when nothing matches.
pub(super) fn search_shard(
    ctx: &SearchCtx<'_>,
    shard: usize,
    records: &[Record],
    base: &Keyspace,
    target: &Keyspace,
) -> (ShardSearch, String) {
    match search_shard_within(ctx, shard, records, base, target, BRANCHES_MAX) {
        (ShardSearch::Inconclusive(_), _) => {
            search_shard_within(ctx, shard, records, base, target, BRANCHES_RETRY_MAX)
        }
        found => found,
    }
}

fn search_shard_within(
    ctx: &SearchCtx<'_>,
    shard: usize,
    records: &[Record],
    base: &Keyspace,
    target: &Keyspace,
    branches_max: usize,
) -> (ShardSearch, String) {
    let required = &ctx.fates.required[shard];
    let read_at_us = &ctx.fates.read_at_us[shard];
    let last_required = required.iter().rposition(|r| *r);
    let mut last_of: BTreeMap<UnitKey, usize> = BTreeMap::new();
    for (index, record) in records.iter().enumerate() {
        if let Some(unit) = record.unit {
            last_of.insert(unit, index);
        }
    }
    let mut replay = Replay::new(ctx, shard, target);
    let keyspace = clone_keyspace(base);
    let diff = replay.full_diff(&keyspace);
    let mut branches = vec![Branch {
        keyspace,
        excluded: BTreeSet::new(),
        excluded_whole: false,
        excluded_keys: BTreeSet::new(),
        included: BTreeSet::new(),
        open: BTreeSet::new(),
        diff,
        lost_read_us: None,
    }];
    let mut candidates = Vec::new();
    let mut closest = Closest::default();
    let mut pruned = None;
    replay.note(&mut branches[0], 0, &mut candidates, &mut closest);
    for (index, record) in records.iter().enumerate() {
        let mut forks = Vec::new();
        let mut alive = Vec::with_capacity(branches.len());
        for mut branch in branches {
            let unit_fate = record.unit.map(|u| (u, ctx.fates.units[&u]));
            if let Some((unit, _)) = unit_fate {
                if branch.excluded.contains(&unit) {
                    replay.note(&mut branch, index + 1, &mut candidates, &mut closest);
                    alive.push(branch);
                    continue;
                }
            }
            let conflicts = branch.conflicts(record);
            match unit_fate {
                Some((unit, Fate::Excluded | Fate::Open))
                    if !branch.included.contains(&unit)
                        && (conflicts || unit_fate.is_some_and(|(_, f)| f == Fate::Excluded)) =>
                {
                    branch.exclude(unit, records, read_at_us);
                    replay.note(&mut branch, index + 1, &mut candidates, &mut closest);
                    alive.push(branch);
                    continue;
                }
                _ if conflicts => continue, // the branch ends here
                Some((unit, Fate::Open)) if !branch.included.contains(&unit) => {
                    let mut without = branch.fork();
                    without.exclude(unit, records, read_at_us);
                    forks.push(without);
                }
                _ => {}
            }
            if let Some(unit) = record.unit {
                if branch.included.insert(unit) && last_of[&unit] > index {
                    branch.open.insert(unit);
                }
                if last_of[&unit] == index {
                    branch.open.remove(&unit);
                }
            }
            replay.apply(&mut branch, record);
            replay.note(&mut branch, index + 1, &mut candidates, &mut closest);
            alive.push(branch);
        }
        for mut fork in forks {
            replay.note(&mut fork, index + 1, &mut candidates, &mut closest);
            alive.push(fork);
        }
        if alive.len() > branches_max {
            // Keep the branches nearest the recovered state (fewest keys
            // differing, then fewest units left out).
            alive.sort_by_key(|b| (b.diff.len(), b.excluded.len()));
            alive.truncate(branches_max);
            pruned.get_or_insert(index);
        }
        branches = alive;
        if branches.is_empty() {
            break;
        }
    }
    candidates.retain(|c: &Candidate| last_required.is_none_or(|last| c.position > last));
    if candidates.is_empty() {
        if let Some(index) = pruned {
            return (
                ShardSearch::Inconclusive(format!(
                    "shard {shard}: more than {branches_max} replay branches at write {index} of {}, \
                     and the closest found no match",
                    records.len()
                )),
                String::new(),
            );
        }
        let why = closest.describe(ctx, shard, records, last_required);
        return (ShardSearch::Found(candidates, false), why);
    }
    (
        ShardSearch::Found(candidates, pruned.is_some()),
        String::new(),
    )
}

/// The nearest miss of the search, for the failure message.
#[derive(Default)]
struct Closest {
    /// (differing keys, position, a differing key with both sides).
    best: Option<(usize, usize, String)>,
}

impl Closest {
    fn describe(
        &self,
        ctx: &SearchCtx<'_>,
        shard: usize,
        records: &[Record],
        last_required: Option<usize>,
    ) -> String {
        let required = match last_required {
            Some(last) => format!(
                "; it must keep at least the first {} (acknowledged: {})",
                last + 1,
                describe_record(ctx, &records[last])
            ),
            None => String::new(),
        };
        match &self.best {
            Some((0, position, _)) => format!(
                "shard {shard} recovered the state after the first {position} of its {} writes \
                 since the start{required}",
                records.len()
            ),
            Some((count, position, example)) => format!(
                "shard {shard} recovered no allowed state of its {} writes since the start{required}; \
                 closest: after {position} writes ({}), {count} keys differ, e.g. {example}",
                records.len(),
                if *position == 0 {
                    "none".to_string()
                } else {
                    format!("last {}", describe_record(ctx, &records[*position - 1]))
                },
            ),
            None => format!(
                "shard {shard} recovered no allowed state of its {} writes since the start{required}",
                records.len()
            ),
        }
    }
}

fn describe_record(_ctx: &SearchCtx<'_>, record: &Record) -> String {
    let what = match &record.op {
        Op::Run(argv) => show_argv(argv),
        Op::Store { keys, .. } => format!(
            "the store of a gathered command on {}",
            keys.iter()
                .map(|(_, k)| show_bytes(k))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("#{} {what} of conn index {}", record.seq, record.conn)
}

/// Replays records onto branches and compares them with the target.
struct Replay<'a> {
    ctx: &'a SearchCtx<'a>,
    shard: usize,
    target: &'a Keyspace,
    rng: ChaCha8Rng,
}

impl<'a> Replay<'a> {
    fn new(ctx: &'a SearchCtx<'a>, shard: usize, target: &'a Keyspace) -> Replay<'a> {
        Replay {
            ctx,
            shard,
            target,
            rng: ChaCha8Rng::seed_from_u64(shard as u64),
        }
    }

    fn same(&self, keyspace: &Keyspace, db: usize, key: &[u8]) -> bool {
        let now_ms = self.ctx.now_ms;
        same_entry(
            live(keyspace, db, key, now_ms),
            live(self.target, db, key, now_ms),
        )
    }

    fn full_diff(&self, keyspace: &Keyspace) -> BTreeSet<(usize, Bytes)> {
        let now_ms = self.ctx.now_ms;
        let mut keys = live_keys(keyspace, now_ms);
        keys.extend(live_keys(self.target, now_ms));
        keys.into_iter()
            .filter(|(db, key)| !self.same(keyspace, *db, key))
            .collect()
    }

    /// Records `branch` as a candidate at `position` if it equals the
    /// target there (checked in full: the incremental diff only proposes).
    fn note(
        &mut self,
        branch: &mut Branch,
        position: usize,
        candidates: &mut Vec<Candidate>,
        closest: &mut Closest,
    ) {
        if branch.diff.is_empty() {
            branch.diff = self.full_diff(&branch.keyspace);
        }
        if branch.excluded.is_empty() {
            let count = branch.diff.len();
            if closest
                .best
                .as_ref()
                .is_none_or(|(best, _, _)| count <= *best)
            {
                let example = branch
                    .diff
                    .iter()
                    .next()
                    .map(|(db, key)| {
                        let now_ms = self.ctx.now_ms;
                        format!(
                            "\"{}\" (db {db}): recovered {:?}, serial {:?}",
                            show_bytes(key),
                            live(self.target, *db, key, now_ms),
                            live(&branch.keyspace, *db, key, now_ms)
                        )
                    })
                    .unwrap_or_default();
                closest.best = Some((count, position, example));
            }
        }
        if branch.diff.is_empty() && branch.open.is_empty() {
            let candidate = Candidate {
                position,
                excluded: branch.excluded.clone(),
            };
            if candidates.last() != Some(&candidate) {
                candidates.push(candidate);
            }
        }
    }

    fn apply(&mut self, branch: &mut Branch, record: &Record) {
        let now_ms = record.unix_time_us / 1000;
        match &record.op {
            Op::Run(argv) => {
                let Some(spec) = self.ctx.table.lookup(&argv[0]) else {
                    return;
                };
                let Exec::Keyspace { handler, .. } = spec.exec else {
                    return;
                };
                let mut ctx = Ctx {
                    keyspace: &mut branch.keyspace,
                    db_index: record.db,
                    now_ms,
                    now_us: record.unix_time_us,
                    rng: &mut self.rng,
                    shard_index: self.shard,
                    shard_count: self.ctx.shard_count,
                    proto_max_bulk_len: usize::MAX,
                    loading: false,
                };
                let mut args = Args::new(argv.clone());
                let _ = handler(&mut ctx, &mut args);
            }
            Op::Store { keys, entries } => {
                let Some(entries) = entries else {
                    return; // never replayed: its unit is left out
                };
                for ((db, key), entry) in keys.iter().zip(entries) {
                    let database = branch.keyspace.db(*db);
                    database.remove(key, 0);
                    if let Some(entry) = entry {
                        database.insert_entry(key, entry.clone());
                    }
                }
            }
        }
        if record.whole {
            branch.diff = self.full_diff(&branch.keyspace);
            return;
        }
        for (db, key) in &record.keys {
            if *db >= self.ctx.databases {
                continue;
            }
            if self.same(&branch.keyspace, *db, key) {
                branch.diff.remove(&(*db, key.clone()));
            } else {
                branch.diff.insert((*db, key.clone()));
            }
        }
    }
}

/// One shard's candidate, summarised for the cross-shard choice.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Summary {
    /// Multi-shard units with writes here: kept or not.
    units: Vec<(UnitKey, bool)>,
    /// Per connection: (highest seq kept, lowest seq left out).
    connections: Vec<(usize, Option<usize>, Option<usize>)>,
    /// The latest execution kept (virtual µs).
    kept_max_us: Option<u64>,
    /// The earliest acknowledgement of a write left out (virtual µs).
    lost_read_min_us: Option<u64>,
}

fn summarise(
    records: &[Record],
    read_at_us: &[Option<u64>],
    candidate: &Candidate,
    multi_shard: &BTreeSet<UnitKey>,
) -> Option<Summary> {
    let mut units: BTreeMap<UnitKey, bool> = BTreeMap::new();
    let mut connections: BTreeMap<usize, (Option<usize>, Option<usize>)> = BTreeMap::new();
    let (mut kept_max_us, mut lost_read_min_us): (Option<u64>, Option<u64>) = (None, None);
    for (index, record) in records.iter().enumerate() {
        let excluded = record.unit.is_some_and(|u| candidate.excluded.contains(&u));
        let kept = index < candidate.position && !excluded;
        if kept {
            kept_max_us = Some(kept_max_us.map_or(record.at_us, |t| t.max(record.at_us)));
        } else if let Some(read) = read_at_us[index] {
            lost_read_min_us = Some(lost_read_min_us.map_or(read, |t| t.min(read)));
        }
        if let Some(unit) = record.unit.filter(|u| multi_shard.contains(u)) {
            units.insert(unit, kept);
        }
        let bounds = connections.entry(record.conn).or_default();
        if kept {
            bounds.0 = Some(bounds.0.map_or(record.seq, |s| s.max(record.seq)));
        } else {
            bounds.1 = Some(bounds.1.map_or(record.seq, |s| s.min(record.seq)));
        }
    }
    // (c) on this shard alone.
    if connections
        .values()
        .any(|(kept, lost)| matches!((kept, lost), (Some(k), Some(l)) if k > l))
    {
        return None;
    }
    // (e) on this shard alone.
    if !before(kept_max_us, lost_read_min_us) {
        return None;
    }
    Some(Summary {
        units: units.into_iter().collect(),
        connections: connections
            .into_iter()
            .map(|(conn, (kept, lost))| (conn, kept, lost))
            .collect(),
        kept_max_us,
        lost_read_min_us,
    })
}

/// True unless something kept executed after the acknowledgement of
/// something lost (equal instants are left to the event order).
fn before(kept_max_us: Option<u64>, lost_read_min_us: Option<u64>) -> bool {
    match (kept_max_us, lost_read_min_us) {
        (Some(kept), Some(read)) => kept <= read,
        _ => true,
    }
}

/// The outcome of the cross-shard choice.
pub(super) enum Choice {
    /// A consistent choice: per shard, the candidate taken.
    Found(Vec<Candidate>),
    /// None exists; why.
    Impossible(String),
    /// The search ran out of steps.
    Inconclusive(String),
}

/// Picks one candidate per shard so that units are all or nothing (b) and
/// program order is kept (c) across shards.
pub(super) fn choose(
    records: &[Vec<Record>],
    fates: &Fates,
    candidates: &[Vec<Candidate>],
) -> Choice {
    let mut shards_of: BTreeMap<UnitKey, BTreeSet<usize>> = BTreeMap::new();
    for (shard, list) in records.iter().enumerate() {
        for unit in list.iter().filter_map(|r| r.unit) {
            shards_of.entry(unit).or_default().insert(shard);
        }
    }
    let multi_shard: BTreeSet<UnitKey> = shards_of
        .iter()
        .filter(|(_, shards)| shards.len() > 1)
        .map(|(unit, _)| *unit)
        .collect();
    // Per shard, distinct summaries (largest prefix first), each with a
    // candidate giving it.
    let mut options: Vec<Vec<(Summary, Candidate)>> = Vec::with_capacity(candidates.len());
    for (shard, list) in candidates.iter().enumerate() {
        let mut seen = BTreeSet::new();
        let mut shard_options = Vec::new();
        for candidate in list.iter().rev() {
            let summary = summarise(
                &records[shard],
                &fates.read_at_us[shard],
                candidate,
                &multi_shard,
            );
            let Some(summary) = summary else {
                continue;
            };
            if seen.insert(summary.clone()) {
                shard_options.push((summary, candidate.clone()));
            }
        }
        if shard_options.is_empty() {
            return Choice::Impossible(format!(
                "on shard {shard}, every state matching the recovered one keeps a later write of \
                 a connection while losing an earlier one, or one executed after an \
                 acknowledged write it loses (a hole in program or real-time order)"
            ));
        }
        options.push(shard_options);
    }
    let mut chosen: Vec<usize> = Vec::with_capacity(options.len());
    let mut steps = 0u64;
    if assign(&options, &mut chosen, &mut steps) {
        return Choice::Found(
            chosen
                .iter()
                .enumerate()
                .map(|(shard, i)| options[shard][*i].1.clone())
                .collect(),
        );
    }
    if steps > CHOICE_STEPS_MAX {
        return Choice::Inconclusive(format!(
            "the cross-shard choice ran out of {CHOICE_STEPS_MAX} steps"
        ));
    }
    Choice::Impossible(explain(&options))
}

fn compatible(a: &Summary, b: &Summary) -> bool {
    let units_agree = a.units.iter().all(|(unit, kept)| {
        b.units
            .binary_search_by(|(u, _)| u.cmp(unit))
            .map_or(true, |i| b.units[i].1 == *kept)
    });
    let order_kept = |x: &Summary, y: &Summary| {
        x.connections.iter().all(|(conn, kept, _)| {
            let Some(kept) = kept else { return true };
            y.connections
                .binary_search_by(|(c, _, _)| c.cmp(conn))
                .map_or(true, |i| y.connections[i].2.is_none_or(|lost| *kept < lost))
        })
    };
    units_agree
        && order_kept(a, b)
        && order_kept(b, a)
        && before(a.kept_max_us, b.lost_read_min_us)
        && before(b.kept_max_us, a.lost_read_min_us)
}

fn assign(options: &[Vec<(Summary, Candidate)>], chosen: &mut Vec<usize>, steps: &mut u64) -> bool {
    let shard = chosen.len();
    if shard == options.len() {
        return true;
    }
    for (i, (summary, _)) in options[shard].iter().enumerate() {
        *steps += 1;
        if *steps > CHOICE_STEPS_MAX {
            return false;
        }
        let fits = chosen
            .iter()
            .enumerate()
            .all(|(other, j)| compatible(&options[other][*j].0, summary));
        if fits {
            chosen.push(i);
            if assign(options, chosen, steps) {
                return true;
            }
            chosen.pop();
        }
    }
    false
}

/// Why the largest candidates of the shards do not fit together.
fn explain(options: &[Vec<(Summary, Candidate)>]) -> String {
    for a in 0..options.len() {
        for b in a + 1..options.len() {
            let (x, y) = (&options[a][0].0, &options[b][0].0);
            for (unit, kept) in &x.units {
                if let Ok(i) = y.units.binary_search_by(|(u, _)| u.cmp(unit)) {
                    if y.units[i].1 != *kept {
                        return format!(
                            "half a transaction: the unit of conn index {} #{} is {} on shard \
                             {a} but {} on shard {b}",
                            unit.0,
                            unit.1,
                            if *kept { "recovered" } else { "lost" },
                            if y.units[i].1 { "recovered" } else { "lost" }
                        );
                    }
                }
            }
            for (first, second, sa, sb) in [(x, y, a, b), (y, x, b, a)] {
                for (conn, kept, _) in &first.connections {
                    let Some(kept) = kept else { continue };
                    if let Ok(i) = second.connections.binary_search_by(|(c, _, _)| c.cmp(conn)) {
                        if let Some(lost) = second.connections[i].2.filter(|l| l < kept) {
                            return format!(
                                "a hole: conn index {conn}'s write #{kept} survived on shard {sa} \
                                 but its earlier write #{lost} was lost on shard {sb}"
                            );
                        }
                    }
                }
            }
        }
    }
    for a in 0..options.len() {
        for b in 0..options.len() {
            let (x, y) = (&options[a][0].0, &options[b][0].0);
            if !before(x.kept_max_us, y.lost_read_min_us) {
                return format!(
                    "a hole in real time: shard {a} kept a write executed at t={}µs, after a \
                     client read the acknowledgement (t={}µs) of a write lost on shard {b}",
                    x.kept_max_us.unwrap_or_default(),
                    y.lost_read_min_us.unwrap_or_default()
                );
            }
        }
    }
    "no choice of one recovered state per shard is consistent across shards".to_string()
}
