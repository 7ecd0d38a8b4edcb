//! Scheduling: nice values (getpriority/setpriority), policies and priorities
//! (sched_setscheduler and friends, sched_setattr/getattr).
//!
//! Everything is the sandbox's own bookkeeping, per thread as in Linux, and never
//! applied to the host: the sentry schedules its host threads itself.

use std::sync::Arc;

use sentry::abi::Timespec;
use sentry::errno::Result;
use sentry::kernel::creds::Credentials;
use sentry::kernel::sched::{
    self, check_set, is_rt, priority_range, SchedAttr, SchedLimits, MAX_NICE, MAX_RT_PRIO,
    MIN_NICE, SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER,
    SCHED_RESET_ON_FORK, SCHED_RR,
};
use sentry::kernel::{Task, TaskShared, ThreadGroup};
use sentry::platform::PAGE_SIZE;
use sentry::{bail, errno};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A thread whose scheduling is asked about or changed.
struct Target {
    shared: Arc<TaskShared>,
    tg: Arc<ThreadGroup>,
    creds: Credentials,
}

impl Target {
    fn limits(&self) -> SchedLimits {
        SchedLimits {
            nice: self.tg.limit(libc::RLIMIT_NICE),
            rtprio: self.tg.limit(libc::RLIMIT_RTPRIO),
        }
    }
}

fn me(task: &Task) -> Target {
    Target {
        shared: task.shared.clone(),
        tg: task.tg.clone(),
        creds: task.creds.clone(),
    }
}

/// The thread `tid` names (0: the caller); ESRCH if there is none.
fn thread(task: &Task, tid: i32) -> Result<Target> {
    if tid == 0 || tid == task.tid {
        return Ok(me(task));
    }
    let (shared, tg) = task
        .kernel
        .tree
        .lock()
        .thread(tid)
        .ok_or_else(|| errno!(ESRCH))?;
    let creds = shared.view().ok_or_else(|| errno!(ESRCH))?.creds;
    Ok(Target { shared, tg, creds })
}

/// The threads a getpriority/setpriority `which`/`who` pair names (maybe none).
fn priority_targets(task: &Task, which: i32, who: i32) -> Result<Vec<Target>> {
    let threads_of = |tgs: Vec<Arc<ThreadGroup>>| -> Vec<Target> {
        let mut out = Vec::new();
        for tg in tgs {
            let tasks = tg.tasks.lock().clone();
            for shared in tasks {
                let creds = if shared.tid == task.tid {
                    Some(task.creds.clone())
                } else {
                    shared.view().map(|v| v.creds)
                };
                if let Some(creds) = creds {
                    out.push(Target {
                        shared,
                        tg: tg.clone(),
                        creds,
                    });
                }
            }
        }
        out
    };
    match which as u32 {
        libc::PRIO_PROCESS => Ok(thread(task, who).into_iter().collect()),
        libc::PRIO_PGRP => {
            let pgid = if who == 0 { *task.tg.pgid.lock() } else { who };
            let members = task.kernel.tree.lock().group_members(pgid);
            Ok(threads_of(members))
        }
        libc::PRIO_USER => {
            let uid = if who == 0 { task.creds.uid } else { who as u32 };
            let all = task.kernel.tree.lock().processes();
            Ok(threads_of(all)
                .into_iter()
                .filter(|t| t.creds.uid == uid)
                .collect())
        }
        _ => bail!(EINVAL),
    }
}

pub fn getpriority(task: &mut Task, which: i32, who: i32) -> Result<u64> {
    let targets = priority_targets(task, which, who)?;
    // Linux returns 20 - nice (1..=40), the highest among the threads named.
    targets
        .iter()
        .map(|t| (20 - t.shared.sched.lock().nice) as u64)
        .max()
        .ok_or_else(|| errno!(ESRCH))
}

pub fn setpriority(task: &mut Task, which: i32, who: i32, nice: i32) -> Result<u64> {
    let targets = priority_targets(task, which, who)?;
    let nice = nice.clamp(MIN_NICE, MAX_NICE);
    let mut result = Err(errno!(ESRCH));
    for t in targets {
        if !sched::may_change(&task.creds, &t.creds) {
            result = Err(errno!(EPERM));
            continue;
        }
        let mut attr = t.shared.sched.lock();
        if nice < attr.nice && !sched::can_nice(nice, t.limits().nice, &task.creds) {
            result = Err(errno!(EACCES));
            continue;
        }
        attr.nice = nice;
        if result.as_ref().is_err_and(|e| e.code() == libc::ESRCH) {
            result = Ok(0);
        }
    }
    result
}

