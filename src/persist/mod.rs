//! Persistence: per-shard append-only logs, recovered all or nothing.
//!
//! # Layout
//! Everything lives in one directory, `<dir>/<appenddirname>`, as Redis 7's
//! multi-part AOF does (a base plus increments, named by a manifest):
//!
//! ```text
//! corekv.manifest            which files make up the data set (text, replaced atomically)
//! shard-0.7.base.ckv         shard 0's state when generation 7 began (a snapshot)
//! shard-0.7.incr.aof         shard 0's writes since (commands + annotations)
//! shard-1.7.base.ckv ...
//! ```
//!
//! One log per shard keeps the thread-per-core engine shared-nothing: a
//! shard appends to its own file from its own thread, and group commit
//! happens per shard per loop iteration ([`aof::ShardLog::flush`]).
//!
//! # The cut: a consistent prefix across shards' logs
//! Independent logs lose independent tails in a crash. Replaying each
//! log's durable part would then leave holes: a client's write on shard 2
//! kept while its earlier write on shard 1 was lost. Two mechanisms prevent
//! that, depending on the fsync policy:
//!
//! * **`always`**: nothing a write produces — its reply, or a message to
//!   another shard — leaves the shard before the fsync that covers it
//!   (*durable before visible*). Every durable record's causes are then
//!   durable too, so recovery replays every durable record.
//! * **`everysec` / `no`**: replies go out before the fsync, so records
//!   carry **epochs** (as Silo's recovery does): a shard's epoch advances
//!   one per `EPOCH_MS` of its monotonic clock from a base taken at start
//!   (the wall clock's `unix ms / EPOCH_MS`, but never below an epoch the
//!   files already hold), and is raised to every epoch it receives; every
//!   message between shards carries the sender's epoch, so an effect never
//!   has a smaller epoch than its cause. So a wall clock set back can
//!   neither freeze epochs (the cut would stop advancing, cutting writes
//!   acknowledged long before a crash) nor make a log's epochs go back.
//!   Each log notes its epoch (`#E:`); every shard notes it at least at
//!   each periodic fsync, even when idle.
//!   Recovery replays only records of epochs below the smallest epoch
//!   every shard has durably reached: a consistent cut. A write
//!   acknowledged more than `EPOCH_MS` + `EVERYSEC_SYNC_MS` before the
//!   crash is below it.
//!
//! # Atomic operations across logs
//! Every record an atomic operation (EXEC, or a multi-shard command)
//! writes, on any shard, is tagged `#X:<txn>`; when the operation ends its
//! home shard logs `#C:<txn>` before releasing any lock. Recovery replays
//! tagged records only if the commit record is replayed too. A commit is
//! written after every part answered, so under `always` the parts are
//! durable before it, and under the cut its epoch is at least theirs: a
//! replayed commit implies replayed parts. Never half a transaction.
//!
//! # Replay
//! Logged commands are replayed through the same handlers, at the time
//! they first ran (`#T:` annotations), so relative TTLs and lazy expiry
//! come out the same. The one random write, SPOP, is logged as the SREM of
//! what it popped; gathered multi-shard writes are logged as the entries
//! they stored ([`rewrite::entry_commands`]); an expire time already past
//! that deleted its key is logged as that DEL ([`may_delete_at_once`]).
//!
//! When recovery left anything out (a torn tail, records past the cut, an
//! uncommitted operation) a new generation starts: each shard's state is
//! written as a fresh base and the increments restart empty, so what was
//! left out never stays in a file later writes append to. After a clean
//! stop the files are simply appended to.
//!
//! # Rewrites
//! BGREWRITEAOF writes the next generation's bases in the background, each
//! shard's keyspace as of one serial point, while every write after that
//! point is logged to both the current increment and the next one
//! ([`aof::ShardLog::start_mirror`]); the manifest switches once every
//! base is durable. Whichever manifest a crash finds names complete files.
//! The protocol is in `crate::shard::background`.

pub mod aof;
pub mod check;
pub mod disk;
pub mod load;
pub mod rewrite;
pub mod shard_jobs;
pub mod snapshot;

use std::fmt;

use rand::RngCore;

use crate::keyspace::Keyspace;

