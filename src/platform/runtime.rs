//! The production platform: one thread per shard, each with its own mio
//! `Poll`, real sockets, real clocks.
//!
//! * **Connections.** Shard 0 owns the listening sockets and hands accepted
//!   connections to shards round-robin; a connection then lives on that shard
//!   (its home) for good.
//! * **Mailboxes.** Each shard has a [`Mailbox`]: a mutex-protected queue of
//!   messages (and handed-off sockets) plus a mio `Waker`. Within one loop
//!   iteration a shard only appends to a local outbox per destination; at the
//!   end of the iteration each non-empty outbox is moved into the
//!   destination's mailbox with one lock and at most one wake-up. A
//!   destination that is awake is not woken at all (`notified` flag), so a
//!   busy server pays no syscalls for cross-shard traffic.
//! * **Idle.** A shard with nothing to do sleeps in `epoll_wait` until its
//!   next timer (at most [`IDLE_POLL_MS_MAX`]); it never busy-polls.
//! * **Shutdown.** SHUTDOWN, SIGTERM or SIGINT set one flag; every loop sees
//!   it within one poll timeout and exits.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the one module allowed to touch the OS

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::fs_disk::FsDisk;
use super::Platform;
use crate::config::Config;
use crate::shard::{ConnId, Message, ServerInfo, Shard};

/// Longest a shard sleeps in poll, so it notices the shutdown flag (ms).
pub const IDLE_POLL_MS_MAX: u64 = 100;
/// Bytes read from a socket per `read` call.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Events taken per poll.
const EVENTS_CAPACITY: usize = 1024;
/// Listening sockets occupy tokens from here down.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 16;
const WAKER_TOKEN: Token = Token(usize::MAX);

/// A shard's inbox, shared with every other shard.
pub struct Mailbox {
    messages: Mutex<Vec<Message>>,
    streams: Mutex<Vec<(TcpStream, SocketAddr)>>,
    /// True while the owner is awake (or already woken): senders skip the wake-up.
    notified: AtomicBool,
    waker: Waker,
}

impl Mailbox {
    fn new(waker: Waker) -> Mailbox {
        Mailbox {
            messages: Mutex::new(Vec::new()),
            streams: Mutex::new(Vec::new()),
            notified: AtomicBool::new(true),
            waker,
        }
    }

    fn wake(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            if let Err(error) = self.waker.wake() {
                tracing::error!(%error, "waking a shard failed");
            }
        }
    }

    fn deliver(&self, batch: &mut Vec<Message>) {
        lock(&self.messages).append(batch);
        self.wake();
    }

    fn hand_off(&self, stream: TcpStream, peer: SocketAddr) {
        lock(&self.streams).push((stream, peer));
        self.wake();
    }

    fn has_pending(&self) -> bool {
        !lock(&self.messages).is_empty() || !lock(&self.streams).is_empty()
    }

    /// The owner is about to sleep: from now on senders must wake it.
    /// Returns true if mail already waits (then it must not sleep). Clearing
    /// the flag *before* checking closes the race with a concurrent sender:
    /// either the check sees its mail, or its `wake` sees the cleared flag.
    fn prepare_to_sleep(&self) -> bool {
        self.notified.store(false, Ordering::SeqCst);
        self.has_pending()
    }

    /// The owner is awake: senders need not wake it.
    fn awake(&self) {
        self.notified.store(true, Ordering::SeqCst);
    }

    fn take_messages(&self) -> Vec<Message> {
        std::mem::take(&mut *lock(&self.messages))
    }
}

/// Locks a mutex, surviving a poisoned one (a panicking shard already
/// brings the process down; the data is a plain queue).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The [`Platform`] of one production shard.
pub struct ProductionPlatform {
    index: usize,
    outbox: Vec<Vec<Message>>,
    mailboxes: Arc<Vec<Mailbox>>,
    clock_origin: Instant,
    shutdown: Arc<AtomicBool>,
    seed_counter: u64,
    /// Connections open on the whole server (`maxclients`).
    connected: Arc<std::sync::atomic::AtomicUsize>,
    /// The AOF directory, with `appendonly yes`.
    disk: Option<FsDisk>,
    /// The working directory (`dir`): snapshots.
    snapshot_disk: FsDisk,
}

