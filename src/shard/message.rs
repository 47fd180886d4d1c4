//! Messages between shards.
//!
//! A shard sends a [`Message::Request`] for work it cannot do itself (keys
//! owned elsewhere, whole-keyspace fan-out, server-wide queries) and gets
//! exactly one [`Message::Response`] back per request, carrying the same
//! [`Ticket`]. Channels are FIFO per (sender, receiver) pair, so requests from
//! one connection to one shard run in the order they were sent.

use bytes::Bytes;

use super::locks::{LockSet, TxnId};
use crate::commands::CommandSpec;
use crate::keyspace::Entry;
use crate::resp::Reply;

/// A connection's id: unique across the whole server for its lifetime
/// (CLIENT ID). Never reused.
pub type ConnId = u64;

/// Identifies one client command: the connection and the command's position
/// in that connection's stream (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The connection that sent the command.
    pub conn: ConnId,
    /// The command's index in the connection's command stream.
    pub seq: u64,
}

/// Names the wait a response completes: the connection, which of its waits
/// (waits are numbered per connection), and which part of the wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The waiting connection (on the requesting shard).
    pub conn: ConnId,
    /// The connection's wait number.
    pub wait: u64,
    /// Which part of a multi-part wait this answers.
    pub part: usize,
}

/// One command forwarded for execution.
#[derive(Clone, Debug)]
pub struct Forwarded {
    /// The client command it is (or is a part of).
    pub origin: Origin,
    /// Its declaration (resolved once, on the home shard).
    pub spec: &'static CommandSpec,
    /// The argv to run (a part of the client's argv for split commands).
    pub argv: Vec<Bytes>,
}

/// Work requested of another shard.
#[derive(Debug)]
pub enum Request {
    /// Abandon background job `job` (it could not start on every shard).
    Abandon(JobId),
    /// SAVE: write this shard's snapshot now, created at Unix ms
    /// `created_ms` ([`Response::Snapshotted`]).
    Snapshot {
        /// Creation time recorded in the snapshot (Unix ms).
        created_ms: u64,
    },
    /// Start background job `job` (BGSAVE, BGREWRITEAOF) at this point in
    /// the shard's history; shard `coordinator` gathers the parts
    /// ([`Response::Started`]).
    StartJob {
        /// The job.
        job: JobId,
        /// The shard the part's outcome is reported to.
        coordinator: usize,
    },
    /// Run these commands, in order, in database `db`; answered by
    /// [`Response::Replies`] with one reply per command.
    Execute(Vec<Forwarded>),
    /// Return the live entries of these keys ([`Response::Entries`]).
    Fetch(Vec<Bytes>),
    /// Write these entries (`None` deletes the key); answered by [`Response::Done`].
    Store(Vec<(Bytes, Option<Entry>)>),
    /// Report this shard's counters ([`Response::Stats`]).
    Stats,
    /// Describe this shard's connections, CLIENT LIST style ([`Response::Text`]).
    ClientList,
    /// Apply CONFIG SET parameters ([`Response::Done`]).
    ConfigSet(Vec<(String, String)>),
    /// Reset statistics counters (CONFIG RESETSTAT; [`Response::Done`]).
    ResetStats,
    /// Lock this shard's share of a multi-shard operation's keys for the
    /// request's owner, and check the connection's watched keys and the
    /// AOF here once granted ([`Response::Locked`], sent when granted).
    Lock {
        /// What to lock.
        set: LockSet,
        /// Watched (database, key, version) triples owned by this shard.
        watched: Vec<(usize, Bytes, u64)>,
    },
    /// WATCH these keys of the request's database ([`Response::Versions`]).
    Watch(Vec<Bytes>),
}

/// The answer to a [`Request`].
#[derive(Debug)]
pub enum Response {
    /// What [`Request::Snapshot`] did: the file written, or why not.
    Snapshotted(Result<String, String>),
    /// What [`Request::StartJob`] did: the files the shard's part writes,
    /// or why it could not start.
    Started(Result<JobFiles, String>),
    /// One reply per executed command.
    Replies(Vec<Reply>),
    /// One entry per fetched key (`None` if absent).
    Entries(Vec<Option<Entry>>),
    /// The request was carried out.
    Done,
    /// A shard's counters.
    Stats(ShardStats),
    /// Text (CLIENT LIST lines).
    Text(String),
    /// The lock was granted; `watch_ok` is false if a watched key changed.
    Locked {
        /// The owner the lock was granted to.
        owner: TxnId,
        /// True when no watched key on this shard changed since WATCH.
        watch_ok: bool,
        /// This shard's AOF error when it granted the lock, if its log
        /// could not be written then: an operation that writes is refused
        /// whole (`-MISCONF`), as Redis refuses it before it runs.
        disk_error: Option<String>,
    },
    /// One version per watched key, in request order.
    Versions(Vec<u64>),
}

/// A message on a shard channel.
#[derive(Debug)]
pub enum Message {
    /// Work for the receiving shard.
    Request {
        /// The requesting shard (where the response goes).
        from: usize,
        /// Echoed in the response.
        ticket: Ticket,
        /// The requesting connection's selected database.
        db: usize,
        /// The atomic operation the request belongs to, if any: requests of
        /// a lock owner pass its locks.
        owner: Option<TxnId>,
        /// What to do.
        request: Request,
        /// The sender's epoch (see `crate::persist`).
        epoch: u64,
    },
    /// Release every lock `owner` holds or awaits on the receiving shard
    /// (one-way; FIFO order guarantees the owner's earlier requests ran).
    Release {
        /// The owner whose locks go.
        owner: TxnId,
        /// The sender's epoch (see `crate::persist`).
        epoch: u64,
    },
    /// News of a background job (one-way; see [`Notice`]).
    Background(Notice),
    /// Stop watching these keys (one-way: UNWATCH, EXEC, DISCARD, close).
    Unwatch {
        /// The database.
        db: usize,
        /// The keys, once per watcher.
        keys: Vec<Bytes>,
    },
    /// The answer to an earlier request of the receiving shard.
    Response {
        /// The request's ticket.
        ticket: Ticket,
        /// The answer.
        response: Response,
        /// The sender's epoch (see `crate::persist`).
        epoch: u64,
    },
}

