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
