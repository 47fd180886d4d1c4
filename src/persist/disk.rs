//! The disk as the shard sees it: a flat directory of named files.
//!
//! Every persistence file lives in one directory (`dir`/`appenddirname`)
//! and is named by a plain file name. The engine reaches the disk only
//! through [`Disk`], so the simulator can substitute a disk whose unsynced
//! bytes vanish in a crash, whose last write tears at any byte, and whose
//! fsync or append fails on demand. [`FsDisk`] is the real one.

use std::io;

/// A directory of files, as persistence uses it.
///
/// Durability contract (what the simulator's disk models and `FsDisk`
/// provides): bytes given to [`Disk::append`] may be lost in a crash until a
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

/// The real disk: files under one directory of the file system.
#[derive(Debug)]
pub struct FsDisk {
    root: std::path::PathBuf,
    /// Files opened for appending, kept open between writes.
    open: std::collections::HashMap<String, std::fs::File>,
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the one type that touches files
impl FsDisk {
    /// The directory `root`, created (with its parents) if missing.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(root: impl Into<std::path::PathBuf>) -> io::Result<FsDisk> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(FsDisk {
            root,
            open: std::collections::HashMap::new(),
        })
    }

    /// The directory's path.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    fn path(&self, file: &str) -> io::Result<std::path::PathBuf> {
        if file.is_empty() || file.contains('/') || file == "." || file == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a plain file name: {file:?}"),
            ));
        }
        Ok(self.root.join(file))
    }

    fn handle(&mut self, file: &str) -> io::Result<&mut std::fs::File> {
        if !self.open.contains_key(file) {
            let handle = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(file)?)?;
            self.open.insert(file.to_string(), handle);
        }
        self.open
            .get_mut(file)
            .ok_or_else(|| io::Error::other("file handle vanished"))
    }

    fn sync_directory(&self) -> io::Result<()> {
        std::fs::File::open(&self.root)?.sync_all()
    }
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
impl Disk for FsDisk {
    fn read(&mut self, file: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(file)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn append(&mut self, file: &str, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        self.handle(file)?.write_all(bytes)
    }

    fn sync(&mut self, file: &str) -> io::Result<()> {
        // fdatasync, as Redis's redis_fsync on Linux: the data and the size.
        self.handle(file)?.sync_data()
    }

    fn truncate(&mut self, file: &str, len: u64) -> io::Result<()> {
        self.handle(file)?.set_len(len)
    }

    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.open.remove(from);
        self.open.remove(to);
        std::fs::rename(self.path(from)?, self.path(to)?)?;
        self.sync_directory()
    }

    fn remove(&mut self, file: &str) -> io::Result<()> {
        self.open.remove(file);
        match std::fs::remove_file(self.path(file)?) {
            Ok(()) => self.sync_directory(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn list(&mut self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.root)? {
            if let Some(name) = entry?.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }
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
