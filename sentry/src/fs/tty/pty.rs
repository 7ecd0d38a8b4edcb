//! Pseudo-terminal pairs: the master (from /dev/ptmx) and the replica (/dev/pts/N),
//! joined by one line discipline.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use zerocopy::{FromBytes, IntoBytes};

use super::devpts::DevPts;
use super::ldisc::{Effects, LineDiscipline};
use super::Tty;
use crate::abi::{Termios, Timespec, Winsize};
use crate::errno;
use crate::errno::Result;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::{makedev, File, FileOps, IoctlMemory, Stat};

/// Major device number of unix98 pty replicas.
pub const REPLICA_MAJOR: u32 = 136;
/// The tty group devpts gives replicas (gid=5, as distributions mount it).
pub const TTY_GID: u32 = 5;

const TCGETS2: u32 = 0x802c_542a;
const TCSETS2: u32 = 0x402c_542b;
const TCSETSW2: u32 = 0x402c_542c;
const TCSETSF2: u32 = 0x402c_542d;
const TIOCGPTLCK: u32 = 0x8004_5439;
const TIOCGPTPEER: libc::c_ulong = 0x5441;
const TCOOFF: u64 = 0;
const TCOON: u64 = 1;
const TCIOFF: u64 = 2;
const TCION: u64 = 3;

/// `struct termios2`: termios with the speeds.
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, zerocopy::Immutable)]
#[repr(C)]
struct Termios2 {
    t: Termios,
    ispeed: u32,
    ospeed: u32,
}

struct State {
    ld: LineDiscipline,
    /// TIOCSPTLCK: the replica cannot be opened while locked.
    locked: bool,
    /// Open replica files.
    replicas: usize,
    /// Whether a replica was ever opened (the master then reads EIO once none is).
    replica_opened: bool,
    /// The master was closed: the replica is hung up.
    master_closed: bool,
}

/// One pseudo-terminal pair.
///
/// Lock order: `state` alone; signals and wake-ups happen after it is released.
pub struct Pty {
    index: u32,
    tty: Arc<Tty>,
    state: Mutex<State>,
    /// Readers, writers and pollers of both sides.
    changed: WaitQueue,
    devpts: Arc<DevPts>,
    uid: u32,
    created: Timespec,
}

impl Pty {
    /// A new pair numbered `index` in `devpts`, its replica owned by `uid`.
    pub fn new(devpts: Arc<DevPts>, index: u32, uid: u32) -> Arc<Pty> {
        let kernel = crate::kernel::current_task()
            .map(|c| Arc::downgrade(&c.kernel))
            .unwrap_or_default();
        Arc::new_cyclic(|me: &Weak<Pty>| Pty {
            index,
            tty: Tty::new_pty(kernel, makedev(REPLICA_MAJOR, index), me.clone()),
            state: Mutex::new(State {
                ld: LineDiscipline::default(),
                locked: true,
                replicas: 0,
                replica_opened: false,
                master_closed: false,
            }),
            changed: WaitQueue::default(),
            devpts,
            uid,
            created: crate::kernel::time::realtime(),
        })
    }

    /// Its number (the N of /dev/pts/N).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The replica's attributes (/dev/pts/N).
    pub fn replica_stat(&self) -> Stat {
        Stat {
            dev: self.devpts.dev(),
            ino: u64::from(self.index) + 3,
            mode: libc::S_IFCHR | 0o620,
            nlink: 1,
            uid: self.uid,
            gid: TTY_GID,
            rdev: makedev(REPLICA_MAJOR, self.index),
            blksize: 1024,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Default::default()
        }
    }

    /// Opens the replica (EIO while locked or once the master is gone); without
    /// O_NOCTTY a session leader with no controlling terminal acquires it.
    pub fn open_replica(self: &Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        {
            let mut s = self.state.lock();
            if s.locked || s.master_closed {
                return Err(errno!(EIO));
            }
            s.replicas += 1;
            s.replica_opened = true;
        }
        self.changed.notify_all();
        self.tty.open_acquire(flags);
        Ok(Arc::new(ReplicaFile { pty: self.clone() }))
    }

    fn signal(&self, fx: Effects) {
        for sig in fx.signals {
            self.tty.signal_foreground(sig);
        }
    }

