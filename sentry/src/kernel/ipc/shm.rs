//! System V shared memory: segments of shared pages in the memory file that shmat(2)
//! maps into address spaces like a MAP_SHARED mapping.
//!
//! A segment's attachment count is the number of VMAs mapping it (as Linux's
//! `vm_ops->open`/`close` count them): fork copies them, splitting makes more, unmapping
//! or the end of an address space drops them. A segment removed with IPC_RMID while
//! attached stays (its key made private, SHM_DEST set) until its last VMA goes.

use std::fmt::Write as _;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::abi::{ShmInfo, ShmInfo64, ShmidDs};
use super::{current_pid, lookup, now, Ids, IpcObject, IpcPerm, Lookup, IPC_PRIVATE};
use crate::errno;
use crate::errno::Result;
use crate::kernel::creds::Credentials;
use crate::mm::{
    page_up, Backing, Frame, Mappable, MappableIdentity, MemoryFile, MemoryManager, MmapRequest,
    SharedAnon, VmaKind,
};
use crate::platform::{Prot, PAGE_SIZE};

/// The segment is removed and goes when its last attachment does.
pub const SHM_DEST: u32 = 0o1000;
/// SHM_LOCK was applied.
pub const SHM_LOCKED: u32 = 0o2000;
/// shmat: read-only attachment.
pub const SHM_RDONLY: i32 = 0o10000;
/// shmat: round the address down to SHMLBA.
pub const SHM_RND: i32 = 0o20000;
/// shmat: replace what is mapped at the address.
pub const SHM_REMAP: i32 = 0o40000;
/// shmat: executable attachment.
pub const SHM_EXEC: i32 = 0o100000;
/// The smallest segment.
pub const SHMMIN: u64 = 1;
/// Linux's default SHMMAX and SHMALL: ULONG_MAX - 2^24.
pub const SHMMAX_DEFAULT: u64 = u64::MAX - (1 << 24);
/// Linux's default SHMMNI.
pub const SHMMNI_DEFAULT: u64 = 4096;
/// SHMLBA on x86-64: a page.
const SHMLBA: u64 = PAGE_SIZE;

/// The tunable limits (/proc/sys/kernel/shmmax, shmall, shmmni).
#[derive(Clone, Copy, Debug)]
pub struct ShmLimits {
    /// Largest segment, in bytes.
    pub shmmax: u64,
    /// Most pages in all segments.
    pub shmall: u64,
    /// Most segments.
    pub shmmni: u64,
}

struct Table {
    ids: Ids<Segment>,
    /// Pages of all segments.
    total_pages: u64,
}

/// The namespace's shared memory segments.
pub struct ShmTable {
    table: Mutex<Table>,
    /// The limits.
    pub limits: Mutex<ShmLimits>,
    me: Weak<ShmTable>,
}

struct SegState {
    perm: IpcPerm,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: i32,
    lpid: i32,
    nattch: u64,
}

/// One segment.
pub struct Segment {
    id: i32,
    size: u64,
    /// What /proc/[pid]/maps calls it: its key at creation.
    name: Arc<[u8]>,
    pages: Arc<SharedAnon>,
    table: Weak<ShmTable>,
    state: Mutex<SegState>,
}

impl IpcObject for Segment {
    fn id(&self) -> i32 {
        self.id
    }
}

impl Segment {
    fn page_count(&self) -> u64 {
        page_up(self.size).unwrap_or(u64::MAX) / PAGE_SIZE
    }

    fn name(&self) -> Arc<[u8]> {
        self.name.clone()
    }

    fn ds(&self) -> ShmidDs {
        let st = self.state.lock();
        ShmidDs {
            perm: st.perm.to_abi(),
            segsz: self.size,
            atime: st.atime,
            dtime: st.dtime,
            ctime: st.ctime,
            cpid: st.cpid,
            lpid: st.lpid,
            nattch: st.nattch,
            ..Default::default()
        }
    }
}

impl Mappable for Segment {
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame> {
        self.pages.frame(mf, pgoff)
    }

    fn identity(&self) -> MappableIdentity {
        MappableIdentity {
            dev: 1,
            ino: self.id as u64,
            path: self.name().to_vec(),
            deleted: true,
        }
    }

    fn vma_opened(&self) {
        self.state.lock().nattch += 1;
    }

    fn vma_closed(&self) {
        let gone = {
            let mut st = self.state.lock();
            st.nattch = st.nattch.saturating_sub(1);
            st.nattch == 0 && st.perm.mode & SHM_DEST != 0
        };
        if gone {
            if let Some(table) = self.table.upgrade() {
                table.destroy(self.id);
            }
        }
    }

