//! The x86-64 layouts of System V IPC's user structures.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct ipc64_perm` (48 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct IpcPerm64 {
    /// Key.
    pub key: i32,
    /// Owner.
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// Permissions and status flags.
    pub mode: u32,
    /// Sequence number.
    pub seq: u16,
    /// Padding.
    pub pad2: u16,
    /// Padding.
    pub pad3: u32,
    /// Unused.
    pub unused1: u64,
    /// Unused.
    pub unused2: u64,
}

/// `struct shmid64_ds` (112 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ShmidDs {
    /// Ownership and permissions.
    pub perm: IpcPerm64,
    /// Size in bytes.
    pub segsz: u64,
    /// Last attach.
    pub atime: i64,
    /// Last detach.
    pub dtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Creator's pid.
    pub cpid: i32,
    /// Pid of the last shmat/shmdt.
    pub lpid: i32,
    /// Attachments.
    pub nattch: u64,
    /// Unused.
    pub unused4: u64,
    /// Unused.
    pub unused5: u64,
}

/// `struct shminfo64` (IPC_INFO).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ShmInfo64 {
    /// Largest segment.
    pub shmmax: u64,
    /// Smallest segment.
    pub shmmin: u64,
    /// Most segments.
    pub shmmni: u64,
    /// Most segments a process attaches.
    pub shmseg: u64,
    /// Most pages in all segments.
    pub shmall: u64,
    /// Unused.
    pub unused: [u64; 4],
}

/// `struct shm_info` (SHM_INFO).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ShmInfo {
    /// Segments in use.
    pub used_ids: i32,
    /// Padding.
    pub pad: i32,
    /// Pages of all segments.
    pub shm_tot: u64,
    /// Resident pages.
    pub shm_rss: u64,
    /// Swapped pages.
    pub shm_swp: u64,
    /// Unused.
    pub swap_attempts: u64,
    /// Unused.
    pub swap_successes: u64,
}

/// `struct semid64_ds` (104 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SemidDs {
    /// Ownership and permissions.
    pub perm: IpcPerm64,
    /// Last semop.
    pub otime: i64,
    /// Unused.
    pub unused1: u64,
    /// Last change.
    pub ctime: i64,
    /// Unused.
    pub unused2: u64,
    /// Semaphores in the set.
    pub nsems: u64,
    /// Unused.
    pub unused3: u64,
    /// Unused.
    pub unused4: u64,
}

/// `struct seminfo` (IPC_INFO, SEM_INFO).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SemInfo {
    /// SEMMAP (SEM_INFO: sets in use... see semctl(2)).
    pub semmap: i32,
    /// Most sets.
    pub semmni: i32,
    /// Most semaphores in all sets.
    pub semmns: i32,
    /// Most undo structures.
    pub semmnu: i32,
    /// Most semaphores in a set.
    pub semmsl: i32,
    /// Most operations per semop.
    pub semopm: i32,
    /// Most undo entries per process.
    pub semume: i32,
    /// SEM_INFO: sets in use.
    pub semusz: i32,
    /// Largest value.
    pub semvmx: i32,
    /// SEM_INFO: semaphores in use.
    pub semaem: i32,
}

/// `struct sembuf` (6 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SemBuf {
    /// Which semaphore.
    pub num: u16,
    /// The operation.
    pub op: i16,
    /// IPC_NOWAIT, SEM_UNDO.
    pub flg: i16,
}

/// `struct msqid64_ds` (120 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MsqidDs {
    /// Ownership and permissions.
    pub perm: IpcPerm64,
    /// Last msgsnd.
    pub stime: i64,
    /// Last msgrcv.
    pub rtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Bytes queued.
    pub cbytes: u64,
    /// Messages queued.
    pub qnum: u64,
    /// Most bytes the queue holds.
    pub qbytes: u64,
    /// Pid of the last msgsnd.
    pub lspid: i32,
    /// Pid of the last msgrcv.
    pub lrpid: i32,
    /// Unused.
    pub unused4: u64,
    /// Unused.
    pub unused5: u64,
}

/// `struct msginfo` (IPC_INFO, MSG_INFO).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MsgInfo {
    /// MSGPOOL (MSG_INFO: queues in use).
    pub msgpool: i32,
    /// MSGMAP (MSG_INFO: messages queued).
    pub msgmap: i32,
    /// Largest message.
    pub msgmax: i32,
    /// Default queue size.
    pub msgmnb: i32,
    /// Most queues.
    pub msgmni: i32,
    /// Message segment size.
    pub msgssz: i32,
    /// MSGTQL (MSG_INFO: bytes queued).
    pub msgtql: i32,
    /// Most segments.
    pub msgseg: u16,
    /// Padding.
    pub pad: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_linux_x86_64() {
        assert_eq!(std::mem::size_of::<IpcPerm64>(), 48);
        assert_eq!(std::mem::size_of::<ShmidDs>(), 112);
        assert_eq!(std::mem::size_of::<ShmInfo64>(), 72);
        assert_eq!(std::mem::size_of::<ShmInfo>(), 48);
        assert_eq!(std::mem::size_of::<SemidDs>(), 104);
        assert_eq!(std::mem::size_of::<SemInfo>(), 40);
        assert_eq!(std::mem::size_of::<SemBuf>(), 6);
        assert_eq!(std::mem::size_of::<MsqidDs>(), 120);
        assert_eq!(std::mem::size_of::<MsgInfo>(), 32);
    }
}
