//! inotify(7): watches on inodes and the queue of events they produce.
//!
//! Events come from the VFS operations themselves (opening, reading, writing, closing,
//! creating, removing, renaming, changing attributes), whatever the filesystem: the
//! callers in `vfs` and `kernel` report them through [`file_event`], [`entry_event`]
//! and [`self_event`]. A watch is keyed by the identity of its inode (the `Arc`'s
//! address; the watch holds the inode, so the address stays its own), and the whole
//! mechanism costs one atomic load per operation while no watch exists.
//!
//! Lock order: the registry lock and an instance's state lock are each taken alone;
//! events are delivered after the registry lock is released.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::{Mutex, RwLock};

use super::eventfd::anon_stat;
use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::{
    next_ino, Dentry, File, FileOps, FileType, Inode, IoctlMemory, Path, SeekWhence, Stat,
};

/// Events a watch can ask for (IN_ALL_EVENTS).
pub const IN_ALL_EVENTS: u32 = 0xfff;
/// Flags of inotify_add_watch's mask that are not events.
pub const IN_ONLYDIR: u32 = 0x0100_0000;
/// Do not follow a symlink as the last component.
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// No events for children after they were unlinked.
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
/// Fail with EEXIST if the inode is watched already.
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
/// Add to an existing watch's mask instead of replacing it.
pub const IN_MASK_ADD: u32 = 0x2000_0000;
/// Remove the watch after its first event.
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// Every bit inotify_add_watch accepts.
const VALID_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | IN_ONESHOT;

/// The event bits.
pub const IN_ACCESS: u32 = 0x1;
/// File written.
pub const IN_MODIFY: u32 = 0x2;
/// Attributes changed.
pub const IN_ATTRIB: u32 = 0x4;
/// A file opened for writing closed.
pub const IN_CLOSE_WRITE: u32 = 0x8;
/// A file not opened for writing closed.
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
/// File opened.
pub const IN_OPEN: u32 = 0x20;
/// Renamed away from the watched directory.
pub const IN_MOVED_FROM: u32 = 0x40;
/// Renamed into the watched directory.
pub const IN_MOVED_TO: u32 = 0x80;
/// Created in the watched directory.
pub const IN_CREATE: u32 = 0x100;
/// Removed from the watched directory.
pub const IN_DELETE: u32 = 0x200;
/// The watched inode was deleted.
pub const IN_DELETE_SELF: u32 = 0x400;
/// The watched inode was moved.
pub const IN_MOVE_SELF: u32 = 0x800;
/// The filesystem of the watched inode was unmounted.
pub const IN_UNMOUNT: u32 = 0x2000;
/// The queue overflowed.
pub const IN_Q_OVERFLOW: u32 = 0x4000;
/// The watch was removed.
pub const IN_IGNORED: u32 = 0x8000;
/// The subject is a directory.
pub const IN_ISDIR: u32 = 0x4000_0000;

/// Events a directory watch also gets about its children (with their names).
const CHILD_EVENTS: u32 =
    IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN;

/// Linux's default /proc/sys/fs/inotify/max_queued_events.
const MAX_QUEUED_EVENTS: usize = 16384;
/// `sizeof(struct inotify_event)`.
const EVENT_HEADER: usize = 16;

/// Number of watches in existence: the fast path when it is zero.
static WATCH_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Watches by inode identity.
static REGISTRY: LazyLock<RwLock<HashMap<usize, Vec<Arc<Watch>>>>> = LazyLock::new(RwLock::default);
/// Rename cookies.
static NEXT_COOKIE: AtomicU32 = AtomicU32::new(1);

fn key(inode: &Arc<dyn Inode>) -> usize {
    Arc::as_ptr(inode) as *const () as usize
}

/// Whether any watch exists (callers skip the work of reporting otherwise).
pub fn active() -> bool {
    WATCH_COUNT.load(Ordering::Relaxed) != 0
}

