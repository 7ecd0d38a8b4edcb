//! moat's own vDSO: guests read the clock without trapping into the sentry.
//!
//! Under ptrace every system call costs two stops (~20 µs), and programs read the clock
//! constantly. Linux answers clock_gettime, gettimeofday and time in user space, from a
//! shared object it maps into every process (the vDSO, found through AT_SYSINFO_EHDR)
//! and a page of timekeeping data it keeps up to date (the vvar page). moat does the
//! same with its own pair:
//!
//! - **The image** (`sentry/vdso/vdso.c`, linked by `vdso.lds`, built by the sentry's
//!   build.rs and embedded here): a position-independent shared object without
//!   relocations, exporting `__vdso_clock_gettime`, `__vdso_gettimeofday`,
//!   `__vdso_time`, `__vdso_clock_getres` and `__vdso_getcpu` (and the plain names as
//!   weak aliases) at version `LINUX_2.6`, where glibc and musl look for them. It reads
//!   the parameter page PC-relative, one page below its ELF header.
//! - **The parameter page** (`sentry/vdso/vvar.h`, [`params::offset`]): a seqlock'd
//!   line `CLOCK_MONOTONIC = mono_base + (tsc - tsc_base) * mult` in 32.32 fixed point,
//!   plus the offsets of CLOCK_REALTIME and CLOCK_BOOTTIME from it. Its frame lives in
//!   the memory file and every guest maps that same frame read-only, so one update by
//!   the sentry serves all of them.
//! - **The timekeeper** (`timekeeper.rs`): a sentry thread that reads the host's clocks
//!   paired with the TSC (the tightest of a few readings), estimates the TSC's rate
//!   over the last minute and publishes the line while the sentry boots (from two
//!   readings 2 ms apart), then again at doubling intervals up to once a second. Each update starts the new line exactly where the
//!   old one is at the TSC value read inside the write section (readers that still see
//!   the old line read an earlier TSC), and picks a rate that meets the host's clock
//!   at the next update, slewing by at most 500 ppm; so the vDSO's clocks never go
//!   back, in any thread or process, and stay within about a microsecond of what the
//!   sentry's own clock_gettime returns (the host's clocks, see [`super::time`]).
//!   CLOCK_BOOTTIME's offset only grows; CLOCK_REALTIME's follows the host's steps.
//!
//! The coarse clocks are answered with the fine ones (never earlier than the host's
//! coarse clocks). Everything else makes the real system call, which the sentry serves:
//! other clock ids (CPU-time clocks, MONOTONIC_RAW, TAI), getcpu (the sentry decides
//! which CPU a task is on), and every clock before the first update or on a host whose
//! TSC is unusable — [`probe_host_tsc`] requires constant_tsc, nonstop_tsc and the
//! `tsc` clocksource, and the timekeeper gives up (marks the page not ready) if readings
//! ever go back or the rate jumps.
//!
//! The loader maps the pair into every new program ([`Vdso::map`]) as `[vvar]` and
//! `[vdso]` in the mmap area and passes AT_SYSINFO_EHDR. Both are ordinary private
//! VMAs of the guest: fork copies them, execve replaces them, and the guest may
//! munmap, mremap or mprotect them (the vDSO text copy-on-write; the parameter page can
//! never be made writable).

mod params;
mod timekeeper;

use std::sync::Arc;

use crate::errno::Result;
use crate::mm::{Backing, KernelPages, MemoryFile, MemoryManager, MmapRequest, VmaKind};
use crate::platform::Prot;

/// The vDSO image, as built from `sentry/vdso/`.
static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// Whether the host's TSC can serve the vDSO's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostTsc {
    /// It runs at a constant rate, in sync across CPUs, and the host's clocks use it.
    Usable,
    /// It cannot be trusted (why): every clock read makes a system call.
    Unusable(String),
}

/// Looks at the host's TSC: its flags in /proc/cpuinfo and the host kernel's
/// clocksource. Must run before the sentry leaves the host's filesystem.
pub fn probe_host_tsc() -> HostTsc {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let clocksource =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    judge_host_tsc(&cpuinfo, &clocksource)
}

/// The verdict of [`probe_host_tsc`] on what it read.
fn judge_host_tsc(cpuinfo: &str, clocksource: &str) -> HostTsc {
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, f)| f.split_whitespace().collect())
        .unwrap_or_default();
    let has = |f: &str| flags.contains(&f);
    if !(has("constant_tsc") && has("nonstop_tsc")) {
        return HostTsc::Unusable("the TSC is not invariant (no constant_tsc/nonstop_tsc)".into());
    }
    if clocksource.trim() != "tsc" {
        return HostTsc::Unusable(format!(
            "the host's clocksource is {:?}, not tsc",
            clocksource.trim()
        ));
    }
    HostTsc::Usable
}

/// The vDSO image and its parameter page, shared by every guest of the sandbox.
pub struct Vdso {
    vvar: Arc<KernelPages>,
    text: Arc<KernelPages>,
    vvar_name: Arc<[u8]>,
    text_name: Arc<[u8]>,
}

impl Vdso {
    /// Puts the image and a parameter page in the memory file and, if the host's TSC
    /// is usable, starts keeping the clock.
    pub fn new(mf: &Arc<MemoryFile>, host: &HostTsc) -> Result<Vdso> {
        let vvar = KernelPages::new(mf, &[])?;
        let text = KernelPages::new(mf, IMAGE)?;
        match host {
            HostTsc::Usable => timekeeper::start(&vvar)?,
            HostTsc::Unusable(why) => {
                tracing::info!(why, "no TSC clock in the vDSO: guests' clock reads trap");
            }
        }
        Ok(Vdso {
            vvar,
            text,
            vvar_name: Arc::from(&b"[vvar]"[..]),
            text_name: Arc::from(&b"[vdso]"[..]),
        })
    }

    /// Maps the parameter page and the image above it into `mm`, in the mmap area;
    /// returns the image's address (AT_SYSINFO_EHDR).
    pub fn map(&self, mm: &MemoryManager) -> Result<u64> {
        let start = mm.find_free(self.vvar.len() + self.text.len())?;
        let read = Prot {
            read: true,
            write: false,
            exec: false,
        };
        let request =
            |addr, obj: &Arc<KernelPages>, name: &Arc<[u8]>, prot, max_prot| MmapRequest {
                addr,
                len: obj.len(),
                prot,
                max_prot,
                shared: false,
                fixed: true,
                noreplace: false,
                growsdown: false,
                backing: Backing::Object {
                    obj: obj.clone(),
                    pgoff: 0,
                    name: Some(name.clone()),
                },
                kind: VmaKind::Plain,
            };
        mm.mmap(request(start, &self.vvar, &self.vvar_name, read, read))?;
        let text = start + self.vvar.len();
        let rx = Prot { exec: true, ..read };
        let rwx = Prot { write: true, ..rx };
        mm.mmap(request(text, &self.text, &self.text_name, rx, rwx))?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests;
