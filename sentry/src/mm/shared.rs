//! Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS): pages that every mapping of the
//! region — including those inherited across fork — sees.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::memfile::{Frame, MemoryFile};
use super::vma::{Mappable, MappableIdentity};
use crate::errno;
use crate::errno::Result;

/// The memory file and the frames allocated so far, by page index.
type Pages = (Arc<MemoryFile>, BTreeMap<u64, Frame>);

/// A shared anonymous region of a fixed number of pages.
pub struct SharedAnon {
    pages: u64,
    ino: u64,
    frames: Mutex<Option<Pages>>,
}

impl SharedAnon {
    /// A region of `pages` zero pages.
    pub fn new(pages: u64) -> Arc<SharedAnon> {
        Arc::new(SharedAnon {
            pages,
            ino: crate::vfs::next_ino(),
            frames: Mutex::new(None),
        })
    }
}

impl SharedAnon {
    /// How many of its pages have a frame (have been touched).
    pub fn resident_pages(&self) -> u64 {
        self.frames
            .lock()
            .as_ref()
            .map_or(0, |(_, frames)| frames.len() as u64)
    }
}

impl Mappable for SharedAnon {
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame> {
        if pgoff >= self.pages {
            return Err(errno!(EFAULT));
        }
        let mut guard = self.frames.lock();
        let (_, frames) = guard.get_or_insert_with(|| (mf.clone(), BTreeMap::new()));
        let frame = match frames.get(&pgoff) {
            Some(&f) => f,
            None => {
                let f = mf.allocate(1)?;
                frames.insert(pgoff, f);
                f
            }
        };
        mf.incref(frame, 1);
        Ok(frame)
    }

    fn identity(&self) -> MappableIdentity {
        MappableIdentity {
            dev: 0,
            ino: self.ino,
            path: b"/dev/zero (deleted)".to_vec(),
            deleted: false,
        }
    }
}

impl Drop for SharedAnon {
    fn drop(&mut self) {
        if let Some((mf, frames)) = self.frames.get_mut().take() {
            for f in frames.into_values() {
                mf.decref(f, 1);
            }
        }
    }
}
