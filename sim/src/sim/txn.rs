//! P3: transactions and multi-shard commands as atomic units, and WATCH.
//!
//! **Units.** An EXEC's queued commands, and every command that runs as
//! several parts (split over shards, or fanned out to all of them), form one
//! atomic unit. The serial model replays a unit's executions together at one
//! point of the recorded order — that of its last execution — and they must
//! give exactly the replies recorded; everything else is replayed where it
//! was recorded. So a command that ran between two parts of a unit on one of
//! its keys sees, in the replay, the state before the whole unit, and its
//! recorded reply mismatches. Directly, too: no foreign execution touching a
//! unit's keys (or, for whole-shard units, its shards) may fall between the
//! unit's first and last execution.
//!
//! **All or nothing.** A unit that has begun must end: its client dropping
//! the connection changes nothing (the engine finishes a started atomic
//! operation detached, as Redis runs an EXEC it has read), so a dropped
//! connection's units stay units, isolated and replayed whole. Whether the
//! engine had read the EXEC (or the multi-shard command) before the drop is
//! unknown, so a unit opens at its first execution, before or after the
//! drop; from then on it must complete. One still short of its executions
//! when the run ends, or when its connection runs a later command, is half
//! a transaction.
//!
//! **WATCH.** The model registers each watched key on its own keyspace when
//! the WATCH was completely sent (a lower bound of when the shard served
//! it), notes the key's changes once the WATCH was certainly served (its
//! reply read, or a later command of the connection executed) and when the
//! transaction's first command ran (by then the shards checked their
//! watches, under the keys' locks) or, for a null reply, when it was read.
//! EXEC must then be null if a watched key certainly changed between served
//! and decided, and may be null only if it changed (or its TTL ran out) at
//! all after the registration.

use bytes::Bytes;
use corekv::commands::{Exec, Route};
use corekv::resp::Reply;

use super::Sim;
use crate::check::{expected_parts, expected_reply, ExpectedReply, Part, Property};
use crate::client::{WatchSnapshot, WatchState};
use crate::trace::{show_argv, show_reply};
use crate::workload::Expect;
use crate::world::Execution;

/// One atomic unit in progress.
#[derive(Debug)]
pub(super) struct Unit {
    /// Executions it will have.
    total: usize,
    /// Executions seen, waiting for the last to be replayed together.
    executions: Vec<Execution>,
    /// The (db, key)s it locks.
    keys: Vec<(usize, Bytes)>,
    /// Shards it locks whole.
    whole: Vec<usize>,
    /// What it is, for messages.
    what: String,
}

/// What one execution touches: keys, or its whole shard.
struct Footprint {
    shard: usize,
    whole: bool,
    keys: Vec<(usize, Bytes)>,
}

impl Unit {
    fn conflicts(&self, footprint: &Footprint, sim: &Sim) -> bool {
        if !footprint.whole && footprint.keys.is_empty() {
            // Keyless commands (PING, TIME) read no key: nothing to isolate.
            return false;
        }
        if self.whole.contains(&footprint.shard) {
            return true;
        }
        if footprint.whole {
            return self
                .keys
                .iter()
                .any(|(_, key)| sim.slots.shard_of_key(key) == footprint.shard);
        }
        footprint.keys.iter().any(|k| self.keys.contains(k))
    }

    fn holds(&self, db: usize, key: &Bytes, sim: &Sim) -> bool {
        self.whole.contains(&sim.slots.shard_of_key(key))
            || self.keys.iter().any(|(d, k)| *d == db && k == key)
    }
}

