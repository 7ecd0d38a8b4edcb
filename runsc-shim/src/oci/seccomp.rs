//! An OCI config's `linux.seccomp` profile, compiled to the classic-BPF program the
//! sentry attaches to every process of the container (its init and `moat exec`'s), as
//! runc has libseccomp compile it and attaches it before exec'ing the process.
//!
//! The program is generated here rather than with `seccompiler` (which builds moat's
//! own host filters): a seccompiler filter has one match action for all its rules,
//! while a profile gives every rule its own action and errno.
//!
//! What the program does, in order:
//! - loads the syscall number and compares it with each syscall the profile names
//!   (names this architecture lacks are skipped, as runc and libseccomp skip them);
//! - for a syscall with rules, tries its rules with argument conditions first, in the
//!   profile's order, then the first unconditional one; the first rule whose
//!   conditions all hold gives the action;
//! - otherwise returns the default action.
//!
//! Argument comparisons are on the whole 64-bit argument (two 32-bit halves). An entry
//! that names the same argument index twice becomes one rule per condition (any of them
//! matches), as runc does; otherwise its conditions must all hold. `architectures` is
//! accepted and ignored: guest system calls are always x86-64 ones. The LOG, TSYNC and
//! SPEC_ALLOW flags change nothing a guest can see. SCMP_ACT_NOTIFY is refused: moat
//! has no seccomp user notification.

use std::str::FromStr;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall,
};
use sentry::kernel::bpf::{code::*, Instruction, MAX_INSNS};
use sentry::kernel::seccomp::{
    SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD,
    SECCOMP_RET_LOG, SECCOMP_RET_TRACE, SECCOMP_RET_TRAP,
};

/// Why a profile cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// SCMP_ACT_NOTIFY.
    #[error(
        "linux.seccomp: SCMP_ACT_NOTIFY is not supported (moat has no seccomp user \
         notification); use another action for {0}"
    )]
    Notify(String),
    /// An errnoRet that does not fit the 16 bits of a filter's data.
    #[error("linux.seccomp: errnoRet {0} of {1} is out of range (at most 65535)")]
    Errno(u32, String),
    /// An argument index beyond the sixth.
    #[error("linux.seccomp: argument index {0} of {1} is out of range (0 to 5)")]
    ArgIndex(usize, String),
    /// The program exceeds what Linux runs.
    #[error(
        "linux.seccomp compiles to {0} BPF instructions, more than the {MAX_INSNS} a filter \
         may have; shorten the profile"
    )]
    TooLong(usize),
}

/// Linux's errno when a profile's ERRNO or TRACE action gives none (runc's choice).
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// Offset of `seccomp_data.nr`.
const NR: u32 = 0;

/// Offset of the low half of argument `i` in `seccomp_data`.
fn arg_lo(i: usize) -> u32 {
    16 + 8 * i as u32
}

/// One rule: the conditions that must all hold, and the filter value then.
struct Rule {
    conds: Vec<LinuxSeccompArg>,
    ret: u32,
}

/// Compiles `profile` to a program for `sentry::kernel::seccomp::install`.
pub fn compile(profile: &LinuxSeccomp) -> Result<Vec<Instruction>, SeccompError> {
    let default = action_value(
        profile.default_action(),
        profile.default_errno_ret(),
        "defaultAction",
    )?;
    // Syscall numbers in the order the profile first names them, each with its rules.
    let mut groups: Vec<(u32, Vec<Rule>)> = Vec::new();
    for entry in profile.syscalls().as_deref().unwrap_or_default() {
        let what = entry.names().join(",");
        let ret = action_value(entry.action(), entry.errno_ret(), &what)?;
        let rules = rules_of(entry, &what)?;
        for name in entry.names() {
            let Ok(sysno) = syscalls::Sysno::from_str(name) else {
                tracing::debug!("linux.seccomp: no syscall {name:?} on x86-64, skipped");
                continue;
            };
            let nr = sysno.id() as u32;
            let at = match groups.iter().position(|(n, _)| *n == nr) {
                Some(i) => i,
                None => {
                    groups.push((nr, Vec::new()));
                    groups.len() - 1
                }
            };
            groups[at].1.extend(rules.iter().map(|conds| Rule {
                conds: conds.clone(),
                ret,
            }));
        }
    }
    for (_, rules) in &mut groups {
        // Conditional rules before unconditional ones (a stable sort keeps the
        // profile's order within each kind).
        rules.sort_by_key(|r| r.conds.is_empty());
    }
    let program = assemble(&groups, default);
    if program.len() > MAX_INSNS {
        return Err(SeccompError::TooLong(program.len()));
    }
    Ok(program)
}

