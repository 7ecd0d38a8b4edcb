//! Linux x86-64 ABI definitions the `libc` crate lacks or that the sentry needs in a
//! fixed, `zerocopy`-derivable layout.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

#[allow(unsafe_code)]
pub mod hostcall;

/// si_code for SIGSEGV: address not mapped.
pub const SEGV_MAPERR: i32 = 1;
/// si_code for SIGSEGV: invalid permissions for a mapped object.
pub const SEGV_ACCERR: i32 = 2;
/// si_code for SIGBUS: nonexistent physical address (beyond the end of a file).
pub const BUS_ADRERR: i32 = 2;

/// `struct timespec`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: i64,
}

/// `struct timeval`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds.
    pub tv_usec: i64,
}

/// `struct stat` on x86-64 (144 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub reserved: [i64; 3],
}
const _: () = assert!(std::mem::size_of::<Stat>() == 144);

/// `struct statx_timestamp`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub reserved: i32,
}

/// `struct statx` (256 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Statx {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub spare3: [u64; 12],
}
const _: () = assert!(std::mem::size_of::<Statx>() == 256);

/// `struct new_utsname`.
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

/// `struct sysinfo` (112 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Sysinfo {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: u16,
    pub pad2: u32,
    pub totalhigh: u64,
    pub freehigh: u64,
    pub mem_unit: u32,
    pub pad3: u32,
}
const _: () = assert!(std::mem::size_of::<Sysinfo>() == 112);

/// `struct rlimit64`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

/// `struct iovec`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}

/// `struct msghdr` (sendmsg, recvmsg).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MsgHdr {
    /// `msg_name`: the address.
    pub name: u64,
    /// `msg_namelen` (an int to the kernel).
    pub namelen: u32,
    pub pad0: u32,
    /// `msg_iov`.
    pub iov: u64,
    /// `msg_iovlen`.
    pub iovlen: u64,
    /// `msg_control`.
    pub control: u64,
    /// `msg_controllen`.
    pub controllen: u64,
    /// `msg_flags`.
    pub flags: i32,
    pub pad1: u32,
}

/// `struct mmsghdr` (sendmmsg, recvmmsg).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MmsgHdr {
    /// The message.
    pub hdr: MsgHdr,
    /// Bytes sent or received.
    pub len: u32,
    pub pad: u32,
}

/// The kernel's `struct sigaction` for rt_sigaction on x86-64.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// `struct flock` on x86-64 (32 bytes), for fcntl's record-lock commands. The padding
/// is kept as the guest wrote it: F_GETLK copies the whole structure back.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Flock {
    pub l_type: i16,
    pub l_whence: i16,
    pub pad0: u32,
    pub l_start: i64,
    pub l_len: i64,
    pub l_pid: i32,
    pub pad1: u32,
}
const _: () = assert!(std::mem::size_of::<Flock>() == 32);

/// `struct winsize`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

/// `struct termios` as TCGETS returns it (the kernel's, 36 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; 19],
}
const _: () = assert!(std::mem::size_of::<Termios>() == 36);

/// `struct statfs` on x86-64 (120 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Statfs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}
const _: () = assert!(std::mem::size_of::<Statfs>() == 120);

impl Statfs {
    /// What statfs reports for the sentry's in-memory filesystems (TMPFS_MAGIC).
    pub fn in_memory() -> Statfs {
        Statfs {
            f_type: 0x0102_1994,
            f_bsize: 4096,
            f_namelen: 255,
            f_frsize: 4096,
            ..Default::default()
        }
    }
}
