//! Advisory file locks, as Linux keeps them: flock(2) locks and fcntl record locks.
//!
//! Two independent kinds of lock live on every file:
//! - **flock locks** cover the whole file, shared or exclusive, and belong to the open
//!   file description ([`File`]): dup'd and inherited fds share them; they go when the
//!   description's last reference does, or on LOCK_UN. Converting one removes it before
//!   taking the new one, so a conversion that fails has lost the old lock (as Linux).
//! - **record locks** cover byte ranges, read or write (`records`). Classic POSIX
//!   locks belong to the fd table of the process that took them — Linux's owner is the
//!   `files_struct`, which a process's threads share and fork copies — and go when that
//!   table closes *any* fd of the file, or is itself torn down at exit. OFD locks
//!   (F_OFD_*) belong to the description and go with it. Both live in one list per file
//!   and conflict with each other, even within one process.
//!
//! flock locks and record locks never see each other.
//!
//! **Where the state lives.** One table for the kernel, keyed by the identity of the
//! file a description is open on: for a file reached by a path, the device and inode
//! number the guest sees in stat (so every name, hard link and mount of one file meets
//! the same locks, on every filesystem); for a file without one, the pipe both ends
//! share, or else the description's operations object, by address — the entry then
//! pins that object, so the address cannot be reused while the entry exists. Entries go
//! as soon as they hold no lock and no task sleeps on them. A table beside the inodes,
//! rather than a field in each, keeps filesystems out of it: none has to know about
//! locks.
//!
//! **Releases** are driven from outside: `File`'s drop calls `release_description`;
//! the fd table calls [`release_posix`] for each fd it closes (close, dup2 over it,
//! close_range, close-on-exec) and [`release_owner`] when it is dropped (the process's
//! last thread exited, before its parent can see it exit).
//!
//! **Waiting.** F_SETLKW, F_OFD_SETLKW and blocking flock sleep on the entry's wait
//! queue ([`crate::kernel::wait`]), woken whenever a lock on the file goes or weakens;
//! a signal ends the sleep with ERESTARTSYS, so SA_RESTART restarts the call, as Linux
//! does. Deadlocks between classic POSIX owners are detected as Linux does: a task
//! that blocks behind a classic POSIX lock records a waits-for edge (its owner waits
//! for the holder); before sleeping, a classic F_SETLKW follows the edges from the
//! holder it would wait for and fails with EDEADLK if they lead back to its own owner.
//! Edges are forgotten when the holder's locks on that file go or weaken (the waiter
//! looks again and records a new one if it still has to wait).
//!
//! **Lock order.** The table's mutex is taken alone and nothing is called under it that
//! could take another lock: a file's key (its attributes) is read before, wait queues
//! are notified and emptied entries dropped after.

mod records;

use records::RecordLocks;
pub use records::{Range, OFFSET_MAX};

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use super::File;
use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::{block_until, WaitQueue};

/// Read (shared) or write (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// F_RDLCK, LOCK_SH.
    Read,
    /// F_WRLCK, LOCK_EX.
    Write,
}

/// Who owns a lock. Locks of one owner never conflict with each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A file descriptor table, by id: classic POSIX record locks.
    Files(u64),
    /// An open file description, by id: flock locks and OFD record locks.
    Description(u64),
}

/// The lock that stands in the way, as F_GETLK reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Its kind.
    pub kind: Kind,
    /// The bytes it covers.
    pub range: Range,
    /// The process that took it; -1 for an OFD lock.
    pub pid: i32,
}

/// Deadlock detection compares at most this many holders along the waits-for edges
/// (Linux stops after MAX_DEADLK_ITERATIONS = 10 steps, i.e. 11 comparisons).
const MAX_DEADLOCK_STEPS: usize = 11;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a lock owner (an fd table or a file description) or a wait.
pub fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What identifies a file in the table (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// A file reached by a path: its device and inode number.
    Inode { dev: u64, ino: u64 },
    /// A file without a path (or whose attributes cannot be read): an object's address.
    Object(usize),
}

/// The key of the file `file` is open on.
fn key_of(file: &File) -> Key {
    if let Some(p) = file.path() {
        return match p.inode().stat() {
            Ok(st) => Key::Inode {
                dev: st.dev,
                ino: st.ino,
            },
            Err(_) => Key::Object(Arc::as_ptr(p.inode()) as *const () as usize),
        };
    }
    Key::Object(match file.ops().as_pipe() {
        Some(end) => end.pipe_key(),
        None => Arc::as_ptr(file.ops()) as *const () as usize,
    })
}

