//! The simulator: every shard of a server, and its clients, on one thread,
//! driven event by event from one seed.
//!
//! Each event the world schedules is carried out here: a client writes a
//! chunk of its pending bytes into its home shard (`handle_input`), a client
//! reads part of its output (`output` / `consume_output`), a shard-channel
//! message arrives (`handle_message`), a shard timer fires (`handle_timer`).
//! After each event the simulator drains the executions the shards traced
//! and checks them against the client model and the serial model, asks the
//! shard which connections have output (`take_ready`) so their clients get
//! a read scheduled, and re-arms the shard's timer.
//!
//! A run ends cleanly when no client has anything left to do and no message
//! is in flight (only timers remain). Then every command still on an open
//! connection must have been answered, and every shard's contents must
//! equal the serial model's keys for that shard.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use corekv::commands::Table;
use corekv::config::Config;
use corekv::limits;
use corekv::resp::frame::parse_frame;
use corekv::resp::Reply;
use corekv::shard::{ConnId, Faults, ServerInfo, Shard};
use corekv::slot::SlotMap;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::check::{expected_reply, show_expected, ExpectedReply, Failure, Part, Property};
use crate::client::{Client, Connection};
use crate::model::Model;
use crate::streams::{self, Stream};
use crate::swarm::{Chunking, Swarm};
use crate::trace::{show_argv, show_bytes, show_reply, TraceMode};
use crate::workload::{self, Expect, GenCtx, KeyUniverse, Workload};
use crate::world::{EventKind, Execution, SimPlatform, World, CHANNEL_MESSAGES_MAX};

/// The largest output buffer a connection may hold: the pause threshold plus
/// one reply's worth (the workload's replies are small).
pub const OUTPUT_BYTES_MAX: usize = limits::OUTPUT_PAUSE_BYTES + (1 << 20);

/// Events per generated command before a run counts as livelocked.
const EVENTS_PER_COMMAND_MAX: u64 = 2_000;

/// What a run simulates (everything else is drawn from the seed).
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Number of shards.
    pub shards: usize,
    /// Number of concurrent clients.
    pub clients: usize,
    /// Commands generated per seed, over all clients.
    pub ops: u64,
    /// Planted bugs (see `corekv::shard::Faults`).
    pub faults: Faults,
    /// Include gathered cross-shard commands (and drop fan-out commands).
    pub gather: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            shards: 4,
            clients: 8,
            ops: 2000,
            faults: Faults::default(),
            gather: false,
        }
    }
}

/// Counts of what a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Commands generated and sent.
    pub commands: u64,
    /// Replies received and checked.
    pub replies: u64,
    /// Executions traced and replayed.
    pub executions: u64,
    /// Events carried out.
    pub events: u64,
    /// Shard-channel messages sent.
    pub messages: u64,
    /// Virtual time at the end (µs).
    pub virtual_time_us: u64,
}

/// One seed's simulation.
pub struct Sim {
    swarm: Swarm,
    world: Rc<RefCell<World>>,
    shards: Vec<Shard<SimPlatform>>,
    timer_at_us: Vec<u64>,
    clients: Vec<Client>,
    connections: Vec<Connection>,
    by_conn_id: BTreeMap<ConnId, usize>,
    model: Model,
    table: Table,
    slots: SlotMap,
    workload: Workload,
    keys: KeyUniverse,
    network: ChaCha8Rng,
    databases: usize,
    next_home: usize,
    ready: Vec<ConnId>,
    encoded: BytesMut,
    events_max: u64,
    /// What the run did so far.
    pub stats: Stats,
    failure: Option<Failure>,
}