/// Epoch length (ms): recovery under `everysec`/`no` may lose this much
/// more than the fsync interval.
pub const EPOCH_MS: u64 = 100;
/// Interval between fsyncs under `appendfsync everysec` (ms). Half a second
/// plus one epoch keeps every write acknowledged over a second before a
/// crash durable, as `everysec` promises.
pub const EVERYSEC_SYNC_MS: u64 = 500;
/// Bytes of a base snapshot buffered before they are handed to the disk.
const BASE_CHUNK_BYTES: usize = 1 << 20;
/// The manifest's file name.
pub const MANIFEST: &str = "corekv.manifest";

/// `appendfsync`: when the log is fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// After every loop iteration that wrote, before any reply goes out.
    Always,
    /// Every [`EVERYSEC_SYNC_MS`].
    #[default]
    EverySec,
    /// Never explicitly: the OS decides.
    No,
}

impl Policy {
    /// Parses `always`, `everysec` or `no`.
    pub fn parse(text: &str) -> Option<Policy> {
        match text.to_ascii_lowercase().as_str() {
            "always" => Some(Policy::Always),
            "everysec" => Some(Policy::EverySec),
            "no" => Some(Policy::No),
            _ => None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Always => "always",
            Policy::EverySec => "everysec",
            Policy::No => "no",
        })
    }
}

/// One shard's files in the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFiles {
    /// The base (the shard's state when the generation began), if any.
    pub base: Option<String>,
    /// The increment file.
    pub incr: String,
}

/// The manifest: which files make up the data set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Bumped by every rewrite (and every start).
    pub generation: u64,
    /// The fsync policy the increments were written under (it decides the
    /// recovery cut).
    pub policy: Policy,
    /// Per shard, in shard order.
    pub shards: Vec<ShardFiles>,
}

impl Manifest {
    /// The manifest as text.
    pub fn encode(&self) -> String {
        let mut text = String::from("# corekv AOF manifest: written by corekv, do not edit\n");
        text.push_str("version 1\n");
        text.push_str(&format!("generation {}\n", self.generation));
        text.push_str(&format!("policy {}\n", self.policy));
        text.push_str(&format!("shards {}\n", self.shards.len()));
        for (index, shard) in self.shards.iter().enumerate() {
            text.push_str(&format!(
                "shard {index} base {} incr {}\n",
                shard.base.as_deref().unwrap_or("-"),
                shard.incr
            ));
        }
        text
    }

    /// Parses a manifest.
    ///
    /// # Errors
    /// A message naming the bad line.
    pub fn decode(text: &str) -> Result<Manifest, String> {
        let mut generation = None;
        let mut policy = None;
        let mut count = None;
        let mut shards = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let bad = || format!("bad manifest line {}: {line:?}", number + 1);
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["version", "1"] => {}
                ["version", other] => return Err(format!("unsupported manifest version {other}")),
                ["generation", g] => generation = Some(g.parse::<u64>().map_err(|_| bad())?),
                ["policy", p] => policy = Some(Policy::parse(p).ok_or_else(bad)?),
                ["shards", n] => {
                    count = Some(shard_count(n).ok_or_else(bad)?);
                }
                ["shard", index, "base", base, "incr", incr] => {
                    if index.parse::<usize>().ok() != Some(shards.len()) {
                        return Err(bad());
                    }
                    if !plain_name(base) || !plain_name(incr) {
                        return Err(bad());
                    }
                    shards.push(ShardFiles {
                        base: (*base != "-").then(|| (*base).to_string()),
                        incr: (*incr).to_string(),
                    });
                }
                _ => return Err(bad()),
            }
        }
        let (Some(generation), Some(policy), Some(count)) = (generation, policy, count) else {
            return Err("incomplete manifest".to_string());
        };
        if shards.len() != count {
            return Err(format!(
                "the manifest lists {} shards but declares {count}",
                shards.len()
            ));
        }
        Ok(Manifest {
            generation,
            policy,
            shards,
        })
    }
}

/// How a write command that succeeded goes into the log.
#[derive(Debug)]
pub enum LoggedForm {
    /// As it was sent.
    Same,
    /// As this command instead (its effect, where replaying the original
    /// would not reproduce it).
    Instead(Vec<bytes::Bytes>),
    /// Not at all (it changed nothing).
    Nothing,
}

