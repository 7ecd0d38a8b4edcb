//! Credentials of a task.

/// A task's user and group identities (the guest's, not the host's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Filesystem user id.
    pub fsuid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Credentials {
    /// Credentials with every id set to `uid`/`gid`.
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Credentials {
        Credentials {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups,
        }
    }

    /// Whether the task has the powers of root over files (CAP_DAC_OVERRIDE).
    pub fn is_root(&self) -> bool {
        self.fsuid == 0
    }

    /// Whether `mode`/`uid`/`gid` of a file grant `want` (a mask of R=4, W=2, X=1),
    /// checked with the filesystem ids (or the real ones, for access(2)).
    pub fn may_access(
        &self,
        use_real: bool,
        mode: u32,
        uid: u32,
        gid: u32,
        want: u32,
        is_dir: bool,
    ) -> bool {
        let (u, g) = if use_real {
            (self.uid, self.gid)
        } else {
            (self.fsuid, self.fsgid)
        };
        if u == 0 {
            // Root may read and write anything, and execute anything with an x bit
            // (directories can always be searched).
            return want & 1 == 0 || is_dir || mode & 0o111 != 0;
        }
        let bits = if u == uid {
            (mode >> 6) & 7
        } else if g == gid || self.groups.contains(&gid) {
            (mode >> 3) & 7
        } else {
            mode & 7
        };
        bits & want == want
    }
}
