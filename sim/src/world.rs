//! The simulated world the shards live in: the virtual clock, the event
//! heap, the shard channels, and [`SimPlatform`], the `Platform` each shard
//! is given.
//!
//! Shards own their platform, so the state every platform must reach (clock,
//! channels, trace) sits in one [`World`] behind `Rc<RefCell<_>>`. The
//! simulator is single-threaded and never holds a borrow of the world while
//! it calls into a shard, so each platform call borrows it briefly.
//!
//! ## Scheduling
//!
//! Events sit in a min-heap ordered by (virtual time, tie-break, sequence):
//! the tie-break is drawn from the scheduler stream, so events due at the
//! same instant run in a seed-chosen order. Virtual time jumps to the next
//! event only when nothing earlier is left: nothing is runnable.
//!
//! ## Channels
//!
//! Each (sender, receiver) pair of shards has a FIFO queue. Sending pushes
//! the message and schedules one delivery event after a seed-chosen delay;
//! each delivery event pops the *front* of its pair's queue. So messages on
//! one pair arrive in the order sent however their delays fall, while
//! deliveries from different senders interleave freely — the orderings the
//! production mailboxes can produce, and no others.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;

use bytes::Bytes;
use corekv::platform::{Platform, TraceEvent};
use corekv::resp::Reply;
use corekv::shard::{Message, Origin, Request, Response};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

use crate::disk::DiskHandle;
use crate::streams::{self, Stream};
use crate::swarm::Swarm;
use crate::trace::{show_argv, show_reply, Recorder, TraceMode};

/// Something that will happen at a virtual instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A client writes (part of) its pending bytes, or generates more.
    ClientWrite(usize),
    /// The client of connection `.0` reads (part of) its output.
    ClientRead(usize),
    /// The oldest message on the (from, to) channel arrives.
    Deliver {
        /// Sending shard.
        from: usize,
        /// Receiving shard.
        to: usize,
    },
    /// A shard's timer is due.
    Timer(usize),
}

