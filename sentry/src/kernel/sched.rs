//! Scheduling attributes of a thread: policy, real-time priority and nice value.
//!
//! The sandbox keeps its own: the sentry runs every task on a host thread of its own
//! and never applies these to the host. They are reported back as set (getpriority,
//! sched_getscheduler, /proc/[pid]/stat), inherited by clone and kept across execve,
//! with Linux's rules for who may set what.

use crate::errno;
use crate::errno::Result;
use crate::kernel::creds::Credentials;

/// SCHED_OTHER (SCHED_NORMAL).
pub const SCHED_OTHER: i32 = 0;
/// SCHED_FIFO.
pub const SCHED_FIFO: i32 = 1;
/// SCHED_RR.
pub const SCHED_RR: i32 = 2;
/// SCHED_BATCH.
pub const SCHED_BATCH: i32 = 3;
/// SCHED_IDLE.
pub const SCHED_IDLE: i32 = 5;
/// SCHED_DEADLINE.
pub const SCHED_DEADLINE: i32 = 6;
/// Children start with the default policy and a nice value of at least 0.
pub const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

/// The highest real-time priority.
pub const MAX_RT_PRIO: u32 = 99;
/// Nice values range over -20..=19.
pub const MIN_NICE: i32 = -20;
/// The largest nice value.
pub const MAX_NICE: i32 = 19;

/// One thread's scheduling attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    /// SCHED_*.
    pub policy: i32,
    /// 1..=99 for SCHED_FIFO/SCHED_RR, else 0.
    pub rt_priority: u32,
    /// -20..=19 (meaningful for the fair policies, kept for all).
    pub nice: i32,
    /// SCHED_RESET_ON_FORK.
    pub reset_on_fork: bool,
}

/// Whether `policy` is a real-time one.
pub fn is_rt(policy: i32) -> bool {
    policy == SCHED_FIFO || policy == SCHED_RR
}

/// The priority range of `policy` (sched_get_priority_min/max); EINVAL for unknown ones.
pub fn priority_range(policy: i32) -> Result<(u32, u32)> {
    match policy {
        SCHED_FIFO | SCHED_RR => Ok((1, MAX_RT_PRIO)),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok((0, 0)),
        _ => Err(errno!(EINVAL)),
    }
}

impl SchedAttr {
    /// What a child created by clone/fork starts with.
    pub fn for_child(&self) -> SchedAttr {
        let mut a = *self;
        if a.reset_on_fork {
            if is_rt(a.policy) || a.policy == SCHED_DEADLINE {
                a.policy = SCHED_OTHER;
                a.rt_priority = 0;
            }
            a.nice = a.nice.max(0);
            a.reset_on_fork = false;
        }
        a
    }

    /// The priority /proc/[pid]/stat shows (field 18): 20 + nice for the fair
    /// policies, -1 - rt_priority for the real-time ones.
    pub fn proc_priority(&self) -> i64 {
        if is_rt(self.policy) {
            -1 - self.rt_priority as i64
        } else {
            20 + self.nice as i64
        }
    }
}

/// Whether a thread whose RLIMIT_NICE is `nice_limit` may be given nice value `nice`
/// without CAP_SYS_NICE (Linux's can_nice: the limit counts 20 - nice).
pub fn can_nice(nice: i32, nice_limit: u64, caller: &Credentials) -> bool {
    ((20 - nice) as u64) <= nice_limit || caller.capable(super::caps::CAP_SYS_NICE)
}

/// Whether `caller` may change the scheduling of a thread running as `target`
/// (its effective uid is the target's real or effective uid, or it has CAP_SYS_NICE).
pub fn may_change(caller: &Credentials, target: &Credentials) -> bool {
    caller.capable(super::caps::CAP_SYS_NICE)
        || caller.euid == target.euid
        || caller.euid == target.uid
}

/// The limits of the target thread's process that sched_setscheduler consults.
#[derive(Clone, Copy, Debug)]
pub struct SchedLimits {
    /// RLIMIT_NICE (soft).
    pub nice: u64,
    /// RLIMIT_RTPRIO (soft).
    pub rtprio: u64,
}

/// sched_setscheduler/sched_setattr: checks that `caller` may change `cur` (a thread
/// running as `target`, under `limits`) to `new` (already validated). EPERM if not.
pub fn check_set(
    caller: &Credentials,
    target: &Credentials,
    limits: SchedLimits,
    cur: &SchedAttr,
    new: &SchedAttr,
) -> Result<()> {
    if caller.capable(super::caps::CAP_SYS_NICE) {
        return Ok(());
    }
    if !is_rt(new.policy) && new.nice < cur.nice && !can_nice(new.nice, limits.nice, caller) {
        return Err(errno!(EPERM));
    }
    if is_rt(new.policy) {
        if new.policy != cur.policy && limits.rtprio == 0 {
            return Err(errno!(EPERM));
        }
        if new.rt_priority > cur.rt_priority && new.rt_priority as u64 > limits.rtprio {
            return Err(errno!(EPERM));
        }
    }
    if new.policy == SCHED_DEADLINE {
        return Err(errno!(EPERM));
    }
    if cur.policy == SCHED_IDLE
        && new.policy != SCHED_IDLE
        && !can_nice(cur.nice, limits.nice, caller)
    {
        return Err(errno!(EPERM));
    }
    if !may_change(caller, target) {
        return Err(errno!(EPERM));
    }
    if cur.reset_on_fork && !new.reset_on_fork {
        return Err(errno!(EPERM));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_on_fork_gives_children_the_default_policy_and_no_negative_nice() {
        let parent = SchedAttr {
            policy: SCHED_FIFO,
            rt_priority: 10,
            nice: -5,
            reset_on_fork: true,
        };
        assert_eq!(parent.for_child(), SchedAttr::default());
        let plain = SchedAttr {
            nice: 3,
            ..Default::default()
        };
        assert_eq!(plain.for_child(), plain);
    }

    #[test]
    fn unprivileged_callers_may_only_lower_their_priority() {
        let user = Credentials::new(1000, 1000, Vec::new());
        let limits = SchedLimits { nice: 0, rtprio: 0 };
        let cur = SchedAttr {
            nice: 5,
            ..Default::default()
        };
        let up = SchedAttr { nice: 10, ..cur };
        let down = SchedAttr { nice: 0, ..cur };
        let rt = SchedAttr {
            policy: SCHED_FIFO,
            rt_priority: 1,
            ..cur
        };
        assert!(check_set(&user, &user, limits, &cur, &up).is_ok());
        assert!(check_set(&user, &user, limits, &cur, &down).is_err());
        assert!(check_set(&user, &user, limits, &cur, &rt).is_err());
        let root = Credentials::new(0, 0, Vec::new());
        assert!(check_set(&root, &user, limits, &cur, &rt).is_ok());
    }
}
