//! strace(1)-style decoding of guest system calls, for `moat do --strace`.
//!
//! One line per call: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
//! [`format_call`] renders the call before it runs; output arguments (read's buffer,
//! fstat's struct...) show as pointers then, and [`format_call_after`] renders the call
//! again with them decoded once it has succeeded. [`format_result`] renders ` = 3`.
//!
//! How each call's arguments are shown is one table, in `table.rs`; calls missing from it
//! print their six raw registers in hex. Decoding never panics and reads guest memory
//! only through [`GuestMemory`], a bounded number of bytes per argument.

mod args;
mod arrays;
mod errno;
mod fdctl;
mod flags;
mod guest;
mod quote;
mod signal;
mod socket;
mod structs;
mod table;
mod task;
#[cfg(test)]
mod tests;

use syscalls::Sysno;

use table::Shape;

/// Reads guest memory for the decoder; returns None if the address is not readable.
pub trait GuestMemory {
    fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// Formats the call part: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`.
/// Called BEFORE the syscall runs (input args). For syscalls whose buffers are outputs
/// (read, pread64, readv, getdents64, fstat, readlink, getcwd, uname, ...) the buffer is
/// shown as a pointer here.
pub fn format_call(nr: u64, args: &[u64; 6], mem: &dyn GuestMemory) -> String {
    render(
        nr,
        &Call {
            args,
            mem,
            ret: None,
        },
    )
}

/// Formats the result ` = 3`, ` = -1 ENOENT (No such file or directory)`, ` = 0x7f12...`
/// for mmap/brk, ` = ?` for exit/exit_group.
/// `ret` is the raw return value as the guest sees it (negative errno on error).
pub fn format_result(nr: u64, ret: i64) -> String {
    let sysno = sysno(nr);
    if matches!(sysno, Some(Sysno::exit | Sysno::exit_group)) {
        return " = ?".to_owned();
    }
    if let Some(errno) = error(ret) {
        return error_result(errno);
    }
    match sysno {
        Some(Sysno::mmap | Sysno::mremap | Sysno::brk | Sysno::shmat) => {
            format!(" = {}", quote::hex(ret as u64))
        }
        Some(Sysno::umask) => format!(" = {}", umask_octal(ret)),
        _ => format!(" = {ret}"),
    }
}

/// Formats output buffers after the call where strace shows them decoded after return:
/// e.g. read's buffer content, or None when the call has no output arguments to show.
/// When Some, the caller prints `format_call_with_outputs` instead of format_call.
///
/// The string returned is the whole call part, like [`format_call`]'s. A failed call
/// returns `None`: its output arguments stay pointers, as strace shows them.
pub fn format_call_after(
    nr: u64,
    args: &[u64; 6],
    ret: i64,
    mem: &dyn GuestMemory,
) -> Option<String> {
    if error(ret).is_some() {
        return None;
    }
    let Some(Shape::Args(kinds)) = table::shape(sysno(nr)?) else {
        return None;
    };
    if !kinds.iter().any(|kind| kind.is_output(args)) {
        return None;
    }
    Some(render(
        nr,
        &Call {
            args,
            mem,
            ret: Some(ret),
        },
    ))
}

/// One call being formatted.
struct Call<'a> {
    args: &'a [u64; 6],
    mem: &'a dyn GuestMemory,
    /// The successful return value, when formatting after the call returned;
    /// output arguments are decoded only then.
    ret: Option<i64>,
}

fn sysno(nr: u64) -> Option<Sysno> {
    usize::try_from(nr).ok().and_then(Sysno::new)
}

/// `name(arg, arg, ...)`.
fn render(nr: u64, call: &Call) -> String {
    let Some(sysno) = sysno(nr) else {
        return format!("syscall_{nr}({})", raw_args(call.args));
    };
    let args = match table::shape(sysno) {
        Some(Shape::Args(kinds)) => kinds
            .iter()
            .enumerate()
            .filter_map(|(index, &kind)| args::format(call, index, kind))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Shape::Custom(format)) => format(call).join(", "),
        None => raw_args(call.args),
    };
    format!("{}({args})", sysno.name())
}

/// All six registers in hex, for calls the table does not describe.
fn raw_args(args: &[u64; 6]) -> String {
    args.iter()
        .map(|&a| quote::hex(a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The errno of a failed call: Linux returns -4095..=-1 for errors.
fn error(ret: i64) -> Option<u64> {
    (-4095..=-1).contains(&ret).then(|| ret.unsigned_abs())
}

/// ` = -1 ENOENT (No such file or directory)`; ` = ? ERESTARTSYS (...)` for a restart.
fn error_result(errno: u64) -> String {
    if let Some((name, message)) = errno::describe_restart(errno) {
        return format!(" = ? {name} ({message})");
    }
    match errno::describe(errno) {
        Some((name, message)) => format!(" = -1 {name} ({message})"),
        None => format!(" = -1 {errno} (Unknown error {errno})"),
    }
}

/// umask's result in C's `%#o`: `022`, `0`.
fn umask_octal(ret: i64) -> String {
    if ret == 0 {
        "0".to_owned()
    } else {
        format!("0{ret:o}")
    }
}
