//! pidfd_open(2): a file descriptor naming a process, readable once it has exited.

use std::sync::Arc;

use super::eventfd::anon_stat;
use crate::errno::Result;
use crate::kernel::wait::WaitQueue;
use crate::kernel::ThreadGroup;
use crate::vfs::{next_ino, FileOps, Stat};

/// A pidfd.
pub struct PidFd {
    /// The process.
    pub tg: Arc<ThreadGroup>,
    ino: u64,
}

impl PidFd {
    /// A pidfd for `tg`.
    pub fn new(tg: Arc<ThreadGroup>) -> Arc<PidFd> {
        Arc::new(PidFd {
            tg,
            ino: next_ino(),
        })
    }

    /// Whether the process has exited (all its threads are gone).
    pub fn exited(&self) -> bool {
        self.tg.tasks.lock().is_empty()
    }
}

impl FileOps for PidFd {
    fn anon_name(&self) -> &'static str {
        "pidfd"
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat(self.ino))
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.tg.exited)
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.exited() {
            mask & libc::POLLIN as u32
        } else {
            0
        }
    }

    fn as_pidfd(&self) -> Option<&PidFd> {
        Some(self)
    }
}