    /// The ioctls both sides answer alike; None for others.
    fn common_ioctl(&self, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Option<Result<u64>> {
        let r = match cmd as libc::c_ulong {
            libc::TIOCGWINSZ => mem.copy_out(arg, self.state.lock().ld.winsize.as_bytes()),
            libc::TIOCSWINSZ => {
                let mut ws = Winsize::default();
                if let Err(e) = mem.copy_in(arg, ws.as_mut_bytes()) {
                    return Some(Err(e));
                }
                let changed = {
                    let mut s = self.state.lock();
                    let old = std::mem::replace(&mut s.ld.winsize, ws);
                    old.as_bytes() != ws.as_bytes()
                };
                if changed {
                    self.tty.signal_foreground(libc::SIGWINCH);
                }
                Ok(())
            }
            libc::TCSBRK | libc::TCSBRKP => Ok(()),
            libc::TIOCOUTQ => {
                // As Linux's ptys: nothing is ever held in a driver buffer.
                mem.copy_out(arg, &0i32.to_ne_bytes())
            }
            _ => return None,
        };
        Some(r.map(|()| 0))
    }

    /// TCFLSH: `input` is what this side reads, `output` what it wrote.
    fn flush(&self, which: u64, master: bool) -> Result<u64> {
        let (inq, outq) = match which as i32 {
            libc::TCIFLUSH => (true, false),
            libc::TCOFLUSH => (false, true),
            libc::TCIOFLUSH => (true, true),
            _ => return Err(errno!(EINVAL)),
        };
        {
            let mut s = self.state.lock();
            // The master reads the replica's output and writes its input.
            let (flush_in, flush_out) = if master { (outq, inq) } else { (inq, outq) };
            if flush_in {
                s.ld.flush_input();
            }
            if flush_out {
                s.ld.flush_output();
            }
        }
        self.changed.notify_all();
        Ok(0)
    }

    fn get_termios(&self, master: bool, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        let s = self.state.lock();
        let t = if master {
            s.ld.master_termios
        } else {
            s.ld.termios
        };
        drop(s);
        if cmd == TCGETS2 {
            let t2 = Termios2 {
                t,
                ispeed: 38400,
                ospeed: 38400,
            };
            mem.copy_out(arg, t2.as_bytes())?;
        } else {
            mem.copy_out(arg, t.as_bytes())?;
        }
        Ok(0)
    }

    fn set_termios(&self, master: bool, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        let mut t = Termios::default();
        if matches!(cmd, TCSETS2 | TCSETSW2 | TCSETSF2) {
            let mut t2 = Termios2::default();
            mem.copy_in(arg, t2.as_mut_bytes())?;
            t = t2.t;
        } else {
            mem.copy_in(arg, t.as_mut_bytes())?;
        }
        let flush = matches!(cmd as libc::c_ulong, libc::TCSETSF) || cmd == TCSETSF2;
        let mut fx = Effects::default();
        {
            let mut s = self.state.lock();
            if master {
                s.ld.master_termios = t;
            } else {
                if flush {
                    s.ld.flush_input();
                }
                s.ld.set_termios(t);
                s.ld.process_pending(&mut fx);
            }
        }
        self.changed.notify_all();
        self.signal(fx);
        Ok(0)
    }

    fn is_termios_get(cmd: u32) -> bool {
        cmd as libc::c_ulong == libc::TCGETS || cmd == TCGETS2
    }

    fn is_termios_set(cmd: u32) -> bool {
        matches!(
            cmd as libc::c_ulong,
            libc::TCSETS | libc::TCSETSW | libc::TCSETSF
        ) || matches!(cmd, TCSETS2 | TCSETSW2 | TCSETSF2)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.devpts.release_index(self.index);
    }
}

/// The master side.
pub struct MasterFile {
    pty: Arc<Pty>,
}

impl MasterFile {
    /// The master of `pty`.
    pub fn new(pty: Arc<Pty>) -> MasterFile {
        MasterFile { pty }
    }

    /// TIOCGPTPEER: opens the replica as a new file (with its /dev/pts path).
    pub fn open_peer(&self, flags: u32) -> Result<Arc<File>> {
        let ops = self.pty.open_replica(flags)?;
        let path = self.pty.devpts.replica_path(self.pty.index);
        Ok(File::new(ops, flags, path))
    }
}

impl Drop for MasterFile {
    fn drop(&mut self) {
        self.pty.state.lock().master_closed = true;
        self.pty.changed.notify_all();
        self.pty.devpts.remove(self.pty.index);
        self.pty.tty.hangup();
    }
}

impl FileOps for MasterFile {
    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let data = block_until(&[&self.pty.changed], None, || {
            let mut s = self.pty.state.lock();
            if s.ld.output_len() > 0 {
                return Some(Ok(s.ld.read_output(buf.len())));
            }
            if s.replica_opened && s.replicas == 0 {
                return Some(Err(errno!(EIO)));
            }
            file.nonblocking().then(|| Err(errno!(EAGAIN)))
        })?;
        self.pty.changed.notify_all();
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write(&self, file: &File, buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let mut fx = Effects::default();
            let r = block_until(&[&self.pty.changed], None, || {
                let mut s = self.pty.state.lock();
                if s.ld.pending_room() > 0 {
                    return Some(Ok(s.ld.write_input(&buf[done..], &mut fx)));
                }
                file.nonblocking().then(|| Err(errno!(EAGAIN)))
            });
            self.pty.changed.notify_all();
            self.pty.signal(fx);
            match r {
                Ok(n) => done += n,
                Err(e) if done > 0 && (e.code() == libc::EAGAIN || e.is_restart()) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.pty.devpts.ptmx_stat())
    }

