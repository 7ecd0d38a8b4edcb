//! Calls that reach into another process of the sandbox: process_vm_readv/writev,
//! kcmp and pidfd_getfd, each behind ptrace's access check.

use std::sync::Arc;

use sentry::errno::Result;
use sentry::kernel::{Task, TaskView, ThreadGroup};
use sentry::mm::MemoryManager;
use sentry::platform::PAGE_SIZE;
use sentry::{bail, errno};

use crate::fs::read_iovecs;

/// Thread `tid`'s process and what it holds (the caller's own for its own tid), with
/// ptrace's access check: ESRCH if there is no such thread, EPERM if the caller may
/// not reach it.
fn reach(task: &Task, tid: i32) -> Result<(Arc<ThreadGroup>, TaskView)> {
    if tid == task.tid {
        return Ok((task.tg.clone(), own_view(task)));
    }
    let (shared, tg) = task
        .kernel
        .tree
        .lock()
        .thread(tid)
        .ok_or_else(|| errno!(ESRCH))?;
    let view = shared.view().ok_or_else(|| errno!(ESRCH))?;
    if !Arc::ptr_eq(&tg, &task.tg) && !task.creds.may_ptrace(&view.creds) {
        bail!(EPERM);
    }
    Ok((tg, view))
}

fn own_view(task: &Task) -> TaskView {
    TaskView {
        mm: task.mm.clone(),
        files: task.files.clone(),
        fs: task.fs.clone(),
        creds: task.creds.clone(),
        exe: task.exe.clone(),
    }
}

fn iov_count(n: u64) -> Result<i32> {
    i32::try_from(n).map_err(|_| errno!(EINVAL))
}

/// Copies between `local` (the caller's iovecs) and the `remote` ranges of `other`
/// (which may be the caller's own address space), a page at most at a time; stops at the first range that faults on either side and
/// returns what was copied (EFAULT if nothing was).
fn transfer(
    mine: &MemoryManager,
    local: &[sentry::abi::Iovec],
    other: &MemoryManager,
    remote: &[sentry::abi::Iovec],
    write: bool,
) -> Result<u64> {
    let foreign = !std::ptr::eq(mine, other);
    let mut done = 0u64;
    let mut li = local.iter().filter(|v| v.len > 0).copied();
    let mut cur = li.next();
    let mut buf = vec![0u8; PAGE_SIZE as usize];
    'remote: for r in remote.iter().filter(|v| v.len > 0) {
        let mut off = 0;
        while off < r.len {
            let Some(mut l) = cur else { break 'remote };
            let raddr = r.base + off;
            let in_page = PAGE_SIZE - raddr % PAGE_SIZE;
            let n = (r.len - off).min(in_page).min(l.len) as usize;
            let ok = if write {
                mine.copy_in(l.base, &mut buf[..n]).and_then(|_| {
                    if foreign {
                        other.copy_out_remote(raddr, &buf[..n])
                    } else {
                        other.copy_out(raddr, &buf[..n])
                    }
                })
            } else {
                other
                    .copy_in(raddr, &mut buf[..n])
                    .and_then(|_| mine.copy_out(l.base, &buf[..n]))
            };
            if let Err(e) = ok {
                if done == 0 {
                    return Err(e);
                }
                break 'remote;
            }
            done += n as u64;
            off += n as u64;
            l.base += n as u64;
            l.len -= n as u64;
            cur = if l.len == 0 { li.next() } else { Some(l) };
        }
    }
    Ok(done)
}

/// process_vm_readv/writev's arguments.
struct VmRequest {
    pid: i32,
    local: u64,
    liovcnt: u64,
    remote: u64,
    riovcnt: u64,
    flags: u64,
    write: bool,
}

fn process_vm(task: &Task, r: VmRequest) -> Result<u64> {
    if r.flags != 0 {
        bail!(EINVAL);
    }
    let local = read_iovecs(task, r.local, iov_count(r.liovcnt)?)?;
    if local.iter().all(|v| v.len == 0) {
        return Ok(0);
    }
    let remote = read_iovecs(task, r.remote, iov_count(r.riovcnt)?)?;
    let (tg, view) = reach(task, r.pid)?;
    let same = Arc::ptr_eq(&view.mm, &task.mm);
    let done = transfer(&task.mm, &local, &view.mm, &remote, r.write);
    if r.write && !same {
        // Its threads drop the stub's stale mappings before they run on.
        for t in tg.tasks.lock().iter() {
            t.kick();
        }
    }
    done
}

