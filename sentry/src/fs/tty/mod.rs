//! Terminals: pseudo-terminals (`pty`, `devpts`, their line discipline `ldisc`) and
//! what every terminal shares, the controlling-terminal and job-control rules of
//! Linux's tty_jobctrl.c ([`Tty`]). A host terminal given with `moat do --tty` is a
//! [`Tty`] too: its foreground process group is the sentry's, its modes the host's.

pub mod devpts;
pub mod ldisc;
pub mod pty;

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::errno;
use crate::errno::{Errno, Result, ERESTARTSYS};
use crate::kernel::signal::{sigmask, SigInfo, SIG_IGN};
use crate::kernel::{current_task, Kernel, ThreadGroup};
use crate::vfs::{FileOps, IoctlMemory};

/// Who a terminal belongs to.
#[derive(Clone, Copy, Default)]
struct Control {
    /// The session it is the controlling terminal of (0: none).
    session: i32,
    /// Its foreground process group (0: none).
    pgrp: i32,
}

/// How /dev/tty opens a terminal again.
enum Reopen {
    Pty(Weak<pty::Pty>),
    /// Weak: the host file holds the terminal (see `HostFile::attach_tty`), and the
    /// host fd must close when the sandbox's last fd of it does.
    Host(Weak<dyn FileOps>),
}

/// A terminal that can be a session's controlling terminal.
///
/// Lock order: the process tree, then `control`, then a ThreadGroup's `tty`.
pub struct Tty {
    rdev: u64,
    kernel: Weak<Kernel>,
    control: Mutex<Control>,
    reopen: Reopen,
}

/// Sends `signo` from the kernel to every process of group `pgid`.
pub fn kill_pgrp(kernel: &Kernel, pgid: i32, signo: i32) {
    let members = kernel.tree.lock().group_members(pgid);
    for tg in members {
        tg.send_signal(SigInfo::kernel(signo));
    }
}

fn is_leader(tg: &ThreadGroup) -> bool {
    *tg.sid.lock() == tg.tgid
}

/// Whether the calling task holds CAP_SYS_ADMIN (TIOCSCTTY stealing a terminal, or
/// taking one it cannot read).
fn is_admin() -> bool {
    current_task()
        .and_then(|c| c.shared.view())
        .is_some_and(|v| v.creds.capable(crate::kernel::caps::CAP_SYS_ADMIN))
}

fn read_i32(mem: &dyn IoctlMemory, arg: u64) -> Result<i32> {
    let mut v = [0u8; 4];
    mem.copy_in(arg, &mut v)?;
    Ok(i32::from_ne_bytes(v))
}

fn write_i32(mem: &dyn IoctlMemory, arg: u64, v: i32) -> Result<u64> {
    mem.copy_out(arg, &v.to_ne_bytes())?;
    Ok(0)
}

impl Tty {
    /// The terminal of pty `pty`, device `rdev`.
    pub fn new_pty(kernel: Weak<Kernel>, rdev: u64, pty: Weak<pty::Pty>) -> Arc<Tty> {
        Arc::new(Tty {
            rdev,
            kernel,
            control: Mutex::new(Control::default()),
            reopen: Reopen::Pty(pty),
        })
    }

    /// A host terminal served to the guest through `file` (its device number is `rdev`).
    pub fn new_host(kernel: Weak<Kernel>, rdev: u64, file: Arc<dyn FileOps>) -> Arc<Tty> {
        Arc::new(Tty {
            rdev,
            kernel,
            control: Mutex::new(Control::default()),
            reopen: Reopen::Host(Arc::downgrade(&file)),
        })
    }

    /// Makes this the controlling terminal of `tg`'s session, with `tg`'s group in the
    /// foreground (the sandbox's init and the terminal of `moat do --tty`).
    pub fn make_controlling(self: &Arc<Self>, tg: &ThreadGroup) {
        *self.control.lock() = Control {
            session: *tg.sid.lock(),
            pgrp: *tg.pgid.lock(),
        };
        *tg.tty.lock() = Some(self.clone());
    }

    /// The device number (/proc/[pid]/stat's tty_nr).
    pub fn rdev(&self) -> u64 {
        self.rdev
    }

    /// The foreground process group (0: none).
    pub fn foreground(&self) -> i32 {
        self.control.lock().pgrp
    }

    /// The session it controls (0: none).
    pub fn session(&self) -> i32 {
        self.control.lock().session
    }

