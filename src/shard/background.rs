//! Background persistence: BGSAVE and BGREWRITEAOF without stopping the
//! shards.
//!
//! A job starts as an atomic operation holding every shard whole
//! ([`crate::commands::ServerCommand::locks_every_shard`]), so all shards
//! start at one serial point; starting is cheap (no keyspace is written
//! then). Each shard then writes its keyspace *as of that point* a slice
//! per loop iteration ([`Keyspace::start_snapshot`]: a change to a key not
//! yet written captures the old value first) while it keeps serving, and
//! reports to the coordinator (the shard that ran the command) with a
//! [`Notice::PartWritten`]. Once every part is durable the coordinator
//! switches the manifest — one atomic rename — and tells every shard
//! ([`Notice::Finished`]).
//!
//! * **BGREWRITEAOF** writes the next generation's base. From the start
//!   point on, every byte the shard logs also goes to the next
//!   generation's increment ([`ShardLog::start_mirror`]), so whichever
//!   manifest is on disk at a crash names complete files: the old base
//!   and increment (still appended to), or the new base and the increment
//!   holding everything after it. Once its base is durable a shard fsyncs
//!   the new increment and keeps it as durable as the old one until it
//!   learns the outcome; then it appends only to the new files (and
//!   removes the old ones) or drops the new ones.
//! * **BGSAVE** writes `dump-<shard>.<created_ms>.ckv`; the snapshot
//!   manifest names the set once every file is durable, so a crash keeps
//!   the previous snapshot whole.
//!
//! One job runs at a time: a shard refuses to start one while it has one.
//!
//! [`Keyspace::start_snapshot`]: crate::keyspace::Keyspace::start_snapshot
//! [`ShardLog::start_mirror`]: crate::persist::aof::ShardLog::start_mirror

use super::message::{JobFiles, JobId, Message, Notice, Response};
use super::Shard;
use crate::persist;
use crate::persist::snapshot::SnapshotWriter;
use crate::platform::Platform;

/// Keys a shard writes per slice of a background job, by default.
pub const SLICE_KEYS_DEFAULT: usize = 1000;
/// Bytes of a job's file buffered before they are handed to the disk.
const CHUNK_BYTES: usize = 1 << 20;

/// A shard's part of a background job.
#[derive(Debug)]
pub(crate) struct Job {
    id: JobId,
    /// Where [`Notice::PartWritten`] goes.
    coordinator: usize,
    /// The file this part writes (on the AOF disk for a base, the snapshot
    /// disk for a dump).
    file: String,
    /// Every file the part writes, for the manifest.
    files: JobFiles,
    /// Until the part is written: the file's writer.
    writer: Option<SnapshotWriter>,
    /// Bytes written to the file so far.
    written: u64,
}

/// The coordinator's view of a job: parts still to report.
#[derive(Debug)]
pub(crate) struct Gathering {
    id: JobId,
    /// Each shard's files, in shard order.
    files: Vec<Option<JobFiles>>,
    /// Parts not yet reported.
    waiting: usize,
    /// The first failure reported.
    failure: Option<String>,
}

impl Gathering {
    /// Gathers the parts of `id` across `shard_count` shards.
    pub(crate) fn new(id: JobId, shard_count: usize) -> Gathering {
        Gathering {
            id,
            files: vec![None; shard_count],
            waiting: shard_count,
            failure: None,
        }
    }

    /// The job gathered.
    pub(crate) fn id(&self) -> JobId {
        self.id
    }
}

impl<P: Platform> Shard<P> {
    /// True while this shard writes its part of a background job.
    pub fn background_busy(&self) -> bool {
        self.job.as_ref().is_some_and(|job| job.writer.is_some())
    }

    /// Keys per slice of a background job (the simulator makes slices
    /// small so that writes interleave with them).
    pub fn set_background_slice_keys(&mut self, keys: usize) {
        self.slice_keys = keys.max(1);
    }

    /// Which job this shard has a part in, if any, and whether it is an
    /// AOF rewrite (for INFO).
    pub(super) fn job_kind(&self) -> Option<JobId> {
        self.job.as_ref().map(|job| job.id)
    }

