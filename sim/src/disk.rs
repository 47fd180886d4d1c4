//! The simulated disk: one per simulated server, shared by all its shards,
//! implementing the engine's [`Disk`] with the faults its durability
//! contract allows.
//!
//! Each file is its content plus how much of it is durable. `append` grows
//! the content; `sync` makes all of it durable; a crash keeps the durable
//! bytes and any prefix of the rest — a torn write can end at any byte.
//! `rename` and `remove` are durable at once (the contract syncs the
//! directory). Faults come from the disk's own ChaCha stream, at the
//! per-seed rates of [`DiskFaults`]:
//!
//! * an append fails with ENOSPC, possibly after writing a prefix of its
//!   bytes (a short write);
//! * an fsync fails with EIO, and may drop some unsynced bytes from the
//!   content (after a failed fsync Linux may discard the dirty pages);
//! * a fault may start a *bad period*: the next few appends and fsyncs
//!   fail too, as a failing device does;
//! * the simulator may arm a crash at the N-th next operation: that
//!   operation is cut short (an append writes a prefix; a sync, rename or
//!   remove happens or not) and every later one fails until
//!   [`SimDisk::crash`] turns the disk back into what a rebooted machine
//!   finds.
//!
//! Reads never fail: a disk that cannot be read is not a case recovery can
//! do anything about.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;

use corekv::persist::disk::Disk;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Per-seed fault rates of the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DiskFaults {
    /// Chance that an append fails (ENOSPC).
    pub append_fail_probability: f64,
    /// Chance that an fsync fails (EIO).
    pub sync_fail_probability: f64,
    /// Chance that a fault starts a bad period.
    pub bad_period_probability: f64,
    /// Longest bad period, in operations.
    pub bad_period_ops_max: u64,
    /// Chance that a crash keeps every unsynced byte of a file (else: none
    /// or a random prefix, evenly).
    pub keep_unsynced_probability: f64,
    /// How long a failing operation takes (µs): a shard retrying at once
    /// still lets this much virtual time pass.
    pub fault_latency_us: u64,
}

/// One file: its content, of which the first `durable_len` bytes survive a
/// crash.
#[derive(Clone, Debug, Default)]
struct SimFile {
    content: Vec<u8>,
    durable_len: usize,
}

/// Counters of what the disk did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Operations carried out (reads included).
    pub operations: u64,
    /// Faults injected (failed appends and fsyncs).
    pub faults: u64,
    /// Crashes applied.
    pub crashes: u64,
    /// Unsynced bytes lost in crashes.
    pub bytes_lost: u64,
}

/// The simulated disk.
#[derive(Debug)]
pub struct SimDisk {
    files: BTreeMap<String, SimFile>,
    rng: ChaCha8Rng,
    faults: DiskFaults,
    /// Operations left in the current bad period.
    bad_ops_left: u64,
    /// The armed crash: operations left before it (1: the next one).
    crash_in_ops: Option<u64>,
    /// The machine died: every operation fails until [`SimDisk::crash`].
    dead: bool,
    /// Counters.
    pub stats: DiskStats,
}

/// What an operation is allowed to do, given faults and an armed crash.
enum Verdict {
    Proceed,
    Fault,
    /// The armed crash happens during this operation.
    Crash,
    Dead,
}

fn enospc() -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        "No space left on device (simulated)",
    )
}

fn eio() -> io::Error {
    io::Error::other("Input/output error (simulated)")
}

fn died() -> io::Error {
    io::Error::other("the machine crashed (simulated)")
}

impl SimDisk {
    /// An empty disk drawing its faults from `rng` at the rates of `faults`.
    pub fn new(rng: ChaCha8Rng, faults: DiskFaults) -> SimDisk {
        SimDisk {
            files: BTreeMap::new(),
            rng,
            faults,
            bad_ops_left: 0,
            crash_in_ops: None,
            dead: false,
            stats: DiskStats::default(),
        }
    }

    /// Arms a crash during the `ops`-th next operation (1: the next one).
    pub fn arm_crash(&mut self, ops: u64) {
        assert!(ops >= 1, "a crash is armed for a future operation");
        self.crash_in_ops = Some(ops);
    }

    /// Disarms an armed crash that has not happened.
    pub fn disarm_crash(&mut self) {
        self.crash_in_ops = None;
    }

