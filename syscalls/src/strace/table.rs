//! What each traced system call's arguments are, in one table. A call missing here is
//! still traced, with its six raw registers in hex.

use syscalls::Sysno;

use super::args::{c_int, c_uint};
use super::fdctl::FCNTL_CMD;
use super::flags::{self as f, Bits, Xlat};
use super::signal::{self, SIG_HOW};
use super::{socket, task, Call};

/// How one argument register is shown.
///
/// Kinds named `Out*` are filled in by the kernel: they show as a pointer before the call
/// and decoded after it returned successfully. A field naming another argument (`len`,
/// `count`, `size`, `flags`) holds that argument's index.
#[derive(Clone, Copy)]
pub(super) enum Arg {
    // Numbers.
    /// A C `int`, in decimal.
    Int,
    /// A C `long` or `off_t`, in decimal.
    Long,
    /// A `size_t` or other unsigned count, in decimal.
    Ulong,
    /// A number best read in hex.
    Hex,
    /// An address: `NULL` or hex.
    Ptr,
    Fd,
    /// A directory fd: `AT_FDCWD` or a number.
    DirFd,
    /// Permission bits in octal: `0644`.
    Octal,
    /// One value of an enumeration of a C `int`.
    Enum(&'static Xlat),
    /// A set of flag bits of a C `int`.
    Flags(Bits),
    /// A number with its own formatter (open flags, mmap flags, signals...).
    Format(fn(u64) -> String),

    // Numbers shaped by another argument; `None` from the formatter hides them.
    /// open's mode, shown only when argument `flags` asks to create a file.
    CreateMode {
        flags: usize,
    },
    /// mremap's new address, shown only with MREMAP_FIXED.
    MremapNewAddr,
    /// socket's protocol, named after the family in argument 0.
    SocketProtocol,
    /// A socket option, named after the level in argument 1.
    SockoptName,
    /// prctl's second argument: a string for PR_SET_NAME, else hex.
    PrctlArg2,
    /// fcntl's third argument, shaped by the command.
    FcntlOperand,
    IoctlRequest,
    /// ioctl's third argument, shaped by the request (an output for some).
    IoctlOperand,

    // Inputs the kernel reads from guest memory.
    /// A path, shown whole.
    Path,
    /// A C string, shown up to 32 bytes.
    Str,
    /// A buffer of argument `len` bytes, shown up to 32.
    Buf {
        len: usize,
    },
    /// A `struct iovec[]` of argument `count` entries.
    Iovec {
        count: usize,
    },
    /// execve's argv: `["ls", "-la"]`.
    Argv,
    /// execve's envp, counted: `0x7ffd... /* 20 vars */`.
    Envp,
    Timespec,
    Sigset {
        size: usize,
    },
    Sigaction,
    /// A `struct rlimit`; `prlimit64` names infinity `RLIM64_INFINITY`.
    Rlimit {
        sixty_four: bool,
    },
    Sockaddr {
        len: usize,
    },
    CpuSet {
        len: usize,
    },
    CloneArgs,
    /// A `struct pollfd[]` of argument `count` entries.
    PollFds {
        count: usize,
    },
    /// A `gid_t[]` of argument `count` entries.
    Gids {
        count: usize,
    },
    /// A `socklen_t` the kernel reads and updates, as `[16]`: the value in memory when
    /// formatted (the caller's before the call, the kernel's after).
    Socklen,
    /// A `loff_t *` offset the kernel reads and updates (sendfile, splice), as `[4096]`.
    Loff,

    // Outputs the kernel writes to guest memory.
    /// The buffer, as long as the return value.
    OutBuf,
    /// Like `OutBuf`, every byte in `\x` hex (random data).
    OutRandom,
    /// A NUL-terminated path (getcwd).
    OutPath,
    /// A `struct iovec[]`, filled with as many bytes as the return value.
    OutIovec {
        count: usize,
    },
    OutStat,
    OutStatx,
    OutDents,
    OutUtsname,
    OutSysinfo,
    OutRlimit {
        sixty_four: bool,
    },
    OutTimespec,
    OutTimeval,
    /// A `time_t`, as `[1700000000]`.
    OutTime,
    OutSigset {
        size: usize,
    },
    OutSigaction,
    /// `int[2]`, as `[3, 4]`.
    OutFdPair,
    /// A `gid_t[]` of at most argument `count` entries, as many as returned.
    OutGids {
        count: usize,
    },
    OutCpuSet,
    OutWaitStatus,
    /// A `struct sockaddr` whose length the kernel stores at argument `len`.
    OutSockaddr {
        len: usize,
    },
}

impl Arg {
    /// Whether the argument is filled in by the call, so it is decoded after it returns.
    pub(super) fn is_output(self, args: &[u64; 6]) -> bool {
        use Arg::*;
        match self {
            IoctlOperand => super::fdctl::ioctl_is_output(args[1]),
            FcntlOperand => super::fdctl::fcntl_is_output(args[1]),
            OutBuf
            | OutRandom
            | OutPath
            | OutIovec { .. }
            | OutStat
            | OutStatx
            | OutDents
            | OutUtsname
            | OutSysinfo
            | OutRlimit { .. }
            | OutTimespec
            | OutTimeval
            | OutTime
            | OutSigset { .. }
            | OutSigaction
            | OutFdPair
            | OutGids { .. }
            | OutCpuSet
            | OutWaitStatus
            | OutSockaddr { .. } => true,
            _ => false,
        }
    }
}

/// The shape of a call's argument list.
pub(super) enum Shape {
    /// One entry per argument register, in order.
    Args(&'static [Arg]),
    /// Arguments whose number, order or labels depend on other arguments.
    Custom(fn(&Call) -> Vec<String>),
}

/// The argument shape of `sysno`, or `None` to print its raw registers.
pub(super) fn shape(sysno: Sysno) -> Option<Shape> {
    Some(Shape::Args(match sysno {
        Sysno::clone => return Some(Shape::Custom(task::clone)),
        Sysno::futex => return Some(Shape::Custom(task::futex)),
        _ => args(sysno)?,
    }))
}

// Flag sets used by a single entry below.
const MS: Bits = &[(4, "MS_SYNC"), (1, "MS_ASYNC"), (2, "MS_INVALIDATE")];
const LOCK: Bits = &[
    (1, "LOCK_SH"),
    (2, "LOCK_EX"),
    (4, "LOCK_NB"),
    (8, "LOCK_UN"),
];
const EFD: Bits = &[
    (1, "EFD_SEMAPHORE"),
    (0o2000000, "EFD_CLOEXEC"),
    (0o4000, "EFD_NONBLOCK"),
];
const IN: Bits = &[(0o4000, "IN_NONBLOCK"), (0o2000000, "IN_CLOEXEC")];
const EPOLL: Bits = &[(0o2000000, "EPOLL_CLOEXEC")];
const TFD: Bits = &[(0o2000000, "TFD_CLOEXEC"), (0o4000, "TFD_NONBLOCK")];
const SFD: Bits = &[(0o2000000, "SFD_CLOEXEC"), (0o4000, "SFD_NONBLOCK")];
const PIDFD: Bits = &[(0o4000, "PIDFD_NONBLOCK")];
const MFD: Bits = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];
const SPLICE: Bits = &[
    (1, "SPLICE_F_MOVE"),
    (2, "SPLICE_F_NONBLOCK"),
    (4, "SPLICE_F_MORE"),
    (8, "SPLICE_F_GIFT"),
];
const TFD_TIMER: Bits = &[(1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")];
const FADV: Xlat = Xlat {
    unknown: "POSIX_FADV_???",
    items: &[
        (0, "POSIX_FADV_NORMAL"),
        (1, "POSIX_FADV_RANDOM"),
        (2, "POSIX_FADV_SEQUENTIAL"),
        (3, "POSIX_FADV_WILLNEED"),
        (4, "POSIX_FADV_DONTNEED"),
        (5, "POSIX_FADV_NOREUSE"),
    ],
};
const XATTR: Bits = &[(1, "XATTR_CREATE"), (2, "XATTR_REPLACE")];
const SHMAT: Bits = &[
    (0o10000, "SHM_RDONLY"),
    (0o20000, "SHM_RND"),
    (0o40000, "SHM_REMAP"),
    (0o100000, "SHM_EXEC"),
];
const MSGFLG: Bits = &[
    (0o4000, "IPC_NOWAIT"),
    (0o10000, "MSG_NOERROR"),
    (0o20000, "MSG_EXCEPT"),
    (0o40000, "MSG_COPY"),
];
const SHMCTL: Xlat = Xlat {
    unknown: "SHM_???",
    items: &[
        (0, "IPC_RMID"),
        (1, "IPC_SET"),
        (2, "IPC_STAT"),
        (3, "IPC_INFO"),
        (11, "SHM_LOCK"),
        (12, "SHM_UNLOCK"),
        (13, "SHM_STAT"),
        (14, "SHM_INFO"),
        (15, "SHM_STAT_ANY"),
    ],
};
const SEMCTL: Xlat = Xlat {
    unknown: "SEM_???",
    items: &[
        (0, "IPC_RMID"),
        (1, "IPC_SET"),
        (2, "IPC_STAT"),
        (3, "IPC_INFO"),
        (11, "GETPID"),
        (12, "GETVAL"),
        (13, "GETALL"),
        (14, "GETNCNT"),
        (15, "GETZCNT"),
        (16, "SETVAL"),
        (17, "SETALL"),
        (18, "SEM_STAT"),
        (19, "SEM_INFO"),
        (20, "SEM_STAT_ANY"),
    ],
};
const MSGCTL: Xlat = Xlat {
    unknown: "MSG_???",
    items: &[
        (0, "IPC_RMID"),
        (1, "IPC_SET"),
        (2, "IPC_STAT"),
        (3, "IPC_INFO"),
        (11, "MSG_STAT"),
        (12, "MSG_INFO"),
        (13, "MSG_STAT_ANY"),
    ],
};

/// shmget/semget/msgget flags: `IPC_CREAT|IPC_EXCL|0600`.
fn ipc_get_flags(v: u64) -> String {
    let v = v as u32 as u64;
    let mut parts = f::flag_names(
        v & !0o777,
        &[
            (0o1000, "IPC_CREAT"),
            (0o2000, "IPC_EXCL"),
            (0o4000, "IPC_NOWAIT"),
        ],
    );
    match v & 0o777 {
        0 if parts.is_empty() => parts.push("0".to_owned()),
        0 => {}
        mode => parts.push(format!("0{mode:o}")),
    }
    parts.join("|")
}
const RENAME: Bits = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];
const CLOSE_RANGE: Bits = &[(2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")];
const EPOLL_CTL: Xlat = Xlat {
    unknown: "EPOLL_CTL_???",
    items: &[
        (1, "EPOLL_CTL_ADD"),
        (2, "EPOLL_CTL_DEL"),
        (3, "EPOLL_CTL_MOD"),
    ],
};
const IDTYPE: Xlat = Xlat {
    unknown: "P_???",
    items: &[(0, "P_ALL"), (1, "P_PID"), (2, "P_PGID"), (3, "P_PIDFD")],
};
const RUSAGE: Xlat = Xlat {
    unknown: "RUSAGE_???",
    items: &[
        (0, "RUSAGE_SELF"),
        (u32::MAX as u64, "RUSAGE_CHILDREN"),
        (1, "RUSAGE_THREAD"),
    ],
};

/// The table proper: x86-64 argument lists, as in the man pages.
fn args(sysno: Sysno) -> Option<&'static [Arg]> {
    use Arg::*;
    const OPEN_FLAGS: Arg = Format(f::open_flags);
    const SIGNAL: Arg = Format(signal::signal);
    const CLOCK: Arg = Format(clock_id);
    const ACCESS: Arg = Format(f::access_mode);
    Some(match sysno {
        Sysno::getpid
        | Sysno::getppid
        | Sysno::gettid
        | Sysno::getuid
        | Sysno::geteuid
        | Sysno::getgid
        | Sysno::getegid
        | Sysno::getpgrp
        | Sysno::setsid
        | Sysno::sched_yield
        | Sysno::pause
        | Sysno::fork
        | Sysno::vfork
        | Sysno::sync
        | Sysno::vhangup
        | Sysno::munlockall
        | Sysno::inotify_init
        | Sysno::restart_syscall
        | Sysno::rt_sigreturn => &[],
        // Files and descriptors.
        Sysno::read => &[Fd, OutBuf, Ulong],
        Sysno::write => &[Fd, Buf { len: 2 }, Ulong],
        Sysno::pread64 => &[Fd, OutBuf, Ulong, Long],
        Sysno::pwrite64 => &[Fd, Buf { len: 2 }, Ulong, Long],
        Sysno::readv => &[Fd, OutIovec { count: 2 }, Int],
        Sysno::writev => &[Fd, Iovec { count: 2 }, Int],
        Sysno::open => &[Path, OPEN_FLAGS, CreateMode { flags: 1 }],
        Sysno::openat => &[DirFd, Path, OPEN_FLAGS, CreateMode { flags: 2 }],
        Sysno::openat2 => &[DirFd, Path, Ptr, Ulong],
        Sysno::creat => &[Path, Octal],
        Sysno::close | Sysno::fsync | Sysno::fdatasync | Sysno::fchdir | Sysno::dup => &[Fd],
        Sysno::close_range => &[Ulong, Ulong, Flags(CLOSE_RANGE)],
        Sysno::lseek => &[Fd, Long, Enum(&f::SEEK)],
        Sysno::stat | Sysno::lstat => &[Path, OutStat],
        Sysno::fstat => &[Fd, OutStat],
        Sysno::newfstatat => &[DirFd, Path, OutStat, Flags(f::AT)],
        Sysno::statx => &[
            DirFd,
            Path,
            Format(f::statx_flags),
            Flags(f::STATX_MASK),
            OutStatx,
        ],
        Sysno::statfs => &[Path, Ptr],
        Sysno::fstatfs => &[Fd, Ptr],
        Sysno::getdents | Sysno::getdents64 => &[Fd, OutDents, Ulong],
        Sysno::readlink => &[Path, OutBuf, Ulong],
        Sysno::readlinkat => &[DirFd, Path, OutBuf, Ulong],
        Sysno::access => &[Path, ACCESS],
        Sysno::faccessat => &[DirFd, Path, ACCESS],
        Sysno::faccessat2 => &[DirFd, Path, ACCESS, Flags(f::AT_ACCESS)],
        Sysno::getcwd => &[OutPath, Ulong],
        Sysno::chdir | Sysno::rmdir | Sysno::unlink | Sysno::chroot => &[Path],
        Sysno::mkdir | Sysno::chmod => &[Path, Octal],
        Sysno::mkdirat | Sysno::fchmodat => &[DirFd, Path, Octal],
        Sysno::fchmodat2 => &[DirFd, Path, Octal, Flags(f::AT)],
        Sysno::fchmod => &[Fd, Octal],
        Sysno::umask => &[Octal],
        Sysno::chown | Sysno::lchown => &[Path, Int, Int],
        Sysno::fchown => &[Fd, Int, Int],
        Sysno::fchownat => &[DirFd, Path, Int, Int, Flags(f::AT)],
        Sysno::mknod => &[Path, Format(f::file_mode), Format(f::makedev)],
        Sysno::mknodat => &[DirFd, Path, Format(f::file_mode), Format(f::makedev)],
        Sysno::unlinkat => &[DirFd, Path, Flags(f::AT_UNLINK)],
        Sysno::rename | Sysno::link | Sysno::symlink => &[Path, Path],
        Sysno::renameat => &[DirFd, Path, DirFd, Path],
        Sysno::renameat2 => &[DirFd, Path, DirFd, Path, Flags(RENAME)],
        Sysno::linkat => &[DirFd, Path, DirFd, Path, Flags(f::AT)],
        Sysno::symlinkat => &[Path, DirFd, Path],
        Sysno::utimensat => &[DirFd, Path, Ptr, Flags(f::AT)],
        Sysno::truncate => &[Path, Long],
        Sysno::ftruncate => &[Fd, Long],
        Sysno::fallocate => &[Fd, Hex, Long, Long],
        Sysno::fadvise64 => &[Fd, Long, Long, Enum(&FADV)],
        Sysno::readahead => &[Fd, Long, Ulong],
        Sysno::sync_file_range => &[Fd, Long, Long, Hex],
        Sysno::syncfs => &[Fd],
        Sysno::copy_file_range => &[Fd, Loff, Fd, Loff, Ulong, Hex],
        Sysno::splice => &[Fd, Loff, Fd, Loff, Ulong, Flags(SPLICE)],
        Sysno::tee => &[Fd, Fd, Ulong, Flags(SPLICE)],
        Sysno::vmsplice => &[Fd, Iovec { count: 2 }, Ulong, Flags(SPLICE)],
        Sysno::utime | Sysno::utimes => &[Path, Ptr],
        Sysno::futimesat => &[DirFd, Path, Ptr],
        Sysno::pivot_root => &[Path, Path],
        Sysno::acct | Sysno::swapoff => &[Path],
        Sysno::swapon => &[Path, Hex],
        Sysno::flock => &[Fd, Flags(LOCK)],
        Sysno::fcntl => &[Fd, Enum(&FCNTL_CMD), FcntlOperand],
        Sysno::ioctl => &[Fd, IoctlRequest, IoctlOperand],
        Sysno::dup2 => &[Fd, Fd],
        Sysno::dup3 => &[Fd, Fd, Flags(f::PIPE)],
        Sysno::pipe => &[OutFdPair],
        Sysno::pipe2 => &[OutFdPair, Flags(f::PIPE)],
        Sysno::sendfile => &[Fd, Fd, Loff, Ulong],
        Sysno::memfd_create => &[Str, Flags(MFD)],
        Sysno::eventfd => &[Ulong],
        Sysno::eventfd2 => &[Ulong, Flags(EFD)],
        Sysno::inotify_add_watch => &[Fd, Path, Hex],
        Sysno::inotify_init1 => &[Flags(IN)],
        Sysno::epoll_create1 => &[Flags(EPOLL)],
        Sysno::epoll_create => &[Int],
        Sysno::epoll_ctl => &[Fd, Enum(&EPOLL_CTL), Fd, Ptr],
        Sysno::epoll_wait => &[Fd, Ptr, Int, Int],
        Sysno::epoll_pwait => &[Fd, Ptr, Int, Int, Sigset { size: 5 }, Ulong],
        Sysno::poll => &[PollFds { count: 1 }, Ulong, Int],
        Sysno::ppoll => &[
            PollFds { count: 1 },
            Ulong,
            Timespec,
            Sigset { size: 4 },
            Ulong,
        ],
        Sysno::epoll_pwait2 => &[Fd, Ptr, Int, Timespec, Sigset { size: 5 }, Ulong],
        Sysno::inotify_rm_watch => &[Fd, Int],
        Sysno::timerfd_settime => &[Fd, Flags(TFD_TIMER), Ptr, Ptr],
        Sysno::timerfd_gettime => &[Fd, Ptr],
        Sysno::select => &[Int, Ptr, Ptr, Ptr, Ptr],
        Sysno::pselect6 => &[Int, Ptr, Ptr, Ptr, Timespec, Ptr],
        Sysno::timerfd_create => &[CLOCK, Flags(TFD)],
        Sysno::signalfd4 => &[Fd, Sigset { size: 2 }, Ulong, Flags(SFD)],
        Sysno::signalfd => &[Fd, Sigset { size: 2 }, Ulong],
        Sysno::pidfd_open => &[Int, Flags(PIDFD)],
        Sysno::getxattr | Sysno::lgetxattr => &[Path, Str, OutBuf, Ulong],
        Sysno::fgetxattr => &[Fd, Str, OutBuf, Ulong],
        Sysno::setxattr | Sysno::lsetxattr => &[Path, Str, Buf { len: 3 }, Ulong, Flags(XATTR)],
        Sysno::fsetxattr => &[Fd, Str, Buf { len: 3 }, Ulong, Flags(XATTR)],
        Sysno::listxattr | Sysno::llistxattr => &[Path, OutBuf, Ulong],
        Sysno::flistxattr => &[Fd, OutBuf, Ulong],
        Sysno::removexattr | Sysno::lremovexattr => &[Path, Str],
        Sysno::fremovexattr => &[Fd, Str],
        Sysno::mount => &[Str, Path, Str, Hex, Ptr],
        Sysno::umount2 => &[Path, Hex],
        // Memory.
        Sysno::mmap => &[Ptr, Ulong, Format(f::prot), Format(f::mmap_flags), Fd, Hex],
        Sysno::munmap | Sysno::mlock | Sysno::munlock => &[Ptr, Ulong],
        Sysno::mprotect => &[Ptr, Ulong, Format(f::prot)],
        Sysno::brk => &[Ptr],
        Sysno::mremap => &[Ptr, Ulong, Ulong, Flags(f::MREMAP), MremapNewAddr],
        Sysno::madvise => &[Ptr, Ulong, Enum(&f::MADV)],
        Sysno::msync => &[Ptr, Ulong, Flags(MS)],
        Sysno::mincore => &[Ptr, Ulong, Ptr],
        // Processes, threads and identity.
        Sysno::execve => &[Path, Argv, Envp],
        Sysno::execveat => &[DirFd, Path, Argv, Envp, Flags(f::AT)],
        Sysno::exit | Sysno::exit_group => &[Int],
        Sysno::wait4 => &[Int, OutWaitStatus, Flags(f::WAIT), Ptr],
        Sysno::waitid => &[Enum(&IDTYPE), Int, Ptr, Flags(f::WAIT), Ptr],
        Sysno::clone3 => &[CloneArgs, Ulong],
        Sysno::kill | Sysno::tkill => &[Int, SIGNAL],
        Sysno::tgkill => &[Int, Int, SIGNAL],
        Sysno::arch_prctl => &[Enum(&f::ARCH_PRCTL), Hex],
        Sysno::prctl => &[Enum(&task::PR), PrctlArg2, Hex, Hex, Hex],
        Sysno::personality => &[Hex],
        Sysno::unshare => &[Flags(f::CLONE)],
        Sysno::setns => &[Fd, Flags(f::CLONE)],
        Sysno::seccomp => &[
            Enum(&task::SECCOMP_OP),
            Flags(task::SECCOMP_FILTER_FLAGS),
            Ptr,
        ],
        Sysno::ptrace => &[Int, Int, Ptr, Ptr],
        Sysno::capget | Sysno::capset => &[Ptr, Ptr],
        Sysno::getpriority => &[Int, Int],
        Sysno::setpriority => &[Int, Int, Int],
        Sysno::sched_getscheduler
        | Sysno::sched_get_priority_max
        | Sysno::sched_get_priority_min => &[Int],
        Sysno::sched_setscheduler => &[Int, Int, Ptr],
        Sysno::sched_getparam | Sysno::sched_setparam => &[Int, Ptr],
        Sysno::sched_rr_get_interval => &[Int, OutTimespec],
        Sysno::sched_setattr => &[Int, Ptr, Hex],
        Sysno::sched_getattr => &[Int, Ptr, Ulong, Hex],
        Sysno::kcmp => &[Int, Int, Int, Ulong, Ulong],
        Sysno::pidfd_send_signal => &[Fd, SIGNAL, Ptr, Hex],
        Sysno::pidfd_getfd => &[Fd, Fd, Hex],
        Sysno::process_vm_readv | Sysno::process_vm_writev => &[Int, Ptr, Ulong, Ptr, Ulong, Hex],
        Sysno::mlock2 => &[Ptr, Ulong, Hex],
        Sysno::membarrier => &[Int, Hex, Int],
        Sysno::shmget => &[Hex, Ulong, Format(ipc_get_flags)],
        Sysno::shmat => &[Int, Ptr, Flags(SHMAT)],
        Sysno::shmdt => &[Ptr],
        Sysno::shmctl => &[Int, Enum(&SHMCTL), Ptr],
        Sysno::semget => &[Hex, Int, Format(ipc_get_flags)],
        Sysno::semop => &[Int, Ptr, Ulong],
        Sysno::semtimedop => &[Int, Ptr, Ulong, Timespec],
        Sysno::semctl => &[Int, Int, Enum(&SEMCTL), Hex],
        Sysno::msgget => &[Hex, Format(ipc_get_flags)],
        Sysno::msgsnd => &[Int, Ptr, Ulong, Flags(MSGFLG)],
        Sysno::msgrcv => &[Int, Ptr, Ulong, Long, Flags(MSGFLG)],
        Sysno::msgctl => &[Int, Enum(&MSGCTL), Ptr],
        Sysno::mq_open => &[Str, Format(f::open_flags), Octal, Ptr],
        Sysno::mq_unlink => &[Str],
        Sysno::mq_timedsend => &[Fd, Buf { len: 2 }, Ulong, Ulong, Timespec],
        Sysno::mq_timedreceive => &[Fd, Ptr, Ulong, Ptr, Timespec],
        Sysno::mq_notify => &[Fd, Ptr],
        Sysno::mq_getsetattr => &[Fd, Ptr, Ptr],
        Sysno::setdomainname => &[Buf { len: 1 }, Int],
        Sysno::reboot => &[Hex, Hex, Hex, Ptr],
        Sysno::io_uring_setup => &[Ulong, Ptr],
        Sysno::io_uring_enter => &[Fd, Ulong, Ulong, Hex, Ptr, Ulong],
        Sysno::io_uring_register => &[Fd, Ulong, Ptr, Ulong],
        Sysno::bpf => &[Int, Ptr, Ulong],
        Sysno::set_tid_address => &[Ptr],
        Sysno::set_robust_list => &[Ptr, Ulong],
        Sysno::get_robust_list => &[Int, Ptr, Ptr],
        Sysno::rseq => &[Ptr, Hex, Hex, Hex],
        Sysno::setuid | Sysno::setgid | Sysno::setfsuid | Sysno::setfsgid => &[Int],
        Sysno::getpgid | Sysno::getsid => &[Int],
        Sysno::setpgid | Sysno::setreuid | Sysno::setregid => &[Int, Int],
        Sysno::setresuid | Sysno::setresgid => &[Int, Int, Int],
        Sysno::getresuid | Sysno::getresgid => &[Ptr, Ptr, Ptr],
        Sysno::getgroups => &[Int, OutGids { count: 0 }],
        Sysno::setgroups => &[Int, Gids { count: 0 }],
        Sysno::getrlimit => &[Enum(&f::RLIMIT), OutRlimit { sixty_four: false }],
        Sysno::setrlimit => &[Enum(&f::RLIMIT), Rlimit { sixty_four: false }],
        Sysno::prlimit64 => &[
            Int,
            Enum(&f::RLIMIT),
            Rlimit { sixty_four: true },
            OutRlimit { sixty_four: true },
        ],
        Sysno::getrusage => &[Enum(&RUSAGE), Ptr],
        Sysno::uname => &[OutUtsname],
        Sysno::sysinfo => &[OutSysinfo],
        Sysno::sethostname => &[Buf { len: 1 }, Int],
        Sysno::sched_getaffinity => &[Int, Ulong, OutCpuSet],
        Sysno::sched_setaffinity => &[Int, Ulong, CpuSet { len: 1 }],
        Sysno::getrandom => &[OutRandom, Ulong, Flags(f::GRND)],
        Sysno::getcpu => &[Ptr, Ptr, Ptr],
        // Time.
        Sysno::clock_gettime | Sysno::clock_getres => &[CLOCK, OutTimespec],
        Sysno::clock_settime => &[CLOCK, Timespec],
        Sysno::timer_create => &[CLOCK, Ptr, Ptr],
        Sysno::timer_settime => &[Int, Flags(f::TIMER), Ptr, Ptr],
        Sysno::timer_gettime => &[Int, Ptr],
        Sysno::timer_getoverrun | Sysno::timer_delete => &[Int],
        Sysno::getitimer => &[Int, Ptr],
        Sysno::setitimer => &[Int, Ptr, Ptr],
        Sysno::times => &[Ptr],
        Sysno::clock_nanosleep => &[CLOCK, Flags(f::TIMER), Timespec, Ptr],
        Sysno::nanosleep => &[Timespec, Ptr],
        Sysno::gettimeofday => &[OutTimeval, Ptr],
        Sysno::time => &[OutTime],
        Sysno::alarm => &[Ulong],
        // Signals.
        Sysno::rt_sigaction => &[SIGNAL, Sigaction, OutSigaction, Ulong],
        Sysno::rt_sigprocmask => &[
            Enum(&SIG_HOW),
            Sigset { size: 3 },
            OutSigset { size: 3 },
            Ulong,
        ],
        Sysno::rt_sigpending => &[OutSigset { size: 1 }, Ulong],
        Sysno::rt_sigsuspend => &[Sigset { size: 1 }, Ulong],
        Sysno::sigaltstack => &[Ptr, Ptr],
        Sysno::rt_sigtimedwait => &[Sigset { size: 3 }, Ptr, Timespec, Ulong],
        Sysno::rt_sigqueueinfo => &[Int, SIGNAL, Ptr],
        Sysno::rt_tgsigqueueinfo => &[Int, Int, SIGNAL, Ptr],
        // Sockets.
        Sysno::socket => &[Enum(&f::AF), Format(f::socket_type), SocketProtocol],
        Sysno::socketpair => &[Enum(&f::AF), Format(f::socket_type), Int, OutFdPair],
        Sysno::connect | Sysno::bind => &[Fd, Sockaddr { len: 2 }, Int],
        Sysno::listen => &[Fd, Int],
        Sysno::accept | Sysno::getsockname | Sysno::getpeername => {
            &[Fd, OutSockaddr { len: 2 }, Socklen]
        }
        Sysno::accept4 => &[Fd, OutSockaddr { len: 2 }, Socklen, Flags(f::SOCK_FLAGS)],
        Sysno::sendto => &[
            Fd,
            Buf { len: 2 },
            Ulong,
            Flags(f::MSG),
            Sockaddr { len: 5 },
            Int,
        ],
        Sysno::recvfrom => &[
            Fd,
            OutBuf,
            Ulong,
            Flags(f::MSG),
            OutSockaddr { len: 5 },
            Socklen,
        ],
        Sysno::sendmsg | Sysno::recvmsg => &[Fd, Ptr, Flags(f::MSG)],
        Sysno::sendmmsg => &[Fd, Ptr, Ulong, Flags(f::MSG)],
        Sysno::recvmmsg => &[Fd, Ptr, Ulong, Flags(f::MSG), Timespec],
        Sysno::shutdown => &[Fd, Enum(&f::SHUT)],
        Sysno::setsockopt => &[Fd, Format(socket::level), SockoptName, Ptr, Int],
        Sysno::getsockopt => &[Fd, Format(socket::level), SockoptName, Ptr, Socklen],
        _ => return None,
    })
}

/// A clock id: `CLOCK_MONOTONIC`, or a negative per-process CPU clock in decimal.
fn clock_id(value: u64) -> String {
    let id = c_int(value);
    if id < 0 {
        id.to_string()
    } else {
        f::CLOCK.format(c_uint(value))
    }
}
