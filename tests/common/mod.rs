//! Shared helpers for the black-box tests: start a real corekv server on an
//! ephemeral 127.0.0.1 port, and talk to it with the `redis` crate or raw TCP.
#![allow(dead_code)] // each test binary uses a different subset

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
        let mut config = Config { port: 0, threads, ..Config::default() };
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
        let connection = client.get_connection_with_timeout(Duration::from_secs(5)).expect("connect");
        connection.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
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
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawClient { stream, buffer: Vec::new() }
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
        self.try_read_reply().expect("a reply before the connection closed")
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