impl Sim {
    /// The footprint of a command on `db` (for its whole argv), added to
    /// `keys`/`whole`, as the engine's lock sets take it.
    fn add_footprint(
        &self,
        argv: &[Bytes],
        db: usize,
        keys: &mut Vec<(usize, Bytes)>,
        whole: &mut Vec<usize>,
    ) {
        let Some(spec) = self.table.lookup(&argv[0]) else {
            return;
        };
        let Exec::Keyspace { route, .. } = spec.exec else {
            return;
        };
        let copies_across_databases = spec.name == "copy"
            && argv
                .iter()
                .skip(3)
                .any(|arg| arg.eq_ignore_ascii_case(b"db"));
        match route {
            Route::AllShards(_) | Route::ScanCursor => {
                whole.extend(0..self.slots.shard_count());
            }
            _ if copies_across_databases => {
                whole.extend(spec.keys_of(argv).map(|key| self.slots.shard_of_key(key)));
            }
            _ => keys.extend(spec.keys_of(argv).map(|key| (db, key.clone()))),
        }
    }

    fn footprint(&self, execution: &Execution) -> Footprint {
        let (mut keys, mut whole) = (Vec::new(), Vec::new());
        self.add_footprint(&execution.argv, execution.db, &mut keys, &mut whole);
        Footprint {
            shard: execution.shard,
            whole: whole.contains(&execution.shard),
            keys,
        }
    }

    /// The unit an execution of command `seq` of connection `index` belongs
    /// to, if any (creating it at its first execution).
    fn unit_of(&mut self, index: usize, seq: usize) -> Option<(usize, usize)> {
        let connection = &self.connections[index];
        let command = &connection.sent[seq];
        if let Some(exec_seq) = command.exec_seq {
            if !self.units.contains_key(&(index, exec_seq)) {
                self.open_exec_unit(index, exec_seq);
            }
            return Some((index, exec_seq));
        }
        if self.units.contains_key(&(index, seq)) {
            return Some((index, seq));
        }
        let spec = self.table.lookup(&command.argv[0])?;
        let total = expected_parts(spec, &self.slots, &command.argv);
        // DBSIZE and RANDOMKEY parts are checked against bounds of the
        // model at their own point (reclaimed-but-expired keys), so they
        // stay per part.
        if total <= 1 || matches!(spec.name, "dbsize" | "randomkey") {
            return None;
        }
        let (mut keys, mut whole) = (Vec::new(), Vec::new());
        self.add_footprint(&command.argv, command.db, &mut keys, &mut whole);
        let what = format!(
            "#{seq} {} of conn {}",
            show_argv(&command.argv),
            connection.id
        );
        let unit = Unit {
            total,
            executions: Vec::new(),
            keys,
            whole,
            what,
        };
        self.units.insert((index, seq), unit);
        Some((index, seq))
    }

    /// Opens the unit of the EXEC `exec_seq` at its first execution: its
    /// size and footprint from the queued commands, and the watches'
    /// "decided" snapshot (taken before anything of it is replayed).
    fn open_exec_unit(&mut self, index: usize, exec_seq: usize) {
        let (mut keys, mut whole) = (Vec::new(), Vec::new());
        let mut total = 0;
        let connection = &self.connections[index];
        let queued = connection.sent[..exec_seq]
            .iter()
            .rev()
            .take_while(|c| c.exec_seq == Some(exec_seq));
        for command in queued {
            if command.expect != Expect::Queued(Box::new(Expect::Trace)) {
                continue;
            }
            if let Some(spec) = self.table.lookup(&command.argv[0]) {
                total += expected_parts(spec, &self.slots, &command.argv);
            }
            self.add_footprint(&command.argv, command.db, &mut keys, &mut whole);
        }
        let what = format!("EXEC #{exec_seq} of conn {}", connection.id);
        // Watches of this block only: an earlier EXEC's reply (which drops
        // its watches) may not have been read yet.
        let closes = |watch: usize| {
            connection.sent[watch + 1..]
                .iter()
                .position(|c| matches!(c.expect, Expect::Exec { .. } | Expect::Discard))
                .map(|offset| watch + 1 + offset)
        };
        let watches: Vec<usize> = (0..connection.watches.len())
            .filter(|w| closes(connection.watches[*w].seq) == Some(exec_seq))
            .collect();
        for w in watches {
            let snapshot = self.watch_snapshot(index, self.connections[index].watches[w].id);
            self.connections[index].watches[w].decided = Some(snapshot);
        }
        let unit = Unit {
            total,
            executions: Vec::new(),
            keys,
            whole,
            what,
        };
        self.units.insert((index, exec_seq), unit);
    }

