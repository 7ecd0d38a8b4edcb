//! Passing file descriptors to the roles `moat do` starts.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};

/// Lets `fd` survive the next exec (the child finds it under the same number).
pub fn inheritable(fd: &impl AsFd) -> nix::Result<i32> {
    fcntl(fd.as_fd(), FcntlArg::F_SETFD(FdFlag::empty()))?;
    Ok(fd.as_fd().as_raw_fd())
}

/// Takes ownership of an fd number our parent passed us (None if it is not open), and
/// makes it close-on-exec.
#[allow(unsafe_code)]
pub fn adopt(fd: i32) -> Option<OwnedFd> {
    if fd < 0 {
        return None;
    }
    // SAFETY: F_GETFD only probes whether `fd` is open; it touches no memory.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the fd is open (probed above) and was handed to this process for this
    // role on the command line; nothing else in the process claims it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    Some(owned)
}

/// Makes this role die with the `moat` process that started it (PR_SET_PDEATHSIG), and
/// exits at once if that process is already gone. Returns false in that case.
pub fn die_with_parent() -> bool {
    let parent = std::os::unix::process::parent_id();
    if nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).is_err() {
        return false;
    }
    std::os::unix::process::parent_id() == parent && parent != 1
}
