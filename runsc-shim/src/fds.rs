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

/// Sends `data` on the stream socket `sock` with `fds` attached (SCM_RIGHTS) to its
/// first byte. (sendmsg and recvmsg, not send and recv: the sentry's seccomp filter
/// allows only those.)
pub fn send_with_fds(
    sock: &impl AsRawFd,
    data: &[u8],
    fds: &[std::os::fd::BorrowedFd<'_>],
) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let iov = [std::io::IoSlice::new(data)];
    let sent = loop {
        match sendmsg::<()>(
            sock.as_raw_fd(),
            &iov,
            if raw.is_empty() { &[] } else { &cmsg },
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other?,
        }
    };
    // The fds went with the first part; a short send's rest goes plainly.
    let mut at = sent;
    while at < data.len() {
        let iov = [std::io::IoSlice::new(&data[at..])];
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &[], MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) => at += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads into `buf` from the stream socket `sock`, taking any fds sent with the data
/// (close-on-exec). Returns the byte count (0 at end of stream) and the fds.
#[allow(unsafe_code)]
pub fn recv_with_fds(
    sock: &impl AsRawFd,
    buf: &mut [u8],
) -> std::io::Result<(usize, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 8]);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other?,
        }
    };
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            for fd in raw {
                // SAFETY: SCM_RIGHTS just installed `fd` in this process for us; nothing
                // else refers to it.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Ok((msg.bytes, fds))
}

/// Makes the terminal on `fd` this process's controlling terminal, in a session of its
/// own, unless it already is (the caller's terminal under `moat do --tty`). The host's
/// line discipline then sends its signals (^C, window changes, hangup) here.
#[allow(unsafe_code)]
pub fn take_terminal(fd: std::os::fd::BorrowedFd<'_>) -> nix::Result<()> {
    let ours = nix::unistd::getsid(None)?;
    if nix::sys::termios::tcgetsid(fd) == Ok(ours) {
        return Ok(());
    }
    nix::unistd::setsid()?;
    // SAFETY: TIOCSCTTY takes an int argument by value (0: do not steal the terminal
    // from another session); no memory is passed.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}
