//! `corekv check-aof`: checks (and with `--fix`, repairs) AOF files offline,
//! as `redis-check-aof` does for Redis.
//!
//! A check reads a file through [`Disk`], parses it with the loader's own
//! parser ([`parse_log`]), so it finds exactly what a start-up would find:
//! a torn tail (an incomplete last write, which start-up trims), corruption
//! (a malformed item before the end, which makes start-up refuse), or a
//! command the server cannot replay (which makes start-up refuse too). It
//! also looks at the annotations (`#E:`, `#T:`, `#X:`, `#C:`, see
//! [`super::aof`]): what does not hold there is a warning, since replay
//! tolerates it; unknown `#` lines are fine, as they are for the loader.
//!
//! `--fix` truncates a damaged file at the last offset up to which it is
//! valid — the start of the torn tail, or of the first bad item, discarding
//! everything after it, as `redis-check-aof --fix` does.
//!
//! A base written as a snapshot (`.ckv`, see [`super::snapshot`]) is
//! checked whole, as the loader does (magic, version, checksum, every
//! record); a damaged snapshot cannot be repaired by truncation, so `--fix`
//! leaves it alone and the problem remains.
//!
//! Given the AOF directory, the check covers the manifest and every file it
//! names, and adds what only the whole data set shows: commands of atomic
//! operations that have no commit record, and commands past the recovery
//! cut, which start-up will skip (see [`super`]).
//!
//! Like the rest of `persist`, this module touches no file itself: the
//! binary hands it an [`FsDisk`](crate::platform::fs_disk::FsDisk) over the directory, tests a
//! [`MemDisk`](super::disk::MemDisk). It never runs against a live server's
//! files under `--fix`; that is the operator's job to avoid, as with Redis.

use std::collections::HashSet;
use std::fmt;

use bytes::Bytes;

use super::aof::TxnTag;
use super::disk::Disk;
use super::load::{parse_log, Item, ParsedLog};
use super::snapshot::{self, SnapshotInfo};
use super::{Manifest, Policy, MANIFEST};
use crate::commands::{Exec, Table};

/// How the loader tells a snapshot base from a base of commands.
const SNAPSHOT_SUFFIX: &str = ".ckv";

/// How many `#` annotations of each kind a file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnnotationCounts {
    /// `#E:` lines.
    pub epochs: u64,
    /// `#T:` lines.
    pub times: u64,
    /// `#X:` lines (commands of atomic operations).
    pub txn_tags: u64,
    /// `#C:` lines (commit records).
    pub commits: u64,
    /// Any other `#` line (ignored by the loader).
    pub other: u64,
}

/// What is wrong with a file's bytes, if anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Every byte forms a complete, well-formed item.
    Ok,
    /// The file ends in an incomplete item (a torn last write): the last
    /// `bytes` bytes, from `offset`. Start-up trims them.
    TornTail {
        /// Where the incomplete item starts.
        offset: u64,
        /// Bytes from there to the end of the file.
        bytes: u64,
    },
    /// A malformed item, or a command the server cannot replay, at
    /// `offset`: start-up refuses to load the file.
    Corrupt {
        /// Where the bad item starts.
        offset: u64,
        /// What is wrong there.
        reason: String,
        /// Bytes from there to the end of the file.
        bytes: u64,
    },
    /// The manifest names the file but it does not exist.
    Missing,
    /// The file could not be read (or, with `--fix`, truncated).
    Unreadable(String),
}

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Commands and annotations (an increment, or a base written as
    /// commands).
    Log,
    /// A snapshot base (`.ckv`); its header's fields once it checked out.
    Snapshot(Option<SnapshotInfo>),
}

/// The check of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file's name in its directory.
    pub name: String,
    /// A log or a snapshot.
    pub kind: FileKind,
    /// Its size in bytes (before any fix).
    pub size: u64,
    /// Complete items (annotations and commands) before any problem; for
    /// a snapshot, its records (keys).
    pub items: u64,
    /// Commands among them (`SELECT` included).
    pub commands: u64,
    /// Annotations among them.
    pub annotations: AnnotationCounts,
    /// What was found.
    pub status: FileStatus,
    /// With `--fix`: the length the file was truncated to.
    pub fixed_len: Option<u64>,
    /// Oddities replay tolerates (annotation order, dangling tags).
    pub warnings: Vec<String>,
    /// The file's atomic-operation tags and commits, for the
    /// directory-wide view.
    /// Each with the epoch it was logged in.
    tags: Vec<(TxnTag, u64)>,
    commits: Vec<(TxnTag, u64)>,
    /// Per command, its epoch (the last `#E:` before it).
    command_epochs: Vec<u64>,
    last_epoch: Option<u64>,
}

