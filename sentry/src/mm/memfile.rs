//! The memory file: one sentry-owned memfd that holds all guest anonymous memory and
//! cached file pages.
//!
//! The sentry maps the whole (sparse) file once into its own address space, so copying
//! to or from guest memory is a memcpy through that mapping, never a system call. Pages
//! are handed out as *frames* (page indexes into the file), reference counted: guest
//! page tables of several address spaces (after fork) and page caches may share a frame.
//! A frame whose count drops to zero has its storage returned to the host (hole punch),
//! so a newly allocated frame always reads as zeros.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use nix::sys::memfd::{memfd_create, MFdFlags};
use parking_lot::Mutex;

use crate::errno::{Errno, Result};
use crate::platform::PAGE_SIZE;
use crate::{bail, errno};

/// How large the memory file may grow (it is sparse: only touched pages use memory).
const CAPACITY: u64 = 1 << 40;

/// A frame: the index of one page in the memory file.
pub type Frame = u64;

struct Allocator {
    /// Frames below this have been handed out at least once.
    next: Frame,
    /// Free runs of frames below `next`: start -> length.
    free: BTreeMap<Frame, u64>,
    /// Reference counts of frames below `next`.
    refs: Vec<u32>,
    /// Frames currently allocated.
    in_use: u64,
    /// The most frames that may be allocated at once (the sandbox's memory limit).
    limit: u64,
}

/// The sentry's memory file.
pub struct MemoryFile {
    fd: OwnedFd,
    base: NonNull<u8>,
    alloc: Mutex<Allocator>,
}

// SAFETY: `base` points at a MAP_SHARED mapping owned by this struct for its whole life;
// all access through it goes through methods that copy with raw pointers, never creating
// Rust references to guest-writable memory, so sharing across threads is sound.
unsafe impl Send for MemoryFile {}
// SAFETY: as above; the allocator state is behind a mutex.
unsafe impl Sync for MemoryFile {}

