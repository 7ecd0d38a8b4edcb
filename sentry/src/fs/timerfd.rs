//! timerfd(2): a timer whose expirations are read from a file descriptor.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::eventfd::anon_stat;
use crate::errno;
use crate::errno::Result;
use crate::kernel::timer::IntervalTimer;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::{next_ino, File, FileOps, Stat};

struct Shared {
    expirations: Mutex<u64>,
    queue: WaitQueue,
}

/// A timerfd.
pub struct TimerFd {
    /// The clock its absolute times are on.
    pub clock: i32,
    shared: Arc<Shared>,
    timer: Arc<IntervalTimer>,
    ino: u64,
}

impl TimerFd {
    /// A disarmed timerfd on `clock`.
    pub fn new(clock: i32) -> Arc<TimerFd> {
        let shared = Arc::new(Shared {
            expirations: Mutex::new(0),
            queue: WaitQueue::default(),
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        let timer = IntervalTimer::new(move |n| {
            if let Some(s) = weak.upgrade() {
                *s.expirations.lock() += n;
                s.queue.notify_all();
            }
        });
        Arc::new(TimerFd {
            clock,
            shared,
            timer,
            ino: next_ino(),
        })
    }

    /// timerfd_settime: arms at `deadline` (None: disarm); returns the old setting.
    pub fn set(&self, deadline: Option<Instant>, interval: Duration) -> (Duration, Duration) {
        *self.shared.expirations.lock() = 0;
        self.timer.set(deadline, interval)
    }

    /// timerfd_gettime.
    pub fn get(&self) -> (Duration, Duration) {
        self.timer.get()
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        self.timer.disarm();
    }
}

impl FileOps for TimerFd {
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
        "timerfd"
    }

    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        if buf.len() < 8 {
            return Err(errno!(EINVAL));
        }
        let nonblocking = file.nonblocking();
        let n = block_until(&[&self.shared.queue], None, || {
            let mut e = self.shared.expirations.lock();
            if *e > 0 {
                return Some(Ok(std::mem::take(&mut *e)));
            }
            nonblocking.then(|| Err(errno!(EAGAIN)))
        })?;
        buf[..8].copy_from_slice(&n.to_ne_bytes());
        Ok(8)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat(self.ino))
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.shared.queue)
    }

    fn readiness(&self, mask: u32) -> u32 {
        if *self.shared.expirations.lock() > 0 {
            mask & libc::POLLIN as u32
        } else {
            0
        }
    }

    fn as_timerfd(&self) -> Option<&TimerFd> {
        Some(self)
    }
}