pub fn process_vm_readv(
    task: &mut Task,
    pid: i32,
    local: u64,
    liovcnt: u64,
    remote: u64,
    riovcnt: u64,
    flags: u64,
) -> Result<u64> {
    let write = false;
    process_vm(
        task,
        VmRequest {
            pid,
            local,
            liovcnt,
            remote,
            riovcnt,
            flags,
            write,
        },
    )
}

pub fn process_vm_writev(
    task: &mut Task,
    pid: i32,
    local: u64,
    liovcnt: u64,
    remote: u64,
    riovcnt: u64,
    flags: u64,
) -> Result<u64> {
    let write = true;
    process_vm(
        task,
        VmRequest {
            pid,
            local,
            liovcnt,
            remote,
            riovcnt,
            flags,
            write,
        },
    )
}

// kcmp types.
const KCMP_FILE: i32 = 0;
const KCMP_VM: i32 = 1;
const KCMP_FILES: i32 = 2;
const KCMP_FS: i32 = 3;
const KCMP_SIGHAND: i32 = 4;
const KCMP_IO: i32 = 5;
const KCMP_SYSVSEM: i32 = 6;
const KCMP_EPOLL_TFD: i32 = 7;

/// kcmp's answer for two kernel objects: 0 if the same, else 1 or 2 by address.
fn order<T: ?Sized>(a: *const T, b: *const T) -> u64 {
    let (a, b) = (a as *const () as usize, b as *const () as usize);
    (a < b) as u64 | (((a > b) as u64) << 1)
}

pub fn kcmp(task: &mut Task, pid1: i32, pid2: i32, kind: i32, idx1: u64, idx2: u64) -> Result<u64> {
    let (tg1, v1) = reach(task, pid1)?;
    let (tg2, v2) = reach(task, pid2)?;
    match kind {
        KCMP_FILE => {
            let f1 = v1.files.get(idx1 as i32).map_err(|_| errno!(EBADF))?;
            let f2 = v2.files.get(idx2 as i32).map_err(|_| errno!(EBADF))?;
            Ok(order(Arc::as_ptr(&f1), Arc::as_ptr(&f2)))
        }
        KCMP_VM => Ok(order(Arc::as_ptr(&v1.mm), Arc::as_ptr(&v2.mm))),
        KCMP_FILES => Ok(order(Arc::as_ptr(&v1.files), Arc::as_ptr(&v2.files))),
        KCMP_FS => Ok(order(Arc::as_ptr(&v1.fs), Arc::as_ptr(&v2.fs))),
        // Signal handlers are per process in the sandbox (no CLONE_SIGHAND without
        // CLONE_THREAD).
        KCMP_SIGHAND => Ok(order(Arc::as_ptr(&tg1), Arc::as_ptr(&tg2))),
        // Neither an I/O context nor a System V semaphore undo list is ever made:
        // every task's compares equal, as two tasks without one do on Linux.
        KCMP_IO | KCMP_SYSVSEM => Ok(0),
        KCMP_EPOLL_TFD => Err(errno!(EOPNOTSUPP)),
        _ => Err(errno!(EINVAL)),
    }
}

pub fn pidfd_getfd(task: &mut Task, pidfd: i32, targetfd: i32, flags: u32) -> Result<u64> {
    if flags != 0 {
        bail!(EINVAL);
    }
    let file = task.files.get(pidfd)?;
    let pfd = file.ops().as_pidfd().ok_or_else(|| errno!(EBADF))?;
    let leader = pfd.tg.tasks.lock().first().cloned();
    let view = leader
        .and_then(|t| {
            if Arc::ptr_eq(&pfd.tg, &task.tg) {
                Some(own_view(task))
            } else {
                t.view()
            }
        })
        .ok_or_else(|| errno!(ESRCH))?;
    if !Arc::ptr_eq(&pfd.tg, &task.tg) && !task.creds.may_ptrace(&view.creds) {
        bail!(EPERM);
    }
    let target = view.files.get(targetfd)?;
    let limit = task.tg.limit(libc::RLIMIT_NOFILE);
    Ok(task.files.install(target, true, 0, limit)? as u64)
}
