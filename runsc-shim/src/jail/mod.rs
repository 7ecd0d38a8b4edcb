//! Confinement of moat's process roles. Each role's seccomp allowlist lives in its own
//! file, one commented entry per host system call; the default action is to kill the
//! process. Adding a syscall to a role is a reviewed change to that file.

pub mod gofer;
pub mod gofer_ns;
pub mod sentry;
pub mod sentry_ns;

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// clone flags of a new thread (glibc's pthread_create), the only clone a role's own
/// threads make.
pub const THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_SETTLS
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_CLEARTID) as u64;

/// Why confining a role failed.
#[derive(Debug, thiserror::Error)]
pub enum JailError {
    /// A step failed.
    #[error("{step}: {errno}")]
    Step {
        /// What was being done.
        step: &'static str,
        /// The host's answer.
        errno: nix::Error,
    },
    /// Changing the capability sets failed.
    #[error("{step}: {err}")]
    Caps {
        /// What was being done.
        step: &'static str,
        /// The `caps` crate's answer.
        err: caps::errors::CapsError,
    },
}

/// Names a failed confinement step.
pub fn step<T>(step: &'static str, r: nix::Result<T>) -> Result<T, JailError> {
    r.map_err(|errno| JailError::Step { step, errno })
}

/// Makes every mount of a fresh mount namespace private (nothing propagates back).
pub fn make_mounts_private() -> Result<(), JailError> {
    step(
        "make mounts private",
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
            None::<&str>,
        ),
    )
}

/// Installs `filters` (each sets no_new_privs first) on every thread of the process.
pub fn install_all(filters: Vec<BpfProgram>) -> Result<(), seccompiler::Error> {
    for f in filters {
        seccompiler::apply_filter_all_threads(&f)?;
    }
    Ok(())
}

/// A syscall allowed without conditions.
pub fn always(nr: i64) -> (i64, Vec<SeccompRule>) {
    (nr, Vec::new())
}

/// A syscall allowed when its C `int` argument `arg` equals one of `values` (compared
/// on the low 32 bits: the upper half of an int register is not defined).
pub fn when_int_arg_in(nr: i64, arg: u8, values: &[u64]) -> (i64, Vec<SeccompRule>) {
    when_arg_in(nr, arg, SeccompCmpArgLen::Dword, values)
}

/// A syscall allowed when its `unsigned long` argument `arg` equals one of `values`.
pub fn when_long_arg_in(nr: i64, arg: u8, values: &[u64]) -> (i64, Vec<SeccompRule>) {
    when_arg_in(nr, arg, SeccompCmpArgLen::Qword, values)
}

fn when_arg_in(nr: i64, arg: u8, len: SeccompCmpArgLen, values: &[u64]) -> (i64, Vec<SeccompRule>) {
    let rules = values
        .iter()
        .map(|&v| {
            let cond = SeccompCondition::new(arg, len.clone(), SeccompCmpOp::Eq, v)
                .expect("valid seccomp condition");
            SeccompRule::new(vec![cond]).expect("valid seccomp rule")
        })
        .collect();
    (nr, rules)
}

/// Compiles an allowlist: listed calls (and their conditions) are allowed, anything
/// else kills the process.
pub fn allowlist(entries: Vec<(i64, Vec<SeccompRule>)>) -> Result<BpfProgram, seccompiler::Error> {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = entries.into_iter().collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        TargetArch::x86_64,
    )?;
    filter.try_into().map_err(seccompiler::Error::Backend)
}

/// A filter that makes the listed calls fail with `errno` and allows everything else
/// (stacked on an allowlist, which still decides everything not listed here).
pub fn fail_with(calls: &[i64], errno: i32) -> Result<BpfProgram, seccompiler::Error> {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = calls.iter().map(|&nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        TargetArch::x86_64,
    )?;
    filter.try_into().map_err(seccompiler::Error::Backend)
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use nix::sys::signal::Signal;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};

    /// Forks a child that installs `filters` and then makes the raw system call
    /// `nr(args...)`; returns how the child ended. The child exits 0 if the call
    /// returned, whatever it returned.
    fn after_filters(filters: &[seccompiler::BpfProgram], nr: i64, args: [u64; 4]) -> WaitStatus {
        // SAFETY: the child only makes raw system calls (installing the prebuilt filters
        // allocates nothing) and then _exits; it never returns into the test harness.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                for f in filters {
                    if seccompiler::apply_filter(f).is_err() {
                        // SAFETY: _exit is async-signal-safe and ends the child.
                        unsafe { libc::_exit(100) };
                    }
                }
                // SAFETY: the calls tried here take integer arguments only (or pointers
                // that are null), so no memory of ours is touched.
                unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3]) };
                // SAFETY: _exit is async-signal-safe and ends the child.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
        }
    }

    fn killed_by_sigsys(status: WaitStatus) -> bool {
        matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _))
    }

    #[test]
    fn gofer_filter_kills_calls_outside_its_allowlist() {
        for writable in [false, true] {
            let filters = super::gofer::filters(writable).expect("compile");
            let inet = libc::AF_INET as u64;
            for (nr, args) in [
                (libc::SYS_socket, [inet, libc::SOCK_STREAM as u64, 0, 0]),
                (libc::SYS_socketpair, [inet, libc::SOCK_STREAM as u64, 0, 0]),
                (libc::SYS_execve, [0, 0, 0, 0]),
                (libc::SYS_ptrace, [libc::PTRACE_ATTACH as u64, 1, 0, 0]),
                (libc::SYS_kill, [1, 0, 0, 0]),
                (libc::SYS_mount, [0, 0, 0, 0]),
                (libc::SYS_unshare, [libc::CLONE_NEWNS as u64, 0, 0, 0]),
                (libc::SYS_open, [0, 0, 0, 0]),
            ] {
                assert!(
                    killed_by_sigsys(after_filters(&filters, nr, args)),
                    "syscall {nr} survived the gofer's filter (writable: {writable})"
                );
            }
            // Allowed: a stat of a held descriptor.
            let status = after_filters(
                &filters,
                libc::SYS_newfstatat,
                [0, 0, 0, libc::AT_EMPTY_PATH as u64],
            );
            assert!(
                matches!(status, WaitStatus::Exited(_, 0)),
                "newfstatat(AT_EMPTY_PATH) was refused: {status:?}"
            );
        }
    }

    #[test]
    fn read_only_gofer_filter_kills_calls_that_change_files() {
        let filters = super::gofer::filters(false).expect("compile");
        for nr in [
            libc::SYS_mkdirat,
            libc::SYS_unlinkat,
            libc::SYS_renameat2,
            libc::SYS_fchownat,
            libc::SYS_ftruncate,
            libc::SYS_fsetxattr,
        ] {
            assert!(
                killed_by_sigsys(after_filters(&filters, nr, [u64::MAX, 0, 0, 0])),
                "syscall {nr} survived the read-only gofer's filter"
            );
        }
    }

    #[test]
    fn sentry_filter_kills_exec_sockets_and_mounts() {
        let filters = super::sentry::filters().expect("compile");
        for (nr, args) in [
            (libc::SYS_socket, [libc::AF_INET as u64, 1, 0, 0]),
            (libc::SYS_execve, [0, 0, 0, 0]),
            (libc::SYS_ptrace, [libc::PTRACE_ATTACH as u64, 1, 0, 0]),
            (libc::SYS_mount, [0, 0, 0, 0]),
        ] {
            assert!(
                killed_by_sigsys(after_filters(&filters, nr, args)),
                "syscall {nr} survived the sentry's filter"
            );
        }
    }
}
