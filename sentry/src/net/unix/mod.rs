//! Unix domain sockets (unix(7)): SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, named
//! by filesystem paths or in the sandbox's abstract namespace, passing files
//! (SCM_RIGHTS) and credentials (SCM_CREDENTIALS).
//!
//! [`UnixSocket`] is the open file; the socket itself is an [`endpoint::Endpoint`],
//! which an accepted connection has before any file refers to it.

pub mod addr;
mod endpoint;
pub mod names;

use std::sync::Arc;

use self::addr::{Request, UnixAddr};
use self::endpoint::{Endpoint, Kind};
pub use self::names::Names;
use super::options::int_bytes;
use super::{Caller, Received, RecvRequest, SendRequest, Socket, Ucred};
use crate::abi::Timespec;
use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::WaitQueue;
use crate::kernel::Task;
use crate::vfs::{anon_dev, next_ino, File, FileOps, IoctlMemory, Stat};

/// SIOCINQ (FIONREAD) and SIOCOUTQ (TIOCOUTQ).
const SIOCINQ: u32 = 0x541b;
const SIOCOUTQ: u32 = 0x5411;

/// An open unix socket: the file over an endpoint. Dropping the last file closes the
/// endpoint.
pub struct UnixSocket {
    ep: Arc<Endpoint>,
    ino: u64,
    owner: (u32, u32),
    created: Timespec,
}

fn sockfs_dev() -> u64 {
    static DEV: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *DEV.get_or_init(anon_dev)
}

fn kind_of(ty: i32, protocol: i32) -> Result<Kind> {
    if protocol != 0 && protocol != libc::AF_UNIX {
        return Err(errno!(EPROTONOSUPPORT));
    }
    match ty {
        libc::SOCK_STREAM => Ok(Kind::Stream),
        // SOCK_RAW is a datagram socket in the unix family.
        libc::SOCK_DGRAM | libc::SOCK_RAW => Ok(Kind::Dgram),
        libc::SOCK_SEQPACKET => Ok(Kind::Seqpacket),
        _ => Err(errno!(ESOCKTNOSUPPORT)),
    }
}

impl UnixSocket {
    fn wrap(ep: Arc<Endpoint>, task_owner: (u32, u32)) -> Arc<UnixSocket> {
        Arc::new(UnixSocket {
            ep,
            ino: next_ino(),
            owner: task_owner,
            created: crate::kernel::time::realtime(),
        })
    }

    fn owner_of(task: &Task) -> (u32, u32) {
        (task.creds.fsuid, task.creds.fsgid)
    }

    /// socket(AF_UNIX, `ty`, `protocol`).
    pub fn create(task: &Task, ty: i32, protocol: i32) -> Result<Arc<dyn FileOps>> {
        let kind = kind_of(ty, protocol)?;
        let ep = Endpoint::new(kind, task.kernel.unix_names.clone());
        Ok(UnixSocket::wrap(ep, UnixSocket::owner_of(task)))
    }

    /// socketpair(AF_UNIX, `ty`, `protocol`).
    pub fn create_pair(
        task: &Task,
        ty: i32,
        protocol: i32,
    ) -> Result<(Arc<dyn FileOps>, Arc<dyn FileOps>)> {
        let kind = kind_of(ty, protocol)?;
        let cred = Caller::of(task).effective;
        let (a, b) = Endpoint::pair(kind, &task.kernel.unix_names, cred);
        let owner = UnixSocket::owner_of(task);
        Ok((UnixSocket::wrap(a, owner), UnixSocket::wrap(b, owner)))
    }

    fn parse_name(raw: &[u8]) -> Result<UnixAddr> {
        match addr::parse(raw)? {
            Request::Name(a) => Ok(a),
            Request::FamilyOnly => Err(errno!(EINVAL)),
        }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.ep.close();
    }
}

impl Socket for UnixSocket {
    fn family(&self) -> i32 {
        libc::AF_UNIX
    }

    fn sock_type(&self) -> i32 {
        self.ep.kind().sock_type()
    }

    fn bind(&self, task: &Task, raw: &[u8]) -> Result<()> {
        self.ep.bind(task, addr::parse(raw)?)
    }

    fn connect(&self, task: &Task, raw: &[u8], nonblocking: bool) -> Result<()> {
        if self.ep.kind() == Kind::Dgram
            && raw.len() >= addr::FAMILY_LEN
            && addr::family(raw) == libc::AF_UNSPEC
        {
            return self.ep.disconnect();
        }
        let a = UnixSocket::parse_name(raw)?;
        self.ep.connect(task, &Caller::of(task), &a, nonblocking)
    }

