//! Pipes: a bounded byte buffer shared by a read end and a write end.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::abi::Timespec;
use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::{anon_dev, next_ino, File, FileOps, Inode, Stat};

/// Default pipe capacity (16 pages, as Linux).
pub const DEFAULT_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// The largest capacity F_SETPIPE_SZ grants an unprivileged task (pipe-max-size).
pub const MAX_CAPACITY: usize = 1 << 20;

struct State {
    buf: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Opens of each side so far (a FIFO open waiting for the other side also wakes
    /// for a peer that came and went).
    reader_opens: u64,
    writer_opens: u64,
}

/// A pipe.
///
/// Lock order: a task holds one pipe's `state` at a time, except splice(2) and tee(2)
/// between two pipes, which lock both in address order ([`lock_pair`]). No other lock
/// is taken while a state is held, and queues are notified after it is released.
pub struct Pipe {
    state: Mutex<State>,
    /// Readers waiting for data, writers waiting for room; also poll's readiness queue.
    changed: WaitQueue,
    ino: u64,
    dev: u64,
    created: Timespec,
}

impl Pipe {
    fn with_ends(readers: usize, writers: usize) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(State {
                buf: VecDeque::new(),
                capacity: DEFAULT_CAPACITY,
                readers,
                writers,
                reader_opens: readers as u64,
                writer_opens: writers as u64,
            }),
            changed: WaitQueue::default(),
            ino: next_ino(),
            dev: pipefs_dev(),
            created: crate::kernel::time::realtime(),
        })
    }

    /// A new pipe and its (read, write) ends.
    pub fn new_pair() -> (Arc<dyn FileOps>, Arc<dyn FileOps>) {
        let pipe = Pipe::with_ends(1, 1);
        (
            Arc::new(PipeEnd {
                pipe: pipe.clone(),
                reads: true,
                writes: false,
                node: None,
            }),
            Arc::new(PipeEnd {
                pipe,
                reads: false,
                writes: true,
                node: None,
            }),
        )
    }

    /// The buffer of a named pipe (a FIFO in a filesystem), with no ends open yet.
    pub fn new_named() -> Arc<Pipe> {
        Pipe::with_ends(0, 0)
    }

    /// Opens an end of a named pipe `node` with open(2) `flags`, by fifo(7)'s rules:
    /// a read-only open waits for a writer and a write-only open for a reader, unless
    /// O_NONBLOCK (then a writer without readers gets ENXIO); O_RDWR never waits.
    pub fn open_named(
        self: &Arc<Self>,
        node: Arc<dyn Inode>,
        flags: u32,
    ) -> Result<Arc<dyn FileOps>> {
        let nonblock = flags & libc::O_NONBLOCK as u32 != 0;
        let reads = crate::vfs::wants_read(flags);
        let writes = crate::vfs::wants_write(flags);
        let mut s = self.state.lock();
        if writes && !reads && nonblock && s.readers == 0 {
            return Err(errno!(ENXIO));
        }
        if reads {
            s.readers += 1;
            s.reader_opens += 1;
        }
        if writes {
            s.writers += 1;
            s.writer_opens += 1;
        }
        let (seen_readers, seen_writers) = (s.reader_opens, s.writer_opens);
        drop(s);
        self.changed.notify_all();
        // Built now so that an interrupted wait undoes the counts by dropping it.
        let end = Arc::new(PipeEnd {
            pipe: self.clone(),
            reads,
            writes,
            node: Some(node),
        });
        if !nonblock && reads != writes {
            block_until(&[&self.changed], None, || {
                let s = self.state.lock();
                let peer = if reads {
                    s.writers > 0 || s.writer_opens > seen_writers
                } else {
                    s.readers > 0 || s.reader_opens > seen_readers
                };
                peer.then_some(Ok(()))
            })?;
        }
        Ok(end)
    }

    fn stat(&self) -> Stat {
        Stat {
            dev: self.dev,
            ino: self.ino,
            mode: libc::S_IFIFO | 0o600,
            nlink: 1,
            blksize: 4096,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Default::default()
        }
    }
}