/// What an entry keyed by an address keeps alive, so that the address stays unique:
/// the inode, or the operations object (which holds the pipe of a pipe end).
fn pin_of(file: &File, key: Key) -> Option<Box<dyn Any + Send + Sync>> {
    if let Key::Inode { .. } = key {
        return None;
    }
    Some(match file.path() {
        Some(p) => Box::new(p.inode().clone()),
        None => Box::new(file.ops().clone()),
    })
}

/// The locks of one file.
struct FileLocks {
    _pin: Option<Box<dyn Any + Send + Sync>>,
    /// flock locks: (description id, kind, the process that took it).
    flocks: Vec<(u64, Kind, i32)>,
    records: RecordLocks,
    /// Tasks waiting for a lock on this file.
    queue: Arc<WaitQueue>,
    /// How many tasks sleep on `queue` (the entry stays while any does).
    sleepers: usize,
}

impl FileLocks {
    fn unused(&self) -> bool {
        self.flocks.is_empty() && self.records.is_empty() && self.sleepers == 0
    }
}

/// A task waiting behind a classic POSIX lock: its owner waits for the holder.
struct Blocked {
    wait: u64,
    waiter: Owner,
    holder: Owner,
    key: Key,
}

#[derive(Default)]
struct Table {
    files: HashMap<Key, FileLocks>,
    blocked: Vec<Blocked>,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);

impl Table {
    /// The entry of `key`, `file`'s file, made if there is none.
    fn entry(&mut self, key: Key, file: &File) -> &mut FileLocks {
        self.files.entry(key).or_insert_with(|| FileLocks {
            _pin: pin_of(file, key),
            flocks: Vec::new(),
            records: RecordLocks::default(),
            queue: Arc::new(WaitQueue::default()),
            sleepers: 0,
        })
    }

    /// Removes the entry of `key` if nothing uses it any more; the caller drops it
    /// after releasing the table.
    fn tidy(&mut self, key: Key) -> Option<FileLocks> {
        if self.files.get(&key).is_some_and(FileLocks::unused) {
            self.files.remove(&key)
        } else {
            None
        }
    }

    /// `owner`'s locks on `key` went or weakened: the tasks waiting for them no longer
    /// do (until they look again). Returns the queue to wake.
    fn released(&mut self, key: Key, owner: Owner) -> Option<Arc<WaitQueue>> {
        self.blocked
            .retain(|b| !(b.key == key && b.holder == owner));
        self.files.get(&key).map(|e| e.queue.clone())
    }

    /// Whether `caller` waiting for `holder` would close a cycle of waiting owners.
    fn would_deadlock(&self, caller: Owner, mut holder: Owner) -> bool {
        for _ in 0..MAX_DEADLOCK_STEPS {
            let Some(b) = self.blocked.iter().find(|b| b.waiter == holder) else {
                return false;
            };
            holder = b.holder;
            if holder == caller {
                return true;
            }
        }
        false
    }
}

/// Wakes `queue`, if any (with the table released).
fn wake(queue: Option<Arc<WaitQueue>>) {
    if let Some(q) = queue {
        q.notify_all();
    }
}

/// A task sleeping on a file's queue. It keeps the entry alive, and on drop forgets
/// the task's waits-for edge.
struct Sleeper {
    key: Key,
    wait: u64,
    queue: Arc<WaitQueue>,
}

