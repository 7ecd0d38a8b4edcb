//! Host file descriptors handed to the guest as-is: `moat do`'s stdio.
//!
//! Reads and writes go to the host fd (so a terminal, a pipe or a redirected file behave
//! exactly as they do for a native program). Only a fixed set of terminal ioctls is
//! passed through, each with its argument copied through the sentry: the guest never
//! hands a pointer or an arbitrary request to the host.

use std::os::fd::{AsFd, OwnedFd};

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::abi::hostcall::{self, HostIoctl};
use crate::abi::{self, Termios, Timespec, Winsize};
use crate::errno;
use crate::errno::{Errno, Result};
use crate::vfs::{File, FileOps, FileType, IoctlMemory, SeekWhence, Stat};

/// A host fd served to the guest.
pub struct HostFile {
    fd: OwnedFd,
    file_type: FileType,
    is_tty: bool,
    /// For the terminal `moat do --tty` hands over: the sandbox's view of it as a
    /// controlling terminal (foreground group, session), which the host never sees.
    tty: std::sync::OnceLock<std::sync::Arc<crate::fs::tty::Tty>>,
}

/// How often a read of the sandbox's terminal looks again for input while it waits
/// (the wait itself is interruptible, as a guest's read of its terminal must be).
const TTY_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

impl HostFile {
    /// Wraps `fd` (the sentry's own copy).
    pub fn new(fd: OwnedFd) -> Result<HostFile> {
        let st = nix::sys::stat::fstat(&fd)?;
        let is_tty = nix::unistd::isatty(&fd).unwrap_or(false);
        Ok(HostFile {
            fd,
            file_type: FileType::from_mode(st.st_mode),
            is_tty,
            tty: std::sync::OnceLock::new(),
        })
    }

    /// The host device number (for a terminal: which one).
    pub fn rdev(&self) -> u64 {
        nix::sys::stat::fstat(&self.fd).map_or(0, |s| s.st_rdev)
    }

    /// Whether the host fd is a terminal.
    pub fn is_tty(&self) -> bool {
        self.is_tty
    }

    /// Makes this host terminal the sandbox's terminal `tty`.
    pub fn attach_tty(&self, tty: std::sync::Arc<crate::fs::tty::Tty>) {
        let _ = self.tty.set(tty);
    }

    /// A read of the sandbox's terminal: job control first, then a wait for input
    /// that a signal interrupts (a host read would not be).
    fn read_tty(&self, file: &File, buf: &mut [u8]) -> Result<usize> {
        if let Some(tty) = self.tty.get() {
            tty.check_change(libc::SIGTTIN)?;
        }
        let ready = (libc::POLLIN | libc::POLLHUP | libc::POLLERR) as u32;
        while self.readiness(ready) == 0 {
            if file.nonblocking() {
                return Err(errno!(EAGAIN));
            }
            crate::kernel::wait::sleep_until(std::time::Instant::now() + TTY_POLL_INTERVAL)?;
        }
        Self::retry(|| nix::unistd::read(self.fd.as_fd(), buf))
    }

    /// The open flags the host fd has (for the guest's F_GETFL).
    pub fn host_flags(&self) -> u32 {
        nix::fcntl::fcntl(&self.fd, nix::fcntl::FcntlArg::F_GETFL)
            .map(|f| f as u32)
            .unwrap_or(libc::O_RDWR as u32)
    }

    fn retry<T>(mut f: impl FnMut() -> nix::Result<T>) -> Result<T> {
        loop {
            match f() {
                Err(nix::errno::Errno::EINTR) => continue,
                other => return other.map_err(Errno::from),
            }
        }
    }

    fn ioctl_out<T: IntoBytes + FromBytes + Immutable>(
        &self,
        req: HostIoctl,
        mem: &dyn IoctlMemory,
        arg: u64,
    ) -> Result<u64> {
        let mut v = T::new_zeroed();
        hostcall::ioctl(self.fd.as_fd(), req, &mut v)?;
        mem.copy_out(arg, v.as_bytes())?;
        Ok(0)
    }

    fn ioctl_in<T: IntoBytes + FromBytes + Immutable>(
        &self,
        req: HostIoctl,
        mem: &dyn IoctlMemory,
        arg: u64,
    ) -> Result<u64> {
        let mut v = T::new_zeroed();
        mem.copy_in(arg, v.as_mut_bytes())?;
        hostcall::ioctl(self.fd.as_fd(), req, &mut v)?;
        Ok(0)
    }
}

impl FileOps for HostFile {
    fn supports_epoll(&self) -> bool {
        self.file_type != FileType::Regular && self.file_type != FileType::Directory
    }