/// `struct sched_param`.
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct SchedParam {
    sched_priority: i32,
}

/// Validates `new` (EINVAL), checks permission (EPERM) and applies it to `t`.
fn set_attr(task: &Task, t: &Target, new: SchedAttr) -> Result<()> {
    if !matches!(
        new.policy,
        SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE
    ) {
        bail!(EINVAL);
    }
    if new.rt_priority > MAX_RT_PRIO || is_rt(new.policy) != (new.rt_priority != 0) {
        bail!(EINVAL);
    }
    if new.policy == SCHED_DEADLINE {
        bail!(EPERM, "SCHED_DEADLINE is not admitted in the sandbox");
    }
    let mut cur = t.shared.sched.lock();
    check_set(&task.creds, &t.creds, t.limits(), &cur, &new)?;
    *cur = new;
    Ok(())
}

fn read_param(task: &Task, pid: i32, param: u64) -> Result<u32> {
    if pid < 0 || param == 0 {
        bail!(EINVAL);
    }
    let p: SchedParam = task.mm.read_obj(param)?;
    // A negative priority reads as a huge one, refused with the other bad values.
    Ok(p.sched_priority as u32)
}

pub fn sched_setscheduler(task: &mut Task, pid: i32, policy: i32, param: u64) -> Result<u64> {
    if policy < 0 {
        bail!(EINVAL);
    }
    let prio = read_param(task, pid, param)?;
    let t = thread(task, pid)?;
    let cur = *t.shared.sched.lock();
    let new = SchedAttr {
        policy: policy & !SCHED_RESET_ON_FORK,
        rt_priority: prio,
        nice: cur.nice,
        reset_on_fork: policy & SCHED_RESET_ON_FORK != 0,
    };
    set_attr(task, &t, new)?;
    Ok(0)
}

pub fn sched_setparam(task: &mut Task, pid: i32, param: u64) -> Result<u64> {
    let prio = read_param(task, pid, param)?;
    let t = thread(task, pid)?;
    let cur = *t.shared.sched.lock();
    set_attr(
        task,
        &t,
        SchedAttr {
            rt_priority: prio,
            ..cur
        },
    )?;
    Ok(0)
}

pub fn sched_getscheduler(task: &mut Task, pid: i32) -> Result<u64> {
    if pid < 0 {
        bail!(EINVAL);
    }
    let a = *thread(task, pid)?.shared.sched.lock();
    let reset = if a.reset_on_fork {
        SCHED_RESET_ON_FORK
    } else {
        0
    };
    Ok((a.policy | reset) as u64)
}

pub fn sched_getparam(task: &mut Task, pid: i32, param: u64) -> Result<u64> {
    if pid < 0 || param == 0 {
        bail!(EINVAL);
    }
    let a = *thread(task, pid)?.shared.sched.lock();
    let p = SchedParam {
        sched_priority: if is_rt(a.policy) {
            a.rt_priority as i32
        } else {
            0
        },
    };
    task.mm.write_obj(param, &p)?;
    Ok(0)
}

pub fn sched_get_priority_max(_task: &mut Task, policy: i32) -> Result<u64> {
    Ok(priority_range(policy)?.1 as u64)
}

pub fn sched_get_priority_min(_task: &mut Task, policy: i32) -> Result<u64> {
    Ok(priority_range(policy)?.0 as u64)
}

/// SCHED_RR's time slice (Linux's RR_TIMESLICE).
const RR_TIMESLICE_NS: i64 = 100_000_000;
/// What the fair policies report: one 4 ms tick.
const FAIR_SLICE_NS: i64 = 4_000_000;

pub fn sched_rr_get_interval(task: &mut Task, pid: i32, tp: u64) -> Result<u64> {
    if pid < 0 {
        bail!(EINVAL);
    }
    let a = *thread(task, pid)?.shared.sched.lock();
    let ns = match a.policy {
        SCHED_RR => RR_TIMESLICE_NS,
        SCHED_FIFO => 0,
        _ => FAIR_SLICE_NS,
    };
    task.mm.write_obj(
        tp,
        &Timespec {
            tv_sec: ns / 1_000_000_000,
            tv_nsec: ns % 1_000_000_000,
        },
    )?;
    Ok(0)
}

