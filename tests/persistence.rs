//! Persistence, black-box: the real `corekv` binary with `--appendonly yes`
//! on a scratch directory, real clients (the `redis` crate), real crashes
//! (SIGKILL through `Child::kill`), and the files on disk damaged by hand.
//!
//! What is pinned:
//! - a graceful restart brings back every key of every type with its TTL,
//!   twice in a row (an increment alone, then a snapshot base after
//!   BGREWRITEAOF plus an increment);
//! - under `appendfsync always`, every acknowledged write survives `kill -9`
//!   at a random moment, over many rounds on the same directory, and no
//!   cross-shard MSET or MULTI/EXEC comes back half applied;
//! - under `everysec`, crashes never split an MSET or a transaction, and
//!   writes acknowledged long enough before the crash survive;
//! - a torn tail is trimmed with a warning, corruption in the middle stops
//!   the start with the file and offset named, and `corekv check-aof`
//!   reports and fixes both;
//! - an AOF written by 2 shards is refused by a 1-shard server, and a
//!   missing increment refuses the start.
//!
//! Tests wait by polling, never by sleeping for the server; the only sleeps
//! choose when to crash it.

// Black-box tests stand outside the engine: they read clocks, spawn threads
// and open files and sockets, which clippy.toml bans only for the core.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corekv::persist::{Manifest, MANIFEST};
use corekv::slot::SlotMap;
use rand::{Rng, SeedableRng};

use common::*;

/// Shards in every test server but the shard-count mismatch's second start.
const THREADS: usize = 2;

fn server_args<'a>(dir: &'a TempDir, fsync: &'a str) -> Vec<&'a str> {
    vec![
        "--threads",
        "2",
        "--appendonly",
        "yes",
        "--appendfsync",
        fsync,
        "--dir",
        dir.arg(),
    ]
}

fn start(dir: &TempDir, fsync: &str) -> ServerProcess {
    ServerProcess::start(&server_args(dir, fsync))
}

/// Starts the server with its log kept in `log`.
fn start_logged(dir: &TempDir, fsync: &str, log: &Path) -> ServerProcess {
    ServerProcess::start_logged(&server_args(dir, fsync), log)
}

/// SHUTDOWN through a client, then waits for a successful exit.
fn shutdown(mut server: ServerProcess) {
    let mut client = server.client();
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut client);
    let status = server.wait_for_exit().expect("corekv exits after SHUTDOWN");
    assert!(
        status.success(),
        "corekv exited with {status} after SHUTDOWN"
    );
}

/// SIGKILL, and wait until the process is gone (so the next start does
/// not race it for the directory).
fn kill_9(mut server: ServerProcess) {
    server.child.kill().expect("SIGKILL corekv");
    server.child.wait().expect("reap corekv");
}

fn aof_dir(dir: &TempDir) -> PathBuf {
    dir.path.join("appendonlydir")
}

fn manifest(dir: &TempDir) -> Manifest {
    let text = std::fs::read_to_string(aof_dir(dir).join(MANIFEST)).expect("read the manifest");
    Manifest::decode(&text).expect("a valid manifest")
}

fn query<T: redis::FromRedisValue>(client: &mut redis::Connection, args: &[&str]) -> T {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query(client)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn run(client: &mut redis::Connection, args: &[&str]) {
    let _: redis::Value = query(client, args);
}

/// A key starting with `prefix` on the shard other than `other`'s, so a
/// command over both really spans two shards.
fn key_on_other_shard(prefix: &str, other: &str) -> String {
    let slots = SlotMap::new(THREADS);
    let shard = slots.shard_of_key(other.as_bytes());
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|key| slots.shard_of_key(key.as_bytes()) != shard)
        .expect("some key lands on the other shard")
}

// ---------------------------------------------------------------------------
// Graceful restart: every type, every key, every TTL
// ---------------------------------------------------------------------------

/// One key as the comparison sees it: its value in a type-specific,
/// order-normalised form, and its PTTL.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    value: String,
    pttl_ms: i64,
}

/// Every key of databases 0 and 3, read with plain commands (no DUMP).
fn snapshot(server: &ServerProcess) -> BTreeMap<(u8, String), Seen> {
    let mut seen = BTreeMap::new();
    for db in [0u8, 3] {
        let mut client = server.client();
        run(&mut client, &["SELECT", &db.to_string()]);
        let mut keys: Vec<String> = query(&mut client, &["KEYS", "*"]);
        keys.sort();
        for key in keys {
            let kind: String = query(&mut client, &["TYPE", &key]);
            let value = match kind.as_str() {
                "string" => {
                    let v: Vec<u8> = query(&mut client, &["GET", &key]);
                    format!("string {v:?}")
                }
                "list" => {
                    let v: Vec<String> = query(&mut client, &["LRANGE", &key, "0", "-1"]);
                    format!("list {v:?}")
                }
                "hash" => {
                    let v: BTreeMap<String, String> = query(&mut client, &["HGETALL", &key]);
                    format!("hash {v:?}")
                }
                "set" => {
                    let mut v: Vec<String> = query(&mut client, &["SMEMBERS", &key]);
                    v.sort();
                    format!("set {v:?}")
                }
                "zset" => {
                    let v: Vec<String> =
                        query(&mut client, &["ZRANGE", &key, "0", "-1", "WITHSCORES"]);
                    format!("zset {v:?}")
                }
                other => panic!("unexpected type {other} of {key}"),
            };
            let pttl_ms: i64 = query(&mut client, &["PTTL", &key]);
            seen.insert((db, key), Seen { value, pttl_ms });
        }
    }
    seen
}