    fn ioctl(&self, file: &File, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        let pty = &self.pty;
        if let Some(r) = pty.common_ioctl(cmd, arg, mem) {
            return r;
        }
        if let Some(r) = pty.tty.ioctl(cmd, arg, mem, file.is_readable(), true) {
            return r;
        }
        match cmd as libc::c_ulong {
            libc::TIOCGPTN => {
                mem.copy_out(arg, &pty.index.to_ne_bytes())?;
                Ok(0)
            }
            libc::TIOCSPTLCK => {
                let mut v = [0u8; 4];
                mem.copy_in(arg, &mut v)?;
                pty.state.lock().locked = i32::from_ne_bytes(v) != 0;
                Ok(0)
            }
            _ if cmd == TIOCGPTLCK => {
                let locked = pty.state.lock().locked as i32;
                mem.copy_out(arg, &locked.to_ne_bytes())?;
                Ok(0)
            }
            libc::FIONREAD => {
                let n = pty.state.lock().ld.output_len() as i32;
                mem.copy_out(arg, &n.to_ne_bytes())?;
                Ok(0)
            }
            libc::TCFLSH => pty.flush(arg, true),
            libc::TCXONC => Ok(0),
            _ if Pty::is_termios_get(cmd) => pty.get_termios(true, cmd, arg, mem),
            _ if Pty::is_termios_set(cmd) => pty.set_termios(true, cmd, arg, mem),
            _ => Err(errno!(ENOTTY)),
        }
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.changed)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let s = self.pty.state.lock();
        let mut r = 0;
        let other_closed = s.replica_opened && s.replicas == 0;
        if s.ld.output_len() > 0 {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
        if s.ld.pending_room() > 0 {
            r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
        }
        if other_closed {
            r |= libc::POLLHUP as u32;
        }
        r & (mask | (libc::POLLHUP | libc::POLLERR) as u32)
    }

    fn as_pty_master(&self) -> Option<&MasterFile> {
        Some(self)
    }
}

/// The replica side.
pub struct ReplicaFile {
    pty: Arc<Pty>,
}

impl Drop for ReplicaFile {
    fn drop(&mut self) {
        self.pty.state.lock().replicas -= 1;
        self.pty.changed.notify_all();
    }
}

impl ReplicaFile {
    fn hung_up(&self) -> bool {
        self.pty.state.lock().master_closed
    }

