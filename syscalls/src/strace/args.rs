//! Formatting one argument register according to its [`Arg`] kind.

use super::flags::{self, AT_FDCWD, MREMAP_FIXED, O_CREAT, O_TMPFILE};
use super::quote::{buffer, cstring, hex, pointer, Escape, MAX_STRLEN, PATH_MAX};
use super::table::Arg;
use super::{arrays, fdctl, signal, socket, structs, task, Call};

/// Argument `index` of `call`, shown as `kind`; `None` when the argument is not shown
/// (open's mode without O_CREAT, fcntl's unused third argument...).
pub(super) fn format(call: &Call, index: usize, kind: Arg) -> Option<String> {
    let value = *call.args.get(index)?;
    if kind.is_output(call.args) {
        return Some(output(call, value, kind));
    }
    Some(match kind {
        Arg::Int => int(value),
        Arg::Long => (value as i64).to_string(),
        Arg::Ulong => value.to_string(),
        Arg::Hex => hex(value),
        Arg::Ptr => pointer(value),
        Arg::Fd => int(value),
        Arg::DirFd if c_int(value) == AT_FDCWD => "AT_FDCWD".to_owned(),
        Arg::DirFd => int(value),
        Arg::Octal => flags::octal(c_uint(value)),
        Arg::Enum(xlat) => xlat.format(c_uint(value)),
        Arg::Flags(bits) => flags::flags(c_uint(value), bits),
        Arg::Format(format) => format(value),
        Arg::CreateMode { flags } => create_mode(call, flags, value)?,
        Arg::MremapNewAddr => mremap_new_addr(call, value)?,
        Arg::SocketProtocol => socket::protocol(call.args[0], value),
        Arg::SockoptName => socket::option(call.args[1], value),
        Arg::PrctlArg2 if c_uint(call.args[0]) == task::PR_SET_NAME => {
            cstring(call.mem, value, MAX_STRLEN)
        }
        Arg::PrctlArg2 => hex(value),
        Arg::FcntlOperand => fdctl::fcntl_arg(call)?,
        Arg::IoctlRequest => fdctl::ioctl_request(value),
        Arg::IoctlOperand => fdctl::ioctl_arg(call)?,
        _ => input(call, value, kind),
    })
}

/// A C `int` argument: the low 32 bits of its register, signed. The kernel ignores the
/// upper half of the register for `int` arguments, and so does the decoder.
pub(super) fn c_int(reg: u64) -> i32 {
    reg as u32 as i32
}

/// A C `unsigned int` argument (flags, commands, requests): the low 32 bits of its register.
pub(super) fn c_uint(reg: u64) -> u64 {
    reg & 0xffff_ffff
}

fn int(value: u64) -> String {
    c_int(value).to_string()
}

/// Argument `index` of `call`, or 0 for an index past the registers.
fn arg(call: &Call, index: usize) -> u64 {
    call.args.get(index).copied().unwrap_or(0)
}

/// open's mode: only meaningful, and only shown, when the flags create a file.
fn create_mode(call: &Call, flags_index: usize, mode: u64) -> Option<String> {
    let open_flags = arg(call, flags_index);
    let creates = open_flags & O_CREAT != 0 || open_flags & O_TMPFILE == O_TMPFILE;
    creates.then(|| flags::octal(c_uint(mode)))
}

/// mremap's fifth argument, used only with MREMAP_FIXED.
fn mremap_new_addr(call: &Call, new_addr: u64) -> Option<String> {
    (arg(call, 3) & MREMAP_FIXED != 0).then(|| pointer(new_addr))
}