impl FileReport {
    /// True when nothing is wrong with the file now (it was fine, or
    /// `--fix` repaired it).
    pub fn is_ok(&self) -> bool {
        match self.status {
            FileStatus::Ok => true,
            FileStatus::TornTail { .. } | FileStatus::Corrupt { .. } => self.fixed_len.is_some(),
            FileStatus::Missing | FileStatus::Unreadable(_) => false,
        }
    }

    /// The offset up to which a damaged log is valid: where `--fix`
    /// truncates it. `None` for a snapshot, which truncation cannot repair.
    fn valid_len(&self) -> Option<u64> {
        if let FileKind::Snapshot(_) = self.kind {
            return None;
        }
        match &self.status {
            FileStatus::TornTail { offset, .. } | FileStatus::Corrupt { offset, .. } => {
                Some(*offset)
            }
            _ => None,
        }
    }

    fn unreadable(name: &str, status: FileStatus) -> FileReport {
        FileReport {
            name: name.to_string(),
            kind: FileKind::Log,
            size: 0,
            items: 0,
            commands: 0,
            annotations: AnnotationCounts::default(),
            status,
            fixed_len: None,
            warnings: Vec::new(),
            tags: Vec::new(),
            commits: Vec::new(),
            command_epochs: Vec::new(),
            last_epoch: None,
        }
    }
}

/// What the manifest check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestStatus {
    /// Parsed: the data set it names.
    Ok(Manifest),
    /// No manifest in the directory.
    Missing,
    /// Unreadable or malformed.
    Bad(String),
}

/// The check of one file or of a whole AOF directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Directory mode only: the manifest.
    pub manifest: Option<ManifestStatus>,
    /// Every file checked, in manifest order.
    pub files: Vec<FileReport>,
    /// What start-up will skip, and files the manifest does not name.
    pub notes: Vec<String>,
}

impl Report {
    /// True when nothing is wrong now: exit status 0.
    pub fn is_ok(&self) -> bool {
        let manifest_ok = matches!(self.manifest, None | Some(ManifestStatus::Ok(_)));
        manifest_ok && self.files.iter().all(FileReport::is_ok)
    }

    /// True when `--fix` truncated at least one file.
    pub fn fixed_any(&self) -> bool {
        self.files.iter().any(|f| f.fixed_len.is_some())
    }
}

/// Checks one file of `disk`, truncating it at its last valid offset when
/// `fix` is set and it is torn or corrupt.
pub fn check_file(disk: &mut dyn Disk, name: &str, fix: bool) -> FileReport {
    check_file_with(disk, name, fix, &Table::new())
}

fn check_file_with(disk: &mut dyn Disk, name: &str, fix: bool, table: &Table) -> FileReport {
    let bytes = match disk.read(name) {
        Ok(Some(bytes)) => Bytes::from(bytes),
        Ok(None) => return FileReport::unreadable(name, FileStatus::Missing),
        Err(error) => {
            return FileReport::unreadable(name, FileStatus::Unreadable(error.to_string()))
        }
    };
    let mut report = if name.ends_with(SNAPSHOT_SUFFIX) {
        inspect_snapshot(name, &bytes)
    } else {
        inspect(name, &bytes, table)
    };
    if let (true, Some(len)) = (fix, report.valid_len()) {
        let truncated = disk.truncate(name, len).and_then(|()| disk.sync(name));
        match truncated {
            Ok(()) => report.fixed_len = Some(len),
            Err(error) => report
                .warnings
                .push(format!("could not truncate the file: {error}")),
        }
    }
    report
}