    /// Opens the terminal again, for /dev/tty.
    pub fn reopen(&self, flags: u32) -> Result<Arc<dyn FileOps>> {
        match &self.reopen {
            Reopen::Pty(p) => p.upgrade().ok_or_else(|| errno!(EIO))?.open_replica(flags),
            Reopen::Host(f) => f.upgrade().ok_or_else(|| errno!(ENXIO)),
        }
    }

    fn is_ctty_of(&self, tg: &ThreadGroup) -> bool {
        tg.tty
            .lock()
            .as_ref()
            .is_some_and(|t| std::ptr::eq(Arc::as_ptr(t), self))
    }

    /// Sends `signo` to the foreground process group, if there is one.
    pub fn signal_foreground(&self, signo: i32) {
        let pgrp = self.foreground();
        if let (Some(k), true) = (self.kernel.upgrade(), pgrp != 0) {
            kill_pgrp(&k, pgrp, signo);
        }
    }

    /// The job-control check of a caller that reads (SIGTTIN) or changes (SIGTTOU) the
    /// terminal: a background process of its session is stopped by the signal to its
    /// group and the call restarts, or gets EIO when that cannot be (an orphaned
    /// group; SIGTTIN ignored or blocked). Linux's __tty_check_change.
    pub fn check_change(&self, signo: i32) -> Result<()> {
        let Some(cur) = current_task() else {
            return Ok(());
        };
        if !self.is_ctty_of(&cur.tg) {
            return Ok(());
        }
        let fg = self.foreground();
        let pgid = *cur.tg.pgid.lock();
        if fg == 0 || fg == pgid {
            return Ok(());
        }
        let ignored = cur.shared.mask() & sigmask(signo) != 0
            || cur.tg.actions.lock().get(signo as usize).handler == SIG_IGN;
        if ignored {
            return if signo == libc::SIGTTIN {
                Err(errno!(EIO))
            } else {
                Ok(())
            };
        }
        if cur.kernel.tree.lock().is_orphaned_pgrp(pgid) {
            return Err(errno!(EIO));
        }
        kill_pgrp(&cur.kernel, pgid, signo);
        Err(Errno::new(ERESTARTSYS))
    }

    /// An open without O_NOCTTY: a session leader without a controlling terminal
    /// acquires this one if it is free and the open can read.
    pub fn open_acquire(self: &Arc<Self>, flags: u32) {
        if flags & libc::O_NOCTTY as u32 != 0 || !crate::vfs::wants_read(flags) {
            return;
        }
        let Some(cur) = current_task() else { return };
        if !is_leader(&cur.tg) || cur.tg.tty.lock().is_some() {
            return;
        }
        let mut c = self.control.lock();
        if c.session != 0 {
            return;
        }
        c.session = cur.tg.tgid;
        c.pgrp = *cur.tg.pgid.lock();
        *cur.tg.tty.lock() = Some(self.clone());
    }

    /// Every process of `session` whose controlling terminal this is loses it; the
    /// session leader gets SIGHUP and SIGCONT when `signal_leader`.
    fn clear_session(&self, kernel: &Kernel, session: i32, signal_leader: bool) {
        let procs = kernel.tree.lock().processes();
        for tg in procs {
            if *tg.sid.lock() != session {
                continue;
            }
            if self.is_ctty_of(&tg) {
                *tg.tty.lock() = None;
            }
            if signal_leader && tg.tgid == session {
                tg.send_signal(SigInfo::kernel(libc::SIGHUP));
                tg.send_signal(SigInfo::kernel(libc::SIGCONT));
            }
        }
    }

    /// The terminal hung up (its pty master closed): the session loses it and its
    /// leader gets SIGHUP and SIGCONT.
    pub fn hangup(&self) {
        let c = std::mem::take(&mut *self.control.lock());
        if let (Some(k), true) = (self.kernel.upgrade(), c.session != 0) {
            self.clear_session(&k, c.session, true);
        }
    }

    /// The caller's session gives up its terminal (Linux's disassociate_ctty): its
    /// foreground group gets SIGHUP (and SIGCONT unless the leader is exiting).
    fn disassociate(&self, kernel: &Kernel, on_exit: bool) {
        let c = std::mem::take(&mut *self.control.lock());
        if c.pgrp != 0 {
            kill_pgrp(kernel, c.pgrp, libc::SIGHUP);
            if !on_exit {
                kill_pgrp(kernel, c.pgrp, libc::SIGCONT);
            }
        }
        if c.session != 0 {
            self.clear_session(kernel, c.session, false);
        }
    }

