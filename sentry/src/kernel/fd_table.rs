//! File descriptor tables.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::errno;
use crate::errno::Result;
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
#[derive(Default)]
pub struct FdTable {
    slots: Mutex<Vec<Option<FdEntry>>>,
}

impl FdTable {
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
        let mut slots = self.slots.lock();
        let i = fd as usize;
        if i >= slots.len() {
            slots.resize(i + 1, None);
        }
        Ok(slots[i].replace(FdEntry { file, cloexec }).map(|e| e.file))
    }

    /// Removes `fd` (EBADF if none).
    pub fn remove(&self, fd: i32) -> Result<Arc<File>> {
        if fd < 0 {
            return Err(errno!(EBADF));
        }
        let mut slots = self.slots.lock();
        slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .map(|e| e.file)
            .ok_or_else(|| errno!(EBADF))
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
        let mut slots = self.slots.lock();
        let mut closed = Vec::new();
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
        drop(closed);
    }

    /// A copy of the table (fork without CLONE_FILES).
    pub fn fork(&self) -> FdTable {
        FdTable {
            slots: Mutex::new(self.slots.lock().clone()),
        }
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
