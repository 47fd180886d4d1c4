//! The sans-IO shard: one core's slice of the keyspace and the connections
//! it is home to.
//!
//! A [`Shard`] is a state machine. Inputs are `handle_*` calls (a connection
//! opened, bytes arrived, a connection closed, a message from another shard,
//! a timer fired); outputs are each connection's output buffer (drained by the
//! platform through [`Shard::output`] / [`Shard::consume_output`]) and
//! messages it hands to [`Platform::send`]. It never calls the OS, so the
//! production runtime and the simulator drive the same code.
//!
//! ## Ordering
//!
//! Each connection's commands execute in program order: a command whose keys
//! live on another shard is forwarded, and the connection starts nothing else
//! until its reply is back. Consecutive commands bound for the same shard
//! travel in one batch (one message). So replies are written strictly in
//! command order (P1), and the order in which shards execute commands
//! respects every connection's program order (P2). Commands that only touch
//! the home shard never pay a cross-shard cost.
//!
//! ## Multi-shard commands
//!
//! Split commands (MGET, MSET, DEL, EXISTS, ...) run one part per owning
//! shard and reduce the replies; gathered commands (RENAME, COPY, MSETNX,
//! LCS) fetch the entries to the home shard, run there over a scratch
//! keyspace and store the results back; whole-keyspace commands run on every
//! shard. These parts are not yet isolated from concurrent commands on the
//! other shards: cross-shard atomicity is built on top of this by the
//! transactions work.

mod atomic;
pub mod background;
pub mod connection;
mod durability;
pub mod locks;
pub mod message;
pub(crate) mod plan;
mod serve;
mod server;
mod waits;

use std::collections::HashMap;

use bytes::{Buf, Bytes};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use message::{ConnId, Forwarded, Message, Origin, Request, Response, ShardStats, Ticket};

use crate::commands::{Args, CommandSpec, Ctx, Exec, Table};
use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::limits;
use crate::persist;
use crate::platform::{Platform, TraceEvent};
use crate::resp::Reply;
use crate::slot::SlotMap;
use connection::{Connection, Queued, Then};
use locks::TxnId;
use plan::Plan;

/// Facts about the running server that INFO and HELLO report.
#[derive(Clone, Debug, Default)]
pub struct ServerInfo {
    /// The TCP port actually listened on.
    pub tcp_port: u16,
    /// The process id.
    pub process_id: u32,
    /// Path of the executable.
    pub executable: String,
}

/// Planted bugs, for proving that the simulator's checkers can fail. All
/// off by default; production never turns them on. Each one breaks exactly
/// one property the simulator checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Run home-shard commands while an earlier forwarded command is still
    /// outstanding, writing their replies at once (breaks P1 reply order).
    pub local_skips_wait: bool,
    /// Silently drop the last command of every forwarded batch of two or
    /// more (a lost forward: its reply never comes).
    pub drop_forwarded: bool,
    /// Execute forwarded commands in database 0, whatever the connection
    /// selected (breaks P2 serial equivalence).
    pub remote_ignores_db: bool,
    /// Do not lock the highest shard of a multi-shard operation (breaks P3
    /// isolation).
    pub skip_lock: bool,
    /// Check watched keys when a lock request arrives rather than when it is
    /// granted, so a change made while it waits goes unnoticed (breaks P3's
    /// "EXEC aborts iff a watched key changed").
    pub validate_watch_early: bool,
    /// Release the lowest shard's lock as soon as every lock is held, before
    /// the operation runs (breaks P3 isolation).
    pub release_early: bool,
    /// The engine's old disconnect: drop a connection at once, releasing
    /// its locks and abandoning the rest of an atomic operation already
    /// started, instead of finishing it detached (leaves half a
    /// transaction applied: breaks P3).
    pub abandon_on_disconnect: bool,
    /// Under `appendfsync always`, let replies and messages out without
    /// waiting for the fsync covering them (breaks P4: an acknowledged
    /// write can be lost when the fsync fails and the server crashes).
    pub reply_before_fsync: bool,
    /// The engine's old disk-error handling: EXEC and multi-shard commands
    /// are not refused whole while a shard's AOF cannot be written; each
    /// write part on a failing shard is refused with `-MISCONF` while the
    /// other parts apply (breaks P3: half a transaction applied).
    pub misconf_per_part: bool,
    /// Epochs follow the wall clock (`unix ms / EPOCH_MS`), as the engine
    /// once did, not the monotonic one: a wall clock set back freezes them
    /// and the recovery cut with them (breaks P4 under `everysec`: a write
    /// acknowledged over a second before a crash is cut).
    pub wall_clock_epochs: bool,
    /// Recovery replays the records of atomic operations that never
    /// committed (breaks P4: half a transaction survives a crash). Read
    /// by whoever calls `persist::open_with`, not by the shard.
    pub recover_partial_txn: bool,
    /// Recovery replays a torn last record as far as it goes instead of
    /// trimming it (breaks P4). Read by whoever calls
    /// `persist::open_with`, not by the shard.
    pub skip_torn_trim: bool,
}

