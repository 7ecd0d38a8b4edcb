//! The table: every x86-64 system call moat knows, its handler and its support level.

use std::fmt;
use std::sync::LazyLock;

use sentry::errno::Result;
use sentry::kernel::Task;

use crate::args::FromArg;
use crate::{
    advise, creds, events, fs, fschange, futex, info, ipc, locks, memfd, mm, mount, mqueue, net,
    notify, poll, process, remote, sched, seccomp, signal, splice, time,
};

/// A handler: decodes its arguments and runs the call.
pub type Handler = fn(&mut Task, &[u64; 6]) -> Result<u64>;

/// How completely moat implements a system call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// As Linux does.
    Full,
    /// Implemented with the stated limits.
    Partial(&'static str),
    /// Not implemented: always fails with this errno, for the stated reason.
    Unsupported(i32, &'static str),
}

impl Support {
    /// The errno an unsupported call fails with.
    pub fn errno(&self) -> i32 {
        match self {
            Support::Unsupported(e, _) => *e,
            _ => libc::ENOSYS,
        }
    }
}

impl fmt::Display for Support {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Support::Full => f.write_str("full"),
            Support::Partial(note) => write!(f, "partial: {note}"),
            Support::Unsupported(e, note) => {
                write!(f, "unsupported ({}): {note}", sentry::errno::name(*e))
            }
        }
    }
}

/// One table row.
#[derive(Clone)]
pub struct Entry {
    /// The syscall number.
    pub nr: u64,
    /// Its name.
    pub name: &'static str,
    /// Support level.
    pub support: Support,
    /// The handler (None: fails with the support level's errno).
    pub handler: Option<Handler>,
}

/// Builds a handler from a function taking typed arguments.
macro_rules! handler {
    ($f:path; $($t:ty),*) => {{
        #[allow(unused_variables, unused_mut)]
        fn call(task: &mut Task, a: &[u64; 6]) -> Result<u64> {
            let mut it = a.iter().copied();
            $f(task, $(<$t as FromArg>::from_arg(it.next().unwrap_or(0))),*)
        }
        Some(call as Handler)
    }};
}

/// The table rows: `nr name => support, handler(arg types...)`.
macro_rules! syscalls {
    ($( $nr:literal $name:ident => $support:expr $(, $f:path [$($t:ty),*])? ;)*) => {
        fn rows() -> Vec<Entry> {
            vec![$(
                Entry {
                    nr: $nr,
                    name: stringify!($name),
                    support: $support,
                    handler: syscalls!(@h $($f [$($t),*])?),
                },
            )*]
        }
    };
    (@h) => { None };
    (@h $f:path [$($t:ty),*]) => { handler!($f; $($t),*) };
}

use Support::{Full, Partial, Unsupported};
const ENOSYS: i32 = libc::ENOSYS;
const XATTR_NOTE: &str =
    "user.*, trusted.* and security.* on tmpfs; none on the read-only root yet";
const MKNOD_NOTE: &str =
    "fifos, sockets and regular files; device nodes for root, opening only the sandbox's own devices";
const SPLICE_NOTE: &str =
    "data is copied, not shared: a pipe's capacity counts bytes, where Linux gives each spliced piece a whole page slot";
const VMSPLICE_NOTE: &str =
    "as splice; the guest's pages are copied into the pipe, so changing them afterwards does not change what the reader gets";
const INOTIFY_NOTE: &str =
    "events from the sandbox's own file operations (changes made on the host are not seen); no IN_UNMOUNT; no per-user instance or watch limits; exec does not report IN_OPEN/IN_ACCESS on the program";
const MOUNT_NOTE: &str =
    "tmpfs (size, nr_blocks, nr_inodes, mode, uid, gid), proc, sysfs, devpts (the sandbox's one instance again: newinstance is accepted but not a new set of ptys), bind (MS_REC), MS_MOVE, remount (per-mount flags: ro, nosuid, nodev, noexec); propagation flags accepted, but every mount is private (nothing propagates); other filesystem types: ENODEV";
const PIVOT_NOTE: &str =
    "Linux's checks, except that the sandbox's root mount has no parent mount and need not have one";
