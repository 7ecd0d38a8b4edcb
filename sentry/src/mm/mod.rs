//! Guest address spaces.
//!
//! A [`MemoryManager`] is one guest address space: the sentry's own VMA list, a page
//! table mapping guest pages to frames of the [`MemoryFile`], and the platform's host
//! address space (the stub) that mirrors it lazily: pages are mapped into the stub when
//! the guest faults on them. The sentry reads and writes guest memory through its own
//! mapping of the memory file (see `io.rs`), never through the stub.
//!
//! Lock order: `MemoryManager::inner` before the memory file's allocator lock. Host
//! mapping calls (injections into the stub) happen with `inner` held.

mod io;
#[allow(unsafe_code)]
pub mod memfile;
mod shared;
mod syscalls;
pub mod vma;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

pub use memfile::{Frame, MemoryFile};
pub use shared::SharedAnon;
pub use syscalls::{MmapRequest, MremapRequest};
pub use vma::{Backing, Mappable, MappableIdentity, Vma, VmaKind};

use crate::errno;
use crate::errno::Result;
use crate::platform::{AddressSpace, Prot, MAX_USER_ADDRESS, MIN_USER_ADDRESS, PAGE_SIZE};
use vma::VmaSet;

/// Pages mapped around a faulting page in one go, to keep faults rare.
const FAULT_AROUND_PAGES: u64 = 16;

/// Rounds down to a page boundary.
pub fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary (None on overflow).
pub fn page_up(addr: u64) -> Option<u64> {
    addr.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// One guest page's translation.
#[derive(Clone, Copy, Debug)]
struct Pte {
    frame: Frame,
    /// The frame may be written through this mapping (false: copy-on-write or shared
    /// with a page cache; the first write copies it).
    writable: bool,
    /// The frame is private memory of this address space and its fork relatives
    /// (anonymous, or a copy made by a copy-on-write fault), not a page-cache page: once
    /// its last other reference is gone it can be written in place.
    anon: bool,
}

/// A signal a memory fault turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSignal {
    /// SIGSEGV or SIGBUS.
    pub signo: i32,
    /// si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR.
    pub code: i32,
    /// The faulting address.
    pub addr: u64,
}

/// Addresses the loader records for /proc and prctl.
#[derive(Clone, Debug, Default)]
pub struct ExecLayout {
    /// argv strings.
    pub arg_start: u64,
    /// End of argv strings.
    pub arg_end: u64,
    /// envp strings.
    pub env_start: u64,
    /// End of envp strings.
    pub env_end: u64,
    /// The auxiliary vector as pairs.
    pub auxv: Vec<(u64, u64)>,
}

struct Mm {
    vmas: VmaSet,
    ptes: BTreeMap<u64, Pte>,
    brk_start: u64,
    brk: u64,
    mmap_base: u64,
    exec: ExecLayout,
}

/// One guest address space.
pub struct MemoryManager {
    mf: Arc<MemoryFile>,
    space: RwLock<Arc<dyn AddressSpace>>,
    inner: Mutex<Mm>,
}

impl MemoryManager {
    /// An empty address space over the platform address space `space`.
    pub fn new(mf: Arc<MemoryFile>, space: Arc<dyn AddressSpace>, mmap_base: u64) -> MemoryManager {
        MemoryManager {
            mf,
            space: RwLock::new(space),
            inner: Mutex::new(Mm {
                vmas: VmaSet::default(),
                ptes: BTreeMap::new(),
                brk_start: 0,
                brk: 0,
                mmap_base,
                exec: ExecLayout::default(),
            }),
        }
    }

    /// The platform address space (the stub).
    pub fn address_space(&self) -> Arc<dyn AddressSpace> {
        self.space.read().clone()
    }

    /// Attaches the platform address space (a forked child's stub, created by the
    /// child's own thread). Its host mappings start empty and fill in on faults.
    pub fn set_address_space(&self, space: Arc<dyn AddressSpace>) {
        *self.space.write() = space;
    }

