//! One shard's append-only log: what it writes, and when it is durable.
//!
//! Records are RESP multibulk commands, exactly as clients send them (and
//! as Redis's AOF holds them), so the file is inspectable with `cat`.
//! Between records, annotation lines starting with `#` (Redis 7's AOF
//! allows them; `#TS:` is Redis's own) carry what replay needs:
//!
//! | line          | meaning |
//! |---------------|---------|
//! | `#E:<epoch>`  | records from here on belong to this epoch (see [`super`]) |
//! | `#T:<ms>`     | records from here on ran at this Unix time (ms): replay runs them at the same time, so expiry and relative TTLs come out the same |
//! | `#X:<txn>`    | the next record belongs to atomic operation `<txn>` |
//! | `#C:<txn>`    | atomic operation `<txn>` committed (written by its home shard) |
//! | `#F`          | the next command failed when it ran, after changing something (PFADD on a corrupt HLL): its error on replay is expected |
//!
//! `SELECT <db>` records switch the database, as in Redis's AOF.
//!
//! Writes are buffered during a loop iteration and handed to the disk at
//! its end ([`ShardLog::flush`], from `Shard::before_sleep`): one `write`
//! per iteration, and under `appendfsync always` one fsync covering every
//! write of the iteration (group commit).

use bytes::Bytes;

use super::disk::Disk;
use super::Policy;

/// Identifies an atomic operation in the logs: `<home conn>.<serial>`.
pub type TxnTag = (u64, u64);

/// The log of one shard, and its durability state.
#[derive(Debug)]
pub struct ShardLog {
    policy: Policy,
    file: String,
    /// The base the increment follows, as the manifest names it.
    base: Option<String>,
    /// The base's length in bytes (0 without one).
    base_len: u64,
    /// Added to the connection part of every transaction tag, so tags of
    /// this run never repeat an earlier run's in the same file.
    tag_base: u64,
    /// The largest epoch the data set's files already hold: this run's
    /// epochs start there, so they never go back (see [`super`]).
    epoch_floor: u64,
    /// Records not yet handed to the disk.
    buffer: Vec<u8>,
    /// Bytes handed to the disk but not yet fsynced; kept so a failed fsync
    /// can be redone by rewriting them (after a failed fsync Linux may drop
    /// the dirty pages, so retrying the fsync alone proves nothing).
    unsynced: Vec<u8>,
    /// Length of the file known durable.
    synced_len: u64,
    last_epoch: Option<u64>,
    last_ms: Option<u64>,
    last_db: Option<usize>,
    /// The last disk error, until a flush succeeds (`-MISCONF`).
    error: Option<String>,
    /// A failed write or fsync: the file must be cut back to `synced_len`
    /// and the unsynced bytes written again before the next fsync.
    must_rewrite: bool,
    /// The last failure was an fsync: only a successful fsync clears it.
    sync_failed: bool,
    /// Counters for INFO persistence.
    stats: LogStats,
    /// The next generation's increment while BGREWRITEAOF writes its base
    /// (see [`ShardLog::start_mirror`]).
    mirror: Option<Mirror>,
}

/// A second increment receiving every byte the log writes from a point on.
#[derive(Debug)]
struct Mirror {
    log: Box<ShardLog>,
    /// Bytes of the main buffer written before the mirror began.
    skip: usize,
    /// Fsynced whenever the main log is (once a manifest may name it).
    durable: bool,
}

/// Counters for INFO persistence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Bytes the file holds (`aof_current_size`).
    pub current_size: u64,
    /// fsyncs done.
    pub fsyncs: u64,
    /// Writes or fsyncs that failed.
    pub failures: u64,
}

impl ShardLog {
    /// A log appending to `file` (already `len` bytes long and durable).
    pub fn new(policy: Policy, file: String, len: u64) -> ShardLog {
        ShardLog {
            policy,
            file,
            base: None,
            base_len: 0,
            tag_base: 0,
            epoch_floor: 0,
            buffer: Vec::new(),
            unsynced: Vec::new(),
            synced_len: len,
            last_epoch: None,
            last_ms: None,
            last_db: None,
            error: None,
            must_rewrite: false,
            sync_failed: false,
            stats: LogStats {
                current_size: len,
                ..LogStats::default()
            },
            mirror: None,
        }
    }

    /// From now on, every byte this log writes also goes to `mirror` (a
    /// new increment beginning with an `#E:<epoch>` note): BGREWRITEAOF
    /// writes the next generation's base while the shard keeps serving,
    /// and the next increment must hold every write after the base's
    /// point in time, while the current files stay complete in case the
    /// rewrite never finishes. The next record notes its time and database
    /// again, so the mirrored bytes replay on their own.
    pub fn start_mirror(&mut self, mut mirror: ShardLog, epoch: u64) {
        self.mark_epoch(epoch);
        self.last_ms = None;
        self.last_db = None;
        mirror.tag_base = self.tag_base;
        mirror.last_epoch = Some(epoch);
        self.mirror = Some(Mirror {
            log: Box::new(mirror),
            skip: self.buffer.len(),
            durable: false,
        });
    }