/// Counters kept per shard for INFO.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    total_connections_received: u64,
    total_commands_processed: u64,
    total_net_input_bytes: u64,
    total_net_output_bytes: u64,
}

/// One shard: its keyspace, its connections, and its view of the others.
pub struct Shard<P: Platform> {
    index: usize,
    slots: SlotMap,
    platform: P,
    table: Table,
    keyspace: Keyspace,
    rng: ChaCha8Rng,
    config: Config,
    server: ServerInfo,
    conns: HashMap<ConnId, Connection, ahash::RandomState>,
    /// The last command looked up (pipelines repeat commands).
    lookup_cache: Option<&'static CommandSpec>,
    /// Time read once per event (`handle_*` call), as Redis caches `mstime`
    /// per command: (monotonic µs, Unix µs).
    clock: (u64, u64),
    ready: Vec<ConnId>,
    next_conn_serial: u64,
    counters: Counters,
    started_us: u64,
    next_cron_us: u64,
    run_id: String,
    faults: Faults,
    /// Key locks granted to (and awaited by) multi-shard operations.
    locks: locks::LockTable<serve::LockWaiter>,
    /// Requests waiting for locks held by other owners, in arrival order.
    parked: std::collections::VecDeque<serve::Parked>,
    /// Answers to this shard's own parts that became ready later (a lock
    /// granted, a parked request served); applied by `process_completions`.
    completions: std::collections::VecDeque<(Ticket, Response)>,
    /// The append-only log, with `appendonly yes` (see [`crate::persist`]).
    log: Option<persist::aof::ShardLog>,
    /// This shard's epoch (see [`crate::persist`]): `epoch_base` plus one
    /// per `EPOCH_MS` of monotonic time since `started_us`, raised to any
    /// epoch received.
    epoch: u64,
    /// The epoch at `started_us`: the wall clock's then, or the largest the
    /// AOF already holds if that is more.
    epoch_base: u64,
    /// Messages held until the log is durable (`appendfsync always`).
    outbox: Vec<(usize, Message)>,
    /// Connections whose output drained while writes could not run (under
    /// `appendfsync always` nothing runs between the fsync and the flush):
    /// driven by the next [`Shard::before_sleep`].
    deferred: Vec<ConnId>,
    /// A gathered command is running over a scratch keyspace: its writes
    /// are logged as the entries stored back, not as the command.
    in_scratch: bool,
    /// When the periodic fsync (`everysec`) or epoch note is next due
    /// (monotonic µs).
    next_sync_us: u64,
    /// Output was withheld while the log failed: offer every connection
    /// again once it is durable.
    withheld: bool,
    /// When a failed AOF write or fsync is retried (backoff).
    flush_retry: durability::FlushRetry,
    /// BGREWRITEAOFs this shard coordinated (INFO `aof_rewrites`).
    pub(crate) aof_rewrites: u64,
    /// This shard's part of a background job (BGSAVE, BGREWRITEAOF).
    job: Option<background::Job>,
    /// The parts of the background job this shard coordinates.
    gathering: Option<background::Gathering>,
    /// Keys per slice of a background job.
    slice_keys: usize,
    /// The last BGSAVE this shard took part in succeeded
    /// (`rdb_last_bgsave_status`).
    last_bgsave_ok: bool,
    /// The last BGREWRITEAOF this shard took part in succeeded
    /// (`aof_last_bgrewrite_status`).
    last_bgrewrite_ok: bool,
    /// What [`Keyspace::changes`] was at the point the last successful
    /// save captured.
    changes_at_save: u64,
    /// [`Keyspace::changes`] when this shard's part of the running BGSAVE
    /// started.
    changes_at_job_start: u64,
    /// Bytes of the AOF files after the last rewrite, or at start
    /// (`aof_base_size`).
    aof_base_size: u64,
    /// The counters last reported to shard 0 (changes since the last
    /// save, AOF size, AOF base size).
    counters_reported: Option<(u64, u64, u64)>,
    /// Shard 0: every shard's last reported counters.
    counters_seen: Vec<(u64, u64, u64)>,
    /// Unix seconds of the last BGREWRITEAOF `auto-aof-rewrite-*` started.
    last_rewrite_try_s: u64,
    /// Unix seconds of the last BGSAVE the `save` rules started.
    last_bgsave_try_s: u64,
    /// A BGREWRITEAOF waits for the running BGSAVE to end.
    rewrite_scheduled: bool,
    /// A BGSAVE SCHEDULE waits for the running BGREWRITEAOF to end.
    save_scheduled: bool,
    /// Reused buffer for [`Shard::log_expired`].
    expired_scratch: Vec<(usize, Bytes)>,
    /// The connection running a command the server issued itself (a
    /// BGSAVE of the `save` rules, a scheduled BGREWRITEAOF).
    internal: Option<ConnId>,
    /// The internal connection's command.
    internal_argv: &'static [&'static str],
    /// Unix seconds of this shard's last successful snapshot (LASTSAVE).
    pub(crate) last_save_s: u64,
    /// Snapshots this shard wrote (INFO `rdb_saves`).
    pub(crate) saves: u64,
}

