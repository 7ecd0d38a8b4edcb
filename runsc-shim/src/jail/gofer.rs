//! The gofer's seccomp allowlist, installed (with no_new_privs) once the gofer is
//! confined ([`super::gofer_ns`]) and before it reads the sentry's first request.
//!
//! Everything the gofer does to files goes through descriptors it holds: `openat` of one
//! name below a held directory (or a reopen through its `/proc/self/fd`), and the `f*` /
//! `*at` calls on held descriptors. The calls that change files are only in a writable
//! gofer's list.
//!
//! Not allowed, on purpose: exec, ptrace, signalling anything, sockets other than the
//! unix socket pairs of its channels, mount or namespace changes, and `open` (only
//! `openat` relative to a held descriptor is used).

use seccompiler::BpfProgram;

use super::{allowlist, always, fail_with, when_int_arg_in, THREAD_CLONE_FLAGS};

/// The gofer's filters, in the order they are installed.
pub fn filters(writable: bool) -> Result<Vec<BpfProgram>, seccompiler::Error> {
    let mut allowed = vec![
        // Memory: the gofer's heap, thread stacks.
        always(libc::SYS_mmap),
        always(libc::SYS_munmap),
        always(libc::SYS_mprotect),
        always(libc::SYS_mremap),
        always(libc::SYS_madvise),
        always(libc::SYS_brk),
        // Threads: one per channel (NewChannel); glibc's thread start-up and exit.
        when_int_arg_in(libc::SYS_clone, 0, &[THREAD_CLONE_FLAGS]),
        always(libc::SYS_clone3), // answered ENOSYS by the first filter: see below.
        always(libc::SYS_set_robust_list),
        always(libc::SYS_rseq),
        always(libc::SYS_futex),
        always(libc::SYS_sched_yield),
        always(libc::SYS_sched_getaffinity),
        always(libc::SYS_gettid),
        always(libc::SYS_getpid),
        always(libc::SYS_exit),
        always(libc::SYS_exit_group),
        // Naming channel threads (pthread_setname_np on itself).
        when_int_arg_in(
            libc::SYS_prctl,
            0,
            &[libc::PR_SET_NAME as u64, libc::PR_GET_NAME as u64],
        ),
        // Rust's runtime: signal masks around thread creation, the stack-overflow guard.
        always(libc::SYS_rt_sigaction),
        always(libc::SYS_rt_sigprocmask),
        always(libc::SYS_rt_sigreturn),
        always(libc::SYS_sigaltstack),
        // Channels: requests in, responses and donated fds out, new socket pairs for
        // NewChannel (unix only).
        always(libc::SYS_recvmsg),
        always(libc::SYS_sendmsg),
        when_int_arg_in(libc::SYS_socketpair, 0, &[libc::AF_UNIX as u64]),
        // Walking and opening: one name below a held directory (O_PATH | O_NOFOLLOW), or a
        // reopen of a held inode through the gofer's own /proc/self/fd.
        always(libc::SYS_openat),
        always(libc::SYS_close),
        // Probing a descriptor's flags (Rust's debug builds check an fd is open before
        // closing it).
        when_int_arg_in(libc::SYS_fcntl, 1, &[libc::F_GETFD as u64]),
        // Stat of held descriptors (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH)).
        always(libc::SYS_fstat),
        when_int_arg_in(libc::SYS_newfstatat, 3, &[libc::AT_EMPTY_PATH as u64]),
        always(libc::SYS_statx),
        always(libc::SYS_fstatfs),
        // Directory listings and link targets.
        always(libc::SYS_getdents64),
        always(libc::SYS_lseek),
        always(libc::SYS_readlinkat),
        // Extended attributes of held files (reading them).
        always(libc::SYS_fgetxattr),
        always(libc::SYS_flistxattr),
        // FSync (also allowed read-only: it changes nothing the guest can see).
        always(libc::SYS_fsync),
        always(libc::SYS_fdatasync),
        // The debug log.
        always(libc::SYS_write),
        always(libc::SYS_writev),
        // Timestamps in the log and HashMap seeds.
        always(libc::SYS_clock_gettime),
        always(libc::SYS_getrandom),
    ];
    if writable {
        allowed.extend([
            // Creating, removing and renaming names in held directories.
            always(libc::SYS_mkdirat),
            always(libc::SYS_mknodat),
            always(libc::SYS_symlinkat),
            always(libc::SYS_linkat),
            always(libc::SYS_unlinkat),
            always(libc::SYS_renameat2),
            // glibc's renameat2 with no flags is the older renameat.
            always(libc::SYS_renameat),
            // Setting attributes of held files (SetAttr).
            always(libc::SYS_fchmod),
            always(libc::SYS_fchmodat),
            always(libc::SYS_fchownat),
            always(libc::SYS_utimensat),
            always(libc::SYS_ftruncate),
            // Allocate.
            always(libc::SYS_fallocate),
            // Changing extended attributes.
            always(libc::SYS_fsetxattr),
            always(libc::SYS_fremovexattr),
        ]);
    }
    Ok(vec![
        // glibc tries clone3 first, whose flags live in memory a filter cannot read;
        // ENOSYS makes it fall back to clone, whose flags the allowlist checks.
        // (Installed first: installing a filter needs prctl and seccomp, which the
        // allowlist does not grant.)
        fail_with(&[libc::SYS_clone3], libc::ENOSYS)?,
        allowlist(allowed)?,
    ])
}

/// Sets no_new_privs and installs the gofer's filters on every thread of the process.
pub fn install(writable: bool) -> Result<(), seccompiler::Error> {
    super::install_all(filters(writable)?)
}
