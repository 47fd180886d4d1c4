//! Fuzz harnesses: the one door through which fuzzers see the engine
//! (STYLE rule 10). Compiled for `cfg(fuzzing)` (cargo-fuzz) and for tests,
//! which replay the seed corpus under `fuzz/corpus/` so plain `cargo test`
//! exercises every target without a fuzzer.
//!
//! Each harness asserts invariants, not just "no panic":
//! * [`resp_parse`]: parsing input split into arbitrary chunks yields the
//!   same commands and the same error as parsing it whole.
//! * [`resp_roundtrip`]: a reply encoded in RESP3 parses back equal; in RESP2
//!   it parses back as its RESP2 shape.
//! * [`command_dispatch`]: arbitrary commands sent to a two-shard server get
//!   exactly one well-formed reply each, in order, and nothing panics.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::keyspace::CanonicalValue;
use crate::platform::Platform;
use crate::resp::frame::parse_frame;
use crate::resp::{ParseLimits, Parser, Protocol, Reply};
use crate::shard::{Message, ServerInfo, Shard};

/// Parses `input` whole and in chunks whose sizes come from the input's
/// first bytes; asserts both give the same commands and outcome.
pub fn resp_parse(data: &[u8]) {
    let Some((&chunk_seed, input)) = data.split_first() else {
        return;
    };
    let limits = ParseLimits {
        bulk_bytes_max: 1 << 20,
        ..ParseLimits::default()
    };
    let whole = parse_all(&[input], &limits);
    let chunk_bytes = usize::from(chunk_seed % 17) + 1;
    let chunks: Vec<&[u8]> = input.chunks(chunk_bytes).collect();
    let chunked = parse_all(&chunks, &limits);
    assert_eq!(
        whole, chunked,
        "chunked parse differs (chunk size {chunk_bytes})"
    );
}

/// Commands parsed, and the error that ended parsing (if any).
type ParseOutcome = (Vec<Vec<Bytes>>, Option<String>);

fn parse_all(chunks: &[&[u8]], limits: &ParseLimits) -> ParseOutcome {
    let mut parser = Parser::new();
    let mut buffer = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buffer, limits) {
                Ok(Some(argv)) => {
                    assert!(!argv.is_empty(), "the parser never yields an empty command");
                    commands.push(argv);
                }
                Ok(None) => break,
                Err(error) => return (commands, Some(error.to_string())),
            }
        }
    }
    (commands, None)
}

/// Builds a reply tree from the input bytes, encodes it in both protocols
/// and parses it back.
pub fn resp_roundtrip(data: &[u8]) {
    let mut input = data.iter().copied();
    let reply = reply_from_bytes(&mut input, 0);
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut encoded = BytesMut::new();
        reply.encode(protocol, &mut encoded);
        let (parsed, used) = match parse_frame(&encoded) {
            Ok(Some(parsed)) => parsed,
            other => panic!("encoded reply does not parse back ({protocol:?}): {other:?}"),
        };
        assert_eq!(used, encoded.len(), "parse consumed a different length");
        let expected = match protocol {
            Protocol::Resp2 => reply.to_resp2_shape(),
            Protocol::Resp3 => resp3_shape(&reply),
        };
        assert!(
            same_reply(&parsed, &expected),
            "{protocol:?} round trip: {expected:?} came back as {parsed:?}"
        );
    }
}