impl Sleeper {
    fn new(file: &File, key: Key) -> Sleeper {
        let mut t = TABLE.lock();
        let e = t.entry(key, file);
        e.sleepers += 1;
        Sleeper {
            key,
            wait: new_id(),
            queue: e.queue.clone(),
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let stale = {
            let mut t = TABLE.lock();
            t.blocked.retain(|b| b.wait != self.wait);
            if let Some(e) = t.files.get_mut(&self.key) {
                e.sleepers -= 1;
            }
            t.tidy(self.key)
        };
        drop(stale);
    }
}

/// What one attempt at a lock operation came to: done (Some), or it must wait (None);
/// and a queue to wake because locks went.
type Attempt = (Option<Result<()>>, Option<Arc<WaitQueue>>);

/// Runs `attempt` on `file`'s entry: once (a busy lock is EAGAIN) or, with `wait`, until
/// it is done, sleeping between tries. `attempt` gets the entry's key and, when it may
/// wait, the id of this wait.
fn run(
    file: &File,
    wait: bool,
    mut attempt: impl FnMut(&mut Table, Key, Option<u64>) -> Attempt,
) -> Result<()> {
    // Read outside the table's lock: finding the key may ask the filesystem.
    let key = key_of(file);
    if !wait {
        let (result, woken, stale) = {
            let mut t = TABLE.lock();
            t.entry(key, file);
            let (result, woken) = attempt(&mut t, key, None);
            (result, woken, t.tidy(key))
        };
        wake(woken);
        drop(stale);
        return result.unwrap_or_else(|| Err(errno!(EAGAIN)));
    }
    let sleeper = Sleeper::new(file, key);
    block_until(&[&sleeper.queue], None, || {
        let (result, woken) = {
            let mut t = TABLE.lock();
            t.blocked.retain(|b| b.wait != sleeper.wait);
            attempt(&mut t, sleeper.key, Some(sleeper.wait))
        };
        wake(woken);
        result
    })
}

/// What kind of lock a [`HeldLock`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockClass {
    /// A classic POSIX record lock.
    Posix,
    /// An open-file-description record lock.
    Ofd,
    /// A flock lock (the whole file).
    Flock,
}

/// One held lock, as /proc/locks lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldLock {
    /// POSIX, OFD or flock.
    pub class: LockClass,
    /// Read or write.
    pub kind: Kind,
    /// The process that took it (-1 for an OFD lock).
    pub pid: i32,
    /// The file's device and inode number, when it was reached by a path.
    pub file: Option<(u64, u64)>,
    /// The bytes it covers (the whole file for flock).
    pub range: Range,
}

/// Every lock held now, file by file (record locks, then flock locks, of each).
pub fn held_locks() -> Vec<HeldLock> {
    let t = TABLE.lock();
    let mut out = Vec::new();
    for (key, e) in &t.files {
        let file = match *key {
            Key::Inode { dev, ino } => Some((dev, ino)),
            Key::Object(_) => None,
        };
        for l in e.records.iter() {
            let (class, pid) = match l.owner {
                Owner::Files(_) => (LockClass::Posix, l.pid),
                Owner::Description(_) => (LockClass::Ofd, -1),
            };
            out.push(HeldLock {
                class,
                kind: l.kind,
                pid,
                file,
                range: l.range,
            });
        }
        for &(_, kind, pid) in &e.flocks {
            out.push(HeldLock {
                class: LockClass::Flock,
                kind,
                pid,
                file,
                range: Range {
                    start: 0,
                    end: OFFSET_MAX,
                },
            });
        }
    }
    out
}

/// flock(2) on `file`: `kind` None is LOCK_UN. Without `wait` (LOCK_NB) a conflicting
/// lock is EWOULDBLOCK; with it the call sleeps (ERESTARTSYS on a signal).
pub fn flock(file: &File, kind: Option<Kind>, wait: bool) -> Result<()> {
    let me = file.lock_id();
    if kind.is_some() {
        file.note_locked();
    }
    run(file, wait && kind.is_some(), |t, key, _| {
        let e = t.files.get_mut(&key).expect("a lock call's entry exists");
        let mut woken = None;
        if let Some(i) = e.flocks.iter().position(|&(o, _, _)| o == me) {
            if Some(e.flocks[i].1) == kind {
                return (Some(Ok(())), None);
            }
            e.flocks.remove(i);
            woken = Some(e.queue.clone());
        }
        let Some(kind) = kind else {
            return (Some(Ok(())), woken);
        };
        let busy = e
            .flocks
            .iter()
            .any(|&(o, k, _)| o != me && (k == Kind::Write || kind == Kind::Write));
        if busy {
            return (None, woken);
        }
        e.flocks.push((me, kind, crate::kernel::current_ids().0));
        (Some(Ok(())), woken)
    })
}

