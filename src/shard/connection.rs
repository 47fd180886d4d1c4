//! One client connection as its home shard sees it: input and output
//! buffers, the parsed-command queue, protocol and database, and the
//! cross-shard wait it may be in.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::locks::{LockSet, TxnId};
use super::message::{ConnId, Origin, Response};
use super::plan::Plan;
use crate::commands::{CommandSpec, Reduce};
use crate::limits;
use crate::resp::{Parser, Protocol, Reply};

/// A parsed command waiting its turn.
#[derive(Debug)]
pub(crate) struct Queued {
    pub origin: Origin,
    pub argv: Vec<Bytes>,
    pub plan: Plan,
}

/// What to do once every part of a wait has answered.
#[derive(Debug)]
pub(crate) enum Then {
    /// Write each reply of the single `Replies` part, in order.
    Batch,
    /// Reduce the parts' replies into one.
    Reduce {
        reduce: Reduce,
        key_order: Vec<(usize, usize)>,
    },
    /// Entries fetched: run the command over them here, then store back.
    Gathered {
        origin: Origin,
        spec: &'static CommandSpec,
        argv: Vec<Bytes>,
        keys_per_part: Vec<Vec<Bytes>>,
    },
    /// Stores acknowledged: write this reply.
    Stored { reply: Reply },
    /// Server-wide query answered: the shard layer finishes it.
    Server(ServerThen),
    /// One shard granted its share of the connection's atomic operation.
    Locked,
    /// WATCH: each part's versions, for the keys sent to that part's shard.
    Watched {
        db: usize,
        keys: Vec<(usize, Vec<Bytes>)>,
    },
}

/// Between MULTI and EXEC: the queued commands.
#[derive(Debug, Default)]
pub(crate) struct MultiState {
    pub queued: Vec<Queued>,
    /// A command failed to queue: EXEC must abort (EXECABORT).
    pub failed: bool,
}

/// A key the connection WATCHes, with the version it had then.
#[derive(Clone, Debug)]
pub(crate) struct WatchedKey {
    pub shard: usize,
    pub db: usize,
    pub key: Bytes,
    pub version: u64,
}

/// What an atomic operation runs once its locks are held.
#[derive(Debug)]
pub(crate) enum AtomicBody {
    /// One multi-shard command; `None` once it has been started.
    Command(Option<Queued>),
    /// EXEC: the commands still to run, and the replies so far.
    Exec {
        remaining: VecDeque<Queued>,
        replies: Vec<Reply>,
    },
}

/// A multi-shard command or an EXEC, running under key locks taken shard
/// by shard in ascending index (see `locks`).
#[derive(Debug)]
pub(crate) struct Atomic {
    pub owner: TxnId,
    /// (shard, what to lock there), in ascending shard order.
    pub locks: Vec<(usize, LockSet)>,
    /// How many of `locks` have been granted.
    pub granted: usize,
    /// A watched key changed: EXEC replies with a null array.
    pub watch_failed: bool,
    /// Planted bug `release_early` already released the first shard.
    pub released_early: bool,
    /// Some command of the body may write: its end is logged as a commit.
    pub writes: bool,
    /// The first AOF error a participating shard reported when it granted
    /// its lock (or the home shard had when the last one was granted): an
    /// operation that writes is then refused whole, before it runs.
    pub disk_error: Option<String>,
    /// Every lock is held and the body was admitted to run.
    pub started: bool,
    pub body: AtomicBody,
}

impl Atomic {
    /// True once every lock is held and the body may run.
    pub fn all_granted(&self) -> bool {
        self.granted == self.locks.len()
    }
}

/// Server commands that wait on every shard.
#[derive(Debug)]
pub(crate) enum ServerThen {
    /// INFO with the requested sections.
    Info { sections: Vec<String> },
    /// CLIENT LIST.
    ClientList,
    /// Reply `+OK` once every shard is done (CONFIG SET, RESETSTAT).
    AllOk,
    /// BGSAVE / BGREWRITEAOF: every shard started its part (or refused).
    JobStarted { job: super::message::JobId },
    /// A job abandoned on every shard: write `reply`.
    JobAbandoned { reply: crate::resp::Reply },
    /// SAVE: every shard wrote its snapshot; write the manifest.
    Saved { created_ms: u64 },
}

/// A connection's outstanding cross-shard work. While it exists, no later
/// command of the connection starts: commands execute in program order.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub wait: u64,
    pub parts: Vec<Option<Response>>,
    pub parts_left: usize,
    pub then: Then,
}

/// Per-connection state.
#[derive(Debug)]
pub(crate) struct Connection {
    pub id: ConnId,
    pub peer: String,
    pub query: BytesMut,
    pub parser: Parser,
    pub queue: VecDeque<Queued>,
    pub output: BytesMut,
    /// Replies not yet encoded because the output buffer is full: they are
    /// encoded as the socket drains it. Replies share stored values'
    /// `Bytes`, so holding them costs little.
    pub held: VecDeque<Reply>,
    pub protocol: Protocol,
    pub db: usize,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_version: Option<Bytes>,
    pub waiting: Option<Waiting>,
    pub next_wait: u64,
    pub multi: Option<MultiState>,
    pub watched: Vec<WatchedKey>,
    pub atomic: Option<Atomic>,
    pub next_txn: u64,
    pub next_seq: u64,
    /// Set after QUIT or a protocol error: flush the output, then close.
    pub closing: bool,
    /// The input stream ended with a protocol error; parse no more.
    pub input_poisoned: bool,
    /// The client is gone, but the atomic operation it had started (EXEC or
    /// a multi-shard command) must still finish, all or nothing, as Redis
    /// runs an EXEC it has read even if the client then disconnects. Its
    /// replies are discarded; it is dropped when the operation ends.
    pub detached: bool,
    /// In the shard's ready list already.
    pub in_ready_list: bool,
    pub created_us: u64,
    pub last_command_us: u64,
    pub last_command: &'static str,
}

impl Connection {
    pub fn new(id: ConnId, peer: String, now_us: u64) -> Connection {
        Connection {
            id,
            peer,
            query: BytesMut::new(),
            parser: Parser::new(),
            queue: VecDeque::new(),
            output: BytesMut::new(),
            held: VecDeque::new(),
            protocol: Protocol::Resp2,
            db: 0,
            name: None,
            lib_name: None,
            lib_version: None,
            waiting: None,
            next_wait: 0,
            multi: None,
            watched: Vec::new(),
            atomic: None,
            next_txn: 0,
            next_seq: 0,
            closing: false,
            input_poisoned: false,
            detached: false,
            in_ready_list: false,
            created_us: now_us,
            last_command_us: now_us,
            last_command: "NULL",
        }
    }

    /// Appends a reply in this connection's protocol — or holds it, in
    /// order, while the output buffer is over its limit.
    pub fn write(&mut self, reply: &Reply) {
        if self.held.is_empty() && self.output.len() < limits::OUTPUT_PAUSE_BYTES {
            reply.encode(self.protocol, &mut self.output);
        } else {
            self.held.push_back(reply.clone());
        }
    }

    /// Encodes held replies while the output buffer has room.
    pub fn encode_held(&mut self) {
        while self.output.len() < limits::OUTPUT_PAUSE_BYTES {
            let Some(reply) = self.held.pop_front() else {
                break;
            };
            reply.encode(self.protocol, &mut self.output);
        }
    }

    /// True while commands are in flight or queued: reading more would only
    /// pile input up.
    pub fn is_busy(&self) -> bool {
        self.waiting.is_some()
            || self.atomic.is_some()
            || !self.queue.is_empty()
            || !self.held.is_empty()
    }
}
