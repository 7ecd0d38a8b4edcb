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
mod kernel_pages;
#[allow(unsafe_code)]
pub mod memfile;
mod pagetable;
mod resident;
mod shared;
mod syscalls;
pub mod vma;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

pub use kernel_pages::KernelPages;
pub use memfile::{Frame, MemoryFile};
pub use resident::{ResidentStats, PSS_SHIFT};
pub use shared::SharedAnon;
pub use syscalls::{MmapRequest, MremapRequest};
pub use vma::{Backing, Mappable, MappableIdentity, Vma, VmaKind};

use crate::errno::Result;
use crate::platform::{AddressSpace, Prot, MAX_USER_ADDRESS, MIN_USER_ADDRESS, PAGE_SIZE};
use pagetable::{Extent, PageTable, Pte};
use vma::VmaSet;

/// Pages mapped around a faulting page in one go, to keep faults rare: an aligned
/// window of this many pages (256 KiB), clipped to the VMA. Anonymous memory is
/// allocated, and copy-on-write broken, for the whole window at once; untouched frames
/// cost no host memory (the memory file is sparse).
const FAULT_AROUND_PAGES: u64 = 64;

/// Rounds down to a page boundary.
pub fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary (None on overflow).
pub fn page_up(addr: u64) -> Option<u64> {
    addr.checked_add(PAGE_SIZE - 1).map(page_down)
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
    ptes: PageTable,
    brk_start: u64,
    brk: u64,
    mmap_base: u64,
    exec: ExecLayout,
    /// Ranges the stub still maps with frames the sentry replaced on another process's
    /// behalf (process_vm_writev broke copy-on-write there): only the address space's
    /// own threads may change the stub, so one of them drops these before it next runs
    /// guest code.
    stale: Vec<(u64, u64)>,
}

/// One guest address space.
pub struct MemoryManager {
    mf: Arc<MemoryFile>,
    space: RwLock<Arc<dyn AddressSpace>>,
    inner: Mutex<Mm>,
    /// Whether `Mm::stale` has ranges (checked before every switch into guest code).
    has_stale: std::sync::atomic::AtomicBool,
    /// membarrier(2) registrations of this address space (MEMBARRIER_CMD_REGISTER_*
    /// bits): fork copies them, exec's new address space starts with none.
    pub membarrier: std::sync::atomic::AtomicU32,
}