/// Asserts that `after` (read `elapsed` after `before` started) holds the
/// same keys and values, and every TTL moved on by at most `elapsed`.
fn assert_same_data(
    before: &BTreeMap<(u8, String), Seen>,
    after: &BTreeMap<(u8, String), Seen>,
    elapsed: Duration,
) {
    let keys = |m: &BTreeMap<(u8, String), Seen>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(before), keys(after), "the same keys after the restart");
    let slack_ms = elapsed.as_millis() as i64 + 5;
    for (key, was) in before {
        let now = &after[key];
        assert_eq!(was.value, now.value, "value of {key:?}");
        if was.pttl_ms < 0 {
            assert_eq!(was.pttl_ms, now.pttl_ms, "no TTL on {key:?}");
        } else {
            let moved = was.pttl_ms - now.pttl_ms;
            assert!(
                (-5..=slack_ms).contains(&moved) && now.pttl_ms > 0,
                "TTL of {key:?}: {} ms before, {} ms after, {elapsed:?} apart",
                was.pttl_ms,
                now.pttl_ms
            );
        }
    }
}

/// Writes every type through the commands most likely to replay wrongly:
/// relative TTLs, SPOP (random), cross-shard MSET / RENAME / SMOVE / LMOVE
/// / SUNIONSTORE, MULTI/EXEC across shards, and a second database.
fn write_every_type(server: &ServerProcess, round: usize) {
    let mut client = server.client();
    let mut pipe = redis::pipe();
    for i in 0..200 {
        let key = format!("r{round}:str:{i}");
        match i % 4 {
            0 => pipe.cmd("SET").arg(&key).arg(format!("v{i}")),
            1 => pipe
                .cmd("SET")
                .arg(&key)
                .arg(format!("v{i}"))
                .arg("PX")
                .arg(600_000 + i * 1000),
            2 => pipe.cmd("SET").arg(&key).arg(i).arg("EX").arg(3600),
            _ => pipe.cmd("SETEX").arg(&key).arg(5000 + i).arg("x"),
        };
        pipe.cmd("APPEND").arg(&key).arg("+");
    }
    for i in 0..30 {
        let list = format!("r{round}:list:{i}");
        pipe.cmd("RPUSH")
            .arg(&list)
            .arg("a")
            .arg("b")
            .arg("c")
            .arg(i);
        pipe.cmd("LPUSH").arg(&list).arg("z");
        pipe.cmd("LPOP").arg(&list);
        pipe.cmd("LINSERT")
            .arg(&list)
            .arg("BEFORE")
            .arg("b")
            .arg("ins");
        pipe.cmd("LSET").arg(&list).arg(-1).arg("last");
        let hash = format!("r{round}:hash:{i}");
        pipe.cmd("HSET")
            .arg(&hash)
            .arg("f1")
            .arg("v1")
            .arg("f2")
            .arg(i);
        pipe.cmd("HINCRBY").arg(&hash).arg("n").arg(i + 1);
        pipe.cmd("HINCRBYFLOAT").arg(&hash).arg("x").arg("1.5");
        pipe.cmd("HDEL").arg(&hash).arg("f1");
        let set = format!("r{round}:set:{i}");
        pipe.cmd("SADD").arg(&set).arg((0..20).collect::<Vec<_>>());
        pipe.cmd("SREM").arg(&set).arg(3);
        pipe.cmd("SPOP").arg(&set);
        pipe.cmd("SPOP").arg(&set).arg(3);
        let zset = format!("r{round}:zset:{i}");
        pipe.cmd("ZADD")
            .arg(&zset)
            .arg(1.5)
            .arg("a")
            .arg(-2)
            .arg("b");
        pipe.cmd("ZADD")
            .arg(&zset)
            .arg("inf")
            .arg("c")
            .arg(0.1)
            .arg("d");
        pipe.cmd("ZINCRBY").arg(&zset).arg(2.25).arg("a");
        pipe.cmd("ZPOPMIN").arg(&zset);
        pipe.cmd("INCRBYFLOAT")
            .arg(format!("r{round}:float:{i}"))
            .arg("0.1");
        pipe.cmd("SETBIT")
            .arg(format!("r{round}:bits:{i}"))
            .arg(i * 7)
            .arg(1);
        pipe.cmd("PFADD")
            .arg(format!("r{round}:hll:{i}"))
            .arg("a")
            .arg(i);
        pipe.cmd("EXPIRE").arg(&hash).arg(7200);
        pipe.cmd("PEXPIRE").arg(&list).arg(9_000_000);
    }
    // Keys that expire before the restart must stay gone.
    pipe.cmd("SET")
        .arg(format!("r{round}:gone"))
        .arg(1)
        .arg("PX")
        .arg(1);
    pipe.cmd("DEL").arg(format!("r{round}:str:0"));
    pipe.cmd("PERSIST").arg(format!("r{round}:str:1"));
    let _: Vec<redis::Value> = pipe.query(&mut client).expect("the writes pipeline");

    for i in 0..20 {
        let a = format!("r{round}:mset:{i}:a");
        let b = key_on_other_shard(&format!("r{round}:mset:{i}:b"), &a);
        run(
            &mut client,
            &["MSET", &a, &format!("A{i}"), &b, &format!("B{i}")],
        );
        let c = key_on_other_shard(&format!("r{round}:multi:{i}:c"), &a);
        let mut transaction = redis::pipe();
        transaction
            .atomic()
            .cmd("APPEND")
            .arg(&a)
            .arg("+multi")
            .ignore()
            .cmd("INCR")
            .arg(format!("r{round}:multi:{i}:n"))
            .ignore()
            .cmd("RPUSH")
            .arg(&c)
            .arg("x")
            .ignore()
            .cmd("HSET")
            .arg(format!("r{round}:multi:{i}:h"))
            .arg("f")
            .arg(i)
            .ignore()
            .cmd("SPOP")
            .arg(format!("r{round}:set:{i}"))
            .ignore()
            .cmd("PEXPIRE")
            .arg(&b)
            .arg(500_000)
            .ignore();
        let _: () = transaction.query(&mut client).expect("MULTI/EXEC");
    }
    let a = format!("r{round}:rename:src");
    let b = key_on_other_shard(&format!("r{round}:rename:dst"), &a);
    run(&mut client, &["SET", &a, "moved", "PX", "800000"]);
    run(&mut client, &["RENAME", &a, &b]);
    let s1 = format!("r{round}:set:5");
    let s2 = key_on_other_shard(&format!("r{round}:smove:"), &s1);
    run(&mut client, &["SADD", &s2, "seed"]);
    let members: Vec<String> = query(&mut client, &["SMEMBERS", &s1]);
    run(&mut client, &["SMOVE", &s1, &s2, &members[0]]);
    let l1 = format!("r{round}:list:3");
    let l2 = key_on_other_shard(&format!("r{round}:lmove:"), &l1);
    run(&mut client, &["LMOVE", &l1, &l2, "LEFT", "RIGHT"]);
    let union = key_on_other_shard(&format!("r{round}:union:"), &s1);
    run(
        &mut client,
        &["SUNIONSTORE", &union, &s1, &s2, &format!("r{round}:set:6")],
    );
    let zunion = format!("r{round}:zunion");
    let z = [format!("r{round}:zset:1"), format!("r{round}:zset:2")];
    run(&mut client, &["ZUNIONSTORE", &zunion, "2", &z[0], &z[1]]);
    run(
        &mut client,
        &[
            "MSETNX",
            &format!("r{round}:nx:1"),
            "1",
            &format!("r{round}:nx:2"),
            "2",
        ],
    );

    run(&mut client, &["SELECT", "3"]);
    for i in 0..20 {
        run(
            &mut client,
            &["SET", &format!("r{round}:db3:{i}"), &i.to_string()],
        );
        run(
            &mut client,
            &[
                "ZADD",
                &format!("r{round}:db3:z"),
                &i.to_string(),
                &format!("m{i}"),
            ],
        );
    }
    run(
        &mut client,
        &["EXPIRE", &format!("r{round}:db3:z"), "100000"],
    );
    run(&mut client, &["FLUSHDB"]);
    run(
        &mut client,
        &["HSET", &format!("r{round}:db3:after-flush"), "f", "v"],
    );
}

