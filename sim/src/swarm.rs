//! Per-seed parameters ("swarm" testing).
//!
//! Instead of one fixed mix of faults, every seed first draws the
//! probabilities themselves: some seeds run calm (whole writes, no delays,
//! no disconnects), others are storms (one-byte chunks, slow readers, long
//! channel delays, clients dropping mid-pipeline). Bugs that only show under
//! one extreme are then found by some fraction of seeds, rather than diluted
//! away by an average setting. Everything here comes from the swarm stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How a client splits its pending bytes into writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunking {
    /// Everything pending in one write.
    Whole,
    /// A uniformly random prefix of what is pending.
    Random,
    /// Mostly 1 to 3 bytes at a time: every frame boundary gets split.
    Tiny,
}

/// The fault and workload shape of one seed.
#[derive(Clone, Debug)]
pub struct Swarm {
    /// How writes are split.
    pub chunking: Chunking,
    /// Longest pause between two writes of a client (µs).
    pub think_us_max: u64,
    /// Chance that a pause is a long one instead (lets TTLs run out).
    pub long_pause_probability: f64,
    /// Longest long pause (µs).
    pub long_pause_us_max: u64,
    /// Longest delay before a client reads output that is ready (µs).
    pub read_delay_us_max: u64,
    /// Chance that a read takes only part of the pending output.
    pub partial_read_probability: f64,
    /// Chance, per write, that the client drops its connection instead.
    pub disconnect_probability: f64,
    /// Most commands a client keeps in flight (pipeline depth). Beyond
    /// the server's queue bound, parsing pauses (backpressure).
    pub pipeline_depth_max: usize,
    /// One client gets three quarters of the commands (deep pipelines
    /// need a client with many commands to send).
    pub one_heavy_client: bool,
    /// Longest delay of a shard-channel message (µs).
    pub channel_delay_us_max: u64,
    /// Chance that a channel message is delivered with no delay.
    pub channel_zero_delay_probability: f64,
    /// Plain keys in the workload's key space (`k0`, `k1`, ...).
    pub plain_keys: usize,
    /// Hash-tag groups (`{t0}a`, `{t0}b`, ... share a slot).
    pub tag_groups: usize,
    /// Keys per hash-tag group.
    pub tag_group_size: usize,
    /// Databases the workload SELECTs among.
    pub databases_used: usize,
    /// Longest TTL the workload sets (ms).
    pub ttl_ms_max: u64,
    /// Wall-clock time at virtual time zero (Unix µs).
    pub unix_epoch_us: u64,
    /// Chance, per timer event of shard 0, that the wall clock steps
    /// (ahead, or back).
    pub clock_step_probability: f64,
    /// Largest wall-clock step (µs).
    pub clock_step_us_max: u64,
    /// Longest value the workload writes (bytes); large ones fill output
    /// buffers to the backpressure threshold.
    pub value_bytes_max: usize,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, choices: &[T]) -> T {
    choices[rng.gen_range(0..choices.len())]
}

impl Swarm {
    /// Draws one seed's parameters.
    pub fn draw(rng: &mut ChaCha8Rng) -> Swarm {
        let mut swarm = Swarm::draw_independent(rng);
        // Output backpressure needs a deep pipeline of large replies: make
        // large-value seeds deep, with one client doing most of the work.
        if swarm.value_bytes_max > 40 {
            swarm.pipeline_depth_max = 2048;
            swarm.one_heavy_client = true;
        }
        swarm
    }

