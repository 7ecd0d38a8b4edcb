//! Processes and threads: clone(2) and futex(2), whose argument lists depend on their own
//! flags, `struct clone_args`, the wait status, and prctl(2)'s options.

use super::args::{c_int, c_uint};
use super::flags::{
    flag_names, Bits, Xlat, CLONE, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID,
    CLONE_PIDFD, CLONE_SETTLS, FUTEX_CLOCK_REALTIME, FUTEX_OP, FUTEX_PRIVATE,
};
use super::guest::Fields;
use super::quote::{hex, pointer};
use super::signal::signal;
use super::structs::timespec;
use super::{Call, GuestMemory};

/// The exit signal in the low byte of clone(2)'s flags.
const CSIGNAL: u64 = 0xff;

/// clone's flags: `CLONE_VM|CLONE_FS|...|SIGCHLD`.
fn clone_flags(flags: u64) -> String {
    let mut names = flag_names(flags & !CSIGNAL, CLONE);
    if flags & CSIGNAL != 0 {
        names.push(signal(flags & CSIGNAL));
    }
    if names.is_empty() {
        "0".to_owned()
    } else {
        names.join("|")
    }
}

/// x86-64 clone(flags, stack, parent_tid, child_tid, tls), labelled and in strace's
/// order; the tid and tls pointers appear only when the flags use them.
pub(super) fn clone(call: &Call) -> Vec<String> {
    let [flags, stack, parent_tid, child_tid, tls, _] = *call.args;
    let mut out = vec![
        format!("child_stack={}", pointer(stack)),
        format!("flags={}", clone_flags(flags)),
    ];
    if flags & CLONE_PARENT_SETTID != 0 {
        out.push(format!("parent_tid={}", pointer(parent_tid)));
    }
    if flags & CLONE_SETTLS != 0 {
        out.push(format!("tls={}", pointer(tls)));
    }
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
        out.push(format!("child_tidptr={}", pointer(child_tid)));
    }
    out
}

/// Size of the first version of `struct clone_args`.
const CLONE_ARGS_SIZE: usize = 64;

/// clone3's `struct clone_args`; pointer fields show only when set.
pub(super) fn clone_args(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let ca = Fields::read(mem, addr, CLONE_ARGS_SIZE)?;
    let flags = ca.u64(0);
    let set = |bits: u64| flags & bits != 0;
    let tids = [
        ("pidfd", 8, set(CLONE_PIDFD)),
        (
            "child_tid",
            16,
            set(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID),
        ),
        ("parent_tid", 24, set(CLONE_PARENT_SETTID)),
    ];
    let stack = [
        ("stack", 40, ca.u64(40) != 0),
        ("stack_size", 48, ca.u64(48) != 0),
        ("tls", 56, set(CLONE_SETTLS)),
    ];
    let shown = |list: &[(&str, usize, bool)]| {
        list.iter()
            .filter(|(_, _, shown)| *shown)
            .map(|(name, offset, _)| format!("{name}={}", hex(ca.u64(*offset))))
            .collect::<Vec<_>>()
    };
    let mut fields = vec![format!("flags={}", clone_flags(flags & !CSIGNAL))];
    fields.extend(shown(&tids));
    fields.push(format!("exit_signal={}", signal(ca.u64(32))));
    fields.extend(shown(&stack));
    Some(format!("{{{}}}", fields.join(", ")))
}