/// BGREWRITEAOF, and waits until the rewrite is done.
fn rewrite_aof(server: &ServerProcess) {
    let mut raw = server.raw();
    let rewrites = |raw: &mut RawClient| raw.info_field("persistence", "aof_rewrites");
    let before = rewrites(&mut raw);
    raw.call_words("BGREWRITEAOF");
    poll_until("BGREWRITEAOF finishes", || {
        raw.info_field("persistence", "aof_rewrite_in_progress") == "0"
            && rewrites(&mut raw) != before
    });
}

#[test]
fn every_type_survives_graceful_restarts() {
    let dir = TempDir::new("graceful");
    let mut server = start(&dir, "everysec");
    write_every_type(&server, 0);
    // Restart 1 replays an increment (after a clean stop the files are
    // appended to). Then BGREWRITEAOF turns it into a snapshot base, so
    // restart 2 loads a base and replays a new increment over it.
    for round in 1..=2 {
        let started = Instant::now();
        let before = snapshot(&server);
        assert!(
            before.len() > 400,
            "the workload wrote {} keys",
            before.len()
        );
        assert!(!before.contains_key(&(0, format!("r{}:gone", round - 1))));
        shutdown(server);
        server = start(&dir, "everysec");
        let after = snapshot(&server);
        assert_same_data(&before, &after, started.elapsed());
        if round == 1 {
            rewrite_aof(&server);
            assert!(manifest(&dir).shards.iter().all(|s| s.base.is_some()));
        }
        write_every_type(&server, round);
    }
    shutdown(server);
}

// ---------------------------------------------------------------------------
// kill -9: acknowledged writes survive, atomic writes never split
// ---------------------------------------------------------------------------

/// One monotonic quantity a client writes, as far as the test knows: the
/// value recovered at the start of the round, each value acknowledged
/// since (with when), and the value of a write sent but not answered.
#[derive(Debug, Default)]
struct Track {
    base: i64,
    acks: Vec<(Instant, i64)>,
    in_flight: Option<i64>,
}

impl Track {
    fn last(&self) -> i64 {
        self.acks.last().map_or(self.base, |(_, v)| *v)
    }

    fn send(&mut self, value: i64) {
        self.in_flight = Some(value);
    }

    fn ack(&mut self, value: i64) {
        assert_eq!(
            self.in_flight.take(),
            Some(value),
            "acknowledged what was sent"
        );
        self.acks.push((Instant::now(), value));
    }

    /// Checks the recovered value `got`: it is a value that was written,
    /// at least the last one acknowledged before `durable_before`.
    fn check(&mut self, what: &str, got: i64, durable_before: Instant) {
        let floor = self
            .acks
            .iter()
            .rev()
            .find(|(at, _)| *at < durable_before)
            .map_or(self.base, |(_, v)| *v);
        let written = got == self.base
            || self.acks.iter().any(|(_, v)| *v == got)
            || self.in_flight == Some(got);
        assert!(
            written && got >= floor,
            "{what}: recovered {got}, but the durable floor is {floor} (last acked {}, \
             in flight {:?}, base {})",
            self.last(),
            self.in_flight,
            self.base
        );
        *self = Track {
            base: got,
            ..Track::default()
        };
    }
}

/// One client's keys and what it knows of them.
#[derive(Debug)]
struct ClientModel {
    counter_key: String,
    list_key: String,
    /// Two keys on different shards, always set together by MSET.
    pair: (String, String),
    /// Two keys on different shards, incremented together in MULTI/EXEC.
    txn: (String, String),
    counter: Track,
    /// The list's length; its content is `pushed`'s prefix.
    list: Track,
    pushed: Vec<String>,
    pair_generation: Track,
    txn_value: Track,
    /// Ever increasing, never reused: makes every pushed value unique.
    next_serial: i64,
}

impl ClientModel {
    fn new(id: usize) -> ClientModel {
        let pair_a = format!("c{id}:pair:a");
        let txn_a = format!("c{id}:txn:x");
        ClientModel {
            counter_key: format!("c{id}:counter"),
            list_key: format!("c{id}:list"),
            pair: (
                pair_a.clone(),
                key_on_other_shard(&format!("c{id}:pair:b"), &pair_a),
            ),
            txn: (
                txn_a.clone(),
                key_on_other_shard(&format!("c{id}:txn:y"), &txn_a),
            ),
            counter: Track::default(),
            list: Track::default(),
            pushed: Vec::new(),
            pair_generation: Track::default(),
            txn_value: Track::default(),
            next_serial: 1,
        }
    }

