//! epoll(7): an interest list of (fd, file) pairs and the events ready among them.
//!
//! Each interest entry is registered on its file's readiness queue; a notification
//! marks the entry (edge-triggered entries report only after one) and wakes the
//! epoll's own queue, where epoll_wait sleeps — and which also makes an epoll fd
//! watchable by poll and by another epoll. Files without a readiness queue (host
//! fds) are re-polled by the waiter. An entry disappears when its file description
//! is destroyed (the last fd to it closed), as Linux does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::eventfd::anon_stat;
use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::{Notify, WaitQueue};
use crate::vfs::{next_ino, File, FileOps, FileWatcher, Stat};

/// EPOLL* flag bits.
pub const EPOLLIN: u32 = 0x001;
/// Priority data.
pub const EPOLLPRI: u32 = 0x002;
/// Writable.
pub const EPOLLOUT: u32 = 0x004;
/// Error (always reported).
pub const EPOLLERR: u32 = 0x008;
/// Hang-up (always reported).
pub const EPOLLHUP: u32 = 0x010;
/// Peer closed its writing half.
pub const EPOLLRDHUP: u32 = 0x2000;
/// Wake one waiter of many.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// Keep the system awake (accepted, meaningless here).
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// Report once, then disable until EPOLL_CTL_MOD.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// Edge-triggered.
pub const EPOLLET: u32 = 1 << 31;

struct Entry {
    file: Weak<File>,
    events: AtomicU32,
    data: AtomicU64,
    /// A readiness notification arrived since the last report (edge-triggered).
    pending: AtomicBool,
    /// A one-shot entry already reported.
    disabled: AtomicBool,
    epoll: Weak<Epoll>,
    /// This entry as its file's queue knows it (to unregister).
    notify: Mutex<Option<Arc<dyn Notify>>>,
}

struct EntryNotify(Weak<Entry>);

impl Notify for EntryNotify {
    fn notify(&self) {
        if let Some(e) = self.0.upgrade() {
            e.pending.store(true, Ordering::Release);
            if let Some(ep) = e.epoll.upgrade() {
                ep.queue.notify_all();
            }
        }
    }
}

impl FileWatcher for Entry {
    fn file_released(&self, file: &File) {
        if let (Some(q), Some(n)) = (file.ops().readiness_queue(), self.notify.lock().take()) {
            q.unregister(&n);
        }
        if let Some(ep) = self.epoll.upgrade() {
            ep.entries
                .lock()
                .retain(|_, e| !std::ptr::eq(Arc::as_ptr(e), self));
        }
    }
}

/// One ready event for epoll_wait.
#[derive(Clone, Copy, Debug)]
pub struct ReadyEvent {
    /// Ready EPOLL* bits.
    pub events: u32,
    /// The user's data.
    pub data: u64,
}

/// An epoll instance.
pub struct Epoll {
    me: Weak<Epoll>,
    entries: Mutex<BTreeMap<(i32, usize), Arc<Entry>>>,
    queue: WaitQueue,
    ino: u64,
}

impl Epoll {
    /// A new, empty epoll instance.
    pub fn new() -> Arc<Epoll> {
        Arc::new_cyclic(|me| Epoll {
            me: me.clone(),
            entries: Mutex::default(),
            queue: WaitQueue::default(),
            ino: next_ino(),
        })
    }

    /// The queue epoll_wait sleeps on.
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// EPOLL_CTL_ADD.
    pub fn add(&self, fd: i32, file: &Arc<File>, events: u32, data: u64) -> Result<()> {
        let key = (fd, Arc::as_ptr(file) as usize);
        let mut entries = self.entries.lock();
        if entries.contains_key(&key) {
            return Err(errno!(EEXIST));
        }
        if let Some(inner) = file.ops().as_epoll() {
            if std::ptr::eq(inner, self) || inner.watches(self) {
                // Adding an epoll to itself, or making a cycle.
                return Err(errno!(ELOOP));
            }
        }
        let entry = Arc::new(Entry {
            file: Arc::downgrade(file),
            events: AtomicU32::new(events),
            data: AtomicU64::new(data),
            // Already-ready files are reported once even when edge-triggered.
            pending: AtomicBool::new(true),
            disabled: AtomicBool::new(false),
            epoll: self.me.clone(),
            notify: Mutex::new(None),
        });
        if let Some(q) = file.ops().readiness_queue() {
            let n: Arc<dyn Notify> = Arc::new(EntryNotify(Arc::downgrade(&entry)));
            q.register_persistent(n.clone());
            *entry.notify.lock() = Some(n);
        }
        let watcher: Weak<dyn FileWatcher> = Arc::downgrade(&entry) as Weak<dyn FileWatcher>;
        file.add_watcher(watcher);
        entries.insert(key, entry);
        drop(entries);
        self.queue.notify_all();
        Ok(())
    }