    fn listen(&self, task: &Task, backlog: i32) -> Result<()> {
        self.ep.listen(&Caller::of(task), backlog)
    }

    fn accept(&self, nonblocking: bool) -> Result<(Arc<dyn FileOps>, Vec<u8>)> {
        let ep = self.ep.accept(nonblocking)?;
        let peer = ep.peer_local().ok().flatten();
        let owner = crate::kernel::current_task()
            .and_then(|t| t.shared.view())
            .map_or(self.owner, |v| (v.creds.fsuid, v.creds.fsgid));
        Ok((UnixSocket::wrap(ep, owner), addr::to_raw(peer.as_ref())))
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        if !(libc::SHUT_RD..=libc::SHUT_RDWR).contains(&how) {
            return Err(errno!(EINVAL));
        }
        self.ep.shutdown((how + 1) as u8);
        Ok(())
    }

    fn local_address(&self) -> Vec<u8> {
        addr::to_raw(self.ep.local().as_ref())
    }

    fn peer_address(&self) -> Result<Vec<u8>> {
        Ok(addr::to_raw(self.ep.peer_local()?.as_ref()))
    }

    fn send(&self, task: Option<&Task>, req: SendRequest<'_>) -> Result<usize> {
        if req.flags & libc::MSG_OOB != 0 {
            return Err(errno!(EOPNOTSUPP));
        }
        let dest = match req.addr {
            Some(raw) if !raw.is_empty() => Some(UnixSocket::parse_name(raw)?),
            _ => None,
        };
        self.ep.send(
            task,
            &req.caller,
            req.data,
            dest.as_ref(),
            req.control,
            req.nonblocking,
        )
    }

    fn recv(&self, req: RecvRequest) -> Result<Received> {
        self.ep.recv(req)
    }

    fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        if level != libc::SOL_SOCKET {
            return Err(errno!(EOPNOTSUPP));
        }
        Ok(match name {
            libc::SO_TYPE => int_bytes(self.sock_type()),
            libc::SO_DOMAIN => int_bytes(libc::AF_UNIX),
            libc::SO_PROTOCOL => int_bytes(0),
            libc::SO_ERROR => int_bytes(self.ep.take_error()),
            libc::SO_ACCEPTCONN => int_bytes(self.ep.is_listening() as i32),
            libc::SO_PEERCRED => self
                .ep
                .peer_cred()
                .unwrap_or_else(Ucred::nobody)
                .to_bytes()
                .to_vec(),
            _ => self
                .ep
                .options()
                .get(name)
                .ok_or_else(|| errno!(ENOPROTOOPT))?,
        })
    }

    fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> Result<()> {
        if level != libc::SOL_SOCKET {
            return Err(errno!(EOPNOTSUPP));
        }
        match name {
            libc::SO_TYPE
            | libc::SO_DOMAIN
            | libc::SO_PROTOCOL
            | libc::SO_ERROR
            | libc::SO_ACCEPTCONN
            | libc::SO_PEERCRED => Err(errno!(ENOPROTOOPT)),
            _ => self.ep.set_options(|o| o.set(name, value)),
        }
    }
}

impl FileOps for UnixSocket {
    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        let got = self.ep.recv(RecvRequest {
            len: buf.len(),
            flags: 0,
            nonblocking: file.nonblocking(),
        })?;
        buf[..got.data.len()].copy_from_slice(&got.data);
        Ok(got.data.len())
    }

    fn write(&self, file: &File, buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        self.ep.send(
            None,
            &Caller::current(),
            buf,
            None,
            Default::default(),
            file.nonblocking(),
        )
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: sockfs_dev(),
            ino: self.ino,
            mode: libc::S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.owner.0,
            gid: self.owner.1,
            blksize: 4096,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Default::default()
        })
    }

    fn ioctl(&self, _file: &File, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        let n = match cmd {
            SIOCINQ => self.ep.unread()?,
            SIOCOUTQ => self.ep.unsent(),
            _ => return Err(errno!(ENOTTY)),
        };
        mem.copy_out(arg, &(n as i32).to_ne_bytes())?;
        Ok(0)
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.ep.wq)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.ep.readiness() & (mask | (libc::POLLERR | libc::POLLHUP) as u32)
    }

    fn can_splice_read(&self) -> bool {
        true
    }

    fn can_splice_write(&self) -> bool {
        true
    }

    fn as_socket(&self) -> Option<&dyn Socket> {
        Some(self)
    }
}