    /// True once an armed crash happened: the server is dead.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The machine restarts: every file keeps its durable bytes and a
    /// prefix of the rest (nothing, everything, or a random cut at any
    /// byte), and becomes wholly durable as found.
    pub fn crash(&mut self) {
        self.stats.crashes += 1;
        self.dead = false;
        self.crash_in_ops = None;
        self.bad_ops_left = 0;
        for file in self.files.values_mut() {
            let unsynced = file.content.len() - file.durable_len;
            let kept = if unsynced == 0 {
                0
            } else if self.rng.gen_bool(self.faults.keep_unsynced_probability) {
                unsynced
            } else if self.rng.gen_bool(0.5) {
                0
            } else {
                self.rng.gen_range(0..=unsynced)
            };
            self.stats.bytes_lost += (unsynced - kept) as u64;
            file.content.truncate(file.durable_len + kept);
            file.durable_len = file.content.len();
        }
    }

    /// Total unsynced bytes over all files.
    pub fn unsynced_bytes(&self) -> usize {
        self.files
            .values()
            .map(|f| f.content.len() - f.durable_len)
            .sum()
    }

    /// Counts an operation and decides its fate. `faulty` operations
    /// (appends, fsyncs) may fail at `probability`.
    fn begin(&mut self, faulty: bool, probability: f64) -> Verdict {
        if self.dead {
            return Verdict::Dead;
        }
        self.stats.operations += 1;
        if let Some(left) = self.crash_in_ops {
            if left <= 1 {
                self.crash_in_ops = None;
                self.dead = true;
                return Verdict::Crash;
            }
            self.crash_in_ops = Some(left - 1);
        }
        if !faulty {
            return Verdict::Proceed;
        }
        if self.bad_ops_left > 0 {
            self.bad_ops_left -= 1;
            self.stats.faults += 1;
            return Verdict::Fault;
        }
        if probability > 0.0 && self.rng.gen_bool(probability) {
            self.stats.faults += 1;
            if self.faults.bad_period_probability > 0.0
                && self.rng.gen_bool(self.faults.bad_period_probability)
            {
                self.bad_ops_left = self
                    .rng
                    .gen_range(1..=self.faults.bad_period_ops_max.max(1));
            }
            return Verdict::Fault;
        }
        Verdict::Proceed
    }

    /// Appends a random prefix of `bytes` to `file` (a short write).
    fn append_prefix(&mut self, file: &str, bytes: &[u8]) {
        let count = self.rng.gen_range(0..=bytes.len());
        self.files
            .entry(file.to_string())
            .or_default()
            .content
            .extend_from_slice(&bytes[..count]);
    }
}

impl Disk for SimDisk {
    fn read(&mut self, file: &str) -> io::Result<Option<Vec<u8>>> {
        match self.begin(false, 0.0) {
            Verdict::Proceed | Verdict::Fault => {}
            Verdict::Crash | Verdict::Dead => return Err(died()),
        }
        Ok(self.files.get(file).map(|f| f.content.clone()))
    }

    fn append(&mut self, file: &str, bytes: &[u8]) -> io::Result<()> {
        match self.begin(true, self.faults.append_fail_probability) {
            Verdict::Proceed => {
                self.files
                    .entry(file.to_string())
                    .or_default()
                    .content
                    .extend_from_slice(bytes);
                Ok(())
            }
            Verdict::Fault => {
                self.append_prefix(file, bytes);
                Err(enospc())
            }
            Verdict::Crash => {
                self.append_prefix(file, bytes);
                Err(died())
            }
            Verdict::Dead => Err(died()),
        }
    }

    fn sync(&mut self, file: &str) -> io::Result<()> {
        match self.begin(true, self.faults.sync_fail_probability) {
            Verdict::Proceed => {
                if let Some(f) = self.files.get_mut(file) {
                    f.durable_len = f.content.len();
                }
                Ok(())
            }
            Verdict::Fault => {
                // The kernel may have thrown the dirty pages away.
                if self.rng.gen_bool(0.5) {
                    if let Some(f) = self.files.get_mut(file) {
                        let unsynced = f.content.len() - f.durable_len;
                        let kept = self.rng.gen_range(0..=unsynced);
                        f.content.truncate(f.durable_len + kept);
                    }
                }
                Err(eio())
            }
            Verdict::Crash => {
                if self.rng.gen_bool(0.5) {
                    if let Some(f) = self.files.get_mut(file) {
                        f.durable_len = f.content.len();
                    }
                }
                Err(died())
            }
            Verdict::Dead => Err(died()),
        }
    }

