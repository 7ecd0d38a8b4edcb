//! Sockets: the [`Socket`] operations every address family implements, and the
//! families the sentry has. Unix domain sockets ([`unix`]) are always the sentry's
//! own; other families are refused with EAFNOSUPPORT until the inet stack arrives.
//!
//! A socket is an open file like any other: its description's [`FileOps`] answers
//! read/write/poll/ioctl/fstat, and [`FileOps::as_socket`] gives the system calls that
//! only sockets have (bind, connect, sendmsg, …) their [`Socket`]. Addresses cross this
//! boundary as raw `struct sockaddr` bytes, so that each family parses its own and the
//! system call handlers stay family-agnostic.

pub mod options;
pub mod unix;

use std::sync::Arc;

use crate::errno;
use crate::errno::Result;
use crate::kernel::Task;
use crate::vfs::{File, FileOps};

/// `SOCK_*` types that the type argument of socket(2) may carry besides flags.
pub const SOCK_TYPE_MASK: i32 = 0xf;
/// The largest `struct sockaddr` (sizeof `struct sockaddr_storage`).
pub const SOCKADDR_MAX: usize = 128;
/// The most fds one SCM_RIGHTS message may carry (SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;
/// Families are numbered below this (AF_MAX).
const AF_MAX: i32 = 46;
/// The highest socket type number (SOCK_PACKET, which `libc` marks deprecated).
const SOCK_TYPE_MAX: i32 = 10;

/// The credentials a message carries (`struct ucred`), as SCM_CREDENTIALS and
/// SO_PEERCRED report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Ucred {
    /// As the 12 bytes of `struct ucred`.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.pid.to_ne_bytes());
        b[4..8].copy_from_slice(&self.uid.to_ne_bytes());
        b[8..].copy_from_slice(&self.gid.to_ne_bytes());
        b
    }

    /// What SO_PEERCRED reports for a socket without a peer: no pid, the overflow ids.
    pub fn nobody() -> Ucred {
        Ucred {
            pid: 0,
            uid: 65534,
            gid: 65534,
        }
    }
}

/// Who is sending or connecting: the credentials messages and connections record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's process id, real user and group (SCM_CREDENTIALS).
    pub real: Ucred,
    /// The caller's process id, effective user and group (SO_PEERCRED).
    pub effective: Ucred,
}

impl Caller {
    /// The caller of a system call.
    pub fn of(task: &Task) -> Caller {
        let c = &task.creds;
        Caller {
            real: Ucred {
                pid: task.pid(),
                uid: c.uid,
                gid: c.gid,
            },
            effective: Ucred {
                pid: task.pid(),
                uid: c.euid,
                gid: c.egid,
            },
        }
    }

    /// The task this host thread runs (for read(2) and write(2), which reach a socket
    /// through [`FileOps`] without the task).
    pub fn current() -> Caller {
        let Some(t) = crate::kernel::current_task() else {
            return Caller {
                real: Ucred::default(),
                effective: Ucred::default(),
            };
        };
        let pid = t.tg.tgid;
        let creds = t.shared.view().map(|v| v.creds);
        let id = |f: fn(&crate::kernel::creds::Credentials) -> (u32, u32)| {
            let (uid, gid) = creds.as_ref().map_or((0, 0), f);
            Ucred { pid, uid, gid }
        };
        Caller {
            real: id(|c| (c.uid, c.gid)),
            effective: id(|c| (c.euid, c.egid)),
        }
    }
}

/// Ancillary data of one message (SCM_RIGHTS and SCM_CREDENTIALS).
#[derive(Default)]
pub struct Control {
    /// Open files passed along.
    pub rights: Vec<Arc<File>>,
    /// Credentials the sender stated (checked by the caller); None: the sender's own.
    pub creds: Option<Ucred>,
}

/// One sendmsg(2).
pub struct SendRequest<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// The destination (`msg_name`), raw.
    pub addr: Option<&'a [u8]>,
    /// Ancillary data.
    pub control: Control,
    /// `MSG_*` flags.
    pub flags: i32,
    /// O_NONBLOCK or MSG_DONTWAIT.
    pub nonblocking: bool,
    /// Who sends.
    pub caller: Caller,
}

/// One recvmsg(2).
#[derive(Clone, Copy, Debug)]
pub struct RecvRequest {
    /// Room for data.
    pub len: usize,
    /// `MSG_*` flags.
    pub flags: i32,
    /// O_NONBLOCK or MSG_DONTWAIT.
    pub nonblocking: bool,
}

