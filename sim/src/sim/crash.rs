//! Persistence in the simulation: starting the server from its disk,
//! crashing it, recovering, and checking what recovery gave back (P4,
//! see `durability`).
//!
//! When the seed persists, every start goes through `persist::open` on the
//! server's one simulated disk, exactly as the production runtime does,
//! and the shards get the recovered keyspaces and their logs. A crash may
//! come after any event (or, armed on the disk, in the middle of a disk
//! operation, or during recovery itself): every shard, connection,
//! in-flight message and unread reply vanishes; the disk keeps its durable
//! bytes and a torn prefix of the rest. The server then starts again from
//! the disk — retrying if recovery itself crashes or meets a disk fault —
//! and the clients reconnect with new pipelines. Commands in flight at the
//! crash have unknown outcomes; P4 bounds them.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use corekv::commands::{Exec, MultiShard, Route};
use corekv::persist::{self, Policy};
use corekv::shard::{ServerInfo, Shard};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::durability::{
    choose, clone_keyspace, search_shard, Choice, Durability, Fate, Fates, Op, Record, SearchCtx,
    ShardSearch,
};
use super::Sim;
use crate::check::Property;
use crate::disk::{DiskHandle, SimDisk};
use crate::swarm::PersistenceSwarm;
use crate::trace::{show_argv, show_reply};
use crate::world::{Execution, SimPlatform};

/// Start attempts (each possibly crashing or failing on a disk fault)
/// before a run is declared stuck.
const START_ATTEMPTS_MAX: u32 = 500;
/// Roughly the disk operations of one recovery, for placing a crash in it.
const RECOVERY_OPS_PER_SHARD: u64 = 8;
/// Shortest time a crashed server takes to come back (µs). Restarting in
/// the very millisecond of the crash would meet an engine edge case that
/// a real restart never can: a key expiring in that millisecond is live
/// in memory, but its logged `PEXPIREAT` deletes it on replay.
const RESTART_US_MIN: u64 = 1_000;

/// A persisting run's state: its disk, parameters and P4 bookkeeping.
pub(super) struct Persistence {
    pub swarm: PersistenceSwarm,
    pub policy: Policy,
    pub disk: Rc<RefCell<SimDisk>>,
    /// Crash decisions and recovery's seeds.
    pub rng: ChaCha8Rng,
    pub durability: Durability,
    pub options: persist::load::RecoveryOptions,
    pub crashes: u32,
    /// A crash due after this many more events.
    pub crash_in_events: Option<u32>,
}

impl Sim {
    /// Builds the shards, recovering them from the disk when the run
    /// persists. False if the server could not start (a failure is set).
    pub(super) fn start_server(&mut self) -> bool {
        let shard_count = self.timer_at_us.len();
        let opened = match self.persistence.is_some() {
            true => match self.recover() {
                Some(opened) => Some(opened),
                None => return false,
            },
            false => None,
        };
        let disk = self
            .persistence
            .as_ref()
            .map(|p| DiskHandle(Rc::clone(&p.disk)));
        let mut recovered = opened.map(|o| o.keyspaces.into_iter().zip(o.logs));
        self.shards = (0..shard_count)
            .map(|index| {
                let platform = SimPlatform::new(index, Rc::clone(&self.world), disk.clone());
                let mut shard = Shard::new(
                    index,
                    shard_count,
                    self.server_config.clone(),
                    ServerInfo::default(),
                    platform,
                );
                shard.set_faults(self.faults);
                // Small slices: writes interleave with a background job's.
                shard.set_background_slice_keys(super::BACKGROUND_SLICE_KEYS);
                if let Some((keyspace, log)) = recovered.as_mut().and_then(Iterator::next) {
                    shard.attach_persistence(keyspace, Some(log));
                }
                shard
            })
            .collect();
        self.timer_at_us = vec![u64::MAX; shard_count];
        for shard in 0..shard_count {
            self.rearm_timer(shard);
        }
        true
    }