/// F_SETLK (F_SETLKW with `wait`) for `owner`: makes its locks over `range` of `file`'s
/// file be `kind` (None: F_UNLCK). A conflicting lock of another owner is EAGAIN, or,
/// with `wait`, a sleep until it goes (ERESTARTSYS on a signal; EDEADLK if a classic
/// owner would wait in a cycle). `pid` is recorded for F_GETLK.
pub fn set_record(
    file: &File,
    owner: Owner,
    pid: i32,
    kind: Option<Kind>,
    range: Range,
    wait: bool,
) -> Result<()> {
    if kind.is_some() && matches!(owner, Owner::Description(_)) {
        file.note_locked();
    }
    run(file, wait && kind.is_some(), |t, key, waiting| {
        let e = t.files.get_mut(&key).expect("a lock call's entry exists");
        if let Some(k) = kind {
            if let Some(holder) = e.records.conflict(owner, k, &range).map(|l| l.owner) {
                let Some(wait) = waiting else {
                    return (None, None);
                };
                if matches!(owner, Owner::Files(_)) && t.would_deadlock(owner, holder) {
                    return (Some(Err(errno!(EDEADLK))), None);
                }
                // Like Linux, only waits behind classic POSIX locks are edges.
                if matches!(holder, Owner::Files(_)) {
                    t.blocked.push(Blocked {
                        wait,
                        waiter: owner,
                        holder,
                        key,
                    });
                }
                return (None, None);
            }
        }
        let weakened = e.records.set(owner, pid, kind, range);
        let woken = if weakened {
            t.released(key, owner)
        } else {
            None
        };
        (Some(Ok(())), woken)
    })
}

/// F_GETLK for `owner`: the first lock of another owner that conflicts with `kind` over
/// `range`. With `kind` None (F_OFD_GETLK with F_UNLCK), the owner's own first lock
/// over the range.
pub fn test_record(
    file: &File,
    owner: Owner,
    kind: Option<Kind>,
    range: Range,
) -> Option<Conflict> {
    let key = key_of(file);
    let t = TABLE.lock();
    let e = t.files.get(&key)?;
    let l = match kind {
        Some(k) => e.records.conflict(owner, k, &range),
        None => e.records.own(owner, &range),
    }?;
    Some(Conflict {
        kind: l.kind,
        range: l.range,
        pid: match l.owner {
            Owner::Files(_) => l.pid,
            Owner::Description(_) => -1,
        },
    })
}

/// An fd of `file` was closed by the fd table `owner`: its record locks on the file go.
pub fn release_posix(file: &File, owner: Owner) {
    // Most closes find no lock anywhere: spare them reading the file's attributes.
    if TABLE.lock().files.is_empty() {
        return;
    }
    let key = key_of(file);
    let (woken, stale) = {
        let mut t = TABLE.lock();
        let removed = t
            .files
            .get_mut(&key)
            .is_some_and(|e| e.records.remove_owner(owner));
        let woken = if removed {
            t.released(key, owner)
        } else {
            None
        };
        (woken, t.tidy(key))
    };
    wake(woken);
    drop(stale);
}

/// The description `file` is being destroyed: its flock and OFD locks go.
pub(super) fn release_description(file: &File) {
    let key = key_of(file);
    let me = file.lock_id();
    let owner = Owner::Description(me);
    let (woken, stale) = {
        let mut t = TABLE.lock();
        let removed = t.files.get_mut(&key).is_some_and(|e| {
            let before = e.flocks.len();
            e.flocks.retain(|&(o, _, _)| o != me);
            let records = e.records.remove_owner(owner);
            records || e.flocks.len() != before
        });
        let woken = if removed {
            t.released(key, owner)
        } else {
            None
        };
        (woken, t.tidy(key))
    };
    wake(woken);
    drop(stale);
}

/// The fd table `owner` is gone: every record lock it held goes.
pub fn release_owner(owner: Owner) {
    let (woken, stale) = {
        let mut t = TABLE.lock();
        let keys: Vec<Key> = t
            .files
            .iter_mut()
            .filter_map(|(&key, e)| e.records.remove_owner(owner).then_some(key))
            .collect();
        let woken: Vec<Arc<WaitQueue>> = keys
            .iter()
            .filter_map(|&key| t.released(key, owner))
            .collect();
        let stale: Vec<FileLocks> = keys.iter().filter_map(|&key| t.tidy(key)).collect();
        (woken, stale)
    };
    for q in woken {
        q.notify_all();
    }
    drop(stale);
}

#[cfg(test)]
mod tests;