    fn supports_pread(&self) -> bool {
        self.file_type == FileType::Regular
    }

    // Regular files, ttys, pipes and sockets of the host all splice on Linux.
    fn can_splice_read(&self) -> bool {
        self.file_type != FileType::Directory
    }

    fn can_splice_write(&self) -> bool {
        self.file_type != FileType::Directory
    }

    fn read(&self, file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        if self.tty.get().is_some() && !buf.is_empty() {
            return self.read_tty(file, buf);
        }
        match offset {
            Some(off) => Self::retry(|| nix::sys::uio::pread(self.fd.as_fd(), buf, off as i64)),
            None => Self::retry(|| nix::unistd::read(self.fd.as_fd(), buf)),
        }
    }

    fn write(&self, _file: &File, buf: &[u8], offset: Option<u64>) -> Result<usize> {
        match offset {
            Some(off) => Self::retry(|| nix::sys::uio::pwrite(self.fd.as_fd(), buf, off as i64)),
            None => Self::retry(|| nix::unistd::write(self.fd.as_fd(), buf)),
        }
    }

    fn seek(&self, _file: &File, _current: u64, offset: i64, whence: SeekWhence) -> Result<u64> {
        if self.file_type != FileType::Regular {
            return Err(errno!(ESPIPE));
        }
        let w = match whence {
            SeekWhence::Set => nix::unistd::Whence::SeekSet,
            SeekWhence::Current => nix::unistd::Whence::SeekCur,
            SeekWhence::End => nix::unistd::Whence::SeekEnd,
            SeekWhence::Data => nix::unistd::Whence::SeekData,
            SeekWhence::Hole => nix::unistd::Whence::SeekHole,
        };
        Ok(nix::unistd::lseek(&self.fd, offset, w)? as u64)
    }

    fn stat(&self) -> Result<Stat> {
        let s = nix::sys::stat::fstat(&self.fd)?;
        Ok(Stat {
            dev: s.st_dev,
            ino: s.st_ino,
            mode: s.st_mode,
            nlink: s.st_nlink as u32,
            uid: s.st_uid,
            gid: s.st_gid,
            rdev: s.st_rdev,
            size: s.st_size.max(0) as u64,
            blksize: s.st_blksize as u32,
            blocks: s.st_blocks as u64,
            atime: Timespec {
                tv_sec: s.st_atime,
                tv_nsec: s.st_atime_nsec,
            },
            mtime: Timespec {
                tv_sec: s.st_mtime,
                tv_nsec: s.st_mtime_nsec,
            },
            ctime: Timespec {
                tv_sec: s.st_ctime,
                tv_nsec: s.st_ctime_nsec,
            },
            btime: None,
        })
    }

    fn ioctl(&self, file: &File, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        if let Some(tty) = self.tty.get() {
            if let Some(r) = tty.ioctl(cmd, arg, mem, file.is_readable(), false) {
                return r;
            }
            if matches!(
                cmd as libc::c_ulong,
                libc::TCSETS | libc::TCSETSW | libc::TCSETSF
            ) {
                tty.check_change(libc::SIGTTOU)?;
            }
        }
        match cmd as libc::c_ulong {
            libc::FIONREAD => self.ioctl_out::<libc::c_int>(HostIoctl::Fionread, mem, arg),
            _ if !self.is_tty => Err(errno!(ENOTTY)),
            libc::TCGETS => self.ioctl_out::<Termios>(HostIoctl::Tcgets, mem, arg),
            libc::TCSETS => self.ioctl_in::<Termios>(HostIoctl::Tcsets, mem, arg),
            libc::TCSETSW => self.ioctl_in::<Termios>(HostIoctl::Tcsetsw, mem, arg),
            libc::TCSETSF => self.ioctl_in::<Termios>(HostIoctl::Tcsetsf, mem, arg),
            libc::TIOCGWINSZ => self.ioctl_out::<Winsize>(HostIoctl::Tiocgwinsz, mem, arg),
            libc::TIOCSWINSZ => self.ioctl_in::<Winsize>(HostIoctl::Tiocswinsz, mem, arg),
            _ => Err(errno!(ENOTTY, "host tty ioctl {cmd:#x} not passed through")),
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let mut pfd = [nix::poll::PollFd::new(
            self.fd.as_fd(),
            nix::poll::PollFlags::from_bits_truncate(mask as i16),
        )];
        match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::ZERO) {
            Ok(_) => pfd[0].revents().map_or(0, |r| r.bits() as u16 as u32),
            Err(_) => 0,
        }
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(abi::Statfs::in_memory())
    }
}