    /// P3 for one execution (already checked for program order and real
    /// time): checks it against the units in progress, then buffers it in
    /// its own unit (replaying the unit once complete) or replays it.
    /// `Err` is the failure found.
    pub(super) fn replay_in_units(
        &mut self,
        index: usize,
        mut execution: Execution,
    ) -> Result<(), (Property, String)> {
        let seq = execution.origin.seq as usize;
        self.watches_served(index, seq);
        let unit = self.unit_of(index, seq);
        self.check_no_half_unit(index, seq, unit)?;
        if let Some(key) = unit.filter(|_| super::crash::is_refused(&execution.reply)) {
            // A disk error refuses an atomic operation whole, before any of
            // it runs (as Redis refuses EXEC): never one part of it.
            let command = &self.connections[index].sent[seq];
            return Err((
                Property::Isolation,
                format!(
                    "shard {} refused #{seq} {} of conn {} with {}, a part of {}: \
                     an atomic operation is refused whole or not at all",
                    execution.shard,
                    show_argv(&command.argv),
                    self.connections[index].id,
                    show_reply(&execution.reply),
                    self.units.get(&key).map_or("a unit", |u| u.what.as_str()),
                ),
            ));
        }
        let footprint = self.footprint(&execution);
        if let Some((key, other)) = self
            .units
            .iter()
            .filter(|(key, u)| Some(**key) != unit && !u.executions.is_empty())
            .find(|(_, u)| u.conflicts(&footprint, self))
        {
            let command = &self.connections[index].sent[seq];
            return Err((
                Property::Isolation,
                format!(
                    "shard {} ran #{seq} {} of conn {} between the executions of {} \
                     (unit of conn index {}{}), on its keys",
                    execution.shard,
                    show_argv(&command.argv),
                    self.connections[index].id,
                    other.what,
                    key.0,
                    self.dropped_note(key.0, other)
                ),
            ));
        }
        self.connections[index].sent[seq].executions.push(Part {
            shard: execution.shard,
            reply: execution.reply.clone(),
        });
        self.record_write(
            index,
            seq,
            unit,
            &execution,
            footprint.whole,
            &footprint.keys,
        );
        let Some(unit_key) = unit else {
            return self.replay_one(index, &mut execution);
        };
        let unit = self.units.get_mut(&unit_key).expect("unit exists");
        unit.executions.push(execution);
        if unit.executions.len() < unit.total {
            return Ok(());
        }
        let unit = self.units.remove(&unit_key).expect("unit exists");
        for mut execution in unit.executions {
            let owner = self.by_conn_id[&execution.origin.conn];
            self.replay_one(owner, &mut execution)
                .map_err(|(property, why)| {
                    (
                        property,
                        format!("{why} (replayed with its unit {})", unit.what),
                    )
                })?;
        }
        Ok(())
    }

    fn replay_one(
        &mut self,
        index: usize,
        execution: &mut Execution,
    ) -> Result<(), (Property, String)> {
        if super::crash::is_refused(&execution.reply) {
            // Refused while the AOF could not be written: it ran nothing.
            return self.check_refusal(index, execution);
        }
        self.note_stores(index, execution, true);
        self.model.replay(execution).map_err(|why| {
            let seq = execution.origin.seq as usize;
            let command = &self.connections[index].sent[seq];
            let what = format!(
                "#{seq} {} of conn {}",
                show_argv(&command.argv),
                execution.origin.conn
            );
            let open: Vec<String> = self
                .units
                .values()
                .map(|u| format!("{} ({}/{})", u.what, u.executions.len(), u.total))
                .collect();
            (
                Property::SerialEquivalence,
                format!("{what}: {why}; units in progress: [{}]", open.join(", ")),
            )
        })?;
        self.note_stores(index, execution, false);
        Ok(())
    }

