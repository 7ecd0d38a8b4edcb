//! Virtual memory areas: the sentry's own record of what the guest mapped where.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::memfile::{Frame, MemoryFile};
use crate::errno::Result;
use crate::platform::{Prot, PAGE_SIZE};

/// Something whose pages can be mapped: a file's page cache, a shared anonymous region.
pub trait Mappable: Send + Sync {
    /// The frame holding page `pgoff` of this object, with a new reference for the
    /// caller. `EFAULT` means the page lies beyond the end of the object (SIGBUS).
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame>;
    /// How `/proc/[pid]/maps` names this object (device, inode, path).
    fn identity(&self) -> MappableIdentity;
    /// msync(2) of a shared mapping: writes pages the object keeps in the memory file
    /// back to where it came from (nothing to do for the sentry's own files).
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    /// A VMA mapping this object came to be (mapped, split off, or copied by fork), as
    /// Linux's `vm_ops->open`: System V shared memory counts its attachments so.
    fn vma_opened(&self) {}
    /// A VMA mapping this object went away (unmapped, or its address space ended), as
    /// Linux's `vm_ops->close`.
    fn vma_closed(&self) {}
    /// The size in bytes, if this is a System V shared memory segment (shmdt(2) looks
    /// for the attachment of one).
    fn sysv_shm_size(&self) -> Option<u64> {
        None
    }
}

/// What `/proc/[pid]/maps` shows for a mapped object.
#[derive(Clone, Debug, Default)]
pub struct MappableIdentity {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Path, if the object has one.
    pub path: Vec<u8>,
    /// The file has no name left (maps shows " (deleted)" after the path).
    pub deleted: bool,
}

/// What backs a VMA's pages. Every `Object` value counts as one VMA for its object's
/// [`Mappable::vma_opened`]/[`Mappable::vma_closed`] hooks: cloning one opens, dropping
/// one closes, and [`Backing::object`] makes the first.
pub enum Backing {
    /// Private anonymous memory: zero-filled frames allocated on first touch.
    Anonymous,
    /// Pages of a mappable object, starting at page `pgoff` of it.
    Object {
        /// The object.
        obj: Arc<dyn Mappable>,
        /// The object page mapped at the VMA's start.
        pgoff: u64,
        /// The path /proc/[pid]/maps shows for it.
        name: Option<Arc<[u8]>>,
    },
}

impl Backing {
    /// The backing of a new mapping of `obj` from its page `pgoff` on.
    pub fn object(obj: Arc<dyn Mappable>, pgoff: u64, name: Option<Arc<[u8]>>) -> Backing {
        obj.vma_opened();
        Backing::Object { obj, pgoff, name }
    }
}

impl Clone for Backing {
    fn clone(&self) -> Backing {
        match self {
            Backing::Anonymous => Backing::Anonymous,
            Backing::Object { obj, pgoff, name } => {
                Backing::object(obj.clone(), *pgoff, name.clone())
            }
        }
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if let Backing::Object { obj, .. } = self {
            obj.vma_closed();
        }
    }
}

/// A special name shown in `/proc/[pid]/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    /// An ordinary mapping.
    Plain,
    /// The program break area.
    Heap,
    /// The initial thread's stack.
    Stack,
}

/// One virtual memory area.
#[derive(Clone)]
pub struct Vma {
    /// First address (page aligned).
    pub start: u64,
    /// One past the last address (page aligned).
    pub end: u64,
    /// Current protection.
    pub prot: Prot,
    /// The most protection mprotect may grant (what the backing file's open mode allows).
    pub max_prot: Prot,
    /// MAP_SHARED: writes go to the backing object and are visible to other mappings.
    pub shared: bool,
    /// MAP_GROWSDOWN.
    pub growsdown: bool,
    /// What backs the pages.
    pub backing: Backing,
    /// Special name for /proc.
    pub kind: VmaKind,
}

impl Vma {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Never true: VMAs are never empty.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The part of this VMA in `[start, end)` (which must overlap it).
    pub fn slice(&self, start: u64, end: u64) -> Vma {
        let start = start.max(self.start);
        let end = end.min(self.end);
        let mut v = self.clone();
        if let Backing::Object { pgoff, .. } = &mut v.backing {
            *pgoff += (start - self.start) / PAGE_SIZE;
        }
        v.start = start;
        v.end = end;
        v
    }

