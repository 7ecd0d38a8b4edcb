//! The IPC sysctls (/proc/sys/kernel/shmmax, shmall, shmmni, sem, msgmax, msgmnb,
//! msgmni) and the /proc/sysvipc listings.

use super::IpcNamespace;
use crate::errno;
use crate::errno::Result;

/// One IPC sysctl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sysctl {
    /// kernel.shmmax.
    ShmMax,
    /// kernel.shmall.
    ShmAll,
    /// kernel.shmmni.
    ShmMni,
}

impl Sysctl {
    /// Every IPC sysctl and its name under /proc/sys/kernel.
    pub const ALL: &'static [(&'static str, Sysctl)] = &[
        ("shmall", Sysctl::ShmAll),
        ("shmmax", Sysctl::ShmMax),
        ("shmmni", Sysctl::ShmMni),
    ];

    /// The file's text.
    pub fn read(self, ns: &IpcNamespace) -> String {
        let shm = *ns.shm.limits.lock();
        match self {
            Sysctl::ShmMax => format!("{}\n", shm.shmmax),
            Sysctl::ShmAll => format!("{}\n", shm.shmall),
            Sysctl::ShmMni => format!("{}\n", shm.shmmni),
        }
    }

    /// A write of `text` (root's; the file's mode keeps others out): the new value, or
    /// EINVAL if it is not a number in range.
    pub fn write(self, ns: &IpcNamespace, text: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(text).map_err(|_| errno!(EINVAL))?;
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        let one = || -> Result<u64> {
            match words.as_slice() {
                [w] => w.parse::<u64>().map_err(|_| errno!(EINVAL)),
                _ => Err(errno!(EINVAL)),
            }
        };
        let mut shm = ns.shm.limits.lock();
        match self {
            Sysctl::ShmMax => shm.shmmax = one()?,
            Sysctl::ShmAll => shm.shmall = one()?,
            // IPCMNI bounds the number of ids.
            Sysctl::ShmMni => shm.shmmni = one()?.min(32768),
        }
        Ok(())
    }
}