/// RESP3 has one null (`_`): a null array reads back as a plain null.
fn resp3_shape(reply: &Reply) -> Reply {
    let all = |items: &[Reply]| items.iter().map(resp3_shape).collect();
    match reply {
        Reply::NullArray => Reply::Null,
        Reply::Array(items) => Reply::Array(all(items)),
        Reply::Set(items) => Reply::Set(all(items)),
        Reply::Push(items) => Reply::Push(all(items)),
        Reply::Map(pairs) => Reply::Map(
            pairs
                .iter()
                .map(|(k, v)| (resp3_shape(k), resp3_shape(v)))
                .collect(),
        ),
        Reply::Pairs(pairs) => Reply::Array(
            pairs
                .iter()
                .map(|(k, v)| Reply::Array(vec![resp3_shape(k), resp3_shape(v)]))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Equality where NaN equals NaN (doubles are compared by value otherwise).
fn same_reply(a: &Reply, b: &Reply) -> bool {
    match (a, b) {
        (Reply::Double(x), Reply::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Reply::Array(x), Reply::Array(y))
        | (Reply::Set(x), Reply::Set(y))
        | (Reply::Push(x), Reply::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_reply(a, b))
        }
        (Reply::Map(x), Reply::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same_reply(k1, k2) && same_reply(v1, v2))
        }
        _ => a == b,
    }
}

/// Deepest reply tree the round-trip harness builds.
const ROUNDTRIP_DEPTH_MAX: usize = 8;

fn reply_from_bytes(input: &mut impl Iterator<Item = u8>, depth: usize) -> Reply {
    let tag = input.next().unwrap_or(0);
    let text = |input: &mut dyn Iterator<Item = u8>| {
        let len = usize::from(input.next().unwrap_or(0) % 24);
        Bytes::from(input.take(len).collect::<Vec<u8>>())
    };
    let printable = |bytes: Bytes| {
        Bytes::from(
            bytes
                .iter()
                .map(|b| if b.is_ascii_graphic() { *b } else { b'x' })
                .collect::<Vec<u8>>(),
        )
    };
    let count = |input: &mut dyn Iterator<Item = u8>| usize::from(input.next().unwrap_or(0) % 5);
    let nested = depth < ROUNDTRIP_DEPTH_MAX;
    match tag % 15 {
        0 => Reply::Simple(printable(text(input))),
        1 => Reply::Error(printable(text(input))),
        2 => Reply::Integer(i64::from_le_bytes(std::array::from_fn(|_| {
            input.next().unwrap_or(0)
        }))),
        3 => Reply::Bulk(text(input)),
        4 => Reply::Null,
        5 => Reply::NullArray,
        6 if nested => Reply::Array(
            (0..count(input))
                .map(|_| reply_from_bytes(input, depth + 1))
                .collect(),
        ),
        7 if nested => Reply::Map(
            (0..count(input))
                .map(|_| {
                    (
                        reply_from_bytes(input, depth + 1),
                        reply_from_bytes(input, depth + 1),
                    )
                })
                .collect(),
        ),
        8 if nested => Reply::Set(
            (0..count(input))
                .map(|_| reply_from_bytes(input, depth + 1))
                .collect(),
        ),
        9 => Reply::Double(f64::from_le_bytes(std::array::from_fn(|_| {
            input.next().unwrap_or(0)
        }))),
        10 => Reply::Boolean(input.next().unwrap_or(0) % 2 == 0),
        11 => {
            let digits: Vec<u8> = text(input).iter().map(|b| b'0' + b % 10).collect();
            Reply::BigNumber(if digits.is_empty() {
                Bytes::from_static(b"0")
            } else {
                Bytes::from(digits)
            })
        }
        12 => Reply::Verbatim {
            format: *b"txt",
            text: text(input),
        },
        14 if nested => Reply::Pairs(
            (0..count(input))
                .map(|_| {
                    (
                        reply_from_bytes(input, depth + 1),
                        reply_from_bytes(input, depth + 1),
                    )
                })
                .collect(),
        ),
        13 if nested => Reply::Push(
            (0..count(input))
                .map(|_| reply_from_bytes(input, depth + 1))
                .collect(),
        ),
        _ => Reply::Integer(i64::from(tag)),
    }
}

/// A deterministic in-memory platform: fixed clock that moves only when
/// told, a counter for randomness, and a queue of outgoing messages.
#[derive(Debug, Default)]
pub struct LoopbackPlatform {
    now_us: u64,
    counter: u64,
    /// Messages sent, as (destination, message).
    pub outbox: VecDeque<(usize, Message)>,
}

impl Platform for LoopbackPlatform {
    fn unix_time_us(&mut self) -> u64 {
        1_700_000_000_000_000 + self.now_us
    }
    fn monotonic_us(&mut self) -> u64 {
        self.now_us
    }
    fn random_u64(&mut self) -> u64 {
        self.counter += 1;
        self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn send(&mut self, to: usize, message: Message) {
        self.outbox.push_back((to, message));
    }
    fn request_shutdown(&mut self) {}
}

/// Shards on one thread, messages delivered in FIFO order.
pub struct LoopbackCluster {
    /// The shards.
    pub shards: Vec<Shard<LoopbackPlatform>>,
}

impl LoopbackCluster {
    /// `count` shards with a small configuration.
    pub fn new(count: usize) -> LoopbackCluster {
        let config = Config {
            threads: count,
            proto_max_bulk_len: 1 << 20,
            ..Config::default()
        };
        let shards = (0..count)
            .map(|index| {
                Shard::new(
                    index,
                    count,
                    config.clone(),
                    ServerInfo::default(),
                    LoopbackPlatform::default(),
                )
            })
            .collect();
        LoopbackCluster { shards }
    }

    /// Delivers messages until every outbox is empty.
    pub fn settle(&mut self) {
        loop {
            let mut delivered = false;
            for from in 0..self.shards.len() {
                while let Some((to, message)) = self.shards[from].platform_mut().outbox.pop_front()
                {
                    self.shards[to].handle_message(message);
                    delivered = true;
                }
            }
            if !delivered {
                break;
            }
        }
    }

    /// Takes every byte of output shard `home` has for `conn`.
    pub fn drain_output(&mut self, home: usize, conn: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let chunk = self.shards[home].output(conn).to_vec();
            if chunk.is_empty() {
                break;
            }
            self.shards[home].consume_output(conn, chunk.len());
            out.extend_from_slice(&chunk);
            self.settle();
        }
        let mut ready = Vec::new();
        self.shards[home].take_ready(&mut ready);
        out
    }
}

/// Commands the dispatch harness draws names from (besides raw bytes).
const DISPATCH_NAMES: &[&str] = &[
    "get",
    "set",
    "mget",
    "mset",
    "del",
    "exists",
    "incr",
    "incrby",
    "append",
    "getrange",
    "setrange",
    "expire",
    "pexpire",
    "ttl",
    "rename",
    "copy",
    "msetnx",
    "lcs",
    "keys",
    "scan",
    "dbsize",
    "flushdb",
    "select",
    "swapdb",
    "type",
    "object",
    "randomkey",
    "info",
    "config",
    "client",
    "command",
    "hello",
    "ping",
    "echo",
    "getex",
    "incrbyfloat",
    "strlen",
    "persist",
    "touch",
    "unlink",
    "setex",
    "getdel",
    "time",
    "reset",
];

/// Decodes commands from the input (0xFE separates commands, 0xFF separates
/// arguments; a first argument byte below 64 names a command from a list),
/// sends them pipelined to a two-shard cluster, and asserts every command
/// gets exactly one well-formed reply.
pub fn command_dispatch(data: &[u8]) {
    let commands = decode_commands(data);
    let mut cluster = LoopbackCluster::new(2);
    let conn = cluster.shards[0].handle_connect("fuzz:1".to_string());
    let mut wire = Vec::new();
    for argv in &commands {
        wire.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
        for arg in argv {
            wire.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            wire.extend_from_slice(arg);
            wire.extend_from_slice(b"\r\n");
        }
    }
    cluster.shards[0].handle_input(conn, &wire);
    cluster.settle();
    let output = cluster.drain_output(0, conn);
    let mut replies = 0;
    let mut offset = 0;
    let mut protocol_switched = false;
    while offset < output.len() {
        match parse_frame(&output[offset..]) {
            Ok(Some((reply, used))) => {
                offset += used;
                replies += 1;
                protocol_switched |= matches!(reply, Reply::Map(_));
            }
            other => panic!("server wrote a malformed reply at byte {offset}: {other:?}"),
        }
    }
    let quit = commands.iter().position(|argv| {
        let name = argv[0].to_ascii_lowercase();
        name == b"quit" || name == b"shutdown"
    });
    match quit {
        None => assert_eq!(
            replies,
            commands.len(),
            "one reply per command (protocol switched: {protocol_switched})"
        ),
        Some(index) => assert!(replies <= index + 1, "no replies after QUIT/SHUTDOWN"),
    }
}

fn decode_commands(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
    const COMMANDS_MAX: usize = 64;
    data.split(|&b| b == 0xFE)
        .take(COMMANDS_MAX)
        .filter_map(|command| {
            let mut args: Vec<Vec<u8>> =
                command.split(|&b| b == 0xFF).map(<[u8]>::to_vec).collect();
            let first = args.first_mut()?;
            match first.first() {
                Some(&b) if b < 64 => {
                    *first = DISPATCH_NAMES[usize::from(b) % DISPATCH_NAMES.len()]
                        .as_bytes()
                        .to_vec()
                }
                Some(_) => {}
                None => return None,
            }
            Some(args)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays `fuzz/corpus/<target>/*` through a harness.
    pub(super) fn replay(target: &str, harness: fn(&[u8])) -> usize {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        #[allow(clippy::disallowed_methods)] // the corpus is test data on disk
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()));
        let mut count = 0;
        for entry in entries.flatten() {
            #[allow(clippy::disallowed_methods)]
            let data = std::fs::read(entry.path()).expect("corpus file readable");
            harness(&data);
            count += 1;
        }
        count
    }

    #[test]
    fn resp_parse_corpus_replays() {
        assert!(replay("resp_parse", resp_parse) > 0);
    }

    #[test]
    fn resp_roundtrip_corpus_replays() {
        assert!(replay("resp_roundtrip", resp_roundtrip) > 0);
    }

    #[test]
    fn command_dispatch_corpus_replays() {
        assert!(replay("command_dispatch", command_dispatch) > 0);
    }

    #[test]
    fn dispatch_harness_catches_a_missing_reply() {
        // The harness must notice when the server answers fewer commands than
        // were sent: an unfinished command (no reply) proves the check bites.
        let result = std::panic::catch_unwind(|| {
            let mut cluster = LoopbackCluster::new(2);
            let conn = cluster.shards[0].handle_connect("t".into());
            cluster.shards[0].handle_input(conn, b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\n");
            cluster.settle();
            let output = cluster.drain_output(0, conn);
            assert_eq!(output, b"+PONG\r\n");
            let mut count = 0;
            let mut offset = 0;
            while let Ok(Some((_, used))) = parse_frame(&output[offset..]) {
                offset += used;
                count += 1;
            }
            assert_eq!(count, 2, "one reply per command");
        });
        assert!(result.is_err());
    }

    #[test]
    fn cross_shard_commands_answer_through_the_loopback() {
        let mut input = Vec::new();
        for i in 0..50u8 {
            input.extend_from_slice(&[5, 0xFF, b'k', i, 0xFF, b'v', 0xFE]); // SET k<i> v<i>
        }
        input.extend_from_slice(&[2, 0xFF, b'k', 1, 0xFF, b'k', 2, 0xFF, b'k', 40]); // MGET
        command_dispatch(&input);
    }
}

/// Databases the snapshot harness loads into.
const SNAPSHOT_DB_COUNT: usize = 16;

/// Loads the input as a snapshot (after the first byte; when that byte is
/// odd the checksum in the last 8 bytes is first recomputed, so mutations
/// reach the record parser instead of stopping at the checksum). Asserts:
/// the loader never panics; an error names an offset inside the input;
/// every record it accepts is in range and holds no more payload than the
/// input had; and what it loaded, written again, loads back equal with the
/// same header.
pub fn snapshot_load(data: &[u8]) {
    use crate::persist::snapshot;
    use rand::SeedableRng;
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let mut input = input.to_vec();
    if mode % 2 == 1 && input.len() >= 8 {
        let checksum_at = input.len() - 8;
        let checksum = snapshot::checksum(&input[..checksum_at]);
        input[checksum_at..].copy_from_slice(&checksum.to_le_bytes());
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u64::from(mode));
    let mut loaded = Vec::new();
    let result = snapshot::load(&input, SNAPSHOT_DB_COUNT, &mut rng, |db, key, entry| {
        loaded.push((db, Bytes::copy_from_slice(key), entry));
    });
    let info = match result {
        Ok(info) => info,
        Err(error) => {
            assert!(
                error.offset() <= input.len(),
                "{error} (input {} bytes)",
                input.len()
            );
            assert!(error.to_string().contains(&error.offset().to_string()));
            return;
        }
    };
    assert_eq!(info.record_count, loaded.len() as u64);
    let payload_bytes: usize = loaded
        .iter()
        .map(|(db, key, entry)| {
            assert!(*db < SNAPSHOT_DB_COUNT);
            key.len() + canonical_payload_bytes(&entry.value.canonical())
        })
        .sum();
    assert!(payload_bytes <= input.len(), "more payload than input");
    let mut writer =
        snapshot::SnapshotWriter::new(info.shard_index, info.shard_count, info.created_ms);
    for (db, key, entry) in &loaded {
        writer.entry(*db, key, entry);
    }
    let again = writer.finish();
    let mut reloaded = Vec::new();
    let info_again = snapshot::load(&again, SNAPSHOT_DB_COUNT, &mut rng, |db, key, entry| {
        reloaded.push((db, Bytes::copy_from_slice(key), entry));
    })
    .unwrap_or_else(|error| panic!("a snapshot the writer made does not load: {error}"));
    assert_eq!(info_again, info);
    assert_eq!(reloaded.len(), loaded.len());
    for ((db, key, entry), (db_again, key_again, entry_again)) in loaded.iter().zip(&reloaded) {
        assert_eq!((db, key), (db_again, key_again));
        assert_eq!(entry.expire_at_ms(), entry_again.expire_at_ms());
        assert_eq!(entry.value.canonical(), entry_again.value.canonical());
    }
}

/// Bytes of data (elements, fields, members; not scores) in a value.
fn canonical_payload_bytes(value: &CanonicalValue) -> usize {
    match value {
        CanonicalValue::String(bytes) => bytes.len(),
        CanonicalValue::List(items) | CanonicalValue::Set(items) => {
            items.iter().map(Bytes::len).sum()
        }
        CanonicalValue::Hash(pairs) => pairs.iter().map(|(f, v)| f.len() + v.len()).sum(),
        CanonicalValue::ZSet(pairs) => pairs.iter().map(|(m, _)| m.len()).sum(),
    }
}

#[cfg(test)]
mod snapshot_load_tests {
    use super::*;
    use crate::keyspace::{Entry, Value};
    use crate::persist::snapshot::SnapshotWriter;

    #[test]
    fn snapshot_load_corpus_replays() {
        assert!(tests::replay("snapshot_load", snapshot_load) > 0);
    }

    /// Every truncation and every single-byte change of a valid snapshot,
    /// with and without the checksum repaired, goes through the harness.
    #[test]
    fn snapshot_load_survives_every_truncation_and_byte_flip() {
        let mut writer = SnapshotWriter::new(1, 4, 1_700_000_000_000);
        writer.entry(
            0,
            b"s",
            &Entry::new(Value::String(Bytes::from_static(b"v")), None),
        );
        writer.entry(
            3,
            b"l",
            &Entry::new(
                Value::List(Box::new({
                    let mut list = crate::keyspace::list::List::new();
                    list.push(crate::keyspace::list::End::Tail, Bytes::from_static(b"a"));
                    list.push(crate::keyspace::list::End::Tail, Bytes::from_static(b"b"));
                    list
                })),
                Some(1_800_000_000_000),
            ),
        );
        let snapshot = writer.finish();
        for mode in [0u8, 1] {
            for end in 0..=snapshot.len() {
                let mut data = vec![mode];
                data.extend_from_slice(&snapshot[..end]);
                snapshot_load(&data);
            }
            for index in 0..snapshot.len() {
                for flip in [0x01, 0x80, 0xFF] {
                    let mut data = vec![mode];
                    data.extend_from_slice(&snapshot);
                    data[1 + index] ^= flip;
                    snapshot_load(&data);
                }
            }
        }
    }
}
