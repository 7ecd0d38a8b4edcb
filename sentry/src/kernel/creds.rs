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
    /// PR_SET_NO_NEW_PRIVS was set (inherited by children, kept across execve, never
    /// cleared).
    pub no_new_privs: bool,
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
            no_new_privs: false,
        }
    }

    /// Whether the task holds the capabilities beyond the filesystem ones
    /// (CAP_SYS_ADMIN, CAP_SYS_CHROOT): root holds every capability, others none, as
    /// capget reports.
    pub fn capable(&self) -> bool {
        self.euid == 0
    }

    /// Whether the task has the powers of root over files (CAP_DAC_OVERRIDE).
    pub fn is_root(&self) -> bool {
        self.fsuid == 0
    }

    /// Whether a task with these credentials may read or change the memory and files
    /// of a task running as `target` (ptrace's access check with real credentials:
    /// all of the target's user and group ids are the caller's real ones, or the
    /// caller has CAP_SYS_PTRACE).
    pub fn may_ptrace(&self, target: &Credentials) -> bool {
        self.capable()
            || ([target.uid, target.euid, target.suid]
                .iter()
                .all(|&u| u == self.uid)
                && [target.gid, target.egid, target.sgid]
                    .iter()
                    .all(|&g| g == self.gid))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_group_and_other_bits_apply_in_that_order() {
        let c = Credentials::new(1000, 100, vec![200]);
        assert!(c.may_access(false, 0o700, 1000, 0, 7, false));
        assert!(
            !c.may_access(false, 0o077, 1000, 100, 4, false),
            "owner bits win even if group allows"
        );
        assert!(
            c.may_access(false, 0o070, 0, 200, 5, false),
            "supplementary group"
        );
        assert!(!c.may_access(false, 0o750, 0, 0, 4, false));
        assert!(c.may_access(false, 0o754, 0, 0, 4, false));
    }

    #[test]
    fn root_needs_an_x_bit_to_execute_but_may_search_any_directory() {
        let root = Credentials::new(0, 0, vec![]);
        assert!(root.may_access(false, 0o000, 1000, 1000, 6, false));
        assert!(!root.may_access(false, 0o644, 1000, 1000, 1, false));
        assert!(root.may_access(false, 0o000, 1000, 1000, 1, true));
    }
}
