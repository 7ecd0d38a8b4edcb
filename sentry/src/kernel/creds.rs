//! Credentials of a task: its ids, its capabilities and securebits, and the rules by
//! which set*id, capset and execve change them (Linux's commoncap).

use super::caps::{self, bit, CapSets, FileCaps};
use crate::errno;
use crate::errno::Result;

const MAY_READ: u32 = 4;
const MAY_WRITE: u32 = 2;
const MAY_EXEC: u32 = 1;

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
    /// The capability sets.
    pub caps: CapSets,
    /// SECBIT_* flags and their locks.
    pub securebits: u32,
}

/// What execve needs to know of the file it runs.
#[derive(Clone, Copy, Debug)]
pub struct ExecFile {
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Mode bits (set-user-id, set-group-id, group execute).
    pub mode: u32,
    /// It lives on a nosuid mount: set-id bits and file capabilities do not apply.
    pub nosuid: bool,
    /// Its file capabilities, if it has any.
    pub caps: Option<FileCaps>,
}

impl Credentials {
    /// Credentials with every id set to `uid`/`gid` and Linux's capabilities for that
    /// uid (everything for root, nothing for others).
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
            caps: CapSets::for_uid(uid),
            securebits: 0,
        }
    }

    /// Whether `cap` is in the effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.effective & bit(cap) != 0
    }

    /// Whether securebit `flag` is set.
    pub fn secure(&self, flag: u32) -> bool {
        self.securebits & flag != 0
    }

    /// The effective set access(2) checks with: the real uid stands in for the
    /// filesystem one, so root's permitted set applies and others' nothing (unless
    /// SECBIT_NO_SETUID_FIXUP).
    fn access_effective(&self) -> u64 {
        if self.secure(caps::SECBIT_NO_SETUID_FIXUP) {
            self.caps.effective
        } else if self.uid == 0 {
            self.caps.permitted
        } else {
            0
        }
    }

    /// Whether a task with these credentials may read or change the memory and files
    /// of a task running as `target` (ptrace's access check with real credentials:
    /// all of the target's user and group ids are the caller's real ones, or the
    /// caller has CAP_SYS_PTRACE).
    pub fn may_ptrace(&self, target: &Credentials) -> bool {
        self.capable(super::caps::CAP_SYS_PTRACE)
            || ([target.uid, target.euid, target.suid]
                .iter()
                .all(|&u| u == self.uid)
                && [target.gid, target.egid, target.sgid]
                    .iter()
                    .all(|&g| g == self.gid))
    }

    /// Whether `mode`/`uid`/`gid` of a file grant `want` (a mask of R=4, W=2, X=1),
    /// checked with the filesystem ids (or the real ones, for access(2)), then
    /// CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE as Linux's generic_permission.
    pub fn may_access(
        &self,
        use_real: bool,
        mode: u32,
        uid: u32,
        gid: u32,
        want: u32,
        is_dir: bool,
    ) -> bool {
        let (u, g, effective) = if use_real {
            (self.uid, self.gid, self.access_effective())
        } else {
            (self.fsuid, self.fsgid, self.caps.effective)
        };
        let bits = if u == uid {
            (mode >> 6) & 7
        } else if g == gid || self.groups.contains(&gid) {
            (mode >> 3) & 7
        } else {
            mode & 7
        };
        if bits & want == want {
            return true;
        }
        let has = |cap| effective & bit(cap) != 0;
        if is_dir {
            // Directories: reading and searching need CAP_DAC_READ_SEARCH, anything
            // CAP_DAC_OVERRIDE.
            return (want & MAY_WRITE == 0 && has(caps::CAP_DAC_READ_SEARCH))
                || has(caps::CAP_DAC_OVERRIDE);
        }
        if want == MAY_READ && has(caps::CAP_DAC_READ_SEARCH) {
            return true;
        }
        // Reading and writing are always overridden; executing only a file with an x
        // bit.
        (want & MAY_EXEC == 0 || mode & 0o111 != 0) && has(caps::CAP_DAC_OVERRIDE)
    }

    /// The capability changes of a change of real, effective or saved uid from `old`
    /// (setuid, setreuid, setresuid): leaving uid 0 altogether drops the permitted
    /// and effective sets (unless SECBIT_KEEP_CAPS) and the ambient set; the effective
    /// uid leaving 0 drops the effective set and returning to 0 restores it from the
    /// permitted one. SECBIT_NO_SETUID_FIXUP turns all of this off.
    pub fn fix_setuid(&mut self, old: &Credentials) {
        if self.secure(caps::SECBIT_NO_SETUID_FIXUP) {
            return;
        }
        let any_root = |c: &Credentials| c.uid == 0 || c.euid == 0 || c.suid == 0;
        if any_root(old) && !any_root(self) {
            if !self.secure(caps::SECBIT_KEEP_CAPS) {
                self.caps.permitted = 0;
                self.caps.effective = 0;
            }
            self.caps.ambient = 0;
        }
        if old.euid == 0 && self.euid != 0 {
            self.caps.effective = 0;
        }
        if old.euid != 0 && self.euid == 0 {
            self.caps.effective = self.caps.permitted;
        }
    }

    /// The capability changes of a change of filesystem uid from `old_fsuid`: the
    /// capabilities over files leave the effective set with uid 0 and come back (as
    /// far as permitted) with it.
    pub fn fix_setfsuid(&mut self, old_fsuid: u32) {
        if self.secure(caps::SECBIT_NO_SETUID_FIXUP) {
            return;
        }
        if old_fsuid == 0 && self.fsuid != 0 {
            self.caps.effective &= !caps::FS_CAPS;
        }
        if old_fsuid != 0 && self.fsuid == 0 {
            self.caps.effective |= self.caps.permitted & caps::FS_CAPS;
        }
    }

    /// capset(2) on oneself: permitted may only shrink, effective must stay within
    /// it, and inheritable may only gain what the bounding set allows and (without
    /// CAP_SETPCAP) what is permitted. The ambient set shrinks to stay within the new
    /// permitted and inheritable sets.
    pub fn set_caps(&mut self, effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
        let (effective, permitted, inheritable) = (
            effective & caps::ALL_CAPS,
            permitted & caps::ALL_CAPS,
            inheritable & caps::ALL_CAPS,
        );
        let c = self.caps;
        if !self.capable(caps::CAP_SETPCAP) && inheritable & !(c.inheritable | c.permitted) != 0 {
            return Err(errno!(
                EPERM,
                "inheritable beyond permitted without CAP_SETPCAP"
            ));
        }
        if inheritable & !(c.inheritable | c.bounding) != 0 {
            return Err(errno!(EPERM, "inheritable beyond the bounding set"));
        }
        if permitted & !c.permitted != 0 {
            return Err(errno!(EPERM, "permitted cannot grow"));
        }
        if effective & !permitted != 0 {
            return Err(errno!(EPERM, "effective beyond permitted"));
        }
        self.caps.effective = effective;
        self.caps.permitted = permitted;
        self.caps.inheritable = inheritable;
        self.caps.ambient &= permitted & inheritable;
        Ok(())
    }

    /// PR_CAPBSET_DROP: removes `cap` from the bounding set (needs CAP_SETPCAP).
    pub fn drop_bounding(&mut self, cap: u64) -> Result<()> {
        if !self.capable(caps::CAP_SETPCAP) {
            return Err(errno!(EPERM));
        }
        if !caps::valid(cap) {
            return Err(errno!(EINVAL));
        }
        self.caps.bounding &= !bit(cap as u32);
        Ok(())
    }

    /// PR_CAP_AMBIENT_RAISE: `cap` must be permitted and inheritable, and raising
    /// not forbidden by SECBIT_NO_CAP_AMBIENT_RAISE.
    pub fn raise_ambient(&mut self, cap: u32) -> Result<()> {
        let b = bit(cap);
        if self.caps.permitted & b == 0
            || self.caps.inheritable & b == 0
            || self.secure(caps::SECBIT_NO_CAP_AMBIENT_RAISE)
        {
            return Err(errno!(EPERM));
        }
        self.caps.ambient |= b;
        Ok(())
    }

    /// PR_SET_SECUREBITS: needs CAP_SETPCAP; a locked bit cannot change, a lock cannot
    /// be released, and unknown bits cannot be set.
    pub fn set_securebits(&mut self, bits: u64) -> Result<()> {
        let old = u64::from(self.securebits);
        let locks = u64::from(caps::SECURE_ALL_LOCKS);
        let known = u64::from(caps::SECURE_ALL_BITS) | locks;
        if ((old & locks) >> 1) & (old ^ bits) != 0
            || old & locks & !bits != 0
            || bits & !known != 0
            || !self.capable(caps::CAP_SETPCAP)
        {
            return Err(errno!(EPERM));
        }
        self.securebits = bits as u32;
        Ok(())
    }

    /// PR_SET_KEEPCAPS: sets or clears SECBIT_KEEP_CAPS unless it is locked.
    pub fn set_keepcaps(&mut self, keep: u64) -> Result<()> {
        if keep > 1 {
            return Err(errno!(EINVAL));
        }
        if self.secure(caps::SECBIT_KEEP_CAPS << 1) {
            return Err(errno!(EPERM));
        }
        if keep == 1 {
            self.securebits |= caps::SECBIT_KEEP_CAPS;
        } else {
            self.securebits &= !caps::SECBIT_KEEP_CAPS;
        }
        Ok(())
    }

    /// The credentials execve of `file` gives (Linux's bprm_fill_uid and
    /// cap_bprm_creds_from_file): set-user-id and set-group-id bits, the file's
    /// capabilities (pP' = (bounding & fP) | (pI & fI)), root's implicit full file
    /// capabilities unless SECBIT_NOROOT, no gain at all under no_new_privs, the
    /// ambient set kept only for unprivileged files. Returns whether the exec is
    /// privilege-raising (AT_SECURE). EPERM: the file's effective bit is set but some
    /// of its permitted capabilities could not be granted.
    pub fn exec(&mut self, file: &ExecFile) -> Result<bool> {
        let old = &*self;
        let mut new = old.clone();
        if !file.nosuid && !old.no_new_privs {
            if file.mode & libc::S_ISUID != 0 {
                new.euid = file.uid;
            }
            if file.mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP {
                new.egid = file.gid;
            }
        }
        let fcaps = file.caps.filter(|_| !file.nosuid);
        let mut effective = false;
        new.caps.permitted = 0;
        if let Some(f) = fcaps {
            effective = f.effective;
            new.caps.permitted =
                (old.caps.bounding & f.permitted) | (old.caps.inheritable & f.inheritable);
            if effective && f.permitted & !new.caps.permitted != 0 {
                return Err(errno!(
                    EPERM,
                    "the file's permitted capabilities are not all grantable"
                ));
            }
        }
        // Root's implicit capabilities, except that a set-user-id-root file with file
        // capabilities gets only those.
        let suid_root_with_fcaps = fcaps.is_some() && new.uid != 0 && new.euid == 0;
        if !old.secure(caps::SECBIT_NOROOT) && !suid_root_with_fcaps {
            if new.euid == 0 || new.uid == 0 {
                new.caps.permitted = old.caps.bounding | old.caps.inheritable;
            }
            if new.euid == 0 {
                effective = true;
            }
        }
        let gained = new.caps.permitted & !old.caps.permitted != 0;
        let is_setid = new.euid != old.uid || new.egid != old.gid;
        if (is_setid || gained) && old.no_new_privs {
            new.euid = new.uid;
            new.egid = new.gid;
            new.caps.permitted &= old.caps.permitted;
        }
        (new.suid, new.fsuid) = (new.euid, new.euid);
        (new.sgid, new.fsgid) = (new.egid, new.egid);
        if fcaps.is_some() || is_setid {
            new.caps.ambient = 0;
        }
        new.caps.permitted |= new.caps.ambient;
        new.caps.effective = if effective {
            new.caps.permitted
        } else {
            new.caps.ambient
        };
        new.securebits &= !caps::SECBIT_KEEP_CAPS;
        let secure = is_setid
            || (new.uid != 0 && (effective || new.caps.permitted & !new.caps.ambient != 0));
        *self = new;
        Ok(secure)
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
    fn file(mode: u32) -> ExecFile {
        ExecFile {
            uid: 0,
            gid: 0,
            mode,
            nosuid: false,
            caps: None,
        }
    }

    #[test]
    fn root_without_dac_override_is_refused_like_anyone() {
        let mut root = Credentials::new(0, 0, vec![]);
        root.caps.effective &= !bit(caps::CAP_DAC_OVERRIDE);
        assert!(!root.may_access(false, 0o000, 1000, 1000, 2, false));
        assert!(
            root.may_access(false, 0o000, 1000, 1000, 4, false),
            "CAP_DAC_READ_SEARCH still reads"
        );
        root.caps.effective &= !bit(caps::CAP_DAC_READ_SEARCH);
        assert!(!root.may_access(false, 0o000, 1000, 1000, 4, false));
        assert!(!root.may_access(false, 0o000, 1000, 1000, 1, true));
    }

    #[test]
    fn setuid_away_from_root_drops_caps_unless_keep_caps() {
        let old = Credentials::new(0, 0, vec![]);
        let mut c = old.clone();
        (c.uid, c.euid, c.suid, c.fsuid) = (1000, 1000, 1000, 1000);
        c.fix_setuid(&old);
        assert_eq!((c.caps.permitted, c.caps.effective), (0, 0));

        let mut keep = old.clone();
        keep.set_keepcaps(1).unwrap();
        let before = keep.clone();
        (keep.uid, keep.euid, keep.suid, keep.fsuid) = (1000, 1000, 1000, 1000);
        keep.fix_setuid(&before);
        assert_eq!(keep.caps.permitted, caps::ALL_CAPS);
        assert_eq!(keep.caps.effective, 0, "the effective uid left 0");
    }

    #[test]
    fn seteuid_round_trip_restores_effective_from_permitted() {
        let old = Credentials::new(0, 0, vec![]);
        let mut c = old.clone();
        (c.euid, c.fsuid) = (1000, 1000);
        c.fix_setuid(&old);
        assert_eq!(c.caps.effective, 0);
        assert_eq!(c.caps.permitted, caps::ALL_CAPS, "the saved uid is still 0");
        let mid = c.clone();
        (c.euid, c.fsuid) = (0, 0);
        c.fix_setuid(&mid);
        assert_eq!(c.caps.effective, caps::ALL_CAPS);
    }

    #[test]
    fn setfsuid_drops_and_restores_only_the_file_caps() {
        let mut c = Credentials::new(0, 0, vec![]);
        c.fsuid = 1000;
        c.fix_setfsuid(0);
        assert_eq!(c.caps.effective, caps::ALL_CAPS & !caps::FS_CAPS);
        c.fsuid = 0;
        c.fix_setfsuid(1000);
        assert_eq!(c.caps.effective, caps::ALL_CAPS);
    }

    #[test]
    fn capset_refuses_growth_and_trims_ambient() {
        let mut c = Credentials::new(0, 0, vec![]);
        let kill = bit(caps::CAP_KILL);
        c.set_caps(kill, kill, kill).unwrap();
        c.raise_ambient(caps::CAP_KILL).unwrap();
        assert!(c.set_caps(kill, kill | 1, kill).is_err(), "permitted grows");
        assert!(
            c.set_caps(kill | 1, kill, kill).is_err(),
            "effective beyond permitted"
        );
        assert!(
            c.set_caps(0, kill, 1).is_err(),
            "inheritable without CAP_SETPCAP"
        );
        c.set_caps(0, kill, 0).unwrap();
        assert_eq!(c.caps.ambient, 0);
    }

    #[test]
    fn securebits_locks_hold() {
        let mut c = Credentials::new(0, 0, vec![]);
        let keep_locked = caps::SECBIT_KEEP_CAPS << 1;
        c.set_securebits(u64::from(caps::SECBIT_KEEP_CAPS | keep_locked))
            .unwrap();
        assert!(c.set_keepcaps(0).is_err());
        assert!(
            c.set_securebits(u64::from(keep_locked)).is_err(),
            "a locked bit"
        );
        assert!(c.set_securebits(0).is_err(), "a lock cannot be released");
        assert!(c.set_securebits(1 << 20).is_err(), "an unknown bit");
    }

    #[test]
    fn exec_as_root_gets_bounding_and_inheritable() {
        let mut c = Credentials::new(0, 0, vec![]);
        c.caps.bounding &= !bit(caps::CAP_SYS_ADMIN);
        c.caps.permitted = 0;
        c.caps.effective = 0;
        let secure = c.exec(&file(0o755)).unwrap();
        assert!(!secure);
        assert_eq!(c.caps.permitted, caps::ALL_CAPS & !bit(caps::CAP_SYS_ADMIN));
        assert_eq!(c.caps.effective, c.caps.permitted);
    }

    #[test]
    fn exec_under_noroot_or_no_new_privs_gains_nothing() {
        let mut c = Credentials::new(0, 0, vec![]);
        c.caps.permitted = bit(caps::CAP_KILL);
        c.no_new_privs = true;
        c.exec(&file(0o755)).unwrap();
        assert_eq!(c.caps.permitted, bit(caps::CAP_KILL));

        let mut c = Credentials::new(0, 0, vec![]);
        c.securebits = caps::SECBIT_NOROOT;
        c.exec(&file(0o755)).unwrap();
        assert_eq!(c.caps.permitted, 0);
    }

    #[test]
    fn exec_as_non_root_keeps_only_ambient() {
        let mut c = Credentials::new(0, 0, vec![]);
        let kill = bit(caps::CAP_KILL);
        c.set_keepcaps(1).unwrap();
        c.set_caps(kill, kill, kill).unwrap();
        c.raise_ambient(caps::CAP_KILL).unwrap();
        let old = c.clone();
        (c.uid, c.euid, c.suid, c.fsuid) = (1000, 1000, 1000, 1000);
        c.fix_setuid(&old);
        assert_eq!(
            c.caps.ambient, 0,
            "ambient leaves with uid 0 even with KEEP_CAPS"
        );
        c.set_caps(kill, kill, kill).unwrap();
        c.raise_ambient(caps::CAP_KILL).unwrap();
        let secure = c.exec(&file(0o755)).unwrap();
        assert!(!secure);
        assert_eq!(
            (c.caps.permitted, c.caps.effective, c.caps.ambient),
            (kill, kill, kill)
        );
        assert_eq!(c.securebits & caps::SECBIT_KEEP_CAPS, 0);
    }

    #[test]
    fn exec_of_setuid_root_file_raises_and_clears_ambient() {
        let mut c = Credentials::new(1000, 1000, vec![]);
        let secure = c.exec(&file(0o4755)).unwrap();
        assert!(secure);
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 0, 0, 0));
        assert_eq!(c.caps.effective, caps::ALL_CAPS);

        let mut n = Credentials::new(1000, 1000, vec![]);
        n.no_new_privs = true;
        n.exec(&file(0o4755)).unwrap();
        assert_eq!((n.euid, n.caps.permitted), (1000, 0));
    }

    #[test]
    fn exec_of_file_caps_grants_through_bounding_and_inheritable() {
        let mut c = Credentials::new(1000, 1000, vec![]);
        let mut f = file(0o755);
        f.caps = Some(FileCaps {
            permitted: bit(caps::CAP_NET_RAW),
            inheritable: 0,
            effective: true,
        });
        assert!(c.clone().exec(&f).unwrap());
        c.exec(&f).unwrap();
        assert_eq!(c.caps.effective, bit(caps::CAP_NET_RAW));

        let mut b = Credentials::new(1000, 1000, vec![]);
        b.caps.bounding = 0;
        assert!(
            b.exec(&f).is_err(),
            "effective file lacking a permitted cap"
        );
    }
}
