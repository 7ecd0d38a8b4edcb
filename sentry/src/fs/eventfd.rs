//! eventfd(2): a 64-bit counter to wait on.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::{anon_dev, next_ino, File, FileOps, Stat};

/// The largest value the counter holds.
const MAX: u64 = u64::MAX - 1;

/// An eventfd.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    queue: WaitQueue,
    ino: u64,
}

impl EventFd {
    /// An eventfd starting at `initval`.
    pub fn new(initval: u32, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd {
            count: Mutex::new(initval as u64),
            semaphore,
            queue: WaitQueue::default(),
            ino: next_ino(),
        })
    }
}

impl FileOps for EventFd {
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
        "eventfd"
    }

    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        if buf.len() < 8 {
            return Err(errno!(EINVAL));
        }
        let nonblocking = file.nonblocking();
        let value = block_until(&[&self.queue], None, || {
            let mut c = self.count.lock();
            if *c > 0 {
                let v = if self.semaphore { 1 } else { *c };
                *c -= v;
                return Some(Ok(v));
            }
            nonblocking.then(|| Err(errno!(EAGAIN)))
        })?;
        self.queue.notify_all();
        buf[..8].copy_from_slice(&value.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, file: &File, buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        let Some(bytes) = buf.get(..8) else {
            return Err(errno!(EINVAL));
        };
        let v = u64::from_ne_bytes(bytes.try_into().expect("8 bytes"));
        if v == u64::MAX {
            return Err(errno!(EINVAL));
        }
        let nonblocking = file.nonblocking();
        block_until(&[&self.queue], None, || {
            let mut c = self.count.lock();
            if MAX - *c >= v {
                *c += v;
                return Some(Ok(()));
            }
            nonblocking.then(|| Err(errno!(EAGAIN)))
        })?;
        self.queue.notify_all();
        Ok(8)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat(self.ino))
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let c = *self.count.lock();
        let mut r = 0;
        if c > 0 {
            r |= libc::POLLIN as u32;
        }
        if c < MAX {
            r |= libc::POLLOUT as u32;
        }
        r & mask
    }
}

/// The attributes of an anonymous-inode file (eventfd, timerfd, epoll, pidfd).
pub fn anon_stat(ino: u64) -> Stat {
    static DEV: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    Stat {
        dev: *DEV.get_or_init(anon_dev),
        ino,
        mode: 0o600,
        nlink: 1,
        blksize: 4096,
        ..Default::default()
    }
}