const UNIX_NOTE: &str =
    "AF_UNIX only (stream, datagram, seqpacket), the sentry's own; AF_INET, AF_INET6, AF_NETLINK, AF_PACKET and other families: EAFNOSUPPORT";
const SEND_NOTE: &str =
    "unix sockets; no MSG_OOB (EOPNOTSUPP); SO_SNDBUF counts payload bytes, not Linux's per-skb overhead";
const RECV_NOTE: &str =
    "unix sockets; no MSG_OOB or MSG_ERRQUEUE; files passed in a message that queues itself on its own socket are never collected";
const SOCKOPT_NOTE: &str =
    "SOL_SOCKET: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_SNDBUF/SO_RCVBUF, SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO/SO_SNDTIMEO, SO_LINGER and flags such as SO_REUSEADDR/SO_KEEPALIVE (stored, no effect); other levels on unix sockets: EOPNOTSUPP";
const SCHED_NOTE: &str =
    "the sandbox's own per-thread policy, priority and nice value (never applied to the host), with Linux's permission rules; SCHED_DEADLINE: EPERM";
const PROCESS_VM_NOTE: &str =
    "ptrace's access check without the dumpable flag (PR_SET_DUMPABLE is not kept)";
const SHM_NOTE: &str =
    "the sandbox's own IPC namespace; shm_atime and shm_lpid change on shmat only, shm_dtime on shmdt only (not on fork, munmap or exit); nattch counts a VMA twice while /proc/[pid]/maps is being read";
const SEMOP_NOTE: &str =
    "the sandbox's own IPC namespace; blocked operations all retry when the set changes, so which of several waiters goes first is not Linux's queue order; SEM_UNDO adjustments are per process (as with CLONE_SYSVSEM)";
const MSG_NOTE: &str =
    "the sandbox's own IPC namespace; blocked senders and receivers all retry when the queue changes, so which of several goes first is not Linux's queue order";
const MQ_NOTE: &str =
    "the sandbox's own queues; no mqueue filesystem to mount at /dev/mqueue (names are not listed as files); limits fixed at Linux's defaults (fs.mqueue.msg_max 10, msgsize_max 8192, queues_max 256)";
const POLL_NOTE: &str =
    "waits sleep on the files' readiness queues; host fds (stdio) are re-checked every few ms";

