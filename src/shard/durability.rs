//! How a shard persists: its AOF (group commit in `before_sleep`, held
//! replies and messages under `appendfsync always`, the periodic fsync and
//! epoch note of `everysec`/`no`). Background jobs (BGSAVE, BGREWRITEAOF)
//! are in [`super::background`]. The design is in [`crate::persist`].

use bytes::Bytes;

use super::locks::TxnId;
use super::message::{ConnId, Message};
use super::Shard;
use crate::keyspace::Keyspace;
use crate::persist;
use crate::platform::Platform;

impl<P: Platform> Shard<P> {
    /// Installs what persistence recovered: the shard's keyspace, and the
    /// log its writes go to from now on (`None`: `appendonly no`).
    pub fn attach_persistence(&mut self, keyspace: Keyspace, log: Option<persist::aof::ShardLog>) {
        self.keyspace = keyspace;
        self.log = log;
    }

    /// The log's fsync policy, with `appendonly yes`.
    pub fn aof_policy(&self) -> Option<persist::Policy> {
        self.log.as_ref().map(persist::aof::ShardLog::policy)
    }

    /// True under `appendfsync always`: nothing leaves before its fsync.
    pub(super) fn durable_before_visible(&self) -> bool {
        // Planted bug (`Faults::reply_before_fsync`).
        self.aof_policy() == Some(persist::Policy::Always) && !self.faults.reply_before_fsync
    }

    /// Sends `message` to shard `to`, stamped with this shard's epoch by
    /// the caller; under `appendfsync always` it waits for the fsync that
    /// covers what this shard wrote (see [`Shard::before_sleep`]).
    pub(super) fn send(&mut self, to: usize, message: Message) {
        if self.durable_before_visible() {
            self.outbox.push((to, message));
        } else {
            self.platform.send(to, message);
        }
    }

    /// End of a loop iteration, before replies and messages go out (Redis's
    /// `beforeSleep`): runs connections deferred by the flush, hands the
    /// log's buffer to the disk — one write, and under `always` one fsync,
    /// covering every write of the iteration (group commit) — and then
    /// releases the held messages. On a disk error the messages and
    /// replies stay held, writes get `-MISCONF`, and the next call retries.
    pub fn before_sleep(&mut self) {
        self.tick_clock();
        for conn in std::mem::take(&mut self.deferred) {
            self.drive(conn);
        }
        self.process_completions();
        let (Some(log), Some(disk)) = (self.log.as_mut(), self.platform.disk()) else {
            return;
        };
        if log.policy() != persist::Policy::Always {
            if log.has_buffered() {
                log.flush(disk, false);
            }
            return;
        }
        if log.has_undurable() && !log.flush(disk, true) {
            self.withheld = true;
            return;
        }
        for (to, message) in std::mem::take(&mut self.outbox) {
            self.platform.send(to, message);
        }
        if std::mem::take(&mut self.withheld) {
            let waiting: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|(_, c)| !c.output.is_empty() || c.closing)
                .map(|(id, _)| *id)
                .collect();
            for conn in waiting {
                if let Some(connection) = self.conns.get_mut(&conn) {
                    if !connection.in_ready_list {
                        connection.in_ready_list = true;
                        self.ready.push(conn);
                    }
                }
            }
        }
    }

    /// The server is stopping (SHUTDOWN, SIGTERM): writes and fsyncs what
    /// the log holds, whatever the policy, as Redis does on shutdown.
    pub fn before_shutdown(&mut self) {
        self.before_sleep();
        // Past every epoch this shard wrote in: with every shard doing the
        // same, recovery's cut keeps everything written before the stop.
        let epoch = self.epoch + 1;
        if let (Some(log), Some(disk)) = (self.log.as_mut(), self.platform.disk()) {
            log.mark_epoch(epoch);
            if !log.flush(disk, true) {
                tracing::warn!("the AOF could not be fsynced at shutdown");
            }
        }
    }

    /// True while replies must not go out: under `always`, bytes of the
    /// log are not yet durable.
    pub(super) fn output_withheld(&self) -> bool {
        // Planted bug (`Faults::reply_before_fsync`): never withheld.
        !self.faults.reply_before_fsync
            && self
                .log
                .as_ref()
                .is_some_and(|l| l.policy() == persist::Policy::Always && l.has_undurable())
    }

    /// Logs the commit of atomic operation `owner` (home shard, at its end).
    pub(crate) fn log_commit(&mut self, owner: TxnId) {
        let epoch = self.epoch;
        if let Some(log) = self.log.as_mut() {
            log.commit(epoch, (owner.conn, owner.serial));
        }
    }

    /// Logs entries stored back by a gathered command: each key deleted,
    /// then recreated from its new entry.
    pub(crate) fn log_store(
        &mut self,
        owner: Option<TxnId>,
        db: usize,
        entries: &[(Bytes, Option<crate::keyspace::Entry>)],
    ) {
        let (epoch, now_ms) = (self.epoch, self.clock.1 / 1000);
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let tag = owner.map(|o| (o.conn, o.serial));
        let mut commands = Vec::new();
        for (key, entry) in entries {
            log.record(
                epoch,
                now_ms,
                db,
                tag,
                &[Bytes::from_static(b"DEL"), key.clone()],
            );
            if let Some(entry) = entry {
                commands.clear();
                persist::rewrite::entry_commands(key, entry, &mut commands);
                for argv in &commands {
                    log.record(epoch, now_ms, db, tag, argv);
                }
            }
        }
    }

    /// `everysec` and `no`: every [`persist::EVERYSEC_SYNC_MS`], note the
    /// epoch in the log (even when idle, so the recovery cut advances) and
    /// write it — with an fsync under `everysec`.
    pub(super) fn periodic_sync(&mut self, now_us: u64) {
        let epoch = self.epoch;
        let (Some(log), Some(disk)) = (self.log.as_mut(), self.platform.disk()) else {
            return;
        };
        let policy = log.policy();
        if policy == persist::Policy::Always || now_us < self.next_sync_us {
            return;
        }
        self.next_sync_us = now_us + persist::EVERYSEC_SYNC_MS * 1000;
        log.mark_epoch(epoch);
        log.flush(disk, policy == persist::Policy::EverySec);
    }
}