impl MemoryFile {
    /// Creates the memory file and maps it into the sentry.
    pub fn new() -> Result<MemoryFile> {
        let fd = memfd_create(c"moat-memory", MFdFlags::MFD_CLOEXEC)?;
        nix::unistd::ftruncate(&fd, CAPACITY as i64)?;
        // SAFETY: mapping a fresh shared file region at an address of the kernel's
        // choosing cannot alias any existing Rust object.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CAPACITY as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::new(nix::errno::Errno::last_raw()));
        }
        let base = NonNull::new(base.cast::<u8>()).ok_or_else(|| errno!(ENOMEM))?;
        Ok(MemoryFile {
            fd,
            base,
            alloc: Mutex::new(Allocator {
                next: 0,
                free: BTreeMap::new(),
                refs: Vec::new(),
                limit: u64::MAX,
                in_use: 0,
            }),
        })
    }

    /// The memfd (mapped into stubs by the platform).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Allocates `count` contiguous zeroed frames, each with one reference.
    /// ENOMEM beyond the memory limit.
    pub fn allocate(&self, count: u64) -> Result<Frame> {
        let mut a = self.alloc.lock();
        if a.in_use.saturating_add(count) > a.limit {
            bail!(ENOMEM, "the sandbox's memory limit is reached");
        }
        let found = a
            .free
            .iter()
            .find(|(_, &len)| len >= count)
            .map(|(&s, &l)| (s, l));
        let start = match found {
            Some((start, len)) => {
                a.free.remove(&start);
                if len > count {
                    a.free.insert(start + count, len - count);
                }
                start
            }
            None => {
                let start = a.next;
                if (start + count) * PAGE_SIZE > CAPACITY {
                    bail!(ENOMEM, "memory file exhausted");
                }
                a.next += count;
                let n = a.next as usize;
                a.refs.resize(n, 0);
                start
            }
        };
        for r in &mut a.refs[start as usize..(start + count) as usize] {
            *r = 1;
        }
        a.in_use += count;
        Ok(start)
    }

    /// Takes one more reference on each of `count` frames from `frame`.
    pub fn incref(&self, frame: Frame, count: u64) {
        let mut a = self.alloc.lock();
        for r in &mut a.refs[frame as usize..(frame + count) as usize] {
            debug_assert!(*r > 0, "incref of a free frame");
            *r += 1;
        }
    }

    /// Takes one more reference on every frame of the runs `(first, count)`, under one
    /// lock.
    pub fn incref_runs(&self, runs: impl IntoIterator<Item = (Frame, u64)>) {
        let mut a = self.alloc.lock();
        for (first, count) in runs {
            for r in &mut a.refs[first as usize..(first + count) as usize] {
                debug_assert!(*r > 0, "incref of a free frame");
                *r += 1;
            }
        }
    }

    /// Drops one reference on each of `count` frames; frames reaching zero are freed.
    pub fn decref(&self, frame: Frame, count: u64) {
        let mut a = self.alloc.lock();
        let mut run: Option<(Frame, u64)> = None;
        let mut freed = Vec::new();
        for f in frame..frame + count {
            let r = &mut a.refs[f as usize];
            debug_assert!(*r > 0, "decref of a free frame");
            *r -= 1;
            if *r == 0 {
                run = match run {
                    Some((s, l)) if s + l == f => Some((s, l + 1)),
                    Some(done) => {
                        freed.push(done);
                        Some((f, 1))
                    }
                    None => Some((f, 1)),
                };
            }
        }
        freed.extend(run);
        for (start, len) in freed {
            self.release(&mut a, start, len);
        }
    }

    /// The reference count of one frame.
    pub fn refcount(&self, frame: Frame) -> u32 {
        self.alloc
            .lock()
            .refs
            .get(frame as usize)
            .copied()
            .unwrap_or(0)
    }

    /// The reference counts of `count` frames from `first`.
    pub fn refcounts(&self, first: Frame, count: u64) -> Vec<u32> {
        let a = self.alloc.lock();
        (first..first + count)
            .map(|f| a.refs.get(f as usize).copied().unwrap_or(0))
            .collect()
    }

    /// Frames allocated right now (for accounting and tests).
    pub fn frames_in_use(&self) -> u64 {
        self.alloc.lock().in_use
    }

    /// Limits the memory allocated at once to `bytes` (rounded down to whole pages).
    pub fn set_limit(&self, bytes: u64) {
        self.alloc.lock().limit = bytes / PAGE_SIZE;
    }

    /// The memory limit in bytes, if there is one.
    pub fn limit(&self) -> Option<u64> {
        let l = self.alloc.lock().limit;
        (l != u64::MAX).then(|| l * PAGE_SIZE)
    }

    fn release(&self, a: &mut Allocator, start: Frame, len: u64) {
        // Give the storage back to the host so the frames read as zeros when reused.
        let _ = nix::fcntl::fallocate(
            &self.fd,
            nix::fcntl::FallocateFlags::FALLOC_FL_PUNCH_HOLE
                | nix::fcntl::FallocateFlags::FALLOC_FL_KEEP_SIZE,
            (start * PAGE_SIZE) as i64,
            (len * PAGE_SIZE) as i64,
        );
        a.in_use -= len;
        // Coalesce with the neighbouring free runs.
        let mut start = start;
        let mut len = len;
        if let Some((&prev, &plen)) = a.free.range(..start).next_back() {
            if prev + plen == start {
                a.free.remove(&prev);
                start = prev;
                len += plen;
            }
        }
        if let Some(&nlen) = a.free.get(&(start + len)) {
            a.free.remove(&(start + len));
            len += nlen;
        }
        a.free.insert(start, len);
    }

    fn check(&self, offset: u64, len: usize) {
        assert!(
            offset
                .checked_add(len as u64)
                .is_some_and(|end| end <= CAPACITY),
            "memory file access out of range"
        );
    }

    /// A raw pointer to byte `offset` of the file, for host I/O straight into frames.
    /// Callers must hold a reference on the frames they touch.
    pub fn as_ptr(&self, offset: u64, len: usize) -> *mut u8 {
        self.check(offset, len);
        // SAFETY: offset + len is within the mapping (checked above).
        unsafe { self.base.as_ptr().add(offset as usize) }
    }

    /// Copies bytes out of the file.
    pub fn read(&self, offset: u64, dst: &mut [u8]) {
        let src = self.as_ptr(offset, dst.len());
        // SAFETY: `src` is valid for dst.len() bytes of the shared mapping (checked by
        // as_ptr); `dst` is a distinct sentry buffer. Guest threads may write the same
        // bytes concurrently; a raw byte copy tolerates that (the guest sees a torn read
        // exactly as with Linux's copy_from_user).
        unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
    }

    /// Copies bytes into the file.
    pub fn write(&self, offset: u64, src: &[u8]) {
        let dst = self.as_ptr(offset, src.len());
        // SAFETY: `dst` is valid for src.len() bytes of the mapping; `src` is a sentry
        // buffer that cannot overlap the memory file mapping.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
    }

    /// Fills bytes with zeros.
    pub fn zero(&self, offset: u64, len: usize) {
        let dst = self.as_ptr(offset, len);
        // SAFETY: `dst` is valid for `len` bytes of the mapping.
        unsafe { std::ptr::write_bytes(dst, 0, len) };
    }

    /// Fills `count` frames from `frame` with bytes of host file `fd` at `offset`
    /// (zeros past its end); returns how many bytes the file provided.
    pub fn fill_from_file(
        &self,
        frame: Frame,
        count: u64,
        fd: BorrowedFd<'_>,
        offset: u64,
    ) -> Result<usize> {
        let len = (count * PAGE_SIZE) as usize;
        let dst = self.as_ptr(frame * PAGE_SIZE, len);
        let mut done = 0;
        while done < len {
            // SAFETY: `dst + done` stays inside the region as_ptr checked (done < len).
            let at = unsafe { dst.add(done) };
            // SAFETY: `at .. at + (len - done)` lies inside the mapping; the caller holds
            // the only reference to these freshly allocated frames, so no guest can
            // observe them while the host fills them.
            let n = unsafe {
                libc::pread(
                    fd.as_raw_fd(),
                    at.cast(),
                    len - done,
                    (offset + done as u64) as libc::off_t,
                )
            };
            if n < 0 {
                let e = nix::errno::Errno::last_raw();
                if e == libc::EINTR {
                    continue;
                }
                return Err(Errno::new(e));
            }
            if n == 0 {
                break;
            }
            done += n as usize;
        }
        Ok(done)
    }

    /// Stores a 64-bit word atomically at `offset` (8-byte aligned): the sentry's side of
    /// a page it shares with guests that read it with atomic loads (the vDSO's parameter
    /// page, which guests map read-only). Callers must hold a reference on the frame.
    pub fn store_u64(&self, offset: u64, value: u64, order: std::sync::atomic::Ordering) {
        assert!(offset.is_multiple_of(8), "unaligned atomic store");
        let p = self.as_ptr(offset, 8).cast::<u64>();
        // SAFETY: `p` is 8-byte aligned (the mapping is page aligned) and valid for the
        // life of the mapping, which outlives this call; every access the sentry makes to
        // such a word goes through these atomic accessors, and guests only read it.
        let word = unsafe { std::sync::atomic::AtomicU64::from_ptr(p) };
        word.store(value, order);
    }

    /// Loads a 64-bit word atomically from `offset` (8-byte aligned); see `store_u64`.
    pub fn load_u64(&self, offset: u64, order: std::sync::atomic::Ordering) -> u64 {
        assert!(offset.is_multiple_of(8), "unaligned atomic load");
        let p = self.as_ptr(offset, 8).cast::<u64>();
        // SAFETY: as in `store_u64`.
        let word = unsafe { std::sync::atomic::AtomicU64::from_ptr(p) };
        word.load(order)
    }

    /// Copies the contents of `count` consecutive frames from `src` to `dst`.
    pub fn copy_frames(&self, dst: Frame, src: Frame, count: u64) {
        assert!(
            dst + count <= src || src + count <= dst,
            "copy between overlapping frame runs"
        );
        let len = (count * PAGE_SIZE) as usize;
        let s = self.as_ptr(src * PAGE_SIZE, len);
        let d = self.as_ptr(dst * PAGE_SIZE, len);
        // SAFETY: both runs lie within the mapping (checked by as_ptr) and do not overlap
        // (asserted above). Guest threads may write the source concurrently; a raw byte
        // copy tolerates that, as Linux's copy-on-write copy does.
        unsafe { std::ptr::copy_nonoverlapping(s, d, len) };
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // SAFETY: unmapping the region this struct mapped; nothing borrows it any more.
        unsafe { libc::munmap(self.base.as_ptr().cast(), CAPACITY as usize) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_frames_are_reused_and_read_as_zero() {
        let mf = MemoryFile::new().unwrap();
        let f = mf.allocate(4).unwrap();
        mf.write(f * PAGE_SIZE, b"dirty");
        mf.decref(f, 4);
        assert_eq!(mf.frames_in_use(), 0);
        let g = mf.allocate(2).unwrap();
        assert_eq!(g, f);
        let mut buf = [1u8; 5];
        mf.read(g * PAGE_SIZE, &mut buf);
        assert_eq!(buf, [0; 5]);
    }

    #[test]
    fn shared_frame_survives_until_last_reference() {
        let mf = MemoryFile::new().unwrap();
        let f = mf.allocate(1).unwrap();
        mf.incref(f, 1);
        mf.decref(f, 1);
        assert_eq!(mf.refcount(f), 1);
        mf.decref(f, 1);
        assert_eq!(mf.refcount(f), 0);
    }
}
