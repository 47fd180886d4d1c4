//! Reading logs back: parsing an AOF file into items, and recovering every
//! shard's keyspace from the files a manifest names — shard by shard in
//! parallel where the caller's [`ShardJobs`] allow, with the one step that
//! needs every shard's log (the cut and the commit set) between two
//! per-shard passes (see [`recover_on`]).

use std::collections::HashSet;

use bytes::Bytes;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::aof::TxnTag;
use super::disk::Disk;
use super::shard_jobs::{for_each_shard, InOrder, Progress, ShardJobs, Tally};
use super::{Manifest, Policy};
use crate::commands::{run, Ctx, Exec, Table};
use crate::keyspace::Keyspace;
use crate::resp::Reply;

/// Most arguments one logged command may have (as a client's multibulk).
const LOG_ARGS_MAX: usize = 1024 * 1024;

/// One item of a log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `#E:` — the records after it belong to this epoch.
    Epoch(u64),
    /// `#T:` — the records after it ran at this Unix time (ms).
    Time(u64),
    /// `#X:` — the next command belongs to this atomic operation.
    Txn(TxnTag),
    /// `#C:` — this atomic operation committed.
    Commit(TxnTag),
    /// `#F` — the next command failed when it ran (after changing
    /// something, as PFADD on a corrupt HLL does): its error on replay is
    /// expected.
    Failed,
    /// Any other annotation (e.g. Redis's `#TS:`), ignored.
    Other,
    /// A command, as a multibulk.
    Command(Vec<Bytes>),
}

/// A parsed log file.
#[derive(Debug, Default)]
pub struct ParsedLog {
    /// Items with the byte offset where each starts.
    pub items: Vec<(usize, Item)>,
    /// Bytes of the file that form complete items; less than the file's
    /// length when its tail is torn (an incomplete last write).
    pub valid_len: usize,
}

/// Why a log cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// Byte offset of the bad item.
    pub offset: usize,
    /// What is wrong there.
    pub reason: String,
}

enum Step {
    Item(Item, usize),
    Incomplete,
}

/// Parses a whole log. An incomplete last item (a torn write) ends the
/// parse at its offset (`valid_len`); anything malformed before the end is
/// corruption, reported with its offset.
///
/// # Errors
/// [`Corruption`] at the first malformed item.
pub fn parse_log(bytes: &Bytes) -> Result<ParsedLog, Corruption> {
    let mut parsed = ParsedLog::default();
    let mut offset = 0;
    while offset < bytes.len() {
        match parse_item(bytes, offset).map_err(|reason| Corruption { offset, reason })? {
            Step::Item(item, next) => {
                parsed.items.push((offset, item));
                offset = next;
            }
            Step::Incomplete => break,
        }
    }
    parsed.valid_len = offset;
    Ok(parsed)
}

/// The line starting at `offset` (without `\r\n`) and the offset after it.
fn line(bytes: &[u8], offset: usize) -> Result<Option<(&[u8], usize)>, String> {
    let rest = &bytes[offset..];
    match rest.iter().position(|&b| b == b'\n') {
        None => Ok(None),
        Some(0) => Err("line without \\r".to_string()),
        Some(end) if rest[end - 1] == b'\r' => Ok(Some((&rest[..end - 1], offset + end + 1))),
        Some(_) => Err("line without \\r".to_string()),
    }
}

/// `text` as a decimal `u64`, accepting exactly what `str::parse::<u64>`
/// accepts (an optional `+`, then at least one digit, no overflow) but
/// without its UTF-8 check first: every record of a log has three or more
/// numbers, and this was a tenth of a replay's instructions.
fn number(text: &[u8]) -> Result<u64, String> {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    let value = if digits.is_empty() {
        None
    } else {
        digits.iter().try_fold(0u64, |value, &byte| {
            let digit = byte.checked_sub(b'0').filter(|d| *d < 10)?;
            value.checked_mul(10)?.checked_add(u64::from(digit))
        })
    };
    value.ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(text)))
}

fn txn_tag(text: &[u8]) -> Result<TxnTag, String> {
    let dot = text
        .iter()
        .position(|&b| b == b'.')
        .ok_or_else(|| format!("bad transaction id {:?}", String::from_utf8_lossy(text)))?;
    Ok((number(&text[..dot])?, number(&text[dot + 1..])?))
}