    /// The job-control ioctls every terminal answers; None for other requests.
    /// `master` is set for a pty master's fd (whose requests act on the replica
    /// without the caller having to be in its session).
    pub fn ioctl(
        self: &Arc<Self>,
        cmd: u32,
        arg: u64,
        mem: &dyn IoctlMemory,
        readable: bool,
        master: bool,
    ) -> Option<Result<u64>> {
        let cur = current_task()?;
        let mine = self.is_ctty_of(&cur.tg);
        let r = match cmd as libc::c_ulong {
            libc::TIOCSCTTY => self.set_controlling(&cur.tg, arg == 1, readable),
            libc::TIOCNOTTY => {
                if !mine {
                    return Some(Err(errno!(ENOTTY)));
                }
                if is_leader(&cur.tg) {
                    self.disassociate(&cur.kernel, false);
                }
                *cur.tg.tty.lock() = None;
                Ok(0)
            }
            libc::TIOCGPGRP => {
                if !master && !mine {
                    return Some(Err(errno!(ENOTTY)));
                }
                write_i32(mem, arg, self.foreground())
            }
            libc::TIOCSPGRP => self.set_foreground(&cur, mine, mem, arg),
            libc::TIOCGSID => {
                let sid = self.session();
                if (!master && !mine) || sid == 0 {
                    return Some(Err(errno!(ENOTTY)));
                }
                write_i32(mem, arg, sid)
            }
            _ => return None,
        };
        Some(r)
    }

    /// TIOCSCTTY (Linux's tiocsctty).
    fn set_controlling(
        self: &Arc<Self>,
        tg: &ThreadGroup,
        steal: bool,
        readable: bool,
    ) -> Result<u64> {
        let sid = *tg.sid.lock();
        let leader = is_leader(tg);
        let owner = self.session();
        if leader && owner == sid {
            return Ok(0);
        }
        if !leader || tg.tty.lock().is_some() {
            return Err(errno!(EPERM));
        }
        if owner != 0 {
            if !(steal && is_admin()) {
                return Err(errno!(EPERM));
            }
            if let Some(k) = self.kernel.upgrade() {
                self.clear_session(&k, owner, false);
            }
        }
        if !readable && !is_admin() {
            return Err(errno!(EPERM));
        }
        *self.control.lock() = Control {
            session: sid,
            pgrp: *tg.pgid.lock(),
        };
        *tg.tty.lock() = Some(self.clone());
        Ok(0)
    }

    /// TIOCSPGRP (Linux's tiocspgrp).
    fn set_foreground(
        &self,
        cur: &crate::kernel::CurrentTask,
        mine: bool,
        mem: &dyn IoctlMemory,
        arg: u64,
    ) -> Result<u64> {
        match self.check_change(libc::SIGTTOU) {
            Err(e) if e.code() == libc::EIO => return Err(errno!(ENOTTY)),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        let sid = *cur.tg.sid.lock();
        if !mine || self.session() != sid {
            return Err(errno!(ENOTTY));
        }
        let pgrp = read_i32(mem, arg)?;
        if pgrp < 0 {
            return Err(errno!(EINVAL));
        }
        let tree = cur.kernel.tree.lock();
        let members = tree.group_members(pgrp);
        if members.is_empty() {
            return Err(errno!(ESRCH));
        }
        if *members[0].sid.lock() != sid {
            return Err(errno!(EPERM));
        }
        self.control.lock().pgrp = pgrp;
        Ok(0)
    }
}

/// A process is exiting: if it leads a session with a controlling terminal, the
/// terminal's foreground group gets SIGHUP and the session loses the terminal.
pub fn session_leader_exit(kernel: &Kernel, tg: &ThreadGroup) {
    if !is_leader(tg) {
        return;
    }
    let tty = tg.tty.lock().take();
    if let Some(t) = tty {
        t.disassociate(kernel, true);
    }
}

/// /proc/[pid]/stat's tty_nr and tpgid for process `tg`.
pub fn proc_stat_fields(tg: &ThreadGroup) -> (u64, i32) {
    match tg.tty.lock().as_ref() {
        Some(t) => {
            let fg = t.foreground();
            (t.rdev(), if fg == 0 { -1 } else { fg })
        }
        None => (0, -1),
    }
}