impl<P: Platform> Shard<P> {
    /// Shard `index` of `shard_count`, drawing its seeds from `platform`.
    pub fn new(
        index: usize,
        shard_count: usize,
        config: Config,
        server: ServerInfo,
        mut platform: P,
    ) -> Shard<P> {
        assert!(index < shard_count && shard_count <= limits::SHARDS_MAX);
        let mut rng = ChaCha8Rng::seed_from_u64(platform.random_u64());
        let keyspace = Keyspace::new(config.databases, &mut rng);
        let started_us = platform.monotonic_us();
        let unix_us = platform.unix_time_us();
        // As Redis: LASTSAVE reports the start until the first save.
        let last_save_s = unix_us / 1_000_000;
        let run_id = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect();
        Shard {
            index,
            slots: SlotMap::new(shard_count),
            platform,
            table: Table::new(),
            keyspace,
            rng,
            config,
            server,
            // Iterated only for CLIENT LIST, which sorts: a fixed seed is safe.
            conns: HashMap::with_hasher(ahash::RandomState::with_seeds(21, 22, 23, 24)),
            lookup_cache: None,
            clock: (started_us, 0),
            ready: Vec::new(),
            next_conn_serial: 0,
            counters: Counters::default(),
            started_us,
            next_cron_us: started_us,
            run_id,
            faults: Faults::default(),
            locks: locks::LockTable::default(),
            parked: std::collections::VecDeque::new(),
            completions: std::collections::VecDeque::new(),
            log: None,
            epoch: 0,
            epoch_base: persist::wall_epoch(unix_us / 1000),
            outbox: Vec::new(),
            deferred: Vec::new(),
            in_scratch: false,
            next_sync_us: started_us,
            withheld: false,
            flush_retry: durability::FlushRetry::default(),
            aof_rewrites: 0,
            job: None,
            gathering: None,
            slice_keys: background::SLICE_KEYS_DEFAULT,
            last_bgsave_ok: true,
            last_bgrewrite_ok: true,
            changes_at_save: 0,
            changes_at_job_start: 0,
            aof_base_size: 0,
            counters_reported: None,
            counters_seen: vec![(0, 0, 0); shard_count],
            last_rewrite_try_s: 0,
            last_bgsave_try_s: 0,
            rewrite_scheduled: false,
            save_scheduled: false,
            internal: None,
            expired_scratch: Vec::new(),
            internal_argv: &[],
            last_save_s,
            saves: 0,
        }
    }

    /// Turns planted bugs on or off (simulator only; see [`Faults`]).
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// This shard's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The platform, for the runtime that owns it.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The platform, mutably (e.g. to flush batched messages).
    pub fn platform_mut(&mut self) -> &mut P {
        &mut self.platform
    }

    /// This shard's keyspace (read-only; checkers and tests).
    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    /// `maxclients`: the most connections the server accepts (the platform
    /// enforces it server-wide, as Redis does at accept).
    pub fn max_clients(&self) -> usize {
        self.config.maxclients
    }