/// Parses `bytes` and counts what they hold. Items up to the first problem
/// are counted; the problem becomes the status.
fn inspect(name: &str, bytes: &Bytes, table: &Table) -> FileReport {
    let size = bytes.len() as u64;
    let mut report = FileReport::unreadable(name, FileStatus::Ok);
    report.size = size;
    let parsed = match parse_log(bytes) {
        Ok(parsed) => parsed,
        Err(corruption) => {
            // Count what precedes the corruption: it parses on its own.
            let good = bytes.slice(..corruption.offset);
            let before = parse_log(&good).unwrap_or_default();
            let (offset, reason) = count_items(&mut report, &before, table)
                .unwrap_or((corruption.offset, corruption.reason));
            report.status = FileStatus::Corrupt {
                offset: offset as u64,
                reason,
                bytes: size - offset as u64,
            };
            return report;
        }
    };
    let unreplayable = count_items(&mut report, &parsed, table);
    if let Some((offset, reason)) = unreplayable {
        report.status = FileStatus::Corrupt {
            offset: offset as u64,
            reason,
            bytes: size - offset as u64,
        };
    } else if (parsed.valid_len as u64) < size {
        report.status = FileStatus::TornTail {
            offset: parsed.valid_len as u64,
            bytes: size - parsed.valid_len as u64,
        };
    }
    report
}

/// Checks a snapshot base as the loader does (the whole file, then every
/// record), keeping nothing it loads.
fn inspect_snapshot(name: &str, bytes: &[u8]) -> FileReport {
    let mut report = FileReport::unreadable(name, FileStatus::Ok);
    report.size = bytes.len() as u64;
    // Loaded collections need a hasher seed; nothing here iterates them.
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let mut db_max = None;
    // The server's database count is not known here: accept any index and
    // report the highest, which must fit the server's `databases`.
    match snapshot::load(bytes, usize::MAX, &mut rng, |db, _, _| {
        db_max = db_max.max(Some(db));
    }) {
        Ok(info) => {
            report.kind = FileKind::Snapshot(Some(info));
            report.items = info.record_count;
            if let Some(db) = db_max.filter(|db| *db >= crate::limits::DATABASES_DEFAULT) {
                report.warnings.push(format!(
                    "it holds keys in database {db}: the server needs --databases {} or more",
                    db + 1
                ));
            }
        }
        Err(error) => {
            report.kind = FileKind::Snapshot(None);
            report.status = FileStatus::Corrupt {
                offset: error.offset() as u64,
                reason: error.to_string(),
                bytes: report.size.saturating_sub(error.offset() as u64),
            };
        }
    }
    report
}

/// Counts `parsed`'s items into `report` and checks the annotations, up to
/// the first command the server could not replay, returned as
/// `(offset, reason)`.
fn count_items(
    report: &mut FileReport,
    parsed: &ParsedLog,
    table: &Table,
) -> Option<(usize, String)> {
    let mut epoch: Option<u64> = None;
    let mut pending_tag: Option<(usize, TxnTag)> = None;
    for (offset, item) in &parsed.items {
        if let (Some((tag_offset, _)), false) = (pending_tag, matches!(item, Item::Command(_))) {
            report.warnings.push(format!(
                "the #X: at offset {tag_offset} is not followed by a command (replay ignores it)"
            ));
            pending_tag = None;
        }
        match item {
            Item::Epoch(e) => {
                if epoch.is_some_and(|previous| *e < previous) {
                    report.warnings.push(format!(
                        "the epoch goes back at offset {offset}: #E:{e} after #E:{}",
                        epoch.unwrap_or_default()
                    ));
                }
                epoch = Some(*e);
                report.annotations.epochs += 1;
            }
            Item::Time(_) => report.annotations.times += 1,
            Item::Txn(tag) => {
                pending_tag = Some((*offset, *tag));
                report.annotations.txn_tags += 1;
            }
            Item::Commit(tag) => {
                report.commits.push((*tag, epoch.unwrap_or(0)));
                report.annotations.commits += 1;
            }
            Item::Other | Item::Failed => report.annotations.other += 1,
            Item::Command(argv) => {
                if let Some(reason) = unreplayable(table, argv) {
                    return Some((*offset, reason));
                }
                if let Some((_, tag)) = pending_tag.take() {
                    report.tags.push((tag, epoch.unwrap_or(0)));
                }
                report.command_epochs.push(epoch.unwrap_or(0));
                report.commands += 1;
            }
        }
        report.items += 1;
    }
    if let Some((tag_offset, _)) = pending_tag {
        report.warnings.push(format!(
            "the #X: at offset {tag_offset} ends the file without its command (replay ignores it)"
        ));
    }
    report.last_epoch = epoch;
    None
}

