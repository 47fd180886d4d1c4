//! Engine bugs the simulator found, pinned as plain handler-level tests
//! (seeds shift whenever the command table grows; these do not). Each is
//! `#[ignore]`d until its fix lands; then the attribute goes.

use bytes::Bytes;
use corekv::commands::{run, Ctx, Exec, Table};
use corekv::keyspace::Keyspace;
use corekv::resp::Reply;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Runs `commands` in order on one keyspace, returning each reply.
fn replies(commands: &[&[&[u8]]]) -> Vec<Reply> {
    let table = Table::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut keyspace = Keyspace::new(16, &mut rng);
    commands
        .iter()
        .map(|argv| {
            let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
            let spec = table.lookup(&argv[0]).expect("command exists");
            let Exec::Keyspace { handler, .. } = spec.exec else {
                panic!("not a keyspace command")
            };
            let mut ctx = Ctx {
                keyspace: &mut keyspace,
                db_index: 0,
                now_ms: 1_700_000_000_000,
                now_us: 1_700_000_000_000_000,
                rng: &mut rng,
                shard_index: 0,
                shard_count: 1,
                proto_max_bulk_len: 512 * 1024 * 1024,
                loading: false,
            };
            run(handler, &mut ctx, argv)
        })
        .collect()
}

/// Simulator seed 212 (4 shards, 8 clients, 2000 ops; the seed's mix
/// shifts as the command table grows): SETRANGE over a sparse HyperLogLog
/// left a value with a valid header and a sparse body whose runs cover more
/// than 16384 registers. Multi-key PFCOUNT (the register-merge path) then
/// panicked the shard — hll.rs: "range end index 21170 out of range for
/// slice of length 16384" — where Redis replies `INVALIDOBJ Corrupted HLL
/// object detected`. (Single-key PFCOUNT and PFADD do validate.)
#[test]
fn pfcount_of_a_corrupted_sparse_hll_is_an_error_not_a_panic() {
    let corrupted: &[u8] =
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\{v53\x8cL\xac\x84NW";
    let out = replies(&[&[b"set", b"h", corrupted], &[b"pfcount", b"h", b"missing"]]);
    assert!(out[1].is_error(), "{:?}", out[1]);
}

/// Found by the simulator's durability checker with a planted torn-tail
/// bug (seed 80, `--aof always --clients 4 --ops 1000 --txn off --fault
/// skip-torn-trim`): recovery ran a logged command's handler without
/// checking its arity, so a well-formed record with too few arguments
/// (`HMSET k`, as a torn or hand-edited AOF holds) left an empty hash in
/// the keyspace, and writing the new generation's base then panicked
/// ("an empty collection is never stored"). A file on disk must never
/// panic the server (P6): the record is now refused as corruption.
#[test]
fn an_aof_record_with_too_few_arguments_is_corruption_not_a_panic() {
    use corekv::persist::{self, disk::Disk, disk::MemDisk, Policy};
    let mut disk = MemDisk::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let unix_ms = 1_700_000_000_000;
    persist::open(&mut disk, Policy::Always, 1, 16, unix_ms, &mut rng)
        .expect("a fresh directory opens");
    let manifest = persist::read_manifest(&mut disk)
        .expect("readable")
        .expect("written by the first open");
    let incr = manifest.shards[0].incr.clone();
    disk.append(
        &incr,
        b"#T:1700000000001\r\n*2\r\n$5\r\nHMSET\r\n$1\r\nk\r\n",
    )
    .expect("in memory");
    let reopened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        persist::open(&mut disk, Policy::Always, 1, 16, unix_ms + 10, &mut rng).map(|_| ())
    }));
    let result = reopened.expect("recovery must not panic");
    assert!(
        result.is_err(),
        "a command with too few arguments is corruption"
    );
}

/// Replay expires a key in the very millisecond its TTL ends, though the
/// key is live throughout that millisecond (a key expires once now > its
/// expire time). A gathered command's store is logged as `DEL`, the entry's
/// commands and `PEXPIREAT k T`, replayed at the store's time; when that
/// time is T itself, `PEXPIREAT` (as Redis runs it for a client, not while
/// loading) deletes the key. A write to it later in the same millisecond
/// (INCR keeps the TTL) then replays onto a missing key: in memory `k` is 2
/// until T and then gone; recovered, it is 1 with no TTL, forever. Found
/// reasoning from the simulator's restart-in-the-same-millisecond failures
/// (seeds 231 and 311 before restarts took at least 1 ms); fixed: replay
/// runs with `Ctx::loading`, which keeps keys whose time is up, as Redis
/// does while loading.
#[test]
fn a_key_stored_in_the_millisecond_its_ttl_ends_replays_as_it_ran() {
    use corekv::persist::{self, disk::Disk, disk::MemDisk, Policy};
    let t: u64 = 1_700_000_000_000;
    let mut disk = MemDisk::default();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    persist::open(&mut disk, Policy::Always, 1, 16, t - 10, &mut rng)
        .expect("a fresh directory opens");
    let manifest = persist::read_manifest(&mut disk)
        .expect("readable")
        .expect("written by the first open");
    let mut records = format!("#T:{t}\r\n").into_bytes();
    for argv in [
        vec!["DEL", "k"],
        vec!["SET", "k", "1"],
        vec!["PEXPIREAT", "k", &t.to_string()],
        vec!["INCR", "k"],
    ] {
        let argv: Vec<Bytes> = argv
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        persist::aof::encode_multibulk(&mut records, &argv);
    }
    disk.append(&manifest.shards[0].incr, &records)
        .expect("in memory");
    let opened = persist::open(&mut disk, Policy::Always, 1, 16, t, &mut rng).expect("recovers");
    let k = opened.keyspaces[0].dbs()[0]
        .iter(0)
        .find(|(key, _)| &key[..] == b"k")
        .map(|(_, entry)| (entry.value.clone(), entry.expire_at_ms()));
    assert_eq!(
        k,
        Some((
            corekv::keyspace::Value::String(Bytes::from_static(b"2")),
            Some(t)
        )),
        "in memory, k was 2 with its TTL ending at T"
    );
}