    /// The mirror's file, while one runs.
    pub fn mirror_file(&self) -> Option<&str> {
        self.mirror.as_ref().map(|m| m.log.file())
    }

    /// Makes everything mirrored so far durable and keeps the mirror as
    /// durable as the log from now on (a manifest is about to name it).
    ///
    /// # Errors
    /// The disk's error (the mirror cannot be relied on).
    pub fn secure_mirror(&mut self, disk: &mut dyn Disk) -> Result<(), String> {
        let Some(mirror) = self.mirror.as_mut() else {
            return Err("no rewrite in progress".to_string());
        };
        if mirror.log.flush(disk, true) {
            mirror.durable = true;
            Ok(())
        } else {
            Err(mirror
                .log
                .error()
                .unwrap_or("the new AOF increment could not be written")
                .to_string())
        }
    }

    /// Makes the mirror the log (the manifest now names it) and returns
    /// the old log's files (increment, base) for removal. Bytes not yet
    /// written move over with it.
    pub fn switch_to_mirror(&mut self) -> Option<(String, Option<String>)> {
        let mirror = self.mirror.take()?;
        let mut next = *mirror.log;
        next.buffer.extend_from_slice(&self.buffer[mirror.skip..]);
        next.last_epoch = self.last_epoch;
        next.last_ms = self.last_ms;
        next.last_db = self.last_db;
        next.stats.fsyncs += self.stats.fsyncs;
        next.stats.failures += self.stats.failures;
        let old = std::mem::replace(self, next);
        Some((old.file, old.base))
    }

    /// Stops mirroring (the rewrite failed) and returns the mirror's file
    /// for removal.
    pub fn drop_mirror(&mut self) -> Option<String> {
        self.mirror.take().map(|m| m.log.file)
    }

    /// The fsync policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The file this log appends to.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The base file the increment follows, if any.
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// Makes transaction tags start above `tag_base` (the file already
    /// holds tags up to it from an earlier run).
    pub fn set_tag_base(&mut self, tag_base: u64) {
        self.tag_base = tag_base;
    }

    /// Notes that the data set's files hold epochs up to `epoch`, so the
    /// shard writing this log starts no lower (a wall clock set back across
    /// a restart must not make the recovery cut drop older records).
    pub fn set_epoch_floor(&mut self, epoch: u64) {
        self.epoch_floor = epoch;
    }

    /// The largest epoch the data set's files held when this log was
    /// opened (0 for a new data set).
    pub fn epoch_floor(&self) -> u64 {
        self.epoch_floor
    }

    /// Notes the base file the increment follows.
    pub fn set_base(&mut self, base: Option<String>) {
        self.base = base;
    }

    /// Notes the base file's length in bytes.
    pub fn set_base_len(&mut self, len: u64) {
        self.base_len = len;
    }

    /// Bytes of the base and the increment together (Redis's
    /// `aof_current_size` counts every file of the AOF).
    pub fn total_size(&self) -> u64 {
        self.base_len + self.stats.current_size
    }

