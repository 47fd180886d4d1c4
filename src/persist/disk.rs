//! The disk as the shard sees it: a flat directory of named files.
//!
//! Every persistence file lives in one directory (`dir`/`appenddirname`)
//! and is named by a plain file name. The engine reaches the disk only
//! through [`Disk`], so the simulator can substitute a disk whose unsynced
//! bytes vanish in a crash, whose last write tears at any byte, and whose
//! fsync or append fails on demand. The real one,
//! [`crate::platform::fs_disk::FsDisk`], lives with the other OS calls.

use std::io;

/// A directory of files, as persistence uses it.
///
/// Durability contract (what the simulator's disk models and the file-system
/// disk provides): bytes given to [`Disk::append`] may be lost in a crash until a
/// later [`Disk::sync`] of the same file returns `Ok`; a crash may keep any
/// prefix of the unsynced bytes. [`Disk::rename`] and [`Disk::remove`] are
/// durable when they return `Ok` (the directory is synced).
pub trait Disk {
    /// The whole content of `file`, or `None` if it does not exist.
    fn read(&mut self, file: &str) -> io::Result<Option<Vec<u8>>>;
    /// Appends `bytes` to `file`, creating it if missing. Not durable until
    /// [`Disk::sync`].
    fn append(&mut self, file: &str, bytes: &[u8]) -> io::Result<()>;
    /// Makes every byte appended to `file` so far durable (fsync).
    fn sync(&mut self, file: &str) -> io::Result<()>;
    /// Cuts `file` to its first `len` bytes (durable after [`Disk::sync`]).
    fn truncate(&mut self, file: &str, len: u64) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to`, durably.
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()>;
    /// Deletes `file` if it exists, durably.
    fn remove(&mut self, file: &str) -> io::Result<()>;
    /// The names of every file in the directory, sorted.
    fn list(&mut self) -> io::Result<Vec<String>>;
}

/// Writes `bytes` as the new content of `file`, atomically and durably: a
/// crash leaves either the old content or the new, never a mix (temporary
/// file, fsync, rename — as Redis writes its manifest).
pub fn replace(disk: &mut dyn Disk, file: &str, bytes: &[u8]) -> io::Result<()> {
    let temporary = format!("temp-{file}");
    disk.remove(&temporary)?;
    disk.append(&temporary, bytes)?;
    disk.sync(&temporary)?;
    disk.rename(&temporary, file)
}

/// A disk in memory with no failures and no crashes: for unit tests of the
/// persistence code (the simulator has the faulty one).
#[derive(Debug, Default, Clone)]
pub struct MemDisk {
    /// File name → content.
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Disk for MemDisk {
    fn read(&mut self, file: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.files.get(file).cloned())
    }
    fn append(&mut self, file: &str, bytes: &[u8]) -> io::Result<()> {
        self.files
            .entry(file.to_string())
            .or_default()
            .extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self, _file: &str) -> io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, file: &str, len: u64) -> io::Result<()> {
        if let Some(content) = self.files.get_mut(file) {
            content.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        }
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        let content = self
            .files
            .remove(from)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, from.to_string()))?;
        self.files.insert(to.to_string(), content);
        Ok(())
    }
    fn remove(&mut self, file: &str) -> io::Result<()> {
        self.files.remove(file);
        Ok(())
    }
    fn list(&mut self) -> io::Result<Vec<String>> {
        Ok(self.files.keys().cloned().collect())
    }
}