impl ProductionPlatform {
    /// Moves every queued message to its destination's mailbox.
    fn flush_outbox(&mut self) {
        for (to, batch) in self.outbox.iter_mut().enumerate() {
            if !batch.is_empty() {
                self.mailboxes[to].deliver(batch);
            }
        }
    }
}

impl Platform for ProductionPlatform {
    fn unix_time_us(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    }

    fn monotonic_us(&mut self) -> u64 {
        self.clock_origin.elapsed().as_micros() as u64
    }

    fn random_u64(&mut self) -> u64 {
        // std's RandomState is seeded from the OS's randomness; hashing a
        // counter with a fresh one yields unpredictable seeds without
        // another dependency.
        use std::hash::{BuildHasher, Hasher};
        self.seed_counter += 1;
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(self.seed_counter);
        hasher.write_usize(self.index);
        hasher.finish()
    }

    fn send(&mut self, to: usize, message: Message) {
        assert_ne!(to, self.index, "a shard serves its own requests inline");
        self.outbox[to].push(message);
    }

    fn request_shutdown(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for mailbox in self.mailboxes.iter() {
            mailbox.wake();
        }
    }

    fn disk(&mut self) -> Option<&mut dyn crate::persist::disk::Disk> {
        self.disk
            .as_mut()
            .map(|d| d as &mut dyn crate::persist::disk::Disk)
    }

    fn snapshot_disk(&mut self) -> Option<&mut dyn crate::persist::disk::Disk> {
        Some(&mut self.snapshot_disk)
    }

    fn rss_bytes(&mut self) -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }
}

/// A running server: its port and the means to stop it.
pub struct ServerHandle {
    port: u16,
    shutdown: Arc<AtomicBool>,
    mailboxes: Arc<Vec<Mailbox>>,
    threads: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The flag that stops the server when set (signal handlers set it).
    pub fn shutdown_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shutdown)
    }

    /// Asks every shard to stop.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for mailbox in self.mailboxes.iter() {
            mailbox.wake();
        }
    }

    /// Waits for every shard thread to exit (after [`ServerHandle::shutdown`],
    /// SHUTDOWN, or a signal setting the flag).
    pub fn join_until_stopped(mut self) {
        for thread in std::mem::take(&mut self.threads) {
            if thread.join().is_err() {
                tracing::error!("a shard thread panicked");
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn bind(address: &str, port: u16) -> io::Result<TcpListener> {
    let ip: std::net::IpAddr = address.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid bind address {address}"),
        )
    })?;
    let addr = SocketAddr::new(ip, port);
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    if ip.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// A seed from the OS's randomness (std's `RandomState` keys).
fn os_seed(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.finish()
}

/// Start-up's per-shard loading jobs, one thread each: recovery parses and
/// replays every shard's log at once (see [`crate::persist::load::recover_on`]).
struct ThreadPerShard;

impl crate::persist::shard_jobs::ShardJobs for ThreadPerShard {
    fn run_all<'a>(&self, jobs: Vec<crate::persist::shard_jobs::ShardJob<'a>>) {
        if jobs.len() < 2 {
            // One shard: no thread to start.
            jobs.into_iter().for_each(|job| job());
            return;
        }
        // Each job waits in its slot until its thread takes it: a thread
        // that cannot start (out of resources) is no reason to refuse to
        // start, its job then runs here once the others are done.
        let slots: Vec<Mutex<Option<_>>> =
            jobs.into_iter().map(|job| Mutex::new(Some(job))).collect();
        std::thread::scope(|scope| {
            for (index, slot) in slots.iter().enumerate() {
                let thread = std::thread::Builder::new().name(format!("corekv-load-{index}"));
                let spawned = thread.spawn_scoped(scope, move || {
                    let job = lock(slot).take();
                    if let Some(job) = job {
                        let started = Instant::now();
                        job();
                        // Per thread, so a slow start shows whether one
                        // shard was the long pole or the cores were busy.
                        tracing::debug!(
                            shard = index,
                            seconds = started.elapsed().as_secs_f64(),
                            cpu_seconds = thread_cpu_seconds(),
                            "a loading pass finished"
                        );
                    }
                });
                if let Err(error) = spawned {
                    tracing::warn!(%error, shard = index, "cannot start a loading thread: loading later");
                }
            }
        });
        for slot in &slots {
            let job = lock(slot).take();
            if let Some(job) = job {
                job();
            }
        }
    }
}

