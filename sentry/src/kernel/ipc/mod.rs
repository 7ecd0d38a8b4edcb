//! System V IPC: the sandbox's own IPC namespace — shared memory segments
//! ([`shm`]), semaphore sets ([`sem`]) and message queues ([`msg`]).
//!
//! One namespace serves every process of the sandbox; nothing reaches the host's.
//! Each kind keeps its objects in an [`Ids`] table that hands out Linux-style ids
//! (`seq * 32768 + index`, so a removed object's id is not at once valid again) and
//! finds public keys.
//!
//! Lock order: a kind's table lock before one object's state lock; neither is held
//! while a MemoryManager lock is taken (shm's VMA hooks take an object's state lock,
//! then its table's, under the MemoryManager lock).

pub mod abi;
pub mod mqueue;
pub mod msg;
pub mod sem;
pub mod shm;
pub mod sysctl;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::errno;
use crate::errno::Result;
use crate::kernel::creds::Credentials;

/// IPC_PRIVATE: always a new object, never found by key.
pub const IPC_PRIVATE: i32 = 0;
/// Create the object if the key has none.
pub const IPC_CREAT: i32 = 0o1000;
/// With IPC_CREAT: fail if the key has an object.
pub const IPC_EXCL: i32 = 0o2000;
/// Do not block.
pub const IPC_NOWAIT: i32 = 0o4000;
/// ctl commands common to the three kinds.
pub const IPC_RMID: i32 = 0;
/// Set uid, gid and mode.
pub const IPC_SET: i32 = 1;
/// Read the object's status.
pub const IPC_STAT: i32 = 2;
/// Read the system-wide limits.
pub const IPC_INFO: i32 = 3;

/// Ids are `seq * IPCMNI + index`.
const IPCMNI: i32 = 32768;
/// The largest index any kind hands out.
const IPCMNI_MAX_INDEX: usize = IPCMNI as usize - 1;

/// The sandbox's IPC namespace.
pub struct IpcNamespace {
    /// Shared memory segments.
    pub shm: Arc<shm::ShmTable>,
    /// Semaphore sets.
    pub sem: sem::SemTable,
    /// Message queues.
    pub msg: msg::MsgTable,
    /// POSIX message queues.
    pub mqueue: mqueue::MqTable,
}

impl Default for IpcNamespace {
    fn default() -> IpcNamespace {
        IpcNamespace {
            shm: shm::ShmTable::new(),
            sem: sem::SemTable::default(),
            msg: msg::MsgTable::default(),
            mqueue: mqueue::MqTable::default(),
        }
    }
}

impl IpcNamespace {
    /// Process `tgid` exited: its semaphore adjustments (SEM_UNDO) are applied.
    pub fn exit_process(&self, tgid: i32) {
        self.sem.exit_process(tgid);
    }
}

/// The ownership and permissions of an IPC object (`struct kern_ipc_perm`).
#[derive(Clone, Debug)]
pub struct IpcPerm {
    /// The key it was created with (IPC_PRIVATE once a segment is removed).
    pub key: i32,
    /// Owner.
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// Permission bits, plus the kind's status flags above them (SHM_DEST...).
    pub mode: u32,
    /// The slot's sequence number (the high part of the id).
    pub seq: u16,
}

impl IpcPerm {
    /// The perm of an object `creds` creates with `flags`' low nine bits as its mode.
    pub fn new(key: i32, flags: i32, creds: &Credentials) -> IpcPerm {
        IpcPerm {
            key,
            uid: creds.euid,
            gid: creds.egid,
            cuid: creds.euid,
            cgid: creds.egid,
            mode: flags as u32 & 0o777,
            seq: 0,
        }
    }

    /// Whether `creds` may have the access `flags`' permission bits ask for (as
    /// Linux's ipcperms: owner bits if the caller owns or created it, else group bits
    /// if in its group, else the others'; CAP_IPC_OWNER passes anything).
    pub fn allows(&self, creds: &Credentials, flags: i32) -> bool {
        let flags = flags as u32;
        let requested = (flags >> 6) | (flags >> 3) | flags;
        let mut granted = self.mode;
        if creds.euid == self.uid || creds.euid == self.cuid {
            granted >>= 6;
        } else if [self.gid, self.cgid]
            .iter()
            .any(|g| creds.egid == *g || creds.groups.contains(g))
        {
            granted >>= 3;
        }
        requested & !granted & 0o7 == 0 || creds.capable(crate::kernel::caps::CAP_IPC_OWNER)
    }