/// Arguments the kernel reads from guest memory, decoded before the call.
fn input(call: &Call, addr: u64, kind: Arg) -> String {
    let mem = call.mem;
    let decoded = match kind {
        Arg::Path => return cstring(mem, addr, PATH_MAX),
        Arg::Str => return cstring(mem, addr, MAX_STRLEN),
        Arg::Buf { len } => return buffer(mem, addr, arg(call, len), Escape::Octal),
        Arg::Envp => arrays::envp(mem, addr),
        Arg::Iovec { count } => arrays::iovecs(mem, addr, arg(call, count), None),
        Arg::Argv => arrays::argv(mem, addr),
        Arg::Timespec => structs::timespec(mem, addr),
        Arg::Sigset { size } => signal::sigset_at(mem, addr, arg(call, size)),
        Arg::Sigaction => signal::sigaction(mem, addr),
        Arg::Rlimit { sixty_four } => structs::rlimit(mem, addr, sixty_four),
        Arg::Sockaddr { len } => socket::sockaddr(mem, addr, arg(call, len)),
        Arg::CpuSet { len } => arrays::cpu_set(mem, addr, arg(call, len)),
        Arg::CloneArgs => task::clone_args(mem, addr),
        Arg::Socklen => structs::int(mem, addr),
        Arg::Loff => structs::long(mem, addr),
        Arg::PollFds { count } => arrays::pollfds(mem, addr, arg(call, count)),
        Arg::Gids { count } => {
            arrays::gids(mem, addr, u64::from(c_int(arg(call, count)).unsigned_abs()))
        }
        _ => None,
    };
    decoded.unwrap_or_else(|| pointer(addr))
}

/// Arguments the kernel fills in: a pointer before the call, decoded after it succeeded.
fn output(call: &Call, addr: u64, kind: Arg) -> String {
    let Some(ret) = call.ret else {
        return pointer(addr);
    };
    let mem = call.mem;
    let ret_len = u64::try_from(ret).unwrap_or(0);
    let decoded = match kind {
        Arg::OutBuf => return buffer(mem, addr, ret_len, Escape::Octal),
        Arg::OutRandom => return buffer(mem, addr, ret_len, Escape::Hex),
        Arg::OutPath => return cstring(mem, addr, PATH_MAX),
        Arg::OutIovec { count } => arrays::iovecs(mem, addr, arg(call, count), Some(ret_len)),
        Arg::OutStat => structs::stat(mem, addr),
        Arg::OutStatx => structs::statx(mem, addr),
        Arg::OutDents => arrays::dents(mem, addr, ret_len),
        Arg::OutUtsname => structs::utsname(mem, addr),
        Arg::OutSysinfo => structs::sysinfo(mem, addr),
        Arg::OutRlimit { sixty_four } => structs::rlimit(mem, addr, sixty_four),
        Arg::OutTimespec => structs::timespec(mem, addr),
        Arg::OutTimeval => structs::timeval(mem, addr),
        Arg::OutTime => structs::time(mem, addr),
        Arg::OutSigset { size } => signal::sigset_at(mem, addr, arg(call, size)),
        Arg::OutSigaction => signal::sigaction(mem, addr),
        Arg::OutFdPair => structs::fd_pair(mem, addr),
        Arg::OutGids { count } => arrays::gids(mem, addr, ret_len.min(c_uint(arg(call, count)))),
        Arg::OutCpuSet => arrays::cpu_set(mem, addr, ret_len),
        // No status is stored when WNOHANG finds no child to reap.
        Arg::OutWaitStatus if ret > 0 => task::wait_status(mem, addr),
        Arg::OutSockaddr { len } => sockaddr_out(call, addr, len),
        Arg::IoctlOperand => fdctl::ioctl_arg(call),
        Arg::FcntlOperand => fdctl::fcntl_arg(call),
        _ => None,
    };
    decoded.unwrap_or_else(|| pointer(addr))
}

/// An address the kernel stored, whose length it stored at argument `len_index`.
fn sockaddr_out(call: &Call, addr: u64, len_index: usize) -> Option<String> {
    let len = structs::int_value(call.mem, arg(call, len_index))?;
    socket::sockaddr(call.mem, addr, u64::try_from(len).ok()?)
}
