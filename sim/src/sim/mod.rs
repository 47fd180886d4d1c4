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
//! connection must have been answered, every atomic unit begun must have
//! completed (dropped connections' too), and every shard's contents must
//! equal the serial model's keys for that shard.

mod clients;
mod crash;
mod durability;
mod txn;
mod verify;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use corekv::commands::Table;
use corekv::config::Config;
use corekv::limits;
use corekv::persist::Policy;
use corekv::shard::{ConnId, Faults, Shard};
use corekv::slot::SlotMap;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::check::{Failure, Property};
use crate::client::{Client, Connection};
use crate::disk::SimDisk;
use crate::model::Model;
use crate::streams::{self, Stream};
use crate::swarm::{PersistenceSwarm, Swarm};
use crate::trace::{show_argv, TraceMode};
use crate::workload::{GatherMode, KeyUniverse, Workload};
use crate::world::{EventKind, SimPlatform, World, CHANNEL_MESSAGES_MAX};

/// The largest output buffer a connection may hold: the pause threshold plus
/// one reply's worth (the workload's replies are small).
pub const OUTPUT_BYTES_MAX: usize = limits::OUTPUT_PAUSE_BYTES + (1 << 20);

/// Events per generated command before a run counts as livelocked.
const EVENTS_PER_COMMAND_MAX: u64 = 2_000;
/// Keys a shard writes per slice of a background job (BGSAVE,
/// BGREWRITEAOF): few, so client writes land between slices.
const BACKGROUND_SLICE_KEYS: usize = 3;
/// Simulated time one slice of a background job takes (µs).
const BACKGROUND_SLICE_US: u64 = 40;
/// Chance that a wall-clock step goes back rather than ahead.
const CLOCK_STEP_BACK_PROBABILITY: f64 = 0.5;
/// With `SimConfig::clock_back`: the chance, per timer event of shard 0,
/// that the wall clock steps back.
const CLOCK_BACK_PROBABILITY: f64 = 0.3;
/// With `SimConfig::clock_back`: the longest step back (µs), over the one
/// second `everysec` promises.
pub const CLOCK_BACK_STEP_US_MAX: u64 = 3_000_000;

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
    /// Whether gathered commands run across shards.
    pub gather: GatherMode,
    /// How often clients send transaction blocks.
    pub txn: TxnMode,
    /// Persistence: `appendonly`, the fsync policy, and crashes.
    pub aof: AofMode,
    /// Persisting seeds also send BGREWRITEAOF (at a rate drawn per seed).
    /// Off by default so recorded seeds keep their schedules (the CLI's
    /// `--rewrites`; CI's sweep turns it on).
    pub rewrites: bool,
    /// Every seed steps its wall clock back, often and by up to
    /// [`CLOCK_BACK_STEP_US_MAX`] (by default a seed draws whether its
    /// clock steps, how often and how far, ahead or back).
    pub clock_back: bool,
}

/// Whether the simulated server persists, and under which fsync policy
/// (`--aof`). A persisting seed draws disk faults and crashes, and checks
/// P4 after each recovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AofMode {
    /// Drawn per seed: a quarter each of off, always, everysec and no.
    #[default]
    Swarm,
    /// `appendonly no`: no disk, no crash.
    Off,
    /// `appendfsync always`.
    Always,
    /// `appendfsync everysec`.
    EverySec,
    /// `appendfsync no`.
    No,
}

impl AofMode {
    /// The persistence shape of `seed`, if it persists.
    fn draw(self, seed: u64) -> Option<(PersistenceSwarm, ChaCha8Rng)> {
        let mut rng = streams::rng(seed, Stream::Persistence);
        let policy = match self {
            AofMode::Off => return None,
            AofMode::Always => Policy::Always,
            AofMode::EverySec => Policy::EverySec,
            AofMode::No => Policy::No,
            AofMode::Swarm => match rng.gen_range(0..4) {
                0 => return None,
                1 => Policy::Always,
                2 => Policy::EverySec,
                _ => Policy::No,
            },
        };
        let swarm = PersistenceSwarm::draw(&mut rng, Some(policy));
        Some((swarm, rng))
    }
}

/// How often clients send transaction blocks (MULTI/EXEC, WATCH loops,
/// DISCARD, EXECABORT; see `workload::txn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TxnMode {
    /// In a fraction of seeds (drawn per seed), at a drawn rate.
    #[default]
    Swarm,
    /// Never.
    Off,
    /// In every seed, at a high drawn rate.
    Heavy,
}