impl Sim {
    /// Builds the run of `seed`: draws its swarm parameters and workload,
    /// starts the shards and places the clients.
    pub fn new(seed: u64, config: &SimConfig, mode: TraceMode) -> Sim {
        assert!(config.shards >= 1 && config.clients >= 1);
        let swarm = Swarm::draw(&mut streams::rng(seed, Stream::Swarm));
        let table = Table::new();
        let workload = Workload::new(
            &table,
            &mut streams::rng(seed, Stream::Swarm),
            config.gather,
        );
        let world = Rc::new(RefCell::new(World::new(seed, config.shards, &swarm, mode)));
        let server_config = Config::default();
        let shards: Vec<Shard<SimPlatform>> = (0..config.shards)
            .map(|index| {
                let platform = SimPlatform::new(index, Rc::clone(&world));
                let mut shard = Shard::new(
                    index,
                    config.shards,
                    server_config.clone(),
                    ServerInfo::default(),
                    platform,
                );
                shard.set_faults(config.faults);
                shard
            })
            .collect();
        let mut network = streams::rng(seed, Stream::Network);
        let clients = (0..config.clients)
            .map(|index| Client {
                rng: streams::rng(seed, Stream::Workload(index)),
                connection: None,
                budget: config.ops / config.clients as u64
                    + u64::from((index as u64) < config.ops % config.clients as u64),
                write_scheduled: false,
                scan_cursor: Bytes::from_static(b"0"),
                quit_at_end: network.gen_bool(0.2),
            })
            .collect();
        world.borrow_mut().recorder.line(|| {
            format!(
                "seed {seed}: {} shards, {} clients, {} ops, {swarm:?}, commands [{}]",
                config.shards,
                config.clients,
                config.ops,
                workload.commands().collect::<Vec<_>>().join(" ")
            )
        });
        Sim {
            timer_at_us: vec![u64::MAX; config.shards],
            model: Model::new(
                config.shards,
                server_config.databases,
                server_config.proto_max_bulk_len,
            ),
            keys: KeyUniverse::new(&swarm),
            slots: SlotMap::new(config.shards),
            databases: server_config.databases,
            events_max: (config.ops + 1) * EVENTS_PER_COMMAND_MAX,
            swarm,
            world,
            shards,
            clients,
            connections: Vec::new(),
            by_conn_id: BTreeMap::new(),
            table,
            workload,
            network,
            next_home: 0,
            ready: Vec::new(),
            encoded: BytesMut::new(),
            stats: Stats::default(),
            failure: None,
        }
    }

    /// The trace hash so far.
    pub fn trace_hash(&self) -> u64 {
        self.world.borrow().recorder.hash.value()
    }

    /// The readable trace lines kept so far (ring mode).
    pub fn take_trace_lines(&mut self) -> Vec<String> {
        self.world.borrow_mut().recorder.take_lines()
    }

    /// Virtual time now (µs).
    pub fn now_us(&self) -> u64 {
        self.world.borrow().now_us
    }

    fn fail(&mut self, property: Property, message: String) {
        if self.failure.is_none() {
            let now_us = self.now_us();
            let failure = Failure {
                property,
                message,
                event: self.stats.events,
                time_us: now_us,
            };
            let text = failure.to_string();
            self.world
                .borrow_mut()
                .recorder
                .line(|| format!("{now_us:>10} FAILURE {text}"));
            self.failure = Some(failure);
        }
    }

    fn line(&self, build: impl FnOnce() -> String) {
        let mut world = self.world.borrow_mut();
        if world.recorder.lines_enabled() {
            let now_us = world.now_us;
            world.recorder.line(|| format!("{now_us:>10} {}", build()));
        }
    }

    fn schedule(&mut self, kind: EventKind, delay_us: u64) {
        self.world.borrow_mut().schedule(kind, delay_us);
    }

    /// Runs the seed to its end; the first property violation found, if any.
    pub fn run(&mut self) -> Option<Failure> {
        for shard in 0..self.shards.len() {
            self.rearm_timer(shard);
        }
        for client in 0..self.clients.len() {
            let delay_us = self.network.gen_range(0..100);
            self.clients[client].write_scheduled = true;
            self.schedule(EventKind::ClientWrite(client), delay_us);
        }
        while self.failure.is_none() {
            let event = {
                let mut world = self.world.borrow_mut();
                if world.pending_work() == 0 {
                    break;
                }
                let Some(event) = world.pop() else { break };
                hash_event(&mut world, event);
                event
            };
            self.stats.events += 1;
            if self.stats.events > self.events_max {
                let message = format!("no end after {} events", self.stats.events);
                self.fail(Property::Liveness, message);
                break;
            }
            match event {
                EventKind::ClientWrite(client) => self.client_write(client),
                EventKind::ClientRead(connection) => self.client_read(connection),
                EventKind::Deliver { from, to } => self.deliver(from, to),
                EventKind::Timer(shard) => self.timer(shard),
            }
        }
        if self.failure.is_none() {
            self.final_checks();
        }
        let world = self.world.borrow();
        self.stats.messages = world.messages_sent;
        self.stats.virtual_time_us = world.now_us;
        drop(world);
        self.failure.clone()
    }

    // ----- events -----

