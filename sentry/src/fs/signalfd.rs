//! signalfd(2): a file that reads the caller's pending signals of a set as
//! `struct signalfd_siginfo` records, dequeuing them as delivery would.
//!
//! Like Linux, the file holds only the set: a read (or a readiness check) looks at the
//! pending signals of whichever thread asks, its own and its process's, so a signalfd
//! inherited across fork reads the child's signals. Every signal queued anywhere wakes
//! [`SIGNALS`], the queue signalfd readers and epoll entries watching a signalfd wait
//! on; they then look at their own pending sets again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use zerocopy::{Immutable, IntoBytes, KnownLayout};

use super::eventfd::anon_stat;
use crate::errno;
use crate::errno::Result;
use crate::kernel::signal::{SigInfo, SI_KERNEL};
use crate::kernel::wait::{block_until, WaitQueue};
use crate::kernel::{current_task, CurrentTask};
use crate::vfs::{next_ino, File, FileOps, SeekWhence, Stat};

/// Woken whenever a signal is queued to any thread or process.
pub static SIGNALS: WaitQueue = WaitQueue::new();

/// Tells signalfd readers that a signal was queued.
pub fn signal_queued() {
    SIGNALS.notify_all();
}

/// `struct signalfd_siginfo`.
#[derive(Clone, Copy, Debug, Default, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SignalfdSiginfo {
    signo: u32,
    errno: i32,
    code: i32,
    pid: u32,
    uid: u32,
    fd: i32,
    tid: u32,
    band: u32,
    overrun: u32,
    trapno: u32,
    status: i32,
    int: i32,
    ptr: u64,
    utime: u64,
    stime: u64,
    addr: u64,
    addr_lsb: u16,
    pad2: u16,
    syscall: i32,
    call_addr: u64,
    arch: u32,
    pad: [u8; 28],
}

const _: () = assert!(std::mem::size_of::<SignalfdSiginfo>() == 128);

/// Size of one record.
pub const RECORD: usize = std::mem::size_of::<SignalfdSiginfo>();

/// Which members of siginfo's union a signal carries (Linux's siginfo_layout).
#[derive(PartialEq, Eq)]
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    Chld,
    Rt,
    Sys,
}

const SI_TIMER: i32 = -2;
const SI_SIGIO: i32 = -5;

fn layout(signo: i32, code: i32) -> Layout {
    if code > 0 && code < SI_KERNEL {
        match signo {
            libc::SIGILL | libc::SIGFPE | libc::SIGSEGV | libc::SIGBUS | libc::SIGTRAP => {
                Layout::Fault
            }
            libc::SIGCHLD => Layout::Chld,
            libc::SIGSYS => Layout::Sys,
            _ => Layout::Poll,
        }
    } else {
        match code {
            SI_TIMER => Layout::Timer,
            SI_SIGIO => Layout::Poll,
            c if c < 0 => Layout::Rt,
            _ => Layout::Kill,
        }
    }
}

impl SignalfdSiginfo {
    /// The record a read returns for `info`.
    pub fn from_siginfo(info: &SigInfo) -> SignalfdSiginfo {
        let w = info.fields;
        let lo = |i: usize| (w[i] & 0xffff_ffff) as u32;
        let hi = |i: usize| (w[i] >> 32) as u32;
        let mut r = SignalfdSiginfo {
            signo: info.signo as u32,
            errno: info.errno,
            code: info.code,
            ..Default::default()
        };
        match layout(info.signo, info.code) {
            Layout::Kill => (r.pid, r.uid) = (lo(0), hi(0)),
            Layout::Timer => {
                (r.tid, r.overrun) = (lo(0), hi(0));
                (r.ptr, r.int) = (w[1], lo(1) as i32);
            }
            Layout::Poll => (r.band, r.fd) = (w[0] as u32, lo(1) as i32),
            Layout::Fault => {
                r.addr = w[0];
                r.addr_lsb = w[1] as u16;
            }
            Layout::Chld => {
                (r.pid, r.uid) = (lo(0), hi(0));
                r.status = lo(1) as i32;
                (r.utime, r.stime) = (w[2], w[3]);
            }
            Layout::Rt => {
                (r.pid, r.uid) = (lo(0), hi(0));
                (r.ptr, r.int) = (w[1], lo(1) as i32);
            }
            Layout::Sys => {
                r.call_addr = w[0];
                (r.syscall, r.arch) = (lo(1) as i32, hi(1));
            }
        }
        r
    }
}

/// A signalfd.
pub struct SignalFd {
    mask: AtomicU64,
    ino: u64,
}

impl SignalFd {
    /// A signalfd for the signals in `mask` (SIGKILL and SIGSTOP already removed).
    pub fn new(mask: u64) -> Arc<SignalFd> {
        Arc::new(SignalFd {
            mask: AtomicU64::new(mask),
            ino: next_ino(),
        })
    }

    /// The set it reads.
    pub fn mask(&self) -> u64 {
        self.mask.load(Ordering::Acquire)
    }

    /// Replaces the set (signalfd called again on this fd).
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask, Ordering::Release);
        SIGNALS.notify_all();
    }

    /// Takes the caller's next pending signal of the set: its own first, then its
    /// process's.
    fn dequeue(&self, me: &CurrentTask) -> Option<SigInfo> {
        let skip = !self.mask();
        let own = me.shared.pending.lock().dequeue(skip);
        own.or_else(|| me.tg.pending.lock().dequeue(skip))
    }
}

impl FileOps for SignalFd {
    fn seek(&self, _file: &File, current: u64, _off: i64, _whence: SeekWhence) -> Result<u64> {
        Ok(current)
    }

    fn anon_name(&self) -> &'static str {
        "signalfd"
    }

    fn as_signalfd(&self) -> Option<&SignalFd> {
        Some(self)
    }

    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        let room = buf.len() / RECORD;
        if room == 0 {
            return Err(errno!(EINVAL));
        }
        let me = current_task().ok_or_else(|| errno!(EINVAL))?;
        let nonblocking = file.nonblocking();
        let first = block_until(&[&SIGNALS], None, || match self.dequeue(&me) {
            Some(si) => Some(Ok(si)),
            None => nonblocking.then(|| Err(errno!(EAGAIN))),
        })?;
        let mut n = 0;
        let mut next = Some(first);
        while let Some(si) = next {
            let rec = SignalfdSiginfo::from_siginfo(&si);
            buf[n * RECORD..(n + 1) * RECORD].copy_from_slice(rec.as_bytes());
            n += 1;
            next = if n < room { self.dequeue(&me) } else { None };
        }
        Ok(n * RECORD)
    }

    fn write(&self, _file: &File, _buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        Err(errno!(EINVAL))
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat(self.ino))
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&SIGNALS)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let Some(me) = current_task() else {
            return 0;
        };
        let pending = me.shared.pending.lock().set() | me.tg.pending.lock().set();
        if pending & self.mask() != 0 {
            mask & libc::POLLIN as u32
        } else {
            0
        }
    }
}