    /// [`super::message::Request::StartJob`]: starts this shard's part of
    /// `id` at this point of its history.
    pub(super) fn start_job(&mut self, id: JobId, coordinator: usize) -> Response {
        Response::Started(self.try_start_job(id, coordinator))
    }

    fn try_start_job(&mut self, id: JobId, coordinator: usize) -> Result<JobFiles, String> {
        if let Some(job) = &self.job {
            return Err(match job.id {
                JobId::AofRewrite { .. } => {
                    "Background append only file rewriting already in progress".to_string()
                }
                JobId::Save { .. } => "Background save already in progress".to_string(),
            });
        }
        let now_ms = self.clock.1 / 1000;
        let shard_count = self.slots.shard_count();
        let (files, file) = match id {
            JobId::AofRewrite { generation, .. } => {
                let (Some(log), Some(disk)) = (self.log.as_mut(), self.platform.disk()) else {
                    return Err("appendonly is off".to_string());
                };
                // The next increment holds only records after the start
                // point; their epochs are no smaller than this one.
                let (next, files) = persist::create_increment(
                    disk,
                    self.index,
                    generation,
                    log.policy(),
                    self.epoch,
                )
                .map_err(|e| e.to_string())?;
                let base = persist::base_file(self.index, generation);
                disk.remove(&base).map_err(|e| e.to_string())?;
                log.start_mirror(next, self.epoch);
                (JobFiles::Aof(files), base)
            }
            JobId::Save { created_ms, .. } => {
                let disk = self
                    .platform
                    .snapshot_disk()
                    .ok_or_else(|| "snapshots are not available here".to_string())?;
                let file = persist::snapshot_file(self.index, created_ms);
                disk.remove(&file).map_err(|e| e.to_string())?;
                (JobFiles::Dump(file.clone()), file)
            }
        };
        self.changes_at_job_start = self.keyspace.changes();
        let started = self.keyspace.start_snapshot(now_ms);
        debug_assert!(started, "no job, so no snapshot running");
        self.job = Some(Job {
            id,
            coordinator,
            file,
            files: files.clone(),
            written: 0,
            writer: Some(SnapshotWriter::new(self.index, shard_count, now_ms)),
        });
        Ok(files)
    }

