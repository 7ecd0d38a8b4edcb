//! Socket system calls: socket, socketpair, bind, connect, listen, accept, the
//! send and receive calls, shutdown and socket options. Each finds the socket behind
//! its fd ([`FileOps::as_socket`], ENOTSOCK otherwise) and moves addresses, data and
//! ancillary data between guest memory and the family's [`Socket`], which knows
//! nothing of the guest's buffers.

use std::sync::Arc;
use std::time::Instant;

use sentry::abi::{Iovec, MmsgHdr, MsgHdr, Timespec};
use sentry::bail;
use sentry::errno::Result;
use sentry::kernel::Task;
use sentry::net::{self, Caller, Control, Received, RecvRequest, SendRequest, Socket, Ucred};
use sentry::vfs::{File, FileOps};

use crate::fs::{read_iovecs, sigpipe_on_epipe, MAX_RW_COUNT};

/// Most iovecs in one message (UIO_MAXIOV), and most messages in one sendmmsg.
const UIO_MAXIOV: u64 = 1024;
/// `sizeof(struct cmsghdr)` and the alignment of control messages.
const CMSG_HDR: usize = 16;
const CMSG_ALIGN: usize = 8;
/// SCM_RIGHTS and SCM_CREDENTIALS.
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// Offsets of the fields recvmsg writes back into `struct msghdr`.
const MSG_NAMELEN_OFF: u64 = 8;
const MSG_CONTROLLEN_OFF: u64 = 40;
const MSG_FLAGS_OFF: u64 = 48;
/// Offset of `msg_len` in `struct mmsghdr`.
const MMSG_LEN_OFF: u64 = 56;

fn nofile_limit(task: &Task) -> u64 {
    task.tg.limit(libc::RLIMIT_NOFILE)
}

/// The file behind `fd`, which must be a socket (EBADF, ENOTSOCK).
fn socket_file(task: &Task, fd: i32) -> Result<Arc<File>> {
    let file = task.files.get(fd)?;
    if file.ops().as_socket().is_none() {
        bail!(ENOTSOCK);
    }
    Ok(file)
}

fn sock(file: &File) -> &dyn Socket {
    file.ops().as_socket().expect("socket_file checked")
}

/// Reads a socket address argument (EINVAL for a negative or oversized length).
fn read_addr(task: &Task, addr: u64, len: i32) -> Result<Vec<u8>> {
    if len < 0 || len as usize > net::SOCKADDR_MAX {
        bail!(EINVAL);
    }
    task.mm.read_bytes(addr, len as usize)
}

/// The room the guest gave for an address (`*len_ptr`), checked before the call
/// that produces the address (EFAULT, EINVAL for a negative length). None: no room
/// asked for (a null address).
fn addr_room(task: &Task, addr: u64, len_ptr: u64) -> Result<Option<usize>> {
    if addr == 0 {
        return Ok(None);
    }
    let len: i32 = task.mm.read_obj(len_ptr)?;
    if len < 0 {
        bail!(EINVAL);
    }
    Ok(Some(len as usize))
}

/// Copies an address out as Linux's move_addr_to_user does: truncated to the room,
/// with its full length stored at `len_ptr`.
fn write_addr(task: &Task, addr: u64, len_ptr: u64, room: usize, raw: &[u8]) -> Result<()> {
    let n = room.min(raw.len());
    task.mm.copy_out(addr, &raw[..n])?;
    task.mm.write_obj(len_ptr, &(raw.len() as u32))
}

fn install(task: &Task, ops: Arc<dyn FileOps>, status: u32, cloexec: bool) -> Result<i32> {
    let file = File::new(ops, libc::O_RDWR as u32 | status, None);
    task.files.install(file, cloexec, 0, nofile_limit(task))
}

pub fn socket(task: &mut Task, family: i32, ty: i32, protocol: i32) -> Result<u64> {
    let (ty, status, cloexec) = net::split_type(ty)?;
    let ops = net::create(task, family, ty, protocol)?;
    Ok(install(task, ops, status, cloexec)? as u64)
}

pub fn socketpair(task: &mut Task, family: i32, ty: i32, protocol: i32, sv: u64) -> Result<u64> {
    let (ty, status, cloexec) = net::split_type(ty)?;
    let (a, b) = net::create_pair(task, family, ty, protocol)?;
    let fa = install(task, a, status, cloexec)?;
    let fb = match install(task, b, status, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.files.remove(fa);
            return Err(e);
        }
    };
    if let Err(e) = task.mm.write_obj(sv, &[fa, fb]) {
        let _ = task.files.remove(fa);
        let _ = task.files.remove(fb);
        return Err(e);
    }
    Ok(0)
}

