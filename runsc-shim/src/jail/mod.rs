//! Confinement of moat's process roles. Each role's seccomp allowlist lives in its own
//! file, one commented entry per host system call; the default action is to kill the
//! process. Adding a syscall to a role is a reviewed change to that file.

pub mod sentry;
pub mod sentry_ns;

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// A syscall allowed without conditions.
pub fn always(nr: i64) -> (i64, Vec<SeccompRule>) {
    (nr, Vec::new())
}

/// A syscall allowed when its C `int` argument `arg` equals one of `values` (compared
/// on the low 32 bits: the upper half of an int register is not defined).
pub fn when_int_arg_in(nr: i64, arg: u8, values: &[u64]) -> (i64, Vec<SeccompRule>) {
    when_arg_in(nr, arg, SeccompCmpArgLen::Dword, values)
}

/// A syscall allowed when its `unsigned long` argument `arg` equals one of `values`.
pub fn when_long_arg_in(nr: i64, arg: u8, values: &[u64]) -> (i64, Vec<SeccompRule>) {
    when_arg_in(nr, arg, SeccompCmpArgLen::Qword, values)
}

fn when_arg_in(nr: i64, arg: u8, len: SeccompCmpArgLen, values: &[u64]) -> (i64, Vec<SeccompRule>) {
    let rules = values
        .iter()
        .map(|&v| {
            let cond = SeccompCondition::new(arg, len.clone(), SeccompCmpOp::Eq, v)
                .expect("valid seccomp condition");
            SeccompRule::new(vec![cond]).expect("valid seccomp rule")
        })
        .collect();
    (nr, rules)
}

/// Compiles an allowlist: listed calls (and their conditions) are allowed, anything
/// else kills the process.
pub fn allowlist(entries: Vec<(i64, Vec<SeccompRule>)>) -> Result<BpfProgram, seccompiler::Error> {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = entries.into_iter().collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        TargetArch::x86_64,
    )?;
    filter.try_into().map_err(seccompiler::Error::Backend)
}

/// A filter that makes the listed calls fail with `errno` and allows everything else
/// (stacked on an allowlist, which still decides everything not listed here).
pub fn fail_with(calls: &[i64], errno: i32) -> Result<BpfProgram, seccompiler::Error> {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = calls.iter().map(|&nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        TargetArch::x86_64,
    )?;
    filter.try_into().map_err(seccompiler::Error::Backend)
}