/// Why the loader would refuse `argv`, if it would: the same test as
/// replay's (`SELECT`, or a command with a keyspace handler).
fn unreplayable(table: &Table, argv: &[Bytes]) -> Option<String> {
    let name = &argv[0];
    if name.eq_ignore_ascii_case(b"select") {
        let db_ok = argv
            .get(1)
            .and_then(|d| std::str::from_utf8(d).ok())
            .is_some_and(|d| d.parse::<usize>().is_ok());
        return (!db_ok || argv.len() != 2).then(|| "bad SELECT".to_string());
    }
    match table.lookup(name).map(|spec| spec.exec) {
        Some(Exec::Keyspace { .. }) => None,
        _ => Some(format!(
            "unknown command '{}' (the server cannot replay it)",
            String::from_utf8_lossy(name)
        )),
    }
}

/// Checks a single AOF file (no manifest, no cross-file view).
pub fn check_single(disk: &mut dyn Disk, name: &str, fix: bool) -> Report {
    Report {
        manifest: None,
        files: vec![check_file(disk, name, fix)],
        notes: Vec::new(),
    }
}

/// Checks an AOF directory: its manifest and every file the manifest names
/// (without a readable manifest, every `*.aof` file in it).
pub fn check_dir(disk: &mut dyn Disk, fix: bool) -> Report {
    let manifest = read_manifest(disk);
    let table = Table::new();
    let listed = disk.list().unwrap_or_default();
    let mut notes = Vec::new();
    let names: Vec<String> = match &manifest {
        ManifestStatus::Ok(manifest) => manifest
            .shards
            .iter()
            .flat_map(|s| s.base.iter().cloned().chain([s.incr.clone()]))
            .collect(),
        ManifestStatus::Missing | ManifestStatus::Bad(_) => listed
            .iter()
            .filter(|name| name.ends_with(".aof"))
            .cloned()
            .collect(),
    };
    let mut files: Vec<FileReport> = names
        .iter()
        .map(|name| check_file_with(disk, name, fix, &table))
        .collect();
    if let ManifestStatus::Ok(manifest) = &manifest {
        check_snapshot_shards(manifest, &mut files);
        for name in &listed {
            let stray =
                (name.starts_with("shard-") || name.starts_with("temp-")) && !names.contains(name);
            if stray {
                notes.push(format!(
                    "{name} is not named by the manifest: start-up does not read it"
                ));
            }
        }
        notes.extend(replay_notes(manifest, &files));
    }
    Report {
        manifest: Some(manifest),
        files,
        notes,
    }
}

/// Warns when a snapshot base says it was written by another shard (or
/// shard count) than the manifest's slot for it.
fn check_snapshot_shards(manifest: &Manifest, files: &mut [FileReport]) {
    for (index, shard) in manifest.shards.iter().enumerate() {
        let Some(file) = files
            .iter_mut()
            .find(|f| Some(&f.name) == shard.base.as_ref())
        else {
            continue;
        };
        if let FileKind::Snapshot(Some(info)) = file.kind {
            if (info.shard_index, info.shard_count) != (index, manifest.shards.len()) {
                file.warnings.push(format!(
                    "written as shard {} of {}, but the manifest names it for shard {index} of {}",
                    info.shard_index,
                    info.shard_count,
                    manifest.shards.len()
                ));
            }
        }
    }
}

fn read_manifest(disk: &mut dyn Disk) -> ManifestStatus {
    match disk.read(MANIFEST) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => match Manifest::decode(&text) {
                Ok(manifest) => ManifestStatus::Ok(manifest),
                Err(error) => ManifestStatus::Bad(error),
            },
            Err(_) => ManifestStatus::Bad("not text".to_string()),
        },
        Ok(None) => ManifestStatus::Missing,
        Err(error) => ManifestStatus::Bad(error.to_string()),
    }
}

