//! The production [`Disk`]: files under one directory of the file system.
//! It lives with the platform because it is the one place persistence
//! touches the OS; the simulator substitutes its own faulty disk.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the platform touches the OS

use std::io;

use crate::persist::disk::Disk;

/// The real disk: files under one directory of the file system.
#[derive(Debug)]
pub struct FsDisk {
    root: std::path::PathBuf,
    /// Files opened for appending, kept open between writes.
    open: std::collections::HashMap<String, std::fs::File>,
}

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