/// The logged form of `spec` run as `argv` with `reply`. SPOP draws
/// randomly, so it is logged as the SREM of what it popped (as Redis
/// propagates it); everything else replays identically at its `#T:` time.
pub fn logged_form(
    spec: &crate::commands::CommandSpec,
    argv: &[bytes::Bytes],
    reply: &crate::resp::Reply,
) -> LoggedForm {
    use crate::resp::Reply;
    if spec.name != "spop" {
        return LoggedForm::Same;
    }
    let mut srem = vec![bytes::Bytes::from_static(b"SREM")];
    srem.extend(argv.get(1).cloned());
    match reply {
        Reply::Bulk(member) => srem.push(member.clone()),
        Reply::Array(members) | Reply::Set(members) => {
            for member in members {
                if let Reply::Bulk(member) = member {
                    srem.push(member.clone());
                }
            }
        }
        _ => {}
    }
    if srem.len() < 3 {
        LoggedForm::Nothing
    } else {
        LoggedForm::Instead(srem)
    }
}

/// True for the commands that delete their key at once when given an
/// expire time already past (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, GETEX;
/// Redis's `checkAlreadyExpired`). Replay runs with `Ctx::loading`, which
/// keeps the key with that TTL instead — live until then, so a write in
/// the same millisecond would land on it — so when the key is gone after
/// such a command it is logged as the `DEL` it was, as Redis propagates it.
pub fn may_delete_at_once(spec: &crate::commands::CommandSpec) -> bool {
    matches!(
        spec.name,
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex"
    )
}

/// A manifest's shard count: 1 to `SHARDS_MAX`.
fn shard_count(text: &str) -> Option<usize> {
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=crate::limits::SHARDS_MAX).contains(n))
}

/// A file name a manifest may hold: non-empty, no directory part.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/')
}

/// The epoch of Unix time `unix_ms`.
pub fn wall_epoch(unix_ms: u64) -> u64 {
    unix_ms / EPOCH_MS
}

/// What [`open`] hands the shards.
#[derive(Debug)]
pub struct Opened {
    /// Each shard's recovered keyspace.
    pub keyspaces: Vec<Keyspace>,
    /// Each shard's log, appending to the new generation's increment.
    pub logs: Vec<aof::ShardLog>,
    /// What recovery did.
    pub report: load::RecoveryReport,
}

/// Opens the AOF directory at start: recovers the data set its manifest
/// names (if any), then starts a new generation — every shard's state as a
/// fresh base, empty increments, a new manifest — and removes the old files.
///
/// # Errors
/// A message for the log: a corrupt file (named, with the offset), a
/// manifest written by a different number of shards, or a disk error.
pub fn open(
    disk: &mut dyn disk::Disk,
    policy: Policy,
    shard_count: usize,
    databases: usize,
    unix_ms: u64,
    seed_source: &mut dyn RngCore,
) -> Result<Opened, String> {
    open_with(
        disk,
        policy,
        shard_count,
        databases,
        unix_ms,
        seed_source,
        &load::RecoveryOptions::default(),
    )
}

/// [`open`], recovering with `options` (the default ones are [`open`]'s;
/// others plant bugs for the simulator).
///
/// # Errors
/// As [`open`].
pub fn open_with(
    disk: &mut dyn disk::Disk,
    policy: Policy,
    shard_count: usize,
    databases: usize,
    unix_ms: u64,
    seed_source: &mut dyn RngCore,
    options: &load::RecoveryOptions,
) -> Result<Opened, String> {
    open_on(
        disk,
        policy,
        shard_count,
        databases,
        unix_ms,
        seed_source,
        options,
        &shard_jobs::InOrder,
    )
}

/// [`open`], recovering the shards as jobs of `jobs` (production: one
/// thread per shard, see [`load::recover_on`]); the result is the same as
/// [`open`]'s for the same `seed_source`.
///
/// # Errors
/// As [`open`].
pub fn open_parallel(
    disk: &mut dyn disk::Disk,
    policy: Policy,
    shard_count: usize,
    databases: usize,
    unix_ms: u64,
    seed_source: &mut dyn RngCore,
    jobs: &dyn shard_jobs::ShardJobs,
) -> Result<Opened, String> {
    open_on(
        disk,
        policy,
        shard_count,
        databases,
        unix_ms,
        seed_source,
        &load::RecoveryOptions::default(),
        jobs,
    )
}

