//! Pages the sentry owns and maps into guests: the vDSO's code and its parameter page.
//!
//! The frames are allocated once, when the kernel starts, and every address space maps
//! those same frames: a write by the sentry (to the parameter page) is seen by every
//! guest at once. Guests map them privately, so a guest that makes its copy writable
//! (a debugger's breakpoint in the vDSO) writes a copy-on-write copy, never these
//! frames.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::memfile::{Frame, MemoryFile};
use super::vma::{Mappable, MappableIdentity};
use crate::errno;
use crate::errno::Result;
use crate::platform::PAGE_SIZE;

/// A run of sentry-owned frames with fixed contents.
pub struct KernelPages {
    mf: Arc<MemoryFile>,
    first: Frame,
    pages: u64,
}

impl KernelPages {
    /// Pages holding `contents`, zero-padded to a whole page (at least one page).
    pub fn new(mf: &Arc<MemoryFile>, contents: &[u8]) -> Result<Arc<KernelPages>> {
        let pages = (contents.len() as u64).div_ceil(PAGE_SIZE).max(1);
        let first = mf.allocate(pages)?;
        mf.write(first * PAGE_SIZE, contents);
        Ok(Arc::new(KernelPages {
            mf: mf.clone(),
            first,
            pages,
        }))
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.pages * PAGE_SIZE
    }

    /// Never true: there is always at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Stores the 64-bit word at byte `offset` atomically (guests may be reading it).
    pub fn store_u64(&self, offset: u64, value: u64, order: Ordering) {
        assert!(offset + 8 <= self.len(), "store past the kernel pages");
        self.mf
            .store_u64(self.first * PAGE_SIZE + offset, value, order);
    }

    /// Loads the 64-bit word at byte `offset` atomically.
    pub fn load_u64(&self, offset: u64, order: Ordering) -> u64 {
        assert!(offset + 8 <= self.len(), "load past the kernel pages");
        self.mf.load_u64(self.first * PAGE_SIZE + offset, order)
    }

    /// Copies `len` bytes from byte `offset` (for tests and checks).
    pub fn read(&self, offset: u64, len: usize) -> Vec<u8> {
        assert!(
            offset + len as u64 <= self.len(),
            "read past the kernel pages"
        );
        let mut buf = vec![0; len];
        self.mf.read(self.first * PAGE_SIZE + offset, &mut buf);
        buf
    }
}

impl Mappable for KernelPages {
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame> {
        debug_assert!(
            Arc::ptr_eq(mf, &self.mf),
            "kernel pages of another memory file"
        );
        if pgoff >= self.pages {
            return Err(errno!(EFAULT));
        }
        let frame = self.first + pgoff;
        mf.incref(frame, 1);
        Ok(frame)
    }

    fn identity(&self) -> MappableIdentity {
        // As Linux shows [vvar] and [vdso]: no device, no inode, offset 0.
        MappableIdentity::default()
    }
}

impl Drop for KernelPages {
    fn drop(&mut self) {
        self.mf.decref(self.first, self.pages);
    }
}
