//! Fixed-size structs the kernel reads or fills in, decoded the way strace abbreviates them.
//! Each returns `None` when the struct cannot be read; callers then show the pointer.
//! Offsets are those of the x86-64 ABI.

use super::flags::{self, file_mode, makedev};
use super::guest::Fields;
use super::quote::char_array;
use super::GuestMemory;

/// `struct timespec`: `{tv_sec=1, tv_nsec=500000000}`.
pub(super) fn timespec(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let ts = Fields::read(mem, addr, 16)?;
    Some(format!("{{tv_sec={}, tv_nsec={}}}", ts.i64(0), ts.i64(8)))
}

/// `struct timeval`: `{tv_sec=1, tv_usec=500000}`.
pub(super) fn timeval(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let tv = Fields::read(mem, addr, 16)?;
    Some(format!("{{tv_sec={}, tv_usec={}}}", tv.i64(0), tv.i64(8)))
}

const S_IFMT: u64 = 0o170000;
const S_IFCHR: u64 = 0o020000;
const S_IFBLK: u64 = 0o060000;

/// `struct stat`: `{st_mode=S_IFREG|0644, st_size=1234, ...}`, or `st_rdev` for devices.
pub(super) fn stat(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let st = Fields::read(mem, addr, 56)?;
    let mode = u64::from(st.u32(24));
    let detail = if matches!(mode & S_IFMT, S_IFCHR | S_IFBLK) {
        format!("st_rdev={}", makedev(st.u64(40)))
    } else {
        format!("st_size={}", st.i64(48))
    };
    Some(format!("{{st_mode={}, {detail}, ...}}", file_mode(mode)))
}

/// `struct statx`: `{stx_mask=STATX_BASIC_STATS, stx_attributes=0, stx_mode=..., stx_size=..., ...}`.
pub(super) fn statx(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let stx = Fields::read(mem, addr, 48)?;
    Some(format!(
        "{{stx_mask={}, stx_attributes={}, stx_mode={}, stx_size={}, ...}}",
        flags::flags(u64::from(stx.u32(0)), flags::STATX_MASK),
        flags::flags(stx.u64(8), flags::STATX_ATTR),
        file_mode(u64::from(stx.u16(28))),
        stx.u64(40),
    ))
}

/// Length of each `struct utsname` field.
const UTS_FIELD: usize = 65;

/// `struct utsname`, abbreviated: `{sysname="Linux", nodename="moat", ...}`.
pub(super) fn utsname(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let uts = Fields::read(mem, addr, 2 * UTS_FIELD)?;
    Some(format!(
        "{{sysname={}, nodename={}, ...}}",
        char_array(uts.bytes(0, UTS_FIELD)),
        char_array(uts.bytes(UTS_FIELD, UTS_FIELD)),
    ))
}

/// `struct sysinfo`, every field.
pub(super) fn sysinfo(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let si = Fields::read(mem, addr, 112)?;
    Some(format!(
        "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, \
         bufferram={}, totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, \
         mem_unit={}}}",
        si.i64(0),
        si.u64(8),
        si.u64(16),
        si.u64(24),
        si.u64(32),
        si.u64(40),
        si.u64(48),
        si.u64(56),
        si.u64(64),
        si.u64(72),
        si.u16(80),
        si.u64(88),
        si.u64(96),
        si.u32(104),
    ))
}

/// `struct rlimit`: `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}`.
pub(super) fn rlimit(mem: &dyn GuestMemory, addr: u64, sixty_four: bool) -> Option<String> {
    let rl = Fields::read(mem, addr, 16)?;
    let infinity = if sixty_four {
        "RLIM64_INFINITY"
    } else {
        "RLIM_INFINITY"
    };
    let limit = |value: u64| match value {
        u64::MAX => infinity.to_owned(),
        v if v != 0 && v % 1024 == 0 => format!("{}*1024", v / 1024),
        v => v.to_string(),
    };
    Some(format!(
        "{{rlim_cur={}, rlim_max={}}}",
        limit(rl.u64(0)),
        limit(rl.u64(8))
    ))
}

/// The `int` at `addr`.
pub(super) fn int_value(mem: &dyn GuestMemory, addr: u64) -> Option<i32> {
    Fields::read(mem, addr, 4).map(|v| v.i32(0))
}

/// An `int` the kernel stored: `[16]`.
pub(super) fn int(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    int_value(mem, addr).map(|v| format!("[{v}]"))
}

/// A `time_t` the kernel stored: `[1700000000]`.
pub(super) fn time(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    long(mem, addr)
}

/// A `long` or `loff_t` in memory: `[4096]`.
pub(super) fn long(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    Fields::read(mem, addr, 8).map(|v| format!("[{}]", v.i64(0)))
}

/// An `int[2]` of descriptors: `[3, 4]`.
pub(super) fn fd_pair(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    Fields::read(mem, addr, 8).map(|v| format!("[{}, {}]", v.i32(0), v.i32(4)))
}
