//! What /proc/[pid]/smaps reports of the pages an address space maps: read-only
//! accounting over the page table and the memory file's reference counts.

use super::pagetable::Pte;
use super::MemoryManager;
use crate::platform::PAGE_SIZE;

/// Fixed-point shift of the proportional set size (a page shared by three address
/// spaces counts a third of a page to each).
pub const PSS_SHIFT: u32 = 12;

/// The resident pages of a range of an address space, as smaps counts them. A page is
/// "shared" when more than one address space maps it, "dirty" when it may hold data
/// the guest wrote: a private page of this address space (anonymous, or copied on
/// write) or a page it may write through a shared mapping. (The sentry does not keep
/// hardware dirty bits, so a shared page that is writable but was never written
/// counts as dirty too.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResidentStats {
    /// Pages mapped (Rss).
    pub rss: u64,
    /// Proportional set size, in bytes << PSS_SHIFT.
    pub pss: u128,
    /// The dirty part of `pss`.
    pub pss_dirty: u128,
    /// The anonymous part of `pss`.
    pub pss_anon: u128,
    /// Pages mapped elsewhere too, clean.
    pub shared_clean: u64,
    /// Pages mapped elsewhere too, dirty.
    pub shared_dirty: u64,
    /// Pages only this address space maps, clean.
    pub private_clean: u64,
    /// Pages only this address space maps, dirty.
    pub private_dirty: u64,
    /// Anonymous pages (not page-cache pages).
    pub anon: u64,
}

impl ResidentStats {
    /// Adds another range's counts (smaps_rollup).
    pub fn add(&mut self, o: &ResidentStats) {
        self.rss += o.rss;
        self.pss += o.pss;
        self.pss_dirty += o.pss_dirty;
        self.pss_anon += o.pss_anon;
        self.shared_clean += o.shared_clean;
        self.shared_dirty += o.shared_dirty;
        self.private_clean += o.private_clean;
        self.private_dirty += o.private_dirty;
        self.anon += o.anon;
    }

    fn count(&mut self, pte: Pte, refs: u32) {
        // A page-cache page holds one reference of its own.
        let maps = if pte.anon {
            refs
        } else {
            refs.saturating_sub(1)
        }
        .max(1);
        let dirty = pte.anon || pte.writable;
        let share = ((PAGE_SIZE as u128) << PSS_SHIFT) / maps as u128;
        self.rss += 1;
        self.pss += share;
        if dirty {
            self.pss_dirty += share;
        }
        if pte.anon {
            self.anon += 1;
            self.pss_anon += share;
        }
        match (maps > 1, dirty) {
            (true, false) => self.shared_clean += 1,
            (true, true) => self.shared_dirty += 1,
            (false, false) => self.private_clean += 1,
            (false, true) => self.private_dirty += 1,
        }
    }
}

impl MemoryManager {
    /// The resident pages of `[start, end)`.
    pub fn resident_stats(&self, start: u64, end: u64) -> ResidentStats {
        let mm = self.inner.lock();
        let mut stats = ResidentStats::default();
        for (_, extent) in mm.ptes.range(start, end) {
            let refs = self.mf.refcounts(extent.first.frame, extent.pages);
            for (i, r) in refs.into_iter().enumerate() {
                stats.count(extent.pte(i as u64), r);
            }
        }
        stats
    }
}
