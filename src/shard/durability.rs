//! How a shard persists: its AOF (group commit in `before_sleep`, held
//! replies and messages under `appendfsync always`, the periodic fsync and
//! epoch note of `everysec`/`no`). Background jobs (BGSAVE, BGREWRITEAOF)
//! are in [`super::background`]. The design is in [`crate::persist`].

use bytes::Bytes;

use super::locks::TxnId;
use super::message::{ConnId, Message};
use super::Shard;
use crate::keyspace::Keyspace;
use crate::limits;
use crate::persist;
use crate::platform::Platform;

/// When a failing AOF write or fsync is next tried: each failure in a row
/// doubles the delay, from [`limits::AOF_RETRY_BACKOFF_MIN_US`] up to
/// [`limits::AOF_RETRY_BACKOFF_MAX_US`]; a success resets it. Times are the
/// platform's monotonic µs, so the simulator stays deterministic.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FlushRetry {
    /// No attempt before this instant (monotonic µs; 0: none pending).
    at_us: u64,
    /// The delay set by the last failure (µs; 0 after a success).
    backoff_us: u64,
}

impl FlushRetry {
    /// True when an attempt may be made at `now_us`.
    pub(super) fn due(self, now_us: u64) -> bool {
        now_us >= self.at_us
    }

    /// The instant of the next attempt (monotonic µs).
    pub(super) fn at_us(self) -> u64 {
        self.at_us
    }

    /// Notes an attempt made at `now_us`, and whether it succeeded.
    fn record(&mut self, succeeded: bool, now_us: u64) {
        if succeeded {
            *self = FlushRetry::default();
            return;
        }
        self.backoff_us = (self.backoff_us * 2).clamp(
            limits::AOF_RETRY_BACKOFF_MIN_US,
            limits::AOF_RETRY_BACKOFF_MAX_US,
        );
        self.at_us = now_us + self.backoff_us;
    }
}

/// Redis's refusal of a write while the AOF cannot be written (the error
/// text, without the leading `-`).
pub(super) fn misconf(error: &str) -> String {
    format!("MISCONF Errors writing to the AOF file: {error}")
}

impl<P: Platform> Shard<P> {
    /// Installs what persistence recovered: the shard's keyspace, and the
    /// log its writes go to from now on (`None`: `appendonly no`). The
    /// shard's epochs start no lower than the log's files already hold.
    pub fn attach_persistence(&mut self, keyspace: Keyspace, log: Option<persist::aof::ShardLog>) {
        self.keyspace = keyspace;
        self.keyspace.record_expired(log.is_some());
        self.aof_base_size = log.as_ref().map_or(0, persist::aof::ShardLog::total_size);
        if let Some(log) = &log {
            self.epoch_base = self.epoch_base.max(log.epoch_floor());
            self.epoch = self.epoch.max(self.epoch_base);
        }
        self.log = log;
    }

    /// The log's fsync policy, with `appendonly yes`.
    pub fn aof_policy(&self) -> Option<persist::Policy> {
        self.log.as_ref().map(persist::aof::ShardLog::policy)
    }

    /// The log's last error, while writes are refused for it (`-MISCONF`).
    pub(super) fn aof_error(&self) -> Option<String> {
        self.log
            .as_ref()
            .and_then(|l| l.error())
            .map(str::to_string)
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
    /// replies stay held, writes get `-MISCONF`, and a later call retries,
    /// once the backoff since the failure is over (1 ms doubling up to
    /// [`limits::AOF_RETRY_BACKOFF_MAX_US`]; [`Shard::poll_timeout_us`]
    /// wakes the shard for it).
    pub fn before_sleep(&mut self) {
        self.tick_clock();
        self.reap_internal();
        for conn in std::mem::take(&mut self.deferred) {
            self.drive(conn);
        }
        self.process_completions();
        self.log_expired();
        let now_us = self.clock.0;
        let (Some(log), Some(disk)) = (self.log.as_mut(), self.platform.disk()) else {
            return;
        };
        if log.policy() != persist::Policy::Always {
            if log.has_buffered() && self.flush_retry.due(now_us) {
                let written = log.flush(disk, false);
                self.flush_retry.record(written, now_us);
            }
            return;
        }
        if log.has_undurable() {
            if !self.flush_retry.due(now_us) {
                self.withheld = true;
                return;
            }
            let durable = log.flush(disk, true);
            self.flush_retry.record(durable, now_us);
            if !durable {
                self.withheld = true;
                return;
            }
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
    /// Logs a DEL for every key that expired since the last call (lazily
    /// or actively), as Redis propagates expirations: replay then never
    /// depends on its clock agreeing with the one the keys expired by (a
    /// wall clock set back would otherwise bring them back). Called before
    /// anything else is logged, so each DEL precedes every later record.
    pub(super) fn log_expired(&mut self) {
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let mut expired = std::mem::take(&mut self.expired_scratch);
        self.keyspace.take_expired(&mut expired);
        let (epoch, now_ms) = (self.epoch, self.clock.1 / 1000);
        for (db, key) in expired.drain(..) {
            log.record(epoch, now_ms, db, None, &[Bytes::from_static(b"DEL"), key]);
        }
        self.expired_scratch = expired;
    }

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
        self.log_expired();
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
        let done = log.flush(disk, policy == persist::Policy::EverySec);
        self.flush_retry.record(done, now_us);
    }
}

#[cfg(test)]
mod tests {
    use super::FlushRetry;
    use crate::limits::{AOF_RETRY_BACKOFF_MAX_US, AOF_RETRY_BACKOFF_MIN_US};

    /// A failing disk under `appendfsync always` was retried on every loop
    /// iteration (the shard's timer was always due): the retries now back
    /// off, doubling up to a cap, and a success makes the next flush
    /// immediate again.
    #[test]
    fn a_failing_flush_is_retried_with_a_doubling_bounded_backoff() {
        let mut retry = FlushRetry::default();
        let mut now_us = 5_000_000;
        assert!(retry.due(now_us), "nothing failed yet");
        let mut delays = Vec::new();
        for _ in 0..12 {
            retry.record(false, now_us);
            assert!(!retry.due(now_us), "no retry at once after a failure");
            assert!(!retry.due(retry.at_us() - 1));
            delays.push(retry.at_us() - now_us);
            now_us = retry.at_us();
            assert!(retry.due(now_us));
        }
        assert_eq!(delays[0], AOF_RETRY_BACKOFF_MIN_US);
        assert_eq!(delays[1], 2 * AOF_RETRY_BACKOFF_MIN_US);
        assert!(delays
            .windows(2)
            .all(|w| w[1] == (2 * w[0]).min(AOF_RETRY_BACKOFF_MAX_US)));
        assert_eq!(delays.last(), Some(&AOF_RETRY_BACKOFF_MAX_US));
        retry.record(true, now_us);
        assert!(retry.due(now_us), "a success clears the backoff");
        retry.record(false, now_us);
        assert_eq!(retry.at_us() - now_us, AOF_RETRY_BACKOFF_MIN_US);
    }
}
