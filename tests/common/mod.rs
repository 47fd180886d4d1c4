//! Shared helpers for the black-box tests: start a real corekv server on an
//! ephemeral 127.0.0.1 port, and talk to it with the `redis` crate or raw TCP.
#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets and clocks

pub mod oracle;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use corekv::config::Config;
use corekv::platform::runtime::{self, ServerHandle};
use corekv::resp::frame::parse_frame;
use corekv::resp::Reply;

/// A server running in this process; stopped when dropped.
pub struct TestServer {
    pub handle: ServerHandle,
}

impl TestServer {
    /// Starts a server with `threads` shards on a free port.
    pub fn start(threads: usize) -> TestServer {
        Self::start_with(threads, |_| {})
    }

    /// Starts a server after letting `adjust` change the config.
    pub fn start_with(threads: usize, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            port: 0,
            threads,
            ..Config::default()
        };
        adjust(&mut config);
        let handle = runtime::start(config).expect("server starts");
        TestServer { handle }
    }

    pub fn port(&self) -> u16 {
        self.handle.port()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port())
    }

    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("client");
        let connection = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect");
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        connection
    }

    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.port())
    }
}

/// A raw TCP client that sends bytes and reads RESP replies.
pub struct RawClient {
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawClient {
    pub fn connect(port: u16) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawClient {
            stream,
            buffer: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a multibulk.
    pub fn command(&mut self, args: &[&[u8]]) {
        self.send(&encode_command(args));
    }

    /// Reads one reply; panics on timeout or a closed connection.
    pub fn read_reply(&mut self) -> Reply {
        self.try_read_reply()
            .expect("a reply before the connection closed")
    }

    /// Reads one reply, or `None` if the server closed the connection.
    pub fn try_read_reply(&mut self) -> Option<Reply> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some((reply, used)) = parse_frame(&self.buffer).expect("well-formed reply") {
                self.buffer.drain(..used);
                return Some(reply);
            }
            assert!(Instant::now() < deadline, "timed out waiting for a reply");
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Sends a command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Reply {
        self.command(args);
        self.read_reply()
    }

    /// True if the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        self.try_read_reply().is_none()
    }
}

/// Encodes a command as a RESP multibulk.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub fn bulk(text: &str) -> Reply {
    Reply::Bulk(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

pub fn error(text: &str) -> Reply {
    Reply::Error(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

pub fn simple(text: &str) -> Reply {
    Reply::Simple(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

// ---------------------------------------------------------------------------
// Helpers added for tests/server.rs, tests/protocol.rs and tests/tools.rs.
// ---------------------------------------------------------------------------

/// The longest any single poll of the server's state may take in a test.
pub const POLL_DEADLINE: Duration = Duration::from_secs(10);

impl RawClient {
    /// Sends a command given as whitespace-separated words (no quoting).
    pub fn call_words(&mut self, line: &str) -> Reply {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.call(&words)
    }

    /// Reads `count` replies.
    pub fn read_replies(&mut self, count: usize) -> Vec<Reply> {
        (0..count).map(|_| self.read_reply()).collect()
    }

    /// Writes every command from a second thread while this one reads the
    /// replies, so a pipeline larger than the socket buffers cannot deadlock.
    pub fn pipeline(&mut self, commands: &[Vec<u8>]) -> Vec<Reply> {
        let mut writer = self.stream.try_clone().expect("clone stream");
        let bytes: Vec<u8> = commands.concat();
        let sender = std::thread::spawn(move || writer.write_all(&bytes).expect("write pipeline"));
        let replies = self.read_replies(commands.len());
        sender.join().expect("writer thread");
        replies
    }

    /// Writes `bytes`, ignoring a failure because the server closed the
    /// connection (it may do so before reading everything).
    pub fn send_until_closed(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// One field of `INFO <section>` (e.g. `connected_clients`).
    pub fn info_field(&mut self, section: &str, field: &str) -> String {
        let text = reply_text(&self.call_words(&format!("INFO {section}")));
        let prefix = format!("{field}:");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
            .to_string()
    }

    /// `INFO memory` `used_memory_rss`, in bytes.
    pub fn rss_bytes(&mut self) -> u64 {
        self.info_field("memory", "used_memory_rss")
            .parse()
            .expect("used_memory_rss is a number")
    }
}

/// Encodes a command given as whitespace-separated words.
pub fn words(line: &str) -> Vec<u8> {
    let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    encode_command(&words)
}

pub fn int(value: i64) -> Reply {
    Reply::Integer(value)
}

pub fn ok() -> Reply {
    simple("OK")
}

pub fn array(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}

pub fn bulk_bytes(bytes: &[u8]) -> Reply {
    Reply::Bulk(bytes::Bytes::copy_from_slice(bytes))
}

/// The text of a bulk, status, verbatim or error reply.
pub fn reply_text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(b) | Reply::Simple(b) | Reply::Error(b) => String::from_utf8_lossy(b).into(),
        Reply::Verbatim { text, .. } => String::from_utf8_lossy(text).into(),
        other => panic!("expected a text reply, got {other:?}"),
    }
}

/// Calls `check` until it returns true; panics with `what` after
/// [`POLL_DEADLINE`]. The only way these tests wait for the server.
pub fn poll_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + POLL_DEADLINE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The real `corekv` binary running as a child process on a free port:
/// for tests that need the server's own RSS, signals, or outside tools.
/// Killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub port: u16,
}

impl ServerProcess {
    /// Starts `corekv --port <free> <args>` and waits until it answers PING.
    pub fn start(args: &[&str]) -> ServerProcess {
        let port = free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_corekv"))
            .args(["--port", &port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the corekv binary");
        let mut server = ServerProcess { child, port };
        poll_until("the corekv binary answers PING", || server.answers_ping());
        server
    }

    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.port)
    }

    fn answers_ping(&mut self) -> bool {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("corekv exited during start-up: {status}");
        }
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Sends SIGTERM (through `kill(1)`; no libc dependency needed).
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit; `None` if it is still running after
    /// [`POLL_DEADLINE`].
    pub fn wait_for_exit(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + POLL_DEADLINE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port nothing listens on right now (the OS picks it; another process
/// could take it before we use it, which start-up would then report).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

// ---------------------------------------------------------------------------
// Helpers added for tests/persistence.rs: a scratch directory, the binary
// with its output kept, and the binary run to completion.
// ---------------------------------------------------------------------------

/// A fresh directory under the system's temporary directory, removed (with
/// everything in it) when dropped — unless the test is failing: then it is
/// kept, and its path printed, for a post-mortem.
pub struct TempDir {
    pub path: std::path::PathBuf,
}

impl TempDir {
    /// A new empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "corekv-{prefix}-{}-{unique}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir { path }
    }

    /// The directory as a `--dir` argument.
    pub fn arg(&self) -> &str {
        self.path.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl ServerProcess {
    /// Like [`ServerProcess::start`], but the server's stdout and stderr
    /// (its log) go to the file `log`, so a test can read what it said.
    pub fn start_logged(args: &[&str], log: &std::path::Path) -> ServerProcess {
        let port = free_port();
        let file = std::fs::File::create(log).expect("create the log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_corekv"))
            .args(["--port", &port.to_string()])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(file.try_clone().expect("clone the log file"))
            .stderr(file)
            .spawn()
            .expect("spawn the corekv binary");
        let mut server = ServerProcess { child, port };
        poll_until("the corekv binary answers PING", || server.answers_ping());
        server
    }

    /// A `redis` crate connection to the process.
    pub fn client(&self) -> redis::Connection {
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client");
        let connection = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect");
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        connection
    }
}

/// What a run of the binary to completion left: its exit status (`None`
/// if it was still running after the deadline and had to be killed) and
/// its stdout and stderr together, without terminal colour codes.
pub struct Finished {
    pub status: Option<std::process::ExitStatus>,
    pub output: String,
}

/// Runs `corekv <args>` until it exits, for at most [`POLL_DEADLINE`]: for
/// the tools (`check-aof`) and for starts expected to fail.
pub fn run_corekv(args: &[&str]) -> Finished {
    let log = TempDir::new("run");
    let path = log.path.join("output");
    let file = std::fs::File::create(&path).expect("create the output file");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(file.try_clone().expect("clone the output file"))
        .stderr(file)
        .spawn()
        .expect("spawn the corekv binary");
    let deadline = Instant::now() + POLL_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let bytes = std::fs::read(&path).expect("read the output");
    Finished {
        status,
        output: strip_ansi(&String::from_utf8_lossy(&bytes)),
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`), which the
/// server's log may contain around field names.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