    /// A connection runs nothing else during an atomic operation: once it
    /// executes command `seq` outside its unit in progress (`unit` is the
    /// one `seq` belongs to, if any), that unit can never complete.
    fn check_no_half_unit(
        &self,
        index: usize,
        seq: usize,
        unit: Option<(usize, usize)>,
    ) -> Result<(), (Property, String)> {
        let Some((key, half)) = self
            .units
            .range((index, 0)..=(index, usize::MAX))
            .find(|(key, u)| Some(**key) != unit && !u.executions.is_empty())
        else {
            return Ok(());
        };
        let command = &self.connections[index].sent[seq];
        Err((
            Property::Isolation,
            format!(
                "half a transaction: #{seq} {} of conn {} ran after {} of the {} executions \
                 of {}, which can no longer complete{}",
                show_argv(&command.argv),
                self.connections[index].id,
                half.executions.len(),
                half.total,
                half.what,
                self.dropped_note(key.0, half)
            ),
        ))
    }

    /// For messages about `unit` of connection `index`: whether its client
    /// dropped the connection (the engine must finish the unit detached).
    fn dropped_note(&self, index: usize, unit: &Unit) -> String {
        if self.connections[index].open {
            return String::new();
        }
        format!(
            "; its client dropped the connection, {} of its {} executions done",
            unit.executions.len(),
            unit.total
        )
    }

    /// The multi-part commands replayed per part (DBSIZE, RANDOMKEY) are
    /// all or nothing too. Those of open connections are checked by their
    /// replies; a dropped connection's are checked here, at a clean end.
    fn parts_complete(&self) -> Result<(), String> {
        let dropped = self.connections.iter().filter(|c| !c.open && !c.crashed);
        for connection in dropped {
            let begun = connection
                .sent
                .iter()
                .enumerate()
                .filter(|(_, c)| c.exec_seq.is_none() && !c.executions.is_empty());
            for (seq, command) in begun {
                let Some(spec) = self.table.lookup(&command.argv[0]) else {
                    continue;
                };
                let total = expected_parts(spec, &self.slots, &command.argv);
                if command.executions.len() < total {
                    return Err(format!(
                        "half a command: #{seq} {} of conn {} ended after {} of its {total} \
                         parts; its client had dropped the connection",
                        show_argv(&command.argv),
                        connection.id,
                        command.executions.len()
                    ));
                }
            }
        }
        Ok(())
    }

    // ----- WATCH -----

    /// Commands `seqs` were just completely sent: notes the wall-clock time
    /// and registers the keys of WATCHes.
    pub(super) fn on_written(&mut self, index: usize, seqs: std::ops::Range<usize>) {
        let now_ms = self.world.borrow().unix_time_us() / 1000;
        for seq in seqs {
            self.connections[index].sent[seq].written_wall_ms = Some(now_ms);
            let command = &self.connections[index].sent[seq];
            if !command.watch {
                continue;
            }
            let db = command.db;
            let keys: Vec<Bytes> = command.argv[1..].to_vec();
            for key in keys {
                let id = self.model.watch_register(db, &key);
                self.connections[index].watches.push(WatchState {
                    seq,
                    id,
                    served: None,
                    decided: None,
                });
            }
        }
    }

    /// Command `seq` executed, or its reply was read: every WATCH before it
    /// was served.
    pub(super) fn watches_served(&mut self, index: usize, seq: usize) {
        for w in 0..self.connections[index].watches.len() {
            let watch = self.connections[index].watches[w];
            if watch.served.is_none() && watch.seq <= seq {
                let snapshot = self.watch_snapshot(index, watch.id);
                self.connections[index].watches[w].served = Some(snapshot);
            }
        }
    }