    /// The memory file.
    pub fn memory_file(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    /// Sets where the program break starts (the loader calls this).
    pub fn set_brk_start(&self, addr: u64) {
        let mut mm = self.inner.lock();
        mm.brk_start = addr;
        mm.brk = addr;
    }

    /// Records the exec layout (for /proc and prctl).
    pub fn set_exec_layout(&self, layout: ExecLayout) {
        self.inner.lock().exec = layout;
    }

    /// The exec layout.
    pub fn exec_layout(&self) -> ExecLayout {
        self.inner.lock().exec.clone()
    }

    /// A snapshot of the VMAs (for /proc and tests).
    pub fn vmas(&self) -> Vec<Vma> {
        self.inner.lock().vmas.iter().cloned().collect()
    }

    /// Resolves a guest page fault at `addr` (host si_code `code`). `Ok(None)`: retry
    /// the instruction; `Ok(Some(sig))`: the guest gets that signal.
    pub fn handle_fault(&self, addr: u64, code: i32) -> Result<Option<FaultSignal>> {
        let mut mm = self.inner.lock();
        let page = page_down(addr);
        let segv = |code| {
            Ok(Some(FaultSignal {
                signo: libc::SIGSEGV,
                code,
                addr,
            }))
        };
        let Some(vma) = mm.vmas.find(addr).cloned() else {
            return segv(crate::abi::SEGV_MAPERR);
        };
        if !vma.prot.any() {
            return segv(crate::abi::SEGV_ACCERR);
        }
        if code == crate::abi::SEGV_ACCERR {
            // The stub maps the page, but not with the access the guest tried. The only
            // access we withhold on purpose is writing a copy-on-write page.
            let cow = mm.ptes.get(&page).is_some_and(|p| !p.writable);
            if !(vma.prot.write && cow) {
                return segv(crate::abi::SEGV_ACCERR);
            }
            let pte = self.break_cow(&mut mm, page)?;
            self.map_run(&vma, page, 1, pte)?;
            return Ok(None);
        }
        let window = FAULT_AROUND_PAGES * PAGE_SIZE;
        let start = page_down(page / window * window).max(vma.start);
        let end = (page / window * window + window).min(vma.end);
        match self.populate(&mut mm, &vma, start, end, Some(page)) {
            Ok(()) => {}
            Err(e) if e.code() == libc::EFAULT => {
                return Ok(Some(FaultSignal {
                    signo: libc::SIGBUS,
                    code: crate::abi::BUS_ADRERR,
                    addr,
                }));
            }
            Err(e) => return Err(e),
        }
        self.map_range(&mm, &vma, start, end)?;
        Ok(None)
    }

    /// Makes sure every page of `[start, end)` (inside `vma`) has a translation. Pages
    /// beyond the end of a backing object are skipped, unless it is `must` (EFAULT).
    fn populate(
        &self,
        mm: &mut Mm,
        vma: &Vma,
        start: u64,
        end: u64,
        must: Option<u64>,
    ) -> Result<()> {
        let mut page = start;
        while page < end {
            if mm.ptes.contains_key(&page) {
                page += PAGE_SIZE;
                continue;
            }
            match &vma.backing {
                Backing::Anonymous => {
                    // Allocate the whole run of missing pages contiguously.
                    let run_end = mm.ptes.range(page..end).next().map_or(end, |(&k, _)| k);
                    let count = (run_end - page) / PAGE_SIZE;
                    let first = self.mf.allocate(count)?;
                    for i in 0..count {
                        mm.ptes.insert(
                            page + i * PAGE_SIZE,
                            Pte {
                                frame: first + i,
                                writable: true,
                                anon: true,
                            },
                        );
                    }
                    page = run_end;
                }
                Backing::Object { .. } => {
                    let (obj, pgoff) = vma.object_page(page).expect("object backing");
                    match obj.frame(&self.mf, pgoff) {
                        Ok(frame) => {
                            mm.ptes.insert(
                                page,
                                Pte {
                                    frame,
                                    writable: vma.shared,
                                    anon: false,
                                },
                            );
                        }
                        Err(e) if e.code() == libc::EFAULT && must != Some(page) => {
                            // Past the end of the object: only the faulting page matters.
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                    page += PAGE_SIZE;
                }
            }
        }
        Ok(())
    }

    /// Mirrors the translations of `[start, end)` into the stub, in runs of contiguous
    /// frames.
    fn map_range(&self, mm: &Mm, vma: &Vma, start: u64, end: u64) -> Result<()> {
        let mut run: Option<(u64, u64, Pte)> = None; // (first page, pages, first pte)
        for (&page, &pte) in mm.ptes.range(start..end) {
            if let Some((first, n, p)) = run {
                if first + n * PAGE_SIZE == page
                    && p.frame + n == pte.frame
                    && p.writable == pte.writable
                {
                    run = Some((first, n + 1, p));
                    continue;
                }
                self.map_run(vma, first, n, p)?;
            }
            run = Some((page, 1, pte));
        }
        if let Some((first, n, p)) = run {
            self.map_run(vma, first, n, p)?;
        }
        Ok(())
    }

    fn map_run(&self, vma: &Vma, addr: u64, pages: u64, first: Pte) -> Result<()> {
        let mut prot = vma.prot.effective();
        if !first.writable {
            prot.write = false;
        }
        self.space.read().map_file(
            addr,
            pages * PAGE_SIZE,
            self.mf.fd(),
            first.frame * PAGE_SIZE,
            prot,
        )
    }

    /// Gives `page` a private, writable frame (copying the shared one unless we hold
    /// the only reference to it).
    fn break_cow(&self, mm: &mut Mm, page: u64) -> Result<Pte> {
        let old = *mm.ptes.get(&page).ok_or_else(|| errno!(EFAULT))?;
        let exclusive = old.anon && self.mf.refcount(old.frame) == 1;
        let pte = if exclusive {
            Pte {
                frame: old.frame,
                writable: true,
                anon: true,
            }
        } else {
            let frame = self.mf.allocate(1)?;
            self.mf.copy_frame(frame, old.frame);
            self.mf.decref(old.frame, 1);
            Pte {
                frame,
                writable: true,
                anon: true,
            }
        };
        mm.ptes.insert(page, pte);
        Ok(pte)
    }

    /// Drops the translations of `[start, end)` and the stub's mappings of them.
    fn zap(&self, mm: &mut Mm, start: u64, end: u64) -> Result<()> {
        let pages: Vec<(u64, Pte)> = mm.ptes.range(start..end).map(|(&k, &v)| (k, v)).collect();
        if pages.is_empty() {
            return Ok(());
        }
        for (page, pte) in pages {
            mm.ptes.remove(&page);
            self.mf.decref(pte.frame, 1);
        }
        self.space.read().unmap(start, end - start)
    }

    /// fork: a copy of this address space sharing every page. Private pages become
    /// copy-on-write on both sides (the first write copies, unless the other side has
    /// gone); shared mappings stay shared. The parent's stub drops its mappings of
    /// private writable VMAs (one munmap per VMA) so that its next write faults; the
    /// child has no stub until its thread attaches one.
    pub fn fork(&self) -> Result<MemoryManager> {
        let mut mm = self.inner.lock();
        let Mm { vmas, ptes, .. } = &mut *mm;
        let mut child_ptes = BTreeMap::new();
        let mut frames = Vec::with_capacity(ptes.len());
        let mut reprotect = Vec::new();
        for v in vmas.iter() {
            let mut any = false;
            for (&page, pte) in ptes.range_mut(v.start..v.end) {
                if !v.shared {
                    pte.writable = false;
                }
                child_ptes.insert(page, *pte);
                frames.push(pte.frame);
                any = true;
            }
            if any && !v.shared && v.prot.write {
                reprotect.push((v.start, v.end - v.start));
            }
        }
        self.mf.incref_each(&frames);
        // The parent's stub must stop writing these pages. Its host mappings are sparse
        // (filled on faults) and mprotect stops at the first hole, so drop them
        // instead: faults map each page back with exactly its rights.
        let space = self.space.read().clone();
        for (start, len) in reprotect {
            space.unmap(start, len)?;
        }
        let child = Mm {
            vmas: mm.vmas.clone(),
            ptes: child_ptes,
            brk_start: mm.brk_start,
            brk: mm.brk,
            mmap_base: mm.mmap_base,
            exec: mm.exec.clone(),
        };
        Ok(MemoryManager {
            mf: self.mf.clone(),
            space: RwLock::new(Arc::new(crate::platform::NoAddressSpace)),
            inner: Mutex::new(child),
        })
    }

    /// Frames this address space maps (resident set, in pages).
    pub fn resident_pages(&self) -> u64 {
        self.inner.lock().ptes.len() as u64
    }
}

impl Drop for MemoryManager {
    fn drop(&mut self) {
        let mm = self.inner.get_mut();
        for pte in mm.ptes.values() {
            self.mf.decref(pte.frame, 1);
        }
        mm.ptes.clear();
    }
}

/// Checks that `[addr, addr+len)` is a valid guest range; returns its end.
pub fn check_range(addr: u64, len: u64) -> Option<u64> {
    let end = addr.checked_add(len)?;
    (addr >= MIN_USER_ADDRESS && end <= MAX_USER_ADDRESS).then_some(end)
}

/// Protection without anything: used for checks.
pub const PROT_NONE: Prot = Prot::NONE;