fn pipefs_dev() -> u64 {
    static DEV: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *DEV.get_or_init(anon_dev)
}

/// One end of a pipe (both ends, for a FIFO opened O_RDWR).
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    reads: bool,
    writes: bool,
    /// The FIFO's inode, for a named pipe (its attributes are the file's).
    node: Option<Arc<dyn Inode>>,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut s = self.pipe.state.lock();
        if self.writes {
            s.writers -= 1;
        }
        if self.reads {
            s.readers -= 1;
        }
        if s.readers == 0 && s.writers == 0 {
            // A FIFO's contents do not outlive its last open.
            s.buf.clear();
        }
        drop(s);
        self.pipe.changed.notify_all();
    }
}

impl PipeEnd {
    /// The identity of the pipe both ends share (file locks key on it).
    pub fn pipe_key(&self) -> usize {
        Arc::as_ptr(&self.pipe) as usize
    }

    /// F_GETPIPE_SZ.
    pub fn capacity(&self) -> usize {
        self.pipe.state.lock().capacity
    }

    /// F_SETPIPE_SZ: rounds up to a power-of-two number of pages; EBUSY if the data
    /// already buffered would not fit.
    pub fn set_capacity(&self, want: usize) -> Result<usize> {
        if want > MAX_CAPACITY {
            return Err(errno!(EPERM));
        }
        let size = want.max(4096).next_power_of_two();
        let mut s = self.pipe.state.lock();
        if s.buf.len() > size {
            return Err(errno!(EBUSY));
        }
        s.capacity = size;
        drop(s);
        self.pipe.changed.notify_all();
        Ok(size)
    }
}

/// splice(2), tee(2) and vmsplice(2): moving bytes in and out of a pipe without a
/// read(2) or write(2) of guest memory. Capacity is counted in bytes, as for write(2);
/// Linux counts a spliced piece as a whole page slot, so only page-sized pieces fill a
/// pipe exactly as there.
impl PipeEnd {
    /// Whether `other` is an end of the same pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.pipe, &other.pipe)
    }

    /// Removes up to `max` bytes, waiting for data as read(2) does (EAGAIN instead
    /// when `nonblocking`). Empty at end of file: the pipe is empty and has no writers.
    pub fn take(&self, max: usize, nonblocking: bool) -> Result<Vec<u8>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let data = block_until(&[&self.pipe.changed], None, || {
            let mut s = self.pipe.state.lock();
            if !s.buf.is_empty() {
                let n = max.min(s.buf.len());
                return Some(Ok(s.buf.drain(..n).collect::<Vec<u8>>()));
            }
            if s.writers == 0 {
                return Some(Ok(Vec::new()));
            }
            nonblocking.then(|| Err(errno!(EAGAIN)))
        })?;
        self.pipe.changed.notify_all();
        Ok(data)
    }

    /// Puts back, at the front, bytes [`PipeEnd::take`] removed that could not be
    /// delivered (a failed or short write to the destination).
    pub fn untake(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut s = self.pipe.state.lock();
        for &b in data.iter().rev() {
            s.buf.push_front(b);
        }
        drop(s);
        self.pipe.changed.notify_all();
    }

    /// Waits until the pipe has room, as write(2) does, and returns how many bytes are
    /// free: EPIPE when nobody can read it (the caller raises SIGPIPE), EAGAIN instead of
    /// waiting when `nonblocking`.
    pub fn wait_for_room(&self, nonblocking: bool) -> Result<usize> {
        block_until(&[&self.pipe.changed], None, || {
            let s = self.pipe.state.lock();
            if s.readers == 0 {
                return Some(Err(errno!(EPIPE)));
            }
            let free = s.capacity.saturating_sub(s.buf.len());
            if free > 0 {
                return Some(Ok(free));
            }
            nonblocking.then(|| Err(errno!(EAGAIN)))
        })
    }

    /// Appends bytes for which [`PipeEnd::wait_for_room`] found room. Data read from a
    /// file meanwhile is never dropped: if a concurrent writer took the room, the pipe
    /// briefly holds more than its capacity and writers wait until it drains.
    pub fn append(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.pipe.state.lock().buf.extend(data);
        self.pipe.changed.notify_all();
    }
}