    fn watch_snapshot(&mut self, _index: usize, id: u64) -> WatchSnapshot {
        let changes = self.model.watch_changes(id);
        let ambiguous = self.model.watch_ambiguous(id)
            || self.model.watch_key(id).is_some_and(|(db, key)| {
                self.units
                    .values()
                    .any(|u| !u.executions.is_empty() && u.holds(db, &key, self))
            });
        WatchSnapshot {
            changes,
            ambiguous,
            expire_at_ms: self.model.watch_ttl_now(id),
            time_ms: self.world.borrow().unix_time_us() / 1000,
        }
    }

    /// Forgets the connection's watches of commands before `seq`.
    pub(super) fn drop_watches(&mut self, index: usize, seq: usize) {
        let connection = &mut self.connections[index];
        let (dropped, kept) = connection.watches.drain(..).partition(|w| w.seq < seq);
        connection.watches = kept;
        for watch in dropped {
            self.model.watch_drop(watch.id);
        }
    }

    /// What EXEC (or DISCARD) `seq` must reply, `reply` being what it did;
    /// a failure of the WATCH property is reported directly (`None`).
    pub(super) fn expected_exec(
        &mut self,
        index: usize,
        seq: usize,
        reply: &Reply,
    ) -> Option<Result<ExpectedReply, String>> {
        let connection = &self.connections[index];
        let command = &connection.sent[seq];
        let queued: Vec<usize> = (0..seq)
            .filter(|s| connection.sent[*s].exec_seq == Some(seq))
            .collect();
        let ran_any = queued
            .iter()
            .any(|s| !connection.sent[*s].executions.is_empty());
        let result = match &command.expect {
            Expect::Discard if ran_any => Err("a discarded command ran".to_string()),
            Expect::Discard => Ok(ExpectedReply::Exact(Reply::ok())),
            Expect::Exec { aborted: true } if ran_any => {
                Err("a command of an aborted transaction ran".to_string())
            }
            Expect::Exec { aborted: true } => Ok(ExpectedReply::Exact(Reply::error(
                "EXECABORT Transaction discarded because of previous errors.",
            ))),
            _ if super::crash::is_exec_refused(reply) => {
                let commands: Vec<&[Bytes]> = queued
                    .iter()
                    .map(|s| &connection.sent[*s].argv[..])
                    .collect();
                if ran_any {
                    Err("EXEC was refused but queued commands ran".to_string())
                } else {
                    match self.may_refuse(&commands) {
                        Ok(()) => {
                            self.stats.refused_whole += 1;
                            Ok(ExpectedReply::Exact(reply.clone()))
                        }
                        Err(why) => Err(format!("EXEC was refused, but {why}")),
                    }
                }
            }
            // `*-1` in RESP2, `_` in RESP3: either parses as a null.
            _ if matches!(reply, Reply::NullArray | Reply::Null) => {
                if ran_any {
                    Err("EXEC replied nil but queued commands ran".to_string())
                } else if let Err(why) = self.watch_verdict(index, seq, true) {
                    self.fail(Property::Watch, why);
                    return None;
                } else {
                    Ok(ExpectedReply::Exact(Reply::NullArray))
                }
            }
            _ => {
                if let Err(why) = self.watch_verdict(index, seq, false) {
                    self.fail(Property::Watch, why);
                    return None;
                }
                self.exec_array(index, &queued)
            }
        };
        self.drop_watches(index, seq);
        Some(result)
    }