fn parse_item(bytes: &Bytes, offset: usize) -> Result<Step, String> {
    match bytes[offset] {
        b'#' => {
            let Some((text, next)) = line(bytes, offset)? else {
                return Ok(Step::Incomplete);
            };
            let item = match text {
                [b'#', b'E', b':', value @ ..] => Item::Epoch(number(value)?),
                [b'#', b'T', b':', value @ ..] => Item::Time(number(value)?),
                [b'#', b'X', b':', value @ ..] => Item::Txn(txn_tag(value)?),
                [b'#', b'C', b':', value @ ..] => Item::Commit(txn_tag(value)?),
                b"#F" => Item::Failed,
                _ => Item::Other,
            };
            Ok(Step::Item(item, next))
        }
        b'*' => {
            let Some((text, mut next)) = line(bytes, offset)? else {
                return Ok(Step::Incomplete);
            };
            let count = number(&text[1..])?;
            if count == 0 || count > LOG_ARGS_MAX as u64 {
                return Err(format!("bad argument count {count}"));
            }
            // Each argument takes at least 6 bytes ("$0\r\n\r\n"): a count
            // the rest of the file cannot hold is torn or corrupt, and never
            // drives an allocation.
            let capacity = (count as usize).min((bytes.len() - next) / 6 + 1);
            let mut argv = Vec::with_capacity(capacity);
            for _ in 0..count {
                if next >= bytes.len() {
                    return Ok(Step::Incomplete);
                }
                if bytes[next] != b'$' {
                    return Err(format!("expected '$' at offset {next}"));
                }
                let Some((text, start)) = line(bytes, next)? else {
                    return Ok(Step::Incomplete);
                };
                let len = number(&text[1..])?;
                let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
                    return Err(format!("bad bulk length {len}"));
                };
                if end + 2 > bytes.len() {
                    return Ok(Step::Incomplete);
                }
                if &bytes[end..end + 2] != b"\r\n" {
                    return Err(format!(
                        "bulk string at offset {start} does not end with \\r\\n"
                    ));
                }
                argv.push(bytes.slice(start..end));
                next = end + 2;
            }
            Ok(Step::Item(Item::Command(argv), next))
        }
        other => Err(format!("unexpected byte 0x{other:02x}")),
    }
}

/// What recovery did, for the log and INFO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Commands replayed, over all shards (base and increments).
    pub commands: u64,
    /// Torn tails trimmed: (file, bytes dropped).
    pub trimmed: Vec<(String, u64)>,
    /// Commands after the recovery cut, not replayed.
    pub after_cut: u64,
    /// Commands of atomic operations that never committed, not replayed.
    pub uncommitted: u64,
    /// Handler errors while replaying commands that had succeeded when
    /// they ran (should be zero).
    pub errors: u64,
    /// Commands that failed when they ran and failed again on replay.
    pub expected_errors: u64,
    /// The largest connection part of any transaction tag in the files:
    /// logs appended to after this recovery tag above it, so a new run's
    /// operation never meets an old run's commit record.
    pub max_txn_conn: u64,
    /// The largest epoch any increment notes (`#E:`), cut or not: the next
    /// run's epochs start there, so a log's epochs never go back.
    pub max_epoch: u64,
    /// Each shard's increment length in bytes, as read.
    pub incr_lens: Vec<u64>,
    /// Each shard's base length in bytes (0 without a base).
    pub base_lens: Vec<u64>,
}

/// How recovery treats what a correct recovery must not replay. Both off
/// (the default) in production: they exist to plant bugs the simulator's
/// durability checker must catch (`shard::Faults::recover_partial_txn`,
/// `shard::Faults::skip_torn_trim`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// Replay records of atomic operations that never committed.
    pub replay_uncommitted: bool,
    /// Replay a torn last record of an increment as far as it goes (its
    /// complete arguments, and the torn one's bytes) instead of trimming it.
    pub replay_torn_tail: bool,
}