impl TxnMode {
    /// The chance that a client's next command starts a block, for `seed`.
    fn draw(self, seed: u64) -> f64 {
        let mut rng = streams::rng(seed, Stream::Transactions);
        match self {
            TxnMode::Off => 0.0,
            TxnMode::Swarm if rng.gen_bool(0.6) => 0.0,
            TxnMode::Swarm => [0.02, 0.05, 0.15][rng.gen_range(0..3)],
            TxnMode::Heavy => [0.1, 0.25, 0.5][rng.gen_range(0..3)],
        }
    }
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            shards: 4,
            clients: 8,
            ops: 2000,
            faults: Faults::default(),
            gather: GatherMode::Off,
            txn: TxnMode::Swarm,
            aof: AofMode::Swarm,
            rewrites: false,
            clock_back: false,
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
    /// Largest output buffer seen on any connection (bytes).
    pub output_bytes_max: u64,
    /// Writes a client held back because its shard wanted no input.
    pub backpressure_waits: u64,
    /// Connections dropped by clients mid-pipeline.
    pub disconnects: u64,
    /// Server crashes (each followed by a recovery).
    pub crashes: u64,
    /// Recoveries P4 checked and found consistent.
    pub durability_checks: u64,
    /// Recoveries whose P4 search ran out of its bounds.
    pub durability_inconclusive: u64,
    /// Faults the simulated disk injected.
    pub disk_faults: u64,
    /// EXECs and multi-shard writes refused whole for a disk error.
    pub refused_whole: u64,
    /// Times the wall clock was set back.
    pub clock_steps_back: u64,
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
    clock: ChaCha8Rng,
    databases: usize,
    next_home: usize,
    gather: GatherMode,
    txn_probability: f64,
    units: BTreeMap<(usize, usize), txn::Unit>,
    ready: Vec<ConnId>,
    encoded: BytesMut,
    events_max: u64,
    /// What the run did so far.
    pub stats: Stats,
    failure: Option<Failure>,
    server_config: Config,
    faults: Faults,
    /// The disk, crashes and P4, when the seed persists.
    persistence: Option<crash::Persistence>,
    /// When persisting: the stream deciding BGREWRITEAOFs, and their rate
    /// per command.
    rewrites: Option<(ChaCha8Rng, f64)>,
    /// `SimConfig::clock_back`.
    clock_back: bool,
}