    /// Number of open connections homed here.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// A new client connected; returns its server-wide unique id.
    pub fn handle_connect(&mut self, peer: String) -> ConnId {
        self.tick_clock();
        self.next_conn_serial += 1;
        let id =
            (self.next_conn_serial - 1) * self.slots.shard_count() as u64 + self.index as u64 + 1;
        let now_us = self.clock.0;
        self.conns.insert(id, Connection::new(id, peer, now_us));
        self.counters.total_connections_received += 1;
        id
    }

    /// Bytes arrived on `conn`. Parses and runs every complete command the
    /// connection may run now; replies accumulate in its output buffer.
    pub fn handle_input(&mut self, conn: ConnId, bytes: &[u8]) {
        self.tick_clock();
        let limit = self.config.client_query_buffer_limit;
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        self.counters.total_net_input_bytes += bytes.len() as u64;
        if connection.closing || connection.input_poisoned {
            return;
        }
        connection.query.extend_from_slice(bytes);
        if connection.query.len() > limit {
            // Redis closes such a client without a reply (client-query-buffer-limit).
            tracing::warn!(
                conn,
                bytes = connection.query.len(),
                "closing client that exceeded the query buffer limit"
            );
            connection.closing = true;
            connection.queue.clear();
            connection.query.clear();
            self.mark_ready(conn);
            return;
        }
        self.drive(conn);
        self.process_completions();
    }

    /// The client closed `conn` (or the platform closed it). Its pending
    /// work is dropped and answers still in flight for it are discarded —
    /// except an atomic operation already started, which finishes unseen
    /// (see [`connection::Connection::detached`]): abandoning it halfway
    /// would leave half a transaction applied.
    pub fn handle_disconnect(&mut self, conn: ConnId) {
        self.tick_clock();
        // Planted bug (`Faults::abandon_on_disconnect`): never detach.
        let abandon = self.faults.abandon_on_disconnect;
        match self.conns.get_mut(&conn) {
            Some(connection) if connection.atomic.is_some() && !abandon => {
                connection.detached = true;
                connection.input_poisoned = true;
                connection.multi = None;
                connection.query.clear();
                connection.queue.clear();
                connection.output.clear();
                connection.held.clear();
            }
            Some(_) => {
                if let Some(connection) = self.conns.remove(&conn) {
                    atomic::forget_connection(self, connection);
                }
            }
            None => {}
        }
        self.process_completions();
    }

    /// A message from another shard arrived.
    pub fn handle_message(&mut self, message: Message) {
        self.tick_clock();
        match message {
            Message::Request {
                from,
                ticket,
                db,
                owner,
                request,
                epoch,
            } => {
                self.epoch = self.epoch.max(epoch);
                // Planted bug (`Faults::remote_ignores_db`).
                let db = if self.faults.remote_ignores_db { 0 } else { db };
                let waiter = serve::Waiter::Remote { from, ticket };
                if let Some(response) = self.accept_request(waiter, owner, db, request) {
                    self.deliver(waiter, response);
                }
            }
            Message::Response {
                ticket,
                response,
                epoch,
            } => {
                self.epoch = self.epoch.max(epoch);
                self.complete_part(ticket, response);
                self.drive(ticket.conn);
            }
            Message::Release { owner, epoch } => {
                self.epoch = self.epoch.max(epoch);
                self.release_locks(owner);
            }
            Message::Background(notice) => self.on_notice(notice),
            Message::Unwatch { db, keys } => {
                for key in keys {
                    self.keyspace.db(db).unwatch(&key);
                }
            }
        }
        self.process_completions();
    }

    /// Reads the platform's clocks once for the event being handled, and
    /// advances the epoch with the monotonic one: a wall clock set back
    /// must not hold epochs (and so the recovery cut) back.
    fn tick_clock(&mut self) {
        self.clock = (self.platform.monotonic_us(), self.platform.unix_time_us());
        let own = if self.faults.wall_clock_epochs {
            persist::wall_epoch(self.clock.1 / 1000)
        } else {
            let elapsed_us = self.clock.0.saturating_sub(self.started_us);
            self.epoch_base + elapsed_us / (persist::EPOCH_MS * 1000)
        };
        self.epoch = self.epoch.max(own);
    }

    /// Applies answers to this shard's own parts that became ready while
    /// handling something else, driving each connection they unblock.
    fn process_completions(&mut self) {
        while let Some((ticket, response)) = self.completions.pop_front() {
            self.complete_part(ticket, response);
            self.drive(ticket.conn);
        }
    }

