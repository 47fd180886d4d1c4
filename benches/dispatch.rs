//! Command dispatch without sockets: pipelined commands fed to a shard with
//! `handle_input`, replies drained with `take_ready` / `output` /
//! `consume_output`, exactly as the runtime drives it.
//!
//! * `one_shard/set_get_pipeline_16`: every key on the connection's home
//!   shard, the only one.
//! * `two_shards/local_keys`: two shards, every key on the home shard — the
//!   cost of sharding when it is not used.
//! * `two_shards/remote_keys`: two shards, every key on the other one; the
//!   bench hands each queued message to its destination's `handle_message`,
//!   as the runtime's mailboxes do, so the difference from `local_keys` is the
//!   cross-shard cost per command (minus the real mailbox and wake-up).
//!
//! Each iteration sends 16 `SET key:N value` then 16 `GET key:N` in one
//! buffer; throughput is reported per command.

use corekv::config::Config;
use corekv::platform::Platform;
use corekv::shard::{ConnId, Message, ServerInfo, Shard};
use corekv::slot::SlotMap;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// Commands of each kind per pipeline, as `redis-benchmark -P 16` sends them.
const PIPELINE_DEPTH: usize = 16;

/// A platform with a fake clock and fixed randomness whose `send` only
/// queues: the bench loop delivers messages itself.
struct BenchPlatform {
    now_us: u64,
    random_state: u64,
    outbox: Vec<(usize, Message)>,
}

impl BenchPlatform {
    fn new(seed: u64) -> BenchPlatform {
        BenchPlatform {
            now_us: 0,
            random_state: seed,
            outbox: Vec::new(),
        }
    }
}

impl Platform for BenchPlatform {
    fn unix_time_us(&mut self) -> u64 {
        1_700_000_000_000_000 + self.monotonic_us()
    }

    fn monotonic_us(&mut self) -> u64 {
        self.now_us += 1;
        self.now_us
    }

    fn random_u64(&mut self) -> u64 {
        // splitmix64: deterministic and good enough for hash seeds.
        self.random_state = self.random_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.random_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn send(&mut self, to: usize, message: Message) {
        self.outbox.push((to, message));
    }

    fn request_shutdown(&mut self) {}
}

/// `shard_count` shards and one connection homed on shard 0.
struct Bench {
    shards: Vec<Shard<BenchPlatform>>,
    conn: ConnId,
    ready: Vec<ConnId>,
}

impl Bench {
    fn new(shard_count: usize) -> Bench {
        let config = Config {
            threads: shard_count,
            ..Config::default()
        };
        let mut shards: Vec<Shard<BenchPlatform>> = (0..shard_count)
            .map(|index| {
                let platform = BenchPlatform::new(index as u64 + 1);
                Shard::new(
                    index,
                    shard_count,
                    config.clone(),
                    ServerInfo::default(),
                    platform,
                )
            })
            .collect();
        let conn = shards[0].handle_connect("127.0.0.1:50000".to_string());
        Bench {
            shards,
            conn,
            ready: Vec::new(),
        }
    }

    /// Feeds `input` to the connection, delivers every cross-shard message
    /// until none is left, and returns the bytes of reply drained.
    fn round_trip(&mut self, input: &[u8]) -> usize {
        self.shards[0].handle_input(self.conn, input);
        self.deliver_messages();
        let mut written = 0;
        self.shards[0].take_ready(&mut self.ready);
        for conn in self.ready.drain(..) {
            let bytes = self.shards[0].output(conn).len();
            written += bytes;
            self.shards[0].consume_output(conn, bytes);
        }
        written
    }

    fn deliver_messages(&mut self) {
        loop {
            let mut delivered = false;
            for from in 0..self.shards.len() {
                let outbox = std::mem::take(&mut self.shards[from].platform_mut().outbox);
                for (to, message) in outbox {
                    self.shards[to].handle_message(message);
                    delivered = true;
                }
            }
            if !delivered {
                return;
            }
        }
    }
}

/// `PIPELINE_DEPTH` SETs then as many GETs of keys all owned by `owner` (of
/// `shard_count`), and the exact reply bytes they produce.
fn set_get_pipeline(shard_count: usize, owner: usize) -> (Vec<u8>, usize) {
    let slots = SlotMap::new(shard_count);
    let keys: Vec<String> = (0..)
        .map(|n| format!("key:{n}"))
        .filter(|key| slots.shard_of_key(key.as_bytes()) == owner)
        .take(PIPELINE_DEPTH)
        .collect();
    let mut input = Vec::new();
    for key in &keys {
        input.extend_from_slice(command(&["SET", key, "value"]).as_slice());
    }
    for key in &keys {
        input.extend_from_slice(command(&["GET", key]).as_slice());
    }
    let reply_bytes = PIPELINE_DEPTH * ("+OK\r\n".len() + "$5\r\nvalue\r\n".len());
    (input, reply_bytes)
}

fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

fn bench_case(criterion: &mut Criterion, group: &str, name: &str, shards: usize, owner: usize) {
    let (input, reply_bytes) = set_get_pipeline(shards, owner);
    let mut bench = Bench::new(shards);
    assert_eq!(
        bench.round_trip(&input),
        reply_bytes,
        "every command answered"
    );
    let mut group = criterion.benchmark_group(group);
    group.throughput(Throughput::Elements(2 * PIPELINE_DEPTH as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            let written = bench.round_trip(black_box(&input));
            debug_assert_eq!(written, reply_bytes);
            written
        })
    });
    group.finish();
}

fn dispatch_benches(criterion: &mut Criterion) {
    bench_case(criterion, "one_shard", "set_get_pipeline_16", 1, 0);
    bench_case(criterion, "two_shards", "local_keys", 2, 0);
    bench_case(criterion, "two_shards", "remote_keys", 2, 1);
}

criterion_group!(benches, dispatch_benches);
criterion_main!(benches);
