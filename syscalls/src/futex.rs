//! futex(2).

use std::time::{Duration, Instant};

use sentry::abi::Timespec;
use sentry::errno::Result;
use sentry::kernel::time::to_nanos;
use sentry::kernel::Task;
use sentry::{bail, errno};

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_LOCK_PI: i32 = 6;
const FUTEX_UNLOCK_PI: i32 = 7;
const FUTEX_TRYLOCK_PI: i32 = 8;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_WAIT_REQUEUE_PI: i32 = 11;
const FUTEX_CMP_REQUEUE_PI: i32 = 12;
const FUTEX_LOCK_PI2: i32 = 13;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

/// When a wait with timeout `ts` ends: relative for FUTEX_WAIT, absolute (on the
/// monotonic or realtime clock) for FUTEX_WAIT_BITSET.
fn deadline(task: &Task, ts: u64, absolute: bool, realtime: bool) -> Result<Option<Instant>> {
    if ts == 0 {
        return Ok(None);
    }
    let t: Timespec = task.mm.read_obj(ts)?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        bail!(EINVAL);
    }
    let mut ns = to_nanos(t);
    if absolute {
        let clock = if realtime {
            sentry::kernel::time::realtime()
        } else {
            sentry::kernel::time::monotonic()
        };
        ns -= to_nanos(clock);
    }
    let ns = ns.clamp(0, u64::MAX as i128) as u64;
    Ok(Some(Instant::now() + Duration::from_nanos(ns)))
}

/// FUTEX_WAKE_OP's operation on the second word: returns (new value, condition).
fn wake_op_apply(encoded: u32, old: u32) -> Result<(u32, bool)> {
    let op = (encoded >> 28) & 7;
    let shift = encoded >> 31 != 0;
    let cmp = (encoded >> 24) & 15;
    let mut oparg = (encoded >> 12) & 0xfff;
    let cmparg = encoded & 0xfff;
    if shift {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let new = match op {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => bail!(ENOSYS),
    };
    let (o, c) = (old as i32, cmparg as i32);
    let cond = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => bail!(ENOSYS),
    };
    Ok((new, cond))
}

pub fn futex(
    task: &mut Task,
    uaddr: u64,
    op: i32,
    val: u32,
    timeout: u64,
    uaddr2: u64,
    val3: u32,
) -> Result<u64> {
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime
        && !matches!(
            cmd,
            FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
        )
    {
        bail!(ENOSYS);
    }
    let key = task.mm.futex_key(uaddr, private)?;
    let futexes = &task.kernel.futexes;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 };
            let when = deadline(task, timeout, cmd == FUTEX_WAIT_BITSET, realtime)?;
            let mm = task.mm.clone();
            futexes.wait(key, val, bitset, when, || mm.read_obj::<u32>(uaddr))?;
            Ok(0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE { u32::MAX } else { val3 };
            Ok(futexes.wake(key, val, bitset)? as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let key2 = task.mm.futex_key(uaddr2, private)?;
            let n_requeue = timeout as u32;
            if (n_requeue as i32) < 0 || (val as i32) < 0 {
                bail!(EINVAL);
            }
            let mm = task.mm.clone();
            let load = move || mm.read_obj::<u32>(uaddr);
            let check =
                (cmd == FUTEX_CMP_REQUEUE).then_some((val3, &load as &dyn Fn() -> Result<u32>));
            Ok(futexes.requeue(key, key2, val, n_requeue, check)? as u64)
        }
        FUTEX_WAKE_OP => {
            let key2 = task.mm.futex_key(uaddr2, private)?;
            let mm = task.mm.clone();
            let n2 = timeout as u32;
            Ok(futexes.wake_op(key, key2, val, n2, || {
                let old: u32 = mm.read_obj(uaddr2)?;
                let (new, cond) = wake_op_apply(val3, old)?;
                mm.write_obj(uaddr2, &new)?;
                Ok(cond)
            })? as u64)
        }
        FUTEX_LOCK_PI
        | FUTEX_UNLOCK_PI
        | FUTEX_TRYLOCK_PI
        | FUTEX_WAIT_REQUEUE_PI
        | FUTEX_CMP_REQUEUE_PI
        | FUTEX_LOCK_PI2 => Err(errno!(ENOSYS, "PI futexes are not supported")),
        _ => Err(errno!(ENOSYS)),
    }
}