/// The condition lists of an entry's rules (one empty list: unconditional).
fn rules_of(entry: &LinuxSyscall, what: &str) -> Result<Vec<Vec<LinuxSeccompArg>>, SeccompError> {
    let args = entry.args().clone().unwrap_or_default();
    let mut seen = [0usize; 6];
    for a in &args {
        *seen
            .get_mut(a.index())
            .ok_or_else(|| SeccompError::ArgIndex(a.index(), what.to_string()))? += 1;
    }
    if seen.iter().any(|&n| n > 1) {
        Ok(args.into_iter().map(|a| vec![a]).collect())
    } else {
        Ok(vec![args])
    }
}

/// The filter value of an action.
fn action_value(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    what: &str,
) -> Result<u32, SeccompError> {
    let data = || -> Result<u32, SeccompError> {
        let e = errno.unwrap_or(DEFAULT_ERRNO);
        if e > 0xffff {
            return Err(SeccompError::Errno(e, what.to_string()));
        }
        Ok(e)
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            SECCOMP_RET_KILL_THREAD
        }
        LinuxSeccompAction::ScmpActKillProcess => SECCOMP_RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => SECCOMP_RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => SECCOMP_RET_ERRNO | data()?,
        LinuxSeccompAction::ScmpActTrace => SECCOMP_RET_TRACE | data()?,
        LinuxSeccompAction::ScmpActLog => SECCOMP_RET_LOG,
        LinuxSeccompAction::ScmpActAllow => SECCOMP_RET_ALLOW,
        LinuxSeccompAction::ScmpActNotify => return Err(SeccompError::Notify(what.to_string())),
    })
}

/// Lays out the program: the number comparisons, then one block of rules per syscall
/// that has more than one unconditional rule.
fn assemble(groups: &[(u32, Vec<Rule>)], default: u32) -> Vec<Instruction> {
    let mut out = vec![Instruction::stmt(LD | W | ABS, NR)];
    let mut jumps = Vec::new(); // (index of a JA, group whose block it reaches)
    for (g, (nr, rules)) in groups.iter().enumerate() {
        out.push(Instruction::jump(JMP | JEQ | K, *nr, 0, 1));
        match rules.as_slice() {
            [only] if only.conds.is_empty() => out.push(Instruction::stmt(RET | K, only.ret)),
            _ => {
                jumps.push((out.len(), g));
                out.push(Instruction::stmt(JMP | JA, 0));
            }
        }
    }
    out.push(Instruction::stmt(RET | K, default));
    let mut starts = vec![0; groups.len()];
    for &(_, g) in &jumps {
        starts[g] = out.len();
        for rule in &groups[g].1 {
            out.extend(rule_block(rule));
        }
        out.push(Instruction::stmt(RET | K, default));
    }
    for (at, g) in jumps {
        out[at].k = (starts[g] - at - 1) as u32;
    }
    out
}

/// A rule: its conditions, each jumping past the rule's return when it fails.
fn rule_block(rule: &Rule) -> Vec<Instruction> {
    // (instruction, jt fails, jf fails)
    let mut code: Vec<(Instruction, bool, bool)> = Vec::new();
    for c in &rule.conds {
        condition(c, &mut code);
    }
    let fail = code.len(); // offset from instruction p to past the RET: fail - p
    let mut out: Vec<Instruction> = code
        .into_iter()
        .enumerate()
        .map(|(p, (mut insn, jt, jf))| {
            let skip = (fail - p) as u8;
            if jt {
                insn.jt = skip;
            }
            if jf {
                insn.jf = skip;
            }
            insn
        })
        .collect();
    out.push(Instruction::stmt(RET | K, rule.ret));
    out
}

