//! Copying to and from guest memory through the sentry's mapping of the memory file.
//!
//! Every access checks the VMA's protection exactly as Linux's copy_{to,from}_user
//! would fault: reading needs a readable VMA, writing a writable one; anything else,
//! or an unmapped address, is EFAULT. Pages the guest never touched are populated on
//! the way (anonymous zero pages, file pages from the page cache); copy-on-write pages
//! are broken before the sentry writes them.

use zerocopy::{FromBytes, Immutable, IntoBytes};

use super::{check_range, page_down, MemoryManager, Mm, Pte};
use crate::errno;
use crate::errno::Result;
use crate::platform::PAGE_SIZE;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    /// A write by a thread of another address space (process_vm_writev), which may
    /// not change this one's stub.
    RemoteWrite,
}

impl MemoryManager {
    /// The translation of `page` for an access by the sentry, populating it if needed.
    fn translate(&self, mm: &mut Mm, page: u64, access: Access) -> Result<Pte> {
        let vma = mm.vmas.find(page).cloned().ok_or_else(|| errno!(EFAULT))?;
        let allowed = match access {
            Access::Read => vma.prot.effective().read,
            Access::Write | Access::RemoteWrite => vma.prot.write,
        };
        if !allowed {
            return Err(errno!(EFAULT));
        }
        if !mm.ptes.contains(page) {
            self.populate(mm, &vma, page, page + PAGE_SIZE, Some(page))?;
        }
        let pte = mm.ptes.get(page).ok_or_else(|| errno!(EFAULT))?;
        if access != Access::Read && !pte.writable {
            let (start, end) = super::fault_window(&vma, page);
            self.break_cow(mm, &vma, start, end)?;
            // The stub may still map the old frames: point it at the new ones, or
            // have the address space's own threads drop them.
            if access == Access::RemoteWrite {
                mm.stale.push((start, end));
                self.has_stale
                    .store(true, std::sync::atomic::Ordering::Release);
            } else {
                self.map_range(mm, &vma, start, end)?;
            }
            return mm.ptes.get(page).ok_or_else(|| errno!(EFAULT));
        }
        Ok(pte)
    }

