//! # corekv
//!
//! A Redis-compatible key-value server built as a thread-per-core,
//! shared-nothing engine, and tested by a deterministic simulator.
//!
//! ## Architecture
//!
//! ```text
//!  socket bytes ──► platform (mio, one loop per core) ──► shard::Shard<P>
//!                                                           │  resp::Parser → argv
//!                                                           │  commands::Table → route
//!                                                           ├─ local keys  → commands::* handler over keyspace::Keyspace
//!                                                           └─ remote keys → shard::Message via Platform::send
//!  socket ◄── output buffer ◄── resp::Reply::encode ◄───────┘  (replies strictly in command order)
//! ```
//!
//! * [`resp`] — the wire protocol: incremental RESP2/inline parser, the
//!   [`resp::Reply`] type and its RESP2/RESP3 encoder.
//! * [`keyspace`] — one shard's data: databases, values, expiry.
//! * [`commands`] — the declarative command table and one module per family;
//!   handlers are pure functions over one shard's keyspace.
//! * [`shard`] — the sans-IO shard state machine: connections, ordering,
//!   routing, cross-shard messages.
//! * [`platform`] — the [`platform::Platform`] trait (time, randomness,
//!   channels, disk) and its production implementation on mio.
//! * [`persist`] — persistence: per-shard AOF with group commit and a
//!   consistent recovery cut across shards, snapshots, recovery.
//! * [`config`] — configuration: flags, config file, CONFIG GET/SET.
//! * [`limits`] — every bound, in one place.
//! * [`slot`] — hash slots (CRC16, `{hash tags}`) and the slot → shard map.
//! * [`glob`] — Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET).
//!
//! Everything except `platform::mio` and `main.rs` is deterministic and never
//! calls the operating system, so the `corekv-sim` crate can run the very same
//! shards on one thread under a seeded scheduler.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod commands;
pub mod config;
#[cfg(any(fuzzing, test))]
pub mod fuzzing;
pub mod glob;
pub mod keyspace;
pub mod limits;
pub mod persist;
pub mod platform;
pub mod resp;
pub mod shard;
pub mod slot;