    /// One step of writes, each acknowledged before the next is sent. Any
    /// error (the server died) ends the client's round.
    fn step(&mut self, client: &mut redis::Connection) -> redis::RedisResult<()> {
        let serial = self.next_serial;
        self.next_serial += 1;

        let next = self.counter.last() + 1;
        self.counter.send(next);
        let got: i64 = redis::cmd("INCR").arg(&self.counter_key).query(client)?;
        assert_eq!(got, next, "INCR of {}", self.counter_key);
        self.counter.ack(got);

        let value = format!("v{serial}");
        self.pushed.truncate(self.list.last() as usize);
        self.pushed.push(value.clone());
        self.list.send(self.pushed.len() as i64);
        let len: i64 = redis::cmd("RPUSH")
            .arg(&self.list_key)
            .arg(&value)
            .query(client)?;
        self.list.ack(len);

        self.pair_generation.send(serial);
        let _: () = redis::cmd("MSET")
            .arg(&self.pair.0)
            .arg(serial)
            .arg(&self.pair.1)
            .arg(serial)
            .query(client)?;
        self.pair_generation.ack(serial);

        let next = self.txn_value.last() + 1;
        self.txn_value.send(next);
        let (x, y): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&self.txn.0)
            .cmd("INCR")
            .arg(&self.txn.1)
            .query(client)?;
        assert_eq!((x, y), (next, next), "MULTI INCR INCR of {:?}", self.txn);
        self.txn_value.ack(next);
        Ok(())
    }

    /// Reads the keys back after a restart and checks them against what
    /// was acknowledged before `durable_before` (and what was in flight).
    fn verify(&mut self, client: &mut redis::Connection, durable_before: Instant) {
        let counter: Option<i64> = query(client, &["GET", &self.counter_key]);
        self.counter
            .check(&self.counter_key, counter.unwrap_or(0), durable_before);

        let list: Vec<String> = query(client, &["LRANGE", &self.list_key, "0", "-1"]);
        assert!(
            self.pushed.starts_with(&list),
            "{} holds {list:?}, not a prefix of what was pushed {:?}",
            self.list_key,
            self.pushed
        );
        self.list
            .check(&self.list_key, list.len() as i64, durable_before);
        self.pushed = list;

        let (a, b) = (&self.pair.0, &self.pair.1);
        let pair: (Option<i64>, Option<i64>) = query(client, &["MGET", a, b]);
        assert_eq!(pair.0, pair.1, "MSET {a} {b} came back half applied");
        self.pair_generation
            .check("the MSET pair", pair.0.unwrap_or(0), durable_before);

        let (x, y) = (&self.txn.0, &self.txn.1);
        let txn: (Option<i64>, Option<i64>) = query(client, &["MGET", x, y]);
        assert_eq!(txn.0, txn.1, "MULTI/EXEC on {x} {y} came back half applied");
        self.txn_value
            .check("the MULTI/EXEC pair", txn.0.unwrap_or(0), durable_before);
    }
}

/// Runs `clients` against `server` until `crash_after`, then kills it with
/// SIGKILL. Returns the models (with their in-flight writes) and the
/// moment of the kill.
fn crash_round(
    server: ServerProcess,
    models: Vec<ClientModel>,
    crash_after: Duration,
) -> (Vec<ClientModel>, Instant, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    // Every client connects before the crash is scheduled, so even a crash
    // at once finds them connected (their first write then fails).
    let workers: Vec<_> = models
        .into_iter()
        .map(|mut model| {
            let mut client = server.client();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut steps = 0;
                while !stop.load(Ordering::SeqCst) && model.step(&mut client).is_ok() {
                    steps += 1;
                }
                (model, steps)
            })
        })
        .collect();
    std::thread::sleep(crash_after);
    kill_9(server);
    let killed_at = Instant::now();
    stop.store(true, Ordering::SeqCst);
    let mut models = Vec::new();
    let mut steps = 0;
    for worker in workers {
        let (model, count) = worker.join().expect("client thread");
        models.push(model);
        steps += count;
    }
    (models, killed_at, steps)
}

/// Starts the server and SIGKILLs it after `after`, whether or not it has
/// finished starting: recovery and the switch to a new generation (a base
/// per shard, then the manifest) must survive a crash at any point.
fn kill_during_start(dir: &TempDir, fsync: &str, after: Duration) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["--port", &free_port().to_string()])
        .args(server_args(dir, fsync))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the corekv binary");
    std::thread::sleep(after);
    child.kill().expect("SIGKILL corekv");
    child.wait().expect("reap corekv");
}

