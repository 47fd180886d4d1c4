//! Real Redis as the oracle: start Debian's `redis-server` beside an
//! in-process corekv and compare replies (see tests/differential*.rs).
//!
//! If `redis-server` is missing the tests fail loudly, unless
//! `COREKV_SKIP_DIFFERENTIAL=1` is set (then they warn and pass).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corekv::resp::Reply;
use corekv::slot::SlotMap;

use super::{encode_command, RawClient, TestServer};

/// Shards of the corekv server under test.
pub const SHARDS: usize = 2;

/// How long redis-server may take to accept connections.
pub const ORACLE_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A far-future Unix time (2100-01-01), so absolute expiries compare exactly.
pub const FAR_FUTURE_S: u64 = 4_102_444_800;

// ---------------------------------------------------------------------------
// The oracle process.
// ---------------------------------------------------------------------------

/// A redis-server child process; shut down and killed when dropped.
pub struct RedisOracle {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl RedisOracle {
    /// Starts redis-server, or returns `None` (after a loud warning) when it
    /// is missing and `COREKV_SKIP_DIFFERENTIAL=1`. Panics if it is missing
    /// otherwise.
    pub fn start() -> Option<RedisOracle> {
        let Some(binary) = find_in_path("redis-server") else {
            if std::env::var("COREKV_SKIP_DIFFERENTIAL").as_deref() == Ok("1") {
                // Written to the real stderr: the test harness captures `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     WARNING: redis-server is not on PATH and COREKV_SKIP_DIFFERENTIAL=1:\n\
                     the differential tests against real Redis were SKIPPED.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                return None;
            }
            panic!(
                "redis-server is not on PATH: the differential tests need real Redis 7 as their \
                 oracle. Install it (`sudo apt-get install redis-server`), or set \
                 COREKV_SKIP_DIFFERENTIAL=1 to skip these tests."
            );
        };
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("corekv-diff-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the oracle's directory");
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let oracle = RedisOracle { child, port, dir };
        oracle.wait_until_ready();
        Some(oracle)
    }

    pub fn wait_until_ready(&self) {
        let deadline = Instant::now() + ORACLE_START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisOracle {
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.write_all(&encode_command(&[b"SHUTDOWN", b"NOSAVE"]));
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------
// A corekv server and the oracle side by side.
// ---------------------------------------------------------------------------

/// One connection to each server; every check sends the same command to both.
pub struct Pair {
    pub corekv: RawClient,
    pub redis: RawClient,
    // Field order matters: the clients close before the servers stop.
    _server: TestServer,
    _oracle: RedisOracle,
}

impl Pair {
    pub fn start() -> Option<Pair> {
        let oracle = RedisOracle::start()?;
        let server = TestServer::start(SHARDS);
        Some(Pair {
            corekv: server.raw(),
            redis: RawClient::connect(oracle.port),
            _server: server,
            _oracle: oracle,
        })
    }

    /// A second connection to each server (corekv, redis), for commands
    /// from "another client".
    pub fn other_clients(&self) -> (RawClient, RawClient) {
        (self._server.raw(), RawClient::connect(self._oracle.port))
    }

    /// Sends `args` to both servers and returns both replies.
    pub fn both(&mut self, args: &[&[u8]]) -> (Reply, Reply) {
        (self.corekv.call(args), self.redis.call(args))
    }

    /// Sends `args` to both; the replies must be equal.
    pub fn check(&mut self, args: &[&[u8]]) -> Reply {
        let (ours, theirs) = self.both(args);
        assert_eq!(ours, theirs, "replies differ for {}", show(args));
        ours
    }

    /// [`Pair::check`] with a command written as space-separated words.
    pub fn words(&mut self, line: &str) -> Reply {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.check(&words)
    }

    /// Checks every line of `script` in order.
    pub fn script(&mut self, script: &[&str]) {
        for line in script {
            self.words(line);
        }
    }

    /// Both replies must be arrays holding the same elements in any order.
    pub fn check_unordered(&mut self, args: &[&[u8]]) {
        let (ours, theirs) = self.both(args);
        assert_eq!(
            sorted(ours),
            sorted(theirs),
            "replies differ for {}",
            show(args)
        );
    }

    /// Both replies must be integers at most `tolerance` apart.
    pub fn check_close(&mut self, args: &[&[u8]], tolerance: i64) {
        match self.both(args) {
            (Reply::Integer(a), Reply::Integer(b)) => {
                assert!((a - b).abs() <= tolerance, "{}: {a} vs {b}", show(args))
            }
            other => panic!("{}: not two integers: {other:?}", show(args)),
        }
    }

    pub fn flushall(&mut self) {
        self.words("FLUSHALL");
    }
}

pub fn show(args: &[&[u8]]) -> String {
    args.iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn sorted(reply: Reply) -> Reply {
    match reply {
        Reply::Array(mut items) => {
            items.sort_by_key(|item| format!("{item:?}"));
            Reply::Array(items)
        }
        other => other,
    }
}

/// `count` key names owned by `shard`, each starting with `prefix`.
pub fn keys_on(shard: usize, prefix: &str, count: usize) -> Vec<String> {
    let slots = SlotMap::new(SHARDS);
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .filter(|key| slots.shard_of_key(key.as_bytes()) == shard)
        .take(count)
        .collect()
}

/// Two keys on different shards.
pub fn cross_shard_pair(prefix: &str) -> (String, String) {
    let a = keys_on(0, prefix, 1).remove(0);
    let b = keys_on(1, prefix, 1).remove(0);
    (a, b)
}

#[macro_export]
macro_rules! pair_or_skip {
    () => {
        match $crate::common::oracle::Pair::start() {
            Some(pair) => pair,
            None => return,
        }
    };
}

/// Compares one command's replies exactly.
pub fn exactly(pair: &mut Pair, args: &[&[u8]]) -> Result<(), String> {
    let (ours, theirs) = pair.both(args);
    if ours == theirs {
        Ok(())
    } else {
        Err(format!("{}: corekv {ours:?}, redis {theirs:?}", show(args)))
    }
}

/// Runs `cases` random command sequences drawn from `sequences` against both
/// servers (each starting from FLUSHALL). `compare` checks each command's
/// replies (use [`exactly`] unless Redis leaves something unspecified);
/// `final_check` then compares the resulting keyspaces. Panics with the
/// shrunk failing sequence.
pub fn check_random_sequences<S>(
    cases: u32,
    sequences: S,
    compare: impl Fn(&mut Pair, &[&[u8]]) -> Result<(), String>,
    final_check: impl Fn(&mut Pair) -> Result<(), proptest::test_runner::TestCaseError>,
) where
    S: proptest::strategy::Strategy<Value = Vec<Vec<String>>>,
{
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let Some(pair) = Pair::start() else { return };
    let pair = std::cell::RefCell::new(pair);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&sequences, |sequence| {
        let mut p = pair.borrow_mut();
        p.flushall();
        for command in &sequence {
            let args: Vec<&[u8]> = command.iter().map(String::as_bytes).collect();
            compare(&mut p, &args).map_err(TestCaseError::fail)?;
        }
        final_check(&mut p)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
