//! The sentry's page table of one address space: guest pages to memory-file frames.
//!
//! Translations are kept as extents — runs of guest pages backed by consecutive frames
//! with the same rights — so that the cost of fork, munmap and teardown follows the
//! number of runs, not the number of pages (memory is allocated and faulted in runs,
//! so a 512 MiB heap is a handful of extents, not 131072 entries). Neighbouring runs
//! that continue each other merge on insertion.

use std::collections::BTreeMap;

use super::memfile::Frame;
use crate::platform::PAGE_SIZE;

/// One guest page's translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pte {
    pub frame: Frame,
    /// The frame may be written through this mapping (false: copy-on-write or shared
    /// with a page cache; the first write copies it).
    pub writable: bool,
    /// The frame is private memory of this address space and its fork relatives
    /// (anonymous, or a copy made by a copy-on-write fault), not a page-cache page: once
    /// its last other reference is gone it can be written in place.
    pub anon: bool,
}

/// A run of `pages` guest pages translated to consecutive frames from `first.frame`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Extent {
    pub pages: u64,
    pub first: Pte,
}

impl Extent {
    /// The translation of the page `index` pages into the run.
    pub fn pte(&self, index: u64) -> Pte {
        Pte {
            frame: self.first.frame + index,
            ..self.first
        }
    }

    /// The part of the run starting `skip` pages in, `pages` long.
    fn slice(&self, skip: u64, pages: u64) -> Extent {
        Extent {
            pages,
            first: self.pte(skip),
        }
    }
}

/// Guest pages to frames, as extents keyed by their first page's address.
#[derive(Clone, Default)]
pub(super) struct PageTable {
    runs: BTreeMap<u64, Extent>,
    pages: u64,
}

fn end_of(start: u64, e: &Extent) -> u64 {
    start + e.pages * PAGE_SIZE
}

impl PageTable {
    /// Pages translated.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The extent holding `page`, with its start.
    fn find(&self, page: u64) -> Option<(u64, &Extent)> {
        let (&start, e) = self.runs.range(..=page).next_back()?;
        (page < end_of(start, e)).then_some((start, e))
    }

    /// The translation of `page`.
    pub fn get(&self, page: u64) -> Option<Pte> {
        self.find(page)
            .map(|(start, e)| e.pte((page - start) / PAGE_SIZE))
    }

    /// Whether `page` is translated.
    pub fn contains(&self, page: u64) -> bool {
        self.find(page).is_some()
    }

    /// The first translated page in `[from, end)`.
    pub fn next_present(&self, from: u64, end: u64) -> Option<u64> {
        if self.contains(from) {
            return Some(from);
        }
        self.runs.range(from..end).next().map(|(&start, _)| start)
    }

    /// The translated pieces of `[start, end)`, clipped to it, in address order.
    pub fn range(&self, start: u64, end: u64) -> Vec<(u64, Extent)> {
        let mut out = Vec::new();
        let first = self.find(start).map(|(s, _)| s).unwrap_or(start);
        for (&s, e) in self.runs.range(first..end) {
            let lo = s.max(start);
            let hi = end_of(s, e).min(end);
            if lo < hi {
                out.push((lo, e.slice((lo - s) / PAGE_SIZE, (hi - lo) / PAGE_SIZE)));
            }
        }
        out
    }

    /// Removes the translations of `[start, end)`; returns the removed pieces (their
    /// frames' references now belong to the caller).
    pub fn remove_range(&mut self, start: u64, end: u64) -> Vec<(u64, Extent)> {
        if start >= end {
            return Vec::new();
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.runs.range(start..end).map(|(&k, _)| k).collect();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let e = self.runs.remove(&k).expect("key just listed");
            self.pages -= e.pages;
            out.push((k, e));
        }
        out
    }

    /// Makes `at` the start of an extent if an extent runs across it.
    fn split_at(&mut self, at: u64) {
        let Some((start, e)) = self.find(at).map(|(s, e)| (s, *e)) else {
            return;
        };
        if start == at {
            return;
        }
        let head = (at - start) / PAGE_SIZE;
        self.runs.insert(start, e.slice(0, head));
        self.runs.insert(at, e.slice(head, e.pages - head));
    }