#[allow(clippy::too_many_arguments)] // open_with's, plus who runs the shards' jobs
fn open_on(
    disk: &mut dyn disk::Disk,
    policy: Policy,
    shard_count: usize,
    databases: usize,
    unix_ms: u64,
    seed_source: &mut dyn RngCore,
    options: &load::RecoveryOptions,
    jobs: &dyn shard_jobs::ShardJobs,
) -> Result<Opened, String> {
    let old = read_manifest(disk)?;
    let (keyspaces, report, generation) = match &old {
        Some(manifest) => {
            if manifest.shards.len() != shard_count {
                return Err(format!(
                    "the AOF was written by {} shards but the server runs {shard_count}: \
                     start it with --threads {}",
                    manifest.shards.len(),
                    manifest.shards.len()
                ));
            }
            let (keyspaces, report) =
                load::recover_on(disk, manifest, databases, seed_source, options, jobs)?;
            (keyspaces, report, manifest.generation + 1)
        }
        None => (
            (0..shard_count)
                .map(|_| Keyspace::new(databases, seed_source))
                .collect(),
            load::RecoveryReport::default(),
            1,
        ),
    };
    if let Some(manifest) = old
        .as_ref()
        .filter(|m| m.policy == policy && report.replayed_all())
    {
        // A clean data set (nothing trimmed, cut or left uncommitted) under
        // the same policy: keep appending to its files; no new base needed.
        let mut logs = Vec::with_capacity(shard_count);
        for ((shard, len), base_len) in manifest
            .shards
            .iter()
            .zip(&report.incr_lens)
            .zip(&report.base_lens)
        {
            let mut log = aof::ShardLog::new(policy, shard.incr.clone(), *len);
            log.set_base(shard.base.clone());
            log.set_base_len(*base_len);
            log.set_tag_base(report.max_txn_conn + 1);
            log.set_epoch_floor(report.max_epoch);
            logs.push(log);
        }
        return Ok(Opened {
            keyspaces,
            logs,
            report,
        });
    }
    let mut shards = Vec::with_capacity(shard_count);
    let mut logs = Vec::with_capacity(shard_count);
    for (index, keyspace) in keyspaces.iter().enumerate() {
        let (mut log, files) = start_generation(
            disk,
            index,
            shard_count,
            generation,
            policy,
            keyspace,
            unix_ms,
            wall_epoch(unix_ms),
        )
        .map_err(|e| format!("cannot write the AOF: {e}"))?;
        log.set_epoch_floor(wall_epoch(unix_ms).max(report.max_epoch));
        logs.push(log);
        shards.push(files);
    }
    let manifest = Manifest {
        generation,
        policy,
        shards,
    };
    switch_manifest(disk, &manifest).map_err(|e| format!("cannot write the AOF: {e}"))?;
    Ok(Opened {
        keyspaces,
        logs,
        report,
    })
}

/// The snapshot manifest's file name, in `dir`.
pub const SNAPSHOT_MANIFEST: &str = "dump.manifest";

/// Shard `index`'s snapshot file of the snapshot created at Unix ms
/// `created_ms`, in `dir` (format: [`snapshot`]). Each snapshot has its
/// own files, so a crash while one is written leaves the last one whole.
pub fn snapshot_file(index: usize, created_ms: u64) -> String {
    format!("dump-{index}.{created_ms}.ckv")
}

/// Makes `manifest` the snapshot manifest (atomically), then removes the
/// snapshot files it no longer names (best-effort).
///
/// # Errors
/// The disk's error writing the manifest.
pub fn switch_snapshot_manifest(
    disk: &mut dyn disk::Disk,
    manifest: &SnapshotManifest,
) -> std::io::Result<()> {
    disk::replace(disk, SNAPSHOT_MANIFEST, manifest.encode().as_bytes())?;
    if let Ok(names) = disk.list() {
        for name in names {
            if name.starts_with("dump-")
                && name.ends_with(".ckv")
                && !manifest.files.contains(&name)
            {
                let _ = disk.remove(&name);
            }
        }
    }
    Ok(())
}

/// Which snapshot files make up the last SAVE/BGSAVE (one per shard,
/// written at one serial point).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotManifest {
    /// When the snapshot was taken (Unix ms).
    pub created_ms: u64,
    /// Per shard, in shard order.
    pub files: Vec<String>,
}

