//! # corekv-sim
//!
//! The deterministic simulator for corekv: every shard of a server and all
//! of its clients run on one thread, and one `u64` seed decides every event
//! — how client bytes are split, when output is read, how long each
//! shard-channel message takes, which command each client sends, when a
//! client drops its connection. A failing seed therefore replays exactly.
//!
//! ```text
//!  seed ─► streams (swarm, scheduler, network, channels, disk, persistence,
//!            │       workload, shards)
//!  sim::Sim ─┼─ world::World: virtual clock, event heap, FIFO shard channels
//!            ├─ shards: corekv::shard::Shard<world::SimPlatform>  (the real engine)
//!            ├─ disk::SimDisk: the server's disk (torn writes, failed fsyncs)
//!            ├─ clients: client::Client / client::Connection      (workload::Workload)
//!            └─ checkers: check (P1 replies), model::Model (P2 serial replay),
//!                         sim::durability (P4 after each crash),
//!                         trace::Recorder (P5 hash), run (no panics)
//! ```
//!
//! * [`streams`] — one master seed, a ChaCha stream per subsystem.
//! * [`swarm`] — per-seed fault probabilities and workload shape.
//! * [`world`] — the virtual clock, event heap, channels, and the
//!   `Platform` implementation given to each shard.
//! * [`disk`] — the simulated disk behind `Platform::disk`, with the faults
//!   the engine's durability contract allows.
//! * [`workload`] — the table of command generators and the key universe.
//! * [`client`] — simulated clients and the client-side connection model.
//! * [`check`] — the properties, failures, and expected replies (P1).
//! * [`model`] — the unsharded serial model replaying every execution (P2).
//! * [`trace`] — the determinism hash (P5) and readable trace lines.
//! * [`sim`] — the event loop tying it together.
//! * [`run`] — running seeds with panics caught; determinism; excerpts.
//! * [`regressions`] — the file of seeds that once failed.
//!
//! ## Running
//!
//! ```text
//! cargo run -p corekv-sim --release -- --seeds 0..10000 --shards 4 --clients 8 --ops 2000
//! cargo run -p corekv-sim --release -- --seed 1234 --trace          # replay one seed
//! cargo run -p corekv-sim --release -- --fault drop-forwarded       # see a checker fail
//! cargo run -p corekv-sim --release -- --regressions sim/regressions.txt
//! ```
//!
//! `--ops` is the number of commands per seed, over all clients. Every
//! other parameter (chunking, delays, disconnects, pipeline depths, key
//! space, command mix, clock steps; persistence, disk faults and crashes
//! unless `--aof` fixes the policy) is drawn from the seed. A failure
//! prints the property, the last trace lines before it and the command that
//! replays it; the same seed always fails the same way at the same event.
//!
//! ## What is checked
//!
//! * **P1** — each reply a client reads is, byte for byte, the encoding of
//!   the reply its command's traced executions produced (or their
//!   reduction); commands that run no handler get exactly the expected
//!   reply; no reply is missing at a clean end, none is extra.
//! * **P2** — every execution replays to the same reply on one unsharded
//!   keyspace (whole-keyspace parts over a view of their shard's keys); it
//!   ran in the database its connection had selected, on the shard owning
//!   its keys, after the command was completely sent, before its reply was
//!   read, and in its connection's program order; at the end every shard
//!   holds exactly the model's keys for it.
//! * **P3** — an EXEC's queued commands, and each multi-shard command's
//!   parts, are replayed together at their last execution and must give
//!   the recorded replies, as must every other command; no foreign
//!   execution touches a unit's keys between its first and last execution;
//!   EXEC is null exactly when a watched key changed or expired between
//!   WATCH and EXEC, by a version model on the serial keyspace (see
//!   `sim::txn`; workload blocks in `workload::txn`, `--txn`).
//! * **P4** — with persistence (`--aof`, drawn per seed by default: off,
//!   `always`, `everysec` or `no`), the server runs on a simulated disk
//!   whose appends and fsyncs fail at per-seed rates and whose unsynced
//!   bytes a crash tears at any byte. The whole server crashes at
//!   seed-chosen moments (between events, in the middle of a disk
//!   operation, soon after a disk fault, during recovery itself) and
//!   restarts through `persist::open`. Each recovered keyspace must equal
//!   the serial state after an allowed set of the writes since the last
//!   start: per shard a prefix (less whole units that may not have
//!   committed), transactions all or nothing, closed under program order
//!   and real time, keeping every acknowledged write under `always` (and
//!   under `everysec`, those acknowledged over a second before the crash);
//!   see `sim::durability`. The model then continues from it.
//! * **P5** — a seed run twice gives the same trace hash (deliveries,
//!   messages, executions and every byte read or written).
//! * **P6** — no shard panics (caught per seed); output buffers and channel
//!   queues stay within bounds; the run ends (no livelock).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod client;
pub mod disk;
pub mod model;
pub mod regressions;
pub mod run;
pub mod sim;
pub mod streams;
pub mod swarm;
pub mod trace;
pub mod workload;
pub mod world;

pub use check::{Failure, Property};
pub use run::{excerpt, run_seed, run_seed_twice, Outcome};
pub use sim::{AofMode, SimConfig, Stats, TxnMode};
pub use trace::TraceMode;