    fn deliver(&mut self, from: usize, to: usize) {
        let message = self.world.borrow_mut().take_message(from, to);
        let Some(message) = message else {
            self.fail(
                Property::Liveness,
                format!("a delivery on {from}->{to} found the channel empty"),
            );
            return;
        };
        self.line(|| format!("deliver {from}->{to}"));
        self.shards[to].handle_message(message);
        self.after_step(to);
    }

    fn timer(&mut self, shard: usize) {
        if self.timer_at_us[shard] != self.now_us() {
            return; // re-armed since: a stale event
        }
        self.timer_at_us[shard] = u64::MAX;
        self.line(|| format!("timer   shard {shard}"));
        self.shards[shard].handle_timer();
        self.after_step(shard);
    }

    fn rearm_timer(&mut self, shard: usize) {
        let at_us = self.shards[shard].poll_timeout_us();
        if self.timer_at_us[shard] != at_us {
            self.timer_at_us[shard] = at_us.max(self.now_us());
            self.world.borrow_mut().schedule_timer(shard, at_us);
        }
    }

    fn connect(&mut self, client: usize) -> usize {
        let home = self.next_home % self.shards.len();
        self.next_home += 1;
        let id = self.shards[home].handle_connect(format!("10.0.0.1:{}", 10_000 + client));
        let depth = self.network.gen_range(1..=self.swarm.pipeline_depth_max);
        let index = self.connections.len();
        self.connections
            .push(Connection::new(id, client, home, depth));
        if self.by_conn_id.insert(id, index).is_some() {
            self.fail(
                Property::ReplyOrder,
                format!("connection id {id} handed out twice"),
            );
        }
        self.clients[client].connection = Some(index);
        self.line(|| {
            format!("connect client {client} -> conn {id} on shard {home}, pipeline {depth}")
        });
        self.after_step(home);
        index
    }

    fn disconnect(&mut self, index: usize) {
        let connection = &mut self.connections[index];
        connection.open = false;
        let (id, home, client) = (connection.id, connection.home, connection.client);
        if self.clients[client].connection == Some(index) {
            self.clients[client].connection = None;
        }
        self.line(|| format!("disconnect conn {id}"));
        self.shards[home].handle_disconnect(id);
        self.after_step(home);
    }

    fn think_us(&mut self) -> u64 {
        if self.swarm.long_pause_probability > 0.0
            && self.network.gen_bool(self.swarm.long_pause_probability)
        {
            self.network.gen_range(0..=self.swarm.long_pause_us_max)
        } else {
            self.network.gen_range(0..=self.swarm.think_us_max)
        }
    }

    fn wake_writer(&mut self, client: usize) {
        if !self.clients[client].write_scheduled {
            self.clients[client].write_scheduled = true;
            let delay_us = self.think_us();
            self.schedule(EventKind::ClientWrite(client), delay_us);
        }
    }

    /// True if `client` has anything to write now or later without waiting for a reply.
    fn wants_to_write(&self, client: usize) -> bool {
        let state = &self.clients[client];
        match state.connection {
            None => state.budget > 0,
            Some(index) => {
                let connection = &self.connections[index];
                !connection.unwritten().is_empty()
                    || (connection.can_generate() && (state.budget > 0 || state.quit_at_end))
            }
        }
    }

    fn client_write(&mut self, client: usize) {
        self.clients[client].write_scheduled = false;
        let index = match self.clients[client].connection {
            Some(index) => index,
            None if self.clients[client].budget > 0 => self.connect(client),
            None => return,
        };
        let (id, home) = (self.connections[index].id, self.connections[index].home);
        let mid_pipeline = self.connections[index].in_flight() > 0;
        if mid_pipeline
            && self.swarm.disconnect_probability > 0.0
            && self.network.gen_bool(self.swarm.disconnect_probability)
        {
            self.disconnect(index);
            if self.clients[client].budget > 0 {
                self.wake_writer(client);
            }
            return;
        }
        if self.connections[index].unwritten().is_empty() {
            self.generate(client, index);
        }
        let pending = self.connections[index].unwritten().len();
        if pending > 0 {
            if !self.shards[home].wants_input(id) {
                self.line(|| format!("conn {id} not read (backpressure)"));
                self.wake_writer(client);
                return;
            }
            let count = self.chunk_len(pending);
            let now_us = self.now_us();
            let connection = &mut self.connections[index];
            {
                let chunk = &connection.unwritten()[..count];
                let mut world = self.world.borrow_mut();
                world.recorder.hash.word(id);
                world.recorder.hash.bytes(chunk);
                world
                    .recorder
                    .line(|| format!("{now_us:>10} write   conn {id}: \"{}\"", show_bytes(chunk)));
            }
            self.shards[home].handle_input(id, &connection.unwritten()[..count]);
            connection.wrote(count, now_us);
            self.after_step(home);
        }
        if self.wants_to_write(client) {
            self.wake_writer(client);
        }
    }