/// Rounds of: start on the same directory (sometimes crashing it during
/// start-up first), check every client's keys
/// against what it had acknowledged before the last crash, write for a
/// random while, SIGKILL. `durable_margin` is how long before the kill a
/// write must have been acknowledged to be owed (zero for `always`).
fn kill_9_rounds(fsync: &str, rounds: usize, crash_ms: (u64, u64), durable_margin: Duration) {
    let seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    eprintln!("kill -9 rounds ({fsync}): seed {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = TempDir::new(&format!("kill9-{fsync}"));
    let mut models: Vec<ClientModel> = (0..4).map(ClientModel::new).collect();
    let mut killed_at = Instant::now();
    let mut total_steps = 0;
    for round in 0..=rounds {
        if round > 0 && rng.gen_bool(0.3) {
            let after = Duration::from_millis(rng.gen_range(0..=60));
            kill_during_start(&dir, fsync, after);
            eprintln!("round {round}: killed during start-up after {after:?}");
        }
        let server = start(&dir, fsync);
        let mut client = server.client();
        for model in &mut models {
            model.verify(&mut client, killed_at - durable_margin);
        }
        drop(client);
        if round == rounds {
            shutdown(server);
            break;
        }
        let crash_after = Duration::from_millis(rng.gen_range(crash_ms.0..=crash_ms.1));
        let (after, at, steps) = crash_round(server, models, crash_after);
        models = after;
        killed_at = at;
        total_steps += steps;
        eprintln!("round {round}: killed after {crash_after:?}, {steps} steps acknowledged");
    }
    assert!(
        total_steps > rounds,
        "the clients barely wrote: {total_steps} steps over {rounds} rounds"
    );
    let check = run_corekv(&["check-aof", aof_dir(&dir).to_str().expect("utf-8")]);
    assert_eq!(
        check.status.and_then(|s| s.code()),
        Some(0),
        "{}",
        check.output
    );
}

#[test]
fn kill_9_under_appendfsync_always_loses_no_acknowledged_write() {
    kill_9_rounds("always", 25, (0, 400), Duration::ZERO);
}

#[test]
fn kill_9_under_everysec_never_splits_an_mset_and_keeps_old_writes() {
    // `everysec` owes writes acknowledged over a second before the crash
    // (see persist::EVERYSEC_SYNC_MS); half a second more absorbs a slow
    // CI machine's scheduling.
    kill_9_rounds("everysec", 3, (1500, 2500), Duration::from_millis(1500));
}

// ---------------------------------------------------------------------------
// Damaged files
// ---------------------------------------------------------------------------

fn set_keys(server: &ServerProcess, prefix: &str, count: usize) {
    let mut client = server.client();
    for i in 0..count {
        run(
            &mut client,
            &["SET", &format!("{prefix}{i}"), &format!("v{i}")],
        );
    }
}

fn assert_keys(server: &ServerProcess, prefix: &str, count: usize) {
    let mut client = server.client();
    for i in 0..count {
        let key = format!("{prefix}{i}");
        let value: Option<String> = query(&mut client, &["GET", &key]);
        assert_eq!(value, Some(format!("v{i}")), "{key} after the restart");
    }
}

fn exit_code(finished: &Finished) -> Option<i32> {
    finished.status.and_then(|s| s.code())
}

#[test]
fn a_torn_tail_is_trimmed_with_a_warning_and_the_server_keeps_working() {
    let dir = TempDir::new("torn");
    let server = start(&dir, "always");
    set_keys(&server, "before:", 100);
    shutdown(server);

    let incr = manifest(&dir).shards[0].incr.clone();
    let path = aof_dir(&dir).join(&incr);
    let mut bytes = std::fs::read(&path).expect("read the increment");
    let valid_len = bytes.len();
    let torn: &[u8] = b"*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$5\r\nva";
    bytes.extend_from_slice(torn);
    std::fs::write(&path, &bytes).expect("tear the increment");

    let check = run_corekv(&["check-aof", path.to_str().expect("utf-8")]);
    assert_eq!(exit_code(&check), Some(1), "{}", check.output);
    let expected = format!(
        "the last {} bytes at offset {valid_len} are an incomplete command",
        torn.len()
    );
    assert!(check.output.contains(&expected), "{}", check.output);

    let log_dir = TempDir::new("torn-log");
    let log = log_dir.path.join("corekv.log");
    let server = start_logged(&dir, "always", &log);
    assert_keys(&server, "before:", 100);
    let value: Option<String> = query(&mut server.client(), &["GET", "torn"]);
    assert_eq!(value, None, "the torn command is not replayed");
    set_keys(&server, "after:", 100);
    shutdown(server);
    let text = strip_ansi(&std::fs::read_to_string(&log).expect("read the log"));
    assert!(
        text.contains("torn")
            && text.contains(&format!("file={incr}"))
            && text.contains(&format!("offset={valid_len}")),
        "the start-up log warns about the torn tail:\n{text}"
    );

    let server = start(&dir, "always");
    assert_keys(&server, "before:", 100);
    assert_keys(&server, "after:", 100);
    shutdown(server);
}

#[test]
fn corruption_in_the_middle_stops_the_start_until_check_aof_fixes_it() {
    let dir = TempDir::new("corrupt");
    let server = start(&dir, "always");
    set_keys(&server, "k", 200);
    shutdown(server);

    // Damage the 30th command of shard 1's increment: "*3" becomes "*x".
    let incr = manifest(&dir).shards[1].incr.clone();
    let path = aof_dir(&dir).join(&incr);
    let mut bytes = std::fs::read(&path).expect("read the increment");
    let parsed =
        corekv::persist::load::parse_log(&bytes::Bytes::from(bytes.clone())).expect("parses");
    let sets: Vec<(usize, String)> = parsed
        .items
        .iter()
        .filter_map(|(offset, item)| match item {
            corekv::persist::load::Item::Command(argv) if argv[0].eq_ignore_ascii_case(b"set") => {
                Some((*offset, String::from_utf8_lossy(&argv[1]).into_owned()))
            }
            _ => None,
        })
        .collect();
    assert!(sets.len() > 40, "shard 1 logged {} SETs", sets.len());
    let offset = sets[30].0;
    bytes[offset + 1] = b'x';
    std::fs::write(&path, &bytes).expect("corrupt the increment");

    let refused = run_corekv(&[
        "--port",
        &free_port().to_string(),
        "--threads",
        "2",
        "--appendonly",
        "yes",
        "--dir",
        dir.arg(),
    ]);
    assert!(
        refused.status.is_some_and(|s| !s.success()),
        "corekv must refuse to start: {:?}\n{}",
        refused.status,
        refused.output
    );
    assert!(
        refused.output.contains(&incr) && refused.output.contains(&format!("offset {offset}")),
        "the refusal names the file and the offset {offset}:\n{}",
        refused.output
    );

    let aof = aof_dir(&dir);
    let aof = aof.to_str().expect("utf-8");
    let discarded = bytes.len() - offset;
    for target in [aof, path.to_str().expect("utf-8")] {
        let check = run_corekv(&["check-aof", target]);
        assert_eq!(exit_code(&check), Some(1), "{}", check.output);
        let expected = format!("{incr}: ");
        assert!(check.output.contains(&expected), "{}", check.output);
        let expected = format!("bad format at offset {offset}: ");
        assert!(check.output.contains(&expected), "{}", check.output);
        assert!(
            check.output.contains("AOF is not valid"),
            "{}",
            check.output
        );
    }
    assert_eq!(
        std::fs::read(&path).expect("read"),
        bytes,
        "no change without --fix"
    );

    let fixed = run_corekv(&["check-aof", "--fix", aof]);
    assert_eq!(exit_code(&fixed), Some(0), "{}", fixed.output);
    let expected = format!("truncated to {offset} bytes ({discarded} bytes discarded)");
    assert!(fixed.output.contains(&expected), "{}", fixed.output);
    let again = run_corekv(&["check-aof", aof]);
    assert_eq!(exit_code(&again), Some(0), "{}", again.output);
    assert!(again.output.contains("AOF is valid"), "{}", again.output);

    let server = start(&dir, "always");
    let lost: HashSet<&str> = sets[30..].iter().map(|(_, key)| key.as_str()).collect();
    let mut client = server.client();
    for i in 0..200 {
        let key = format!("k{i}");
        let value: Option<String> = query(&mut client, &["GET", &key]);
        let expected = (!lost.contains(key.as_str())).then(|| format!("v{i}"));
        assert_eq!(value, expected, "{key}: kept before the cut, gone after it");
    }
    shutdown(server);
}

#[test]
fn an_aof_of_two_shards_is_refused_by_a_one_shard_server() {
    let dir = TempDir::new("shards");
    let server = start(&dir, "everysec");
    set_keys(&server, "k", 50);
    shutdown(server);

    let refused = run_corekv(&[
        "--port",
        &free_port().to_string(),
        "--threads",
        "1",
        "--appendonly",
        "yes",
        "--dir",
        dir.arg(),
    ]);
    assert!(
        refused.status.is_some_and(|s| !s.success()),
        "a 1-shard server must refuse a 2-shard AOF: {:?}\n{}",
        refused.status,
        refused.output
    );
    assert!(
        refused.output.contains("written by 2 shards") && refused.output.contains("--threads 2"),
        "the refusal says why and what to do:\n{}",
        refused.output
    );
    assert_eq!(
        manifest(&dir).shards.len(),
        2,
        "the refused start changed nothing"
    );

    let server = start(&dir, "everysec");
    assert_keys(&server, "k", 50);
    shutdown(server);
}

#[test]
fn a_custom_appenddirname_is_used_and_check_aof_accepts_a_clean_directory() {
    let dir = TempDir::new("dirname");
    let mut args = server_args(&dir, "always");
    args.extend(["--appenddirname", "mylogs"]);
    let server = ServerProcess::start(&args);
    set_keys(&server, "k", 20);
    shutdown(server);
    assert!(dir.path.join("mylogs").join(MANIFEST).is_file());
    assert!(!aof_dir(&dir).exists());
    let check = run_corekv(&[
        "check-aof",
        dir.path.join("mylogs").to_str().expect("utf-8"),
    ]);
    assert_eq!(exit_code(&check), Some(0), "{}", check.output);
    assert!(
        check
            .output
            .contains("corekv.manifest: OK (generation 1, appendfsync always, 2 shards)"),
        "{}",
        check.output
    );
    let server = ServerProcess::start(&args);
    assert_keys(&server, "k", 20);
    shutdown(server);
}

/// A file the manifest names but the directory lacks means lost data:
/// Redis refuses to start then, and so must corekv, rather than load the
/// rest (it once read a missing increment as empty).
#[test]
fn a_missing_increment_stops_the_start() {
    let dir = TempDir::new("missing");
    let server = start(&dir, "always");
    set_keys(&server, "k", 50);
    shutdown(server);
    let incr = manifest(&dir).shards[0].incr.clone();
    std::fs::remove_file(aof_dir(&dir).join(&incr)).expect("remove the increment");

    let check = run_corekv(&["check-aof", aof_dir(&dir).to_str().expect("utf-8")]);
    assert_eq!(exit_code(&check), Some(1), "{}", check.output);
    assert!(
        check.output.contains(&format!("{incr}: MISSING")),
        "{}",
        check.output
    );

    let refused = run_corekv(&[
        "--port",
        &free_port().to_string(),
        "--threads",
        "2",
        "--appendonly",
        "yes",
        "--dir",
        dir.arg(),
    ]);
    assert!(
        refused.status.is_some_and(|s| !s.success()) && refused.output.contains(&incr),
        "corekv must refuse to start without {incr}: {:?}\n{}",
        refused.status,
        refused.output
    );
}

// ---------------------------------------------------------------------------
// BGSAVE and BGREWRITEAOF while a client keeps writing
// ---------------------------------------------------------------------------

/// Pairs the writer keeps rewriting: enough for a background job to take
/// many slices (a shard writes about 1 000 keys per slice).
const PAIRS: usize = 100_000;
/// MSETs per pipelined batch of the writer.
const WRITER_BATCH: usize = 250;

/// The two keys of pair `i`: hash tags on different shards, so each MSET
/// spans both shards.
fn pair_keys(tags: &(String, String), i: usize) -> (String, String) {
    (format!("{{{}}}:{i}", tags.0), format!("{{{}}}:{i}", tags.1))
}

fn pair_tags() -> (String, String) {
    let slots = SlotMap::new(THREADS);
    let first = slots.shard_of_key(b"{a}");
    let other = (0..)
        .map(|i| format!("b{i}"))
        .find(|tag| slots.shard_of_key(format!("{{{tag}}}").as_bytes()) != first)
        .expect("some tag lands on the other shard");
    ("a".to_string(), other)
}

/// Writes `MSET <pair i> <round>` for every pair, round after round from
/// `first_round`, until `stop` (checked between batches); returns the
/// position written last, as (round, pairs of that round written).
fn write_pairs(
    port: u16,
    tags: (String, String),
    first_round: u64,
    stop: Arc<AtomicBool>,
    batches: Arc<std::sync::atomic::AtomicUsize>,
) -> (u64, usize) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let mut connection = client.get_connection().expect("connect");
    let mut round = first_round;
    loop {
        for start in (0..PAIRS).step_by(WRITER_BATCH) {
            let mut pipe = redis::pipe();
            for i in start..(start + WRITER_BATCH).min(PAIRS) {
                let (a, b) = pair_keys(&tags, i);
                pipe.cmd("MSET")
                    .arg(a)
                    .arg(round)
                    .arg(b)
                    .arg(round)
                    .ignore();
            }
            let () = pipe.query(&mut connection).expect("the writer's MSETs");
            batches.fetch_add(1, Ordering::SeqCst);
            let written = (start + WRITER_BATCH).min(PAIRS);
            if stop.load(Ordering::SeqCst) {
                return (round, written);
            }
        }
        round += 1;
    }
}

