//! Signals, signal sets and `struct sigaction`, as strace shows them:
//! `SIGINT`, `[INT TERM]`, `~[RTMIN RT_1]`,
//! `{sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f...}`.

use super::args::{c_int, c_uint};
use super::flags::{flags, Bits, Xlat};
use super::guest::Fields;
use super::quote::{hex, pointer};
use super::GuestMemory;

/// Names of signals 1..=31 without their `SIG` prefix.
const NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// The kernel's first real-time signal.
const SIGRTMIN: u64 = 32;
/// The kernel's last signal.
const SIGRTMAX: u64 = 64;

/// `INT`, `RTMIN`, `RT_3` for signal `sig`; `None` outside 1..=64.
fn short_name(sig: u64) -> Option<String> {
    match sig {
        1..=31 => NAMES
            .get(usize::try_from(sig - 1).ok()?)
            .map(|n| (*n).to_owned()),
        SIGRTMIN => Some("RTMIN".to_owned()),
        33..=SIGRTMAX => Some(format!("RT_{}", sig - SIGRTMIN)),
        _ => None,
    }
}

/// A signal number argument: `SIGTERM`, `0`, or the number itself.
pub(super) fn signal(sig: u64) -> String {
    let sig = c_uint(sig);
    match short_name(sig) {
        Some(name) => format!("SIG{name}"),
        None => c_int(sig).to_string(),
    }
}

/// A signal set held in `bytes` (bit `n` is signal `n + 1`). When most signals are in
/// the set, strace lists the ones missing instead: `~[KILL STOP]`.
pub(super) fn sigset(bytes: &[u8]) -> String {
    let total = bytes.len() * 8;
    let is_set = |bit: usize| {
        bytes
            .get(bit / 8)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    };
    let set_count = (0..total).filter(|&bit| is_set(bit)).count();
    let complement = set_count * 2 > total;
    let names: Vec<String> = (0..total)
        .filter(|&bit| is_set(bit) != complement)
        .map(|bit| {
            let sig = bit as u64 + 1;
            short_name(sig).unwrap_or_else(|| sig.to_string())
        })
        .collect();
    let prefix = if complement { "~" } else { "" };
    format!("{prefix}[{}]", names.join(" "))
}

/// The sigset at `addr`, `size` bytes long (capped at 128, i.e. 1024 signals).
pub(super) fn sigset_at(mem: &dyn GuestMemory, addr: u64, size: u64) -> Option<String> {
    let size = usize::try_from(size.min(128)).ok()?;
    Fields::read(mem, addr, size).map(|f| sigset(f.bytes(0, size)))
}

pub(super) const SIG_HOW: Xlat = Xlat {
    unknown: "SIG_???",
    items: &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")],
};

const SA_RESTORER: u64 = 0x04000000;

const SA: Bits = &[
    (SA_RESTORER, "SA_RESTORER"),
    (0x08000000, "SA_ONSTACK"),
    (0x10000000, "SA_RESTART"),
    (0x40000000, "SA_NODEFER"),
    (0x80000000, "SA_RESETHAND"),
    (0x4, "SA_SIGINFO"),
    (0x1, "SA_NOCLDSTOP"),
    (0x2, "SA_NOCLDWAIT"),
    (0x400, "SA_UNSUPPORTED"),
    (0x800, "SA_EXPOSE_TAGBITS"),
];

/// The kernel's x86-64 `struct sigaction`: handler, flags, restorer, then the mask.
const SIGACTION_SIZE: usize = 32;

/// Decodes the `struct sigaction` at `addr`.
pub(super) fn sigaction(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let act = Fields::read(mem, addr, SIGACTION_SIZE)?;
    let handler = match act.u64(0) {
        0 => "SIG_DFL".to_owned(),
        1 => "SIG_IGN".to_owned(),
        other => hex(other),
    };
    let sa_flags = act.u64(8);
    let mask = sigset(act.bytes(24, 8));
    let restorer = if sa_flags & SA_RESTORER != 0 {
        format!(", sa_restorer={}", pointer(act.u64(16)))
    } else {
        String::new()
    };
    Some(format!(
        "{{sa_handler={handler}, sa_mask={mask}, sa_flags={}{restorer}}}",
        flags(sa_flags, SA)
    ))
}
