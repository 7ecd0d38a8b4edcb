//! seccomp(2): filters a guest attaches to itself (the sentry enforces them; see
//! `sentry::kernel::seccomp`).

use sentry::errno::Result;
use sentry::kernel::seccomp::{
    self, SECCOMP_GET_ACTION_AVAIL, SECCOMP_GET_NOTIF_SIZES, SECCOMP_SET_MODE_FILTER,
    SECCOMP_SET_MODE_STRICT,
};
use sentry::kernel::Task;
use sentry::{bail, errno};

pub fn seccomp(task: &mut Task, op: u32, flags: u32, uargs: u64) -> Result<u64> {
    match op {
        SECCOMP_SET_MODE_STRICT => {
            if flags != 0 || uargs != 0 {
                bail!(EINVAL);
            }
            seccomp::set_mode_strict(task)
        }
        SECCOMP_SET_MODE_FILTER => seccomp::set_mode_filter(task, flags, uargs),
        SECCOMP_GET_ACTION_AVAIL if flags == 0 => seccomp::get_action_avail(task, uargs),
        SECCOMP_GET_NOTIF_SIZES if flags == 0 => seccomp::get_notif_sizes(task, uargs),
        _ => Err(errno!(EINVAL, "seccomp operation {op} flags {flags:#x}")),
    }
}

/// prctl(PR_SET_SECCOMP, mode, filter).
pub fn prctl_set(task: &mut Task, mode: u64, filter: u64) -> Result<u64> {
    match mode {
        1 => seccomp::set_mode_strict(task),
        2 => seccomp::set_mode_filter(task, 0, filter),
        _ => Err(errno!(EINVAL, "seccomp mode {mode}")),
    }
}