/// Moves (splice(2), `consume`) or copies (tee(2)) up to `max` bytes from the pipe of
/// `from` to the different pipe of `to`. Waits for data in `from`, then for room in
/// `to`, unless `nonblocking` (EAGAIN); EPIPE when `to` has no readers; 0 when `from`
/// is empty and has no writers.
pub fn transfer(
    from: &PipeEnd,
    to: &PipeEnd,
    max: usize,
    nonblocking: bool,
    consume: bool,
) -> Result<usize> {
    let (src, dst) = (&from.pipe, &to.pipe);
    debug_assert!(
        !Arc::ptr_eq(src, dst),
        "the caller rejects a pipe spliced to itself"
    );
    let n = block_until(&[&src.changed, &dst.changed], None, || {
        let (mut i, mut o) = lock_pair(src, dst);
        if i.buf.is_empty() && i.writers > 0 {
            return nonblocking.then(|| Err(errno!(EAGAIN)));
        }
        // As Linux: EPIPE whenever nobody reads `to`, and a full `to` is waited for
        // even when `from` is at end of file.
        if o.readers == 0 {
            return Some(Err(errno!(EPIPE)));
        }
        let free = o.capacity.saturating_sub(o.buf.len());
        if free == 0 {
            return nonblocking.then(|| Err(errno!(EAGAIN)));
        }
        let n = max.min(i.buf.len()).min(free);
        if consume {
            o.buf.extend(i.buf.drain(..n));
        } else {
            o.buf.extend(i.buf.range(..n).copied());
        }
        Some(Ok(n))
    })?;
    if n > 0 {
        dst.changed.notify_all();
        if consume {
            src.changed.notify_all();
        }
    }
    Ok(n)
}

/// Locks the states of two different pipes, in address order so that two tasks
/// moving data in opposite directions cannot deadlock. Returns (a's, b's).
fn lock_pair<'a>(
    a: &'a Pipe,
    b: &'a Pipe,
) -> (
    parking_lot::MutexGuard<'a, State>,
    parking_lot::MutexGuard<'a, State>,
) {
    if (a as *const Pipe) < (b as *const Pipe) {
        let ga = a.state.lock();
        (ga, b.state.lock())
    } else {
        let gb = b.state.lock();
        (a.state.lock(), gb)
    }
}

