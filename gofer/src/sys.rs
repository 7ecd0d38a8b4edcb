//! The crate's only `unsafe` code: host calls nix does not wrap in the shape we need.
#![allow(unsafe_code)]

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// `getdents64(2)`: fills `buf` with `struct linux_dirent64` records from the directory's
/// current offset and returns how many bytes it wrote (0 at the end of the directory).
pub(crate) fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<usize> {
    // SAFETY: `buf` is an exclusively borrowed, writable region of exactly `buf.len()` bytes
    // that outlives the call, and the kernel writes at most that many bytes into it; `dir`
    // is an open descriptor borrowed for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            dir.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    Errno::result(ret).map(|n| usize::try_from(n).unwrap_or(0))
}

/// One datagram received by [`recv_with_fds`].
pub(crate) struct Datagram {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// `MSG_*` flags the kernel reported (`MSG_TRUNC`, `MSG_CTRUNC`).
    pub flags: MsgFlags,
    /// Descriptors that arrived with the datagram, now owned by the caller.
    pub fds: Vec<OwnedFd>,
}

/// `recvmsg(2)` of one datagram, taking ownership of any `SCM_RIGHTS` descriptors
/// (received close-on-exec). `cmsg` is the ancillary-data buffer to use.
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    cmsg: &mut [u8],
) -> nix::Result<Datagram> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut fds = Vec::new();
    // With MSG_CTRUNC nix refuses to walk the control messages; the caller treats the
    // datagram as malformed (its buffer has room for the most fds one message can carry).
    if let Ok(cmsgs) = msg.cmsgs() {
        for cmsg in cmsgs {
            if let ControlMessageOwned::ScmRights(raw_fds) = cmsg {
                for raw in raw_fds {
                    // SAFETY: the kernel installed `raw` in our descriptor table during this
                    // recvmsg call; nothing else in the process knows the number yet, so this
                    // OwnedFd becomes its only owner.
                    fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
    }
    Ok(Datagram {
        len: msg.bytes,
        flags: msg.flags,
        fds,
    })
}

/// `fgetxattr(2)` into `buf`; returns the value's length.
pub(crate) fn fgetxattr(
    fd: BorrowedFd<'_>,
    name: &std::ffi::CStr,
    buf: &mut [u8],
) -> nix::Result<usize> {
    // SAFETY: `name` is NUL-terminated and `buf` is an exclusively borrowed region of
    // `buf.len()` writable bytes; the kernel writes at most that many.
    let ret = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    Errno::result(ret).map(|n| usize::try_from(n).unwrap_or(0))
}

/// `flistxattr(2)` into `buf`; returns the length of the NUL-separated names.
pub(crate) fn flistxattr(fd: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<usize> {
    // SAFETY: `buf` is an exclusively borrowed region of `buf.len()` writable bytes; the
    // kernel writes at most that many.
    let ret = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(ret).map(|n| usize::try_from(n).unwrap_or(0))
}

/// `fsetxattr(2)`.
pub(crate) fn fsetxattr(
    fd: BorrowedFd<'_>,
    name: &std::ffi::CStr,
    value: &[u8],
    flags: i32,
) -> nix::Result<()> {
    // SAFETY: `name` is NUL-terminated and `value` is a readable region of `value.len()`
    // bytes; the kernel only reads them.
    let ret = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    };
    Errno::result(ret).map(drop)
}

/// `fremovexattr(2)`.
pub(crate) fn fremovexattr(fd: BorrowedFd<'_>, name: &std::ffi::CStr) -> nix::Result<()> {
    // SAFETY: `name` is NUL-terminated; the kernel only reads it.
    let ret = unsafe { libc::fremovexattr(fd.as_raw_fd(), name.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: sets the times of the
/// inode `fd` names (an `O_PATH` descriptor of any kind of file, a symlink itself
/// included; Linux 5.8 and later).
pub(crate) fn utimens_empty_path(
    fd: BorrowedFd<'_>,
    times: &[libc::timespec; 2],
) -> nix::Result<()> {
    // SAFETY: the path is a NUL-terminated empty string and `times` two timespecs, both
    // only read by the kernel.
    let ret = unsafe {
        libc::utimensat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            times.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    Errno::result(ret).map(drop)
}
