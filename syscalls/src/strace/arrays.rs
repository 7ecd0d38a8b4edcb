//! Arrays in guest memory: iovecs, argv and envp, CPU sets, directory entries.
//! strace shows at most 32 elements of an array, then `...`.

use super::args::c_int;
use super::flags::{flags, Bits};
use super::guest::{read_exact, read_pointers, Fields, MAX_READ};
use super::quote::{buffer, cstring, pointer, Escape, MAX_STRLEN};
use super::GuestMemory;

/// The most array elements shown.
const MAX_ELEMENTS: usize = MAX_STRLEN;

/// Size of `struct iovec`.
const IOVEC_SIZE: usize = 16;

/// `[{iov_base="abc", iov_len=3}, ...]`. For an input, each buffer shows `iov_len` bytes;
/// for an output, `filled` bytes are spread over the buffers in order, as the kernel did.
pub(super) fn iovecs(
    mem: &dyn GuestMemory,
    addr: u64,
    count: u64,
    mut filled: Option<u64>,
) -> Option<String> {
    let count = usize::try_from(c_int(count)).ok()?;
    let shown = count.min(MAX_ELEMENTS);
    let iov = Fields::read(mem, addr, shown * IOVEC_SIZE)?;
    let items = (0..shown).map(|i| {
        let (base, len) = (iov.u64(i * IOVEC_SIZE), iov.u64(i * IOVEC_SIZE + 8));
        let data_len = match filled.as_mut() {
            None => len,
            Some(left) => {
                let taken = len.min(*left);
                *left -= taken;
                taken
            }
        };
        let data = buffer(mem, base, data_len, Escape::Octal);
        format!("{{iov_base={data}, iov_len={len}}}")
    });
    Some(list(items, count > shown))
}

/// execve's argv: `["ls", "-la"]`.
pub(super) fn argv(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let (pointers, more) = read_pointers(mem, addr, MAX_ELEMENTS)?;
    let items = pointers.iter().map(|&p| cstring(mem, p, MAX_STRLEN));
    Some(list(items, more))
}

/// The most environment variables counted.
const MAX_VARS: usize = 4096;

/// execve's envp, counted rather than shown: `0x7ffd3c0 /* 20 vars */`.
pub(super) fn envp(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let (pointers, more) = read_pointers(mem, addr, MAX_VARS)?;
    let plus = if more { "+" } else { "" };
    let count = pointers.len();
    let noun = if count == 1 && !more { "var" } else { "vars" };
    Some(format!("{} /* {count}{plus} {noun} */", pointer(addr)))
}

/// Size of `struct pollfd`.
const POLLFD_SIZE: usize = 8;

const POLL: Bits = &[
    (0x1, "POLLIN"),
    (0x2, "POLLPRI"),
    (0x4, "POLLOUT"),
    (0x8, "POLLERR"),
    (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"),
    (0x40, "POLLRDNORM"),
    (0x80, "POLLRDBAND"),
    (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (0x1000, "POLLREMOVE"),
    (0x2000, "POLLRDHUP"),
];

/// poll's `struct pollfd[]`, as the kernel reads it: `[{fd=3, events=POLLIN}]`.
pub(super) fn pollfds(mem: &dyn GuestMemory, addr: u64, count: u64) -> Option<String> {
    let count = usize::try_from(count).ok()?;
    let shown = count.min(MAX_ELEMENTS);
    let fds = Fields::read(mem, addr, shown * POLLFD_SIZE)?;
    let items = (0..shown).map(|i| {
        let events = u64::from(fds.u16(i * POLLFD_SIZE + 4));
        format!(
            "{{fd={}, events={}}}",
            fds.i32(i * POLLFD_SIZE),
            flags(events, POLL)
        )
    });
    Some(list(items, count > shown))
}

/// The first `count` entries of a `gid_t[]`: `[0, 27]`.
pub(super) fn gids(mem: &dyn GuestMemory, addr: u64, count: u64) -> Option<String> {
    let count = usize::try_from(count).ok()?;
    let shown = count.min(MAX_ELEMENTS);
    let gids = Fields::read(mem, addr, shown * 4)?;
    let items = (0..shown).map(|i| gids.u32(i * 4).to_string());
    Some(list(items, count > shown))
}

/// `[a, b, c]`, with `...` after the last element shown when the array went on.
fn list(items: impl Iterator<Item = String>, more: bool) -> String {
    let mut items: Vec<String> = items.collect();
    if more {
        items.push("...".to_owned());
    }
    format!("[{}]", items.join(", "))
}

/// Bytes of a CPU set read at most (1024 CPUs).
const MAX_CPU_SET: u64 = 128;

/// A CPU set of `len` bytes: `[0 1 2 3]`.
pub(super) fn cpu_set(mem: &dyn GuestMemory, addr: u64, len: u64) -> Option<String> {
    let len = usize::try_from(len.min(MAX_CPU_SET)).ok()?;
    let bytes = read_exact(mem, addr, len)?;
    let cpus: Vec<String> = (0..len * 8)
        .filter(|&cpu| {
            bytes
                .get(cpu / 8)
                .is_some_and(|b| b & (1 << (cpu % 8)) != 0)
        })
        .map(|cpu| cpu.to_string())
        .collect();
    Some(format!("[{}]", cpus.join(" ")))
}

/// The most directory-entry bytes walked to count entries.
const MAX_DENTS: u64 = 64 * 1024;

/// Offset of `d_reclen` in both `linux_dirent` and `linux_dirent64`.
const D_RECLEN: usize = 16;

/// getdents' buffer, counted as strace does: `0x55d0 /* 12 entries */`.
pub(super) fn dents(mem: &dyn GuestMemory, addr: u64, len: u64) -> Option<String> {
    let len = usize::try_from(len.min(MAX_DENTS)).ok()?;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let chunk_len = (len - bytes.len()).min(MAX_READ);
        let at = addr.checked_add(bytes.len() as u64)?;
        bytes.extend(read_exact(mem, at, chunk_len)?);
    }
    let dirents = Fields::from_bytes(bytes);
    let mut offset = 0;
    let mut entries = 0;
    while offset + D_RECLEN + 2 <= len {
        let reclen = usize::from(dirents.u16(offset + D_RECLEN));
        if reclen == 0 {
            break;
        }
        entries += 1;
        offset += reclen;
    }
    Some(format!("{} /* {entries} entries */", pointer(addr)))
}