pub fn bind(task: &mut Task, fd: i32, addr: u64, len: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let raw = read_addr(task, addr, len)?;
    sock(&file).bind(task, &raw)?;
    Ok(0)
}

pub fn connect(task: &mut Task, fd: i32, addr: u64, len: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let raw = read_addr(task, addr, len)?;
    sock(&file).connect(task, &raw, file.nonblocking())?;
    Ok(0)
}

pub fn listen(task: &mut Task, fd: i32, backlog: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    sock(&file).listen(task, backlog)?;
    Ok(0)
}

pub fn accept(task: &mut Task, fd: i32, addr: u64, len_ptr: u64) -> Result<u64> {
    accept4(task, fd, addr, len_ptr, 0)
}

pub fn accept4(task: &mut Task, fd: i32, addr: u64, len_ptr: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        bail!(EINVAL);
    }
    let file = socket_file(task, fd)?;
    let room = addr_room(task, addr, len_ptr)?;
    let (ops, peer) = sock(&file).accept(file.nonblocking())?;
    let status = if flags & libc::SOCK_NONBLOCK != 0 {
        libc::O_NONBLOCK as u32
    } else {
        0
    };
    let newfd = install(task, ops, status, flags & libc::SOCK_CLOEXEC != 0)?;
    if let Some(room) = room {
        if let Err(e) = write_addr(task, addr, len_ptr, room, &peer) {
            let _ = task.files.remove(newfd);
            return Err(e);
        }
    }
    Ok(newfd as u64)
}

fn do_getname(task: &Task, fd: i32, addr: u64, len_ptr: u64, peer: bool) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let len: i32 = task.mm.read_obj(len_ptr)?;
    if len < 0 {
        bail!(EINVAL);
    }
    let raw = if peer {
        sock(&file).peer_address()?
    } else {
        sock(&file).local_address()
    };
    write_addr(task, addr, len_ptr, len as usize, &raw)?;
    Ok(0)
}

pub fn getsockname(task: &mut Task, fd: i32, addr: u64, len_ptr: u64) -> Result<u64> {
    do_getname(task, fd, addr, len_ptr, false)
}

pub fn getpeername(task: &mut Task, fd: i32, addr: u64, len_ptr: u64) -> Result<u64> {
    do_getname(task, fd, addr, len_ptr, true)
}

pub fn shutdown(task: &mut Task, fd: i32, how: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    sock(&file).shutdown(how)?;
    Ok(0)
}

pub fn setsockopt(
    task: &mut Task,
    fd: i32,
    level: i32,
    name: i32,
    val: u64,
    len: i32,
) -> Result<u64> {
    let file = socket_file(task, fd)?;
    if len < 0 {
        bail!(EINVAL);
    }
    let value = task.mm.read_bytes(val, (len as usize).min(4096))?;
    sock(&file).setsockopt(level, name, &value)?;
    Ok(0)
}

pub fn getsockopt(
    task: &mut Task,
    fd: i32,
    level: i32,
    name: i32,
    val: u64,
    len_ptr: u64,
) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let len: i32 = task.mm.read_obj(len_ptr)?;
    if len < 0 {
        bail!(EINVAL);
    }
    let value = sock(&file).getsockopt(level, name)?;
    let n = value.len().min(len as usize);
    task.mm.copy_out(val, &value[..n])?;
    task.mm.write_obj(len_ptr, &(n as u32))?;
    Ok(0)
}

// --- sending ---

/// Decodes SCM_RIGHTS and SCM_CREDENTIALS from a sendmsg control buffer.
fn read_control(task: &Task, addr: u64, len: u64) -> Result<Control> {
    let mut control = Control::default();
    if len == 0 {
        return Ok(control);
    }
    if len > i32::MAX as u64 {
        bail!(ENOBUFS);
    }
    let buf = task.mm.read_bytes(addr, len as usize)?;
    let mut off = 0;
    while off + CMSG_HDR <= buf.len() {
        let word = |at: usize| u64::from_ne_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
        let int = |at: usize| i32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
        let cmsg_len = word(off);
        if cmsg_len < CMSG_HDR as u64 || cmsg_len > (buf.len() - off) as u64 {
            bail!(EINVAL);
        }
        let cmsg_len = cmsg_len as usize;
        let (level, ty) = (int(off + 8), int(off + 12));
        let data = off + CMSG_HDR..off + cmsg_len;
        if level == libc::SOL_SOCKET {
            match ty {
                SCM_RIGHTS => {
                    for at in data.step_by(4).filter(|at| at + 4 <= off + cmsg_len) {
                        if control.rights.len() >= net::SCM_MAX_FD {
                            bail!(EINVAL);
                        }
                        control.rights.push(task.files.get(int(at))?);
                    }
                }
                SCM_CREDENTIALS => {
                    if cmsg_len != CMSG_HDR + 12 {
                        bail!(EINVAL);
                    }
                    let cred = Ucred {
                        pid: int(data.start),
                        uid: int(data.start + 4) as u32,
                        gid: int(data.start + 8) as u32,
                    };
                    check_creds(task, cred)?;
                    control.creds = Some(cred);
                }
                _ => bail!(EINVAL),
            }
        }
        off += cmsg_len.next_multiple_of(CMSG_ALIGN);
    }
    Ok(control)
}

