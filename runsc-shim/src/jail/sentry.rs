//! The sentry's seccomp allowlist, installed (on every thread, with no_new_privs) once
//! the sandbox kernel is set up and before the first guest instruction runs.
//!
//! The filter is inherited by the stub processes the sentry creates, so it also lists
//! what a stub executes: its start-up calls and the mmap/munmap/mprotect the sentry
//! injects. Guest system calls never reach it: PTRACE_SYSEMU stops them before seccomp.
//!
//! Not allowed, on purpose: opening any host path (open/openat fail with EACCES),
//! creating sockets, exec, and attaching ptrace to anything the sentry did not create.

use seccompiler::BpfProgram;

use super::{allowlist, always, fail_with, when_int_arg_in, when_long_arg_in, THREAD_CLONE_FLAGS};

/// clone flags of a new stub process (see sentry::platform::ptrace::stub).
const STUB_CLONE_FLAGS: u64 = (libc::CLONE_FILES | libc::SIGCHLD) as u64;
/// clone flags of a new thread inside a stub, for another guest thread sharing its
/// address space (StubProcess::spawn_thread).
const STUB_THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM) as u64;

/// The ptrace requests the ptrace platform uses. Not ATTACH nor PEEK/POKE (guest
/// memory is reached through the memory file).
const PTRACE_REQUESTS: &[u64] = &[
    libc::PTRACE_TRACEME as u64,
    libc::PTRACE_CONT as u64,
    libc::PTRACE_KILL as u64,
    libc::PTRACE_SINGLESTEP as u64,
    libc::PTRACE_GETREGS as u64,
    libc::PTRACE_SETREGS as u64,
    libc::PTRACE_GETFPREGS as u64,
    libc::PTRACE_SETFPREGS as u64,
    libc::PTRACE_SYSEMU as u64,
    libc::PTRACE_SYSEMU_SINGLESTEP as u64,
    libc::PTRACE_SETOPTIONS as u64,
    libc::PTRACE_GETEVENTMSG as u64,
    libc::PTRACE_GETSIGINFO as u64,
    libc::PTRACE_GETREGSET as u64,
    libc::PTRACE_SETREGSET as u64,
    libc::PTRACE_INTERRUPT as u64,
    // A sentry thread takes over the stub thread made for its guest thread (the sentry
    // runs in its own user namespace: it cannot reach host processes this way).
    libc::PTRACE_SEIZE as u64,
    // A guest thread that exits leaves its stub thread running exit(2), untraced.
    libc::PTRACE_DETACH as u64,
];

/// The terminal requests passed through to host stdio (sentry::fs::host).
const IOCTLS: &[u64] = &[
    libc::TCGETS,
    libc::TCSETS,
    libc::TCSETSW,
    libc::TCSETSF,
    libc::TIOCGWINSZ,
    libc::TIOCSWINSZ,
    libc::FIONREAD,
];

