//! Memory-management calls.

use std::sync::Arc;

use sentry::errno::Result;
use sentry::kernel::Task;
use sentry::mm::{page_up, Backing, Mappable, MmapRequest, MremapRequest, VmaKind};
use sentry::platform::{Prot, PAGE_SIZE};
use sentry::vfs::{wants_read, wants_write};
use sentry::{bail, errno};

const MAP_TYPE: u64 = 0x0f;
const KNOWN_MAP_FLAGS: u64 = (libc::MAP_SHARED
    | libc::MAP_PRIVATE
    | libc::MAP_SHARED_VALIDATE
    | libc::MAP_FIXED
    | libc::MAP_ANONYMOUS
    | libc::MAP_GROWSDOWN
    | libc::MAP_DENYWRITE
    | libc::MAP_EXECUTABLE
    | libc::MAP_LOCKED
    | libc::MAP_NORESERVE
    | libc::MAP_POPULATE
    | libc::MAP_NONBLOCK
    | libc::MAP_STACK
    | libc::MAP_HUGETLB
    | libc::MAP_SYNC
    | libc::MAP_FIXED_NOREPLACE) as u64;

fn prot_of(bits: u64) -> Result<Prot> {
    if bits & !((libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64) != 0 {
        bail!(EINVAL);
    }
    Ok(Prot::from_bits(bits))
}

pub fn mmap(
    task: &mut Task,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: i32,
    offset: u64,
) -> Result<u64> {
    let prot = prot_of(prot & !((libc::PROT_GROWSDOWN | libc::PROT_GROWSUP) as u64))?;
    let shared = match flags & MAP_TYPE {
        t if t == libc::MAP_SHARED as u64 => true,
        t if t == libc::MAP_PRIVATE as u64 => false,
        t if t == libc::MAP_SHARED_VALIDATE as u64 => {
            if flags & !KNOWN_MAP_FLAGS != 0 {
                bail!(EOPNOTSUPP);
            }
            true
        }
        _ => bail!(EINVAL),
    };
    if len == 0 || !offset.is_multiple_of(PAGE_SIZE) {
        bail!(EINVAL);
    }
    let pages = page_up(len).ok_or_else(|| errno!(ENOMEM))? / PAGE_SIZE;
    if offset.checked_add(pages * PAGE_SIZE).is_none() {
        bail!(EOVERFLOW);
    }
    let fixed = flags & libc::MAP_FIXED as u64 != 0;
    let noreplace = flags & libc::MAP_FIXED_NOREPLACE as u64 != 0;
    let anonymous = flags & libc::MAP_ANONYMOUS as u64 != 0;
    let all = Prot {
        read: true,
        write: true,
        exec: true,
    };
    let (backing, max_prot) = if anonymous {
        if shared {
            let obj: Arc<dyn Mappable> = sentry::mm::SharedAnon::new(pages);
            (
                Backing::Object {
                    obj,
                    pgoff: 0,
                    name: Some(Arc::from(&b"/dev/zero (deleted)"[..])),
                },
                all,
            )
        } else {
            (Backing::Anonymous, all)
        }
    } else {
        let file = task.files.get(fd)?;
        if file.is_path_only() {
            bail!(EBADF);
        }
        let flags = file.flags();
        if !wants_read(flags) {
            bail!(EACCES);
        }
        let writable = wants_write(flags);
        if shared && prot.write && (!writable || flags & libc::O_APPEND as u32 != 0) {
            bail!(EACCES);
        }
        let noexec = file.path().is_some_and(|p| p.mount.flags().no_exec);
        if prot.exec && noexec {
            bail!(EPERM);
        }
        // A memfd sealed against writing maps shared only read-only, for good.
        let write_sealed = shared
            && file.ops().as_tmpfs().is_some_and(|i| {
                i.seals()
                    & (sentry::fs::memfd::F_SEAL_WRITE | sentry::fs::memfd::F_SEAL_FUTURE_WRITE)
                    != 0
            });
        if write_sealed && prot.write {
            bail!(EPERM);
        }
        let obj = file.ops().mappable()?;
        if shared && writable && !write_sealed {
            file.ops().map_shared_writable()?;
        }
        let max = Prot {
            read: true,
            write: !shared || (writable && !write_sealed),
            exec: !noexec,
        };
        (
            Backing::Object {
                obj,
                pgoff: offset / PAGE_SIZE,
                name: file
                    .path()
                    .map(|p| Arc::from(task.absolute_path(p).0.as_slice())),
            },
            max,
        )
    };
    task.mm.mmap(MmapRequest {
        addr,
        len,
        prot,
        max_prot,
        shared,
        fixed,
        noreplace: noreplace && !fixed,
        growsdown: flags & libc::MAP_GROWSDOWN as u64 != 0,
        backing,
        kind: VmaKind::Plain,
    })
}

pub fn munmap(task: &mut Task, addr: u64, len: u64) -> Result<u64> {
    task.mm.munmap(addr, len)?;
    Ok(0)
}

pub fn mprotect(task: &mut Task, addr: u64, len: u64, prot: u64) -> Result<u64> {
    let prot = prot_of(prot & !((libc::PROT_GROWSDOWN | libc::PROT_GROWSUP) as u64))?;
    task.mm.mprotect(addr, len, prot)?;
    Ok(0)
}

pub fn brk(task: &mut Task, addr: u64) -> Result<u64> {
    Ok(task.mm.brk(addr))
}

pub fn mremap(
    task: &mut Task,
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u32,
    new_addr: u64,
) -> Result<u64> {
    let known = (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP) as u32;
    if flags & !known != 0 || !old.is_multiple_of(PAGE_SIZE) {
        bail!(EINVAL);
    }
    let may_move = flags & libc::MREMAP_MAYMOVE as u32 != 0;
    let fixed = flags & libc::MREMAP_FIXED as u32 != 0;
    if (fixed && !may_move) || flags & libc::MREMAP_DONTUNMAP as u32 != 0 {
        if flags & libc::MREMAP_DONTUNMAP as u32 != 0 {
            bail!(EINVAL, "MREMAP_DONTUNMAP is not supported");
        }
        bail!(EINVAL);
    }
    task.mm.mremap(MremapRequest {
        old_addr: old,
        old_len,
        new_len,
        may_move,
        fixed: fixed.then_some(new_addr),
    })
}

pub fn msync(task: &mut Task, addr: u64, len: u64, flags: i32) -> Result<u64> {
    let known = libc::MS_ASYNC | libc::MS_SYNC | libc::MS_INVALIDATE;
    if !addr.is_multiple_of(PAGE_SIZE)
        || flags & !known != 0
        || (flags & libc::MS_ASYNC != 0 && flags & libc::MS_SYNC != 0)
    {
        bail!(EINVAL);
    }
    let len = page_up(len).ok_or_else(|| errno!(ENOMEM))?;
    task.mm.check_mapped(addr, len)?;
    if flags & libc::MS_SYNC != 0 {
        for obj in task.mm.shared_objects(addr, len) {
            obj.sync()?;
        }
    }
    Ok(0)
}

pub fn mincore(task: &mut Task, addr: u64, len: u64, vec: u64) -> Result<u64> {
    let v = task.mm.mincore(addr, len)?;
    task.mm.copy_out(vec, &v)?;
    Ok(0)
}

pub fn madvise(task: &mut Task, addr: u64, len: u64, advice: i32) -> Result<u64> {
    if !addr.is_multiple_of(PAGE_SIZE) {
        bail!(EINVAL);
    }
    let len = page_up(len).ok_or_else(|| errno!(EINVAL))?;
    if len == 0 {
        return Ok(0);
    }
    match advice {
        libc::MADV_DONTNEED | libc::MADV_FREE => task.mm.madvise_dontneed(addr, len)?,
        libc::MADV_NORMAL
        | libc::MADV_RANDOM
        | libc::MADV_SEQUENTIAL
        | libc::MADV_WILLNEED
        | libc::MADV_DONTFORK
        | libc::MADV_DOFORK
        | libc::MADV_MERGEABLE
        | libc::MADV_UNMERGEABLE
        | libc::MADV_HUGEPAGE
        | libc::MADV_NOHUGEPAGE
        | libc::MADV_DONTDUMP
        | libc::MADV_DODUMP
        | libc::MADV_WIPEONFORK
        | libc::MADV_KEEPONFORK
        | libc::MADV_COLD
        | libc::MADV_PAGEOUT => task.mm.check_mapped(addr, len)?,
        _ => bail!(EINVAL),
    }
    Ok(0)
}

/// Locking memory needs a nonzero RLIMIT_MEMLOCK or CAP_IPC_LOCK (EPERM).
fn may_lock(task: &Task) -> Result<()> {
    if task.tg.limit(libc::RLIMIT_MEMLOCK) == 0
        && !task.creds.capable(sentry::kernel::caps::CAP_IPC_LOCK)
    {
        bail!(EPERM);
    }
    Ok(())
}

pub fn mlock(task: &mut Task, addr: u64, len: u64) -> Result<u64> {
    may_lock(task)?;
    munlock(task, addr, len)
}

/// munlock, and mlock's range check: every page of the range must be mapped.
pub fn munlock(task: &mut Task, addr: u64, len: u64) -> Result<u64> {
    let start = addr & !(PAGE_SIZE - 1);
    let end = page_up(addr.checked_add(len).ok_or_else(|| errno!(ENOMEM))?)
        .ok_or_else(|| errno!(ENOMEM))?;
    task.mm.check_mapped(start, end - start)?;
    Ok(0)
}

pub fn mlockall(task: &mut Task, flags: i32) -> Result<u64> {
    let known = libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT;
    if flags == 0 || flags & !known != 0 || flags == libc::MCL_ONFAULT {
        bail!(EINVAL);
    }
    may_lock(task)?;
    Ok(0)
}

pub fn munlockall(_task: &mut Task) -> Result<u64> {
    Ok(0)
}

/// mlock2's only flag.
const MLOCK_ONFAULT: u32 = 0x01;

pub fn mlock2(task: &mut Task, addr: u64, len: u64, flags: u32) -> Result<u64> {
    if flags & !MLOCK_ONFAULT != 0 {
        bail!(EINVAL);
    }
    mlock(task, addr, len)
}

// membarrier(2) commands.
const MEMBARRIER_CMD_QUERY: i32 = 0;
const MEMBARRIER_CMD_GLOBAL: i32 = 1 << 0;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: i32 = 1 << 1;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: i32 = 1 << 2;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 1 << 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 1 << 5;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 1 << 6;
const MEMBARRIER_CMD_GET_REGISTRATIONS: i32 = 1 << 9;
/// What QUERY reports: every command but the rseq ones (moat has no rseq).
const MEMBARRIER_SUPPORTED: i32 = MEMBARRIER_CMD_GLOBAL
    | MEMBARRIER_CMD_GLOBAL_EXPEDITED
    | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
    | MEMBARRIER_CMD_PRIVATE_EXPEDITED
    | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
    | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
    | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
    | MEMBARRIER_CMD_GET_REGISTRATIONS;

/// A barrier on every thread of the sandbox. Threads stopped in the sentry (in a
/// system call, a fault, asleep) have already passed one; those running guest code
/// run it on host threads, which a host-wide barrier reaches.
fn barrier(task: &Task, private: bool) -> Result<u64> {
    if private && task.tg.tasks.lock().len() == 1 {
        // The caller is the only thread of its address space, and it is here.
        return Ok(0);
    }
    sentry::abi::hostcall::membarrier_global()?;
    Ok(0)
}

pub fn membarrier(task: &mut Task, cmd: i32, flags: u32, _cpu_id: i32) -> Result<u64> {
    use std::sync::atomic::Ordering;
    if flags != 0 {
        bail!(EINVAL);
    }
    let registered = |r: i32| task.mm.membarrier.load(Ordering::Acquire) & r as u32 != 0;
    match cmd {
        MEMBARRIER_CMD_QUERY => Ok(MEMBARRIER_SUPPORTED as u64),
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => barrier(task, false),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE => {
            // Each command needs its own registration (REGISTER_* is the command's bit
            // shifted up by one).
            if !registered(cmd << 1) {
                bail!(EPERM);
            }
            barrier(task, true)
        }
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => {
            task.mm.membarrier.fetch_or(cmd as u32, Ordering::AcqRel);
            Ok(0)
        }
        MEMBARRIER_CMD_GET_REGISTRATIONS => Ok(task.mm.membarrier.load(Ordering::Acquire) as u64),
        _ => bail!(EINVAL),
    }
}