    /// The last disk error, while it lasts: writes are refused meanwhile.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref().or_else(|| {
            self.mirror
                .as_ref()
                .filter(|m| m.durable)
                .and_then(|m| m.log.error())
        })
    }

    /// Counters for INFO.
    pub fn stats(&self) -> LogStats {
        self.stats
    }

    /// True while bytes exist that are not yet durable (buffered, or
    /// written but not fsynced).
    pub fn has_undurable(&self) -> bool {
        !self.buffer.is_empty()
            || !self.unsynced.is_empty()
            || self.must_rewrite
            || self
                .mirror
                .as_ref()
                .is_some_and(|m| m.durable && m.log.has_undurable())
    }

    /// Bytes buffered, not yet handed to the disk.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// True while something is buffered for the disk.
    pub fn has_buffered(&self) -> bool {
        !self.buffer.is_empty()
    }

    fn annotate(&mut self, tag: &str, value: u64) {
        self.buffer.push(b'#');
        self.buffer.extend_from_slice(tag.as_bytes());
        self.buffer.push(b':');
        self.buffer
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self.buffer.extend_from_slice(b"\r\n");
    }

    /// Appends a write command that ran at `now_ms` (Unix ms) in database
    /// `db`, in `epoch`, as part of atomic operation `txn` if any.
    pub fn record(
        &mut self,
        epoch: u64,
        now_ms: u64,
        db: usize,
        txn: Option<TxnTag>,
        argv: &[Bytes],
    ) {
        self.record_outcome(epoch, now_ms, db, txn, argv, false);
    }

    /// [`ShardLog::record`] for a command that `failed` when it ran, after
    /// changing something (PFADD on a corrupt HLL): noted with `#F` so
    /// replay expects its error.
    pub fn record_outcome(
        &mut self,
        epoch: u64,
        now_ms: u64,
        db: usize,
        txn: Option<TxnTag>,
        argv: &[Bytes],
        failed: bool,
    ) {
        if self.last_epoch != Some(epoch) {
            self.annotate("E", epoch);
            self.last_epoch = Some(epoch);
        }
        if self.last_ms != Some(now_ms) {
            self.annotate("T", now_ms);
            self.last_ms = Some(now_ms);
        }
        if self.last_db != Some(db) {
            let db_text = Bytes::from(db.to_string());
            encode_multibulk(&mut self.buffer, &[Bytes::from_static(b"SELECT"), db_text]);
            self.last_db = Some(db);
        }
        if let Some((conn, serial)) = txn {
            let conn = conn.wrapping_add(self.tag_base);
            self.buffer.extend_from_slice(b"#X:");
            self.buffer
                .extend_from_slice(itoa::Buffer::new().format(conn).as_bytes());
            self.buffer.push(b'.');
            self.buffer
                .extend_from_slice(itoa::Buffer::new().format(serial).as_bytes());
            self.buffer.extend_from_slice(b"\r\n");
        }
        if failed {
            self.buffer.extend_from_slice(b"#F\r\n");
        }
        encode_multibulk(&mut self.buffer, argv);
    }

    /// Records that atomic operation `txn`, whose home is this shard,
    /// committed: its records on every shard are to be replayed.
    pub fn commit(&mut self, epoch: u64, txn: TxnTag) {
        if self.last_epoch != Some(epoch) {
            self.annotate("E", epoch);
            self.last_epoch = Some(epoch);
        }
        self.buffer.extend_from_slice(b"#C:");
        self.buffer.extend_from_slice(
            itoa::Buffer::new()
                .format(txn.0.wrapping_add(self.tag_base))
                .as_bytes(),
        );
        self.buffer.push(b'.');
        self.buffer
            .extend_from_slice(itoa::Buffer::new().format(txn.1).as_bytes());
        self.buffer.extend_from_slice(b"\r\n");
    }

    /// Notes that the shard entered `epoch` even if it writes nothing (the
    /// periodic fsync of `everysec`/`no` does this so an idle shard does
    /// not hold the recovery cut back).
    pub fn mark_epoch(&mut self, epoch: u64) {
        if self.last_epoch != Some(epoch) {
            self.annotate("E", epoch);
            self.last_epoch = Some(epoch);
        }
    }

    /// Hands buffered records to the disk, and fsyncs when `sync` is true.
    /// On failure keeps everything for the next attempt and records the
    /// error. Returns true when nothing undurable is left (or, without
    /// `sync`, when the write itself succeeded).
    pub fn flush(&mut self, disk: &mut dyn Disk, sync: bool) -> bool {
        let flushed = self.flush_own(disk, sync);
        match self.mirror.as_mut() {
            // Until a manifest may name it, a failing mirror only fails
            // the rewrite ([`ShardLog::secure_mirror`] reports it).
            Some(mirror) => {
                let mirrored = mirror.log.flush(disk, sync && mirror.durable);
                flushed && (mirrored || !mirror.durable)
            }
            None => flushed,
        }
    }

    fn flush_own(&mut self, disk: &mut dyn Disk, sync: bool) -> bool {
        match self.try_flush(disk, sync) {
            Ok(()) if self.sync_failed && !sync => true,
            Ok(()) => {
                self.sync_failed = false;
                if self.error.take().is_some() {
                    tracing::warn!(file = %self.file, "AOF writes succeed again");
                }
                true
            }
            Err(error) => {
                self.stats.failures += 1;
                if self.error.is_none() {
                    tracing::warn!(file = %self.file, %error, "AOF write failed; refusing writes until it succeeds");
                }
                self.error = Some(error.to_string());
                false
            }
        }
    }

    fn try_flush(&mut self, disk: &mut dyn Disk, sync: bool) -> std::io::Result<()> {
        if self.must_rewrite {
            disk.truncate(&self.file, self.synced_len)?;
            disk.append(&self.file, &self.unsynced)?;
            self.must_rewrite = false;
        }
        if !self.buffer.is_empty() {
            if let Err(error) = disk.append(&self.file, &self.buffer) {
                // A partial write may have reached the file: cut it back.
                self.must_rewrite = true;
                return Err(error);
            }
            self.stats.current_size += self.buffer.len() as u64;
            if let Some(mirror) = self.mirror.as_mut() {
                let skip = std::mem::take(&mut mirror.skip);
                mirror.log.buffer.extend_from_slice(&self.buffer[skip..]);
            }
            self.unsynced.append(&mut self.buffer);
        }
        if sync && !self.unsynced.is_empty() {
            if let Err(error) = disk.sync(&self.file) {
                self.must_rewrite = true;
                self.sync_failed = true;
                return Err(error);
            }
            self.stats.fsyncs += 1;
            self.synced_len += self.unsynced.len() as u64;
            self.unsynced.clear();
        }
        if self.policy == Policy::No {
            // Never fsynced: once written, the bytes are the OS's to keep.
            self.synced_len += self.unsynced.len() as u64;
            self.unsynced.clear();
        }
        Ok(())
    }
}

/// Encodes `argv` as a RESP multibulk (`*N\r\n$len\r\narg\r\n...`).
pub fn encode_multibulk(out: &mut Vec<u8>, argv: &[Bytes]) {
    let mut number = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(number.format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in argv {
        out.push(b'$');
        out.extend_from_slice(number.format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}
