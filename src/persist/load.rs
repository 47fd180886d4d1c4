//! Reading logs back: parsing an AOF file into items, and recovering every
//! shard's keyspace from the files a manifest names.

use std::collections::HashSet;

use bytes::Bytes;
use rand::RngCore;

use super::aof::TxnTag;
use super::disk::Disk;
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

fn number(text: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(text)))
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
    /// True when recovery replayed every record of the files: nothing torn,
    /// cut or uncommitted was left out, so the files can be appended to.
    pub fn replayed_all(&self) -> bool {
        self.trimmed.is_empty() && self.after_cut == 0 && self.uncommitted == 0
    }
}

/// A base file: a snapshot (`.ckv`, what corekv writes) or commands.
enum Base {
    Snapshot(Vec<u8>),
    Log(ParsedLog),
}

/// A shard's files, parsed.
struct ShardFiles {
    base: Option<(String, Base)>,
    incr: (String, ParsedLog),
}

/// Reads and parses the log `name` once: its bytes and its items.
fn load_file(disk: &mut dyn Disk, name: &str) -> Result<(Bytes, ParsedLog), String> {
    let bytes = disk
        .read(name)
        .map_err(|e| format!("cannot read {name}: {e}"))?
        .ok_or_else(|| {
            format!("the manifest names {name}, which is missing: refusing to start without it")
        })?;
    let bytes = Bytes::from(bytes);
    let parsed = parse_log(&bytes).map_err(|c| {
        format!(
            "Bad file format reading the append only file {name} at offset {}: {}. \
             Run `corekv check-aof --fix <file>` to truncate it there (losing what follows)",
            c.offset, c.reason
        )
    })?;
    Ok((bytes, parsed))
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

/// [`recover`], with `options` (the default ones are [`recover`]'s).
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
    let mut report = RecoveryReport::default();
    let mut files = Vec::with_capacity(manifest.shards.len());
    for shard in &manifest.shards {
        let base = match &shard.base {
            Some(name) if name.ends_with(".ckv") => {
                let bytes = disk
                    .read(name)
                    .map_err(|e| format!("cannot read {name}: {e}"))?
                    .ok_or_else(|| format!("{name} is missing"))?;
                Some((name.clone(), Base::Snapshot(bytes)))
            }
            Some(name) => Some((name.clone(), Base::Log(load_file(disk, name)?.1))),
            None => None,
        };
        let (content, mut incr) = load_file(disk, &shard.incr)?;
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
                file = %shard.incr,
                offset = incr.valid_len,
                bytes = dropped,
                "!!! Warning: short read while loading the AOF file: the last write was torn; trimming it"
            );
            report.trimmed.push((shard.incr.clone(), dropped));
        }
        files.push(ShardFiles {
            base,
            incr: (shard.incr.clone(), incr),
        });
    }
    // The cut: under `always` every durable record is replayed (nothing
    // became visible before it was durable); otherwise only epochs every
    // shard has durably passed.
    let cut = match manifest.policy {
        Policy::Always => u64::MAX,
        Policy::EverySec | Policy::No => files
            .iter()
            .map(|f| last_epoch(&f.incr.1))
            .min()
            .unwrap_or(0),
    };
    let mut committed: HashSet<TxnTag> = HashSet::new();
    for shard in &files {
        let mut epoch = 0;
        for (_, item) in &shard.incr.1.items {
            match item {
                Item::Epoch(e) => {
                    epoch = *e;
                    report.max_epoch = report.max_epoch.max(epoch);
                }
                Item::Commit(tag) => {
                    report.max_txn_conn = report.max_txn_conn.max(tag.0);
                    if epoch < cut {
                        committed.insert(*tag);
                    }
                }
                Item::Txn(tag) => report.max_txn_conn = report.max_txn_conn.max(tag.0),
                _ => {}
            }
        }
    }
    let table = Table::new();
    let mut keyspaces = Vec::with_capacity(files.len());
    for (index, shard) in files.iter().enumerate() {
        let mut keyspace = Keyspace::new(databases, seed_source);
        if let Some((name, Base::Snapshot(bytes))) = &shard.base {
            let info = super::snapshot::load(bytes, databases, seed_source, |db, key, entry| {
                keyspace.db(db).insert_entry(key, entry);
            })
            .map_err(|e| format!("Bad base file {name}: {e}"))?;
            report.commands += info.record_count;
        }
        let mut replay = Replay {
            table: &table,
            keyspace: &mut keyspace,
            rng: seed_source,
            shard_index: index,
            shard_count: files.len(),
            db: 0,
            now_ms: 0,
            report: &mut report,
            replay_uncommitted: options.replay_uncommitted,
        };
        if let Some((name, Base::Log(base))) = &shard.base {
            replay.items(name, &base.items, u64::MAX, &committed)?;
            replay.db = 0;
        }
        let (name, incr) = &shard.incr;
        replay.items(name, &incr.items, cut, &committed)?;
        keyspaces.push(keyspace);
    }
    Ok((keyspaces, report))
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
    /// Planted bug (`RecoveryOptions::replay_uncommitted`).
    replay_uncommitted: bool,
}

impl Replay<'_> {
    fn items(
        &mut self,
        file: &str,
        items: &[(usize, Item)],
        cut: u64,
        committed: &HashSet<TxnTag>,
    ) -> Result<(), String> {
        let mut epoch = 0;
        let mut failed = false;
        let mut txn: Option<TxnTag> = None;
        let mut next_progress = 1_000_000;
        for (offset, item) in items {
            match item {
                Item::Epoch(e) => epoch = *e,
                Item::Time(ms) => self.now_ms = *ms,
                Item::Txn(tag) => txn = Some(*tag),
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
                    self.command(file, *offset, argv.clone(), expect_failure)?;
                    self.report.commands += 1;
                    if self.report.commands >= next_progress {
                        tracing::info!(commands = self.report.commands, file, "loading the AOF");
                        next_progress += 1_000_000;
                    }
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