/// Sets every pair to round 0.
fn write_round_zero(server: &ServerProcess, tags: &(String, String)) {
    let mut client = server.client();
    let mut pipe = redis::pipe();
    for i in 0..PAIRS {
        let (a, b) = pair_keys(tags, i);
        pipe.cmd("MSET").arg(a).arg(0).arg(b).arg(0).ignore();
    }
    let () = pipe.query(&mut client).expect("round 0");
}

/// Every pair's round, checking both keys agree (an MSET is atomic).
fn read_pairs(server: &ServerProcess, tags: &(String, String)) -> Vec<u64> {
    let mut client = server.client();
    let mut rounds = Vec::with_capacity(PAIRS);
    for start in (0..PAIRS).step_by(1000) {
        let mut keys = Vec::new();
        for i in start..(start + 1000).min(PAIRS) {
            let (a, b) = pair_keys(tags, i);
            keys.push(a);
            keys.push(b);
        }
        let values: Vec<Option<u64>> = redis::cmd("MGET")
            .arg(&keys)
            .query(&mut client)
            .expect("MGET the pairs");
        for (offset, pair) in values.chunks(2).enumerate() {
            let i = start + offset;
            assert_eq!(pair[0], pair[1], "pair {i} was split: {pair:?}");
            rounds.push(pair[0].unwrap_or_else(|| panic!("pair {i} is missing")));
        }
    }
    rounds
}