    /// Checks read (`S_IRUGO`) or write (`S_IWUGO`) access: EACCES if denied.
    pub fn check(&self, creds: &Credentials, write: bool) -> Result<()> {
        let want = if write { 0o222 } else { 0o444 };
        if self.allows(creds, want) {
            Ok(())
        } else {
            Err(errno!(EACCES))
        }
    }

    /// Checks that `creds` may change or remove the object (its owner, its creator or
    /// CAP_SYS_ADMIN): EPERM otherwise.
    pub fn check_owner(&self, creds: &Credentials) -> Result<()> {
        if creds.euid == self.uid
            || creds.euid == self.cuid
            || creds.capable(crate::kernel::caps::CAP_SYS_ADMIN)
        {
            Ok(())
        } else {
            Err(errno!(EPERM))
        }
    }

    /// IPC_SET: new owner, group and permission bits.
    pub fn set(&mut self, from: &abi::IpcPerm64) {
        self.uid = from.uid;
        self.gid = from.gid;
        self.mode = (self.mode & !0o777) | (from.mode & 0o777);
    }

    /// The ABI form.
    pub fn to_abi(&self) -> abi::IpcPerm64 {
        abi::IpcPerm64 {
            key: self.key,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: self.seq,
            ..Default::default()
        }
    }
}

/// An object an [`Ids`] table holds.
pub trait IpcObject: Send + Sync {
    /// Its id.
    fn id(&self) -> i32;
}

/// The objects of one kind, by index, and their public keys.
pub struct Ids<T> {
    objects: BTreeMap<usize, Arc<T>>,
    keys: BTreeMap<i32, usize>,
    next_seq: u16,
}