/// A fresh cookie tying an IN_MOVED_FROM to its IN_MOVED_TO.
pub fn new_cookie() -> u32 {
    NEXT_COOKIE.fetch_add(1, Ordering::Relaxed)
}

/// One watch: an inode watched by one inotify instance.
struct Watch {
    instance: Weak<Inotify>,
    wd: i32,
    /// Events and flags (IN_ONESHOT, IN_EXCL_UNLINK).
    mask: AtomicU32,
    /// Keeps the inode (and so its key) alive as long as it is watched.
    inode: Arc<dyn Inode>,
}

/// A queued event.
#[derive(Clone, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The name field's length: NUL-terminated, padded to a multiple of the header.
    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).next_multiple_of(EVENT_HEADER)
        }
    }

    fn size(&self) -> usize {
        EVENT_HEADER + self.name_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wd.to_ne_bytes());
        out.extend_from_slice(&self.mask.to_ne_bytes());
        out.extend_from_slice(&self.cookie.to_ne_bytes());
        out.extend_from_slice(&(self.name_len() as u32).to_ne_bytes());
        let start = out.len();
        out.extend_from_slice(&self.name);
        out.resize(start + self.name_len(), 0);
    }
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// Bytes the queued events take (FIONREAD).
    bytes: usize,
    watches: HashMap<i32, Arc<Watch>>,
    by_inode: HashMap<usize, i32>,
    last_wd: i32,
}

impl State {
    fn push(&mut self, ev: Event) {
        if self.events.back() == Some(&ev) && ev.mask & IN_IGNORED == 0 {
            return;
        }
        if self.events.len() >= MAX_QUEUED_EVENTS {
            if self.events.back().is_some_and(|e| e.mask == IN_Q_OVERFLOW) {
                return;
            }
            let ev = Event {
                wd: -1,
                mask: IN_Q_OVERFLOW,
                cookie: 0,
                name: Vec::new(),
            };
            self.bytes += ev.size();
            self.events.push_back(ev);
            return;
        }
        self.bytes += ev.size();
        self.events.push_back(ev);
    }
}

/// An inotify instance.
pub struct Inotify {
    me: Weak<Inotify>,
    state: Mutex<State>,
    queue: WaitQueue,
    ino: u64,
}

impl Inotify {
    /// A new instance with no watches.
    pub fn new() -> Arc<Inotify> {
        Arc::new_cyclic(|me| Inotify {
            me: me.clone(),
            state: Mutex::default(),
            queue: WaitQueue::default(),
            ino: next_ino(),
        })
    }

    /// inotify_add_watch on `inode`: returns the watch descriptor (the existing one if the inode is watched already).
    pub fn add_watch(&self, inode: &Arc<dyn Inode>, mask: u32) -> Result<i32> {
        let k = key(inode);
        let mut st = self.state.lock();
        if let Some(&wd) = st.by_inode.get(&k) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(errno!(EEXIST));
            }
            let w = &st.watches[&wd];
            let keep = mask & !(IN_MASK_ADD | IN_MASK_CREATE);
            if mask & IN_MASK_ADD != 0 {
                w.mask.fetch_or(keep, Ordering::Relaxed);
            } else {
                w.mask.store(keep, Ordering::Relaxed);
            }
            return Ok(wd);
        }
        // Descriptors are handed out cyclically, as Linux's idr does: a removed one is
        // not reused at once.
        let mut wd = st.last_wd;
        loop {
            wd = if wd == i32::MAX { 1 } else { wd + 1 };
            if !st.watches.contains_key(&wd) {
                break;
            }
        }
        st.last_wd = wd;
        let w = Arc::new(Watch {
            instance: self.me.clone(),
            wd,
            mask: AtomicU32::new(mask & !(IN_MASK_ADD | IN_MASK_CREATE)),
            inode: inode.clone(),
        });
        st.watches.insert(wd, w.clone());
        st.by_inode.insert(k, wd);
        drop(st);
        REGISTRY.write().entry(k).or_default().push(w);
        WATCH_COUNT.fetch_add(1, Ordering::Relaxed);
        Ok(wd)
    }

    /// inotify_rm_watch: removes watch `wd` (EINVAL if there is none), queueing
    /// IN_IGNORED.
    pub fn rm_watch(&self, wd: i32) -> Result<()> {
        let w = self
            .state
            .lock()
            .watches
            .get(&wd)
            .cloned()
            .ok_or_else(|| errno!(EINVAL))?;
        self.remove(&w, true);
        Ok(())
    }

    /// Removes `w` from this instance and the registry; with `ignored`, queues
    /// IN_IGNORED for it. Nothing happens if it was removed already.
    fn remove(&self, w: &Arc<Watch>, ignored: bool) {
        let k = key(&w.inode);
        {
            let mut st = self.state.lock();
            if st.watches.remove(&w.wd).is_none() {
                return;
            }
            st.by_inode.remove(&k);
            if ignored {
                st.push(Event {
                    wd: w.wd,
                    mask: IN_IGNORED,
                    cookie: 0,
                    name: Vec::new(),
                });
            }
        }
        unregister(k, w);
        if ignored {
            self.queue.notify_all();
        }
    }

    /// Queues an event for watch `w`; returns whether it was queued.
    fn queue_event(&self, w: &Watch, ev: Event) -> bool {
        {
            let mut st = self.state.lock();
            if !st.watches.contains_key(&w.wd) {
                return false;
            }
            st.push(ev);
        }
        self.queue.notify_all();
        true
    }
}