/// Epochs must never go back in a log, also across a restart with the wall
/// clock set back: recovery's cut is the smallest epoch every shard has
/// durably reached, so a run appending epochs below those its increments
/// already hold would make the next recovery cut the older records (found
/// with the simulator's clock steps back: acknowledged `everysec` writes
/// of the previous run lost). Recovery reports the largest epoch the
/// increments hold, and the logs it opens start no lower — whether they
/// append to the old files or start a new generation.
#[test]
fn a_wall_clock_set_back_across_a_restart_keeps_epochs_increasing() {
    use corekv::persist::{self, disk::Disk, disk::MemDisk, Policy};
    let t: u64 = 1_700_000_000_000;
    let ahead_epoch = persist::wall_epoch(t + 60_000);
    let mut disk = MemDisk::default();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    persist::open(&mut disk, Policy::EverySec, 2, 16, t, &mut rng)
        .expect("a fresh directory opens");
    let manifest = persist::read_manifest(&mut disk)
        .expect("readable")
        .expect("written by the first open");
    // A run whose clock was a minute ahead, stopped cleanly: nothing after
    // the cut, so the next start appends to these files.
    for shard in &manifest.shards {
        disk.append(&shard.incr, format!("#E:{ahead_epoch}\r\n").as_bytes())
            .expect("in memory");
    }
    let reopened =
        persist::open(&mut disk, Policy::EverySec, 2, 16, t, &mut rng).expect("recovers");
    assert!(reopened.report.replayed_all(), "the files are appended to");
    assert_eq!(reopened.report.max_epoch, ahead_epoch);
    for log in &reopened.logs {
        assert!(log.epoch_floor() >= ahead_epoch, "{}", log.epoch_floor());
    }
    // A torn tail: a new generation, whose logs start no lower either.
    let manifest = persist::read_manifest(&mut disk)
        .expect("readable")
        .expect("still there");
    disk.append(&manifest.shards[0].incr, b"*2\r\n$3\r\nDEL")
        .expect("in memory");
    let regenerated =
        persist::open(&mut disk, Policy::EverySec, 2, 16, t, &mut rng).expect("recovers");
    assert!(
        !regenerated.report.replayed_all(),
        "a new generation starts"
    );
    for log in &regenerated.logs {
        assert!(log.epoch_floor() >= ahead_epoch, "{}", log.epoch_floor());
    }
}

/// An expire time already past deletes the key at once (`PEXPIREAT k T` at
/// T, as Redis's `checkAlreadyExpired`: when <= now), but the AOF logged
/// the PEXPIREAT itself, and replay (`Ctx::loading`) keeps the key with
/// its TTL instead — live until T, so an APPEND in the same millisecond
/// landed on the old value, and both were gone once T passed: in memory
/// `k` was "v852" with no TTL, recovered it was missing. Found by the
/// simulator (seed 2379, `--aof always`: P4, "k12 recovered None, serial
/// Some(v852)"). The shard now logs such a command as the DEL it was
/// (`persist::may_delete_at_once`), as Redis propagates it; this pins that
/// the log it writes replays to what ran.
#[test]
fn an_expire_time_already_past_replays_as_the_delete_it_was() {
    use corekv::persist::{self, disk::Disk, disk::MemDisk, Policy};
    let t: u64 = 1_700_000_000_000;
    // In memory, at T: PEXPIREAT deletes k, APPEND makes it anew.
    let live = replies(&[
        &[b"set", b"k", b"v946", b"ex", b"1"],
        &[b"pexpireat", b"k", t.to_string().as_bytes()],
        &[b"append", b"k", b"v852"],
    ]);
    assert_eq!(live[1], Reply::Integer(1));
    assert_eq!(live[2], Reply::Integer(4), "APPEND found no key");
    let mut disk = MemDisk::default();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    persist::open(&mut disk, Policy::Always, 1, 16, t - 10, &mut rng)
        .expect("a fresh directory opens");
    let manifest = persist::read_manifest(&mut disk)
        .expect("readable")
        .expect("written by the first open");
    let table = Table::new();
    let pexpireat = table.lookup(b"pexpireat").expect("declared");
    assert!(persist::may_delete_at_once(pexpireat));
    // What the shard logs now, all at T.
    let mut records = format!("#T:{t}\r\n").into_bytes();
    for argv in [
        vec!["SET", "k", "v946", "EX", "1"],
        vec!["DEL", "k"],
        vec!["APPEND", "k", "v852"],
    ] {
        let argv: Vec<Bytes> = argv
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        persist::aof::encode_multibulk(&mut records, &argv);
    }
    disk.append(&manifest.shards[0].incr, &records)
        .expect("in memory");
    let opened =
        persist::open(&mut disk, Policy::Always, 1, 16, t + 5_000, &mut rng).expect("recovers");
    let k = opened.keyspaces[0].dbs()[0]
        .iter(t + 5_000)
        .find(|(key, _)| &key[..] == b"k")
        .map(|(_, entry)| (entry.value.clone(), entry.expire_at_ms()));
    assert_eq!(
        k,
        Some((
            corekv::keyspace::Value::String(Bytes::from_static(b"v852")),
            None
        )),
        "in memory, k was \"v852\" with no TTL"
    );
}