    fn chunk_len(&mut self, pending: usize) -> usize {
        match self.swarm.chunking {
            Chunking::Whole => pending,
            Chunking::Random => self.network.gen_range(1..=pending),
            Chunking::Tiny if self.network.gen_bool(0.8) => {
                self.network.gen_range(1..=3).min(pending)
            }
            Chunking::Tiny => self.network.gen_range(1..=pending),
        }
    }

    /// Generates a burst of commands into the connection's pending bytes.
    fn generate(&mut self, client: usize, index: usize) {
        let Sim {
            clients,
            connections,
            workload,
            keys,
            swarm,
            databases,
            stats,
            ..
        } = self;
        let state = &mut clients[client];
        let connection = &mut connections[index];
        if !connection.can_generate() {
            return;
        }
        let room = connection.pipeline_depth - connection.in_flight();
        let burst = state.rng.gen_range(1..=room);
        for _ in 0..burst {
            if state.budget == 0 {
                if state.quit_at_end && !connection.quit_sent {
                    connection.push(workload::quit());
                    stats.commands += 1;
                }
                break;
            }
            state.budget -= 1;
            let mut ctx = GenCtx {
                rng: &mut state.rng,
                keys,
                swarm,
                databases: *databases,
                client,
                scan_cursor: &state.scan_cursor,
            };
            let generated = workload.generate(&mut ctx);
            connection.push(generated);
            stats.commands += 1;
        }
    }

    fn client_read(&mut self, index: usize) {
        self.connections[index].read_scheduled = false;
        if !self.connections[index].open {
            return;
        }
        let (id, home, client) = {
            let c = &self.connections[index];
            (c.id, c.home, c.client)
        };
        let available = self.shards[home].output(id).len();
        if available > 0 {
            let count = if self.swarm.partial_read_probability > 0.0
                && self.network.gen_bool(self.swarm.partial_read_probability)
            {
                self.network.gen_range(1..=available)
            } else {
                available
            };
            let bytes = &self.shards[home].output(id)[..count];
            {
                let mut world = self.world.borrow_mut();
                world.recorder.hash.word(id);
                world.recorder.hash.bytes(bytes);
            }
            self.connections[index].input.extend_from_slice(bytes);
            self.shards[home].consume_output(id, count);
            self.parse_replies(index);
            self.after_step(home);
            if self.failure.is_some() {
                return;
            }
        }
        if self.shards[home].should_close(id) {
            if !self.connections[index].quit_sent {
                self.fail(
                    Property::ReplyOrder,
                    format!("the server closed conn {id}, which never sent QUIT"),
                );
            }
            self.disconnect(index);
            return;
        }
        if !self.shards[home].output(id).is_empty() {
            self.schedule_read(index);
        }
        if self.clients[client].connection == Some(index) && self.wants_to_write(client) {
            self.wake_writer(client);
        }
    }

    fn schedule_read(&mut self, index: usize) {
        if !self.connections[index].read_scheduled {
            self.connections[index].read_scheduled = true;
            let delay_us = self.network.gen_range(0..=self.swarm.read_delay_us_max);
            self.schedule(EventKind::ClientRead(index), delay_us);
        }
    }

    /// Parses every complete reply in the connection's input and checks it.
    fn parse_replies(&mut self, index: usize) {
        let input = std::mem::take(&mut self.connections[index].input);
        let mut consumed = 0;
        while self.failure.is_none() {
            match parse_frame(&input[consumed..]) {
                Ok(Some((reply, length))) => {
                    self.check_reply(index, &input[consumed..consumed + length], reply);
                    consumed += length;
                }
                Ok(None) => break,
                Err(error) => {
                    let id = self.connections[index].id;
                    self.fail(
                        Property::ReplyOrder,
                        format!("conn {id} received a malformed reply: {error}"),
                    );
                    break;
                }
            }
        }
        let connection = &mut self.connections[index];
        connection.input = input;
        connection.input.drain(..consumed);
    }