/// The sentry's filters, in the order they are installed.
pub fn filters() -> Result<Vec<BpfProgram>, seccompiler::Error> {
    let allowed = vec![
        // Memory: the sentry's own heap and mappings, the memory file; the stub's
        // code page and the guest mappings injected into stubs.
        always(libc::SYS_mmap),
        always(libc::SYS_munmap),
        always(libc::SYS_mprotect),
        always(libc::SYS_mremap),
        always(libc::SYS_madvise),
        always(libc::SYS_brk),
        // Freed memory-file frames are returned to the host with a hole punch.
        always(libc::SYS_fallocate),
        // Threads: one host thread per guest task; glibc's thread start-up and exit.
        when_long_arg_in(
            libc::SYS_clone,
            0,
            &[
                THREAD_CLONE_FLAGS,
                STUB_CLONE_FLAGS,
                STUB_THREAD_CLONE_FLAGS,
            ],
        ),
        always(libc::SYS_clone3), // answered ENOSYS by the first filter: see below.
        // Opening host paths is never allowed: these are answered EACCES by the first
        // filter, so a library's opportunistic read fails instead of killing the sentry.
        always(libc::SYS_open),
        always(libc::SYS_openat),
        always(libc::SYS_set_robust_list),
        always(libc::SYS_rseq),
        always(libc::SYS_futex),
        always(libc::SYS_sched_yield),
        always(libc::SYS_sched_getaffinity),
        // Pinning a stub thread to the CPU of the sentry thread that traces it (the
        // ptrace platform's speed: a tracer and tracee on different CPUs pay a
        // cross-CPU wake-up per guest syscall). It only changes CPU placement, and only
        // of processes the sentry's uid may touch: its own stubs (until the sentry has
        // its own pid namespace, also other processes running as host nobody).
        always(libc::SYS_sched_setaffinity),
        // The CPU a thread runs on (glibc's sched_getcpu falls back to it when neither
        // rseq nor the vDSO answers).
        always(libc::SYS_getcpu),
        always(libc::SYS_gettid),
        always(libc::SYS_getpid),
        always(libc::SYS_exit),
        always(libc::SYS_exit_group),
        // Naming task threads (pthread_setname_np on itself); a new stub's death signal.
        when_int_arg_in(
            libc::SYS_prctl,
            0,
            &[
                libc::PR_SET_NAME as u64,
                libc::PR_GET_NAME as u64,
                libc::PR_SET_PDEATHSIG as u64,
            ],
        ),
        // The sentry's own signal handling (Rust's stack-overflow guard) and waits.
        always(libc::SYS_rt_sigaction),
        always(libc::SYS_rt_sigprocmask),
        always(libc::SYS_rt_sigreturn),
        always(libc::SYS_sigaltstack),
        // `moat do --tty`: the thread forwarding the terminal's signals waits for them.
        always(libc::SYS_rt_sigtimedwait),
        // The ptrace platform: tracing stubs, waiting for their stops, killing them.
        when_int_arg_in(libc::SYS_ptrace, 0, PTRACE_REQUESTS),
        always(libc::SYS_wait4),
        always(libc::SYS_kill),
        always(libc::SYS_tgkill),
        // Stub start-up: check the sentry is still its parent, leave the sentry's
        // session (terminal signals), stop itself.
        always(libc::SYS_getppid),
        always(libc::SYS_setsid),
        // New stub threads park in pause() until their sentry thread seizes them.
        always(libc::SYS_pause),
        // I/O on fds the sentry already holds: host stdio, gofer-donated files, the
        // memory file, the debug log.
        always(libc::SYS_read),
        always(libc::SYS_write),
        always(libc::SYS_readv),
        always(libc::SYS_writev),
        always(libc::SYS_pread64),
        always(libc::SYS_pwrite64),
        always(libc::SYS_lseek),
        always(libc::SYS_close),
        always(libc::SYS_fcntl),
        always(libc::SYS_poll),
        always(libc::SYS_ppoll),
        when_int_arg_in(libc::SYS_ioctl, 1, IOCTLS),
        // fstat of held fds only: glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH).
        when_int_arg_in(libc::SYS_newfstatat, 3, &[libc::AT_EMPTY_PATH as u64]),
        // Talking to the gofer (requests, donated fds, new channels).
        always(libc::SYS_sendmsg),
        always(libc::SYS_recvmsg),
        // Time, randomness and system information served to guests.
        always(libc::SYS_clock_gettime),
        always(libc::SYS_clock_getres),
        always(libc::SYS_clock_nanosleep),
        always(libc::SYS_nanosleep),
        always(libc::SYS_getrandom),
        always(libc::SYS_sysinfo),
        // A guest's membarrier: a global barrier reaches the stub threads running
        // guest code (MEMBARRIER_CMD_GLOBAL only: it changes nothing, it only waits).
        when_int_arg_in(libc::SYS_membarrier, 0, &[1]),
    ];
    Ok(vec![
        // glibc tries clone3 first, whose flags live in memory a filter cannot read;
        // ENOSYS makes it fall back to clone, whose flags the allowlist checks.
        // (Installed first: installing a filter needs prctl and seccomp, which the
        // allowlist does not grant.)
        fail_with(&[libc::SYS_clone3], libc::ENOSYS)?,
        fail_with(&[libc::SYS_open, libc::SYS_openat], libc::EACCES)?,
        allowlist(allowed)?,
    ])
}

/// Installs the sentry's filters on every thread of the process.
pub fn install() -> Result<(), seccompiler::Error> {
    super::install_all(filters()?)
}