/// CPU time (user + system) the calling thread has used, in seconds, from
/// `/proc/thread-self/stat`; `None` where that is unavailable.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name, which ends with the last ')': state is
    // field 3, utime and stime are fields 14 and 15, in clock ticks (100 Hz
    // on Linux).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// With `appendonly yes`: recovers the data set from the AOF directory and
/// starts its new generation (see [`crate::persist::open`]).
fn open_persistence(config: &Config) -> io::Result<Option<crate::persist::Opened>> {
    if !config.appendonly {
        return Ok(None);
    }
    let root = std::path::Path::new(&config.dir).join(&config.appenddirname);
    let mut disk = FsDisk::open(&root)?;
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(os_seed(1));
    let started = Instant::now();
    let opened = crate::persist::open_parallel(
        &mut disk,
        config.appendfsync,
        config.threads,
        config.databases,
        unix_ms,
        &mut rng,
        &ThreadPerShard,
    )
    .map_err(io::Error::other)?;
    let keys: usize = opened
        .keyspaces
        .iter()
        .map(|k| k.dbs().iter().map(crate::keyspace::Db::len).sum::<usize>())
        .sum();
    tracing::info!(
        dir = %root.display(),
        keys,
        commands = opened.report.commands,
        seconds = started.elapsed().as_secs_f64(),
        "DB loaded from append only file"
    );
    Ok(Some(opened))
}

/// With `appendonly no`: the last SAVE/BGSAVE in `dir`, if any.
fn load_snapshot(config: &Config) -> io::Result<Option<Vec<crate::keyspace::Keyspace>>> {
    let mut disk = FsDisk::open(&config.dir)?;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(os_seed(2));
    let started = Instant::now();
    let keyspaces = crate::persist::load_snapshots(
        &mut disk,
        config.threads,
        config.databases,
        &mut rng,
        &ThreadPerShard,
    )
    .map_err(io::Error::other)?;
    if let Some(keyspaces) = &keyspaces {
        let keys: usize = keyspaces
            .iter()
            .map(|k| k.dbs().iter().map(crate::keyspace::Db::len).sum::<usize>())
            .sum();
        tracing::info!(
            keys,
            seconds = started.elapsed().as_secs_f64(),
            "DB loaded from disk"
        );
    }
    Ok(keyspaces)
}