/// Appends the test of one condition. At most 6 instructions, so a rule of six
/// conditions stays within reach of an 8-bit jump.
fn condition(c: &LinuxSeccompArg, code: &mut Vec<(Instruction, bool, bool)>) {
    let lo_off = arg_lo(c.index());
    let hi_off = lo_off + 4;
    let v = c.value();
    let (v_hi, v_lo) = ((v >> 32) as u32, v as u32);
    let ld = |off: u32| (Instruction::stmt(LD | W | ABS, off), false, false);
    // A jump whose true/false branch is a fixed skip or the rule's failure.
    let j = |op: u16, k: u32, jt: u8, jf: u8| Instruction::jump(JMP | op | K, k, jt, jf);
    match c.op() {
        LinuxSeccompOperator::ScmpCmpEq => code.extend([
            ld(hi_off),
            (j(JEQ, v_hi, 0, 0), false, true),
            ld(lo_off),
            (j(JEQ, v_lo, 0, 0), false, true),
        ]),
        LinuxSeccompOperator::ScmpCmpNe => code.extend([
            ld(hi_off),
            // High halves differ: the condition holds (skip the low test).
            (j(JEQ, v_hi, 0, 2), false, false),
            ld(lo_off),
            (j(JEQ, v_lo, 0, 0), true, false),
        ]),
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            let mask = v;
            let want = c.value_two().unwrap_or(0);
            code.extend([
                ld(hi_off),
                (
                    Instruction::stmt(ALU | AND | K, (mask >> 32) as u32),
                    false,
                    false,
                ),
                (j(JEQ, (want >> 32) as u32, 0, 0), false, true),
                ld(lo_off),
                (Instruction::stmt(ALU | AND | K, mask as u32), false, false),
                (j(JEQ, want as u32, 0, 0), false, true),
            ]);
        }
        // arg > v (or >=): the high half decides unless equal.
        LinuxSeccompOperator::ScmpCmpGt | LinuxSeccompOperator::ScmpCmpGe => {
            let low = if c.op() == LinuxSeccompOperator::ScmpCmpGt {
                JGT
            } else {
                JGE
            };
            code.extend([
                ld(hi_off),
                (j(JGT, v_hi, 3, 0), false, false),
                (j(JEQ, v_hi, 0, 0), false, true),
                ld(lo_off),
                (j(low, v_lo, 0, 0), false, true),
            ]);
        }
        // arg < v (or <=): fails when the high half is above, holds when below.
        LinuxSeccompOperator::ScmpCmpLt | LinuxSeccompOperator::ScmpCmpLe => {
            let low = if c.op() == LinuxSeccompOperator::ScmpCmpLt {
                JGE
            } else {
                JGT
            };
            code.extend([
                ld(hi_off),
                (j(JGT, v_hi, 0, 0), true, false),
                (j(JEQ, v_hi, 0, 2), false, false),
                ld(lo_off),
                (j(low, v_lo, 0, 0), true, false),
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::kernel::bpf::{Program, SeccompData, AUDIT_ARCH_X86_64};

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).expect("a valid profile")
    }

    fn run(p: &[Instruction], nr: i64, args: [u64; 6]) -> u32 {
        let program = Program::new(p).expect("the kernel's checks pass");
        program.run(
            &SeccompData {
                nr: nr as i32,
                arch: AUDIT_ARCH_X86_64,
                instruction_pointer: 0,
                args,
            }
            .words(),
        )
    }

    const MKDIR: i64 = libc::SYS_mkdir;
    const EPERM: u32 = SECCOMP_RET_ERRNO | 1;

    #[test]
    fn a_named_syscall_gets_its_action_and_others_the_default() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["mkdir","no_such_call"],"action":"SCMP_ACT_ERRNO"}]}"#,
        ))
        .unwrap();
        assert_eq!(run(&p, MKDIR, [0; 6]), EPERM);
        assert_eq!(run(&p, libc::SYS_getpid, [0; 6]), SECCOMP_RET_ALLOW);
    }

    #[test]
    fn an_allowlist_with_default_errno_and_errno_ret() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
                {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
        ))
        .unwrap();
        assert_eq!(run(&p, libc::SYS_write, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, libc::SYS_chmod, [0; 6]), SECCOMP_RET_ERRNO | 13);
        assert_eq!(run(&p, libc::SYS_mkdir, [0; 6]), SECCOMP_RET_ERRNO | 38);
    }

    #[test]
    fn argument_operators_compare_whole_64_bit_values() {
        let p = |op: &str, value: u64, two: u64| {
            compile(&profile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["mkdir"],
                "action":"SCMP_ACT_ERRNO","args":[{{"index":1,"value":{value},
                "valueTwo":{two},"op":"{op}"}}]}}]}}"#
            )))
            .unwrap()
        };
        let hit = |prog: &[Instruction], arg: u64| run(prog, MKDIR, [0, arg, 0, 0, 0, 0]) == EPERM;
        let big = 0x1_0000_0005u64;
        for (op, value, yes, no) in [
            (
                "SCMP_CMP_EQ",
                big,
                vec![big],
                vec![5, big + 1, 0x2_0000_0005],
            ),
            ("SCMP_CMP_NE", big, vec![5, big + 1], vec![big]),
            (
                "SCMP_CMP_GT",
                big,
                vec![big + 1, 0x2_0000_0000],
                vec![big, 5, 0x1_0000_0000],
            ),
            (
                "SCMP_CMP_GE",
                big,
                vec![big, big + 1, 0x2_0000_0000],
                vec![big - 1, 5],
            ),
            (
                "SCMP_CMP_LT",
                big,
                vec![big - 1, 5, 0x1_0000_0000],
                vec![big, 0x2_0000_0000],
            ),
            (
                "SCMP_CMP_LE",
                big,
                vec![big, 5],
                vec![big + 1, 0x2_0000_0000],
            ),
        ] {
            let prog = p(op, value, 0);
            for a in yes {
                assert!(hit(&prog, a), "{op} {value:#x} should match {a:#x}");
            }
            for a in no {
                assert!(!hit(&prog, a), "{op} {value:#x} should not match {a:#x}");
            }
        }
        let masked = p("SCMP_CMP_MASKED_EQ", 0xff_0000_00f0, 0x12_0000_0030);
        assert!(hit(&masked, 0x3412_0000_ab3c));
        assert!(!hit(&masked, 0x3413_0000_ab3c));
        assert!(!hit(&masked, 0x3412_0000_ab4c));
    }

    #[test]
    fn conditions_on_different_arguments_must_all_hold() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],
               "action":"SCMP_ACT_ERRNO","args":[
                 {"index":0,"value":1,"op":"SCMP_CMP_EQ"},
                 {"index":1,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap();
        assert_eq!(run(&p, MKDIR, [1, 2, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, MKDIR, [1, 3, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
    }

    #[test]
    fn conditions_on_the_same_argument_are_alternatives_as_in_runc() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],
               "action":"SCMP_ACT_ERRNO","args":[
                 {"index":0,"value":1,"op":"SCMP_CMP_EQ"},
                 {"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap();
        assert_eq!(run(&p, MKDIR, [1, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, MKDIR, [2, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, MKDIR, [3, 0, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
    }

    #[test]
    fn conditional_rules_are_tried_before_an_unconditional_one() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_KILL","syscalls":[
               {"names":["socket"],"action":"SCMP_ACT_ALLOW"},
               {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
                "args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap();
        let socket = libc::SYS_socket;
        assert_eq!(run(&p, socket, [40, 0, 0, 0, 0, 0]), SECCOMP_RET_ERRNO | 22);
        assert_eq!(run(&p, socket, [2, 0, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, libc::SYS_getpid, [0; 6]), SECCOMP_RET_KILL_THREAD);
    }

    #[test]
    fn notify_and_bad_values_are_errors() {
        let notify = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
               {"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(matches!(compile(&notify), Err(SeccompError::Notify(_))));
        let errno = profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#);
        assert!(matches!(
            compile(&errno),
            Err(SeccompError::Errno(70000, _))
        ));
        let index = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],
               "action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        assert!(matches!(compile(&index), Err(SeccompError::ArgIndex(6, _))));
    }

    #[test]
    fn a_default_like_profile_of_every_syscall_fits_and_loads() {
        let names: Vec<String> = (0..450u32)
            .filter_map(|n| syscalls::Sysno::new(n as usize).map(|s| format!("{:?}", s.name())))
            .collect();
        let p = compile(&profile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
               {{"names":[{}],"action":"SCMP_ACT_ALLOW"}},
               {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[
                 {{"index":0,"value":0,"op":"SCMP_CMP_EQ"}}]}}]}}"#,
            names.join(",")
        )))
        .unwrap();
        assert_eq!(run(&p, libc::SYS_openat, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, 1000, [0; 6]), EPERM);
    }
}