/// What one recvmsg(2) got.
#[derive(Default)]
pub struct Received {
    /// The bytes (at most the request's `len`).
    pub data: Vec<u8>,
    /// The whole message's length (more than `data` when a datagram was truncated).
    pub full_len: usize,
    /// The sender's address, raw (None: the sender has none).
    pub addr: Option<Vec<u8>>,
    /// Files passed along.
    pub rights: Vec<Arc<File>>,
    /// The sender's credentials, when the receiver asked for them (SO_PASSCRED).
    pub creds: Option<Ucred>,
    /// `MSG_*` flags for `msg_flags` (MSG_TRUNC).
    pub flags: i32,
}

/// The operations only sockets have. Implemented by each address family's socket,
/// whose [`FileOps`] returns it from [`FileOps::as_socket`].
pub trait Socket: Send + Sync {
    /// AF_* family.
    fn family(&self) -> i32;
    /// SOCK_* type.
    fn sock_type(&self) -> i32;
    /// Protocol number.
    fn protocol(&self) -> i32 {
        0
    }
    /// bind(2) to the raw address `addr`.
    fn bind(&self, task: &Task, addr: &[u8]) -> Result<()>;
    /// connect(2) to the raw address `addr`.
    fn connect(&self, task: &Task, addr: &[u8], nonblocking: bool) -> Result<()>;
    /// listen(2).
    fn listen(&self, task: &Task, backlog: i32) -> Result<()>;
    /// accept(2): the connection's socket and the peer's raw address.
    fn accept(&self, nonblocking: bool) -> Result<(Arc<dyn FileOps>, Vec<u8>)>;
    /// shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR (already checked).
    fn shutdown(&self, how: i32) -> Result<()>;
    /// getsockname(2): the raw local address.
    fn local_address(&self) -> Vec<u8>;
    /// getpeername(2): the raw peer address (ENOTCONN).
    fn peer_address(&self) -> Result<Vec<u8>>;
    /// sendmsg(2): how many bytes were sent. `task` resolves a destination path
    /// (None from write(2), which has no destination).
    fn send(&self, task: Option<&Task>, req: SendRequest<'_>) -> Result<usize>;
    /// recvmsg(2).
    fn recv(&self, req: RecvRequest) -> Result<Received>;
    /// getsockopt(2): the option's value (the caller truncates it to the guest's length).
    fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>>;
    /// setsockopt(2).
    fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> Result<()>;
}

/// The `SOCK_*` type and flags of socket(2)/socketpair(2)'s type argument: (type,
/// O_NONBLOCK status flag, close-on-exec). EINVAL for unknown flags.
pub fn split_type(ty: i32) -> Result<(i32, u32, bool)> {
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(errno!(EINVAL));
    }
    let nonblock = if flags & libc::SOCK_NONBLOCK != 0 {
        libc::O_NONBLOCK as u32
    } else {
        0
    };
    Ok((
        ty & SOCK_TYPE_MASK,
        nonblock,
        flags & libc::SOCK_CLOEXEC != 0,
    ))
}

/// Checks the type argument of socket(2)/socketpair(2) the way Linux does before it
/// looks at the family: a type outside SOCK_STREAM..=SOCK_PACKET is EINVAL.
fn check_type(ty: i32) -> Result<()> {
    if !(libc::SOCK_STREAM..=SOCK_TYPE_MAX).contains(&ty) {
        return Err(errno!(EINVAL));
    }
    Ok(())
}

/// socket(2): a new socket of `family`, `ty` (without flags) and `protocol`.
pub fn create(task: &Task, family: i32, ty: i32, protocol: i32) -> Result<Arc<dyn FileOps>> {
    check_type(ty)?;
    if !(0..AF_MAX).contains(&family) {
        return Err(errno!(EAFNOSUPPORT));
    }
    match family {
        libc::AF_UNIX => unix::UnixSocket::create(task, ty, protocol),
        // AF_INET, AF_INET6, AF_NETLINK, AF_PACKET and the rest: not yet.
        _ => Err(errno!(EAFNOSUPPORT, "address family {family}")),
    }
}

/// socketpair(2): two connected sockets.
pub fn create_pair(
    task: &Task,
    family: i32,
    ty: i32,
    protocol: i32,
) -> Result<(Arc<dyn FileOps>, Arc<dyn FileOps>)> {
    check_type(ty)?;
    if !(0..AF_MAX).contains(&family) {
        return Err(errno!(EAFNOSUPPORT));
    }
    match family {
        libc::AF_UNIX => unix::UnixSocket::create_pair(task, ty, protocol),
        _ => Err(errno!(EAFNOSUPPORT, "address family {family}")),
    }
}
