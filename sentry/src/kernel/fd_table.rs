//! File descriptor tables.
//!
//! A table is also the owner of the classic POSIX record locks its process takes (as
//! Linux's `files_struct` is): closing any fd of a file releases the table's locks on
//! that file, and dropping the table (its process's last thread exited) releases all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::errno;
use crate::errno::Result;
use crate::vfs::lock::{self, Owner};
use crate::vfs::File;

/// One slot of a table.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file description.
    pub file: Arc<File>,
    /// FD_CLOEXEC.
    pub cloexec: bool,
}

/// A file descriptor table (shared between threads with CLONE_FILES).
pub struct FdTable {
    slots: Mutex<Vec<Option<FdEntry>>>,
    /// Identifies the table as the owner of POSIX record locks.
    lock_id: u64,
    /// Whether the table ever took a POSIX record lock (closes must then release).
    locks_posix: AtomicBool,
}

impl Default for FdTable {
    fn default() -> FdTable {
        FdTable::with_slots(Vec::new())
    }
}

impl FdTable {
    fn with_slots(slots: Vec<Option<FdEntry>>) -> FdTable {
        FdTable {
            slots: Mutex::new(slots),
            lock_id: lock::new_id(),
            locks_posix: AtomicBool::new(false),
        }
    }

    /// The owner of the POSIX record locks this table's process takes; from now on,
    /// closing an fd releases the table's locks on its file.
    pub fn lock_owner(&self) -> Owner {
        self.locks_posix.store(true, Ordering::Relaxed);
        Owner::Files(self.lock_id)
    }

    /// `file` was closed through this table: POSIX's rule drops the table's record
    /// locks on its file, whatever fd they were taken through.
    fn closed(&self, file: &File) {
        if self.locks_posix.load(Ordering::Relaxed) {
            lock::release_posix(file, Owner::Files(self.lock_id));
        }
    }

    /// The file at `fd` (EBADF if none).
    pub fn get(&self, fd: i32) -> Result<Arc<File>> {
        self.entry(fd).map(|e| e.file)
    }

    /// The slot at `fd` (EBADF if none).
    pub fn entry(&self, fd: i32) -> Result<FdEntry> {
        if fd < 0 {
            return Err(errno!(EBADF));
        }
        self.slots
            .lock()
            .get(fd as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| errno!(EBADF))
    }

    /// Installs `file` at the lowest free fd >= `min`, below `limit` (EMFILE if none).
    pub fn install(&self, file: Arc<File>, cloexec: bool, min: i32, limit: u64) -> Result<i32> {
        let mut slots = self.slots.lock();
        let min = min.max(0) as usize;
        let free = (min..)
            .find(|&i| slots.get(i).is_none_or(|s| s.is_none()))
            .expect("unbounded range");
        if free as u64 >= limit {
            return Err(errno!(EMFILE));
        }
        if free >= slots.len() {
            slots.resize(free + 1, None);
        }
        slots[free] = Some(FdEntry { file, cloexec });
        Ok(free as i32)
    }

    /// Installs `file` at exactly `fd` (dup2/dup3), returning what was there.
    pub fn install_at(
        &self,
        fd: i32,
        file: Arc<File>,
        cloexec: bool,
        limit: u64,
    ) -> Result<Option<Arc<File>>> {
        if fd < 0 || fd as u64 >= limit {
            return Err(errno!(EBADF));
        }
        let old = {
            let mut slots = self.slots.lock();
            let i = fd as usize;
            if i >= slots.len() {
                slots.resize(i + 1, None);
            }
            slots[i].replace(FdEntry { file, cloexec }).map(|e| e.file)
        };
        if let Some(f) = &old {
            self.closed(f);
        }
        Ok(old)
    }

    /// Removes `fd` (EBADF if none).
    pub fn remove(&self, fd: i32) -> Result<Arc<File>> {
        if fd < 0 {
            return Err(errno!(EBADF));
        }
        let file = self
            .slots
            .lock()
            .get_mut(fd as usize)
            .and_then(Option::take)
            .map(|e| e.file)
            .ok_or_else(|| errno!(EBADF))?;
        self.closed(&file);
        Ok(file)
    }

    /// Sets or clears FD_CLOEXEC on `fd`.
    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> Result<()> {
        let mut slots = self.slots.lock();
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| slots.get_mut(i))
            .and_then(Option::as_mut);
        slot.map(|e| e.cloexec = cloexec)
            .ok_or_else(|| errno!(EBADF))
    }

    /// Closes fds in `[first, last]`, or marks them close-on-exec; returns the files
    /// removed (to drop outside the lock).
    pub fn close_range(&self, first: u32, last: u32, cloexec_only: bool) -> Vec<Arc<File>> {
        let mut closed = Vec::new();
        {
            let mut slots = self.slots.lock();
            let end = (last as usize).saturating_add(1).min(slots.len());
            for slot in slots.iter_mut().take(end).skip(first as usize) {
                if cloexec_only {
                    if let Some(e) = slot {
                        e.cloexec = true;
                    }
                } else if let Some(e) = slot.take() {
                    closed.push(e.file);
                }
            }
        }
        for f in &closed {
            self.closed(f);
        }
        closed
    }

    /// Closes every close-on-exec fd (on execve).
    pub fn close_on_exec(&self) {
        let closed: Vec<FdEntry> = {
            let mut slots = self.slots.lock();
            slots
                .iter_mut()
                .filter(|s| s.as_ref().is_some_and(|e| e.cloexec))
                .filter_map(Option::take)
                .collect()
        };
        for e in &closed {
            self.closed(&e.file);
        }
        drop(closed);
    }

    /// A copy of the table (fork without CLONE_FILES).
    pub fn fork(&self) -> FdTable {
        FdTable::with_slots(self.slots.lock().clone())
    }

    /// The open fds and their entries (for /proc).
    pub fn entries(&self) -> Vec<(i32, FdEntry)> {
        let slots = self.slots.lock();
        slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.clone().map(|e| (i as i32, e)))
            .collect()
    }
}

impl Drop for FdTable {
    fn drop(&mut self) {
        if *self.locks_posix.get_mut() {
            lock::release_owner(Owner::Files(self.lock_id));
        }
    }
}