syscalls! {
    0 read => Full, fs::read [i32, u64, usize];
    1 write => Full, fs::write [i32, u64, usize];
    2 open => Full, fs::open [u64, u32, u32];
    3 close => Full, fs::close [i32];
    4 stat => Full, fs::stat [u64, u64];
    5 fstat => Full, fs::fstat [i32, u64];
    6 lstat => Full, fs::lstat [u64, u64];
    7 poll => Partial(POLL_NOTE), poll::poll [u64, u64, i32];
    8 lseek => Full, fs::lseek [i32, i64, u32];
    9 mmap => Partial("shared mappings of host files (a root written through with --overlay none) keep their pages in the sentry: written back to the host file on msync(MS_SYNC), fsync and close, and not refreshed by host processes writing the file meanwhile"), mm::mmap [u64, u64, u64, u64, i32, u64];
    10 mprotect => Full, mm::mprotect [u64, u64, u64];
    11 munmap => Full, mm::munmap [u64, u64];
    12 brk => Full, mm::brk [u64];
    13 rt_sigaction => Full, signal::rt_sigaction [i32, u64, u64, usize];
    14 rt_sigprocmask => Full, signal::rt_sigprocmask [i32, u64, u64, usize];
    15 rt_sigreturn => Full, signal::rt_sigreturn [];
    16 ioctl => Partial("FIONREAD, FIOCLEX/FIONCLEX, FIONBIO; ptys: termios (TCGETS/TCSETS*, TCGETS2/TCSETS2*), window size, TIOCGPTN/TIOCSPTLCK/TIOCGPTLCK/TIOCGPTPEER, FIONREAD/TIOCOUTQ, TCFLSH, TCXONC, TCSBRK, TIOCSCTTY/TIOCNOTTY/TIOCGPGRP/TIOCSPGRP/TIOCGSID; host ttys: termios and window size. A pty master's own termios is kept but not applied (it stays raw); no TIOCSTI, TIOCLINUX, TIOCGETD/TIOCSETD, packet mode (TIOCPKT)"), fs::ioctl [i32, u32, u64];
    17 pread64 => Full, fs::pread64 [i32, u64, usize, i64];
    18 pwrite64 => Full, fs::pwrite64 [i32, u64, usize, i64];
    19 readv => Full, fs::readv [i32, u64, i32];
    20 writev => Full, fs::writev [i32, u64, i32];
    21 access => Full, fs::access [u64, i32];
    22 pipe => Full, fs::pipe [u64];
    23 select => Partial(POLL_NOTE), poll::select [i32, u64, u64, u64, u64];
    24 sched_yield => Full, process::sched_yield [];
    25 mremap => Full, mm::mremap [u64, u64, u64, u32, u64];
    26 msync => Full, mm::msync [u64, u64, i32];
    27 mincore => Full, mm::mincore [u64, u64, u64];
    28 madvise => Full, mm::madvise [u64, u64, i32];
    29 shmget => Full, ipc::shmget [i32, u64, i32];
    30 shmat => Partial(SHM_NOTE), ipc::shmat [i32, u64, i32];
    31 shmctl => Partial(SHM_NOTE), ipc::shmctl [i32, i32, u64];
    32 dup => Full, fs::dup [i32];
    33 dup2 => Full, fs::dup2 [i32, i32];
    34 pause => Full, signal::pause [];
    35 nanosleep => Full, time::nanosleep [u64, u64];
    36 getitimer => Full, time::getitimer [i32, u64];
    37 alarm => Full, time::alarm [u32];
    38 setitimer => Partial("CPU-time timers (VIRTUAL, PROF) are checked every 4 ms of wall time"), time::setitimer [i32, u64, u64];
    40 sendfile => Partial(SPLICE_NOTE), splice::sendfile [i32, i32, u64, usize];
    39 getpid => Full, process::getpid [];
    41 socket => Partial(UNIX_NOTE), net::socket [i32, i32, i32];
    42 connect => Partial(UNIX_NOTE), net::connect [i32, u64, i32];
    43 accept => Partial(UNIX_NOTE), net::accept [i32, u64, u64];
    44 sendto => Partial(SEND_NOTE), net::sendto [i32, u64, usize, i32, u64, i32];
    45 recvfrom => Partial(RECV_NOTE), net::recvfrom [i32, u64, usize, i32, u64, u64];
    46 sendmsg => Partial(SEND_NOTE), net::sendmsg [i32, u64, i32];
    47 recvmsg => Partial(RECV_NOTE), net::recvmsg [i32, u64, i32];
    48 shutdown => Partial(UNIX_NOTE), net::shutdown [i32, i32];
    49 bind => Partial(UNIX_NOTE), net::bind [i32, u64, i32];
    50 listen => Partial(UNIX_NOTE), net::listen [i32, i32];
    51 getsockname => Partial(UNIX_NOTE), net::getsockname [i32, u64, u64];
    52 getpeername => Partial(UNIX_NOTE), net::getpeername [i32, u64, u64];
    53 socketpair => Partial(UNIX_NOTE), net::socketpair [i32, i32, i32, u64];
    54 setsockopt => Partial(SOCKOPT_NOTE), net::setsockopt [i32, i32, i32, u64, i32];
    55 getsockopt => Partial(SOCKOPT_NOTE), net::getsockopt [i32, i32, i32, u64, u64];
    56 clone => Partial("CLONE_NEWNS copies the mount table; other namespaces: EPERM; CLONE_PIDFD not yet"), process::clone [u64, u64, u64, u64, u64];
    57 fork => Full, process::fork [];
    58 vfork => Full, process::vfork [];
    59 execve => Full, process::execve [u64, u64, u64];
    60 exit => Full, process::exit [i32];
    61 wait4 => Partial("rusage: user and system time, ru_maxrss (peak sampled at exit and getrusage), ru_minflt; other fields 0"), process::wait4 [i32, u64, i32, u64];
    62 kill => Full, signal::kill [i32, i32];
    63 uname => Full, info::uname [u64];
    64 semget => Full, ipc::semget [i32, i32, i32];
    65 semop => Partial(SEMOP_NOTE), ipc::semop [i32, u64, usize];
    66 semctl => Full, ipc::semctl [i32, i32, i32, u64];
    67 shmdt => Full, ipc::shmdt [u64];
    68 msgget => Full, ipc::msgget [i32, i32];
    69 msgsnd => Partial(MSG_NOTE), ipc::msgsnd [i32, u64, i64, i32];
    70 msgrcv => Partial(MSG_NOTE), ipc::msgrcv [i32, u64, i64, i64, i32];
    71 msgctl => Full, ipc::msgctl [i32, i32, u64];
    72 fcntl => Partial("F_SETOWN/F_GETOWN/F_SETSIG/F_GETSIG accepted without effect; leases, F_NOTIFY and F_GETOWN_EX/F_SETOWN_EX: EINVAL"), fs::fcntl [i32, i32, u64];
    73 flock => Full, locks::flock [i32, u32];
    74 fsync => Full, fschange::fsync [i32];
    75 fdatasync => Full, fschange::fdatasync [i32];
    76 truncate => Full, fschange::truncate [u64, i64];
    77 ftruncate => Full, fschange::ftruncate [i32, i64];
    79 getcwd => Full, fs::getcwd [u64, usize];
    80 chdir => Full, fs::chdir [u64];
    81 fchdir => Full, fs::fchdir [i32];
    82 rename => Full, fschange::rename [u64, u64];
    83 mkdir => Full, fschange::mkdir [u64, u32];
    84 rmdir => Full, fschange::rmdir [u64];
    85 creat => Full, fs::creat [u64, u32];
    86 link => Full, fschange::link [u64, u64];
    87 unlink => Full, fschange::unlink [u64];
    88 symlink => Full, fschange::symlink [u64, u64];
    89 readlink => Full, fs::readlink [u64, u64, i64];
    90 chmod => Full, fschange::chmod [u64, u32];
    91 fchmod => Full, fschange::fchmod [i32, u32];
    92 chown => Full, fschange::chown [u64, u32, u32];
    93 fchown => Full, fschange::fchown [i32, u32, u32];
    94 lchown => Full, fschange::lchown [u64, u32, u32];
    95 umask => Full, fs::umask [u32];
    96 gettimeofday => Full, time::gettimeofday [u64, u64];
    97 getrlimit => Full, process::getrlimit [u32, u64];
    98 getrusage => Partial("user time is time in guest code, system time the sentry thread's CPU time; ru_maxrss sampled, ru_minflt counted; other fields 0"), process::getrusage [i32, u64];
    99 sysinfo => Full, info::sysinfo [u64];
    100 times => Full, process::times [u64];
    102 getuid => Full, process::getuid [];
    104 getgid => Full, process::getgid [];
    105 setuid => Full, creds::setuid [u32];
    106 setgid => Full, creds::setgid [u32];
    107 geteuid => Full, process::geteuid [];
    108 getegid => Full, process::getegid [];
    109 setpgid => Full, process::setpgid [i32, i32];
    110 getppid => Full, process::getppid [];
    111 getpgrp => Full, process::getpgrp [];
    112 setsid => Full, process::setsid [];
    113 setreuid => Full, creds::setreuid [u32, u32];
    114 setregid => Full, creds::setregid [u32, u32];
    115 getgroups => Full, process::getgroups [i32, u64];
    116 setgroups => Full, creds::setgroups [i32, u64];
    117 setresuid => Full, creds::setresuid [u32, u32, u32];
    118 getresuid => Full, process::getresuid [u64, u64, u64];
    119 setresgid => Full, creds::setresgid [u32, u32, u32];
    120 getresgid => Full, process::getresgid [u64, u64, u64];
    121 getpgid => Full, process::getpgid [i32];
    122 setfsuid => Full, creds::setfsuid [u32];
    123 setfsgid => Full, creds::setfsgid [u32];
    124 getsid => Full, process::getsid [i32];
    125 capget => Full, creds::capget [u64, u64];
    126 capset => Full, creds::capset [u64, u64];
    127 rt_sigpending => Full, signal::rt_sigpending [u64, usize];
    128 rt_sigtimedwait => Full, signal::rt_sigtimedwait [u64, u64, u64, usize];
    129 rt_sigqueueinfo => Full, signal::rt_sigqueueinfo [i32, i32, u64];
    130 rt_sigsuspend => Full, signal::rt_sigsuspend [u64, usize];
    131 sigaltstack => Full, signal::sigaltstack [u64, u64];
    132 utime => Full, fschange::utime [u64, u64];
    133 mknod => Partial(MKNOD_NOTE), fschange::mknod [u64, u32, u32];
    137 statfs => Full, fs::statfs [u64, u64];
    138 fstatfs => Full, fs::fstatfs [i32, u64];
    140 getpriority => Full, sched::getpriority [i32, i32];
    141 setpriority => Partial(SCHED_NOTE), sched::setpriority [i32, i32, i32];
    142 sched_setparam => Partial(SCHED_NOTE), sched::sched_setparam [i32, u64];
    143 sched_getparam => Full, sched::sched_getparam [i32, u64];
    144 sched_setscheduler => Partial(SCHED_NOTE), sched::sched_setscheduler [i32, i32, u64];
    145 sched_getscheduler => Full, sched::sched_getscheduler [i32];
    146 sched_get_priority_max => Full, sched::sched_get_priority_max [i32];
    147 sched_get_priority_min => Full, sched::sched_get_priority_min [i32];
    148 sched_rr_get_interval => Partial("SCHED_RR: 100 ms, SCHED_FIFO: 0, the fair policies a fixed 4 ms"), sched::sched_rr_get_interval [i32, u64];
    149 mlock => Full, mm::mlock [u64, u64];
    150 munlock => Full, mm::munlock [u64, u64];
    151 mlockall => Full, mm::mlockall [i32];
    152 munlockall => Full, mm::munlockall [];
    155 pivot_root => Partial(PIVOT_NOTE), mount::pivot_root [u64, u64];
    157 prctl => Partial("PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_DUMPABLE/SET, PR_SET/GET_NO_NEW_PRIVS, PR_SET_SECCOMP/GET, PR_SET/GET_CHILD_SUBREAPER, PR_CAPBSET_READ/DROP, PR_CAP_AMBIENT, PR_GET/SET_SECUREBITS, PR_GET/SET_KEEPCAPS"), process::prctl [i32, u64, u64, u64, u64];
    158 arch_prctl => Partial("ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS"), process::arch_prctl [i32, u64];
    160 setrlimit => Full, process::setrlimit [u32, u64];
    161 chroot => Full, mount::chroot [u64];
    162 sync => Full, fschange::sync [];
    165 mount => Partial(MOUNT_NOTE), mount::mount [u64, u64, u64, u64, u64];
    166 umount2 => Partial("MNT_FORCE is as a plain umount; an MNT_EXPIRE mark is not cleared by later use; no IN_UNMOUNT"), mount::umount2 [u64, u32];
    170 sethostname => Full, info::sethostname [u64, usize];
    171 setdomainname => Full, info::setdomainname [u64, usize];
    187 readahead => Partial("checked as Linux checks it; there is no page cache to read into"), advise::readahead [i32, i64, usize];
    188 setxattr => Partial(XATTR_NOTE), fschange::setxattr [u64, u64, u64, usize, i32];
    189 lsetxattr => Partial(XATTR_NOTE), fschange::lsetxattr [u64, u64, u64, usize, i32];
    190 fsetxattr => Partial(XATTR_NOTE), fschange::fsetxattr [i32, u64, u64, usize, i32];
    191 getxattr => Partial(XATTR_NOTE), fschange::getxattr [u64, u64, u64, usize];
    192 lgetxattr => Partial(XATTR_NOTE), fschange::lgetxattr [u64, u64, u64, usize];
    193 fgetxattr => Partial(XATTR_NOTE), fschange::fgetxattr [i32, u64, u64, usize];
    194 listxattr => Partial(XATTR_NOTE), fschange::listxattr [u64, u64, usize];
    195 llistxattr => Partial(XATTR_NOTE), fschange::llistxattr [u64, u64, usize];
    196 flistxattr => Partial(XATTR_NOTE), fschange::flistxattr [i32, u64, usize];
    197 removexattr => Partial(XATTR_NOTE), fschange::removexattr [u64, u64];
    198 lremovexattr => Partial(XATTR_NOTE), fschange::lremovexattr [u64, u64];
    199 fremovexattr => Partial(XATTR_NOTE), fschange::fremovexattr [i32, u64];
    186 gettid => Full, process::gettid [];
    200 tkill => Full, signal::tkill [i32, i32];
    201 time => Full, time::time [u64];
    202 futex => Partial("PI futexes: ENOSYS; waits are not yet interruptible by signals"), futex::futex [u64, i32, u32, u64, u64, u32];
    203 sched_setaffinity => Partial("accepted; the sentry schedules tasks on host threads"), process::sched_setaffinity [i32, usize, u64];
    204 sched_getaffinity => Full, process::sched_getaffinity [i32, usize, u64];
    213 epoll_create => Partial(POLL_NOTE), events::epoll_create [i32];
    217 getdents64 => Full, fs::getdents64 [i32, u64, usize];
    218 set_tid_address => Full, process::set_tid_address [u64];
    219 restart_syscall => Full, time::restart_syscall [];
    220 semtimedop => Partial(SEMOP_NOTE), ipc::semtimedop [i32, u64, usize, u64];
    221 fadvise64 => Partial("checked as Linux checks it (ESPIPE on pipes); the advice itself has no effect"), advise::fadvise64 [i32, i64, i64, i32];
    222 timer_create => Partial("no alarm clocks (EINVAL); CPU-time clocks are checked every 4 ms of wall time"), events::timer_create [i32, u64, u64];
    223 timer_settime => Full, events::timer_settime [i32, i32, u64, u64];
    224 timer_gettime => Full, events::timer_gettime [i32, u64];
    225 timer_getoverrun => Full, events::timer_getoverrun [i32];
    226 timer_delete => Full, events::timer_delete [i32];
    228 clock_gettime => Full, time::clock_gettime [i32, u64];
    229 clock_getres => Full, time::clock_getres [i32, u64];
    230 clock_nanosleep => Full, time::clock_nanosleep [i32, i32, u64, u64];
    231 exit_group => Full, process::exit_group [i32];
    232 epoll_wait => Partial(POLL_NOTE), events::epoll_wait [i32, u64, i32, i32];
    233 epoll_ctl => Full, events::epoll_ctl [i32, i32, i32, u64];
    234 tgkill => Full, signal::tgkill [i32, i32, i32];
    235 utimes => Full, fschange::utimes [u64, u64];
    240 mq_open => Partial(MQ_NOTE), mqueue::mq_open [u64, i32, u32, u64];
    241 mq_unlink => Partial(MQ_NOTE), mqueue::mq_unlink [u64];
    242 mq_timedsend => Full, mqueue::mq_timedsend [i32, u64, usize, u32, u64];
    243 mq_timedreceive => Full, mqueue::mq_timedreceive [i32, u64, usize, u64, u64];
    244 mq_notify => Partial("SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD (glibc's needs an AF_NETLINK socket): EINVAL"), mqueue::mq_notify [i32, u64];
    245 mq_getsetattr => Full, mqueue::mq_getsetattr [i32, u64, u64];
    247 waitid => Partial("rusage: user and system time, ru_maxrss (peak sampled at exit and getrusage), ru_minflt; other fields 0"), process::waitid [i32, i32, u64, i32, u64];
    253 inotify_init => Partial(INOTIFY_NOTE), notify::inotify_init [];
    254 inotify_add_watch => Partial(INOTIFY_NOTE), notify::inotify_add_watch [i32, u64, u32];
    255 inotify_rm_watch => Full, notify::inotify_rm_watch [i32, i32];
    257 openat => Full, fs::openat [i32, u64, u32, u32];
    258 mkdirat => Full, fschange::mkdirat [i32, u64, u32];
    259 mknodat => Partial(MKNOD_NOTE), fschange::mknodat [i32, u64, u32, u32];
    260 fchownat => Full, fschange::fchownat [i32, u64, u32, u32, i32];
    261 futimesat => Full, fschange::futimesat [i32, u64, u64];
    262 newfstatat => Full, fs::newfstatat [i32, u64, u64, i32];
    263 unlinkat => Full, fschange::unlinkat [i32, u64, i32];
    264 renameat => Full, fschange::renameat [i32, u64, i32, u64];
    265 linkat => Full, fschange::linkat [i32, u64, i32, u64, i32];
    266 symlinkat => Full, fschange::symlinkat [u64, i32, u64];
    267 readlinkat => Full, fs::readlinkat [i32, u64, u64, i64];
    268 fchmodat => Full, fschange::fchmodat [i32, u64, u32];
    269 faccessat => Full, fs::faccessat [i32, u64, i32];
    270 pselect6 => Partial(POLL_NOTE), poll::pselect6 [i32, u64, u64, u64, u64, u64];
    272 unshare => Partial("CLONE_NEWNS (a private copy of the mount table), CLONE_FS, CLONE_FILES; other namespaces: EPERM"), mount::unshare [u64];
    273 set_robust_list => Full, process::set_robust_list [u64, usize];
    274 get_robust_list => Partial("the caller's own list"), process::get_robust_list [i32, u64, u64];
    280 utimensat => Full, fschange::utimensat [i32, u64, u64, i32];
    271 ppoll => Partial(POLL_NOTE), poll::ppoll [u64, u64, u64, u64, usize];
    275 splice => Partial(SPLICE_NOTE), splice::splice [i32, u64, i32, u64, usize, u32];
    276 tee => Partial(SPLICE_NOTE), splice::tee [i32, i32, usize, u32];
    277 sync_file_range => Full, fschange::sync_file_range [i32, i64, i64, u32];
    278 vmsplice => Partial(VMSPLICE_NOTE), splice::vmsplice [i32, u64, u64, u32];
    281 epoll_pwait => Partial(POLL_NOTE), events::epoll_pwait [i32, u64, i32, i32, u64, usize];
    282 signalfd => Full, signal::signalfd [i32, u64, usize];
    283 timerfd_create => Partial("REALTIME/MONOTONIC/BOOTTIME clocks; TFD_TIMER_CANCEL_ON_SET accepted, never cancels"), events::timerfd_create [i32, i32];
    284 eventfd => Full, events::eventfd [u32];
    285 fallocate => Partial("modes 0, KEEP_SIZE and PUNCH_HOLE|KEEP_SIZE; others EOPNOTSUPP"), fschange::fallocate [i32, i32, i64, i64];
    286 timerfd_settime => Full, events::timerfd_settime [i32, i32, u64, u64];
    287 timerfd_gettime => Full, events::timerfd_gettime [i32, u64];
    288 accept4 => Partial(UNIX_NOTE), net::accept4 [i32, u64, u64, i32];
    289 signalfd4 => Full, signal::signalfd4 [i32, u64, usize, i32];
    290 eventfd2 => Full, events::eventfd2 [u32, i32];
    291 epoll_create1 => Full, events::epoll_create1 [i32];
    292 dup3 => Full, fs::dup3 [i32, i32, i32];
    293 pipe2 => Full, fs::pipe2 [u64, i32];
    294 inotify_init1 => Partial(INOTIFY_NOTE), notify::inotify_init1 [i32];
    295 preadv => Full, fs::preadv [i32, u64, i32, i64];
    296 pwritev => Full, fs::pwritev [i32, u64, i32, i64];
    299 recvmmsg => Partial(RECV_NOTE), net::recvmmsg [i32, u64, u32, i32, u64];
    297 rt_tgsigqueueinfo => Full, signal::rt_tgsigqueueinfo [i32, i32, i32, u64];
    302 prlimit64 => Full, process::prlimit64 [i32, u32, u64, u64];
    306 syncfs => Full, fschange::syncfs [i32];
    307 sendmmsg => Partial(SEND_NOTE), net::sendmmsg [i32, u64, u32, i32];
    309 getcpu => Full, process::getcpu [u64, u64, u64];
    310 process_vm_readv => Partial(PROCESS_VM_NOTE), remote::process_vm_readv [i32, u64, u64, u64, u64, u64];
    311 process_vm_writev => Partial(PROCESS_VM_NOTE), remote::process_vm_writev [i32, u64, u64, u64, u64, u64];
    312 kcmp => Partial("KCMP_IO and KCMP_SYSVSEM always compare equal (the sandbox makes neither object); KCMP_EPOLL_TFD: EOPNOTSUPP"), remote::kcmp [i32, i32, i32, u64, u64];
    314 sched_setattr => Partial("as sched_setscheduler; SCHED_DEADLINE: EPERM; utilisation clamps accepted and not kept"), sched::sched_setattr [i32, u64, u32];
    315 sched_getattr => Partial("no deadline parameters; utilisation clamps read as 0..1024"), sched::sched_getattr [i32, u64, u32, u32];
    316 renameat2 => Partial("RENAME_WHITEOUT: EINVAL"), fschange::renameat2 [i32, u64, i32, u64, u32];
    317 seccomp => Partial("strict mode and BPF filters with every action but USER_NOTIF (no SECCOMP_FILTER_FLAG_NEW_LISTENER: EINVAL); TRACE fails with ENOSYS (no tracer)"), seccomp::seccomp [u32, u32, u64];
    318 getrandom => Full, info::getrandom [u64, usize, u32];
    319 memfd_create => Partial("MFD_HUGETLB: EINVAL; the files live on one internal tmpfs of the sandbox's own memory"), memfd::memfd_create [u64, u32];
    322 execveat => Partial("AT_EMPTY_PATH and paths relative to dirfd"), process::execveat [i32, u64, u64, u64, i32];
    324 membarrier => Partial("every command but the rseq ones; a barrier is a host-wide membarrier (slower than Linux's expedited IPIs), skipped for a single-threaded process"), mm::membarrier [i32, u32, i32];
    325 mlock2 => Full, mm::mlock2 [u64, u64, u32];
    326 copy_file_range => Full, splice::copy_file_range [i32, u64, i32, u64, usize, u32];
    332 statx => Full, fs::statx [i32, u64, i32, u32, u64];
    334 rseq => Unsupported(ENOSYS, "glibc falls back without rseq");
    424 pidfd_send_signal => Full, events::pidfd_send_signal [i32, i32, u64, u32];
    434 pidfd_open => Full, events::pidfd_open [i32, u32];
    435 clone3 => Partial("as clone; set_tid and cgroup not supported"), process::clone3 [u64, usize];
    436 close_range => Full, fs::close_range [u32, u32, u32];
    438 pidfd_getfd => Full, remote::pidfd_getfd [i32, i32, u32];
    437 openat2 => Partial("struct open_how checked as Linux does; RESOLVE_CACHED accepted (every lookup is one); RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH and RESOLVE_IN_ROOT: EINVAL (the path walk does not take restrictions yet)"), fs::openat2 [i32, u64, u64, usize];
    439 faccessat2 => Full, fs::faccessat2 [i32, u64, i32, i32];
    441 epoll_pwait2 => Partial(POLL_NOTE), events::epoll_pwait2 [i32, u64, i32, u64, u64, usize];
}

/// All rows, indexed by syscall number.
pub static TABLE: LazyLock<Vec<Option<Entry>>> = LazyLock::new(|| {
    let mut t: Vec<Option<Entry>> = vec![None; 512];
    for e in rows() {
        let nr = e.nr as usize;
        assert!(t[nr].is_none(), "syscall {} listed twice", e.name);
        t[nr] = Some(e);
    }
    t
});

/// The row of syscall `nr`.
pub fn lookup(nr: u64) -> Option<&'static Entry> {
    TABLE.get(nr as usize).and_then(Option::as_ref)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_match_linux_numbers() {
        for e in TABLE.iter().flatten() {
            let sysno = syscalls::Sysno::new(e.nr as usize).expect("a Linux syscall number");
            assert_eq!(sysno.name(), e.name, "row {} is misnamed", e.nr);
        }
    }

    #[test]
    fn every_supported_row_has_a_handler() {
        for e in TABLE.iter().flatten() {
            assert_eq!(
                e.handler.is_some(),
                !matches!(e.support, Support::Unsupported(..)),
                "{}",
                e.name
            );
        }
    }
}