/// Credentials a sender may state: its own pid and one of its user and group ids,
/// unless it holds CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID respectively (EPERM).
fn check_creds(task: &Task, cred: Ucred) -> Result<()> {
    use sentry::kernel::caps::{CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN};
    let c = &task.creds;
    let pid_ok = cred.pid == task.pid() || c.capable(CAP_SYS_ADMIN);
    let uid_ok = [c.uid, c.euid, c.suid].contains(&cred.uid) || c.capable(CAP_SETUID);
    let gid_ok = [c.gid, c.egid, c.sgid].contains(&cred.gid) || c.capable(CAP_SETGID);
    if !(pid_ok && uid_ok && gid_ok) {
        bail!(EPERM);
    }
    Ok(())
}

fn message_iovecs(task: &Task, iov: u64, iovlen: u64) -> Result<Vec<Iovec>> {
    if iovlen > UIO_MAXIOV {
        bail!(EMSGSIZE);
    }
    read_iovecs(task, iov, iovlen as i32)
}

fn gather(task: &Task, iovs: &[Iovec]) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    for v in iovs.iter().filter(|v| v.len > 0) {
        let n = (v.len as usize).min(MAX_RW_COUNT - data.len());
        data.extend(task.mm.read_bytes(v.base, n)?);
        if data.len() == MAX_RW_COUNT {
            break;
        }
    }
    Ok(data)
}

/// Sends and raises SIGPIPE on EPIPE, unless MSG_NOSIGNAL.
fn send_and_signal(
    task: &mut Task,
    file: &File,
    data: &[u8],
    addr: Option<&[u8]>,
    control: Control,
    flags: i32,
) -> Result<u64> {
    let req = SendRequest {
        data,
        addr,
        control,
        flags,
        nonblocking: file.nonblocking() || flags & libc::MSG_DONTWAIT != 0,
        caller: Caller::of(task),
    };
    let r = sock(file).send(Some(task), req);
    let r = if flags & libc::MSG_NOSIGNAL != 0 {
        r
    } else {
        sigpipe_on_epipe(task, r)
    };
    r.map(|n| n as u64)
}

#[allow(clippy::too_many_arguments)]
pub fn sendto(
    task: &mut Task,
    fd: i32,
    buf: u64,
    len: usize,
    flags: i32,
    addr: u64,
    addrlen: i32,
) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let data = task.mm.read_bytes(buf, len.min(MAX_RW_COUNT))?;
    let raw = if addr != 0 && addrlen != 0 {
        Some(read_addr(task, addr, addrlen)?)
    } else {
        None
    };
    send_and_signal(
        task,
        &file,
        &data,
        raw.as_deref(),
        Control::default(),
        flags,
    )
}

fn do_sendmsg(task: &mut Task, file: &File, msg_addr: u64, flags: i32) -> Result<u64> {
    let msg: MsgHdr = task.mm.read_obj(msg_addr)?;
    let raw = if msg.name != 0 && msg.namelen != 0 {
        Some(read_addr(task, msg.name, msg.namelen as i32)?)
    } else {
        None
    };
    let iovs = message_iovecs(task, msg.iov, msg.iovlen)?;
    let data = gather(task, &iovs)?;
    let control = read_control(task, msg.control, msg.controllen)?;
    send_and_signal(task, file, &data, raw.as_deref(), control, flags)
}

pub fn sendmsg(task: &mut Task, fd: i32, msg: u64, flags: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    do_sendmsg(task, &file, msg, flags)
}