    /// One slice of this shard's part, from the timer: writes about
    /// `slice_keys` keys; once all are written and durable, reports to the
    /// coordinator.
    pub(super) fn background_slice(&mut self) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        let Some(writer) = job.writer.as_mut() else {
            return;
        };
        let done = self
            .keyspace
            .snapshot_step(self.slice_keys, &mut |db, key, entry| {
                writer.entry(db, key, entry)
            });
        let (id, coordinator, files) = (job.id, job.coordinator, job.files.clone());
        if !done && writer.buffered_bytes() < CHUNK_BYTES {
            return;
        }
        let result = self.write_part(done).map(|()| files);
        if result.is_err() || done {
            self.keyspace.end_snapshot();
            if let Some(job) = self.job.as_mut() {
                job.writer = None;
            }
            let notice = Notice::PartWritten {
                job: id,
                shard: self.index,
                result,
            };
            self.notify(coordinator, notice);
        }
    }

    /// Hands what the job's writer holds to the disk; when `done`, the
    /// trailer too, then fsyncs (and, for a rewrite, secures the next
    /// increment).
    fn write_part(&mut self, done: bool) -> Result<(), String> {
        let Some(job) = self.job.as_mut() else {
            return Err("no job".to_string());
        };
        let is_aof = matches!(job.id, JobId::AofRewrite { .. });
        let bytes = match (done, job.writer.take()) {
            (true, Some(writer)) => writer.finish(),
            (false, Some(mut writer)) => {
                let chunk = writer.take_chunk();
                job.writer = Some(writer);
                chunk
            }
            (_, None) => return Err("the part was already written".to_string()),
        };
        let disk = if is_aof {
            self.platform.disk()
        } else {
            self.platform.snapshot_disk()
        };
        let disk = disk.ok_or_else(|| "no disk".to_string())?;
        disk.append(&job.file, &bytes).map_err(|e| e.to_string())?;
        job.written += bytes.len() as u64;
        if !done {
            return Ok(());
        }
        disk.sync(&job.file).map_err(|e| e.to_string())?;
        if is_aof {
            let log = self.log.as_mut().ok_or("appendonly is off")?;
            log.secure_mirror(disk)?;
        }
        Ok(())
    }

    /// Sends `notice` to shard `to` (handled at once when that is this
    /// shard).
    fn notify(&mut self, to: usize, notice: Notice) {
        if to == self.index {
            self.on_notice(notice);
        } else {
            self.send(to, Message::Background(notice));
        }
    }

    /// A [`Notice`] arrived.
    pub(super) fn on_notice(&mut self, notice: Notice) {
        match notice {
            Notice::PartWritten { job, shard, result } => self.part_written(job, shard, result),
            Notice::Finished { job, ok } => self.job_finished(job, ok),
            Notice::Counters {
                shard,
                changes,
                aof_size,
                aof_base_size,
            } => {
                if let Some(seen) = self.counters_seen.get_mut(shard) {
                    *seen = (changes, aof_size, aof_base_size);
                }
            }
        }
    }

    /// Automatic jobs, from the cron: reports this shard's changes since
    /// its last save to shard 0, which starts a BGSAVE when a `save` rule
    /// holds (Redis's `serverCron`); starts a BGREWRITEAOF that waited for
    /// a BGSAVE to end, or a BGSAVE SCHEDULE that waited for a rewrite.
    pub(super) fn persistence_cron(&mut self) {
        let counters = (
            self.keyspace.changes().saturating_sub(self.changes_at_save),
            self.log
                .as_ref()
                .map_or(0, persist::aof::ShardLog::total_size),
            self.aof_base_size,
        );
        if self.counters_reported != Some(counters) {
            self.counters_reported = Some(counters);
            let notice = Notice::Counters {
                shard: self.index,
                changes: counters.0,
                aof_size: counters.1,
                aof_base_size: counters.2,
            };
            self.notify(0, notice);
        }
        if self.internal.is_some() || self.job.is_some() {
            return;
        }
        if self.rewrite_scheduled {
            self.rewrite_scheduled = false;
            self.run_internal(&["BGREWRITEAOF"]);
        } else if self.save_scheduled {
            self.save_scheduled = false;
            self.run_internal(&["BGSAVE", "SCHEDULE"]);
        } else if self.index == 0 && self.save_due() {
            self.last_bgsave_try_s = self.clock.1 / 1_000_000;
            tracing::info!("save rule met: background saving");
            self.run_internal(&["BGSAVE"]);
        } else if self.index == 0 && self.rewrite_due() {
            self.last_rewrite_try_s = self.clock.1 / 1_000_000;
            tracing::info!("the AOF grew past auto-aof-rewrite-*: rewriting it");
            self.run_internal(&["BGREWRITEAOF"]);
        }
    }

    /// True when a `save` rule holds: more than its seconds since the last
    /// save and at least its changes since (over every shard), and not
    /// within 5 s of a failed attempt (Redis's `CONFIG_BGSAVE_RETRY_DELAY`).
    fn save_due(&self) -> bool {
        const RETRY_DELAY_S: u64 = 5;
        let Some(rules) = crate::config::parse_save_rules(&self.config.save) else {
            return false;
        };
        let now_s = self.clock.1 / 1_000_000;
        if !self.last_bgsave_ok && now_s < self.last_bgsave_try_s + RETRY_DELAY_S {
            return false;
        }
        let dirty: u64 = self.counters_seen.iter().map(|c| c.0).sum();
        let since_s = now_s.saturating_sub(self.last_save_s);
        rules
            .iter()
            .any(|&(seconds, changes)| dirty >= changes && since_s > seconds)
    }

    /// True when the AOF (every shard's files together) is over
    /// `auto-aof-rewrite-min-size` and grew by `auto-aof-rewrite-percentage`
    /// over its size after the last rewrite (Redis's `serverCron`); not
    /// within 5 s of a failed attempt.
    fn rewrite_due(&self) -> bool {
        const RETRY_DELAY_S: u64 = 5;
        let percentage = self.config.auto_aof_rewrite_percentage;
        if self.log.is_none() || percentage == 0 {
            return false;
        }
        let now_s = self.clock.1 / 1_000_000;
        if !self.last_bgrewrite_ok && now_s < self.last_rewrite_try_s + RETRY_DELAY_S {
            return false;
        }
        let size: u64 = self.counters_seen.iter().map(|c| c.1).sum();
        let base: u64 = self.counters_seen.iter().map(|c| c.2).sum::<u64>().max(1);
        let growth = (u128::from(size) * 100 / u128::from(base)).saturating_sub(100);
        size > self.config.auto_aof_rewrite_min_size && growth >= u128::from(percentage)
    }

    /// Runs `argv` as a command of the server's own (a connection without
    /// a socket; [`Shard::reap_internal`] reads its reply).
    fn run_internal(&mut self, argv: &'static [&'static str]) {
        let id = self.handle_connect("internal".to_string());
        // Not a client's connection.
        self.counters.total_connections_received -= 1;
        self.internal = Some(id);
        self.internal_argv = argv;
        let argv: Vec<bytes::Bytes> = argv
            .iter()
            .map(|a| bytes::Bytes::from_static(a.as_bytes()))
            .collect();
        let mut input = Vec::new();
        persist::aof::encode_multibulk(&mut input, &argv);
        self.handle_input(id, &input);
    }

    /// Logs the reply of the server's own command, and closes its
    /// connection once it is done.
    pub(super) fn reap_internal(&mut self) {
        let Some(id) = self.internal else {
            return;
        };
        let Some(connection) = self.conns.get_mut(&id) else {
            self.internal = None;
            return;
        };
        if !connection.output.is_empty() {
            let reply = String::from_utf8_lossy(&connection.output)
                .trim_end()
                .to_string();
            if reply.starts_with('-') {
                tracing::warn!(%reply, "a background job could not start");
                // A shard had not yet heard that the other job ended: retry.
                match self.internal_argv {
                    ["BGREWRITEAOF"] if reply.contains("save already in progress") => {
                        self.rewrite_scheduled = true;
                    }
                    ["BGSAVE", "SCHEDULE"] if reply.contains("rewriting already in progress") => {
                        self.save_scheduled = true;
                    }
                    _ => {}
                }
            }
            connection.output.clear();
        }
        if !connection.is_busy() && connection.held.is_empty() && connection.atomic.is_none() {
            self.internal = None;
            self.handle_disconnect(id);
        }
    }

    /// Coordinator: notes a part; once all are in, switches the manifest
    /// (if every part succeeded) and tells every shard.
    fn part_written(&mut self, id: JobId, shard: usize, result: Result<JobFiles, String>) {
        let Some(gathering) = self.gathering.as_mut().filter(|g| g.id == id) else {
            return; // Abandoned already.
        };
        match result {
            Ok(files) => {
                if let Some(slot) = gathering.files.get_mut(shard) {
                    *slot = Some(files);
                }
            }
            Err(error) => {
                tracing::warn!(shard, %error, "a background job's part failed");
                gathering.failure.get_or_insert(error);
            }
        }
        gathering.waiting = gathering.waiting.saturating_sub(1);
        if gathering.waiting > 0 {
            return;
        }
        let Some(gathering) = self.gathering.take() else {
            return;
        };
        let ok = match gathering.failure {
            Some(_) => false,
            None => match self.switch_job_manifest(&gathering) {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "could not write the manifest; the old files stay in use");
                    false
                }
            },
        };
        match id {
            JobId::AofRewrite { .. } if ok => {
                self.aof_rewrites += 1;
                tracing::info!("Background AOF rewrite finished successfully");
            }
            JobId::Save { .. } if ok => tracing::info!("Background saving terminated with success"),
            _ => tracing::warn!("background job {id:?} failed; the previous files stay in use"),
        }
        for to in 0..self.slots.shard_count() {
            self.notify(to, Notice::Finished { job: id, ok });
        }
    }

    /// Writes the manifest naming `gathering`'s files.
    fn switch_job_manifest(&mut self, gathering: &Gathering) -> Result<(), String> {
        match gathering.id {
            JobId::AofRewrite { generation, .. } => {
                let policy = self.aof_policy().ok_or("appendonly was turned off")?;
                let mut shards = Vec::with_capacity(gathering.files.len());
                for files in &gathering.files {
                    match files {
                        Some(JobFiles::Aof(files)) => shards.push(files.clone()),
                        _ => return Err("a shard's files are unknown".to_string()),
                    }
                }
                let manifest = persist::Manifest {
                    generation,
                    policy,
                    shards,
                };
                let disk = self.platform.disk().ok_or("appendonly was turned off")?;
                match persist::disk::replace(disk, persist::MANIFEST, manifest.encode().as_bytes())
                {
                    Ok(()) => Ok(()),
                    // The rename may have happened: the manifest on disk decides.
                    Err(error) => match persist::read_manifest(disk) {
                        Ok(Some(on_disk)) if on_disk == manifest => Ok(()),
                        _ => Err(error.to_string()),
                    },
                }
            }
            JobId::Save { created_ms, .. } => {
                let mut files = Vec::with_capacity(gathering.files.len());
                for file in &gathering.files {
                    match file {
                        Some(JobFiles::Dump(file)) => files.push(file.clone()),
                        _ => return Err("a shard's file is unknown".to_string()),
                    }
                }
                let manifest = persist::SnapshotManifest { created_ms, files };
                let disk = self
                    .platform
                    .snapshot_disk()
                    .ok_or("snapshots are not available here")?;
                persist::switch_snapshot_manifest(disk, &manifest).map_err(|e| e.to_string())
            }
        }
    }

    /// The job is over: use its files (`ok`) or drop them.
    pub(super) fn job_finished(&mut self, id: JobId, ok: bool) {
        let Some(job) = self.job.take_if(|job| job.id == id) else {
            return;
        };
        if job.writer.is_some() {
            self.keyspace.end_snapshot();
        }
        match id {
            JobId::AofRewrite { .. } => {
                self.last_bgrewrite_ok = ok;
                let Some(log) = self.log.as_mut() else {
                    return;
                };
                let garbage = if ok {
                    let old = log.switch_to_mirror();
                    log.set_base_len(job.written);
                    self.aof_base_size = log.total_size();
                    match old {
                        Some((incr, base)) => [Some(incr), base],
                        None => [None, None],
                    }
                } else {
                    [log.drop_mirror(), Some(job.file)]
                };
                if let Some(disk) = self.platform.disk() {
                    // Named by no manifest now: best-effort removal.
                    for file in garbage.into_iter().flatten() {
                        let _ = disk.remove(&file);
                    }
                }
            }
            JobId::Save { created_ms, .. } => {
                self.last_bgsave_ok = ok;
                if ok {
                    self.changes_at_save = self.changes_at_job_start;
                    self.last_save_s = created_ms / 1000;
                    self.saves += 1;
                } else if let Some(disk) = self.platform.snapshot_disk() {
                    let _ = disk.remove(&job.file);
                }
            }
        }
    }

    /// The job could not start on every shard: drop this shard's part.
    pub(super) fn abandon_job(&mut self, id: JobId) -> Response {
        self.job_finished(id, false);
        Response::Done
    }

    /// SAVE's part on this shard (it holds the shard whole, so all shards'
    /// snapshots show one serial point): writes the keyspace to
    /// `dump-<shard>.<created_ms>.ckv` in `dir` and fsyncs it.
    pub(crate) fn write_snapshot(&mut self, created_ms: u64) -> Result<String, String> {
        if matches!(self.job_kind(), Some(JobId::Save { .. })) {
            return Err("Background save already in progress".to_string());
        }
        let now_ms = self.clock.1 / 1000;
        let mut writer = SnapshotWriter::new(self.index, self.slots.shard_count(), created_ms);
        for (db, database) in self.keyspace.dbs().iter().enumerate() {
            for (key, entry) in database.iter(now_ms) {
                writer.entry(db, key, entry);
            }
        }
        let bytes = writer.finish();
        let file = persist::snapshot_file(self.index, created_ms);
        let disk = self
            .platform
            .snapshot_disk()
            .ok_or_else(|| "snapshots are not available here".to_string())?;
        persist::disk::replace(disk, &file, &bytes).map_err(|e| e.to_string())?;
        self.changes_at_save = self.keyspace.changes();
        self.last_save_s = created_ms / 1000;
        self.saves += 1;
        Ok(file)
    }
}