/// A background persistence job spanning every shard (see
/// `shard::background`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobId {
    /// BGREWRITEAOF to AOF generation `generation`.
    AofRewrite {
        /// The new generation.
        generation: u64,
        /// Drawn at random by the coordinator: tells this job from a
        /// refused one with the same generation.
        nonce: u64,
    },
    /// BGSAVE of a snapshot created at Unix ms `created_ms`.
    Save {
        /// The snapshot's creation time (Unix ms), also in its file names.
        created_ms: u64,
        /// Drawn at random by the coordinator (see `AofRewrite`).
        nonce: u64,
    },
}

/// The files a shard's part of a background job writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobFiles {
    /// BGREWRITEAOF: the new generation's base and increment.
    Aof(crate::persist::ShardFiles),
    /// BGSAVE: the snapshot file.
    Dump(String),
}

/// One-way news between shards about a background job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// To the coordinator: shard `shard` wrote its part of `job` (durably),
    /// or failed to.
    PartWritten {
        /// The job.
        job: JobId,
        /// The reporting shard.
        shard: usize,
        /// The files written, or why the part failed.
        result: Result<JobFiles, String>,
    },
    /// To shard 0, which starts the automatic jobs (`save` rules,
    /// `auto-aof-rewrite-*`): shard `shard`'s counters.
    Counters {
        /// The reporting shard.
        shard: usize,
        /// Changes since the last successful save.
        changes: u64,
        /// Bytes of the shard's AOF files (base and increment).
        aof_size: u64,
        /// Bytes they had after the last rewrite, or at start.
        aof_base_size: u64,
    },
    /// From the coordinator: the job is over; `ok` when its manifest now
    /// names the new files (each shard then uses them and removes what
    /// they replace), else every shard drops what the job wrote.
    Finished {
        /// The job.
        job: JobId,
        /// True when the new files count.
        ok: bool,
    },
}

/// Counters one shard reports for INFO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// Keys per database.
    pub keys: Vec<u64>,
    /// Keys with a TTL per database.
    pub expires: Vec<u64>,
    /// Connected clients.
    pub connected_clients: u64,
    /// Connections accepted since start.
    pub total_connections_received: u64,
    /// Commands executed since start.
    pub total_commands_processed: u64,
    /// Bytes read from clients.
    pub total_net_input_bytes: u64,
    /// Bytes written to clients.
    pub total_net_output_bytes: u64,
    /// Read lookups that found a key.
    pub keyspace_hits: u64,
    /// Read lookups that found nothing.
    pub keyspace_misses: u64,
    /// Keys removed by expiry.
    pub expired_keys: u64,
    /// Approximate bytes held by keys and values.
    pub used_memory: u64,
    /// Bytes in the shard's current AOF increment.
    pub aof_current_size: u64,
    /// Bytes the AOF files had after the last rewrite, or at start.
    pub aof_base_size: u64,
    /// Bytes buffered for the AOF, not yet written.
    pub aof_buffer_length: u64,
    /// Shards whose last AOF write or fsync failed.
    pub aof_write_errors: u64,
    /// BGREWRITEAOFs coordinated by the shard.
    pub aof_rewrites: u64,
    /// Snapshots written by the shard.
    pub saves: u64,
    /// Shards writing their part of a BGSAVE.
    pub bgsave_in_progress: u64,
    /// Shards writing their part of a BGREWRITEAOF.
    pub aof_rewrite_in_progress: u64,
    /// Shards with a BGREWRITEAOF scheduled behind a BGSAVE.
    pub aof_rewrite_scheduled: u64,
    /// Changes since the last successful save (`rdb_changes_since_last_save`).
    pub changes_since_save: u64,
}

impl ShardStats {
    /// Adds another shard's counters to these.
    pub fn add(&mut self, other: &ShardStats) {
        let add_vec = |mine: &mut Vec<u64>, theirs: &[u64]| {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        };
        add_vec(&mut self.keys, &other.keys);
        add_vec(&mut self.expires, &other.expires);
        self.connected_clients += other.connected_clients;
        self.total_connections_received += other.total_connections_received;
        self.total_commands_processed += other.total_commands_processed;
        self.total_net_input_bytes += other.total_net_input_bytes;
        self.total_net_output_bytes += other.total_net_output_bytes;
        self.keyspace_hits += other.keyspace_hits;
        self.keyspace_misses += other.keyspace_misses;
        self.expired_keys += other.expired_keys;
        self.used_memory += other.used_memory;
        self.aof_current_size += other.aof_current_size;
        self.aof_base_size += other.aof_base_size;
        self.aof_buffer_length += other.aof_buffer_length;
        self.aof_write_errors += other.aof_write_errors;
        self.aof_rewrites += other.aof_rewrites;
        self.saves = self.saves.max(other.saves);
        self.bgsave_in_progress += other.bgsave_in_progress;
        self.aof_rewrite_in_progress += other.aof_rewrite_in_progress;
        self.aof_rewrite_scheduled += other.aof_rewrite_scheduled;
        self.changes_since_save += other.changes_since_save;
    }
}