/// The writer's history as of some point: pairs before `split` in round
/// `r`, the rest in round `r - 1`. Returns (r, split).
fn history_point(rounds: &[u64]) -> (u64, usize) {
    let high = rounds.iter().copied().max().expect("pairs");
    let split = rounds.iter().take_while(|&&r| r == high).count();
    for (i, &round) in rounds.iter().enumerate() {
        let expected = if i < split { high } else { high - 1 };
        assert_eq!(
            round, expected,
            "pair {i} holds round {round}: not one point of the writer's history \
             (pairs 0..{split} hold {high})"
        );
    }
    (high, split)
}

/// Starts the writer on `server`, runs `job` (BGSAVE or BGREWRITEAOF)
/// while it writes, waits for the job to end, lets the writer go on a
/// little, and returns where the writer stopped.
fn job_under_writes(server: &ServerProcess, tags: &(String, String), job: &str) -> (u64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (port, tags, stop, batches) =
            (server.port, tags.clone(), stop.clone(), batches.clone());
        std::thread::spawn(move || write_pairs(port, tags, 1, stop, batches))
    };
    poll_until("the writer is under way", || {
        batches.load(Ordering::SeqCst) >= 10
    });
    let mut raw = server.raw();
    let (progress, status, started) = match job {
        "BGSAVE" => (
            "rdb_bgsave_in_progress",
            "rdb_last_bgsave_status",
            "Background saving started",
        ),
        _ => (
            "aof_rewrite_in_progress",
            "aof_last_bgrewrite_status",
            "Background append only file rewriting started",
        ),
    };
    assert_eq!(raw.call_words(job), simple(started));
    poll_until("the background job ends", || {
        raw.info_field("persistence", progress) == "0"
    });
    assert_eq!(raw.info_field("persistence", status), "ok");
    let after = batches.load(Ordering::SeqCst);
    poll_until("the writer goes on", || {
        batches.load(Ordering::SeqCst) >= after + 10
    });
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("the writer thread")
}