    fn draw_independent(rng: &mut ChaCha8Rng) -> Swarm {
        Swarm {
            chunking: pick(
                rng,
                &[
                    Chunking::Whole,
                    Chunking::Random,
                    Chunking::Random,
                    Chunking::Tiny,
                ],
            ),
            think_us_max: pick(rng, &[0, 10, 200, 2_000]),
            long_pause_probability: pick(rng, &[0.0, 0.0, 0.002, 0.02]),
            long_pause_us_max: pick(rng, &[50_000, 500_000, 2_000_000]),
            read_delay_us_max: pick(rng, &[0, 20, 500, 5_000, 50_000]),
            partial_read_probability: pick(rng, &[0.0, 0.1, 0.5]),
            disconnect_probability: pick(rng, &[0.0, 0.0, 0.0, 0.001, 0.01]),
            pipeline_depth_max: pick(rng, &[1, 4, 16, 64, 2048]),
            channel_delay_us_max: pick(rng, &[0, 10, 100, 3_000]),
            channel_zero_delay_probability: pick(rng, &[0.0, 0.5, 0.9]),
            plain_keys: pick(rng, &[1, 4, 16, 64]),
            tag_groups: pick(rng, &[1, 2, 4]),
            tag_group_size: pick(rng, &[2, 3, 6]),
            databases_used: pick(rng, &[1, 1, 2, 4]),
            ttl_ms_max: pick(rng, &[5, 100, 2_000]),
            unix_epoch_us: 1_700_000_000_000_000 + rng.gen_range(0..1_000_000_000_000),
            clock_step_probability: pick(rng, &[0.0, 0.0, 0.0, 0.05, 0.3]),
            clock_step_us_max: pick(rng, &[1_000, 200_000, 3_000_000]),
            value_bytes_max: if rng.gen_bool(1.0 / 16.0) {
                64 * 1024
            } else {
                40
            },
            one_heavy_client: rng.gen_bool(0.25),
        }
    }
}

/// The persistence shape of one seed, drawn from its own stream (so seeds
/// keep their workload and network schedule whatever is drawn here).
#[derive(Clone, Debug, PartialEq)]
pub struct PersistenceSwarm {
    /// The fsync policy, or `None` for `appendonly no` (no disk, no crash).
    pub policy: Option<corekv::persist::Policy>,
    /// The disk's fault rates.
    pub disk: crate::disk::DiskFaults,
    /// Chance, per event, that the server crashes after it.
    pub crash_probability: f64,
    /// Chance that a crash drawn is instead armed on the disk, to strike
    /// during one of the next few disk operations (mid-write, mid-fsync).
    pub crash_mid_operation_probability: f64,
    /// Chance that a disk fault is followed within a few events by a crash
    /// (the window where durability bugs hide).
    pub crash_after_fault_probability: f64,
    /// Chance, per start, that the server crashes during recovery itself.
    pub crash_in_recovery_probability: f64,
    /// Most crashes per run.
    pub crashes_max: u32,
    /// Longest time a crashed server takes to restart (µs).
    pub restart_us_max: u64,
}

impl PersistenceSwarm {
    /// Draws a seed's parameters; `policy` is the fsync policy chosen (by
    /// the command line, or drawn by the caller from the same stream).
    pub fn draw(rng: &mut ChaCha8Rng, policy: Option<corekv::persist::Policy>) -> PersistenceSwarm {
        let faulty = rng.gen_bool(0.6);
        let disk = crate::disk::DiskFaults {
            append_fail_probability: if faulty {
                pick(rng, &[0.0, 0.001, 0.01, 0.05])
            } else {
                0.0
            },
            sync_fail_probability: if faulty {
                pick(rng, &[0.0, 0.001, 0.01, 0.05])
            } else {
                0.0
            },
            bad_period_probability: pick(rng, &[0.0, 0.3, 1.0]),
            bad_period_ops_max: pick(rng, &[3, 20]),
            keep_unsynced_probability: pick(rng, &[0.0, 0.3, 0.8]),
            fault_latency_us: pick(rng, &[0, 200, 2_000]),
        };
        PersistenceSwarm {
            policy,
            disk,
            crash_probability: pick(rng, &[0.0, 0.0003, 0.001, 0.003]),
            crash_mid_operation_probability: pick(rng, &[0.0, 0.5, 0.9]),
            crash_after_fault_probability: pick(rng, &[0.0, 0.3, 1.0]),
            crash_in_recovery_probability: pick(rng, &[0.0, 0.2, 0.5]),
            crashes_max: pick(rng, &[2, 8]),
            restart_us_max: pick(rng, &[2_000, 50_000, 3_000_000]),
        }
    }
}