    /// EXEC's array: each queued command's reply from its executions.
    fn exec_array(&self, index: usize, queued: &[usize]) -> Result<ExpectedReply, String> {
        let connection = &self.connections[index];
        let mut replies = Vec::with_capacity(queued.len());
        for s in queued {
            let command = &connection.sent[*s];
            let reply = match &command.expect {
                Expect::Queued(inner) => match &**inner {
                    Expect::Exact(reply) => reply.clone(),
                    _ => {
                        let spec = self
                            .table
                            .lookup(&command.argv[0])
                            .ok_or("unknown queued command")?;
                        match expected_reply(spec, &self.slots, &command.argv, &command.executions)?
                        {
                            ExpectedReply::Exact(reply) => reply,
                            ExpectedReply::OneOf(_) => {
                                return Err("a queued command has no one reply".to_string())
                            }
                        }
                    }
                },
                _ => return Err(format!("#{s} was not queued")),
            };
            replies.push(reply);
        }
        Ok(ExpectedReply::Exact(Reply::Array(replies)))
    }

    /// P3 WATCH for EXEC `seq` replying `null` (or an array).
    fn watch_verdict(&mut self, index: usize, seq: usize, null: bool) -> Result<(), String> {
        let exec_sent_ms = self.connections[index].sent[seq]
            .written_wall_ms
            .unwrap_or(0);
        let now = self.connections[index].watches.clone();
        let mut may_null = false;
        let mut must_null: Option<String> = None;
        for watch in now.iter().filter(|w| w.seq < seq) {
            let reading = self.watch_snapshot(index, watch.id);
            let served = watch.served.unwrap_or(reading);
            let decided = if null {
                reading
            } else {
                watch.decided.unwrap_or(reading)
            };
            let expire_at_ms = self.model.watch_expire_at_ms(watch.id);
            // The key's own TTL: certainly out between served and EXEC sent,
            // possibly at any other time up to the decision.
            let expiry = match expire_at_ms {
                Some(at) if served.changes == 0 && at > served.time_ms && at < exec_sent_ms => {
                    Some(true)
                }
                Some(at) if at <= decided.time_ms => Some(false),
                // A TTL set after the registration, run out by the decision.
                _ if served.expire_at_ms.is_some_and(|at| at <= decided.time_ms) => Some(false),
                _ => None,
            };
            let (db, key) = self.model.watch_key(watch.id).unwrap_or_default();
            let what = format!(
                "watched key \"{}\" (db {db})",
                crate::trace::show_bytes(&key)
            );
            if expiry == Some(true) {
                must_null.get_or_insert(format!("{what} expired while watched"));
            } else if decided.changes > served.changes
                && expiry.is_none()
                && !served.ambiguous
                && !decided.ambiguous
            {
                must_null.get_or_insert(format!(
                    "{what} changed after WATCH was served ({} → {} changes)",
                    served.changes, decided.changes
                ));
            }
            may_null |=
                decided.changes > 0 || expiry.is_some() || served.ambiguous || decided.ambiguous;
        }
        let id = self.connections[index].id;
        match (null, must_null) {
            (true, _) if !may_null => Err(format!(
                "EXEC #{seq} of conn {id} replied nil, but no watched key changed"
            )),
            (false, Some(why)) => Err(format!(
                "EXEC #{seq} of conn {id} ran its transaction, but {why}"
            )),
            _ => Ok(()),
        }
    }

    /// True while some atomic unit has executions the serial model has not
    /// replayed yet.
    pub(super) fn units_in_progress(&self) -> bool {
        self.units.values().any(|u| !u.executions.is_empty())
    }

    /// At a clean end, every unit has completed — also those of dropped
    /// connections: a unit begun is finished, all or nothing.
    pub(super) fn units_complete(&self) -> Result<(), String> {
        self.parts_complete()?;
        match self.units.iter().next() {
            None => Ok(()),
            Some(((index, _), unit)) => Err(format!(
                "half a transaction: {} ended after {} of its {} executions (last: {}){}",
                unit.what,
                unit.executions.len(),
                unit.total,
                unit.executions
                    .last()
                    .map(|e| format!("{} → {}", show_argv(&e.argv), show_reply(&e.reply)))
                    .unwrap_or_default(),
                if self.connections[*index].open {
                    ""
                } else {
                    "; its client had dropped the connection"
                }
            )),
        }
    }
}