    /// What a non-canonical read may do now under VMIN/VTIME. `deadline` is VTIME's
    /// timer, armed at the read (VMIN 0) or at each byte that arrives (VMIN > 0).
    fn take_raw(
        s: &mut State,
        max: usize,
        deadline: &mut Option<Instant>,
        seen: &mut usize,
    ) -> Raw {
        let (min, time) = s.ld.min_time();
        let have = s.ld.raw_len();
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        let take = match (min, time) {
            (0, 0) => true,
            (0, _) => have > 0 || expired,
            (m, 0) => have >= usize::from(m).min(max),
            (m, _) => have >= usize::from(m).min(max) || (have > 0 && expired),
        };
        if take {
            return Raw::Take(s.ld.read_input(max));
        }
        if min > 0 && have == 0 {
            // The interbyte timer starts with the first byte.
            *deadline = None;
        }
        let arm = time > 0 && ((min == 0 && deadline.is_none()) || (min > 0 && have > *seen));
        *seen = have;
        if arm {
            *deadline = Some(Instant::now() + Duration::from_millis(100 * u64::from(time)));
            return Raw::Rearm;
        }
        Raw::Wait
    }
}

enum Raw {
    Take(Vec<u8>),
    Wait,
    /// VTIME's timer was (re)armed: wait again with the new deadline.
    Rearm,
}

impl FileOps for ReplicaFile {
    fn read(&self, file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        if self.hung_up() {
            return Ok(0);
        }
        self.pty.tty.check_change(libc::SIGTTIN)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let mut deadline: Option<Instant> = None;
        let mut seen = 0;
        let data = loop {
            let mut next_deadline = deadline;
            let r = block_until(&[&self.pty.changed], deadline, || {
                let mut s = self.pty.state.lock();
                if s.master_closed {
                    return Some(Ok(Vec::new()));
                }
                let got = if s.ld.canonical() {
                    s.ld.input_ready().then(|| s.ld.read_input(buf.len()))
                } else {
                    match Self::take_raw(&mut s, buf.len(), &mut next_deadline, &mut seen) {
                        Raw::Take(d) => Some(d),
                        Raw::Wait => None,
                        Raw::Rearm => return Some(Err(errno!(ETIMEDOUT))),
                    }
                };
                if let Some(d) = got {
                    return Some(Ok(d));
                }
                if file.nonblocking() {
                    let n = s.ld.raw_len().min(buf.len());
                    if !s.ld.canonical() && n > 0 {
                        return Some(Ok(s.ld.read_input(n)));
                    }
                    return Some(Err(errno!(EAGAIN)));
                }
                None
            });
            deadline = next_deadline;
            match r {
                // VTIME's timer ran out or was rearmed: look again.
                Err(e) if e.code() == libc::ETIMEDOUT => continue,
                other => break other?,
            }
        };
        let mut fx = Effects::default();
        self.pty.state.lock().ld.process_pending(&mut fx);
        self.pty.changed.notify_all();
        self.pty.signal(fx);
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write(&self, file: &File, buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        if self.hung_up() {
            return Err(errno!(EIO));
        }
        let tostop = self.pty.state.lock().ld.termios.c_lflag & libc::TOSTOP != 0;
        if tostop {
            self.pty.tty.check_change(libc::SIGTTOU)?;
        }
        let mut done = 0;
        while done < buf.len() {
            let r = block_until(&[&self.pty.changed], None, || {
                let mut s = self.pty.state.lock();
                if s.master_closed {
                    return Some(Err(errno!(EIO)));
                }
                if s.ld.output_room() {
                    return Some(Ok(s.ld.write_output(&buf[done..])));
                }
                file.nonblocking().then(|| Err(errno!(EAGAIN)))
            });
            self.pty.changed.notify_all();
            match r {
                Ok(n) => done += n,
                Err(e) if done > 0 && (e.code() == libc::EAGAIN || e.is_restart()) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.pty.replica_stat())
    }

    fn ioctl(&self, file: &File, cmd: u32, arg: u64, mem: &dyn IoctlMemory) -> Result<u64> {
        let pty = &self.pty;
        if self.hung_up() {
            return Err(if cmd as libc::c_ulong == libc::TIOCSPGRP {
                errno!(ENOTTY)
            } else {
                errno!(EIO)
            });
        }
        if let Some(r) = pty.common_ioctl(cmd, arg, mem) {
            return r;
        }
        if let Some(r) = pty.tty.ioctl(cmd, arg, mem, file.is_readable(), false) {
            return r;
        }
        match cmd as libc::c_ulong {
            libc::FIONREAD => {
                let n = pty.state.lock().ld.input_available() as i32;
                mem.copy_out(arg, &n.to_ne_bytes())?;
                Ok(0)
            }
            libc::TCFLSH => {
                pty.tty.check_change(libc::SIGTTOU)?;
                pty.flush(arg, false)
            }
            libc::TCXONC => {
                pty.tty.check_change(libc::SIGTTOU)?;
                match arg {
                    TCOOFF | TCOON => {
                        pty.state.lock().ld.stopped = arg == TCOOFF;
                        pty.changed.notify_all();
                        Ok(0)
                    }
                    TCIOFF | TCION => Ok(0),
                    _ => Err(errno!(EINVAL)),
                }
            }
            // As Linux: only a master has a peer.
            TIOCGPTPEER => Err(errno!(EIO)),
            _ if Pty::is_termios_get(cmd) => pty.get_termios(false, cmd, arg, mem),
            _ if Pty::is_termios_set(cmd) => {
                pty.tty.check_change(libc::SIGTTOU)?;
                pty.set_termios(false, cmd, arg, mem)
            }
            _ => Err(errno!(ENOTTY)),
        }
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.changed)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let s = self.pty.state.lock();
        let mut r = 0;
        if s.master_closed {
            r = (libc::POLLIN
                | libc::POLLOUT
                | libc::POLLERR
                | libc::POLLHUP
                | libc::POLLRDNORM
                | libc::POLLWRNORM) as u32;
        } else {
            let (min, time) = s.ld.min_time();
            let readable = if s.ld.canonical() {
                s.ld.input_ready()
            } else {
                let want = if time == 0 {
                    usize::from(min).max(1)
                } else {
                    1
                };
                s.ld.raw_len() >= want
            };
            if readable {
                r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
            }
            if s.ld.output_room() {
                r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
            }
        }
        r & (mask | (libc::POLLHUP | libc::POLLERR) as u32)
    }
}