/// The torn command starting at `offset` of `bytes`, as far as it goes
/// (planted bug `RecoveryOptions::replay_torn_tail`).
fn torn_command(bytes: &Bytes, offset: usize) -> Option<Vec<Bytes>> {
    let (text, mut next) = line(bytes, offset).ok().flatten()?;
    if text.first() != Some(&b'*') {
        return None;
    }
    let count = number(&text[1..]).ok()?;
    let mut argv = Vec::new();
    while (argv.len() as u64) < count && next < bytes.len() {
        let Some((text, start)) = line(bytes, next).ok().flatten() else {
            break;
        };
        let len = usize::try_from(number(text.get(1..)?).ok()?).ok()?;
        let end = start.saturating_add(len).min(bytes.len());
        argv.push(bytes.slice(start..end));
        next = end + 2;
    }
    (!argv.is_empty()).then_some(argv)
}

impl RecoveryReport {
    /// Adds one shard's report to this one (shards in order).
    fn absorb(&mut self, shard: RecoveryReport) {
        self.commands += shard.commands;
        self.trimmed.extend(shard.trimmed);
        self.after_cut += shard.after_cut;
        self.uncommitted += shard.uncommitted;
        self.errors += shard.errors;
        self.expected_errors += shard.expected_errors;
        self.max_txn_conn = self.max_txn_conn.max(shard.max_txn_conn);
        self.max_epoch = self.max_epoch.max(shard.max_epoch);
        self.incr_lens.extend(shard.incr_lens);
        self.base_lens.extend(shard.base_lens);
    }

    /// True when recovery replayed every record of the files: nothing torn,
    /// cut or uncommitted was left out, so the files can be appended to.
    pub fn replayed_all(&self) -> bool {
        self.trimmed.is_empty() && self.after_cut == 0 && self.uncommitted == 0
    }
}

/// A base file as read: a snapshot (`.ckv`, what corekv writes) or commands.
enum BaseBytes {
    Snapshot(Vec<u8>),
    Log(Bytes),
}

/// A shard's files as read from the disk (pass 1, in shard order: there is
/// one disk, and the simulator counts its operations), with the random
/// stream the shard's recovery draws from.
struct ShardRead {
    base: Option<(String, BaseBytes)>,
    incr_name: String,
    incr: Bytes,
    rng: ChaCha8Rng,
}

/// A shard after pass 2: its logs parsed, its snapshot base (if any)
/// loaded, and what the cut and the commit set need from it.
struct Prepared {
    keyspace: Keyspace,
    rng: ChaCha8Rng,
    /// A base of commands, replayed in pass 4 (it may hold tagged records).
    base_log: Option<(String, ParsedLog)>,
    incr_name: String,
    incr: ParsedLog,
    /// The epoch the increment has durably reached: its last `#E:`.
    last_epoch: u64,
    /// The increment's commit records, each with the epoch it was logged in.
    commits: Vec<(u64, TxnTag)>,
    /// This shard's part of the report so far.
    report: RecoveryReport,
}

/// What every shard's replay needs from all shards' logs (pass 3).
struct Plan {
    /// Epochs at or past it are not replayed (`u64::MAX` under `always`).
    cut: u64,
    /// Atomic operations whose commit record is replayed.
    committed: HashSet<TxnTag>,
}

/// Reads `name`, which the manifest names.
fn read_named(disk: &mut dyn Disk, name: &str) -> Result<Bytes, String> {
    let bytes = disk
        .read(name)
        .map_err(|e| format!("cannot read {name}: {e}"))?
        .ok_or_else(|| {
            format!("the manifest names {name}, which is missing: refusing to start without it")
        })?;
    Ok(Bytes::from(bytes))
}

/// Parses the log `name`.
fn parse_named(name: &str, bytes: &Bytes) -> Result<ParsedLog, String> {
    parse_log(bytes).map_err(|c| {
        format!(
            "Bad file format reading the append only file {name} at offset {}: {}. \
             Run `corekv check-aof --fix <file>` to truncate it there (losing what follows)",
            c.offset, c.reason
        )
    })
}

