//! Names of the x86-64 Linux ABI's constants, as strace prints them, and the two ways of
//! printing a number against them: as one value (`SEEK_SET`) or as a set of bits
//! (`O_WRONLY|O_CREAT|0x40000000`). Values are the kernel's UAPI ones, written out here
//! because libc's differ in places (glibc's O_LARGEFILE is 0 on 64-bit).

use super::quote::hex;

/// Flag bits and their names. A multi-bit entry must come before its parts.
pub(super) type Bits = &'static [(u64, &'static str)];

/// Values of one enumeration, and what strace calls a value it does not know.
pub(super) struct Xlat {
    pub(super) unknown: &'static str,
    pub(super) items: &'static [(u64, &'static str)],
}

impl Xlat {
    pub(super) fn get(&self, value: u64) -> Option<&'static str> {
        self.items
            .iter()
            .find(|(v, _)| *v == value)
            .map(|(_, name)| *name)
    }

    /// `SEEK_END`, or `0x7 /* SEEK_??? */` for a value without a name.
    pub(super) fn format(&self, value: u64) -> String {
        match self.get(value) {
            Some(name) => name.to_owned(),
            None => format!("{} /* {} */", hex(value), self.unknown),
        }
    }
}

/// The names of the bits set in `value`, then whatever is left over in hex.
pub(super) fn flag_names(value: u64, bits: Bits) -> Vec<String> {
    let mut rest = value;
    let mut names = Vec::new();
    for &(bit, name) in bits {
        if bit != 0 && rest & bit == bit {
            names.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(hex(rest));
    }
    names
}

/// `A|B|0x...`, or `0` when no bit is set.
pub(super) fn flags(value: u64, bits: Bits) -> String {
    join(Vec::new(), value, bits)
}

/// `head|A|B|0x...`: a leading field (access mode, mapping type, signal...) then the bits.
pub(super) fn join(mut head: Vec<String>, value: u64, bits: Bits) -> String {
    head.extend(flag_names(value, bits));
    if head.is_empty() {
        "0".to_owned()
    } else {
        head.join("|")
    }
}

/// The open(2) flags: access mode first, as strace does, then the other bits.
pub(super) fn open_flags(value: u64) -> String {
    let mode = match value & O_ACCMODE {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    join(vec![mode.to_owned()], value & !O_ACCMODE, OPEN)
}

pub(super) const O_ACCMODE: u64 = 0o3;
pub(super) const O_CREAT: u64 = 0o100;
pub(super) const O_TMPFILE: u64 = 0o20200000;

pub(super) const OPEN: Bits = &[
    (O_CREAT, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (O_TMPFILE, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
];

/// pipe2(2) and dup3(2) flags.
pub(super) const PIPE: Bits = &[
    (0o200, "O_NOTIFICATION_PIPE"),
    (0o4000, "O_NONBLOCK"),
    (0o40000, "O_DIRECT"),
    (0o2000000, "O_CLOEXEC"),
];

pub(super) const FD_FLAGS: Bits = &[(1, "FD_CLOEXEC")];

pub(super) const AT_FDCWD: i32 = -100;

/// Flags of fstatat(2), fchownat(2), utimensat(2), execveat(2)...
pub(super) const AT: Bits = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];

pub(super) const AT_ACCESS: Bits = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];

pub(super) const AT_UNLINK: Bits = &[(0x200, "AT_REMOVEDIR")];

/// statx(2) flags: the sync type occupies two bits and is always named.
pub(super) fn statx_flags(value: u64) -> String {
    let sync = match value & 0x6000 {
        0 => "AT_STATX_SYNC_AS_STAT",
        0x2000 => "AT_STATX_FORCE_SYNC",
        0x4000 => "AT_STATX_DONT_SYNC",
        _ => "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC",
    };
    join(vec![sync.to_owned()], value & !0x6000, AT)
}

pub(super) const STATX_MASK: Bits = &[
    (0xfff, "STATX_ALL"),
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"),
    (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"),
    (0x20000, "STATX_DIO_READ_ALIGN"),
];

pub(super) const STATX_ATTR: Bits = &[
    (0x4, "STATX_ATTR_COMPRESSED"),
    (0x10, "STATX_ATTR_IMMUTABLE"),
    (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"),
    (0x800, "STATX_ATTR_ENCRYPTED"),
    (0x1000, "STATX_ATTR_AUTOMOUNT"),
    (0x2000, "STATX_ATTR_MOUNT_ROOT"),
    (0x100000, "STATX_ATTR_VERITY"),
    (0x200000, "STATX_ATTR_DAX"),
    (0x400000, "STATX_ATTR_WRITE_ATOMIC"),
];

/// access(2) modes; 0 is F_OK.
pub(super) fn access_mode(value: u64) -> String {
    if value == 0 {
        "F_OK".to_owned()
    } else {
        flags(value, &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")])
    }
}

/// A file type, the set-id and sticky bits, and the permission bits:
/// `S_IFREG|0644`, `S_IFDIR|S_ISVTX|0777`.
pub(super) fn file_mode(mode: u64) -> String {
    let kind = match mode & 0o170000 {
        0 => None,
        0o140000 => Some("S_IFSOCK"),
        0o120000 => Some("S_IFLNK"),
        0o100000 => Some("S_IFREG"),
        0o060000 => Some("S_IFBLK"),
        0o040000 => Some("S_IFDIR"),
        0o020000 => Some("S_IFCHR"),
        0o010000 => Some("S_IFIFO"),
        _ => Some("S_IFMT"),
    };
    let mut parts: Vec<String> = kind.into_iter().map(str::to_owned).collect();
    parts.extend(flag_names(mode & 0o7000, MODE_BITS));
    parts.push(octal(mode & 0o777));
    parts.join("|")
}

const MODE_BITS: Bits = &[
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
];

/// A `dev_t` split into its major and minor numbers: `makedev(0x1, 0x3)`.
pub(super) fn makedev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("makedev({}, {})", hex(major), hex(minor))
}

/// Permission bits in C's `%#03o`: `0644`, `000`, `04755`.
pub(super) fn octal(value: u64) -> String {
    if value == 0 {
        "000".to_owned()
    } else {
        format!("{:0>3}", format!("0{value:o}"))
    }
}

pub(super) const SEEK: Xlat = Xlat {
    unknown: "SEEK_???",
    items: &[
        (0, "SEEK_SET"),
        (1, "SEEK_CUR"),
        (2, "SEEK_END"),
        (3, "SEEK_DATA"),
        (4, "SEEK_HOLE"),
    ],
};

pub(super) const PROT: Bits = &[
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x01000000, "PROT_GROWSDOWN"),
    (0x02000000, "PROT_GROWSUP"),
];

pub(super) fn prot(value: u64) -> String {
    if value == 0 {
        "PROT_NONE".to_owned()
    } else {
        flags(value, PROT)
    }
}

const MAP_TYPE: u64 = 0xf;
const MAP_HUGETLB: u64 = 0x40000;
const MAP_HUGE_SHIFT: u64 = 26;
const MAP_HUGE_MASK: u64 = 0x3f;

pub(super) const MAP: Bits = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x20000, "MAP_STACK"),
    (MAP_HUGETLB, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];

/// mmap(2) flags: the mapping type, the flag bits, then the huge page size if any.
pub(super) fn mmap_flags(value: u64) -> String {
    let kind = match value & MAP_TYPE {
        0 => None,
        1 => Some("MAP_SHARED".to_owned()),
        2 => Some("MAP_PRIVATE".to_owned()),
        3 => Some("MAP_SHARED_VALIDATE".to_owned()),
        8 => Some("MAP_DROPPABLE".to_owned()),
        other => Some(hex(other)),
    };
    let mut rest = value & !MAP_TYPE;
    let mut huge = None;
    let huge_bits = (rest >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    if rest & MAP_HUGETLB != 0 && huge_bits != 0 {
        huge = Some(huge_page_name(huge_bits));
        rest &= !(MAP_HUGE_MASK << MAP_HUGE_SHIFT);
    }
    let mut names: Vec<String> = kind.into_iter().collect();
    names.extend(flag_names(rest, MAP));
    names.extend(huge);
    if names.is_empty() {
        "0".to_owned()
    } else {
        names.join("|")
    }
}

/// `MAP_HUGE_2MB` for a page size of `1 << shift` bytes.
fn huge_page_name(shift: u64) -> String {
    let (scaled, unit) = match shift {
        30.. => (shift - 30, "GB"),
        20.. => (shift - 20, "MB"),
        _ => (shift.saturating_sub(10), "KB"),
    };
    format!("MAP_HUGE_{}{unit}", 1u64 << scaled.min(63))
}

pub(super) const MREMAP_FIXED: u64 = 2;

pub(super) const MREMAP: Bits = &[
    (1, "MREMAP_MAYMOVE"),
    (MREMAP_FIXED, "MREMAP_FIXED"),
    (4, "MREMAP_DONTUNMAP"),
];

pub(super) const MADV: Xlat = Xlat {
    unknown: "MADV_???",
    items: &[
        (0, "MADV_NORMAL"),
        (1, "MADV_RANDOM"),
        (2, "MADV_SEQUENTIAL"),
        (3, "MADV_WILLNEED"),
        (4, "MADV_DONTNEED"),
        (8, "MADV_FREE"),
        (9, "MADV_REMOVE"),
        (10, "MADV_DONTFORK"),
        (11, "MADV_DOFORK"),
        (12, "MADV_MERGEABLE"),
        (13, "MADV_UNMERGEABLE"),
        (14, "MADV_HUGEPAGE"),
        (15, "MADV_NOHUGEPAGE"),
        (16, "MADV_DONTDUMP"),
        (17, "MADV_DODUMP"),
        (18, "MADV_WIPEONFORK"),
        (19, "MADV_KEEPONFORK"),
        (20, "MADV_COLD"),
        (21, "MADV_PAGEOUT"),
        (22, "MADV_POPULATE_READ"),
        (23, "MADV_POPULATE_WRITE"),
        (24, "MADV_DONTNEED_LOCKED"),
        (25, "MADV_COLLAPSE"),
        (100, "MADV_HWPOISON"),
        (101, "MADV_SOFT_OFFLINE"),
        (102, "MADV_GUARD_INSTALL"),
        (103, "MADV_GUARD_REMOVE"),
    ],
};

pub(super) const ARCH_PRCTL: Xlat = Xlat {
    unknown: "ARCH_???",
    items: &[
        (0x1001, "ARCH_SET_GS"),
        (0x1002, "ARCH_SET_FS"),
        (0x1003, "ARCH_GET_FS"),
        (0x1004, "ARCH_GET_GS"),
        (0x1011, "ARCH_GET_CPUID"),
        (0x1012, "ARCH_SET_CPUID"),
        (0x1021, "ARCH_GET_XCOMP_SUPP"),
        (0x1022, "ARCH_GET_XCOMP_PERM"),
        (0x1023, "ARCH_REQ_XCOMP_PERM"),
        (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
        (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"),
        (0x2001, "ARCH_MAP_VDSO_X32"),
        (0x2002, "ARCH_MAP_VDSO_32"),
        (0x2003, "ARCH_MAP_VDSO_64"),
        (0x4001, "ARCH_GET_UNTAG_MASK"),
        (0x4002, "ARCH_ENABLE_TAGGED_ADDR"),
        (0x4003, "ARCH_GET_MAX_TAG_BITS"),
        (0x4004, "ARCH_FORCE_TAGGED_SVA"),
        (0x5001, "ARCH_SHSTK_ENABLE"),
        (0x5002, "ARCH_SHSTK_DISABLE"),
        (0x5003, "ARCH_SHSTK_LOCK"),
        (0x5004, "ARCH_SHSTK_UNLOCK"),
        (0x5005, "ARCH_SHSTK_STATUS"),
    ],
};

pub(super) const RLIMIT: Xlat = Xlat {
    unknown: "RLIMIT_???",
    items: &[
        (0, "RLIMIT_CPU"),
        (1, "RLIMIT_FSIZE"),
        (2, "RLIMIT_DATA"),
        (3, "RLIMIT_STACK"),
        (4, "RLIMIT_CORE"),
        (5, "RLIMIT_RSS"),
        (6, "RLIMIT_NPROC"),
        (7, "RLIMIT_NOFILE"),
        (8, "RLIMIT_MEMLOCK"),
        (9, "RLIMIT_AS"),
        (10, "RLIMIT_LOCKS"),
        (11, "RLIMIT_SIGPENDING"),
        (12, "RLIMIT_MSGQUEUE"),
        (13, "RLIMIT_NICE"),
        (14, "RLIMIT_RTPRIO"),
        (15, "RLIMIT_RTTIME"),
    ],
};

pub(super) const CLOCK: Xlat = Xlat {
    unknown: "CLOCK_???",
    items: &[
        (0, "CLOCK_REALTIME"),
        (1, "CLOCK_MONOTONIC"),
        (2, "CLOCK_PROCESS_CPUTIME_ID"),
        (3, "CLOCK_THREAD_CPUTIME_ID"),
        (4, "CLOCK_MONOTONIC_RAW"),
        (5, "CLOCK_REALTIME_COARSE"),
        (6, "CLOCK_MONOTONIC_COARSE"),
        (7, "CLOCK_BOOTTIME"),
        (8, "CLOCK_REALTIME_ALARM"),
        (9, "CLOCK_BOOTTIME_ALARM"),
        (11, "CLOCK_TAI"),
    ],
};

pub(super) const TIMER: Bits = &[(1, "TIMER_ABSTIME")];

pub(super) const GRND: Bits = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];

pub(super) const WAIT: Bits = &[
    (1, "WNOHANG"),
    (4, "WEXITED"),
    (2, "WSTOPPED"),
    (8, "WCONTINUED"),
    (0x01000000, "WNOWAIT"),
    (0x80000000, "__WCLONE"),
    (0x40000000, "__WALL"),
    (0x20000000, "__WNOTHREAD"),
];

pub(super) const CLONE: Bits = &[
    (0x80, "CLONE_NEWTIME"),
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (CLONE_PIDFD, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (CLONE_SETTLS, "CLONE_SETTLS"),
    (CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
    (CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
    (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (0x200000000, "CLONE_INTO_CGROUP"),
];

pub(super) const CLONE_PIDFD: u64 = 0x1000;
pub(super) const CLONE_SETTLS: u64 = 0x80000;
pub(super) const CLONE_PARENT_SETTID: u64 = 0x100000;
pub(super) const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub(super) const CLONE_CHILD_SETTID: u64 = 0x1000000;

pub(super) const FUTEX_PRIVATE: u64 = 128;
pub(super) const FUTEX_CLOCK_REALTIME: u64 = 256;

pub(super) const FUTEX_OP: Xlat = Xlat {
    unknown: "FUTEX_???",
    items: &[
        (0, "FUTEX_WAIT"),
        (1, "FUTEX_WAKE"),
        (2, "FUTEX_FD"),
        (3, "FUTEX_REQUEUE"),
        (4, "FUTEX_CMP_REQUEUE"),
        (5, "FUTEX_WAKE_OP"),
        (6, "FUTEX_LOCK_PI"),
        (7, "FUTEX_UNLOCK_PI"),
        (8, "FUTEX_TRYLOCK_PI"),
        (9, "FUTEX_WAIT_BITSET"),
        (10, "FUTEX_WAKE_BITSET"),
        (11, "FUTEX_WAIT_REQUEUE_PI"),
        (12, "FUTEX_CMP_REQUEUE_PI"),
        (13, "FUTEX_LOCK_PI2"),
    ],
};

pub(super) const AF: Xlat = Xlat {
    unknown: "AF_???",
    items: &[
        (0, "AF_UNSPEC"),
        (1, "AF_UNIX"),
        (2, "AF_INET"),
        (3, "AF_AX25"),
        (4, "AF_IPX"),
        (5, "AF_APPLETALK"),
        (6, "AF_NETROM"),
        (7, "AF_BRIDGE"),
        (8, "AF_ATMPVC"),
        (9, "AF_X25"),
        (10, "AF_INET6"),
        (11, "AF_ROSE"),
        (12, "AF_DECnet"),
        (13, "AF_NETBEUI"),
        (14, "AF_SECURITY"),
        (15, "AF_KEY"),
        (16, "AF_NETLINK"),
        (17, "AF_PACKET"),
        (18, "AF_ASH"),
        (19, "AF_ECONET"),
        (20, "AF_ATMSVC"),
        (21, "AF_RDS"),
        (22, "AF_SNA"),
        (23, "AF_IRDA"),
        (24, "AF_PPPOX"),
        (25, "AF_WANPIPE"),
        (26, "AF_LLC"),
        (27, "AF_IB"),
        (28, "AF_MPLS"),
        (29, "AF_CAN"),
        (30, "AF_TIPC"),
        (31, "AF_BLUETOOTH"),
        (32, "AF_IUCV"),
        (33, "AF_RXRPC"),
        (34, "AF_ISDN"),
        (35, "AF_PHONET"),
        (36, "AF_IEEE802154"),
        (37, "AF_CAIF"),
        (38, "AF_ALG"),
        (39, "AF_NFC"),
        (40, "AF_VSOCK"),
        (41, "AF_KCM"),
        (42, "AF_QIPCRTR"),
        (43, "AF_SMC"),
        (44, "AF_XDP"),
        (45, "AF_MCTP"),
    ],
};

pub(super) const AF_UNIX: u64 = 1;
pub(super) const AF_INET: u64 = 2;
pub(super) const AF_INET6: u64 = 10;
pub(super) const AF_NETLINK: u64 = 16;

const SOCK_TYPE_MASK: u64 = 0xf;

const SOCK_TYPE: Xlat = Xlat {
    unknown: "SOCK_???",
    items: &[
        (1, "SOCK_STREAM"),
        (2, "SOCK_DGRAM"),
        (3, "SOCK_RAW"),
        (4, "SOCK_RDM"),
        (5, "SOCK_SEQPACKET"),
        (6, "SOCK_DCCP"),
        (10, "SOCK_PACKET"),
    ],
};

/// SOCK_CLOEXEC and SOCK_NONBLOCK, as accepted by socket(2) and accept4(2).
pub(super) const SOCK_FLAGS: Bits = &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")];

/// socket(2)'s type argument: `SOCK_STREAM|SOCK_CLOEXEC`.
pub(super) fn socket_type(value: u64) -> String {
    let kind = SOCK_TYPE.format(value & SOCK_TYPE_MASK);
    join(vec![kind], value & !SOCK_TYPE_MASK, SOCK_FLAGS)
}

pub(super) const IPPROTO: Xlat = Xlat {
    unknown: "IPPROTO_???",
    items: &[
        (0, "IPPROTO_IP"),
        (1, "IPPROTO_ICMP"),
        (2, "IPPROTO_IGMP"),
        (6, "IPPROTO_TCP"),
        (17, "IPPROTO_UDP"),
        (41, "IPPROTO_IPV6"),
        (58, "IPPROTO_ICMPV6"),
        (132, "IPPROTO_SCTP"),
        (136, "IPPROTO_UDPLITE"),
        (255, "IPPROTO_RAW"),
        (262, "IPPROTO_MPTCP"),
    ],
};

pub(super) const NETLINK: Xlat = Xlat {
    unknown: "NETLINK_???",
    items: &[
        (0, "NETLINK_ROUTE"),
        (2, "NETLINK_USERSOCK"),
        (4, "NETLINK_SOCK_DIAG"),
        (6, "NETLINK_XFRM"),
        (9, "NETLINK_AUDIT"),
        (10, "NETLINK_FIB_LOOKUP"),
        (11, "NETLINK_CONNECTOR"),
        (12, "NETLINK_NETFILTER"),
        (15, "NETLINK_KOBJECT_UEVENT"),
        (16, "NETLINK_GENERIC"),
        (21, "NETLINK_CRYPTO"),
    ],
};

pub(super) const MSG: Bits = &[
    (0x1, "MSG_OOB"),
    (0x2, "MSG_PEEK"),
    (0x4, "MSG_DONTROUTE"),
    (0x8, "MSG_CTRUNC"),
    (0x10, "MSG_PROBE"),
    (0x20, "MSG_TRUNC"),
    (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"),
    (0x100, "MSG_WAITALL"),
    (0x200, "MSG_FIN"),
    (0x400, "MSG_SYN"),
    (0x800, "MSG_CONFIRM"),
    (0x1000, "MSG_RST"),
    (0x2000, "MSG_ERRQUEUE"),
    (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"),
    (0x10000, "MSG_WAITFORONE"),
    (0x40000, "MSG_BATCH"),
    (0x4000000, "MSG_ZEROCOPY"),
    (0x20000000, "MSG_FASTOPEN"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
];

pub(super) const SHUT: Xlat = Xlat {
    unknown: "SHUT_???",
    items: &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")],
};