    /// Translates `[start, start + e.pages pages)`, replacing whatever was there (the
    /// replaced pieces are returned, as by `remove_range`).
    pub fn insert(&mut self, start: u64, e: Extent) -> Vec<(u64, Extent)> {
        if e.pages == 0 {
            return Vec::new();
        }
        let replaced = self.remove_range(start, end_of(start, &e));
        self.pages += e.pages;
        let mut start = start;
        let mut e = e;
        // Merge with the run before, if it continues into this one.
        if let Some((&ps, pe)) = self.runs.range(..start).next_back() {
            if end_of(ps, pe) == start && pe.pte(pe.pages) == e.first {
                e = Extent {
                    pages: pe.pages + e.pages,
                    first: pe.first,
                };
                self.runs.remove(&ps);
                start = ps;
            }
        }
        // And with the run after.
        let after = end_of(start, &e);
        if let Some(ne) = self.runs.get(&after).copied() {
            if e.pte(e.pages) == ne.first {
                self.runs.remove(&after);
                e.pages += ne.pages;
            }
        }
        self.runs.insert(start, e);
        replaced
    }

    /// Clears the writable right of every translation in `[start, end)`.
    pub fn write_protect(&mut self, start: u64, end: u64) {
        self.split_at(start);
        self.split_at(end);
        for e in self.runs.range_mut(start..end).map(|(_, e)| e) {
            e.first.writable = false;
        }
    }

    /// Every extent, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Extent)> {
        self.runs.iter().map(|(&s, e)| (s, e))
    }

    /// Removes everything; returns the extents.
    pub fn take_all(&mut self) -> Vec<(u64, Extent)> {
        self.pages = 0;
        std::mem::take(&mut self.runs).into_iter().collect()
    }

    /// Extents kept (for tests).
    #[cfg(test)]
    fn extent_count(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PAGE_SIZE;

    fn ext(pages: u64, frame: Frame) -> Extent {
        Extent {
            pages,
            first: Pte {
                frame,
                writable: true,
                anon: true,
            },
        }
    }

    #[test]
    fn consecutive_runs_merge_and_lookups_find_each_page() {
        let mut t = PageTable::default();
        t.insert(0x10000, ext(4, 100));
        t.insert(0x10000 + 4 * P, ext(4, 104));
        t.insert(0x10000 - 2 * P, ext(2, 98));
        assert_eq!(t.extent_count(), 1);
        assert_eq!(t.pages(), 10);
        assert_eq!(t.get(0x10000 + 5 * P).unwrap().frame, 105);
        assert_eq!(t.get(0x10000 - 2 * P).unwrap().frame, 98);
        assert!(t.get(0x10000 + 8 * P).is_none());
        // Not consecutive frames: no merge.
        t.insert(0x10000 + 8 * P, ext(1, 500));
        assert_eq!(t.extent_count(), 2);
    }

    #[test]
    fn removing_a_middle_range_splits_an_extent() {
        let mut t = PageTable::default();
        t.insert(0, ext(10, 0));
        let removed = t.remove_range(3 * P, 5 * P);
        assert_eq!(removed, vec![(3 * P, ext(2, 3))]);
        assert_eq!(t.pages(), 8);
        assert!(!t.contains(4 * P));
        assert_eq!(t.get(5 * P).unwrap().frame, 5);
        assert_eq!(t.next_present(3 * P, 10 * P), Some(5 * P));
        assert_eq!(
            t.range(2 * P, 7 * P),
            vec![(2 * P, ext(1, 2)), (5 * P, ext(2, 5))]
        );
    }

    #[test]
    fn insert_replaces_and_write_protect_splits() {
        let mut t = PageTable::default();
        t.insert(0, ext(8, 0));
        let replaced = t.insert(2 * P, ext(2, 50));
        assert_eq!(replaced, vec![(2 * P, ext(2, 2))]);
        assert_eq!(t.pages(), 8);
        assert_eq!(t.get(3 * P).unwrap().frame, 51);
        t.write_protect(P, 3 * P);
        assert!(t.get(0).unwrap().writable);
        assert!(!t.get(P).unwrap().writable);
        assert!(!t.get(2 * P).unwrap().writable);
        assert!(t.get(3 * P).unwrap().writable);
        assert_eq!(t.get(P).unwrap().frame, 1);
    }
}