/// Recovers every shard's keyspace from the files `manifest` names:
/// replays each base, then each increment up to the recovery cut, skipping
/// atomic operations that never committed (see [`super`]).
///
/// # Errors
/// A message naming the file and offset of corruption, or an unreadable
/// file. A torn tail is not an error: it is trimmed and reported.
pub fn recover(
    disk: &mut dyn Disk,
    manifest: &Manifest,
    databases: usize,
    seed_source: &mut dyn RngCore,
) -> Result<(Vec<Keyspace>, RecoveryReport), String> {
    recover_with(
        disk,
        manifest,
        databases,
        seed_source,
        &RecoveryOptions::default(),
    )
}

/// [`recover`], with `options` (the default ones are [`recover`]'s), one
/// shard after another.
///
/// # Errors
/// As [`recover`].
pub fn recover_with(
    disk: &mut dyn Disk,
    manifest: &Manifest,
    databases: usize,
    seed_source: &mut dyn RngCore,
    options: &RecoveryOptions,
) -> Result<(Vec<Keyspace>, RecoveryReport), String> {
    recover_on(disk, manifest, databases, seed_source, options, &InOrder)
}

/// [`recover_with`], running each shard's parsing and replay as a job of
/// `jobs` (production: one thread per shard). In four passes:
///
/// 1. read every file, in shard order (one disk);
/// 2. per shard: parse the logs, load a snapshot base, note the increment's
///    last epoch and commit records;
/// 3. over all shards: the cut (the smallest last epoch) and the commits
///    below it — the only step that needs every shard;
/// 4. per shard: replay a command base and the increment up to the cut.
///
/// Each shard draws from its own random stream, seeded from `seed_source`
/// in shard order before anything runs, so the keyspaces are the same
/// whatever order or concurrency `jobs` runs the shards in.
///
/// # Errors
/// As [`recover`]; when several shards fail, the first one's error.
pub fn recover_on(
    disk: &mut dyn Disk,
    manifest: &Manifest,
    databases: usize,
    seed_source: &mut dyn RngCore,
    options: &RecoveryOptions,
    jobs: &dyn ShardJobs,
) -> Result<(Vec<Keyspace>, RecoveryReport), String> {
    let seeds: Vec<u64> = manifest
        .shards
        .iter()
        .map(|_| seed_source.next_u64())
        .collect();
    let mut reads = Vec::with_capacity(manifest.shards.len());
    for (shard, seed) in manifest.shards.iter().zip(seeds) {
        let base = match &shard.base {
            Some(name) if name.ends_with(".ckv") => {
                let bytes = disk
                    .read(name)
                    .map_err(|e| format!("cannot read {name}: {e}"))?
                    .ok_or_else(|| format!("{name} is missing"))?;
                Some((name.clone(), BaseBytes::Snapshot(bytes)))
            }
            Some(name) => Some((name.clone(), BaseBytes::Log(read_named(disk, name)?))),
            None => None,
        };
        reads.push(ShardRead {
            base,
            incr_name: shard.incr.clone(),
            incr: read_named(disk, &shard.incr)?,
            rng: ChaCha8Rng::seed_from_u64(seed),
        });
    }
    let progress = Progress::new();
    let prepared = for_each_shard(jobs, reads, |_, read| {
        prepare(read, databases, options, &progress)
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let plan = plan(manifest.policy, &prepared);
    let table = Table::new();
    let shard_count = prepared.len();
    let replayed = for_each_shard(jobs, prepared, |index, shard| {
        let context = ReplayContext {
            table: &table,
            plan: &plan,
            shard_index: index,
            shard_count,
            options,
            progress: &progress,
        };
        replay_shard(shard, &context)
    });
    let mut keyspaces = Vec::with_capacity(shard_count);
    let mut report = RecoveryReport::default();
    for result in replayed {
        let (keyspace, shard_report) = result?;
        keyspaces.push(keyspace);
        report.absorb(shard_report);
    }
    Ok((keyspaces, report))
}

/// Pass 2 for one shard: parses its logs (a torn increment tail is
/// trimmed and reported), loads its snapshot base, and collects what the
/// plan needs.
fn prepare(
    read: ShardRead,
    databases: usize,
    options: &RecoveryOptions,
    progress: &Progress,
) -> Result<Prepared, String> {
    let ShardRead {
        base,
        incr_name,
        incr: content,
        mut rng,
    } = read;
    let mut report = RecoveryReport::default();
    report.base_lens.push(match &base {
        Some((_, BaseBytes::Snapshot(bytes))) => bytes.len() as u64,
        Some((_, BaseBytes::Log(bytes))) => bytes.len() as u64,
        None => 0,
    });
    let (snapshot, base_log) = match base {
        Some((name, BaseBytes::Snapshot(bytes))) => (Some((name, bytes)), None),
        Some((name, BaseBytes::Log(bytes))) => {
            let parsed = parse_named(&name, &bytes)?;
            (None, Some((name, parsed)))
        }
        None => (None, None),
    };
    let mut incr = parse_named(&incr_name, &content)?;
    let total = content.len();
    report.incr_lens.push(total as u64);
    if options.replay_torn_tail && incr.valid_len < total {
        if let Some(argv) = torn_command(&content, incr.valid_len) {
            incr.items.push((incr.valid_len, Item::Command(argv)));
        }
    }
    if incr.valid_len < total {
        let dropped = (total - incr.valid_len) as u64;
        tracing::warn!(
            file = %incr_name,
            offset = incr.valid_len,
            bytes = dropped,
            "!!! Warning: short read while loading the AOF file: the last write was torn; trimming it"
        );
        report.trimmed.push((incr_name.clone(), dropped));
    }
    let mut commits = Vec::new();
    let mut epoch = 0;
    for (_, item) in &incr.items {
        match item {
            Item::Epoch(e) => {
                epoch = *e;
                report.max_epoch = report.max_epoch.max(epoch);
            }
            Item::Commit(tag) => {
                report.max_txn_conn = report.max_txn_conn.max(tag.0);
                commits.push((epoch, *tag));
            }
            Item::Txn(tag) => report.max_txn_conn = report.max_txn_conn.max(tag.0),
            _ => {}
        }
    }
    let mut keyspace = Keyspace::new(databases, &mut rng);
    if let Some((name, bytes)) = snapshot {
        let mut tally = progress.tally();
        let info = super::snapshot::load(&bytes, databases, &mut rng, |db, key, entry| {
            keyspace.db(db).insert_entry(key, entry);
            tally.one(&name);
        })
        .map_err(|e| format!("Bad base file {name}: {e}"))?;
        tally.flush(&name);
        report.commands += info.record_count;
    }
    Ok(Prepared {
        keyspace,
        rng,
        base_log,
        incr_name,
        last_epoch: last_epoch(&incr),
        incr,
        commits,
        report,
    })
}

/// Pass 3: the cut — under `always` every durable record is replayed
/// (nothing became visible before it was durable); otherwise only epochs
/// every shard has durably passed — and the commits below it.
fn plan(policy: Policy, shards: &[Prepared]) -> Plan {
    let cut = match policy {
        Policy::Always => u64::MAX,
        Policy::EverySec | Policy::No => shards.iter().map(|s| s.last_epoch).min().unwrap_or(0),
    };
    let committed = shards
        .iter()
        .flat_map(|s| &s.commits)
        .filter(|(epoch, _)| *epoch < cut)
        .map(|(_, tag)| *tag)
        .collect();
    Plan { cut, committed }
}

/// What pass 4 shares between shards (read only).
struct ReplayContext<'a> {
    table: &'a Table,
    plan: &'a Plan,
    shard_index: usize,
    shard_count: usize,
    options: &'a RecoveryOptions,
    progress: &'a Progress,
}

/// Pass 4 for one shard: replays its command base (if any), then its
/// increment up to the cut.
fn replay_shard(
    shard: Prepared,
    context: &ReplayContext<'_>,
) -> Result<(Keyspace, RecoveryReport), String> {
    let Prepared {
        mut keyspace,
        mut rng,
        base_log,
        incr_name,
        incr,
        mut report,
        ..
    } = shard;
    let mut replay = Replay {
        table: context.table,
        keyspace: &mut keyspace,
        rng: &mut rng,
        shard_index: context.shard_index,
        shard_count: context.shard_count,
        db: 0,
        now_ms: 0,
        report: &mut report,
        tally: context.progress.tally(),
        replay_uncommitted: context.options.replay_uncommitted,
    };
    let committed = &context.plan.committed;
    if let Some((name, base)) = base_log {
        replay.items(&name, base.items, u64::MAX, committed)?;
        replay.tally.flush(&name);
        replay.db = 0;
    }
    replay.items(&incr_name, incr.items, context.plan.cut, committed)?;
    replay.tally.flush(&incr_name);
    Ok((keyspace, report))
}

/// The epoch a log has durably reached: its last `#E:` (0 without one).
fn last_epoch(log: &ParsedLog) -> u64 {
    log.items
        .iter()
        .rev()
        .find_map(|(_, item)| match item {
            Item::Epoch(e) => Some(*e),
            _ => None,
        })
        .unwrap_or(0)
}

struct Replay<'a> {
    table: &'a Table,
    keyspace: &'a mut Keyspace,
    rng: &'a mut dyn RngCore,
    shard_index: usize,
    shard_count: usize,
    db: usize,
    now_ms: u64,
    report: &'a mut RecoveryReport,
    /// Records replayed, for the progress log.
    tally: Tally<'a>,
    /// Planted bug (`RecoveryOptions::replay_uncommitted`).
    replay_uncommitted: bool,
}

