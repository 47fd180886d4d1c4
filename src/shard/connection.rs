//! One client connection as its home shard sees it: input and output
//! buffers, the parsed-command queue, protocol and database, and the
//! cross-shard wait it may be in.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::message::{ConnId, Origin, Response};
use super::plan::Plan;
use crate::commands::{CommandSpec, Reduce};
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
    pub protocol: Protocol,
    pub db: usize,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_version: Option<Bytes>,
    pub waiting: Option<Waiting>,
    pub next_wait: u64,
    pub next_seq: u64,
    /// Set after QUIT or a protocol error: flush the output, then close.
    pub closing: bool,
    /// The input stream ended with a protocol error; parse no more.
    pub input_poisoned: bool,
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
            protocol: Protocol::Resp2,
            db: 0,
            name: None,
            lib_name: None,
            lib_version: None,
            waiting: None,
            next_wait: 0,
            next_seq: 0,
            closing: false,
            input_poisoned: false,
            in_ready_list: false,
            created_us: now_us,
            last_command_us: now_us,
            last_command: "NULL",
        }
    }

    /// Appends a reply in this connection's protocol.
    pub fn write(&mut self, reply: &Reply) {
        reply.encode(self.protocol, &mut self.output);
    }
}