/// Binds the configured addresses and starts one thread per shard.
pub fn start(mut config: Config) -> io::Result<ServerHandle> {
    let shard_count = config.threads;
    let mut recovered: Vec<Option<_>> = match open_persistence(&config)? {
        Some(opened) => opened
            .keyspaces
            .into_iter()
            .zip(opened.logs.into_iter().map(Some))
            .map(Some)
            .collect(),
        None => match load_snapshot(&config)? {
            Some(keyspaces) => keyspaces.into_iter().map(|k| Some((k, None))).collect(),
            None => (0..shard_count).map(|_| None).collect(),
        },
    };
    let mut listeners = Vec::new();
    let mut port = config.port;
    for address in &config.bind {
        let listener = bind(address, port)?;
        port = listener.local_addr()?.port();
        listeners.push(listener);
    }
    config.port = port; // `port 0` picked a free port: CONFIG GET port reports it
    let mut polls = Vec::new();
    let mut mailboxes = Vec::new();
    for _ in 0..shard_count {
        let poll = Poll::new()?;
        mailboxes.push(Mailbox::new(Waker::new(poll.registry(), WAKER_TOKEN)?));
        polls.push(poll);
    }
    let mailboxes = Arc::new(mailboxes);
    let shutdown = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = ServerInfo {
        tcp_port: port,
        process_id: std::process::id(),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    };
    let mut threads = Vec::new();
    for (index, poll) in polls.into_iter().enumerate() {
        let platform = ProductionPlatform {
            index,
            outbox: (0..shard_count).map(|_| Vec::new()).collect(),
            mailboxes: Arc::clone(&mailboxes),
            clock_origin: Instant::now(),
            shutdown: Arc::clone(&shutdown),
            seed_counter: 0,
            connected: Arc::clone(&connected),
            disk: match &recovered[index] {
                Some((_, Some(_))) => Some(FsDisk::open(
                    std::path::Path::new(&config.dir).join(&config.appenddirname),
                )?),
                _ => None,
            },
            snapshot_disk: FsDisk::open(&config.dir)?,
        };
        let mut shard = Shard::new(index, shard_count, config.clone(), server.clone(), platform);
        if let Some((keyspace, log)) = recovered[index].take() {
            shard.attach_persistence(keyspace, log);
        }
        let listeners = if index == 0 {
            std::mem::take(&mut listeners)
        } else {
            Vec::new()
        };
        let thread = std::thread::Builder::new()
            .name(format!("corekv-shard-{index}"))
            .spawn(move || EventLoop::new(shard, poll, listeners).run())?;
        threads.push(thread);
    }
    tracing::info!(
        port,
        shards = shard_count,
        "corekv ready to accept connections"
    );
    Ok(ServerHandle {
        port,
        shutdown,
        mailboxes,
        threads,
    })
}

/// A socket and the shard connection it carries.
struct Socket {
    stream: TcpStream,
    /// Reading stopped for backpressure; resume when the shard wants input.
    paused: bool,
}

/// One shard's event loop.
struct EventLoop {
    shard: Shard<ProductionPlatform>,
    poll: Poll,
    listeners: Vec<TcpListener>,
    sockets: std::collections::HashMap<ConnId, Socket>,
    next_hand_off: usize,
    read_buffer: Vec<u8>,
    ready: Vec<ConnId>,
}

impl EventLoop {
    fn new(shard: Shard<ProductionPlatform>, poll: Poll, listeners: Vec<TcpListener>) -> EventLoop {
        EventLoop {
            shard,
            poll,
            listeners,
            sockets: std::collections::HashMap::new(),
            next_hand_off: 0,
            read_buffer: vec![0; READ_CHUNK_BYTES],
            ready: Vec::new(),
        }
    }

    fn platform(&mut self) -> &mut ProductionPlatform {
        self.shard.platform_mut()
    }