pub fn sendmmsg(task: &mut Task, fd: i32, msgvec: u64, vlen: u32, flags: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let vlen = (vlen as u64).min(UIO_MAXIOV);
    let mut sent = 0;
    while sent < vlen {
        let entry = msgvec + sent * std::mem::size_of::<MmsgHdr>() as u64;
        match do_sendmsg(task, &file, entry, flags) {
            Ok(n) => task.mm.write_obj(entry + MMSG_LEN_OFF, &(n as u32))?,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
        sent += 1;
    }
    Ok(sent)
}

// --- receiving ---

fn recv_request(file: &File, len: usize, flags: i32) -> RecvRequest {
    RecvRequest {
        len: len.min(MAX_RW_COUNT),
        flags,
        nonblocking: file.nonblocking() || flags & libc::MSG_DONTWAIT != 0,
    }
}

/// Copies received bytes into the guest's iovecs.
fn scatter(task: &Task, iovs: &[Iovec], data: &[u8]) -> Result<()> {
    let mut done = 0;
    for v in iovs {
        if done == data.len() {
            break;
        }
        let n = (v.len as usize).min(data.len() - done);
        task.mm.copy_out(v.base, &data[done..done + n])?;
        done += n;
    }
    Ok(())
}

/// What recv returns: the bytes received, or the whole datagram's length for
/// MSG_TRUNC.
fn recv_result(got: &Received, flags: i32) -> u64 {
    if flags & libc::MSG_TRUNC != 0 {
        got.full_len as u64
    } else {
        got.data.len() as u64
    }
}

pub fn recvfrom(
    task: &mut Task,
    fd: i32,
    buf: u64,
    len: usize,
    flags: i32,
    addr: u64,
    len_ptr: u64,
) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let room = addr_room(task, addr, len_ptr)?;
    let req = recv_request(&file, len, flags);
    if req.len > 0 && task.mm.writable_prefix(buf, req.len) < req.len {
        bail!(EFAULT);
    }
    let got = sock(&file).recv(req)?;
    task.mm.copy_out(buf, &got.data)?;
    if let Some(room) = room {
        write_addr(
            task,
            addr,
            len_ptr,
            room,
            got.addr.as_deref().unwrap_or(&[]),
        )?;
    }
    // Files passed along are closed: recvfrom has no control buffer for them.
    Ok(recv_result(&got, flags))
}

/// Appends one control message to `out`, truncated (MSG_CTRUNC) to the room left in
/// a control buffer of `cap` bytes.
fn put_cmsg(out: &mut Vec<u8>, cap: usize, ty: i32, data: &[u8], flags: &mut i32) {
    let room = cap.saturating_sub(out.len());
    if room < CMSG_HDR {
        *flags |= libc::MSG_CTRUNC;
        return;
    }
    let mut m = ((CMSG_HDR + data.len()) as u64).to_ne_bytes().to_vec();
    m.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(data);
    if m.len() > room {
        *flags |= libc::MSG_CTRUNC;
        m.truncate(room);
    }
    let space = (CMSG_HDR + data.len())
        .next_multiple_of(CMSG_ALIGN)
        .min(room);
    m.resize(space, 0);
    out.extend_from_slice(&m);
}

/// Builds the control data recvmsg returns into a buffer of `cap` bytes: the
/// sender's credentials, then as many passed files as fit, installed as new fds.
/// Returns the bytes and the MSG_CTRUNC flag if something did not fit.
fn build_control(task: &Task, got: &mut Received, cap: usize, cloexec: bool) -> (Vec<u8>, i32) {
    let mut out = Vec::new();
    let mut flags = 0;
    if let Some(c) = got.creds {
        put_cmsg(&mut out, cap, SCM_CREDENTIALS, &c.to_bytes(), &mut flags);
    }
    if !got.rights.is_empty() {
        let total = got.rights.len();
        let fit = cap.saturating_sub(out.len()).saturating_sub(CMSG_HDR) / 4;
        let mut fds: Vec<u8> = Vec::new();
        // Files that do not fit, or find no free fd, are closed.
        for file in got.rights.drain(..).take(fit) {
            match task.files.install(file, cloexec, 0, nofile_limit(task)) {
                Ok(fd) => fds.extend_from_slice(&fd.to_ne_bytes()),
                Err(_) => break,
            }
        }
        got.rights.clear();
        if fds.len() / 4 < total {
            flags |= libc::MSG_CTRUNC;
        }
        if !fds.is_empty() {
            put_cmsg(&mut out, cap, SCM_RIGHTS, &fds, &mut flags);
        }
    }
    (out, flags)
}

