//! # corekv-sim
//!
//! The deterministic simulator for corekv: every shard of a server and all
//! of its clients run on one thread, and one `u64` seed decides every event
//! — how client bytes are split, when output is read, how long each
//! shard-channel message takes, which command each client sends, when a
//! client drops its connection. A failing seed therefore replays exactly.
//!
//! ```text
//!  seed ─► streams (swarm, scheduler, network, channels, workload, shards)
//!            │
//!  sim::Sim ─┼─ world::World: virtual clock, event heap, FIFO shard channels
//!            ├─ shards: corekv::shard::Shard<world::SimPlatform>  (the real engine)
//!            ├─ clients: client::Client / client::Connection      (workload::Workload)
//!            └─ checkers: check (P1 replies), model::Model (P2 serial replay),
//!                         trace::Recorder (P5 hash), run (no panics)
//! ```
//!
//! * [`streams`] — one master seed, a ChaCha stream per subsystem.
//! * [`swarm`] — per-seed fault probabilities and workload shape.
//! * [`world`] — the virtual clock, event heap, channels, and the
//!   `Platform` implementation given to each shard.
//! * [`workload`] — the table of command generators and the key universe.
//! * [`client`] — simulated clients and the client-side connection model.
//! * [`check`] — the properties, failures, and expected replies (P1).
//! * [`model`] — the unsharded serial model replaying every execution (P2).
//! * [`trace`] — the determinism hash (P5) and readable trace lines.
//! * [`sim`] — the event loop tying it together.
//! * [`run`] — running seeds with panics caught; determinism; excerpts.
//! * [`regressions`] — the file of seeds that once failed.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod client;
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
pub use sim::{SimConfig, Stats};
pub use trace::TraceMode;