impl FileOps for PipeEnd {
    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblocking = file.nonblocking();
        let n = block_until(&[&self.pipe.changed], None, || {
            let mut s = self.pipe.state.lock();
            if !s.buf.is_empty() {
                let n = buf.len().min(s.buf.len());
                for (dst, src) in buf.iter_mut().zip(s.buf.drain(..n)) {
                    *dst = src;
                }
                return Some(Ok(n));
            }
            if s.writers == 0 {
                return Some(Ok(0));
            }
            nonblocking.then(|| Err(errno!(EAGAIN)))
        })?;
        self.pipe.changed.notify_all();
        Ok(n)
    }

    fn write(&self, file: &File, buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        let nonblocking = file.nonblocking();
        // Writes of at most PIPE_BUF bytes are atomic: all or nothing.
        let atomic = buf.len() <= PIPE_BUF;
        let mut done = 0;
        let result = block_until(&[&self.pipe.changed], None, || {
            let mut s = self.pipe.state.lock();
            if s.readers == 0 {
                return Some(if done > 0 {
                    Ok(done)
                } else {
                    Err(errno!(EPIPE))
                });
            }
            let free = s.capacity.saturating_sub(s.buf.len());
            let rest = buf.len() - done;
            if free > 0 && (!atomic || free >= rest) {
                let n = free.min(rest);
                s.buf.extend(&buf[done..done + n]);
                done += n;
                drop(s);
                self.pipe.changed.notify_all();
                if done == buf.len() {
                    return Some(Ok(done));
                }
            }
            (nonblocking).then(|| {
                if done > 0 {
                    Ok(done)
                } else {
                    Err(errno!(EAGAIN))
                }
            })
        });
        match result {
            // Interrupted after writing some: report the partial write, as Linux does.
            Err(e) if e.is_restart() && done > 0 => Ok(done),
            other => other,
        }
    }

    fn stat(&self) -> Result<Stat> {
        match &self.node {
            Some(node) => node.stat(),
            None => Ok(self.pipe.stat()),
        }
    }

    fn ioctl(
        &self,
        _file: &File,
        cmd: u32,
        arg: u64,
        mem: &dyn crate::vfs::IoctlMemory,
    ) -> Result<u64> {
        match cmd as libc::c_ulong {
            libc::FIONREAD => {
                let n = self.pipe.state.lock().buf.len() as i32;
                mem.copy_out(arg, &n.to_ne_bytes())?;
                Ok(0)
            }
            _ => Err(errno!(ENOTTY)),
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let s = self.pipe.state.lock();
        let mut ready = 0;
        if self.writes {
            if s.capacity - s.buf.len().min(s.capacity) >= PIPE_BUF {
                ready |= libc::POLLOUT as u32;
            }
            if s.readers == 0 {
                ready |= libc::POLLERR as u32;
            }
        }
        if self.reads {
            if !s.buf.is_empty() {
                ready |= libc::POLLIN as u32;
            }
            if s.writers == 0 {
                ready |= libc::POLLHUP as u32;
            }
        }
        ready & (mask | (libc::POLLERR | libc::POLLHUP) as u32)
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.changed)
    }

    fn as_pipe(&self) -> Option<&PipeEnd> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new pipe's (read, write) ends, kept alive by the returned pair.
    fn pipe() -> (Arc<dyn FileOps>, Arc<dyn FileOps>) {
        Pipe::new_pair()
    }

    fn end(ops: &Arc<dyn FileOps>) -> &PipeEnd {
        ops.as_pipe().expect("a pipe end")
    }

    #[test]
    fn tee_copies_without_consuming_and_splice_moves() {
        let (ar, aw) = pipe();
        let (br, bw) = pipe();
        end(&aw).append(b"hello world");
        assert_eq!(transfer(end(&ar), end(&bw), 5, true, false).unwrap(), 5);
        assert_eq!(transfer(end(&ar), end(&bw), 100, true, true).unwrap(), 11);
        assert_eq!(end(&br).take(100, true).unwrap(), b"hellohello world");
        assert_eq!(
            transfer(end(&ar), end(&bw), 1, true, true)
                .unwrap_err()
                .code(),
            libc::EAGAIN
        );
    }

    #[test]
    fn untaken_bytes_come_back_first() {
        let (r, w) = pipe();
        end(&w).append(b"abcdef");
        let taken = end(&r).take(4, true).unwrap();
        assert_eq!(taken, b"abcd");
        end(&r).untake(&taken[2..]);
        assert_eq!(end(&r).take(100, true).unwrap(), b"cdef");
    }

    #[test]
    fn room_is_counted_in_bytes_and_a_full_pipe_is_eagain() {
        let (_r, w) = pipe();
        end(&w).append(&[0; DEFAULT_CAPACITY - 10]);
        assert_eq!(end(&w).wait_for_room(true).unwrap(), 10);
        end(&w).append(&[0; 10]);
        assert_eq!(
            end(&w).wait_for_room(true).unwrap_err().code(),
            libc::EAGAIN
        );
    }

    #[test]
    fn no_reader_is_epipe_and_no_writer_is_end_of_file() {
        let (ar, aw) = pipe();
        let (br, bw) = pipe();
        end(&aw).append(b"x");
        drop(br);
        assert_eq!(
            end(&bw).wait_for_room(false).unwrap_err().code(),
            libc::EPIPE
        );
        assert_eq!(
            transfer(end(&ar), end(&bw), 1, false, true)
                .unwrap_err()
                .code(),
            libc::EPIPE
        );
        drop(aw);
        assert_eq!(end(&ar).take(10, false).unwrap(), b"x");
        assert!(end(&ar).take(10, false).unwrap().is_empty());
    }
}
