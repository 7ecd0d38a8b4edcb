//! Resource limits.

use crate::abi::Rlimit;

/// RLIM_INFINITY.
pub const INFINITY: u64 = u64::MAX;
/// Number of resources (RLIMIT_NLIMITS).
pub const NLIMITS: usize = 16;

/// A thread group's resource limits, indexed by RLIMIT_*.
#[derive(Clone, Debug)]
pub struct Limits(pub [Rlimit; NLIMITS]);

impl Default for Limits {
    /// What Linux gives init, with the sentry's own file limit.
    fn default() -> Limits {
        let inf = Rlimit {
            cur: INFINITY,
            max: INFINITY,
        };
        let mut l = [inf; NLIMITS];
        l[libc::RLIMIT_STACK as usize] = Rlimit {
            cur: 8 << 20,
            max: INFINITY,
        };
        l[libc::RLIMIT_CORE as usize] = Rlimit {
            cur: 0,
            max: INFINITY,
        };
        l[libc::RLIMIT_NOFILE as usize] = Rlimit {
            cur: 1024,
            max: 1 << 20,
        };
        l[libc::RLIMIT_NPROC as usize] = Rlimit {
            cur: 0x1_0000,
            max: 0x1_0000,
        };
        l[libc::RLIMIT_MEMLOCK as usize] = Rlimit {
            cur: 8 << 20,
            max: 8 << 20,
        };
        l[libc::RLIMIT_SIGPENDING as usize] = Rlimit {
            cur: 0x1_0000,
            max: 0x1_0000,
        };
        l[libc::RLIMIT_MSGQUEUE as usize] = Rlimit {
            cur: 819_200,
            max: 819_200,
        };
        l[libc::RLIMIT_NICE as usize] = Rlimit { cur: 0, max: 0 };
        l[libc::RLIMIT_RTPRIO as usize] = Rlimit { cur: 0, max: 0 };
        Limits(l)
    }
}

impl Limits {
    /// The soft limit of `resource`.
    pub fn cur(&self, resource: u32) -> u64 {
        self.0[resource as usize].cur
    }
}