    /// EPOLL_CTL_MOD.
    pub fn modify(&self, fd: i32, file: &Arc<File>, events: u32, data: u64) -> Result<()> {
        let entries = self.entries.lock();
        let e = entries
            .get(&(fd, Arc::as_ptr(file) as usize))
            .ok_or_else(|| errno!(ENOENT))?;
        if e.events.load(Ordering::Acquire) & EPOLLEXCLUSIVE != 0 {
            return Err(errno!(EINVAL));
        }
        e.events.store(events, Ordering::Release);
        e.data.store(data, Ordering::Release);
        e.disabled.store(false, Ordering::Release);
        e.pending.store(true, Ordering::Release);
        drop(entries);
        self.queue.notify_all();
        Ok(())
    }

    /// EPOLL_CTL_DEL.
    pub fn delete(&self, fd: i32, file: &Arc<File>) -> Result<()> {
        let e = self
            .entries
            .lock()
            .remove(&(fd, Arc::as_ptr(file) as usize))
            .ok_or_else(|| errno!(ENOENT))?;
        if let (Some(q), Some(n)) = (file.ops().readiness_queue(), e.notify.lock().take()) {
            q.unregister(&n);
        }
        Ok(())
    }

    /// Whether `other` is (transitively) in this epoll's interest list.
    fn watches(&self, other: &Epoll) -> bool {
        self.entries
            .lock()
            .values()
            .filter_map(|e| e.file.upgrade())
            .any(|f| {
                f.ops()
                    .as_epoll()
                    .is_some_and(|inner| std::ptr::eq(inner, other) || inner.watches(other))
            })
    }

    /// Whether some watched file has no readiness queue (the waiter must re-poll).
    pub fn needs_polling(&self) -> bool {
        self.entries
            .lock()
            .values()
            .filter_map(|e| e.file.upgrade())
            .any(|f| f.ops().readiness_queue().is_none())
    }

    /// Collects up to `max` ready events (consuming edge and one-shot state), without
    /// blocking.
    pub fn collect(&self, max: usize) -> Vec<ReadyEvent> {
        let always = EPOLLERR | EPOLLHUP;
        let entries: Vec<Arc<Entry>> = self.entries.lock().values().cloned().collect();
        let mut out = Vec::new();
        for e in entries {
            if out.len() >= max {
                break;
            }
            if e.disabled.load(Ordering::Acquire) {
                continue;
            }
            let Some(file) = e.file.upgrade() else {
                continue;
            };
            let events = e.events.load(Ordering::Acquire);
            let edge = events & EPOLLET != 0;
            if edge && !e.pending.load(Ordering::Acquire) {
                continue;
            }
            let wanted =
                (events & !(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)) | always;
            let ready = file.ops().readiness(wanted) & wanted;
            if edge {
                e.pending.store(false, Ordering::Release);
            }
            if ready == 0 {
                continue;
            }
            if events & EPOLLONESHOT != 0 {
                e.disabled.store(true, Ordering::Release);
            }
            out.push(ReadyEvent {
                events: ready,
                data: e.data.load(Ordering::Acquire),
            });
        }
        out
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        for e in self.entries.get_mut().values() {
            if let (Some(file), Some(n)) = (e.file.upgrade(), e.notify.lock().take()) {
                if let Some(q) = file.ops().readiness_queue() {
                    q.unregister(&n);
                }
            }
        }
    }
}

impl FileOps for Epoll {
    /// lseek leaves the (unused) offset where it is, as Linux's noop_llseek does.
    fn seek(
        &self,
        _file: &File,
        current: u64,
        _offset: i64,
        _whence: crate::vfs::SeekWhence,
    ) -> Result<u64> {
        Ok(current)
    }

    fn anon_name(&self) -> &'static str {
        "eventpoll"
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat(self.ino))
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn readiness(&self, mask: u32) -> u32 {
        // Readable when some entry is ready (checked without consuming edge state).
        let entries: Vec<Arc<Entry>> = self.entries.lock().values().cloned().collect();
        let ready = entries.iter().any(|e| {
            let events = e.events.load(Ordering::Acquire);
            !e.disabled.load(Ordering::Acquire)
                && (events & EPOLLET == 0 || e.pending.load(Ordering::Acquire))
                && e.file.upgrade().is_some_and(|f| {
                    f.ops().readiness(events | EPOLLERR | EPOLLHUP) & (events | EPOLLERR | EPOLLHUP)
                        != 0
                })
        });
        if ready {
            mask & libc::POLLIN as u32
        } else {
            0
        }
    }

    fn as_epoll(&self) -> Option<&Epoll> {
        Some(self)
    }
}