    /// When the shard next wants [`Shard::handle_timer`] called, in the
    /// platform's monotonic µs. While output waits for a failing log, that
    /// includes the next retry (after a backoff, not at once: see
    /// [`Shard::before_sleep`]).
    #[must_use]
    pub fn poll_timeout_us(&self) -> u64 {
        if !self.deferred.is_empty() || self.background_busy() {
            return self.clock.0;
        }
        let periodic_us = match self.log.as_ref().map(persist::aof::ShardLog::policy) {
            Some(persist::Policy::EverySec | persist::Policy::No) => {
                self.next_cron_us.min(self.next_sync_us)
            }
            _ => self.next_cron_us,
        };
        if self.withheld {
            periodic_us.min(self.flush_retry.at_us())
        } else {
            periodic_us
        }
    }

    /// True while replies or messages wait for a failing AOF write or
    /// fsync to be retried (`appendfsync always`): the shard has work
    /// outstanding even if no client or shard sends it anything.
    pub fn awaits_disk(&self) -> bool {
        self.withheld || !self.deferred.is_empty()
    }

    /// Periodic work: the active-expiry cycle.
    pub fn handle_timer(&mut self) {
        self.tick_clock();
        let now_us = self.clock.0;
        self.periodic_sync(now_us);
        self.background_slice();
        if now_us < self.next_cron_us {
            return;
        }
        let interval_us = 1_000_000 / u64::from(self.config.hz.max(1));
        self.next_cron_us = now_us + interval_us;
        let now_ms = self.clock.1 / 1000;
        // Keys locked by an atomic operation must not change under it: skip
        // the cycle while any lock is held (expiry is still lazy on access).
        if self.locks.is_idle() {
            for db in self.keyspace.dbs_mut() {
                db.active_expire(now_ms, limits::ACTIVE_EXPIRE_KEYS_PER_CYCLE);
            }
        }
        self.persistence_cron();
    }

    /// Moves the ids of connections with output to write, or to close, into
    /// `out`. The platform then writes [`Shard::output`] and reports with
    /// [`Shard::consume_output`].
    pub fn take_ready(&mut self, out: &mut Vec<ConnId>) {
        for id in self.ready.drain(..) {
            if Some(id) == self.internal {
                continue; // No socket: `before_sleep` reads its replies.
            }
            if let Some(connection) = self.conns.get_mut(&id) {
                connection.in_ready_list = false;
                out.push(id);
            }
        }
    }

    /// Bytes waiting to be written to `conn` (empty if unknown).
    ///
    /// Empty while `appendfsync always` holds replies for an fsync.
    pub fn output(&self, conn: ConnId) -> &[u8] {
        if self.output_withheld() {
            return &[];
        }
        self.conns.get(&conn).map_or(&[][..], |c| &c.output[..])
    }

    /// The platform wrote the first `written` bytes of [`Shard::output`].
    /// Resumes a connection that was paused on a full output buffer.
    pub fn consume_output(&mut self, conn: ConnId, written: usize) {
        self.tick_clock();
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        let written = written.min(connection.output.len());
        connection.output.advance(written);
        connection.encode_held();
        self.counters.total_net_output_bytes += written as u64;
        if connection.output.is_empty() && connection.output.capacity() > limits::OUTPUT_PAUSE_BYTES
        {
            connection.output = bytes::BytesMut::new();
        }
        if self.durable_before_visible() {
            // Whatever runs now would write after this iteration's fsync:
            // run it in the next `before_sleep`, before the fsync.
            self.deferred.push(conn);
            return;
        }
        self.drive(conn);
        self.process_completions();
    }

    /// True once `conn` should be closed: it asked to (QUIT, protocol error,
    /// query buffer limit) and everything before has been written.
    pub fn should_close(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_none_or(|c| c.detached || (c.closing && c.output.is_empty() && c.held.is_empty()))
    }