    /// Runs `persist::open` until it succeeds: a crash during it (armed at
    /// a random disk operation) or a disk fault makes the server try again,
    /// as an operator's restart would. `None` with a failure set if
    /// recovery fails on its own, or never succeeds.
    fn recover(&mut self) -> Option<persist::Opened> {
        let shard_count = self.timer_at_us.len();
        let databases = self.databases;
        for attempt in 0..START_ATTEMPTS_MAX {
            let unix_ms = self.world.borrow().unix_time_us() / 1000;
            let p = self.persistence.as_mut().expect("persisting");
            let crash_at = (p.swarm.crash_in_recovery_probability > 0.0
                && p.rng.gen_bool(p.swarm.crash_in_recovery_probability))
            .then(|| {
                p.rng
                    .gen_range(1..=RECOVERY_OPS_PER_SHARD * shard_count as u64 + 8)
            });
            let faults_before = p.disk.borrow().stats.faults;
            if let Some(ops) = crash_at {
                p.disk.borrow_mut().arm_crash(ops);
            }
            let mut handle = DiskHandle(Rc::clone(&p.disk));
            let result = persist::open_with(
                &mut handle,
                p.policy,
                shard_count,
                databases,
                unix_ms,
                &mut p.rng,
                &p.options,
            );
            let mut disk = p.disk.borrow_mut();
            disk.disarm_crash();
            let faulted = disk.stats.faults > faults_before;
            if disk.is_dead() {
                disk.crash();
                drop(disk);
                self.line(|| format!("crash   during recovery (attempt {attempt})"));
                continue;
            }
            drop(disk);
            match result {
                Ok(opened) => {
                    let report = &opened.report;
                    self.line(|| {
                        format!(
                            "recover {} commands replayed, {} after the cut, {} uncommitted, \
                             {} torn tails trimmed, {} replay errors",
                            report.commands,
                            report.after_cut,
                            report.uncommitted,
                            report.trimmed.len(),
                            report.errors
                        )
                    });
                    if report.errors > 0 {
                        self.fail(
                            Property::Durability,
                            format!(
                                "recovery replayed {} logged commands that failed",
                                report.errors
                            ),
                        );
                        return None;
                    }
                    return Some(opened);
                }
                Err(error) if faulted => {
                    self.line(|| format!("recover failed on a disk fault: {error}"));
                }
                Err(error) => {
                    self.fail(
                        Property::Durability,
                        format!("recovery failed with no disk fault to blame: {error}"),
                    );
                    return None;
                }
            }
        }
        self.fail(
            Property::Liveness,
            format!("the server did not start in {START_ATTEMPTS_MAX} attempts"),
        );
        None
    }

    /// A `-MISCONF` refusal is allowed only for a write, on a server whose
    /// disk has failed.
    pub(super) fn check_refusal(
        &self,
        index: usize,
        execution: &Execution,
    ) -> Result<(), (Property, String)> {
        self.may_refuse(&[&execution.argv]).map_err(|why| {
            (
                Property::SerialEquivalence,
                format!(
                    "shard {} refused #{} {} of conn index {index} with {}, but {why}",
                    execution.shard,
                    execution.origin.seq,
                    show_argv(&execution.argv),
                    show_reply(&execution.reply),
                ),
            )
        })
    }