    fn sysv_shm_size(&self) -> Option<u64> {
        Some(self.size)
    }
}

impl ShmTable {
    /// An empty table with Linux's default limits.
    pub fn new() -> Arc<ShmTable> {
        Arc::new_cyclic(|me| ShmTable {
            table: Mutex::new(Table {
                ids: Ids::default(),
                total_pages: 0,
            }),
            limits: Mutex::new(ShmLimits {
                shmmax: SHMMAX_DEFAULT,
                shmall: SHMMAX_DEFAULT,
                shmmni: SHMMNI_DEFAULT,
            }),
            me: me.clone(),
        })
    }

    fn destroy(&self, id: i32) {
        let mut t = self.table.lock();
        if let Some(seg) = t.ids.remove(id) {
            t.total_pages -= seg.page_count();
        }
    }

    fn segment(&self, id: i32) -> Result<Arc<Segment>> {
        self.table.lock().ids.get(id)
    }

    /// shmget(2): the id of the segment for `key` (made if need be).
    pub fn get(&self, key: i32, size: u64, flags: i32, creds: &Credentials) -> Result<i32> {
        let limits = *self.limits.lock();
        let mut t = self.table.lock();
        let found = lookup(
            &t.ids,
            key,
            flags,
            creds,
            |s| s.state.lock().perm.clone(),
            |s| {
                if s.size < size {
                    Err(errno!(EINVAL))
                } else {
                    Ok(())
                }
            },
        )?;
        if let Lookup::Found(seg) = found {
            return Ok(seg.id);
        }
        if size < SHMMIN || size > limits.shmmax {
            return Err(errno!(EINVAL));
        }
        let pages = page_up(size).ok_or_else(|| errno!(ENOSPC))? / PAGE_SIZE;
        match t.total_pages.checked_add(pages) {
            Some(total) if total <= limits.shmall => {}
            _ => return Err(errno!(ENOSPC)),
        }
        let table = self.me.clone();
        let seg = t.ids.insert(key, limits.shmmni as usize, |id, seq| {
            let mut perm = IpcPerm::new(key, flags, creds);
            perm.seq = seq;
            Ok(Segment {
                id,
                size,
                name: Arc::from(format!("/SYSV{:08x}", key as u32).as_bytes()),
                pages: SharedAnon::new(pages),
                table,
                state: Mutex::new(SegState {
                    perm,
                    atime: 0,
                    dtime: 0,
                    ctime: now(),
                    cpid: current_pid(),
                    lpid: 0,
                    nattch: 0,
                }),
            })
        })?;
        t.total_pages += pages;
        Ok(seg.id)
    }

    /// shmat(2): maps segment `id` into `mm`; returns the address.
    pub fn attach(
        &self,
        mm: &MemoryManager,
        creds: &Credentials,
        id: i32,
        addr: u64,
        flags: i32,
    ) -> Result<u64> {
        if id < 0 {
            return Err(errno!(EINVAL));
        }
        let mut addr = addr;
        if addr != 0 {
            if !addr.is_multiple_of(SHMLBA) {
                if flags & SHM_RND == 0 {
                    return Err(errno!(EINVAL));
                }
                addr -= addr % SHMLBA;
                if addr == 0 && flags & SHM_REMAP != 0 {
                    return Err(errno!(EINVAL));
                }
            }
        } else if flags & SHM_REMAP != 0 {
            return Err(errno!(EINVAL));
        }
        let rdonly = flags & SHM_RDONLY != 0;
        let exec = flags & SHM_EXEC != 0;
        let seg = self.segment(id)?;
        {
            let perm = seg.state.lock().perm.clone();
            let mut want = if rdonly { 0o444 } else { 0o666 };
            if exec {
                want |= 0o111;
            }
            if !perm.allows(creds, want) {
                return Err(errno!(EACCES));
            }
        }
        let len = seg.page_count() * PAGE_SIZE;
        let prot = Prot {
            read: true,
            write: !rdonly,
            exec,
        };
        let obj: Arc<dyn Mappable> = seg.clone();
        let req = MmapRequest {
            addr,
            len,
            prot,
            max_prot: Prot {
                read: true,
                write: !rdonly,
                exec: true,
            },
            shared: true,
            fixed: addr != 0 && flags & SHM_REMAP != 0,
            // Without SHM_REMAP, an address already in use is EINVAL.
            noreplace: addr != 0 && flags & SHM_REMAP == 0,
            growsdown: false,
            backing: Backing::object(obj, 0, Some(seg.name())),
            kind: VmaKind::Plain,
        };
        let at = mm.mmap(req).map_err(|e| {
            if e.code() == libc::EEXIST {
                errno!(EINVAL)
            } else {
                e
            }
        })?;
        let mut st = seg.state.lock();
        st.atime = now();
        st.lpid = current_pid();
        Ok(at)
    }