impl Replay<'_> {
    /// Replays `items`, consuming them: each command's arguments move into
    /// its handler (no copy of the argument vector per command).
    fn items(
        &mut self,
        file: &str,
        items: Vec<(usize, Item)>,
        cut: u64,
        committed: &HashSet<TxnTag>,
    ) -> Result<(), String> {
        let mut epoch = 0;
        let mut failed = false;
        let mut txn: Option<TxnTag> = None;
        for (offset, item) in items {
            match item {
                Item::Epoch(e) => epoch = e,
                Item::Time(ms) => self.now_ms = ms,
                Item::Txn(tag) => txn = Some(tag),
                Item::Failed => failed = true,
                Item::Commit(_) | Item::Other => {}
                Item::Command(argv) => {
                    let tag = txn.take();
                    let expect_failure = std::mem::take(&mut failed);
                    if epoch >= cut {
                        self.report.after_cut += 1;
                        continue;
                    }
                    if tag.is_some_and(|t| !committed.contains(&t)) && !self.replay_uncommitted {
                        self.report.uncommitted += 1;
                        continue;
                    }
                    self.command(file, offset, argv, expect_failure)?;
                    self.report.commands += 1;
                    self.tally.one(file);
                }
            }
        }
        Ok(())
    }

    fn command(
        &mut self,
        file: &str,
        offset: usize,
        argv: Vec<Bytes>,
        expect_failure: bool,
    ) -> Result<(), String> {
        let unknown = || {
            format!(
                "Unknown command '{}' reading the append only file {file} at offset {offset}",
                String::from_utf8_lossy(&argv[0])
            )
        };
        if argv[0].eq_ignore_ascii_case(b"select") {
            let db = argv
                .get(1)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<usize>().ok())
                .filter(|d| *d < self.keyspace.db_count())
                .ok_or_else(|| format!("Bad SELECT in {file} at offset {offset}"))?;
            self.db = db;
            return Ok(());
        }
        let spec = self.table.lookup(&argv[0]).ok_or_else(unknown)?;
        let Exec::Keyspace { handler, .. } = spec.exec else {
            return Err(unknown());
        };
        // Handlers rely on the table's arity, checked before dispatch: a
        // record with a wrong count (HMSET with no field) would otherwise
        // leave an empty hash behind.
        if !spec.arity_ok(argv.len()) {
            return Err(format!(
                "Wrong number of arguments for '{}' reading the append only file {file} at offset {offset}",
                spec.name
            ));
        }
        let mut ctx = Ctx {
            keyspace: self.keyspace,
            db_index: self.db,
            now_ms: self.now_ms,
            now_us: self.now_ms * 1000,
            rng: self.rng,
            shard_index: self.shard_index,
            shard_count: self.shard_count,
            proto_max_bulk_len: usize::MAX,
            loading: true,
        };
        match run(handler, &mut ctx, argv) {
            Reply::Error(_) if expect_failure => self.report.expected_errors += 1,
            Reply::Error(error) => {
                self.report.errors += 1;
                tracing::warn!(file, offset, error = %String::from_utf8_lossy(&error), "a logged command failed on replay");
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
