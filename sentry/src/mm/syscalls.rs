//! The memory-management operations behind mmap, munmap, mprotect, brk, mremap,
//! madvise and mincore. The syscall layer decodes and validates flags; these enforce
//! the address-space rules and keep the stub in step.

use std::sync::Arc;

use super::{check_range, page_down, page_up, Backing, Mappable, MemoryManager, Vma, VmaKind};
use crate::errno;
use crate::errno::Result;
use crate::platform::{Prot, MAX_USER_ADDRESS, MIN_USER_ADDRESS, PAGE_SIZE};

/// A validated mmap request.
#[derive(Clone)]
pub struct MmapRequest {
    /// Address (hint, or exact with `fixed`).
    pub addr: u64,
    /// Length in bytes (non-zero).
    pub len: u64,
    /// Protection.
    pub prot: Prot,
    /// Most protection the backing permits.
    pub max_prot: Prot,
    /// MAP_SHARED.
    pub shared: bool,
    /// MAP_FIXED: replace whatever is there.
    pub fixed: bool,
    /// MAP_FIXED_NOREPLACE: exact address, EEXIST if occupied.
    pub noreplace: bool,
    /// MAP_GROWSDOWN.
    pub growsdown: bool,
    /// What backs the pages.
    pub backing: Backing,
    /// /proc name.
    pub kind: VmaKind,
}

/// A validated mremap request.
#[derive(Clone, Copy)]
pub struct MremapRequest {
    /// Old address (page aligned).
    pub old_addr: u64,
    /// Old length.
    pub old_len: u64,
    /// New length (non-zero).
    pub new_len: u64,
    /// MREMAP_MAYMOVE.
    pub may_move: bool,
    /// MREMAP_FIXED target.
    pub fixed: Option<u64>,
}

impl MemoryManager {
    /// Maps a new region; returns its address.
    pub fn mmap(&self, req: MmapRequest) -> Result<u64> {
        let len = page_up(req.len)
            .filter(|&l| l > 0 && l <= MAX_USER_ADDRESS)
            .ok_or_else(|| errno!(ENOMEM))?;
        let mut mm = self.inner.lock();
        let exact = req.fixed || req.noreplace;
        let addr = if exact {
            if !req.addr.is_multiple_of(PAGE_SIZE) {
                return Err(errno!(EINVAL));
            }
            let end = check_range(req.addr, len).ok_or_else(|| errno!(ENOMEM))?;
            if mm.vmas.any_overlap(req.addr, end) {
                if req.noreplace {
                    return Err(errno!(EEXIST));
                }
                self.unmap_locked(&mut mm, req.addr, end)?;
            }
            req.addr
        } else {
            let hint = page_down(req.addr);
            let hint_ok = hint != 0
                && check_range(hint, len).is_some_and(|end| !mm.vmas.any_overlap(hint, end));
            if hint_ok {
                hint
            } else {
                let top = mm.mmap_base;
                mm.vmas
                    .find_gap_top_down(len, MIN_USER_ADDRESS, top)
                    .or_else(|| mm.vmas.find_gap_top_down(len, top, MAX_USER_ADDRESS))
                    .ok_or_else(|| errno!(ENOMEM))?
            }
        };
        mm.vmas.insert(Vma {
            start: addr,
            end: addr + len,
            prot: req.prot,
            max_prot: req.max_prot,
            shared: req.shared,
            growsdown: req.growsdown,
            backing: req.backing,
            kind: req.kind,
        });
        Ok(addr)
    }

    fn unmap_locked(&self, mm: &mut super::Mm, start: u64, end: u64) -> Result<()> {
        mm.vmas.remove_range(start, end);
        self.zap(mm, start, end)
    }

    /// munmap(2).
    pub fn munmap(&self, addr: u64, len: u64) -> Result<()> {
        if !addr.is_multiple_of(PAGE_SIZE)
            || addr > MAX_USER_ADDRESS
            || len > MAX_USER_ADDRESS - addr
        {
            return Err(errno!(EINVAL));
        }
        let len = page_up(len).unwrap_or(0);
        if len == 0 {
            return Err(errno!(EINVAL));
        }
        let mut mm = self.inner.lock();
        self.unmap_locked(&mut mm, addr, addr + len)
    }