/// futex's operation: `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`.
fn futex_op(op: u64) -> String {
    let Some(name) = FUTEX_OP.get(op & 0x7f) else {
        return FUTEX_OP.format(op);
    };
    let private = if op & FUTEX_PRIVATE != 0 {
        "_PRIVATE"
    } else {
        ""
    };
    let mut parts = vec![format!("{name}{private}")];
    if op & FUTEX_CLOCK_REALTIME != 0 {
        parts.push("FUTEX_CLOCK_REALTIME".to_owned());
    }
    let rest = op & !(0x7f | FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    if rest != 0 {
        parts.push(hex(rest));
    }
    parts.join("|")
}

/// futex(uaddr, op, val, timeout_or_val2, uaddr2, val3): which of the last four
/// arguments mean something, and what, depends on the operation.
pub(super) fn futex(call: &Call) -> Vec<String> {
    let a = call.args;
    let op = c_uint(a[1]);
    let int = |i: usize| c_int(a[i]).to_string();
    let timeout = || timespec(call.mem, a[3]).unwrap_or_else(|| pointer(a[3]));
    let bitset = || match c_uint(a[5]) {
        0xffff_ffff => "FUTEX_BITSET_MATCH_ANY".to_owned(),
        other => hex(other),
    };
    let rest = match FUTEX_OP.get(op & 0x7f).map(|_| op & 0x7f) {
        Some(0) => vec![int(2), timeout()],
        Some(1 | 2) => vec![int(2)],
        Some(3) => vec![int(2), int(3), pointer(a[4])],
        Some(4 | 12) => vec![int(2), int(3), pointer(a[4]), int(5)],
        Some(5) => vec![int(2), int(3), pointer(a[4]), wake_op(c_uint(a[5]))],
        Some(6 | 13) => vec![timeout()],
        Some(7 | 8) => vec![],
        Some(9) => vec![int(2), timeout(), bitset()],
        Some(10) => vec![int(2), bitset()],
        Some(11) => vec![int(2), timeout(), pointer(a[4])],
        _ => vec![int(2), pointer(a[3]), pointer(a[4]), hex(c_uint(a[5]))],
    };
    let mut out = vec![pointer(a[0]), futex_op(op)];
    out.extend(rest);
    out
}

const FUTEX_WAKE_OP_OP: Xlat = Xlat {
    unknown: "FUTEX_OP_???",
    items: &[
        (0, "FUTEX_OP_SET"),
        (1, "FUTEX_OP_ADD"),
        (2, "FUTEX_OP_OR"),
        (3, "FUTEX_OP_ANDN"),
        (4, "FUTEX_OP_XOR"),
    ],
};

const FUTEX_WAKE_OP_CMP: Xlat = Xlat {
    unknown: "FUTEX_OP_CMP_???",
    items: &[
        (0, "FUTEX_OP_CMP_EQ"),
        (1, "FUTEX_OP_CMP_NE"),
        (2, "FUTEX_OP_CMP_LT"),
        (3, "FUTEX_OP_CMP_LE"),
        (4, "FUTEX_OP_CMP_GT"),
        (5, "FUTEX_OP_CMP_GE"),
    ],
};

/// FUTEX_WAKE_OP's encoded operation, spelled out as the FUTEX_OP() macro builds it:
/// `FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1`.
fn wake_op(encoded: u64) -> String {
    let op = encoded >> 28;
    let shift = if op & 8 != 0 {
        "FUTEX_OP_OPARG_SHIFT<<28|"
    } else {
        ""
    };
    format!(
        "{shift}{}<<28|{}<<12|{}<<24|{}",
        FUTEX_WAKE_OP_OP.format(op & 7),
        (encoded >> 12) & 0xfff,
        FUTEX_WAKE_OP_CMP.format((encoded >> 24) & 0xf),
        hex(encoded & 0xfff),
    )
}

/// A wait status: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
pub(super) fn wait_status(mem: &dyn GuestMemory, addr: u64) -> Option<String> {
    let status = u64::from(Fields::read(mem, addr, 4)?.u32(0));
    let low = status & 0x7f;
    let code = (status >> 8) & 0xff;
    let text = if low == 0 {
        format!("WIFEXITED(s) && WEXITSTATUS(s) == {code}")
    } else if status & 0xff == 0x7f {
        format!("WIFSTOPPED(s) && WSTOPSIG(s) == {}", signal(code))
    } else if status == 0xffff {
        "WIFCONTINUED(s)".to_owned()
    } else {
        let core = if status & 0x80 != 0 {
            " && WCOREDUMP(s)"
        } else {
            ""
        };
        format!("WIFSIGNALED(s) && WTERMSIG(s) == {}{core}", signal(low))
    };
    Some(format!("[{{{text}}}]"))
}

/// seccomp(2) operations.
pub(super) const SECCOMP_OP: Xlat = Xlat {
    unknown: "SECCOMP_???",
    items: &[
        (0, "SECCOMP_SET_MODE_STRICT"),
        (1, "SECCOMP_SET_MODE_FILTER"),
        (2, "SECCOMP_GET_ACTION_AVAIL"),
        (3, "SECCOMP_GET_NOTIF_SIZES"),
    ],
};

/// seccomp(2) SECCOMP_SET_MODE_FILTER flags.
pub(super) const SECCOMP_FILTER_FLAGS: Bits = &[
    (1, "SECCOMP_FILTER_FLAG_TSYNC"),
    (2, "SECCOMP_FILTER_FLAG_LOG"),
    (4, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
    (8, "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
    (16, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"),
    (32, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
];

pub(super) const PR_SET_NAME: u64 = 15;

/// prctl(2) options.
pub(super) const PR: Xlat = Xlat {
    unknown: "PR_???",
    items: &[
        (1, "PR_SET_PDEATHSIG"),
        (2, "PR_GET_PDEATHSIG"),
        (3, "PR_GET_DUMPABLE"),
        (4, "PR_SET_DUMPABLE"),
        (5, "PR_GET_UNALIGN"),
        (6, "PR_SET_UNALIGN"),
        (7, "PR_GET_KEEPCAPS"),
        (8, "PR_SET_KEEPCAPS"),
        (9, "PR_GET_FPEMU"),
        (10, "PR_SET_FPEMU"),
        (11, "PR_GET_FPEXC"),
        (12, "PR_SET_FPEXC"),
        (13, "PR_GET_TIMING"),
        (14, "PR_SET_TIMING"),
        (PR_SET_NAME, "PR_SET_NAME"),
        (16, "PR_GET_NAME"),
        (19, "PR_GET_ENDIAN"),
        (20, "PR_SET_ENDIAN"),
        (21, "PR_GET_SECCOMP"),
        (22, "PR_SET_SECCOMP"),
        (23, "PR_CAPBSET_READ"),
        (24, "PR_CAPBSET_DROP"),
        (25, "PR_GET_TSC"),
        (26, "PR_SET_TSC"),
        (27, "PR_GET_SECUREBITS"),
        (28, "PR_SET_SECUREBITS"),
        (29, "PR_SET_TIMERSLACK"),
        (30, "PR_GET_TIMERSLACK"),
        (31, "PR_TASK_PERF_EVENTS_DISABLE"),
        (32, "PR_TASK_PERF_EVENTS_ENABLE"),
        (33, "PR_MCE_KILL"),
        (34, "PR_MCE_KILL_GET"),
        (35, "PR_SET_MM"),
        (36, "PR_SET_CHILD_SUBREAPER"),
        (37, "PR_GET_CHILD_SUBREAPER"),
        (38, "PR_SET_NO_NEW_PRIVS"),
        (39, "PR_GET_NO_NEW_PRIVS"),
        (40, "PR_GET_TID_ADDRESS"),
        (41, "PR_SET_THP_DISABLE"),
        (42, "PR_GET_THP_DISABLE"),
        (45, "PR_SET_FP_MODE"),
        (46, "PR_GET_FP_MODE"),
        (47, "PR_CAP_AMBIENT"),
        (52, "PR_GET_SPECULATION_CTRL"),
        (53, "PR_SET_SPECULATION_CTRL"),
        (55, "PR_SET_TAGGED_ADDR_CTRL"),
        (56, "PR_GET_TAGGED_ADDR_CTRL"),
        (57, "PR_SET_IO_FLUSHER"),
        (58, "PR_GET_IO_FLUSHER"),
        (59, "PR_SET_SYSCALL_USER_DISPATCH"),
        (62, "PR_SCHED_CORE"),
        (65, "PR_SET_MDWE"),
        (66, "PR_GET_MDWE"),
        (0x53564d41, "PR_SET_VMA"),
    ],
};
