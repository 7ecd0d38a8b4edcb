//! Robust futex lists: when a thread dies holding robust mutexes, each is marked
//! FUTEX_OWNER_DIED and one waiter is woken (set_robust_list(2)).

use super::Task;

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Walks at most this many entries (a guest may make the list circular).
const ROBUST_LIST_LIMIT: usize = 2048;

/// Releases the robust futexes the exiting task still holds.
pub fn exit_robust_list(task: &mut Task) {
    let (head, len) = std::mem::take(&mut task.robust_list);
    if head == 0 || len != 24 {
        return;
    }
    // struct robust_list_head { next; long futex_offset; list_op_pending }
    let Ok(words) = task.mm.read_obj::<[u64; 3]>(head) else {
        return;
    };
    let (mut entry, offset, pending) = (words[0], words[1] as i64, words[2]);
    let mut walked = 0;
    while entry != head && entry != 0 && walked < ROBUST_LIST_LIMIT {
        let next = task.mm.read_obj::<u64>(entry).unwrap_or(head);
        if entry != pending {
            handle_death(task, entry.wrapping_add_signed(offset));
        }
        entry = next;
        walked += 1;
    }
    if pending != 0 {
        handle_death(task, pending.wrapping_add_signed(offset));
    }
}

fn handle_death(task: &Task, uaddr: u64) {
    let Ok(val) = task.mm.read_obj::<u32>(uaddr) else {
        return;
    };
    if val & FUTEX_TID_MASK != task.tid as u32 {
        return;
    }
    let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if task.mm.write_obj(uaddr, &new).is_err() {
        return;
    }
    if val & FUTEX_WAITERS != 0 {
        if let Ok(key) = task.mm.futex_key(uaddr, false) {
            let _ = task.kernel.futexes.wake(key, 1, u32::MAX);
        }
    }
}
