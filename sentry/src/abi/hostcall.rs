//! The few host calls the sentry makes that `nix` does not wrap: typed terminal ioctls on
//! host fds, `getauxval`, `getrandom` and a global `membarrier`. Each takes only fixed,
//! validated requests.

use std::os::fd::{AsRawFd, BorrowedFd};

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::errno::{Errno, Result};

/// The host ioctls the sentry issues on host fds, each with its argument type fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostIoctl {
    /// TCGETS: reads a termios.
    Tcgets,
    /// TCSETS: writes a termios.
    Tcsets,
    /// TCSETSW: writes a termios after draining output.
    Tcsetsw,
    /// TCSETSF: writes a termios after draining output and flushing input.
    Tcsetsf,
    /// TIOCGWINSZ: reads a winsize.
    Tiocgwinsz,
    /// TIOCSWINSZ: writes a winsize.
    Tiocswinsz,
    /// FIONREAD: reads an int.
    Fionread,
}

impl HostIoctl {
    fn request(self) -> libc::c_ulong {
        match self {
            HostIoctl::Tcgets => libc::TCGETS,
            HostIoctl::Tcsets => libc::TCSETS,
            HostIoctl::Tcsetsw => libc::TCSETSW,
            HostIoctl::Tcsetsf => libc::TCSETSF,
            HostIoctl::Tiocgwinsz => libc::TIOCGWINSZ,
            HostIoctl::Tiocswinsz => libc::TIOCSWINSZ,
            HostIoctl::Fionread => libc::FIONREAD,
        }
    }

    /// The size of the argument the request reads or writes.
    fn arg_size(self) -> usize {
        match self {
            HostIoctl::Tcgets | HostIoctl::Tcsets | HostIoctl::Tcsetsw | HostIoctl::Tcsetsf => {
                std::mem::size_of::<super::Termios>()
            }
            HostIoctl::Tiocgwinsz | HostIoctl::Tiocswinsz => std::mem::size_of::<super::Winsize>(),
            HostIoctl::Fionread => std::mem::size_of::<libc::c_int>(),
        }
    }
}

/// Issues `req` on `fd` with `arg` as its in/out argument (whose type must be the one
/// the request uses; checked by size).
pub fn ioctl<T: IntoBytes + FromBytes + Immutable>(
    fd: BorrowedFd<'_>,
    req: HostIoctl,
    arg: &mut T,
) -> Result<()> {
    assert_eq!(
        std::mem::size_of::<T>(),
        req.arg_size(),
        "ioctl argument type mismatch"
    );
    // SAFETY: `req` is one of the fixed requests above, each of which reads or writes
    // exactly `arg_size()` bytes through its pointer argument; `arg` is a live, exclusively
    // borrowed value of exactly that size (asserted) for the duration of the call.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            req.request(),
            arg.as_mut_bytes().as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(Errno::new(nix::errno::Errno::last_raw()));
    }
    Ok(())
}

/// getauxval(3) of the sentry's own auxiliary vector (0 if absent).
pub fn getauxval(key: u64) -> u64 {
    // SAFETY: getauxval only reads the process's auxiliary vector; any key is valid.
    unsafe { libc::getauxval(key) }
}

/// getrandom(2) into `buf` from the host's CSPRNG; returns the bytes filled.
pub fn getrandom(buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the exclusively borrowed
    // buffer.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(Errno::new(nix::errno::Errno::last_raw()));
    }
    Ok(n as usize)
}

/// membarrier(MEMBARRIER_CMD_GLOBAL): returns once every thread on the host has passed
/// a memory barrier — the stub threads running guest code included.
pub fn membarrier_global() -> Result<()> {
    const MEMBARRIER_CMD_GLOBAL: libc::c_long = 1;
    // SAFETY: a global membarrier takes no pointers; it only waits.
    let r = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) };
    if r < 0 {
        return Err(Errno::new(nix::errno::Errno::last_raw()));
    }
    Ok(())
}