fn unregister(k: usize, w: &Arc<Watch>) {
    let mut reg = REGISTRY.write();
    if let Some(list) = reg.get_mut(&k) {
        if let Some(i) = list.iter().position(|x| Arc::ptr_eq(x, w)) {
            list.swap_remove(i);
            WATCH_COUNT.fetch_sub(1, Ordering::Relaxed);
        }
        if list.is_empty() {
            reg.remove(&k);
        }
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let watches: Vec<Arc<Watch>> = self
            .state
            .get_mut()
            .watches
            .drain()
            .map(|(_, w)| w)
            .collect();
        for w in &watches {
            unregister(key(&w.inode), w);
        }
    }
}

impl FileOps for Inotify {
    fn anon_name(&self) -> &'static str {
        "inotify"
    }

    fn as_inotify(&self) -> Option<&Inotify> {
        Some(self)
    }

    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        let nonblocking = file.nonblocking();
        let out = block_until(&[&self.queue], None, || {
            let mut st = self.state.lock();
            let Some(first) = st.events.front() else {
                return nonblocking.then(|| Err(errno!(EAGAIN)));
            };
            if first.size() > buf.len() {
                return Some(Err(errno!(EINVAL)));
            }
            let mut out = Vec::new();
            while let Some(ev) = st.events.front() {
                if out.len() + ev.size() > buf.len() {
                    break;
                }
                let ev = st.events.pop_front().expect("front exists");
                st.bytes -= ev.size();
                ev.encode(&mut out);
            }
            Some(Ok(out))
        })?;
        buf[..out.len()].copy_from_slice(&out);
        Ok(out.len())
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat(self.ino))
    }

    /// lseek succeeds and leaves the offset where it is (Linux's noop_llseek).
    fn seek(&self, _file: &File, current: u64, _offset: i64, _whence: SeekWhence) -> Result<u64> {
        Ok(current)
    }

    fn ioctl(&self, _file: &File, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        match cmd as libc::c_ulong {
            libc::FIONREAD => {
                let n = self.state.lock().bytes as i32;
                mem.copy_out(arg, &n.to_ne_bytes())?;
                Ok(0)
            }
            _ => Err(errno!(ENOTTY)),
        }
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.state.lock().events.is_empty() {
            0
        } else {
            mask & (libc::POLLIN | libc::POLLRDNORM) as u32
        }
    }
}