    fn run(mut self) {
        for (i, listener) in self.listeners.iter_mut().enumerate() {
            if let Err(error) = self.poll.registry().register(
                listener,
                Token(LISTENER_TOKEN_BASE - i),
                Interest::READABLE,
            ) {
                tracing::error!(%error, "registering a listener failed");
            }
        }
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let index = self.shard.index();
        while !self.platform().shutdown.load(Ordering::SeqCst) {
            let timeout = self.poll_timeout(index);
            if let Err(error) = self.poll.poll(&mut events, Some(timeout)) {
                if error.kind() != io::ErrorKind::Interrupted {
                    tracing::error!(%error, "poll failed");
                    break;
                }
            }
            self.platform().mailboxes[index].awake();
            for event in events.iter() {
                match event.token() {
                    WAKER_TOKEN => {}
                    Token(t)
                        if t > LISTENER_TOKEN_BASE - self.listeners.len()
                            && t <= LISTENER_TOKEN_BASE =>
                    {
                        self.accept(LISTENER_TOKEN_BASE - t)
                    }
                    Token(t) => {
                        let conn = t as ConnId;
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read(conn);
                        }
                        if event.is_writable() {
                            self.ready.push(conn);
                        }
                    }
                }
            }
            self.drain_mailbox(index);
            if self.platform().monotonic_us() >= self.shard.poll_timeout_us() {
                self.shard.handle_timer();
            }
            self.resume_paused();
            self.shard.before_sleep();
            self.flush_ready();
            self.platform().flush_outbox();
        }
        self.shard.before_shutdown();
        tracing::debug!(shard = index, "shard loop exiting");
    }

    /// How long to sleep: until the next timer, zero if mail is waiting.
    fn poll_timeout(&mut self, index: usize) -> Duration {
        if self.platform().mailboxes[index].prepare_to_sleep() {
            return Duration::ZERO;
        }
        let now_us = self.platform().monotonic_us();
        let wait_us = self.shard.poll_timeout_us().saturating_sub(now_us);
        Duration::from_micros(wait_us.min(IDLE_POLL_MS_MAX * 1000))
    }

    fn accept(&mut self, listener_index: usize) {
        loop {
            let (stream, peer) = match self.listeners[listener_index].accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    return;
                }
            };
            // `maxclients` bounds connections (and so their memory) server-wide.
            let connected = self.platform().connected.fetch_add(1, Ordering::SeqCst);
            if connected >= self.shard.max_clients() {
                self.platform().connected.fetch_sub(1, Ordering::SeqCst);
                let mut stream = stream;
                let _ = stream.write(b"-ERR max number of clients reached\r\n");
                continue;
            }
            let _ = stream.set_nodelay(true);
            let shard_count = self.platform().mailboxes.len();
            let target = self.next_hand_off % shard_count;
            self.next_hand_off += 1;
            if target == self.shard.index() {
                self.adopt(stream, peer);
            } else {
                self.platform().mailboxes[target].hand_off(stream, peer);
            }
        }
    }

    fn adopt(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let conn = self.shard.handle_connect(peer.to_string());
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(error) =
            self.poll
                .registry()
                .register(&mut stream, Token(conn as usize), interest)
        {
            tracing::warn!(%error, "registering a connection failed");
            self.shard.handle_disconnect(conn);
            self.platform().connected.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        self.sockets.insert(
            conn,
            Socket {
                stream,
                paused: false,
            },
        );
        // Bytes may already be waiting: edge-triggered readiness reports only new arrivals.
        self.read(conn);
    }

    fn drain_mailbox(&mut self, index: usize) {
        let mailboxes = Arc::clone(&self.platform().mailboxes);
        let streams = std::mem::take(&mut *lock(&mailboxes[index].streams));
        for (stream, peer) in streams {
            self.adopt(stream, peer);
        }
        let messages = mailboxes[index].take_messages();
        for message in messages {
            self.shard.handle_message(message);
        }
    }

    /// Reads until the socket is drained or the shard wants no more input.
    fn read(&mut self, conn: ConnId) {
        loop {
            let Some(socket) = self.sockets.get_mut(&conn) else {
                return;
            };
            if !self.shard.wants_input(conn) {
                socket.paused = true;
                break;
            }
            socket.paused = false;
            match socket.stream.read(&mut self.read_buffer) {
                Ok(0) => return self.close(conn),
                Ok(n) => {
                    self.shard.handle_input(conn, &self.read_buffer[..n]);
                    if n < self.read_buffer.len() {
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.close(conn),
            }
        }
    }

    fn resume_paused(&mut self) {
        let paused: Vec<ConnId> = self
            .sockets
            .iter()
            .filter(|(id, s)| s.paused && self.shard.wants_input(**id))
            .map(|(id, _)| *id)
            .collect();
        for conn in paused {
            self.read(conn);
        }
    }

    /// Writes every connection's pending output; closes those that asked.
    fn flush_ready(&mut self) {
        let mut ready = std::mem::take(&mut self.ready);
        loop {
            self.shard.take_ready(&mut ready);
            if ready.is_empty() {
                break;
            }
            ready.sort_unstable();
            ready.dedup();
            for conn in ready.drain(..) {
                self.flush(conn);
            }
        }
        self.ready = ready;
    }

    fn flush(&mut self, conn: ConnId) {
        loop {
            let Some(socket) = self.sockets.get_mut(&conn) else {
                return;
            };
            let output = self.shard.output(conn);
            if output.is_empty() {
                break;
            }
            match socket.stream.write(output) {
                Ok(n) => self.shard.consume_output(conn, n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.close(conn),
            }
        }
        if self.shard.should_close(conn) {
            self.close(conn);
        }
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(mut socket) = self.sockets.remove(&conn) {
            let _ = self.poll.registry().deregister(&mut socket.stream);
            self.platform().connected.fetch_sub(1, Ordering::SeqCst);
        }
        self.shard.handle_disconnect(conn);
    }
}

#[cfg(test)]
mod tests {
    //! The cross-core mailbox is the one piece the simulator bypasses, so it
    //! is tested here on real threads with the event loop's own protocol.
    use super::*;
    use crate::shard::locks::TxnId;

    /// Two senders push numbered messages in batches to one receiver that
    /// sleeps in `poll` whenever its mailbox looks empty. Every message must
    /// arrive, in per-sender order, and the receiver must never sleep through
    /// mail (a lost wake-up shows up as a 10 s poll timeout with mail
    /// pending or still to come).
    #[test]
    fn mailbox_delivers_everything_in_order_without_lost_wakeups() {
        const SENDERS: u64 = 2;
        const MESSAGES: u64 = 50_000;
        let mut poll = Poll::new().expect("poll");
        let waker = Waker::new(poll.registry(), WAKER_TOKEN).expect("waker");
        let mailbox = Arc::new(Mailbox::new(waker));
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let mailbox = Arc::clone(&mailbox);
                std::thread::spawn(move || {
                    let mut serial = 0;
                    while serial < MESSAGES {
                        let batch_len = 1 + serial % 7;
                        let mut batch: Vec<Message> = (serial..(serial + batch_len).min(MESSAGES))
                            .map(|serial| Message::Release {
                                owner: TxnId {
                                    conn: sender,
                                    serial,
                                },
                                epoch: 0,
                            })
                            .collect();
                        serial += batch.len() as u64;
                        mailbox.deliver(&mut batch);
                        if serial % 1000 < 7 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let mut next = [0u64; SENDERS as usize];
        let mut events = Events::with_capacity(16);
        while next.iter().any(|&n| n < MESSAGES) {
            if !mailbox.prepare_to_sleep() {
                poll.poll(&mut events, Some(Duration::from_secs(10)))
                    .expect("poll");
                // Senders are busy until everything is sent, so a poll that
                // ends without an event slept through mail: a lost wake-up.
                assert!(
                    !events.is_empty(),
                    "lost wake-up: poll timed out; received {next:?}"
                );
            }
            mailbox.awake();
            for message in mailbox.take_messages() {
                let Message::Release { owner, .. } = message else {
                    panic!("unexpected {message:?}")
                };
                let expected = &mut next[owner.conn as usize];
                assert_eq!(
                    owner.serial, *expected,
                    "sender {} out of order",
                    owner.conn
                );
                *expected += 1;
            }
        }
        for sender in senders {
            sender.join().expect("sender");
        }
        assert!(mailbox.take_messages().is_empty());
    }
}
