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
    /// kernel.sem: SEMMSL, SEMMNS, SEMOPM, SEMMNI.
    Sem,
    /// kernel.msgmax.
    MsgMax,
    /// kernel.msgmnb.
    MsgMnb,
    /// kernel.msgmni.
    MsgMni,
}

impl Sysctl {
    /// Every IPC sysctl and its name under /proc/sys/kernel.
    pub const ALL: &'static [(&'static str, Sysctl)] = &[
        ("msgmax", Sysctl::MsgMax),
        ("msgmnb", Sysctl::MsgMnb),
        ("msgmni", Sysctl::MsgMni),
        ("sem", Sysctl::Sem),
        ("shmall", Sysctl::ShmAll),
        ("shmmax", Sysctl::ShmMax),
        ("shmmni", Sysctl::ShmMni),
    ];

    /// The file's text.
    pub fn read(self, ns: &IpcNamespace) -> String {
        let shm = *ns.shm.limits.lock();
        let sem = *ns.sem.limits.lock();
        let msg = *ns.msg.limits.lock();
        match self {
            Sysctl::ShmMax => format!("{}\n", shm.shmmax),
            Sysctl::ShmAll => format!("{}\n", shm.shmall),
            Sysctl::ShmMni => format!("{}\n", shm.shmmni),
            Sysctl::Sem => format!(
                "{}\t{}\t{}\t{}\n",
                sem.semmsl, sem.semmns, sem.semopm, sem.semmni
            ),
            Sysctl::MsgMax => format!("{}\n", msg.msgmax),
            Sysctl::MsgMnb => format!("{}\n", msg.msgmnb),
            Sysctl::MsgMni => format!("{}\n", msg.msgmni),
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
        // An int sysctl: 0..=INT_MAX.
        let int = |v: u64| i32::try_from(v).map_err(|_| errno!(EINVAL));
        match self {
            Sysctl::ShmMax => ns.shm.limits.lock().shmmax = one()?,
            Sysctl::ShmAll => ns.shm.limits.lock().shmall = one()?,
            // IPCMNI bounds the number of ids.
            Sysctl::ShmMni => ns.shm.limits.lock().shmmni = one()?.min(32768),
            Sysctl::Sem => {
                let v: Vec<i32> = words
                    .iter()
                    .map(|w| w.parse::<i32>().map_err(|_| errno!(EINVAL)))
                    .collect::<Result<_>>()?;
                let [semmsl, semmns, semopm, semmni] = v[..] else {
                    return Err(errno!(EINVAL));
                };
                if v.iter().any(|&x| x < 0) || semmni > 32768 {
                    return Err(errno!(EINVAL));
                }
                *ns.sem.limits.lock() = super::sem::SemLimits {
                    semmsl,
                    semmns,
                    semopm,
                    semmni,
                };
            }
            Sysctl::MsgMax => ns.msg.limits.lock().msgmax = int(one()?)?,
            Sysctl::MsgMnb => ns.msg.limits.lock().msgmnb = int(one()?)?,
            Sysctl::MsgMni => ns.msg.limits.lock().msgmni = int(one()?)?.min(32768),
        }
        Ok(())
    }
}