    /// mprotect(2).
    pub fn mprotect(&self, addr: u64, len: u64, prot: Prot) -> Result<()> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(errno!(EINVAL));
        }
        let len = page_up(len).ok_or_else(|| errno!(ENOMEM))?;
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len).ok_or_else(|| errno!(ENOMEM))?;
        let mut mm = self.inner.lock();
        if !mm.vmas.fully_mapped(addr, end) {
            return Err(errno!(ENOMEM));
        }
        if mm.vmas.overlapping(addr, end).any(|v| {
            (prot.write && !v.max_prot.write)
                || (prot.read && !v.max_prot.read)
                || (prot.exec && !v.max_prot.exec)
        }) {
            return Err(errno!(EACCES));
        }
        let pieces = mm.vmas.remove_range(addr, end);
        for mut v in pieces {
            v.prot = prot;
            mm.vmas.insert(v);
        }
        if mm.ptes.next_present(addr, end).is_none() {
            return Ok(());
        }
        // Host mappings are sparse and mprotect stops at the first hole, so drop them:
        // faults map each page back with exactly the new rights (copy-on-write pages
        // stay read-only).
        self.space.read().unmap(addr, len)
    }

    /// brk(2): returns the new (or unchanged) break.
    pub fn brk(&self, addr: u64) -> u64 {
        let mut mm = self.inner.lock();
        let old = mm.brk;
        if addr < mm.brk_start || addr >= mm.mmap_base {
            return old;
        }
        let (Some(old_end), Some(new_end)) = (page_up(old), page_up(addr)) else {
            return old;
        };
        if new_end > old_end {
            if mm.vmas.any_overlap(old_end, new_end) {
                return old;
            }
            // Extend the heap VMA if it ends where the new pages begin.
            let heap = mm
                .vmas
                .find(old_end - 1)
                .filter(|v| v.kind == VmaKind::Heap && v.end == old_end)
                .map(|v| v.start);
            match heap.and_then(|s| mm.vmas.get_mut(s)) {
                Some(v) => v.end = new_end,
                None => {
                    let rw = Prot {
                        read: true,
                        write: true,
                        exec: false,
                    };
                    mm.vmas.insert(Vma {
                        start: old_end,
                        end: new_end,
                        prot: rw,
                        max_prot: Prot {
                            read: true,
                            write: true,
                            exec: true,
                        },
                        shared: false,
                        growsdown: false,
                        backing: Backing::Anonymous,
                        kind: VmaKind::Heap,
                    });
                }
            }
        } else if new_end < old_end && self.unmap_locked(&mut mm, new_end, old_end).is_err() {
            return old;
        }
        mm.brk = addr;
        addr
    }

    /// mremap(2): returns the new address.
    pub fn mremap(&self, req: MremapRequest) -> Result<u64> {
        let old_len = page_up(req.old_len).ok_or_else(|| errno!(EINVAL))?;
        let new_len = page_up(req.new_len)
            .filter(|&l| l > 0)
            .ok_or_else(|| errno!(EINVAL))?;
        let old = req.old_addr;
        let old_end = old.checked_add(old_len).ok_or_else(|| errno!(EINVAL))?;
        let mut mm = self.inner.lock();
        let vma = mm.vmas.find(old).cloned().ok_or_else(|| errno!(EFAULT))?;
        if old_len == 0 || old_end > vma.end {
            // Duplicating a mapping (old_len 0) or spanning several VMAs is not allowed.
            return Err(errno!(EFAULT));
        }
        if req.fixed.is_none() {
            if new_len <= old_len {
                self.unmap_locked(&mut mm, old + new_len, old_end)?;
                return Ok(old);
            }
            let grow_end = old.checked_add(new_len).filter(|&e| e <= MAX_USER_ADDRESS);
            if let Some(grow_end) = grow_end {
                if old_end == vma.end && !mm.vmas.any_overlap(old_end, grow_end) {
                    let mut piece = vma.slice(vma.start, vma.end);
                    mm.vmas.remove_range(vma.start, vma.end);
                    piece.end = grow_end;
                    mm.vmas.insert(piece);
                    return Ok(old);
                }
            }
            if !req.may_move {
                return Err(errno!(ENOMEM));
            }
        }
        let target = match req.fixed {
            Some(t) => {
                if t % PAGE_SIZE != 0 {
                    return Err(errno!(EINVAL));
                }
                let t_end = check_range(t, new_len).ok_or_else(|| errno!(EINVAL))?;
                if t < old_end && old < t_end {
                    return Err(errno!(EINVAL));
                }
                self.unmap_locked(&mut mm, t, t_end)?;
                t
            }
            None => {
                let top = mm.mmap_base;
                mm.vmas
                    .find_gap_top_down(new_len, MIN_USER_ADDRESS, top)
                    .ok_or_else(|| errno!(ENOMEM))?
            }
        };
        // Move the VMA piece and its translations.
        let mut piece = vma.slice(old, old_end);
        mm.vmas.remove_range(old, old_end);
        let keep_end = old + new_len.min(old_len);
        let dropped = mm.ptes.remove_range(keep_end, old_end);
        let moved = mm.ptes.remove_range(old, keep_end);
        if !moved.is_empty() || !dropped.is_empty() {
            self.space.read().unmap(old, old_len)?;
        }
        for (_, e) in dropped {
            self.mf.decref(e.first.frame, e.pages);
        }
        for (k, e) in moved {
            mm.ptes.insert(target + (k - old), e);
        }
        piece.start = target;
        piece.end = target + new_len;
        mm.vmas.insert(piece);
        Ok(target)
    }

    /// madvise(2) for the advice values that change memory contents; the rest are
    /// hints the caller validated and may ignore.
    pub fn madvise_dontneed(&self, addr: u64, len: u64) -> Result<()> {
        let end = addr.checked_add(len).ok_or_else(|| errno!(EINVAL))?;
        let mut mm = self.inner.lock();
        if !mm.vmas.fully_mapped(addr, end) {
            return Err(errno!(ENOMEM));
        }
        self.zap(&mut mm, addr, end)
    }

    /// Checks that `[addr, addr+len)` is mapped (ENOMEM otherwise), for advice that
    /// needs no work.
    pub fn check_mapped(&self, addr: u64, len: u64) -> Result<()> {
        let end = addr.checked_add(len).ok_or_else(|| errno!(EINVAL))?;
        if self.inner.lock().vmas.fully_mapped(addr, end) {
            Ok(())
        } else {
            Err(errno!(ENOMEM))
        }
    }

    /// The objects behind the shared mappings that overlap `[addr, addr + len)`, for
    /// msync(2).
    pub fn shared_objects(&self, addr: u64, len: u64) -> Vec<Arc<dyn Mappable>> {
        let end = addr.saturating_add(len);
        let mm = self.inner.lock();
        mm.vmas
            .overlapping(addr, end)
            .filter(|v| v.shared)
            .filter_map(|v| match &v.backing {
                Backing::Object { obj, .. } => Some(obj.clone()),
                _ => None,
            })
            .collect()
    }

    /// shmdt(2): unmaps the System V shared memory attachment that starts at `addr`:
    /// the first segment mapped from its page 0 at `addr`, and every other piece of
    /// that segment mapped as part of the same attachment within its size. EINVAL if
    /// there is none. Returns the address of the segment object.
    pub fn detach_shm(&self, addr: u64) -> Result<usize> {
        if !addr.is_multiple_of(PAGE_SIZE) || addr >= MAX_USER_ADDRESS {
            return Err(errno!(EINVAL));
        }
        let mut mm = self.inner.lock();
        let mut found: Option<(usize, u64)> = None;
        let mut ranges = Vec::new();
        for v in mm.vmas.overlapping(addr, MAX_USER_ADDRESS) {
            let Backing::Object { obj, pgoff, .. } = &v.backing else {
                continue;
            };
            if let Some((_, end)) = found {
                if v.start >= end {
                    break;
                }
            }
            if v.start.checked_sub(pgoff * PAGE_SIZE) != Some(addr) {
                continue;
            }
            let ptr = Arc::as_ptr(obj) as *const u8 as usize;
            match found {
                None => {
                    if let Some(size) = obj.sysv_shm_size() {
                        let end = page_up(size).and_then(|s| addr.checked_add(s));
                        found = Some((ptr, end.unwrap_or(MAX_USER_ADDRESS)));
                        ranges.push((v.start, v.end));
                    }
                }
                Some((seg, _)) if seg == ptr => ranges.push((v.start, v.end)),
                Some(_) => {}
            }
        }
        let Some((seg, _)) = found else {
            return Err(errno!(EINVAL));
        };
        for (start, end) in ranges {
            self.unmap_locked(&mut mm, start, end)?;
        }
        Ok(seg)
    }

    /// mincore(2): one byte per page, 1 if resident.
    pub fn mincore(&self, addr: u64, len: u64) -> Result<Vec<u8>> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(errno!(EINVAL));
        }
        let len = page_up(len).ok_or_else(|| errno!(ENOMEM))?;
        let end = check_range(addr, len).ok_or_else(|| errno!(ENOMEM))?;
        let mm = self.inner.lock();
        if !mm.vmas.fully_mapped(addr, end) {
            return Err(errno!(ENOMEM));
        }
        Ok((addr..end)
            .step_by(PAGE_SIZE as usize)
            .map(|p| mm.ptes.contains(p) as u8)
            .collect())
    }

    /// The current program break.
    pub fn current_brk(&self) -> u64 {
        self.inner.lock().brk
    }
}

impl MemoryManager {
    /// A free range of `len` bytes, top-down below the mmap base (for the loader).
    pub fn find_free(&self, len: u64) -> Result<u64> {
        let len = page_up(len).ok_or_else(|| errno!(ENOMEM))?;
        let mm = self.inner.lock();
        mm.vmas
            .find_gap_top_down(len, MIN_USER_ADDRESS, mm.mmap_base)
            .ok_or_else(|| errno!(ENOMEM))
    }
}