    /// P1: the reply read next on a connection answers the command sent next.
    fn check_reply(&mut self, index: usize, bytes: &[u8], reply: Reply) {
        self.stats.replies += 1;
        let connection = &self.connections[index];
        let (id, seq) = (connection.id, connection.next_reply);
        self.line(|| format!("reply   conn {id} #{seq}: {}", show_reply(&reply)));
        let Some(command) = connection.sent.get(seq) else {
            let message = format!(
                "conn {id} received {} after all {} commands sent were answered",
                show_reply(&reply),
                connection.sent.len()
            );
            return self.fail(Property::ReplyOrder, message);
        };
        let expected = match &command.expect {
            Expect::Trace if command.executions.is_empty() => {
                Err("it has not executed anywhere".to_string())
            }
            Expect::Trace => match self.table.lookup(&command.argv[0]) {
                Some(spec) => expected_reply(spec, &self.slots, &command.argv, &command.executions),
                None => Err("the command is unknown".to_string()),
            },
            _ if !command.executions.is_empty() => {
                Err("it ran a keyspace handler, which it should not".to_string())
            }
            Expect::Exact(reply) => Ok(ExpectedReply::Exact(reply.clone())),
            Expect::Error if reply.is_error() => Ok(ExpectedReply::Exact(reply.clone())),
            Expect::Error => Err("an error was expected".to_string()),
        };
        let verdict = expected.and_then(|expected| {
            let protocol = command.protocol;
            let mut encodes = |r: &Reply| {
                self.encoded.clear();
                r.encode(protocol, &mut self.encoded);
                self.encoded[..] == *bytes
            };
            let matches = match &expected {
                ExpectedReply::Exact(r) => encodes(r),
                ExpectedReply::OneOf(rs) => rs.iter().any(encodes),
            };
            if matches {
                Ok(())
            } else {
                Err(format!("expected {}", show_expected(&expected)))
            }
        });
        if let Err(why) = verdict {
            let message = format!(
                "conn {id} reply #{seq} is {} but command #{seq} is {}: {why}",
                show_reply(&reply),
                show_argv(&command.argv)
            );
            return self.fail(Property::ReplyOrder, message);
        }
        let is_scan = command.argv[0].eq_ignore_ascii_case(b"scan");
        let connection = &mut self.connections[index];
        connection.sent[seq].replied = true;
        connection.next_reply += 1;
        if is_scan {
            if let Reply::Array(parts) = &reply {
                if let Some(Reply::Bulk(cursor)) = parts.first() {
                    self.clients[connection.client].scan_cursor = cursor.clone();
                }
            }
        }
    }

    // ----- after every step -----

    fn after_step(&mut self, shard: usize) {
        let executions = std::mem::take(&mut self.world.borrow_mut().executions);
        for execution in executions {
            if self.failure.is_some() {
                break;
            }
            self.on_execution(execution);
        }
        let mut ready = std::mem::take(&mut self.ready);
        self.shards[shard].take_ready(&mut ready);
        for id in ready.drain(..) {
            let output_bytes = self.shards[shard].output(id).len();
            if output_bytes > OUTPUT_BYTES_MAX {
                self.fail(
                    Property::Bounded,
                    format!("conn {id} holds {output_bytes} bytes of output"),
                );
            }
            match self.by_conn_id.get(&id) {
                Some(&index) if self.connections[index].open => self.schedule_read(index),
                Some(_) => {}
                None => self.fail(
                    Property::ReplyOrder,
                    format!("shard {shard} has output for unknown conn {id}"),
                ),
            }
        }
        self.ready = ready;
        self.rearm_timer(shard);
        let channel_len_max = self.world.borrow().channel_len_max;
        if channel_len_max > CHANNEL_MESSAGES_MAX {
            self.fail(
                Property::Bounded,
                format!("a shard channel holds {channel_len_max} messages"),
            );
        }
    }

