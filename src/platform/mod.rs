//! The `Platform` trait: the shard's only door to the outside world.
//!
//! A shard never reads a clock, draws thread-local randomness, opens a file
//! or touches a socket. It asks its `Platform` for time and randomness and
//! hands it messages for other shards. Network bytes flow the other way: the
//! platform feeds bytes read from sockets into `Shard::handle_input` and
//! drains each connection's output buffer (sans-IO, as quinn-proto does).
//!
//! Two implementations exist: [`runtime`] (production: mio, one event loop
//! per core, real sockets and clocks) and the simulator's in `corekv-sim`
//! (virtual time, simulated sockets, a seeded scheduler).

pub mod fs_disk;
pub mod runtime;

use bytes::Bytes;

use crate::resp::Reply;
use crate::shard::{Message, Origin};

/// What a shard may ask of the world. Implementations must be deterministic
/// functions of their inputs in the simulator; production reads the OS.
pub trait Platform {
    /// Wall-clock time, µs since the Unix epoch (expiry, TIME).
    fn unix_time_us(&mut self) -> u64;

    /// Monotonic time, µs since an arbitrary origin (timers, uptime).
    fn monotonic_us(&mut self) -> u64;

    /// A uniformly random `u64` (seeds for the shard's RNG and hash tables).
    fn random_u64(&mut self) -> u64;

    /// Queues `message` for shard `to`. Messages from one sender to one
    /// receiver are delivered in order (FIFO per pair); production batches
    /// them per loop iteration with one wake-up per destination.
    fn send(&mut self, to: usize, message: Message);

    /// Asks the server to stop (SHUTDOWN): every shard finishes its current
    /// loop iteration, flushes what it can and exits.
    fn request_shutdown(&mut self);

    /// The persistence directory, when the server persists
    /// (`appendonly yes`); `None` keeps everything in memory.
    fn disk(&mut self) -> Option<&mut dyn crate::persist::disk::Disk> {
        None
    }

    /// The working directory (`dir`), where SAVE and BGSAVE write
    /// snapshots; `None` where snapshots are not supported.
    fn snapshot_disk(&mut self) -> Option<&mut dyn crate::persist::disk::Disk> {
        None
    }

    /// Resident set size of the process in bytes, if known (INFO memory).
    fn rss_bytes(&mut self) -> Option<u64> {
        None
    }

    /// Observes a command executed by this shard, with the reply it produced.
    /// The simulator records these to check reply order and serial
    /// equivalence; production ignores them.
    fn trace(&mut self, _event: TraceEvent<'_>) {}
}

/// Something a shard did that a checker may want to see.
#[derive(Debug)]
pub enum TraceEvent<'a> {
    /// A command (or a shard's part of a multi-shard command) ran on this
    /// shard's keyspace.
    Executed {
        /// The client command it belongs to.
        origin: Origin,
        /// The database it ran in.
        db: usize,
        /// The argv it ran with (a part of the client's argv for split commands).
        argv: &'a [Bytes],
        /// What it replied.
        reply: &'a Reply,
    },
}