/// What start-up will skip: commands past the recovery cut (under
/// `everysec`/`no`), and commands of atomic operations whose commit record
/// is not replayed. Mirrors [`super::load::recover`].
fn replay_notes(manifest: &Manifest, files: &[FileReport]) -> Vec<String> {
    let mut notes = Vec::new();
    let increments: Vec<&FileReport> = manifest
        .shards
        .iter()
        .filter_map(|s| files.iter().find(|f| f.name == s.incr))
        .collect();
    let cut = match manifest.policy {
        Policy::Always => u64::MAX,
        Policy::EverySec | Policy::No => increments
            .iter()
            .map(|f| f.last_epoch.unwrap_or(0))
            .min()
            .unwrap_or(0),
    };
    if cut != u64::MAX {
        let after: usize = increments
            .iter()
            .map(|f| f.command_epochs.iter().filter(|e| **e >= cut).count())
            .sum();
        notes.push(format!(
            "recovery cut (appendfsync {}): epoch {cut}; {after} logged commands at or after it \
             will not be replayed",
            manifest.policy
        ));
    }
    // A commit counts only if it is replayed: logged before the cut.
    let committed: HashSet<TxnTag> = increments
        .iter()
        .flat_map(|f| f.commits.iter())
        .filter(|(_, epoch)| *epoch < cut)
        .map(|(tag, _)| *tag)
        .collect();
    let uncommitted: Vec<TxnTag> = increments
        .iter()
        .flat_map(|f| f.tags.iter())
        .filter(|(tag, epoch)| *epoch < cut && !committed.contains(tag))
        .map(|(tag, _)| *tag)
        .collect();
    if !uncommitted.is_empty() {
        let operations: HashSet<&TxnTag> = uncommitted.iter().collect();
        notes.push(format!(
            "{} logged commands of {} atomic operations have no commit record: they will not \
             be replayed (the operations were cut short by a crash)",
            uncommitted.len(),
            operations.len()
        ));
    }
    notes
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.annotations;
        write!(f, "{}: ", self.name)?;
        match &self.status {
            FileStatus::Missing => return writeln!(f, "MISSING (the manifest names it)"),
            FileStatus::Unreadable(error) => return writeln!(f, "cannot read it: {error}"),
            _ => {}
        }
        match self.kind {
            FileKind::Log => write!(
                f,
                "{} bytes, {} items: {} commands, annotations #E {} #T {} #X {} #C {} other {}: ",
                self.size,
                self.items,
                self.commands,
                a.epochs,
                a.times,
                a.txn_tags,
                a.commits,
                a.other
            )?,
            FileKind::Snapshot(Some(info)) => write!(
                f,
                "{} bytes, snapshot of shard {} of {} taken at {} ms, {} keys: ",
                self.size, info.shard_index, info.shard_count, info.created_ms, info.record_count
            )?,
            FileKind::Snapshot(None) => write!(f, "{} bytes, snapshot: ", self.size)?,
        }
        match &self.status {
            FileStatus::Ok => writeln!(f, "OK")?,
            FileStatus::Corrupt { offset, reason, .. } if self.valid_len().is_none() => writeln!(
                f,
                "bad snapshot at offset {offset}: {reason} (a snapshot is checked whole: \
                 --fix cannot repair it)"
            )?,
            FileStatus::TornTail { offset, bytes } => writeln!(
                f,
                "torn tail: the last {bytes} bytes at offset {offset} are an incomplete command"
            )?,
            FileStatus::Corrupt {
                offset,
                reason,
                bytes,
            } => writeln!(
                f,
                "bad format at offset {offset}: {reason} ({bytes} bytes from there to the end)"
            )?,
            FileStatus::Missing | FileStatus::Unreadable(_) => {}
        }
        for warning in &self.warnings {
            writeln!(f, "  warning: {warning}")?;
        }
        match (self.fixed_len, self.valid_len()) {
            (Some(len), _) => writeln!(
                f,
                "  fixed: truncated to {len} bytes ({} bytes discarded)",
                self.size - len
            ),
            (None, Some(len)) => writeln!(
                f,
                "  not fixed: --fix would truncate it to {len} bytes, discarding {}",
                self.size - len
            ),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manifest {
            None => {}
            Some(ManifestStatus::Ok(m)) => writeln!(
                f,
                "{MANIFEST}: OK (generation {}, appendfsync {}, {} shards)",
                m.generation,
                m.policy,
                m.shards.len()
            )?,
            Some(ManifestStatus::Missing) => writeln!(f, "{MANIFEST}: MISSING")?,
            Some(ManifestStatus::Bad(error)) => writeln!(f, "{MANIFEST}: BAD: {error}")?,
        }
        for file in &self.files {
            write!(f, "{file}")?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        let verdict = if !self.is_ok() {
            "AOF is not valid"
        } else if self.fixed_any() {
            "AOF was fixed: it is valid now"
        } else {
            "AOF is valid"
        };
        writeln!(f, "{verdict}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::disk::MemDisk;
    use crate::persist::ShardFiles;

    const SET: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";

    fn disk_with(name: &str, bytes: &[u8]) -> MemDisk {
        let mut disk = MemDisk::default();
        disk.files.insert(name.to_string(), bytes.to_vec());
        disk
    }

    fn log(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn a_clean_file_is_ok_and_counted() {
        let bytes = log(&[
            b"#E:5\r\n#T:1000\r\n#TS:7\r\n",
            SET,
            b"#X:1.2\r\n",
            SET,
            b"#C:1.2\r\n",
        ]);
        let mut disk = disk_with("f.aof", &bytes);
        let report = check_single(&mut disk, "f.aof", false);
        assert!(report.is_ok(), "{report}");
        let file = &report.files[0];
        assert_eq!(file.status, FileStatus::Ok);
        assert_eq!(
            (file.size, file.items, file.commands),
            (bytes.len() as u64, 7, 2)
        );
        assert_eq!(
            file.annotations,
            AnnotationCounts {
                epochs: 1,
                times: 1,
                txn_tags: 1,
                commits: 1,
                other: 1
            }
        );
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
        assert!(report.to_string().ends_with("AOF is valid\n"));
    }

    #[test]
    fn a_torn_tail_is_reported_and_fixed() {
        let good = log(&[b"#E:5\r\n", SET]);
        let bytes = log(&[&good, &SET[..10]]);
        let mut disk = disk_with("f.aof", &bytes);
        let report = check_single(&mut disk, "f.aof", false);
        assert!(!report.is_ok());
        assert_eq!(
            report.files[0].status,
            FileStatus::TornTail {
                offset: good.len() as u64,
                bytes: 10
            }
        );
        let text = report.to_string();
        assert!(
            text.contains(&format!(
                "the last 10 bytes at offset {} are an incomplete command",
                good.len()
            )),
            "{text}"
        );
        assert_eq!(disk.files["f.aof"], bytes, "no change without --fix");
        let report = check_single(&mut disk, "f.aof", true);
        assert!(report.is_ok(), "{report}");
        assert_eq!(disk.files["f.aof"], good);
        assert!(report.to_string().contains("10 bytes discarded"));
        assert!(check_single(&mut disk, "f.aof", false).files[0].status == FileStatus::Ok);
    }

    #[test]
    fn corruption_in_the_middle_is_located_and_truncated() {
        let good = log(&[b"#E:5\r\n", SET]);
        let bytes = log(&[&good, b"*3\r\n$3\r\nSET\r\nXX", &SET[2..], SET]);
        let mut disk = disk_with("f.aof", &bytes);
        let report = check_single(&mut disk, "f.aof", false);
        let FileStatus::Corrupt {
            offset,
            bytes: after,
            ..
        } = &report.files[0].status
        else {
            panic!("expected corruption: {report}");
        };
        assert_eq!(*offset, good.len() as u64);
        assert_eq!(*after, (bytes.len() - good.len()) as u64);
        assert_eq!(
            report.files[0].commands, 1,
            "the command before it is counted"
        );
        assert!(report
            .to_string()
            .contains(&format!("bad format at offset {}", good.len())));
        let report = check_single(&mut disk, "f.aof", true);
        assert!(report.is_ok());
        assert_eq!(disk.files["f.aof"], good);
    }

    #[test]
    fn an_unknown_command_is_corruption_as_for_the_loader() {
        let good = log(&[SET]);
        let bytes = log(&[&good, b"*1\r\n$8\r\nSHUTDOWN\r\n", SET]);
        let mut disk = disk_with("f.aof", &bytes);
        let report = check_single(&mut disk, "f.aof", false);
        let FileStatus::Corrupt { offset, reason, .. } = &report.files[0].status else {
            panic!("expected corruption: {report}");
        };
        assert_eq!(*offset, good.len() as u64);
        assert!(reason.contains("unknown command 'SHUTDOWN'"), "{reason}");
    }

    #[test]
    fn annotation_oddities_are_warnings_only() {
        let bytes = log(&[
            b"#E:9\r\n",
            SET,
            b"#E:3\r\n#X:1.1\r\n#T:5\r\n",
            SET,
            b"#X:2.2\r\n",
        ]);
        let mut disk = disk_with("f.aof", &bytes);
        let report = check_single(&mut disk, "f.aof", false);
        assert!(report.is_ok(), "{report}");
        let warnings = report.files[0].warnings.join("\n");
        assert!(warnings.contains("epoch goes back"), "{warnings}");
        assert!(warnings.contains("not followed by a command"), "{warnings}");
        assert!(
            warnings.contains("ends the file without its command"),
            "{warnings}"
        );
    }

    fn two_shard_dir(policy: Policy, incr0: &[u8], incr1: &[u8]) -> MemDisk {
        let manifest = Manifest {
            generation: 3,
            policy,
            shards: (0..2)
                .map(|i| ShardFiles {
                    base: Some(format!("shard-{i}.3.base.aof")),
                    incr: format!("shard-{i}.3.incr.aof"),
                })
                .collect(),
        };
        let mut disk = MemDisk::default();
        disk.files
            .insert(MANIFEST.to_string(), manifest.encode().into_bytes());
        for (i, incr) in [incr0, incr1].into_iter().enumerate() {
            disk.files
                .insert(format!("shard-{i}.3.base.aof"), log(&[b"#T:1\r\n", SET]));
            disk.files
                .insert(format!("shard-{i}.3.incr.aof"), incr.to_vec());
        }
        disk
    }

    #[test]
    fn a_snapshot_base_is_checked_whole_and_never_truncated() {
        let good = snapshot::SnapshotWriter::new(1, 2, 1234).finish();
        let mut disk = disk_with("b.ckv", &good);
        let report = check_single(&mut disk, "b.ckv", false);
        assert!(report.is_ok(), "{report}");
        assert!(
            report
                .to_string()
                .contains("snapshot of shard 1 of 2 taken at 1234 ms, 0 keys: OK"),
            "{report}"
        );
        let mut bad = good.clone();
        bad[12] ^= 1;
        disk.files.insert("b.ckv".into(), bad.clone());
        let report = check_single(&mut disk, "b.ckv", true);
        assert!(!report.is_ok(), "{report}");
        assert!(
            report.to_string().contains("bad snapshot at offset"),
            "{report}"
        );
        assert_eq!(disk.files["b.ckv"], bad, "--fix leaves a snapshot alone");
    }

    #[test]
    fn a_directory_checks_the_manifest_and_every_file() {
        let mut disk = two_shard_dir(
            Policy::Always,
            &log(&[b"#E:1\r\n#X:7.1\r\n", SET, b"#C:7.1\r\n#X:8.1\r\n", SET]),
            &log(&[b"#E:1\r\n#X:7.1\r\n", SET]),
        );
        disk.files.insert("shard-0.2.incr.aof".into(), Vec::new());
        let report = check_dir(&mut disk, false);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.files.len(), 4);
        let text = report.to_string();
        assert!(
            text.starts_with("corekv.manifest: OK (generation 3, appendfsync always, 2 shards)")
        );
        assert!(
            text.contains("1 logged commands of 1 atomic operations have no commit"),
            "{text}"
        );
        assert!(
            text.contains("shard-0.2.incr.aof is not named by the manifest"),
            "{text}"
        );
    }

    #[test]
    fn a_directory_reports_the_recovery_cut_and_missing_files() {
        let mut disk = two_shard_dir(
            Policy::EverySec,
            &log(&[b"#E:1\r\n", SET, b"#E:4\r\n", SET]),
            &log(&[b"#E:2\r\n", SET]),
        );
        let report = check_dir(&mut disk, false);
        assert!(report.is_ok(), "{report}");
        assert!(
            report.to_string().contains("epoch 2; 2 logged commands"),
            "{report}"
        );
        disk.files.remove("shard-1.3.base.aof");
        let report = check_dir(&mut disk, false);
        assert!(!report.is_ok());
        assert!(
            report.to_string().contains("shard-1.3.base.aof: MISSING"),
            "{report}"
        );
    }

    #[test]
    fn a_bad_manifest_is_a_problem_and_the_files_are_still_checked() {
        let mut disk = two_shard_dir(Policy::Always, b"#E:1\r\n", b"#E:1\r\n");
        disk.files
            .insert(MANIFEST.into(), b"version 1\nshards 2\n".to_vec());
        let report = check_dir(&mut disk, false);
        assert!(!report.is_ok());
        assert!(matches!(report.manifest, Some(ManifestStatus::Bad(_))));
        assert_eq!(report.files.len(), 4);
        disk.files.remove(MANIFEST);
        let report = check_dir(&mut disk, true);
        assert_eq!(report.manifest, Some(ManifestStatus::Missing));
        assert!(!report.is_ok());
    }
}