    /// Whether a command (or an EXEC of `commands`) may be refused with
    /// `-MISCONF`: some of them writes, and the disk has failed.
    pub(super) fn may_refuse(&self, commands: &[&[Bytes]]) -> Result<(), &'static str> {
        let write = commands.iter().any(|argv| {
            self.table
                .lookup(&argv[0])
                .is_some_and(|spec| spec.flags & corekv::commands::flags::WRITE != 0)
        });
        let disk_failed = self
            .persistence
            .as_ref()
            .is_some_and(|p| p.disk.borrow().stats.faults > 0);
        match (write, disk_failed) {
            (true, true) => Ok(()),
            (true, false) => Err("the disk never failed"),
            (false, _) => Err("it does not write"),
        }
    }

    /// How long the disk took to fail, when it failed during this event
    /// (faults are noted after each event, in `maybe_crash`).
    pub(super) fn disk_fault_latency_us(&self) -> u64 {
        match &self.persistence {
            Some(p) if p.disk.borrow().stats.faults > p.durability.faults_seen => {
                p.swarm.disk.fault_latency_us
            }
            _ => 0,
        }
    }

    /// After each event: notes disk faults, and crashes the server when
    /// the seed says so.
    pub(super) fn maybe_crash(&mut self) {
        let now_us = self.now_us();
        let Some(p) = self.persistence.as_mut() else {
            return;
        };
        let faults = p.disk.borrow().stats.faults;
        if faults > p.durability.faults_seen {
            let new = faults - p.durability.faults_seen;
            p.durability.faults_seen = faults;
            {
                let mut world = self.world.borrow_mut();
                world
                    .recorder
                    .line(|| format!("{now_us:>10} disk    {new} writes or fsyncs failed"));
            }
            p.durability.last_fault_us = Some(now_us);
            if p.crash_in_events.is_none()
                && p.swarm.crash_after_fault_probability > 0.0
                && p.rng.gen_bool(p.swarm.crash_after_fault_probability)
            {
                p.crash_in_events = Some(p.rng.gen_range(0..=20));
            }
        }
        if p.crashes >= p.swarm.crashes_max {
            return;
        }
        let how = if p.disk.borrow().is_dead() {
            Some("during a disk operation")
        } else if let Some(left) = p.crash_in_events {
            p.crash_in_events = left.checked_sub(1);
            (left == 0).then_some("after a disk fault")
        } else if p.swarm.crash_probability > 0.0 && p.rng.gen_bool(p.swarm.crash_probability) {
            if p.rng.gen_bool(p.swarm.crash_mid_operation_probability) {
                let ops = p.rng.gen_range(1..=4);
                p.disk.borrow_mut().arm_crash(ops);
                None
            } else {
                Some("between events")
            }
        } else {
            None
        };
        if let Some(how) = how {
            self.crash(how);
        }
    }

    /// The whole server crashes and starts again from its disk; P4 is
    /// checked on what it recovered.
    fn crash(&mut self, how: &str) {
        let crash_us = self.now_us();
        self.stats.crashes += 1;
        let (unsynced, down_us) = {
            let p = self.persistence.as_mut().expect("persisting");
            p.crashes += 1;
            p.crash_in_events = None;
            // A restart takes a while (at least a millisecond: see
            // RESTART_US_MIN).
            let down_us = p.rng.gen_range(RESTART_US_MIN..=p.swarm.restart_us_max);
            (p.disk.borrow().unsynced_bytes(), down_us)
        };
        self.line(|| {
            format!("CRASH   {how}: {unsynced} unsynced bytes on the disk; back in {down_us}µs")
        });
        {
            let mut world = self.world.borrow_mut();
            world.recorder.hash.word(0xC4A5_4000 + self.stats.crashes);
            world.crash(down_us);
        }
        let fates = self.fates(crash_us);
        // Everything in memory goes.
        self.shards.clear();
        for index in 0..self.connections.len() {
            // Also those closed before: a part they left running (the
            // engine finishes a dropped connection's operation detached)
            // died here.
            self.connections[index].crashed = true;
            if self.connections[index].open {
                self.connections[index].open = false;
                self.drop_watches(index, usize::MAX);
            }
        }
        self.by_conn_id.clear();
        self.units.clear();
        for client in 0..self.clients.len() {
            self.clients[client].connection = None;
            if self.clients[client].budget > 0 {
                self.wake_writer(client);
            }
        }
        self.persistence
            .as_ref()
            .expect("persisting")
            .disk
            .borrow_mut()
            .crash();
        if !self.start_server() {
            return;
        }
        let recovered: Vec<corekv::keyspace::Keyspace> = self
            .shards
            .iter()
            .map(|s| clone_keyspace(s.keyspace()))
            .collect();
        self.check_durability(&fates, &recovered, crash_us);
        if self.failure.is_some() {
            return;
        }
        self.model.reset_to(&recovered);
        let now_us = self.now_us();
        let p = self.persistence.as_mut().expect("persisting");
        p.durability.restart(recovered, now_us);
    }

    /// What the crash at `crash_us` allows for each recorded write.
    fn fates(&self, crash_us: u64) -> Fates {
        let p = self.persistence.as_ref().expect("persisting");
        let durability = &p.durability;
        let mut units = std::collections::BTreeMap::new();
        let mut required = Vec::with_capacity(durability.records.len());
        let mut read_at_us = Vec::with_capacity(durability.records.len());
        for records in &durability.records {
            let mut shard_required = Vec::with_capacity(records.len());
            let mut shard_read = Vec::with_capacity(records.len());
            for record in records {
                let replied_at_us =
                    self.connections[record.conn].sent[record.ack_seq].replied_at_us;
                shard_read.push(replied_at_us);
                let fate = durability.acknowledged_fate(replied_at_us, crash_us);
                match record.unit {
                    Some(unit) => {
                        let fate = if self.units.contains_key(&unit) {
                            Fate::Excluded // still running: it never committed
                        } else {
                            fate
                        };
                        units.insert(unit, fate);
                        shard_required.push(fate == Fate::Required);
                    }
                    None => shard_required.push(fate == Fate::Required),
                }
            }
            required.push(shard_required);
            read_at_us.push(shard_read);
        }
        Fates {
            required,
            read_at_us,
            units,
        }
    }

    /// P4: the recovered keyspaces against the writes recorded since the
    /// last start.
    fn check_durability(
        &mut self,
        fates: &Fates,
        recovered: &[corekv::keyspace::Keyspace],
        crash_us: u64,
    ) {
        match self.durability_verdict(fates, recovered, crash_us) {
            Verdict::Kept(line) => {
                self.stats.durability_checks += 1;
                self.line(|| format!("P4      ok: writes kept per shard {line}"));
            }
            Verdict::Inconclusive(why) => {
                self.stats.durability_inconclusive += 1;
                self.line(|| format!("P4      inconclusive: {why}"));
            }
            Verdict::Broken(why) => self.fail(Property::Durability, why),
        }
    }

    fn durability_verdict(
        &self,
        fates: &Fates,
        recovered: &[corekv::keyspace::Keyspace],
        crash_us: u64,
    ) -> Verdict {
        let now_ms = self.world.borrow().unix_time_us() / 1000;
        let p = self.persistence.as_ref().expect("persisting");
        let durability = &p.durability;
        let ctx = SearchCtx {
            table: &self.table,
            shard_count: recovered.len(),
            databases: self.databases,
            now_ms,
            fates,
        };
        let since_ms = crash_us.saturating_sub(durability.started_us) / 1000;
        let context = format!(
            "after a crash at t={crash_us}µs ({since_ms} ms after the last start, policy {})",
            p.policy
        );
        let mut candidates = Vec::with_capacity(recovered.len());
        let mut inconclusive = None;
        let mut pruned = false;
        for (shard, target) in recovered.iter().enumerate() {
            let records = &durability.records[shard];
            let base = &durability.bases()[shard];
            match search_shard(&ctx, shard, records, base, target) {
                (ShardSearch::Found(found, incomplete), why) => {
                    if found.is_empty() {
                        return Verdict::Broken(format!("{context}: {why}"));
                    }
                    pruned |= incomplete;
                    candidates.push(found);
                }
                (ShardSearch::Inconclusive(why), _) => {
                    inconclusive.get_or_insert(why);
                    candidates.push(Vec::new());
                }
            }
        }
        if let Some(why) = inconclusive {
            return Verdict::Inconclusive(why);
        }
        match choose(&durability.records, fates, &candidates) {
            Choice::Found(chosen) => Verdict::Kept(
                chosen
                    .iter()
                    .enumerate()
                    .map(|(shard, c)| {
                        format!(
                            "{}/{}{}",
                            c.position,
                            durability.records[shard].len(),
                            if c.excluded.is_empty() {
                                String::new()
                            } else {
                                format!(" minus {} units", c.excluded.len())
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Choice::Impossible(why) if pruned => {
                Verdict::Inconclusive(format!("{why} (but some shard's search was pruned)"))
            }
            Choice::Impossible(why) => Verdict::Broken(format!("{context}: {why}")),
            Choice::Inconclusive(why) => Verdict::Inconclusive(why),
        }
    }

    /// Records execution `execution` of command `seq` of connection `index`
    /// (in `unit`, if any) for P4 when it may write.
    pub(super) fn record_write(
        &mut self,
        index: usize,
        seq: usize,
        unit: Option<(usize, usize)>,
        execution: &Execution,
        whole: bool,
        keys: &[(usize, Bytes)],
    ) {
        if self.persistence.is_none() || is_refused(&execution.reply) {
            return;
        }
        let Some(spec) = self.table.lookup(&execution.argv[0]) else {
            return;
        };
        if spec.flags & corekv::commands::flags::WRITE == 0 {
            return;
        }
        let ack_seq = self.connections[index].sent[seq].exec_seq.unwrap_or(seq);
        let at_us = self.now_us();
        let record = |unit, op, whole, keys| Record {
            conn: index,
            seq,
            ack_seq,
            unit,
            unix_time_us: execution.unix_time_us,
            at_us,
            db: execution.db,
            op,
            whole,
            keys,
        };
        let gathered = matches!(
            spec.exec,
            Exec::Keyspace {
                route: Route::Keys(MultiShard::Gather),
                ..
            }
        ) && keys
            .iter()
            .any(|(_, key)| self.slots.shard_of_key(key) != execution.shard);
        let p = self.persistence.as_mut().expect("persisting");
        if !gathered {
            let op = Op::Run(execution.argv.clone());
            p.durability
                .record(execution.shard, record(unit, op, whole, keys.to_vec()));
            return;
        }
        // Its effect reaches each owner as a store, in one atomic operation.
        let unit = unit.or(Some((index, seq)));
        let mut per_shard: Vec<(usize, Vec<(usize, Bytes)>)> = Vec::new();
        for (db, key) in keys {
            let shard = self.slots.shard_of_key(key);
            match per_shard.iter_mut().find(|(s, _)| *s == shard) {
                Some((_, list)) if list.contains(&(*db, key.clone())) => {}
                Some((_, list)) => list.push((*db, key.clone())),
                None => per_shard.push((shard, vec![(*db, key.clone())])),
            }
        }
        let stores = per_shard
            .into_iter()
            .map(|(shard, keys)| {
                let op = Op::Store {
                    keys: keys.clone(),
                    entries: None,
                };
                (shard, record(unit, op, false, keys))
            })
            .collect();
        p.durability.record_gathered(stores);
    }

    /// A gathered write's stores note the entries under their keys: what
    /// they hold before the serial model replays `execution` of connection
    /// `index` (`before`), or what it left (after).
    pub(super) fn note_stores(&mut self, index: usize, execution: &Execution, before: bool) {
        let seq = execution.origin.seq as usize;
        let Some(p) = self.persistence.as_mut() else {
            return;
        };
        if !p.durability.awaits_store(index, seq) {
            return;
        }
        let now_ms = execution.unix_time_us / 1000;
        let model = &self.model;
        let entry = |db: usize, key: &Bytes| model.live_entry(db, key, now_ms);
        if before {
            p.durability.note_before(index, seq, entry);
        } else {
            p.durability.stored(index, seq, entry);
        }
    }
}

/// What P4 found after one crash.
enum Verdict {
    /// Consistent: per shard, the writes kept.
    Kept(String),
    /// The search ran out of its bounds.
    Inconclusive(String),
    /// No allowed set of writes gives the recovered state.
    Broken(String),
}

/// A write refused because the AOF cannot be written (`-MISCONF`): it ran
/// no handler and changed nothing.
pub(super) fn is_refused(reply: &corekv::resp::Reply) -> bool {
    matches!(reply, corekv::resp::Reply::Error(text) if text.starts_with(MISCONF))
}

/// Redis's refusal of a write while the AOF cannot be written.
const MISCONF: &[u8] = b"MISCONF Errors writing to the AOF file: ";

/// An EXEC refused whole because the AOF cannot be written, as Redis
/// refuses it (`execCommandAbort`): nothing of it ran.
pub(super) fn is_exec_refused(reply: &corekv::resp::Reply) -> bool {
    const PREFIX: &[u8] = b"EXECABORT Transaction discarded because of: ";
    matches!(
        reply,
        corekv::resp::Reply::Error(text)
            if text.starts_with(PREFIX) && text[PREFIX.len()..].starts_with(MISCONF)
    )
}