impl Sim {
    /// Builds the run of `seed`: draws its swarm parameters and workload,
    /// starts the shards and places the clients.
    pub fn new(seed: u64, config: &SimConfig, mode: TraceMode) -> Sim {
        assert!(config.shards >= 1 && config.clients >= 1);
        // One swarm stream for both, drawn in sequence: the mix of commands
        // must not mirror the fault parameters.
        let mut swarm_rng = streams::rng(seed, Stream::Swarm);
        let swarm = Swarm::draw(&mut swarm_rng);
        let table = Table::new();
        let workload = Workload::new(&table, &mut swarm_rng, config.gather);
        let world = Rc::new(RefCell::new(World::new(seed, config.shards, &swarm, mode)));
        let server_config = Config::default();
        let persistence = config.aof.draw(seed).map(|(swarm, rng)| {
            let policy = swarm.policy.expect("a persisting seed has a policy");
            let disk = SimDisk::new(streams::rng(seed, Stream::Disk), swarm.disk);
            crash::Persistence {
                policy,
                disk: Rc::new(RefCell::new(disk)),
                rng,
                durability: durability::Durability::new(policy, Vec::new(), 0),
                options: corekv::persist::load::RecoveryOptions {
                    replay_uncommitted: config.faults.recover_partial_txn,
                    replay_torn_tail: config.faults.skip_torn_trim,
                },
                crashes: 0,
                crash_in_events: None,
                swarm,
            }
        });
        let mut network = streams::rng(seed, Stream::Network);
        let budgets = budgets(config, swarm.one_heavy_client);
        let clients = (0..config.clients)
            .map(|index| Client {
                rng: streams::rng(seed, Stream::Workload(index)),
                connection: None,
                budget: budgets[index],
                write_scheduled: false,
                scan_cursor: Bytes::from_static(b"0"),
                quit_at_end: network.gen_bool(0.2),
            })
            .collect();
        world.borrow_mut().recorder.line(|| {
            format!(
                "seed {seed}: {} shards, {} clients, {} ops, {swarm:?}, {:?}, commands [{}]",
                config.shards,
                config.clients,
                config.ops,
                persistence.as_ref().map(|p| &p.swarm),
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
            shards: Vec::new(),
            clients,
            connections: Vec::new(),
            by_conn_id: BTreeMap::new(),
            table,
            workload,
            network,
            clock: streams::rng(seed, Stream::Clock),
            next_home: 0,
            gather: config.gather,
            txn_probability: config.txn.draw(seed),
            units: BTreeMap::new(),
            ready: Vec::new(),
            encoded: BytesMut::new(),
            stats: Stats::default(),
            failure: None,
            server_config,
            faults: config.faults,
            rewrites: persistence
                .as_ref()
                .filter(|_| config.rewrites)
                .and_then(|_| {
                    let mut rng = streams::rng(seed, Stream::Rewrites);
                    let probability = [0.0, 0.0, 0.002, 0.02][rng.gen_range(0..4)];
                    (probability > 0.0).then_some((rng, probability))
                }),
            persistence,
            clock_back: config.clock_back,
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
        if !self.start_server() {
            return self.failure.clone();
        }
        let bases: Vec<corekv::keyspace::Keyspace> = self
            .shards
            .iter()
            .map(|s| durability::clone_keyspace(s.keyspace()))
            .collect();
        if let Some(p) = self.persistence.as_mut() {
            p.durability.restart(bases, 0);
        }
        for client in 0..self.clients.len() {
            let delay_us = self.network.gen_range(0..100);
            self.clients[client].write_scheduled = true;
            self.schedule(EventKind::ClientWrite(client), delay_us);
        }
        while self.failure.is_none() {
            // Under `appendfsync always` a shard may hold replies for an
            // fsync to retry: its timer is armed for the retry, and the run
            // goes on.
            let busy = self.shards.iter().any(|s| s.awaits_disk());
            let event = {
                let mut world = self.world.borrow_mut();
                if world.pending_work() == 0 && !busy {
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
            if self.failure.is_none() {
                self.maybe_crash();
            }
        }
        if self.failure.is_none() {
            self.final_checks();
        }
        let world = self.world.borrow();
        self.stats.messages = world.messages_sent;
        self.stats.disk_faults = self
            .persistence
            .as_ref()
            .map_or(0, |p| p.disk.borrow().stats.faults);
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
        let step_probability = if self.clock_back {
            CLOCK_BACK_PROBABILITY
        } else {
            self.swarm.clock_step_probability
        };
        if shard == 0 && step_probability > 0.0 && self.clock.gen_bool(step_probability) {
            self.step_wall_clock();
        }
        self.line(|| format!("timer   shard {shard}"));
        self.shards[shard].handle_timer();
        self.after_step(shard);
    }

    /// Steps the wall clock ahead, or back (as NTP or an operator may):
    /// back only as far as the serial model stays exact, since a key that
    /// expired and was reclaimed by a shard would otherwise live again in
    /// the model alone (see `Model::clock_set_back_ms_max`).
    fn step_wall_clock(&mut self) {
        let (step_us_max, back_probability) = if self.clock_back {
            (CLOCK_BACK_STEP_US_MAX, 1.0)
        } else {
            (self.swarm.clock_step_us_max, CLOCK_STEP_BACK_PROBABILITY)
        };
        let step_us = self.clock.gen_range(1..=step_us_max);
        if !self.clock.gen_bool(back_probability) {
            self.world.borrow_mut().clock_offset_us += step_us as i64;
            self.line(|| format!("clock   wall clock steps {step_us}µs ahead"));
            return;
        }
        let now_ms = self.world.borrow().unix_time_us() / 1000;
        let back_ms_max = match self.model.clock_set_back_ms_max(now_ms) {
            Some(_) if self.units_in_progress() => None,
            other => other,
        };
        let Some(back_us) = back_ms_max.map(|ms| step_us.min(ms.saturating_mul(1000))) else {
            self.line(|| "clock   wall clock stays (a step back would revive keys)".to_string());
            return;
        };
        self.world.borrow_mut().clock_offset_us -= back_us as i64;
        self.stats.clock_steps_back += 1;
        self.line(|| format!("clock   wall clock steps {back_us}µs back"));
    }

    fn rearm_timer(&mut self, shard: usize) {
        let mut at_us = self.shards[shard].poll_timeout_us();
        if at_us <= self.now_us() {
            // A shard due at once still spends the time the failing disk
            // took (its retries themselves back off: `before_sleep`); a
            // slice of a background job takes a little time too.
            let slice_us = if self.shards[shard].background_busy() {
                BACKGROUND_SLICE_US
            } else {
                0
            };
            at_us += self.disk_fault_latency_us().max(slice_us);
        }
        if self.timer_at_us[shard] != at_us {
            self.timer_at_us[shard] = at_us.max(self.now_us());
            self.world.borrow_mut().schedule_timer(shard, at_us);
        }
    }

    // ----- after every step -----

    fn after_step(&mut self, shard: usize) {
        // The end of the shard's loop iteration, before anything it wrote
        // is read or delivered (as the production loop does).
        self.shards[shard].before_sleep();
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
            self.stats.output_bytes_max = self.stats.output_bytes_max.max(output_bytes as u64);
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

    /// At a clean end: every command on an open connection was answered,
    /// every unit begun completed, and every shard holds exactly the serial
    /// model's keys for it.
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
        // Before the contents: half a transaction applied leaves the shards
        // ahead of the model (which holds the unit's executions back), and
        // is the better diagnosis.
        if let Err(why) = self.units_complete() {
            problems.push((Property::Isolation, why));
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

/// Each client's share of the commands: even, or (one heavy client) three
/// quarters to client 0 and the rest even.
fn budgets(config: &SimConfig, one_heavy_client: bool) -> Vec<u64> {
    let clients = config.clients as u64;
    let (heavy, rest) = if one_heavy_client && clients > 1 {
        let heavy = config.ops * 3 / 4;
        (heavy, config.ops - heavy)
    } else {
        (0, config.ops)
    };
    (0..clients)
        .map(|index| {
            let even = rest / clients + u64::from(index < rest % clients);
            even + if index == 0 { heavy } else { 0 }
        })
        .collect()
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
