//! Seeded randomness: one master seed, one independent ChaCha stream per
//! subsystem.
//!
//! Every random choice of a run comes from a stream derived from the run's
//! single `u64` seed. Each subsystem (swarm parameters, the scheduler's
//! tie-breaks, client networking, shard channels, each client's workload,
//! each shard's platform, the disk, crashes) draws from its own ChaCha
//! stream, so an extra draw in one subsystem never shifts the choices of
//! another: adding a command generator does not change the network schedule
//! of an otherwise identical run.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The subsystems that draw randomness, each with its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Per-seed fault probabilities and workload shape ("swarm" testing).
    Swarm,
    /// Tie-breaks between events scheduled for the same virtual instant.
    Scheduler,
    /// Client networking: chunk sizes, read sizes, think times, disconnects.
    Network,
    /// Shard channel delays.
    Channels,
    /// The simulated disk: its faults and what a crash keeps.
    Disk,
    /// Wall-clock steps.
    Clock,
    /// How often clients send transaction blocks (drawn apart from the
    /// swarm stream, so older seeds keep their mix).
    Transactions,
    /// Persistence: the fsync policy and disk fault rates of a seed, when
    /// the server crashes, and the seeds recovery draws.
    Persistence,
    /// How often persisting seeds send BGREWRITEAOF, and when.
    Rewrites,
    /// Command generation of one client.
    Workload(usize),
    /// `Platform::random_u64` of one shard (seeds its RNG and hash tables).
    Shard(usize),
}

impl Stream {
    /// The ChaCha stream number: fixed per subsystem, so it never depends on
    /// configuration (client and shard counts are bounded well below the
    /// offsets that separate them).
    fn number(self) -> u64 {
        match self {
            Stream::Swarm => 0,
            Stream::Scheduler => 1,
            Stream::Network => 2,
            Stream::Channels => 3,
            Stream::Disk => 4,
            Stream::Clock => 5,
            Stream::Transactions => 6,
            Stream::Persistence => 7,
            Stream::Rewrites => 8,
            Stream::Workload(client) => (1 << 32) + client as u64,
            Stream::Shard(shard) => (2 << 32) + shard as u64,
        }
    }
}

/// The random generator of `stream` for the run with master `seed`.
pub fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream.number());
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a = rng(7, Stream::Network).next_u64();
        assert_eq!(a, rng(7, Stream::Network).next_u64());
        assert_ne!(a, rng(7, Stream::Channels).next_u64());
        assert_ne!(a, rng(8, Stream::Network).next_u64());
        assert_ne!(
            rng(7, Stream::Workload(0)).next_u64(),
            rng(7, Stream::Workload(1)).next_u64()
        );
    }
}