impl<T> Default for Ids<T> {
    fn default() -> Ids<T> {
        Ids {
            objects: BTreeMap::new(),
            keys: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<T: IpcObject> Ids<T> {
    /// The object with public key `key`.
    pub fn by_key(&self, key: i32) -> Option<&Arc<T>> {
        self.keys.get(&key).and_then(|i| self.objects.get(i))
    }

    /// The object with id `id`: EINVAL if there is none (or it was removed).
    pub fn get(&self, id: i32) -> Result<Arc<T>> {
        if id < 0 {
            return Err(errno!(EINVAL));
        }
        self.objects
            .get(&((id % IPCMNI) as usize))
            .filter(|o| o.id() == id)
            .cloned()
            .ok_or_else(|| errno!(EINVAL))
    }

    /// The object in slot `index` (for the *_STAT commands): EINVAL if empty.
    pub fn by_index(&self, index: i32) -> Result<Arc<T>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.objects.get(&i))
            .cloned()
            .ok_or_else(|| errno!(EINVAL))
    }

    /// Adds an object made by `make` (given its id and seq) for `key` in the lowest
    /// free slot: ENOSPC if `limit` objects exist already.
    pub fn insert(
        &mut self,
        key: i32,
        limit: usize,
        make: impl FnOnce(i32, u16) -> Result<T>,
    ) -> Result<Arc<T>> {
        let max = limit.min(IPCMNI_MAX_INDEX + 1);
        if self.objects.len() >= max {
            return Err(errno!(ENOSPC));
        }
        let index = (0..)
            .find(|i| !self.objects.contains_key(i))
            .expect("a free slot");
        let seq = self.next_seq;
        let id = seq as i32 * IPCMNI + index as i32;
        let obj = Arc::new(make(id, seq)?);
        self.next_seq = if seq as i32 + 1 >= i32::MAX / IPCMNI {
            0
        } else {
            seq + 1
        };
        self.objects.insert(index, obj.clone());
        if key != IPC_PRIVATE {
            self.keys.insert(key, index);
        }
        Ok(obj)
    }

    /// Forgets the key of object `id` (it can only be reached by id now).
    pub fn forget_key(&mut self, id: i32) {
        let index = (id % IPCMNI) as usize;
        self.keys.retain(|_, i| *i != index);
    }

    /// Removes object `id` (if it is still there).
    pub fn remove(&mut self, id: i32) -> Option<Arc<T>> {
        let index = (id % IPCMNI) as usize;
        if self.objects.get(&index).is_some_and(|o| o.id() == id) {
            self.keys.retain(|_, i| *i != index);
            return self.objects.remove(&index);
        }
        None
    }

    /// How many objects exist.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The highest slot in use (0 if none), as the *_INFO commands return.
    pub fn max_index(&self) -> i32 {
        self.objects.keys().next_back().map_or(0, |&i| i as i32)
    }

    /// Every object, in slot order.
    pub fn all(&self) -> Vec<Arc<T>> {
        self.objects.values().cloned().collect()
    }
}

/// How a *get(2) call finds or makes its object.
pub enum Lookup<T> {
    /// An existing object.
    Found(Arc<T>),
    /// None: make one.
    Create,
}

/// The key rules of shmget, semget and msgget: IPC_PRIVATE always creates; an absent
/// key creates with IPC_CREAT (ENOENT without); a present one is EEXIST with
/// IPC_CREAT|IPC_EXCL, else is checked by `more_checks` and then the permissions the
/// flags ask for (EACCES).
pub fn lookup<T: IpcObject>(
    ids: &Ids<T>,
    key: i32,
    flags: i32,
    creds: &Credentials,
    perm_of: impl Fn(&T) -> IpcPerm,
    more_checks: impl Fn(&T) -> Result<()>,
) -> Result<Lookup<T>> {
    if key == IPC_PRIVATE {
        return Ok(Lookup::Create);
    }
    match ids.by_key(key) {
        None if flags & IPC_CREAT != 0 => Ok(Lookup::Create),
        None => Err(errno!(ENOENT)),
        Some(_) if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 => Err(errno!(EEXIST)),
        Some(obj) => {
            more_checks(obj)?;
            if !perm_of(obj).allows(creds, flags) {
                return Err(errno!(EACCES));
            }
            Ok(Lookup::Found(obj.clone()))
        }
    }
}

/// Seconds since the epoch, as the objects' time stamps keep them.
pub fn now() -> i64 {
    super::time::realtime().tv_sec
}

/// The calling process's id (0 outside a task).
pub fn current_pid() -> i32 {
    super::current_ids().0
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Obj(i32);
    impl IpcObject for Obj {
        fn id(&self) -> i32 {
            self.0
        }
    }

    #[test]
    fn ids_reuse_the_lowest_slot_with_a_new_sequence() {
        let mut ids = Ids::<Obj>::default();
        let a = ids.insert(5, 10, |id, _| Ok(Obj(id))).unwrap();
        let b = ids.insert(IPC_PRIVATE, 10, |id, _| Ok(Obj(id))).unwrap();
        assert_eq!(
            (a.0, b.0),
            (0, IPCMNI + 1),
            "every new object takes the next sequence"
        );
        assert!(ids.by_key(5).is_some());
        ids.remove(a.0);
        assert!(ids.get(a.0).is_err());
        let c = ids.insert(6, 10, |id, _| Ok(Obj(id))).unwrap();
        assert_eq!(
            c.0,
            2 * IPCMNI,
            "slot 0 again, with the next sequence number"
        );
        assert!(ids.get(0).is_err(), "the old id stays invalid");
        assert_eq!(ids.max_index(), 1);
    }

    #[test]
    fn permission_bits_follow_owner_then_group_then_others() {
        let owner = Credentials::new(1000, 100, vec![]);
        let perm = IpcPerm::new(1, 0o640, &owner);
        assert!(perm.allows(&owner, 0o600));
        let group = Credentials::new(1001, 100, vec![]);
        assert!(perm.allows(&group, 0o400));
        assert!(!perm.allows(&group, 0o200));
        let other = Credentials::new(1002, 200, vec![]);
        assert!(!perm.allows(&other, 0o400));
        assert!(perm.allows(&other, 0), "asking for nothing always passes");
        assert!(perm.allows(&Credentials::new(0, 0, vec![]), 0o666));
        assert!(perm.check_owner(&other).is_err());
    }
}