    /// Visits `[addr, addr+len)` page by page: `f(memory-file offset, range in buffer)`.
    fn for_each_page(
        &self,
        addr: u64,
        len: usize,
        access: Access,
        mut f: impl FnMut(u64, std::ops::Range<usize>),
    ) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let end = check_range(addr, len as u64).ok_or_else(|| errno!(EFAULT))?;
        let mut mm = self.inner.lock();
        let mut at = addr;
        while at < end {
            let page = page_down(at);
            let chunk_end = (page + PAGE_SIZE).min(end);
            let pte = self.translate(&mut mm, page, access)?;
            let from = (at - addr) as usize;
            let to = (chunk_end - addr) as usize;
            f(pte.frame * PAGE_SIZE + (at - page), from..to);
            at = chunk_end;
        }
        Ok(())
    }

    /// How many bytes from `addr` (up to `len`) the guest could write, as a copy to
    /// user memory would find them: stops at the first unmapped or read-only page.
    pub fn writable_prefix(&self, addr: u64, len: usize) -> usize {
        let Some(end) = check_range(addr, len as u64).or_else(|| {
            // A range running past the top of user memory still has a valid prefix.
            (addr < crate::platform::MAX_USER_ADDRESS).then_some(crate::platform::MAX_USER_ADDRESS)
        }) else {
            return 0;
        };
        if addr < crate::platform::MIN_USER_ADDRESS {
            return 0;
        }
        let mm = self.inner.lock();
        let mut at = addr;
        while at < end {
            match mm.vmas.find(at) {
                Some(v) if v.prot.write => at = v.end.min(end),
                _ => break,
            }
        }
        (at - addr) as usize
    }

    /// The futex key of the u32 at `addr`: by frame if it lies in a shared mapping and
    /// `private` is false, else by this address space. EFAULT if unmapped or unaligned.
    pub fn futex_key(&self, addr: u64, private: bool) -> Result<crate::kernel::futex::FutexKey> {
        use crate::kernel::futex::FutexKey;
        if !addr.is_multiple_of(4) {
            return Err(errno!(EINVAL));
        }
        check_range(addr, 4).ok_or_else(|| errno!(EFAULT))?;
        let page = page_down(addr);
        let mut mm = self.inner.lock();
        let vma = mm.vmas.find(addr).cloned().ok_or_else(|| errno!(EFAULT))?;
        if private || !vma.shared {
            return Ok(FutexKey::Private(
                self as *const MemoryManager as usize,
                addr,
            ));
        }
        let pte = self.translate(&mut mm, page, Access::Read)?;
        Ok(FutexKey::Shared(pte.frame, addr - page))
    }

    /// Copies guest memory at `addr` into `dst`.
    pub fn copy_in(&self, addr: u64, dst: &mut [u8]) -> Result<()> {
        let mf = &self.mf;
        self.for_each_page(addr, dst.len(), Access::Read, |off, r| {
            mf.read(off, &mut dst[r])
        })
    }

    /// Copies `src` into guest memory at `addr`.
    pub fn copy_out(&self, addr: u64, src: &[u8]) -> Result<()> {
        let mf = &self.mf;
        self.for_each_page(addr, src.len(), Access::Write, |off, r| {
            mf.write(off, &src[r])
        })
    }

    /// Copies `src` into this address space at `addr` for a thread of another one
    /// (process_vm_writev). The threads of this address space must then be kicked out
    /// of guest code, so that [`MemoryManager::drop_stale_mappings`] runs before they
    /// read the pages again.
    pub fn copy_out_remote(&self, addr: u64, src: &[u8]) -> Result<()> {
        let mf = &self.mf;
        self.for_each_page(addr, src.len(), Access::RemoteWrite, |off, r| {
            mf.write(off, &src[r])
        })
    }

    /// Drops the stub's mappings of pages another process's write replaced (faults map
    /// the new frames back). Called by a thread of this address space before it runs
    /// guest code.
    pub fn drop_stale_mappings(&self) -> Result<()> {
        if !self.has_stale.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(());
        }
        let stale = {
            let mut mm = self.inner.lock();
            self.has_stale
                .store(false, std::sync::atomic::Ordering::Release);
            std::mem::take(&mut mm.stale)
        };
        let space = self.address_space();
        for (start, end) in stale {
            space.unmap(start, end - start)?;
        }
        Ok(())
    }

    /// Zeroes `len` bytes of guest memory at `addr`.
    pub fn zero_out(&self, addr: u64, len: usize) -> Result<()> {
        let mf = &self.mf;
        self.for_each_page(addr, len, Access::Write, |off, r| mf.zero(off, r.len()))
    }

    /// Reads `len` bytes of guest memory.
    pub fn read_bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.copy_in(addr, &mut buf)?;
        Ok(buf)
    }

    /// Reads a plain-old-data value from guest memory.
    pub fn read_obj<T: FromBytes + IntoBytes>(&self, addr: u64) -> Result<T> {
        let mut v = T::new_zeroed();
        self.copy_in(addr, v.as_mut_bytes())?;
        Ok(v)
    }

    /// Writes a plain-old-data value to guest memory.
    pub fn write_obj<T: IntoBytes + Immutable + ?Sized>(&self, addr: u64, value: &T) -> Result<()> {
        self.copy_out(addr, value.as_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    /// ENAMETOOLONG if no NUL is found within `max` bytes; EFAULT on a bad address.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = addr;
        loop {
            // Read up to the end of the current page so we never fault past the NUL.
            let chunk = (PAGE_SIZE - (at % PAGE_SIZE)) as usize;
            let mut buf = vec![0u8; chunk];
            self.copy_in(at, &mut buf)?;
            if let Some(nul) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..nul]);
                if out.len() > max {
                    return Err(errno!(ENAMETOOLONG));
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            if out.len() > max {
                return Err(errno!(ENAMETOOLONG));
            }
            at = at.checked_add(chunk as u64).ok_or_else(|| errno!(EFAULT))?;
        }
    }
}
