//! Sending and receiving whole datagrams on a channel.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::protocol::MAX_MESSAGE_SIZE;
use crate::sys;

/// The most descriptors one `SCM_RIGHTS` message can carry (the kernel's `SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;

/// Reusable buffers for receiving on one channel.
pub(crate) struct RecvBuffers {
    data: Vec<u8>,
    cmsg: Vec<u8>,
}

impl RecvBuffers {
    pub(crate) fn new() -> Self {
        RecvBuffers {
            data: vec![0; MAX_MESSAGE_SIZE],
            cmsg: nix::cmsg_space!([RawFd; SCM_MAX_FD]),
        }
    }
}

/// A received datagram, borrowing its bytes from the [`RecvBuffers`].
pub(crate) struct Received<'a> {
    pub bytes: &'a [u8],
    /// The datagram was larger than [`MAX_MESSAGE_SIZE`] and was cut short.
    pub truncated: bool,
    /// Ancillary data did not fit; some descriptors may have been dropped.
    pub control_truncated: bool,
    pub fds: Vec<OwnedFd>,
}

/// Receives one datagram; `Ok(None)` means the peer closed the channel.
pub(crate) fn recv<'b>(
    sock: BorrowedFd<'_>,
    bufs: &'b mut RecvBuffers,
) -> io::Result<Option<Received<'b>>> {
    let datagram = loop {
        match sys::recv_with_fds(sock, &mut bufs.data, &mut bufs.cmsg) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    // Every message has a header, so a zero-length read can only be end of file.
    if datagram.len == 0 && datagram.fds.is_empty() {
        return Ok(None);
    }
    Ok(Some(Received {
        bytes: &bufs.data[..datagram.len.min(MAX_MESSAGE_SIZE)],
        truncated: datagram.flags.contains(MsgFlags::MSG_TRUNC),
        control_truncated: datagram.flags.contains(MsgFlags::MSG_CTRUNC),
        fds: datagram.fds,
    }))
}

/// Sends `msg` as one datagram, with `fd` attached if given. Never raises SIGPIPE.
pub(crate) fn send(sock: BorrowedFd<'_>, msg: &[u8], fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let raw_fds: Vec<RawFd> = fd.iter().map(AsRawFd::as_raw_fd).collect();
    let rights = [ControlMessage::ScmRights(&raw_fds)];
    let cmsgs: &[ControlMessage<'_>] = if raw_fds.is_empty() { &[] } else { &rights };
    let iov = [io::IoSlice::new(msg)];
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
            Ok(sent) if sent == msg.len() => return Ok(()),
            Ok(sent) => {
                return Err(io::Error::other(format!(
                    "short send: {sent} of {} bytes",
                    msg.len()
                )));
            }
        }
    }
}