/// Checks inotify_add_watch's mask before anything else (EINVAL).
pub fn check_watch_mask(mask: u32) -> Result<()> {
    if mask & VALID_BITS == 0 {
        return Err(errno!(EINVAL));
    }
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(errno!(EINVAL));
    }
    Ok(())
}

/// The watches on `inode`.
fn watches_of(inode: &Arc<dyn Inode>) -> Vec<Arc<Watch>> {
    REGISTRY
        .read()
        .get(&key(inode))
        .cloned()
        .unwrap_or_default()
}

/// Delivers an event to each of `watches` that wants it.
fn deliver(watches: &[Arc<Watch>], mask: u32, cookie: u32, name: &[u8], unlinked: bool) {
    for w in watches {
        let wmask = w.mask.load(Ordering::Relaxed);
        if wmask & mask & IN_ALL_EVENTS == 0 {
            continue;
        }
        if unlinked && wmask & IN_EXCL_UNLINK != 0 {
            continue;
        }
        let Some(inst) = w.instance.upgrade() else {
            continue;
        };
        let ev = Event {
            wd: w.wd,
            mask,
            cookie,
            name: name.to_vec(),
        };
        if inst.queue_event(w, ev) && wmask & IN_ONESHOT != 0 {
            inst.remove(w, true);
        }
    }
}

fn type_bit(ft: FileType) -> u32 {
    if ft == FileType::Directory {
        IN_ISDIR
    } else {
        0
    }
}

/// An event on the file at `dentry` (open, access, modify, attrib, close): reported to
/// the watches on its parent directory, with its name, then to those on the file.
pub fn dentry_event(dentry: &Dentry, mask: u32) {
    if !active() {
        return;
    }
    let mask = mask | type_bit(dentry.file_type());
    let unlinked = dentry.is_deleted();
    if mask & CHILD_EVENTS != 0 {
        if let Some(parent) = dentry.parent() {
            let pw = watches_of(parent.inode());
            if !pw.is_empty() {
                deliver(&pw, mask, 0, &dentry.name(), unlinked);
            }
        }
    }
    let own = watches_of(dentry.inode());
    if !own.is_empty() {
        deliver(&own, mask, 0, &[], unlinked);
    }
}

/// [`dentry_event`] for an open file (nothing for O_PATH descriptors and files
/// without a path).
pub fn file_event(file: &File, mask: u32) {
    if !active() || file.is_path_only() {
        return;
    }
    if let Some(p) = file.path() {
        dentry_event(&p.dentry, mask);
    }
}

/// An event about the entry `name` of directory `dir` (create, delete, moved from/to),
/// whose file is of type `ft`.
pub fn entry_event(dir: &Path, name: &[u8], ft: FileType, mask: u32, cookie: u32) {
    if !active() {
        return;
    }
    let w = watches_of(dir.inode());
    if !w.is_empty() {
        deliver(&w, mask | type_bit(ft), cookie, name, false);
    }
}

/// An event about `inode` itself (IN_ATTRIB for a link count change, IN_MOVE_SELF):
/// Linux reports these without IN_ISDIR.
pub fn self_event(inode: &Arc<dyn Inode>, mask: u32) {
    if !active() {
        return;
    }
    let w = watches_of(inode);
    if !w.is_empty() {
        deliver(&w, mask, 0, &[], false);
    }
}

/// `inode` is gone (its last name was removed and the last use of it ended): its
/// watches get IN_DELETE_SELF, then IN_IGNORED, and are removed.
pub fn inode_removed(inode: &Arc<dyn Inode>) {
    if !active() {
        return;
    }
    let w = watches_of(inode);
    if w.is_empty() {
        return;
    }
    deliver(&w, IN_DELETE_SELF, 0, &[], false);
    for w in &w {
        if let Some(inst) = w.instance.upgrade() {
            inst.remove(w, true);
        }
    }
}

/// Whether `inode` has watches (for callers that must do work to decide on an event).
pub fn is_watched(inode: &Arc<dyn Inode>) -> bool {
    active() && REGISTRY.read().contains_key(&key(inode))
}