    /// Checks one traced execution against the client model and replays it
    /// on the serial model (P2).
    fn on_execution(&mut self, mut execution: Execution) {
        self.stats.executions += 1;
        {
            let mut world = self.world.borrow_mut();
            let hash = &mut world.recorder.hash;
            hash.word(execution.shard as u64);
            hash.word(execution.origin.conn);
            hash.word(execution.origin.seq);
            hash.word(execution.db as u64);
            hash.argv(&execution.argv);
            hash.reply(&execution.reply);
        }
        let Execution {
            shard, origin, db, ..
        } = execution;
        let Some(&index) = self.by_conn_id.get(&origin.conn) else {
            let message = format!(
                "shard {shard} executed a command of unknown conn {}",
                origin.conn
            );
            return self.fail(Property::ProgramOrder, message);
        };
        let connection = &mut self.connections[index];
        let Some(command) = connection.sent.get(origin.seq as usize) else {
            let message = format!(
                "shard {shard} executed #{} of conn {}, which sent only {} commands",
                origin.seq,
                origin.conn,
                connection.sent.len()
            );
            return self.fail(Property::ProgramOrder, message);
        };
        // Built only for a failure message.
        let what = || {
            format!(
                "#{} {} of conn {}",
                origin.seq,
                show_argv(&command.argv),
                origin.conn
            )
        };
        let problem = if command.written_at_us.is_none() {
            Some((
                Property::RealTime,
                format!(
                    "shard {shard} executed {} before it was completely sent",
                    what()
                ),
            ))
        } else if command.replied {
            Some((
                Property::RealTime,
                format!("shard {shard} executed {} after its reply was read", what()),
            ))
        } else if let Some(last) = connection.last_executed.filter(|last| origin.seq < *last) {
            Some((
                Property::ProgramOrder,
                format!(
                    "shard {shard} executed {} after #{last} of the same connection",
                    what()
                ),
            ))
        } else if db != command.db {
            Some((
                Property::SerialEquivalence,
                format!(
                    "shard {shard} executed {} in db {db}, but the connection had selected db {}",
                    what(),
                    command.db
                ),
            ))
        } else if command.expect != Expect::Trace
            || !execution.argv[0].eq_ignore_ascii_case(&command.argv[0])
        {
            Some((
                Property::SerialEquivalence,
                format!(
                    "shard {shard} executed {} for {}",
                    show_argv(&execution.argv),
                    what()
                ),
            ))
        } else {
            None
        };
        if let Some((property, message)) = problem {
            return self.fail(property, message);
        }
        connection.last_executed = Some(origin.seq);
        if let Err(why) = self.model.replay(&mut execution) {
            let command = &self.connections[index].sent[origin.seq as usize];
            let what = format!(
                "#{} {} of conn {}",
                origin.seq,
                show_argv(&command.argv),
                origin.conn
            );
            return self.fail(Property::SerialEquivalence, format!("{what}: {why}"));
        }
        self.connections[index].sent[origin.seq as usize]
            .executions
            .push(Part {
                shard,
                reply: execution.reply,
            });
    }

    /// At a clean end: every command on an open connection was answered, and
    /// every shard holds exactly the serial model's keys for it.
    fn final_checks(&mut self) {
        let mut problems = Vec::new();
        for connection in self.connections.iter().filter(|c| c.open) {
            if !connection.unwritten().is_empty() {
                problems.push((
                    Property::Liveness,
                    format!("conn {} ended with unwritten bytes", connection.id),
                ));
            } else if let Some(command) = connection.sent.get(connection.next_reply) {
                problems.push((
                    Property::ReplyOrder,
                    format!(
                        "conn {} never got a reply to #{} {} ({} of {} answered, {} executions)",
                        connection.id,
                        connection.next_reply,
                        show_argv(&command.argv),
                        connection.next_reply,
                        connection.sent.len(),
                        command.executions.len()
                    ),
                ));
            } else if !connection.input.is_empty() {
                problems.push((
                    Property::ReplyOrder,
                    format!("conn {} ended inside a reply", connection.id),
                ));
            }
        }
        let now_ms = self.world.borrow().unix_time_us() / 1000;
        for (index, shard) in self.shards.iter().enumerate() {
            if let Err(why) = self.model.compare_shard(index, shard.keyspace(), now_ms) {
                problems.push((Property::SerialEquivalence, why));
            }
        }
        if let Some((property, message)) = problems.into_iter().next() {
            self.fail(property, message);
        }
    }
}

fn hash_event(world: &mut World, event: EventKind) {
    let now_us = world.now_us;
    let hash = &mut world.recorder.hash;
    hash.word(now_us);
    match event {
        EventKind::ClientWrite(client) => hash.word((1 << 32) | client as u64),
        EventKind::ClientRead(connection) => hash.word((2 << 32) | connection as u64),
        EventKind::Deliver { from, to } => hash.word((3 << 32) | (from << 16 | to) as u64),
        EventKind::Timer(shard) => hash.word((4 << 32) | shard as u64),
    }
}