impl SnapshotManifest {
    /// The manifest as text.
    pub fn encode(&self) -> String {
        let mut text = String::from("# corekv snapshot manifest: written by corekv, do not edit\n");
        text.push_str("version 1\n");
        text.push_str(&format!("created_ms {}\n", self.created_ms));
        text.push_str(&format!("shards {}\n", self.files.len()));
        for (index, file) in self.files.iter().enumerate() {
            text.push_str(&format!("shard {index} {file}\n"));
        }
        text
    }

    /// Parses a snapshot manifest.
    ///
    /// # Errors
    /// A message naming the bad line.
    pub fn decode(text: &str) -> Result<SnapshotManifest, String> {
        let mut created_ms = None;
        let mut count = None;
        let mut files = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let bad = || format!("bad snapshot manifest line {}: {line:?}", number + 1);
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["version", "1"] => {}
                ["created_ms", ms] => created_ms = Some(ms.parse::<u64>().map_err(|_| bad())?),
                ["shards", n] => {
                    count = Some(shard_count(n).ok_or_else(bad)?);
                }
                ["shard", index, file] => {
                    if index.parse::<usize>().ok() != Some(files.len()) || !plain_name(file) {
                        return Err(bad());
                    }
                    files.push((*file).to_string());
                }
                _ => return Err(bad()),
            }
        }
        match (created_ms, count) {
            (Some(created_ms), Some(count)) if count == files.len() => {
                Ok(SnapshotManifest { created_ms, files })
            }
            _ => Err("incomplete snapshot manifest".to_string()),
        }
    }
}

/// Loads the last SAVE/BGSAVE from `disk` (the `dir`), if there is one:
/// each shard's keyspace. Used at start when `appendonly no`, as Redis
/// loads its RDB file. The files are read in shard order, then each is
/// loaded as a job of `jobs` (production: one thread per shard) with its
/// own random stream seeded from `rng` in shard order, so the result does
/// not depend on how `jobs` runs them. Every file is in memory until the
/// loads finish.
///
/// # Errors
/// A message naming the file and the problem (corrupt, checksum, written
/// by a different number of shards); when several fail, the first shard's.
pub fn load_snapshots(
    disk: &mut dyn disk::Disk,
    shard_count: usize,
    databases: usize,
    rng: &mut dyn RngCore,
    jobs: &dyn shard_jobs::ShardJobs,
) -> Result<Option<Vec<Keyspace>>, String> {
    use rand::SeedableRng;
    let Some(manifest) = read_snapshot_manifest(disk)? else {
        return Ok(None);
    };
    if manifest.files.len() != shard_count {
        return Err(format!(
            "the snapshot was written by {} shards but the server runs {shard_count}: \
             start it with --threads {}",
            manifest.files.len(),
            manifest.files.len()
        ));
    }
    let mut reads = Vec::with_capacity(shard_count);
    for file in &manifest.files {
        let seed = rng.next_u64();
        let bytes = disk
            .read(file)
            .map_err(|e| format!("cannot read {file}: {e}"))?
            .ok_or_else(|| format!("{file} is missing"))?;
        reads.push((file, bytes, rand_chacha::ChaCha8Rng::seed_from_u64(seed)));
    }
    let progress = shard_jobs::Progress::new();
    let loaded = shard_jobs::for_each_shard(jobs, reads, |_, (file, bytes, mut rng)| {
        let mut keyspace = Keyspace::new(databases, &mut rng);
        let mut tally = progress.tally();
        snapshot::load(&bytes, databases, &mut rng, |db, key, entry| {
            keyspace.db(db).insert_entry(key, entry);
            tally.one(file);
        })
        .map_err(|e| format!("{file}: {e}"))?;
        tally.flush(file);
        Ok::<_, String>(keyspace)
    });
    Ok(Some(loaded.into_iter().collect::<Result<Vec<_>, _>>()?))
}

/// The snapshot manifest, if `dir` has one.
///
/// # Errors
/// A message when it cannot be read or parsed.
pub fn read_snapshot_manifest(
    disk: &mut dyn disk::Disk,
) -> Result<Option<SnapshotManifest>, String> {
    let Some(bytes) = disk
        .read(SNAPSHOT_MANIFEST)
        .map_err(|e| format!("cannot read {SNAPSHOT_MANIFEST}: {e}"))?
    else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| format!("{SNAPSHOT_MANIFEST} is not text"))?;
    SnapshotManifest::decode(&text).map(Some)
}