#[derive(Debug, PartialEq, Eq)]
struct Scheduled {
    time_us: u64,
    tiebreak: u64,
    sequence: u64,
    kind: EventKind,
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Scheduled) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.time_us, other.tiebreak, other.sequence).cmp(&(
            self.time_us,
            self.tiebreak,
            self.sequence,
        ))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Scheduled) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One command (or one shard's part of it) a shard executed, as reported
/// through `Platform::trace`.
#[derive(Clone, Debug)]
pub struct Execution {
    /// The executing shard.
    pub shard: usize,
    /// Wall-clock time of the execution, Unix µs (the replay uses the same).
    pub unix_time_us: u64,
    /// The client command it belongs to.
    pub origin: Origin,
    /// The database it ran in.
    pub db: usize,
    /// The argv it ran with.
    pub argv: Vec<Bytes>,
    /// What it replied.
    pub reply: Reply,
}

/// Most messages that may wait on one channel before the run is declared
/// unbounded (each client has at most one wait outstanding, of at most one
/// request per shard, plus its response).
pub const CHANNEL_MESSAGES_MAX: usize = 4096;

/// State shared by the simulator and every shard's platform.
pub struct World {
    /// Virtual monotonic time (µs since the run started).
    pub now_us: u64,
    /// Wall-clock time at virtual time zero.
    unix_epoch_us: u64,
    /// How far the wall clock has been stepped from virtual time (µs;
    /// negative: set back).
    pub clock_offset_us: i64,
    heap: BinaryHeap<Scheduled>,
    next_sequence: u64,
    /// Scheduled events that are not timers: when none are left, the run is over.
    pending_work: usize,
    shard_count: usize,
    channels: Vec<VecDeque<Message>>,
    scheduler_rng: ChaCha8Rng,
    channel_rng: ChaCha8Rng,
    shard_rngs: Vec<ChaCha8Rng>,
    channel_delay_us_max: u64,
    channel_zero_delay_probability: f64,
    /// Executions reported since the simulator last drained them, in order.
    pub executions: Vec<Execution>,
    /// Set when a shard asked for shutdown (SHUTDOWN command).
    pub shutdown_requested: bool,
    /// Messages sent between shards so far.
    pub messages_sent: u64,
    /// Longest any channel queue has been.
    pub channel_len_max: usize,
    /// The trace: determinism hash and readable lines.
    pub recorder: Recorder,
}

impl World {
    /// A world for `shard_count` shards of the run with master `seed`.
    pub fn new(seed: u64, shard_count: usize, swarm: &Swarm, mode: TraceMode) -> World {
        World {
            now_us: 0,
            unix_epoch_us: swarm.unix_epoch_us,
            clock_offset_us: 0,
            heap: BinaryHeap::new(),
            next_sequence: 0,
            pending_work: 0,
            shard_count,
            channels: (0..shard_count * shard_count)
                .map(|_| VecDeque::new())
                .collect(),
            scheduler_rng: streams::rng(seed, Stream::Scheduler),
            channel_rng: streams::rng(seed, Stream::Channels),
            shard_rngs: (0..shard_count)
                .map(|shard| streams::rng(seed, Stream::Shard(shard)))
                .collect(),
            channel_delay_us_max: swarm.channel_delay_us_max,
            channel_zero_delay_probability: swarm.channel_zero_delay_probability,
            executions: Vec::new(),
            shutdown_requested: false,
            messages_sent: 0,
            channel_len_max: 0,
            recorder: Recorder::new(mode),
        }
    }

    /// Wall-clock now, Unix µs.
    pub fn unix_time_us(&self) -> u64 {
        (self.unix_epoch_us + self.now_us).saturating_add_signed(self.clock_offset_us)
    }

    /// Schedules `kind` to happen `delay_us` from now.
    pub fn schedule(&mut self, kind: EventKind, delay_us: u64) {
        if !matches!(kind, EventKind::Timer(_)) {
            self.pending_work += 1;
        }
        self.schedule_at(kind, self.now_us + delay_us);
    }

    /// Schedules a shard timer at absolute virtual time `at_us` (never in the past).
    pub fn schedule_timer(&mut self, shard: usize, at_us: u64) {
        self.schedule_at(EventKind::Timer(shard), at_us.max(self.now_us));
    }

    fn schedule_at(&mut self, kind: EventKind, time_us: u64) {
        let tiebreak = self.scheduler_rng.next_u64();
        self.next_sequence += 1;
        self.heap.push(Scheduled {
            time_us,
            tiebreak,
            sequence: self.next_sequence,
            kind,
        });
    }

    /// Scheduled events other than timers.
    pub fn pending_work(&self) -> usize {
        self.pending_work
    }

    /// The server crashed: every message in flight and every shard timer
    /// vanishes with it (client events stay: clients live on, and wait
    /// out the `down_us` the server takes to come back).
    pub fn crash(&mut self, down_us: u64) {
        for channel in &mut self.channels {
            channel.clear();
        }
        self.now_us += down_us;
        let now_us = self.now_us;
        let kept: Vec<Scheduled> = std::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .filter(|event| {
                matches!(
                    event.kind,
                    EventKind::ClientWrite(_) | EventKind::ClientRead(_)
                )
            })
            .map(|event| Scheduled {
                time_us: event.time_us.max(now_us),
                ..event
            })
            .collect();
        self.pending_work = kept.len();
        self.heap = kept.into();
        self.executions.clear();
    }

    /// Takes the next event and advances the clock to it.
    pub fn pop(&mut self) -> Option<EventKind> {
        let event = self.heap.pop()?;
        debug_assert!(event.time_us >= self.now_us, "time never runs backwards");
        self.now_us = event.time_us;
        if !matches!(event.kind, EventKind::Timer(_)) {
            self.pending_work -= 1;
        }
        Some(event.kind)
    }

    /// Queues `message` on the (from, to) channel and schedules its delivery.
    fn send(&mut self, from: usize, to: usize, message: Message) {
        assert!(from != to, "shard {from} sent a message to itself");
        assert!(
            to < self.shard_count,
            "shard {from} sent to unknown shard {to}"
        );
        self.messages_sent += 1;
        let hash = &mut self.recorder.hash;
        hash.word((from * self.shard_count + to) as u64);
        hash_message(hash, &message);
        if self.recorder.lines_enabled() {
            let now_us = self.now_us;
            let text = describe_message(&message);
            self.recorder
                .line(|| format!("{now_us:>10} send    {from}->{to} {text}"));
        }
        let queue = &mut self.channels[from * self.shard_count + to];
        queue.push_back(message);
        self.channel_len_max = self.channel_len_max.max(queue.len());
        let delay_us = if self.channel_delay_us_max == 0
            || self
                .channel_rng
                .gen_bool(self.channel_zero_delay_probability)
        {
            0
        } else {
            self.channel_rng.gen_range(0..=self.channel_delay_us_max)
        };
        self.schedule(EventKind::Deliver { from, to }, delay_us);
    }

    /// The oldest message on the (from, to) channel.
    pub fn take_message(&mut self, from: usize, to: usize) -> Option<Message> {
        self.channels[from * self.shard_count + to].pop_front()
    }
}

/// Folds a message into the trace hash: its kind always, and the fields
/// that decide outcomes for the kinds the simulator knows (new kinds still
/// count by their discriminant).
fn hash_message(hash: &mut crate::trace::TraceHash, message: &Message) {
    use std::hash::Hash;
    std::mem::discriminant(message).hash(hash);
    match message {
        Message::Request {
            from,
            ticket,
            db,
            request,
            ..
        } => {
            hash.word(*from as u64);
            hash.word(ticket.conn);
            hash.word(ticket.wait);
            hash.word(ticket.part as u64);
            hash.word(*db as u64);
            std::mem::discriminant(request).hash(hash);
            if let Request::Execute(commands) = request {
                for command in commands {
                    hash.word(command.origin.seq);
                    hash.argv(&command.argv);
                }
            }
        }
        Message::Response {
            ticket, response, ..
        } => {
            hash.word(ticket.conn);
            hash.word(ticket.wait);
            hash.word(ticket.part as u64);
            std::mem::discriminant(response).hash(hash);
            if let Response::Replies(replies) = response {
                replies.iter().for_each(|reply| hash.reply(reply));
            }
        }
        _ => {}
    }
}

/// A message for humans (trace lines only).
fn describe_message(message: &Message) -> String {
    match message {
        Message::Request {
            ticket,
            db,
            request,
            ..
        } => {
            let what = match request {
                Request::Execute(commands) => commands
                    .iter()
                    .map(|c| format!("#{} {}", c.origin.seq, show_argv(&c.argv)))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => format!("{other:?}"),
            };
            format!(
                "request conn={} wait={} part={} db={db}: {what}",
                ticket.conn, ticket.wait, ticket.part
            )
        }
        Message::Response {
            ticket, response, ..
        } => {
            let what = match response {
                Response::Replies(replies) => replies
                    .iter()
                    .map(show_reply)
                    .collect::<Vec<_>>()
                    .join("; "),
                other => format!("{other:?}"),
            };
            format!(
                "response conn={} wait={} part={}: {what}",
                ticket.conn, ticket.wait, ticket.part
            )
        }
        other => format!("{other:?}"),
    }
}

/// The [`Platform`] of one simulated shard.
pub struct SimPlatform {
    index: usize,
    world: Rc<RefCell<World>>,
    /// The server's disk, when it persists.
    disk: Option<DiskHandle>,
}

impl SimPlatform {
    /// The platform of shard `index`, persisting to `disk` if any.
    pub fn new(index: usize, world: Rc<RefCell<World>>, disk: Option<DiskHandle>) -> SimPlatform {
        SimPlatform { index, world, disk }
    }
}

impl Platform for SimPlatform {
    fn unix_time_us(&mut self) -> u64 {
        self.world.borrow().unix_time_us()
    }

    fn monotonic_us(&mut self) -> u64 {
        self.world.borrow().now_us
    }

    fn random_u64(&mut self) -> u64 {
        self.world.borrow_mut().shard_rngs[self.index].next_u64()
    }

    fn send(&mut self, to: usize, message: Message) {
        self.world.borrow_mut().send(self.index, to, message);
    }

    fn request_shutdown(&mut self) {
        self.world.borrow_mut().shutdown_requested = true;
    }

    fn disk(&mut self) -> Option<&mut dyn corekv::persist::disk::Disk> {
        self.disk
            .as_mut()
            .map(|d| d as &mut dyn corekv::persist::disk::Disk)
    }

    /// Snapshots share the simulated disk (their names never clash with
    /// the AOF's), so BGSAVE meets the same faults and crashes.
    fn snapshot_disk(&mut self) -> Option<&mut dyn corekv::persist::disk::Disk> {
        self.disk()
    }

    fn trace(&mut self, event: TraceEvent<'_>) {
        let TraceEvent::Executed {
            origin,
            db,
            argv,
            reply,
        } = event;
        let mut world = self.world.borrow_mut();
        let unix_time_us = world.unix_time_us();
        if world.recorder.lines_enabled() {
            let (now_us, shard) = (world.now_us, self.index);
            world.recorder.line(|| {
                format!(
                    "{now_us:>10} exec    shard {shard} conn {}#{} db {db}: {} -> {}",
                    origin.conn,
                    origin.seq,
                    show_argv(argv),
                    show_reply(reply)
                )
            });
        }
        world.executions.push(Execution {
            shard: self.index,
            unix_time_us,
            origin,
            db,
            argv: argv.to_vec(),
            reply: reply.clone(),
        });
    }
}