/// `struct sched_attr` as of SCHED_ATTR_SIZE_VER1.
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct SchedAttrAbi {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

const SCHED_ATTR_SIZE_VER0: usize = 48;
const SCHED_ATTR_SIZE: usize = std::mem::size_of::<SchedAttrAbi>();
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;
/// Every flag Linux knows (SCHED_FLAG_ALL).
const SCHED_FLAG_ALL: u64 = 0x7f;
/// The utilisation clamp range.
const UCLAMP_MAX: u32 = 1024;

/// Reads a `struct sched_attr` of the size its first field states (E2BIG, with the
/// size the kernel knows written back, for sizes it cannot take).
fn read_sched_attr(task: &Task, addr: u64) -> Result<SchedAttrAbi> {
    let size: u32 = task.mm.read_obj(addr)?;
    let size = if size == 0 {
        SCHED_ATTR_SIZE_VER0
    } else {
        size as usize
    };
    if size < SCHED_ATTR_SIZE_VER0 || size > PAGE_SIZE as usize {
        task.mm.write_obj(addr, &(SCHED_ATTR_SIZE as u32))?;
        bail!(E2BIG);
    }
    let bytes = task.mm.read_bytes(addr, size)?;
    if bytes.iter().skip(SCHED_ATTR_SIZE).any(|&b| b != 0) {
        task.mm.write_obj(addr, &(SCHED_ATTR_SIZE as u32))?;
        bail!(E2BIG);
    }
    let mut full = [0u8; SCHED_ATTR_SIZE];
    let n = size.min(SCHED_ATTR_SIZE);
    full[..n].copy_from_slice(&bytes[..n]);
    let mut attr = SchedAttrAbi::read_from_bytes(&full).expect("sized");
    attr.size = size as u32;
    if attr.sched_flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE {
        bail!(EINVAL);
    }
    attr.sched_nice = attr.sched_nice.clamp(MIN_NICE, MAX_NICE);
    Ok(attr)
}

pub fn sched_setattr(task: &mut Task, pid: i32, uattr: u64, flags: u32) -> Result<u64> {
    if uattr == 0 || pid < 0 || flags != 0 {
        bail!(EINVAL);
    }
    let a = read_sched_attr(task, uattr)?;
    if (a.sched_policy as i32) < 0 || a.sched_flags & !SCHED_FLAG_ALL != 0 {
        bail!(EINVAL);
    }
    let t = thread(task, pid)?;
    let cur = *t.shared.sched.lock();
    let keep_policy = a.sched_flags & SCHED_FLAG_KEEP_POLICY != 0;
    let keep_params = a.sched_flags & SCHED_FLAG_KEEP_PARAMS != 0;
    let policy = if keep_policy {
        cur.policy
    } else {
        a.sched_policy as i32
    };
    let fair = matches!(policy, SCHED_OTHER | SCHED_BATCH | SCHED_IDLE);
    let new = SchedAttr {
        policy,
        rt_priority: if keep_params {
            cur.rt_priority
        } else {
            a.sched_priority
        },
        nice: if fair && !keep_params {
            a.sched_nice
        } else {
            cur.nice
        },
        reset_on_fork: if keep_policy {
            cur.reset_on_fork
        } else {
            a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0
        },
    };
    set_attr(task, &t, new)?;
    Ok(0)
}

pub fn sched_getattr(task: &mut Task, pid: i32, uattr: u64, usize: u32, flags: u32) -> Result<u64> {
    let usize = usize as usize;
    if uattr == 0
        || pid < 0
        || usize > PAGE_SIZE as usize
        || usize < SCHED_ATTR_SIZE_VER0
        || flags != 0
    {
        bail!(EINVAL);
    }
    let a = *thread(task, pid)?.shared.sched.lock();
    let n = usize.min(SCHED_ATTR_SIZE);
    let out = SchedAttrAbi {
        size: n as u32,
        sched_policy: a.policy as u32,
        sched_flags: if a.reset_on_fork {
            SCHED_FLAG_RESET_ON_FORK
        } else {
            0
        },
        sched_nice: if is_rt(a.policy) { 0 } else { a.nice },
        sched_priority: if is_rt(a.policy) { a.rt_priority } else { 0 },
        sched_util_max: UCLAMP_MAX,
        ..Default::default()
    };
    task.mm.copy_out(uattr, &out.as_bytes()[..n])?;
    Ok(0)
}