/// The manifest, if the directory has one.
///
/// # Errors
/// A message when it cannot be read or parsed.
pub fn read_manifest(disk: &mut dyn disk::Disk) -> Result<Option<Manifest>, String> {
    match disk
        .read(MANIFEST)
        .map_err(|e| format!("cannot read {MANIFEST}: {e}"))?
    {
        Some(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| format!("{MANIFEST} is not text"))?;
            Ok(Some(
                Manifest::decode(&text).map_err(|e| format!("{MANIFEST}: {e}"))?,
            ))
        }
        None => Ok(None),
    }
}

/// Starts generation `generation` of shard `index`: writes `keyspace` as
/// the new base (durably), creates the new increment beginning with an
/// `#E:` note of `epoch`, and returns the log appending to it. The files
/// count only once a manifest names them ([`switch_manifest`]).
///
/// # Errors
/// The disk's error.
#[allow(clippy::too_many_arguments)] // each is one independent fact of the rotation
pub fn start_generation(
    disk: &mut dyn disk::Disk,
    index: usize,
    shard_count: usize,
    generation: u64,
    policy: Policy,
    keyspace: &Keyspace,
    unix_ms: u64,
    epoch: u64,
) -> std::io::Result<(aof::ShardLog, ShardFiles)> {
    let base = base_file(index, generation);
    disk.remove(&base)?;
    // The base is a snapshot (as Redis's AOF base is an RDB preamble):
    // written in chunks, so memory stays bounded by one entry plus a chunk.
    let mut writer = snapshot::SnapshotWriter::new(index, shard_count, unix_ms);
    let mut writer_len = 0u64;
    for (db, database) in keyspace.dbs().iter().enumerate() {
        for (key, entry) in database.iter(unix_ms) {
            writer.entry(db, key, entry);
            if writer.buffered_bytes() >= BASE_CHUNK_BYTES {
                let chunk = writer.take_chunk();
                writer_len += chunk.len() as u64;
                disk.append(&base, &chunk)?;
            }
        }
    }
    let last = writer.finish();
    let base_len = writer_len + last.len() as u64;
    disk.append(&base, &last)?;
    disk.sync(&base)?;
    let (mut log, files) = create_increment(disk, index, generation, policy, epoch)?;
    log.set_base_len(base_len);
    Ok((log, files))
}

/// Creates generation `generation`'s empty increment for shard `index`,
/// durably, beginning with an `#E:` note of `epoch`, and returns the log
/// appending to it and the generation's file names (the base is
/// `shard-<index>.<generation>.base.ckv`, written by the caller). The
/// files count only once a manifest names them ([`switch_manifest`]).
///
/// # Errors
/// The disk's error.
pub fn create_increment(
    disk: &mut dyn disk::Disk,
    index: usize,
    generation: u64,
    policy: Policy,
    epoch: u64,
) -> std::io::Result<(aof::ShardLog, ShardFiles)> {
    let base = base_file(index, generation);
    let incr = format!("shard-{index}.{generation}.incr.aof");
    let first = format!("#E:{epoch}\r\n");
    disk.remove(&incr)?;
    disk.append(&incr, first.as_bytes())?;
    disk.sync(&incr)?;
    let mut log = aof::ShardLog::new(policy, incr.clone(), first.len() as u64);
    log.set_base(Some(base.clone()));
    Ok((
        log,
        ShardFiles {
            base: Some(base),
            incr,
        },
    ))
}

/// Shard `index`'s base file of generation `generation`.
pub fn base_file(index: usize, generation: u64) -> String {
    format!("shard-{index}.{generation}.base.ckv")
}

/// Makes `manifest` the data set's manifest (atomically), then removes the
/// shard files it no longer names (a failure to remove one only costs
/// space).
///
/// # Errors
/// The disk's error writing the manifest.
pub fn switch_manifest(disk: &mut dyn disk::Disk, manifest: &Manifest) -> std::io::Result<()> {
    disk::replace(disk, MANIFEST, manifest.encode().as_bytes())?;
    if let Ok(names) = disk.list() {
        let keep: Vec<&str> = manifest
            .shards
            .iter()
            .flat_map(|s| s.base.iter().map(String::as_str).chain([s.incr.as_str()]))
            .collect();
        for name in names {
            if name.starts_with("shard-") && !keep.contains(&name.as_str()) {
                let _ = disk.remove(&name);
            }
        }
    }
    Ok(())
}
