//! Capabilities (capabilities(7)): their numbers and names, the five sets a task holds,
//! the securebits, and file capabilities as the `security.capability` extended
//! attribute stores them. The rules by which set*id, execve and capset change the sets
//! are methods of [`super::creds::Credentials`].

use serde::{Deserialize, Serialize};

/// Capability names, indexed by number (CAP_CHOWN = 0 .. CAP_CHECKPOINT_RESTORE = 40).
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_IPC_OWNER: u32 = 15;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_SYS_TTY_CONFIG: u32 = 26;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_AUDIT_WRITE: u32 = 29;
pub const CAP_SETFCAP: u32 = 31;
pub const CAP_MAC_OVERRIDE: u32 = 32;
/// The highest capability number (what /proc/sys/kernel/cap_last_cap shows).
pub const CAP_LAST_CAP: u32 = 40;

/// Every capability.
pub const ALL_CAPS: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// The mask of one capability.
pub const fn bit(cap: u32) -> u64 {
    1 << cap
}

/// Whether `cap` names a capability (cap_valid).
pub fn valid(cap: u64) -> bool {
    cap <= CAP_LAST_CAP as u64
}

/// The capabilities over files that follow the filesystem uid: dropped from the
/// effective set when it leaves 0, raised (from the permitted set) when it returns.
pub const FS_CAPS: u64 = bit(CAP_CHOWN)
    | bit(CAP_DAC_OVERRIDE)
    | bit(CAP_DAC_READ_SEARCH)
    | bit(CAP_FOWNER)
    | bit(CAP_FSETID)
    | bit(CAP_LINUX_IMMUTABLE)
    | bit(CAP_MAC_OVERRIDE)
    | bit(CAP_MKNOD);

/// Root's implicit file capabilities do not apply on execve.
pub const SECBIT_NOROOT: u32 = 1 << 0;
/// Changing uids does not change capabilities.
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
/// The permitted set survives the uids leaving 0 (cleared by execve).
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
/// PR_CAP_AMBIENT_RAISE is refused.
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
/// The bits above; each has a lock bit just above it.
pub const SECURE_ALL_BITS: u32 =
    SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE;
/// The lock bits: once set, the bit below cannot change and the lock cannot be unset.
pub const SECURE_ALL_LOCKS: u32 = SECURE_ALL_BITS << 1;

/// The capability number named `name` ("CAP_SYS_ADMIN").
pub fn from_name(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// The mask of the capabilities named, or the first unknown name.
pub fn mask_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<u64, String> {
    names.into_iter().try_fold(0, |m, n| {
        from_name(n)
            .map(|c| m | bit(c))
            .ok_or_else(|| n.to_string())
    })
}

/// The five capability sets of a task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSets {
    /// What the kernel checks.
    pub effective: u64,
    /// What the task may make effective.
    pub permitted: u64,
    /// What execve may pass on (with the file's inheritable set).
    pub inheritable: u64,
    /// The limit of what execve may grant.
    pub bounding: u64,
    /// What execve of a file without capabilities keeps.
    pub ambient: u64,
}

impl CapSets {
    /// Linux's sets for a process started by `uid` without more configuration: root
    /// holds every capability, others none; the bounding set is full.
    pub fn for_uid(uid: u32) -> CapSets {
        let held = if uid == 0 { ALL_CAPS } else { 0 };
        CapSets {
            effective: held,
            permitted: held,
            inheritable: 0,
            bounding: ALL_CAPS,
            ambient: 0,
        }
    }

    /// The sets with their invariants restored: only known capabilities, effective
    /// within permitted, ambient within permitted and inheritable.
    pub fn normalized(self) -> CapSets {
        let permitted = self.permitted & ALL_CAPS;
        let inheritable = self.inheritable & ALL_CAPS;
        CapSets {
            effective: self.effective & permitted,
            permitted,
            inheritable,
            bounding: self.bounding & ALL_CAPS,
            ambient: self.ambient & permitted & inheritable,
        }
    }
}

/// A file's capabilities, from its `security.capability` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileCaps {
    /// Granted if the bounding set allows (fP).
    pub permitted: u64,
    /// Granted if the task's inheritable set has them (fI).
    pub inheritable: u64,
    /// The effective bit: the new permitted set becomes effective.
    pub effective: bool,
}

/// The attribute holding a file's capabilities.
pub const XATTR_NAME: &[u8] = b"security.capability";

const VFS_CAP_REVISION_MASK: u32 = 0xff00_0000;
const VFS_CAP_REVISION_1: u32 = 0x0100_0000;
const VFS_CAP_REVISION_2: u32 = 0x0200_0000;
const VFS_CAP_REVISION_3: u32 = 0x0300_0000;
const VFS_CAP_FLAGS_EFFECTIVE: u32 = 0x0000_0001;

impl FileCaps {
    /// Decodes a `security.capability` value (struct vfs_cap_data, revisions 1 to 3;
    /// a revision 3 root id other than 0 does not apply in the sandbox's single user
    /// namespace). None: not a valid value (the file then has no capabilities).
    pub fn parse(v: &[u8]) -> Option<FileCaps> {
        let word = |i: usize| -> Option<u32> {
            v.get(i * 4..i * 4 + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
        };
        let magic = word(0)?;
        let words = match (magic & VFS_CAP_REVISION_MASK, v.len()) {
            (VFS_CAP_REVISION_1, 12) => 1,
            (VFS_CAP_REVISION_2, 20) => 2,
            (VFS_CAP_REVISION_3, 24) if word(5)? == 0 => 2,
            _ => return None,
        };
        let (mut permitted, mut inheritable) = (0u64, 0u64);
        for i in 0..words {
            permitted |= u64::from(word(1 + 2 * i)?) << (32 * i);
            inheritable |= u64::from(word(2 + 2 * i)?) << (32 * i);
        }
        Some(FileCaps {
            permitted,
            inheritable,
            effective: magic & VFS_CAP_FLAGS_EFFECTIVE != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_agree() {
        assert_eq!(from_name("CAP_SYS_ADMIN"), Some(CAP_SYS_ADMIN));
        assert_eq!(from_name("CAP_MKNOD"), Some(CAP_MKNOD));
        assert_eq!(from_name("CAP_CHECKPOINT_RESTORE"), Some(CAP_LAST_CAP));
        assert_eq!(NAMES[CAP_SETFCAP as usize], "CAP_SETFCAP");
        assert_eq!(mask_of(["CAP_CHOWN", "CAP_KILL"]), Ok(0b10_0001));
        assert_eq!(mask_of(["CAP_CHOWN", "CAP_NOPE"]), Err("CAP_NOPE".into()));
    }

    #[test]
    fn file_caps_decode_revisions_two_and_three() {
        let mut v2 = Vec::new();
        for w in [VFS_CAP_REVISION_2 | 1, 1 << 7, 1 << 5, 1, 0] {
            v2.extend_from_slice(&u32::to_le_bytes(w));
        }
        let caps = FileCaps::parse(&v2).expect("valid");
        assert_eq!(caps.permitted, (1 << 7) | (1 << 32));
        assert_eq!(caps.inheritable, 1 << 5);
        assert!(caps.effective);
        let mut v3 = v2.clone();
        v3[3] = 0x03;
        v3.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(FileCaps::parse(&v3), Some(caps));
        v3[20] = 1;
        assert_eq!(FileCaps::parse(&v3), None, "a root id of another namespace");
        assert_eq!(FileCaps::parse(&v2[..12]), None, "revision 2 is 20 bytes");
    }
}