/// BGSAVE writes the keyspace as of one point while the shards keep
/// serving: loaded back, it shows a prefix of one client's cross-shard
/// MSETs, none split.
#[test]
fn bgsave_while_writing_saves_one_point_in_time() {
    let dir = TempDir::new("bgsave");
    let args = ["--threads", "2", "--appendonly", "no", "--dir", dir.arg()];
    let tags = pair_tags();
    let server = ServerProcess::start(&args);
    write_round_zero(&server, &tags);
    let (last_round, last_split) = job_under_writes(&server, &tags, "BGSAVE");
    kill_9(server);

    let server = ServerProcess::start(&args);
    let (round, split) = history_point(&read_pairs(&server, &tags));
    assert!(
        (round, split) < (last_round, last_split),
        "the snapshot holds ({round}, {split}), written before the writer \
         stopped at ({last_round}, {last_split})"
    );
    let files: Vec<String> = std::fs::read_dir(&dir.path)
        .expect("list dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("dump-"))
        .collect();
    assert_eq!(
        files.len(),
        THREADS,
        "one snapshot file per shard: {files:?}"
    );
}

/// BGREWRITEAOF while writing: the new base (one point) plus the new
/// increment (everything after) hold every acknowledged write.
#[test]
fn bgrewriteaof_while_writing_loses_nothing() {
    let dir = TempDir::new("rewrite-writes");
    let tags = pair_tags();
    let server = start(&dir, "everysec");
    write_round_zero(&server, &tags);
    let before = manifest(&dir).generation;
    let (last_round, last_split) = job_under_writes(&server, &tags, "BGREWRITEAOF");
    let after = manifest(&dir);
    assert!(after.generation > before);
    assert!(after.shards.iter().all(|s| s.base.is_some()));
    shutdown(server);

    let server = start(&dir, "everysec");
    let rounds = read_pairs(&server, &tags);
    assert_eq!(history_point(&rounds), (last_round, last_split));
    let names: Vec<String> = std::fs::read_dir(aof_dir(&dir))
        .expect("list the AOF dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("shard-"))
        .collect();
    assert_eq!(
        names.len(),
        2 * THREADS,
        "only the current generation's files remain: {names:?}"
    );
}

/// `save <seconds> <changes>`: once the changes are made and the seconds
/// passed, the server saves by itself; the snapshot is loaded at start.
#[test]
fn a_save_rule_starts_a_bgsave_by_itself() {
    let dir = TempDir::new("save-rule");
    let args = [
        "--threads",
        "2",
        "--appendonly",
        "no",
        "--save",
        "0 20",
        "--dir",
        dir.arg(),
    ];
    let server = ServerProcess::start(&args);
    let mut raw = server.raw();
    assert_eq!(raw.info_field("persistence", "rdb_saves"), "0");
    set_keys(&server, "saved", 30);
    poll_until("the save rule saves", || {
        raw.info_field("persistence", "rdb_saves") != "0"
            && raw.info_field("persistence", "rdb_changes_since_last_save") == "0"
    });
    assert_eq!(
        raw.info_field("persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    kill_9(server);
    let server = ServerProcess::start(&args);
    assert_keys(&server, "saved", 30);
}

/// BGREWRITEAOF while a BGSAVE runs is scheduled, as Redis does, and runs
/// once the BGSAVE ends; so is BGSAVE SCHEDULE during a rewrite.
#[test]
fn a_job_during_another_is_scheduled_and_runs() {
    let dir = TempDir::new("scheduled");
    let tags = pair_tags();
    let server = start(&dir, "everysec");
    write_round_zero(&server, &tags);
    let before = manifest(&dir).generation;
    let mut raw = server.raw();
    assert_eq!(
        raw.call_words("BGSAVE"),
        simple("Background saving started")
    );
    let reply = raw.call_words("BGREWRITEAOF");
    assert!(
        reply == simple("Background append only file rewriting scheduled")
            || reply == simple("Background append only file rewriting started"),
        "{reply:?}"
    );
    poll_until("the rewrite runs after the save", || {
        manifest(&dir).generation > before
            && raw.info_field("persistence", "aof_rewrite_in_progress") == "0"
            && raw.info_field("persistence", "aof_rewrite_scheduled") == "0"
    });
    assert_eq!(
        raw.info_field("persistence", "rdb_last_bgsave_status"),
        "ok"
    );

    // And the other way round: BGSAVE SCHEDULE during a rewrite.
    let saves = raw.info_field("persistence", "rdb_saves");
    assert_eq!(
        raw.call_words("BGREWRITEAOF"),
        simple("Background append only file rewriting started")
    );
    assert_eq!(raw.call_words("BGSAVE NOW"), error("ERR syntax error"));
    let reply = raw.call_words("BGSAVE SCHEDULE");
    assert!(
        reply == simple("Background saving scheduled")
            || reply == simple("Background saving started"),
        "{reply:?}"
    );
    poll_until("the scheduled save runs", || {
        raw.info_field("persistence", "rdb_saves") != saves
            && raw.info_field("persistence", "rdb_bgsave_in_progress") == "0"
    });
    shutdown(server);
    let server = start(&dir, "everysec");
    assert_eq!(history_point(&read_pairs(&server, &tags)), (0, PAIRS));
}

/// `auto-aof-rewrite-percentage` / `-min-size`: once the AOF outgrows both,
/// the server rewrites it by itself, and the sizes INFO reports follow.
#[test]
fn the_aof_is_rewritten_by_itself_once_it_grows() {
    let dir = TempDir::new("auto-rewrite");
    let server = start(&dir, "everysec");
    let mut raw = server.raw();
    assert_eq!(
        raw.call_words("CONFIG SET auto-aof-rewrite-min-size 1mb"),
        ok()
    );
    assert_eq!(
        raw.call_words("CONFIG GET auto-aof-rewrite-percentage"),
        array(vec![bulk("auto-aof-rewrite-percentage"), bulk("100")])
    );
    let before = manifest(&dir).generation;
    // The same 1 000 keys, overwritten: the AOF grows, the data does not.
    let mut client = server.client();
    let value = "x".repeat(100);
    for _ in 0..20 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.cmd("SET").arg(format!("grow{i}")).arg(&value).ignore();
        }
        let () = pipe.query(&mut client).expect("SETs");
    }
    // Rewrites may start while the SETs still run (their increment then
    // grows again, and the next rewrite starts on its own): wait for one
    // that leaves the AOF about the size of the data.
    poll_until("an automatic rewrite shrinks the AOF", || {
        let current: u64 = raw
            .info_field("persistence", "aof_current_size")
            .parse()
            .expect("a size");
        manifest(&dir).generation > before
            && current < 1024 * 1024
            && raw.info_field("persistence", "aof_rewrite_in_progress") == "0"
    });
    shutdown(server);
    let server = start(&dir, "everysec");
    assert_eq!(
        server.raw().call_words("DBSIZE"),
        int(1000),
        "every key survives the rewrite"
    );
}

/// Expired keys are logged as DELs (lazily or actively expired), as Redis
/// propagates expirations, so replay never depends on its clock agreeing
/// with the one they expired by.
#[test]
fn expirations_are_logged_as_dels() {
    let dir = TempDir::new("expired-dels");
    let server = start(&dir, "everysec");
    let mut raw = server.raw();
    assert_eq!(raw.call_words("SET lazy v PX 1"), ok());
    assert_eq!(raw.call_words("SET active v PX 1"), ok());
    poll_until("the lazy key expires on access", || {
        raw.call_words("GET lazy") == corekv::resp::Reply::Null
    });
    poll_until("the active key expires on its own", || {
        raw.info_field("stats", "expired_keys") == "2"
    });
    shutdown(server);
    let mut logged = String::new();
    for shard in manifest(&dir).shards {
        let bytes = std::fs::read(aof_dir(&dir).join(&shard.incr)).expect("read an increment");
        logged.push_str(&String::from_utf8_lossy(&bytes));
    }
    for key in ["lazy", "active"] {
        let del = format!("*2\r\n$3\r\nDEL\r\n${}\r\n{key}\r\n", key.len());
        assert!(
            logged.contains(&del),
            "no DEL of {key} in the AOF:\n{logged}"
        );
    }
}
