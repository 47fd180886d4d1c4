//! Recovery run one shard at a time and in any other order: same result.

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::keyspace::Value;
use crate::persist::disk::MemDisk;
use crate::persist::shard_jobs::ShardJob;

const T_MS: u64 = 1_700_000_000_000;

/// Runs the jobs last shard first: a scheduler production could produce.
struct Reversed;

impl ShardJobs for Reversed {
    fn run_all<'a>(&self, mut jobs: Vec<ShardJob<'a>>) {
        jobs.reverse();
        for job in jobs {
            job();
        }
    }
}

fn records(epoch: u64, lines: &[&str], commands: &[&[&str]]) -> Vec<u8> {
    let mut out = format!("#E:{epoch}\r\n#T:{T_MS}\r\n").into_bytes();
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for argv in commands {
        let argv: Vec<Bytes> = argv
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        crate::persist::aof::encode_multibulk(&mut out, &argv);
    }
    out
}

/// Three shards under `everysec`, with snapshot bases holding data, a
/// transaction whose parts are on shard 1 and whose commit is on shard 0,
/// one whose commit is past the cut, and records past the cut.
fn three_shard_disk() -> MemDisk {
    let mut disk = MemDisk::default();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let policy = Policy::EverySec;
    crate::persist::open(&mut disk, policy, 3, 16, T_MS, &mut rng).expect("fresh directory");
    let manifest = |disk: &mut MemDisk| {
        crate::persist::read_manifest(disk)
            .expect("readable")
            .expect("written")
    };
    // Records past the cut (shard 2 stops at epoch 5): the next open starts
    // a new generation, so the bases become snapshots with data.
    let first = manifest(&mut disk);
    for (index, shard) in first.shards.iter().enumerate() {
        let key = format!("base{index}");
        let epoch = if index == 2 { 5 } else { 9 };
        let bytes = records(4, &[], &[&["SET", &key, "v"], &["SADD", "s", &key, "x"]]);
        disk.append(&shard.incr, &bytes).expect("in memory");
        let late = records(epoch, &[], &[&["SET", "late", "1"]]);
        disk.append(&shard.incr, &late).expect("in memory");
    }
    crate::persist::open(&mut disk, policy, 3, 16, T_MS + 1, &mut rng).expect("recovers");
    let second = manifest(&mut disk);
    assert!(second.shards.iter().all(|s| s.base.is_some()));
    let incr = |index: usize| second.shards[index].incr.clone();
    let shard0 = records(20, &["#C:5.1"], &[&["SET", "a", "0"]]);
    let shard0_late = records(22, &["#C:5.2"], &[]);
    let shard1 = records(
        20,
        &[],
        &[
            &["SET", "b", "1"],
            &["INCR", "counter"],
            &["RPUSH", "list", "x", "y"],
        ],
    );
    disk.append(&incr(0), &shard0).expect("in memory");
    disk.append(&incr(0), &shard0_late).expect("in memory");
    // Tagged parts: `#X:` precedes each record of an atomic operation.
    let mut tagged = b"#E:20\r\n#X:5.1\r\n".to_vec();
    crate::persist::aof::encode_multibulk(
        &mut tagged,
        &[Bytes::from("SET"), Bytes::from("t1"), Bytes::from("yes")],
    );
    tagged.extend_from_slice(b"#X:5.2\r\n");
    crate::persist::aof::encode_multibulk(
        &mut tagged,
        &[Bytes::from("SET"), Bytes::from("t2"), Bytes::from("no")],
    );
    disk.append(&incr(1), &shard1).expect("in memory");
    disk.append(&incr(1), &tagged).expect("in memory");
    let past = records(23, &[], &[&["SET", "past", "1"]]);
    disk.append(&incr(1), &past).expect("in memory");
    disk.append(&incr(2), &records(20, &[], &[&["SET", "c", "2"]]))
        .expect("in memory");
    // Shard 2 reached epoch 21 only: the cut is 21.
    disk.append(&incr(2), b"#E:21\r\n").expect("in memory");
    disk.append(&incr(2), b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n")
        .expect("a torn tail");
    disk
}

/// Every key of every shard, with its value and expire time, sorted.
fn contents(keyspaces: &[Keyspace]) -> Vec<(usize, usize, Bytes, Value, Option<u64>)> {
    let mut out = Vec::new();
    for (index, keyspace) in keyspaces.iter().enumerate() {
        for (db, database) in keyspace.dbs().iter().enumerate() {
            for (key, entry) in database.iter(0) {
                out.push((
                    index,
                    db,
                    key.clone(),
                    entry.value.clone(),
                    entry.expire_at_ms(),
                ));
            }
        }
    }
    out.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    out
}

fn recover_by(jobs: &dyn ShardJobs) -> (Vec<Keyspace>, RecoveryReport) {
    let mut disk = three_shard_disk();
    let manifest = crate::persist::read_manifest(&mut disk)
        .expect("readable")
        .expect("written");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    recover_on(
        &mut disk,
        &manifest,
        16,
        &mut rng,
        &RecoveryOptions::default(),
        jobs,
    )
    .expect("recovers")
}

#[test]
fn shards_recover_the_same_whatever_order_their_jobs_run_in() {
    let (in_order, in_order_report) = recover_by(&InOrder);
    let (reversed, reversed_report) = recover_by(&Reversed);
    assert_eq!(contents(&in_order), contents(&reversed));
    assert_eq!(in_order_report, reversed_report);
    assert_eq!(in_order.len(), 3);
}

#[test]
fn the_cut_and_the_commits_span_every_shard() {
    let (keyspaces, report) = recover_by(&Reversed);
    let keys: Vec<(usize, Bytes)> = contents(&keyspaces)
        .into_iter()
        .map(|(index, _, key, _, _)| (index, key))
        .collect();
    let has =
        |index: usize, key: &str| keys.contains(&(index, Bytes::copy_from_slice(key.as_bytes())));
    // Each shard's snapshot base.
    assert!((0..3).all(|index| has(index, &format!("base{index}"))));
    // Below the cut (21): replayed on every shard.
    assert!(has(0, "a") && has(1, "b") && has(1, "counter") && has(2, "c"));
    // Shard 1's part of a transaction shard 0 committed below the cut.
    assert!(has(1, "t1"));
    // A commit at epoch 22, past the cut: its part on shard 1 stays out.
    assert!(!has(1, "t2"));
    assert_eq!(report.uncommitted, 1);
    // Shard 1's record at epoch 23, past the cut.
    assert!(!has(1, "past"));
    assert_eq!(report.after_cut, 1);
    assert_eq!(report.trimmed.len(), 1, "shard 2's torn tail");
    assert_eq!(report.incr_lens.len(), 3);
    assert_eq!(report.max_txn_conn, 5);
    assert!(!report.replayed_all());
}

proptest::proptest! {
    #[test]
    fn number_accepts_what_str_parse_accepts(text in proptest::collection::vec(
        proptest::prop_oneof![
            proptest::num::u8::ANY,
            proptest::sample::select(b"0123456789+-".to_vec()),
        ],
        0..24,
    )) {
        let expected = std::str::from_utf8(&text).ok().and_then(|t| t.parse::<u64>().ok());
        proptest::prop_assert_eq!(number(&text).ok(), expected);
    }
}

#[test]
fn number_matches_str_parse_at_the_edges() {
    for text in [
        "0",
        "+0",
        "+",
        "",
        "-0",
        "18446744073709551615",
        "18446744073709551616",
        "007",
        " 7",
        "7 ",
        "1_0",
    ] {
        let expected = text.parse::<u64>().ok();
        assert_eq!(number(text.as_bytes()).ok(), expected, "{text:?}");
    }
}