/// recvmsg of one message header at `msg_addr`: the value recvmsg returns.
fn do_recvmsg(task: &mut Task, file: &File, msg_addr: u64, flags: i32) -> Result<u64> {
    let msg: MsgHdr = task.mm.read_obj(msg_addr)?;
    if (msg.namelen as i32) < 0 {
        bail!(EINVAL);
    }
    let iovs = message_iovecs(task, msg.iov, msg.iovlen)?;
    let total = iovs.iter().map(|v| v.len as usize).sum::<usize>();
    // A buffer the guest cannot write is EFAULT before anything is taken from the queue.
    if iovs
        .iter()
        .any(|v| v.len > 0 && task.mm.writable_prefix(v.base, v.len as usize) < v.len as usize)
    {
        bail!(EFAULT);
    }
    let mut got = sock(file).recv(recv_request(file, total, flags))?;
    scatter(task, &iovs, &got.data)?;
    if msg.name != 0 {
        let raw = got.addr.as_deref().unwrap_or(&[]);
        let n = (msg.namelen as usize).min(raw.len());
        task.mm.copy_out(msg.name, &raw[..n])?;
        task.mm
            .write_obj(msg_addr + MSG_NAMELEN_OFF, &(raw.len() as u32))?;
    }
    let cap = if msg.control == 0 {
        0
    } else {
        msg.controllen.min(i32::MAX as u64) as usize
    };
    let cloexec = flags & libc::MSG_CMSG_CLOEXEC != 0;
    let (control, ctrunc) = build_control(task, &mut got, cap, cloexec);
    task.mm.copy_out(msg.control, &control)?;
    task.mm
        .write_obj(msg_addr + MSG_CONTROLLEN_OFF, &(control.len() as u64))?;
    task.mm
        .write_obj(msg_addr + MSG_FLAGS_OFF, &(got.flags | ctrunc))?;
    Ok(recv_result(&got, flags))
}

pub fn recvmsg(task: &mut Task, fd: i32, msg: u64, flags: i32) -> Result<u64> {
    let file = socket_file(task, fd)?;
    do_recvmsg(task, &file, msg, flags)
}

pub fn recvmmsg(
    task: &mut Task,
    fd: i32,
    msgvec: u64,
    vlen: u32,
    flags: i32,
    timeout: u64,
) -> Result<u64> {
    let file = socket_file(task, fd)?;
    let deadline = if timeout != 0 {
        let ts: Timespec = task.mm.read_obj(timeout)?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            bail!(EINVAL);
        }
        Some(Instant::now() + std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    } else {
        None
    };
    let vlen = (vlen as u64).min(UIO_MAXIOV);
    let mut got = 0;
    let mut flags = flags;
    while got < vlen {
        let entry = msgvec + got * std::mem::size_of::<MmsgHdr>() as u64;
        match do_recvmsg(task, &file, entry, flags & !libc::MSG_WAITFORONE) {
            Ok(n) => task.mm.write_obj(entry + MMSG_LEN_OFF, &(n as u32))?,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        got += 1;
        if flags & libc::MSG_WAITFORONE != 0 {
            flags |= libc::MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    Ok(got)
}

/// readv(2) on a socket: one receive scattered over the vector (a datagram is not
/// split into one per iovec).
pub(crate) fn readv_socket(task: &Task, file: &File, iovs: &[Iovec]) -> Result<u64> {
    let total = iovs.iter().map(|v| v.len as usize).sum::<usize>();
    let got = sock(file).recv(recv_request(file, total, 0))?;
    scatter(task, iovs, &got.data)?;
    Ok(got.data.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_message_is_cut_to_the_room_left_and_flagged() {
        let mut out = Vec::new();
        let mut flags = 0;
        put_cmsg(&mut out, 20, SCM_CREDENTIALS, &[7; 12], &mut flags);
        assert_eq!(out.len(), 20);
        assert_eq!(flags, libc::MSG_CTRUNC);
        let mut out = Vec::new();
        let mut flags = 0;
        put_cmsg(&mut out, 64, SCM_CREDENTIALS, &[7; 12], &mut flags);
        assert_eq!(out.len(), 32);
        assert_eq!(u64::from_ne_bytes(out[..8].try_into().unwrap()), 28);
        assert_eq!(flags, 0);
    }

    #[test]
    fn no_room_for_a_header_writes_nothing() {
        let mut out = Vec::new();
        let mut flags = 0;
        put_cmsg(&mut out, 15, SCM_RIGHTS, &[0; 4], &mut flags);
        assert!(out.is_empty());
        assert_eq!(flags, libc::MSG_CTRUNC);
    }
}