    /// shmdt(2): unmaps the attachment at `addr`.
    pub fn detach(&self, mm: &MemoryManager, addr: u64) -> Result<()> {
        let obj = mm.detach_shm(addr)?;
        let t = self.table.lock();
        let seg = t
            .ids
            .all()
            .into_iter()
            .find(|s| Arc::as_ptr(s) as usize == obj);
        drop(t);
        if let Some(seg) = seg {
            let mut st = seg.state.lock();
            st.dtime = now();
            st.lpid = current_pid();
        }
        Ok(())
    }

    /// IPC_STAT (`by_index`: SHM_STAT, or SHM_STAT_ANY without the read check): the
    /// segment's status and its id.
    pub fn stat(
        &self,
        creds: &Credentials,
        id: i32,
        by_index: bool,
        check: bool,
    ) -> Result<(ShmidDs, i32)> {
        let seg = if by_index {
            self.table.lock().ids.by_index(id)?
        } else {
            self.segment(id)?
        };
        if check {
            seg.state.lock().perm.check(creds, false)?;
        }
        Ok((seg.ds(), seg.id))
    }

    /// IPC_SET.
    pub fn set(&self, creds: &Credentials, id: i32, ds: &ShmidDs) -> Result<()> {
        let seg = self.segment(id)?;
        let mut st = seg.state.lock();
        st.perm.check_owner(creds)?;
        st.perm.set(&ds.perm);
        st.ctime = now();
        Ok(())
    }

    /// IPC_RMID: removes the segment now if unattached, else when its last
    /// attachment goes.
    pub fn remove(&self, creds: &Credentials, id: i32) -> Result<()> {
        let mut t = self.table.lock();
        let seg = t.ids.get(id)?;
        let mut st = seg.state.lock();
        st.perm.check_owner(creds)?;
        if st.nattch == 0 {
            drop(st);
            if let Some(seg) = t.ids.remove(id) {
                t.total_pages -= seg.page_count();
            }
        } else {
            st.perm.mode |= SHM_DEST;
            st.perm.key = IPC_PRIVATE;
            drop(st);
            t.ids.forget_key(id);
        }
        Ok(())
    }

    /// SHM_LOCK / SHM_UNLOCK: recorded in the mode (the sandbox never swaps).
    pub fn lock(&self, creds: &Credentials, id: i32, lock: bool) -> Result<()> {
        let seg = self.segment(id)?;
        let mut st = seg.state.lock();
        st.perm.check_owner(creds)?;
        if lock {
            st.perm.mode |= SHM_LOCKED;
        } else {
            st.perm.mode &= !SHM_LOCKED;
        }
        Ok(())
    }

    /// IPC_INFO: the limits, and the highest slot in use.
    pub fn info(&self) -> (ShmInfo64, i32) {
        let l = *self.limits.lock();
        let info = ShmInfo64 {
            shmmax: l.shmmax,
            shmmin: SHMMIN,
            shmmni: l.shmmni,
            shmseg: l.shmmni,
            shmall: l.shmall,
            ..Default::default()
        };
        (info, self.table.lock().ids.max_index())
    }

    /// SHM_INFO: the use, and the highest slot in use.
    pub fn usage(&self) -> (ShmInfo, i32) {
        let t = self.table.lock();
        let rss = t.ids.all().iter().map(|s| s.pages.resident_pages()).sum();
        let info = ShmInfo {
            used_ids: t.ids.len() as i32,
            shm_tot: t.total_pages,
            shm_rss: rss,
            ..Default::default()
        };
        (info, t.ids.max_index())
    }

    /// /proc/sysvipc/shm.
    pub fn proc_text(&self) -> String {
        let mut out = String::from(
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n",
        );
        for seg in self.table.lock().ids.all() {
            let rss = seg.pages.resident_pages() * PAGE_SIZE;
            let st = seg.state.lock();
            let p = &st.perm;
            let _ = writeln!(
                out,
                "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}",
                p.key, seg.id, p.mode, seg.size, st.cpid, st.lpid, st.nattch, p.uid, p.gid,
                p.cuid, p.cgid, st.atime, st.dtime, st.ctime, rss, 0
            );
        }
        out
    }
}