impl MemoryManager {
    /// An empty address space over the platform address space `space`.
    pub fn new(mf: Arc<MemoryFile>, space: Arc<dyn AddressSpace>, mmap_base: u64) -> MemoryManager {
        MemoryManager {
            mf,
            space: RwLock::new(space),
            inner: Mutex::new(Mm {
                vmas: VmaSet::default(),
                ptes: PageTable::default(),
                brk_start: 0,
                brk: 0,
                mmap_base,
                exec: ExecLayout::default(),
                stale: Vec::new(),
            }),
            has_stale: Default::default(),
            membarrier: Default::default(),
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
            let cow = mm.ptes.get(page).is_some_and(|p| !p.writable);
            if !(vma.prot.write && cow) {
                return segv(crate::abi::SEGV_ACCERR);
            }
            let (start, end) = fault_window(&vma, page);
            self.break_cow(&mut mm, &vma, start, end)?;
            self.map_range(&mm, &vma, start, end)?;
            return Ok(None);
        }
        let (start, end) = fault_window(&vma, page);
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
            if let Some((_, e)) = mm.ptes.range(page, end).first().filter(|(s, _)| *s == page) {
                page += e.pages * PAGE_SIZE;
                continue;
            }
            match &vma.backing {
                Backing::Anonymous => {
                    // Allocate the whole run of missing pages contiguously.
                    let run_end = mm.ptes.next_present(page, end).unwrap_or(end);
                    let count = (run_end - page) / PAGE_SIZE;
                    let first = self.mf.allocate(count)?;
                    mm.ptes.insert(
                        page,
                        Extent {
                            pages: count,
                            first: Pte {
                                frame: first,
                                writable: true,
                                anon: true,
                            },
                        },
                    );
                    page = run_end;
                }
                Backing::Object { .. } => {
                    let (obj, pgoff) = vma.object_page(page).expect("object backing");
                    match obj.frame(&self.mf, pgoff) {
                        Ok(frame) => {
                            mm.ptes.insert(
                                page,
                                Extent {
                                    pages: 1,
                                    first: Pte {
                                        frame,
                                        writable: vma.shared,
                                        anon: false,
                                    },
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

    /// Mirrors the translations of `[start, end)` into the stub, one host mapping per
    /// extent.
    fn map_range(&self, mm: &Mm, vma: &Vma, start: u64, end: u64) -> Result<()> {
        for (at, e) in mm.ptes.range(start, end) {
            self.map_run(vma, at, e.pages, e.first)?;
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

    /// Gives every translated page of `[start, end)` (inside `vma`, which must be
    /// writable) a private, writable frame: frames only this address space holds are
    /// written in place, the others copied, a run at a time. The stub's mappings are
    /// left to the caller.
    fn break_cow(&self, mm: &mut Mm, vma: &Vma, start: u64, end: u64) -> Result<()> {
        debug_assert!(vma.prot.write);
        for (at, e) in mm.ptes.range(start, end) {
            if e.first.writable {
                continue;
            }
            // Split the run into stretches that can be taken over and ones to copy.
            let mut i = 0;
            while i < e.pages {
                let exclusive = |k: u64| e.first.anon && self.mf.refcount(e.first.frame + k) == 1;
                let take = exclusive(i);
                let mut n = 1;
                while i + n < e.pages && exclusive(i + n) == take {
                    n += 1;
                }
                let old = e.pte(i);
                let frame = if take {
                    old.frame
                } else {
                    let frame = self.mf.allocate(n)?;
                    self.mf.copy_frames(frame, old.frame, n);
                    self.mf.decref(old.frame, n);
                    frame
                };
                mm.ptes.insert(
                    at + i * PAGE_SIZE,
                    Extent {
                        pages: n,
                        first: Pte {
                            frame,
                            writable: true,
                            anon: true,
                        },
                    },
                );
                i += n;
            }
        }
        Ok(())
    }

    /// Drops the translations of `[start, end)` and the stub's mappings of them.
    fn zap(&self, mm: &mut Mm, start: u64, end: u64) -> Result<()> {
        let removed = mm.ptes.remove_range(start, end);
        if removed.is_empty() {
            return Ok(());
        }
        for (_, e) in removed {
            self.mf.decref(e.first.frame, e.pages);
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
        let mut reprotect = Vec::new();
        let Mm { vmas, ptes, .. } = &mut *mm;
        for v in vmas.iter().filter(|v| !v.shared) {
            if ptes.next_present(v.start, v.end).is_some() {
                ptes.write_protect(v.start, v.end);
                if v.prot.write {
                    reprotect.push((v.start, v.end - v.start));
                }
            }
        }
        let child_ptes = mm.ptes.clone();
        self.mf
            .incref_runs(child_ptes.iter().map(|(_, e)| (e.first.frame, e.pages)));
        // The parent's stub must stop writing these pages. Its host mappings are sparse
        // (filled on faults) and mprotect stops at the first hole, so drop them
        // instead: faults map them back, a window at a time, with exactly their rights.
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
            stale: Vec::new(),
        };
        Ok(MemoryManager {
            mf: self.mf.clone(),
            space: RwLock::new(Arc::new(crate::platform::NoAddressSpace)),
            inner: Mutex::new(child),
            has_stale: Default::default(),
            membarrier: self
                .membarrier
                .load(std::sync::atomic::Ordering::Acquire)
                .into(),
        })
    }

    /// Frames this address space maps (resident set, in pages).
    pub fn resident_pages(&self) -> u64 {
        self.inner.lock().ptes.pages()
    }
}

impl Drop for MemoryManager {
    fn drop(&mut self) {
        let mm = self.inner.get_mut();
        for (_, e) in mm.ptes.take_all() {
            self.mf.decref(e.first.frame, e.pages);
        }
    }
}

/// Checks that `[addr, addr+len)` is a valid guest range; returns its end.
pub fn check_range(addr: u64, len: u64) -> Option<u64> {
    let end = addr.checked_add(len)?;
    (addr >= MIN_USER_ADDRESS && end <= MAX_USER_ADDRESS).then_some(end)
}

/// Protection without anything: used for checks.
pub const PROT_NONE: Prot = Prot::NONE;

/// The fault-around window of `page`: its aligned window of FAULT_AROUND_PAGES pages,
/// clipped to `vma`.
fn fault_window(vma: &Vma, page: u64) -> (u64, u64) {
    let window = FAULT_AROUND_PAGES * PAGE_SIZE;
    let base = page / window * window;
    (base.max(vma.start), (base + window).min(vma.end))
}