    fn truncate(&mut self, file: &str, len: u64) -> io::Result<()> {
        match self.begin(false, 0.0) {
            Verdict::Proceed | Verdict::Fault => {}
            Verdict::Crash | Verdict::Dead => return Err(died()),
        }
        if let Some(f) = self.files.get_mut(file) {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            f.content.truncate(len);
            // Conservatively durable at once: a crash then finds the file
            // cut, which a real file system may also show.
            f.durable_len = f.durable_len.min(f.content.len());
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        let happens = match self.begin(false, 0.0) {
            Verdict::Proceed | Verdict::Fault => true,
            Verdict::Crash => self.rng.gen_bool(0.5),
            Verdict::Dead => return Err(died()),
        };
        if happens {
            let moved = self
                .files
                .remove(from)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, from.to_string()))?;
            self.files.insert(to.to_string(), moved);
        }
        if self.dead {
            Err(died())
        } else {
            Ok(())
        }
    }

    fn remove(&mut self, file: &str) -> io::Result<()> {
        let happens = match self.begin(false, 0.0) {
            Verdict::Proceed | Verdict::Fault => true,
            Verdict::Crash => self.rng.gen_bool(0.5),
            Verdict::Dead => return Err(died()),
        };
        if happens {
            self.files.remove(file);
        }
        if self.dead {
            Err(died())
        } else {
            Ok(())
        }
    }

    fn list(&mut self) -> io::Result<Vec<String>> {
        match self.begin(false, 0.0) {
            Verdict::Proceed | Verdict::Fault => Ok(self.files.keys().cloned().collect()),
            Verdict::Crash | Verdict::Dead => Err(died()),
        }
    }
}

/// A shard's (or the simulator's) handle on the server's one disk: the
/// `Disk` calls borrow it for their duration only.
#[derive(Clone, Debug)]
pub struct DiskHandle(pub Rc<RefCell<SimDisk>>);

impl Disk for DiskHandle {
    fn read(&mut self, file: &str) -> io::Result<Option<Vec<u8>>> {
        self.0.borrow_mut().read(file)
    }
    fn append(&mut self, file: &str, bytes: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().append(file, bytes)
    }
    fn sync(&mut self, file: &str) -> io::Result<()> {
        self.0.borrow_mut().sync(file)
    }
    fn truncate(&mut self, file: &str, len: u64) -> io::Result<()> {
        self.0.borrow_mut().truncate(file, len)
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.0.borrow_mut().rename(from, to)
    }
    fn remove(&mut self, file: &str) -> io::Result<()> {
        self.0.borrow_mut().remove(file)
    }
    fn list(&mut self) -> io::Result<Vec<String>> {
        self.0.borrow_mut().list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::{self, Stream};

    fn disk(faults: DiskFaults) -> SimDisk {
        SimDisk::new(streams::rng(1, Stream::Disk), faults)
    }

    #[test]
    fn synced_bytes_survive_a_crash_and_unsynced_ones_may_not() {
        let mut d = disk(DiskFaults::default());
        d.append("f", b"durable").unwrap();
        d.sync("f").unwrap();
        d.append("f", b"-tail").unwrap();
        d.crash();
        let content = d.read("f").unwrap().unwrap();
        assert!(content.starts_with(b"durable"));
        assert!(b"durable-tail".starts_with(&content));
    }

    #[test]
    fn an_armed_crash_kills_every_later_operation() {
        let mut d = disk(DiskFaults::default());
        d.arm_crash(2);
        d.append("f", b"one").unwrap();
        assert!(d.sync("f").is_err() && d.is_dead());
        assert!(d.append("f", b"two").is_err());
        d.crash();
        assert!(!d.is_dead());
        d.append("f", b"three").unwrap();
    }

    #[test]
    fn faults_fail_appends_and_fsyncs() {
        let mut d = disk(DiskFaults {
            append_fail_probability: 1.0,
            sync_fail_probability: 1.0,
            ..DiskFaults::default()
        });
        assert!(d.append("f", b"x").is_err());
        assert!(d.sync("f").is_err());
        assert_eq!(d.stats.faults, 2);
    }
}