    /// False while `conn` should not be read: its output or queue is full
    /// (backpressure), or it is closing.
    pub fn wants_input(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| {
            !c.closing
                && !c.detached
                && c.output.len() < limits::OUTPUT_PAUSE_BYTES
                && c.queue.len() < limits::PIPELINE_QUEUE_MAX
                && !(c.is_busy() && c.query.len() >= limits::QUERY_PAUSE_BYTES)
        })
    }

    /// Offers the connection's output to the platform — once the commands
    /// it has in flight are done, so a pipeline that crosses shards several
    /// times is written with one syscall, not one per round trip (as Redis
    /// writes once per read). Large output goes out at once.
    fn mark_ready(&mut self, conn: ConnId) {
        if let Some(connection) = self.conns.get_mut(&conn) {
            if connection.detached {
                return;
            }
            let worth_writing = !connection.output.is_empty()
                && (!connection.is_busy() || connection.output.len() >= limits::OUTPUT_EAGER_BYTES);
            if !connection.in_ready_list && (worth_writing || connection.closing) {
                connection.in_ready_list = true;
                self.ready.push(conn);
            }
        }
    }

    /// Runs the connection's commands until it must wait, its output is
    /// full, or it has no complete command left.
    fn drive(&mut self, conn: ConnId) {
        loop {
            let Some(connection) = self.conns.get_mut(&conn) else {
                return;
            };
            if connection.detached {
                // Nobody reads these replies.
                connection.output.clear();
                connection.held.clear();
                if connection.atomic.is_none() && connection.waiting.is_none() {
                    if let Some(connection) = self.conns.remove(&conn) {
                        atomic::forget_connection(self, connection);
                    }
                    return;
                }
            }
            // Planted bug (`Faults::local_skips_wait`): home-shard commands overtake the wait.
            let skip_wait = self.faults.local_skips_wait && connection.waiting.is_some();
            if (connection.waiting.is_some() && !skip_wait)
                || connection.closing
                || connection.output.len() >= limits::OUTPUT_PAUSE_BYTES
                || !connection.held.is_empty()
            {
                break;
            }
            if connection.atomic.is_some() && !skip_wait {
                atomic::step(self, conn);
                continue;
            }
            if connection.queue.is_empty() {
                self.parse_into_queue(conn);
            }
            let Some(connection) = self.conns.get_mut(&conn) else {
                return;
            };
            if skip_wait
                && !matches!(
                    connection.queue.front(),
                    Some(Queued {
                        plan: Plan::Here(_),
                        ..
                    })
                )
            {
                break;
            }
            let Some(item) = connection.queue.pop_front() else {
                break;
            };
            self.dispatch(conn, item);
        }
        self.mark_ready(conn);
    }

    /// Parses complete commands from the query buffer into the queue, up to
    /// the queue bound, planning each one's route.
    fn parse_into_queue(&mut self, conn: ConnId) {
        let Shard {
            conns,
            table,
            lookup_cache,
            slots,
            config,
            index,
            ..
        } = self;
        let Some(connection) = conns.get_mut(&conn) else {
            return;
        };
        let limits = crate::resp::ParseLimits {
            bulk_bytes_max: config.proto_max_bulk_len,
            ..Default::default()
        };
        while connection.queue.len() < limits::PIPELINE_QUEUE_MAX && !connection.input_poisoned {
            let (argv, plan) = match connection.parser.parse(&mut connection.query, &limits) {
                Ok(None) => break,
                Ok(Some(argv)) => {
                    let plan = plan::plan(table, lookup_cache, slots, *index, &argv);
                    (argv, plan)
                }
                Err(error) => {
                    connection.input_poisoned = true;
                    (Vec::new(), Plan::ProtocolError(error.to_reply()))
                }
            };
            let origin = Origin {
                conn,
                seq: connection.next_seq,
            };
            connection.next_seq += 1;
            connection.queue.push_back(Queued { origin, argv, plan });
        }
    }

    /// Writes a reply to the connection — or, while an EXEC runs its
    /// commands, adds it to the EXEC's reply array.
    fn write(&mut self, conn: ConnId, reply: &Reply) {
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(connection::Atomic {
            body: connection::AtomicBody::Exec { replies, .. },
            granted,
            locks,
            ..
        }) = &mut connection.atomic
        {
            if *granted == locks.len() {
                replies.push(reply.clone());
                return;
            }
        }
        connection.write(reply);
    }

    fn dispatch(&mut self, conn: ConnId, item: Queued) {
        self.counters.total_commands_processed += 1;
        let now_us = self.clock.0;
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        connection.last_command_us = now_us;
        let item = if connection.multi.is_some() {
            match atomic::queue_in_multi(self, conn, item) {
                Some(item) => item,
                None => return,
            }
        } else {
            item
        };
        let Some(connection) = self.conns.get(&conn) else {
            return;
        };
        let in_atomic = connection.atomic.is_some();
        let multi_shard = match item.plan {
            Plan::Split(..) | Plan::Gather(_) | Plan::AllShards(..) => true,
            Plan::Server(command) => command.locks_every_shard(),
            _ => false,
        };
        if multi_shard && !in_atomic {
            atomic::begin_command(self, conn, item);
            return;
        }
        self.run_plan(conn, item);
    }

    /// Carries out a planned command (inside or outside an atomic operation).
    fn run_plan(&mut self, conn: ConnId, item: Queued) {
        let Some(db) = self.conns.get(&conn).map(|c| c.db) else {
            return;
        };
        let Queued { origin, argv, plan } = item;
        match plan {
            Plan::Reply(reply) => self.write(conn, &reply),
            Plan::ProtocolError(reply) => {
                self.write(conn, &reply);
                if let Some(connection) = self.conns.get_mut(&conn) {
                    connection.closing = true;
                }
            }
            Plan::Here(spec) if self.locks.is_idle() => {
                let reply = self.execute(None, origin, db, spec, argv);
                self.write(conn, &reply);
            }
            Plan::Here(spec) => {
                // Locks are held here: go through the lock check (and park
                // if the command's keys are locked by someone else).
                let request = Request::Execute(vec![Forwarded { origin, spec, argv }]);
                self.start_wait(conn, vec![(self.index, request)], Then::Batch);
            }
            Plan::Remote(shard, spec) => {
                self.forward_batch(conn, shard, Forwarded { origin, spec, argv })
            }
            Plan::Split(spec, reduce) => self.start_split(conn, origin, spec, reduce, argv),
            Plan::AllShards(spec, reduce) => {
                let requests = (0..self.slots.shard_count())
                    .map(|shard| {
                        (
                            shard,
                            Request::Execute(vec![Forwarded {
                                origin,
                                spec,
                                argv: argv.clone(),
                            }]),
                        )
                    })
                    .collect();
                self.start_wait(
                    conn,
                    requests,
                    Then::Reduce {
                        reduce,
                        key_order: Vec::new(),
                    },
                );
            }
            Plan::Gather(spec) => self.start_gather(conn, origin, spec, argv),
            Plan::Server(command) => server::run(self, conn, command, argv),
        }
    }

    /// Runs a keyspace command on this shard's keyspace and traces it.
    fn execute(
        &mut self,
        owner: Option<TxnId>,
        origin: Origin,
        db: usize,
        spec: &'static CommandSpec,
        argv: Vec<Bytes>,
    ) -> Reply {
        let now_us = self.clock.1;
        let Exec::Keyspace { handler, .. } = spec.exec else {
            panic!("execute called for server command {}", spec.name);
        };
        let logged = spec.flags & crate::commands::flags::WRITE != 0 && !self.in_scratch;
        let changes_before = if logged && self.log.is_some() {
            self.keyspace.changes()
        } else {
            0
        };
        // An atomic operation's writes were admitted when it took its locks
        // (see `atomic::step`): refusing one of them now would apply the
        // operation in part. Its records wait in the log for the retry.
        let admitted = owner.is_some() && !self.faults.misconf_per_part;
        if logged && !admitted {
            if let Some(error) = self.log.as_ref().and_then(|l| l.error()) {
                // As Redis: writes stop while the AOF cannot be written.
                let reply = Reply::error_string(durability::misconf(error));
                // Traced like any execution (it ran no handler), so the
                // simulator sees every part of a command answered.
                self.platform.trace(TraceEvent::Executed {
                    origin,
                    db,
                    argv: &argv,
                    reply: &reply,
                });
                return reply;
            }
        }
        let mut ctx = Ctx {
            keyspace: &mut self.keyspace,
            db_index: db,
            now_ms: now_us / 1000,
            now_us,
            rng: &mut self.rng,
            shard_index: self.index,
            shard_count: self.slots.shard_count(),
            proto_max_bulk_len: self.config.proto_max_bulk_len,
            loading: false,
        };
        let mut args = Args::new(argv);
        let reply = handler(&mut ctx, &mut args).unwrap_or_else(Reply::from);
        // A write is logged when it succeeded, or when it failed after
        // changing something (as Redis propagates by `dirty`, not by reply).
        if logged
            && self.log.is_some()
            && (!reply.is_error() || self.keyspace.changes() != changes_before)
        {
            // Keys the command found expired are deleted before its record.
            self.log_expired();
            if let Some(log) = self.log.as_mut() {
                let tag = owner.map(|o| (o.conn, o.serial));
                let now_ms = now_us / 1000;
                let failed = reply.is_error();
                let form = match (persist::logged_form(spec, args.argv(), &reply), args.argv()) {
                    // now_ms 0: sees the key whether or not its time is up.
                    (persist::LoggedForm::Same, [_, key, ..])
                        if persist::may_delete_at_once(spec)
                            && self.keyspace.db(db).get(key, 0).is_none() =>
                    {
                        persist::LoggedForm::Instead(vec![Bytes::from_static(b"DEL"), key.clone()])
                    }
                    (form, _) => form,
                };
                match form {
                    persist::LoggedForm::Same => {
                        log.record_outcome(self.epoch, now_ms, db, tag, args.argv(), failed);
                    }
                    persist::LoggedForm::Instead(argv) => {
                        log.record_outcome(self.epoch, now_ms, db, tag, &argv, failed);
                    }
                    persist::LoggedForm::Nothing => {}
                }
            }
        }
        self.platform.trace(TraceEvent::Executed {
            origin,
            db,
            argv: args.argv(),
            reply: &reply,
        });
        reply
    }

    /// Sends `first`, and every queued command right behind it bound for the
    /// same shard, as one batch.
    fn forward_batch(&mut self, conn: ConnId, shard: usize, first: Forwarded) {
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut batch = vec![first];
        // Inside an atomic operation the next commands are not the
        // pipeline's: they belong after it, so nothing joins the batch.
        let batch_max = if connection.atomic.is_some() {
            1
        } else {
            limits::FORWARD_BATCH_MAX
        };
        while batch.len() < batch_max {
            match connection.queue.front() {
                Some(Queued {
                    plan: Plan::Remote(next, _),
                    ..
                }) if *next == shard => {}
                _ => break,
            }
            let Some(Queued {
                origin,
                argv,
                plan: Plan::Remote(_, spec),
            }) = connection.queue.pop_front()
            else {
                unreachable!("front was just matched as Remote");
            };
            batch.push(Forwarded { origin, spec, argv });
        }
        if self.faults.drop_forwarded && batch.len() > 1 {
            batch.pop();
        }
        self.start_wait(conn, vec![(shard, Request::Execute(batch))], Then::Batch);
    }

    /// This shard's counters.
    pub fn stats(&self) -> ShardStats {
        let dbs = self.keyspace.dbs();
        let db_stats = dbs.iter().map(|db| db.stats());
        ShardStats {
            keys: dbs.iter().map(|db| db.len() as u64).collect(),
            expires: dbs.iter().map(|db| db.expires_len() as u64).collect(),
            connected_clients: (self.conns.len() - usize::from(self.internal.is_some())) as u64,
            total_connections_received: self.counters.total_connections_received,
            total_commands_processed: self.counters.total_commands_processed,
            total_net_input_bytes: self.counters.total_net_input_bytes,
            total_net_output_bytes: self.counters.total_net_output_bytes,
            keyspace_hits: db_stats.clone().map(|s| s.keyspace_hits).sum(),
            keyspace_misses: db_stats.clone().map(|s| s.keyspace_misses).sum(),
            expired_keys: db_stats.map(|s| s.expired_keys).sum(),
            used_memory: dbs.iter().map(|db| db.heap_bytes() as u64).sum(),
            aof_current_size: self
                .log
                .as_ref()
                .map_or(0, persist::aof::ShardLog::total_size),
            aof_base_size: self.aof_base_size,
            aof_buffer_length: self.log.as_ref().map_or(0, |l| l.buffered_len() as u64),
            aof_write_errors: u64::from(self.log.as_ref().is_some_and(|l| l.error().is_some())),
            aof_rewrites: self.aof_rewrites,
            saves: self.saves,
            bgsave_in_progress: u64::from(matches!(
                self.job_kind(),
                Some(message::JobId::Save { .. })
            )),
            aof_rewrite_scheduled: u64::from(self.rewrite_scheduled),
            changes_since_save: self.keyspace.changes().saturating_sub(self.changes_at_save),
            aof_rewrite_in_progress: u64::from(matches!(
                self.job_kind(),
                Some(message::JobId::AofRewrite { .. })
            )),
        }
    }
}