    /// Whether the page at `addr` comes from a backing object and which page of it.
    pub fn object_page(&self, addr: u64) -> Option<(&Arc<dyn Mappable>, u64)> {
        match &self.backing {
            Backing::Anonymous => None,
            Backing::Object { obj, pgoff, .. } => {
                Some((obj, pgoff + (addr - self.start) / PAGE_SIZE))
            }
        }
    }
}

/// The set of VMAs of one address space, keyed by start address.
#[derive(Clone, Default)]
pub struct VmaSet {
    map: BTreeMap<u64, Vma>,
}

impl VmaSet {
    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
    }

    /// The VMAs overlapping `[start, end)`, in address order.
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> {
        let first = self
            .map
            .range(..=start)
            .next_back()
            .filter(|(_, v)| v.end > start)
            .map(|(&k, _)| k);
        let from = first.unwrap_or(start);
        self.map
            .range(from..end)
            .map(|(_, v)| v)
            .filter(move |v| v.end > start && v.start < end)
    }

    /// Whether any VMA overlaps `[start, end)`.
    pub fn any_overlap(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end).next().is_some()
    }

    /// Whether `[start, end)` is covered by VMAs with no holes.
    pub fn fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for v in self.overlapping(start, end) {
            if v.start > at {
                return false;
            }
            at = v.end;
        }
        at >= end
    }

    /// Removes `[start, end)` from the set, splitting VMAs at the edges; returns the
    /// removed pieces.
    pub fn remove_range(&mut self, start: u64, end: u64) -> Vec<Vma> {
        let keys: Vec<u64> = self.overlapping(start, end).map(|v| v.start).collect();
        let mut removed = Vec::with_capacity(keys.len());
        for k in keys {
            let Some(v) = self.map.remove(&k) else {
                continue;
            };
            if v.start < start {
                let left = v.slice(v.start, start);
                self.map.insert(left.start, left);
            }
            if v.end > end {
                let right = v.slice(end, v.end);
                self.map.insert(right.start, right);
            }
            removed.push(v.slice(start, end));
        }
        removed
    }

    /// Inserts a VMA into a range that must be free.
    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(!self.any_overlap(vma.start, vma.end));
        self.map.insert(vma.start, vma);
    }

    /// The VMA starting exactly at `start`, mutably.
    pub fn get_mut(&mut self, start: u64) -> Option<&mut Vma> {
        self.map.get_mut(&start)
    }

    /// All VMAs in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// Finds the highest free gap of `len` bytes that ends at or below `top` and starts
    /// at or above `bottom`.
    pub fn find_gap_top_down(&self, len: u64, bottom: u64, top: u64) -> Option<u64> {
        let mut ceiling = top;
        for v in self.map.range(..top).rev().map(|(_, v)| v) {
            if v.end <= ceiling && ceiling - v.end >= len {
                return Some(ceiling - len).filter(|&s| s >= bottom);
            }
            ceiling = ceiling.min(v.start);
            if ceiling < bottom + len {
                return None;
            }
        }
        (ceiling >= bottom + len).then(|| ceiling - len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(start: u64, end: u64) -> Vma {
        let rw = Prot {
            read: true,
            write: true,
            exec: false,
        };
        Vma {
            start,
            end,
            prot: rw,
            max_prot: rw,
            shared: false,
            growsdown: false,
            backing: Backing::Anonymous,
            kind: VmaKind::Plain,
        }
    }

    #[test]
    fn remove_range_splits_edges() {
        let mut s = VmaSet::default();
        s.insert(anon(0x10000, 0x20000));
        let removed = s.remove_range(0x14000, 0x18000);
        assert_eq!(removed.len(), 1);
        assert_eq!((removed[0].start, removed[0].end), (0x14000, 0x18000));
        let left: Vec<_> = s.iter().map(|v| (v.start, v.end)).collect();
        assert_eq!(left, vec![(0x10000, 0x14000), (0x18000, 0x20000)]);
        assert!(!s.fully_mapped(0x10000, 0x20000));
        assert!(s.fully_mapped(0x18000, 0x20000));
    }

    #[test]
    fn gap_search_goes_top_down_around_mappings() {
        let mut s = VmaSet::default();
        s.insert(anon(0x70000, 0x80000));
        assert_eq!(
            s.find_gap_top_down(0x10000, 0x10000, 0x80000),
            Some(0x60000)
        );
        assert_eq!(
            s.find_gap_top_down(0x10000, 0x10000, 0x90000),
            Some(0x80000)
        );
        assert_eq!(s.find_gap_top_down(0x70000, 0x10000, 0x80000), None);
    }
}
