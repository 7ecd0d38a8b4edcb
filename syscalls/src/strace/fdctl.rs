//! fcntl(2) and ioctl(2): commands by name, and the third argument shaped by them.

use super::args::{c_int, c_uint};
use super::flags::{self, Bits, Xlat};
use super::guest::Fields;
use super::quote::{hex, pointer};
use super::Call;

pub(super) const FCNTL_CMD: Xlat = Xlat {
    unknown: "F_???",
    items: &[
        (F_DUPFD, "F_DUPFD"),
        (F_GETFD, "F_GETFD"),
        (F_SETFD, "F_SETFD"),
        (F_GETFL, "F_GETFL"),
        (F_SETFL, "F_SETFL"),
        (F_GETLK, "F_GETLK"),
        (F_SETLK, "F_SETLK"),
        (F_SETLKW, "F_SETLKW"),
        (F_SETOWN, "F_SETOWN"),
        (F_GETOWN, "F_GETOWN"),
        (F_SETSIG, "F_SETSIG"),
        (F_GETSIG, "F_GETSIG"),
        (15, "F_SETOWN_EX"),
        (16, "F_GETOWN_EX"),
        (17, "F_GETOWNER_UIDS"),
        (F_OFD_GETLK, "F_OFD_GETLK"),
        (F_OFD_SETLK, "F_OFD_SETLK"),
        (F_OFD_SETLKW, "F_OFD_SETLKW"),
        (F_SETLEASE, "F_SETLEASE"),
        (F_GETLEASE, "F_GETLEASE"),
        (F_NOTIFY, "F_NOTIFY"),
        (F_DUPFD_QUERY, "F_DUPFD_QUERY"),
        (1028, "F_CREATED_QUERY"),
        (1029, "F_CANCELLK"),
        (F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"),
        (F_SETPIPE_SZ, "F_SETPIPE_SZ"),
        (F_GETPIPE_SZ, "F_GETPIPE_SZ"),
        (F_ADD_SEALS, "F_ADD_SEALS"),
        (F_GET_SEALS, "F_GET_SEALS"),
        (1035, "F_GET_RW_HINT"),
        (1036, "F_SET_RW_HINT"),
        (1037, "F_GET_FILE_RW_HINT"),
        (1038, "F_SET_FILE_RW_HINT"),
    ],
};

const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;
const F_SETOWN: u64 = 8;
const F_GETOWN: u64 = 9;
const F_SETSIG: u64 = 10;
const F_GETSIG: u64 = 11;
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;
const F_SETLEASE: u64 = 1024;
const F_GETLEASE: u64 = 1025;
const F_NOTIFY: u64 = 1026;
const F_DUPFD_QUERY: u64 = 1027;
const F_DUPFD_CLOEXEC: u64 = 1030;
const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const F_ADD_SEALS: u64 = 1033;
const F_GET_SEALS: u64 = 1034;

const LOCK_TYPE: Xlat = Xlat {
    unknown: "F_???",
    items: &[(0, "F_RDLCK"), (1, "F_WRLCK"), (2, "F_UNLCK")],
};

const SEALS: Bits = &[
    (1, "F_SEAL_SEAL"),
    (2, "F_SEAL_SHRINK"),
    (4, "F_SEAL_GROW"),
    (8, "F_SEAL_WRITE"),
    (0x10, "F_SEAL_FUTURE_WRITE"),
    (0x20, "F_SEAL_EXEC"),
];

/// Whether fcntl's third argument is filled in by the command (the lock F_GETLK found).
pub(super) fn fcntl_is_output(cmd: u64) -> bool {
    matches!(c_uint(cmd), F_GETLK | F_OFD_GETLK)
}

/// fcntl's third argument for the command in argument 1; `None` when it takes none.
pub(super) fn fcntl_arg(call: &Call) -> Option<String> {
    let arg = call.args[2];
    let int = || c_int(arg).to_string();
    Some(match c_uint(call.args[1]) {
        F_GETFD | F_GETFL | F_GETOWN | F_GETSIG | F_GETLEASE | F_GETPIPE_SZ | F_GET_SEALS => {
            return None
        }
        F_SETFD => flags::flags(c_uint(arg), flags::FD_FLAGS),
        F_SETFL => flags::open_flags(c_uint(arg)),
        F_SETLEASE => LOCK_TYPE.format(c_uint(arg)),
        F_ADD_SEALS => flags::flags(c_uint(arg), SEALS),
        F_DUPFD | F_DUPFD_CLOEXEC | F_DUPFD_QUERY | F_SETOWN | F_SETSIG | F_SETPIPE_SZ
        | F_NOTIFY => int(),
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
            let found = fcntl_is_output(call.args[1]);
            flock(call, arg, found).unwrap_or_else(|| pointer(arg))
        }
        _ => hex(arg),
    })
}

/// `struct flock`: `{l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}`; with
/// `found` (what F_GETLK stored), also the holder's `l_pid`, as strace shows it.
fn flock(call: &Call, addr: u64, found: bool) -> Option<String> {
    let lock = Fields::read(call.mem, addr, 32)?;
    let pid = if found {
        format!(", l_pid={}", lock.i32(24))
    } else {
        String::new()
    };
    Some(format!(
        "{{l_type={}, l_whence={}, l_start={}, l_len={}{pid}}}",
        LOCK_TYPE.format(u64::from(lock.u16(0))),
        flags::SEEK.format(u64::from(lock.u16(2))),
        lock.i64(8),
        lock.i64(16),
    ))
}

const TCGETS: u64 = 0x5401;
const TCSBRK: u64 = 0x5409;
const TCXONC: u64 = 0x540a;
const TCFLSH: u64 = 0x540b;
const TIOCSCTTY: u64 = 0x540e;
const FICLONE: u64 = 0x40049409;
const TIOCGPGRP: u64 = 0x540f;
const TIOCSPGRP: u64 = 0x5410;
const TIOCOUTQ: u64 = 0x5411;
const TIOCGWINSZ: u64 = 0x5413;
const TIOCSWINSZ: u64 = 0x5414;
const FIONREAD: u64 = 0x541b;
const FIONBIO: u64 = 0x5421;
const TIOCNOTTY: u64 = 0x5422;
const TIOCGSID: u64 = 0x5429;
const FIONCLEX: u64 = 0x5450;
const FIOCLEX: u64 = 0x5451;
const FIOASYNC: u64 = 0x5452;
const TIOCGPTN: u64 = 0x80045430;
const TIOCSPTLCK: u64 = 0x40045431;

const IOCTL: Xlat = Xlat {
    unknown: "_IOC_???",
    items: &[
        (TCGETS, "TCGETS"),
        (0x5402, "TCSETS"),
        (0x5403, "TCSETSW"),
        (0x5404, "TCSETSF"),
        (TCSBRK, "TCSBRK"),
        (TCXONC, "TCXONC"),
        (TCFLSH, "TCFLSH"),
        (0x540c, "TIOCEXCL"),
        (0x540d, "TIOCNXCL"),
        (TIOCSCTTY, "TIOCSCTTY"),
        (TIOCGPGRP, "TIOCGPGRP"),
        (TIOCSPGRP, "TIOCSPGRP"),
        (TIOCOUTQ, "TIOCOUTQ"),
        (0x5412, "TIOCSTI"),
        (TIOCGWINSZ, "TIOCGWINSZ"),
        (TIOCSWINSZ, "TIOCSWINSZ"),
        (0x5415, "TIOCMGET"),
        (FIONREAD, "FIONREAD"),
        (FIONBIO, "FIONBIO"),
        (TIOCNOTTY, "TIOCNOTTY"),
        (0x5424, "TIOCGETD"),
        (TIOCGSID, "TIOCGSID"),
        (0x5441, "TIOCGPTPEER"),
        (FIONCLEX, "FIONCLEX"),
        (FIOCLEX, "FIOCLEX"),
        (FIOASYNC, "FIOASYNC"),
        (TIOCGPTN, "TIOCGPTN"),
        (TIOCSPTLCK, "TIOCSPTLCK"),
        (0x802c542a, "TCGETS2"),
        (0x402c542b, "TCSETS2"),
        (0x402c542c, "TCSETSW2"),
        (0x402c542d, "TCSETSF2"),
        (0x80045439, "TIOCGPTLCK"),
        (0x5425, "TCSBRKP"),
        (FICLONE, "FICLONE"),
        (0x80086601, "FS_IOC_GETFLAGS"),
        (0x40086602, "FS_IOC_SETFLAGS"),
        (0x80081272, "BLKGETSIZE64"),
        (0x8912, "SIOCGIFCONF"),
        (0x8913, "SIOCGIFFLAGS"),
        (0x8927, "SIOCGIFHWADDR"),
        (0x8933, "SIOCGIFINDEX"),
    ],
};

/// An ioctl request by name, else in hex.
pub(super) fn ioctl_request(request: u64) -> String {
    let request = c_uint(request);
    IOCTL
        .get(request)
        .map_or_else(|| hex(request), str::to_owned)
}

/// Whether the kernel fills in ioctl's third argument for this request.
pub(super) fn ioctl_is_output(request: u64) -> bool {
    matches!(
        c_uint(request),
        TCGETS | TIOCGPGRP | TIOCOUTQ | TIOCGWINSZ | FIONREAD | TIOCGSID | TIOCGPTN
    )
}

/// ioctl's third argument for the request in argument 1; `None` when it takes none.
pub(super) fn ioctl_arg(call: &Call) -> Option<String> {
    let request = c_uint(call.args[1]);
    let arg = call.args[2];
    if matches!(request, FIOCLEX | FIONCLEX | TIOCNOTTY) {
        return None;
    }
    if matches!(request, FICLONE | TIOCSCTTY | TCSBRK | TCXONC | TCFLSH) {
        return Some(c_int(arg).to_string());
    }
    if !ioctl_decodes(request) {
        return Some(hex(arg));
    }
    let ready = call.ret.is_some() || !ioctl_is_output(request);
    let decoded = ready
        .then(|| decode_ioctl_struct(call, request, arg))
        .flatten();
    Some(decoded.unwrap_or_else(|| pointer(arg)))
}

/// Whether the third argument of this request points at something decoded here.
fn ioctl_decodes(request: u64) -> bool {
    ioctl_is_output(request)
        || matches!(
            request,
            TIOCSWINSZ | TIOCSPGRP | FIONBIO | FIOASYNC | TIOCSPTLCK
        )
}

fn decode_ioctl_struct(call: &Call, request: u64, addr: u64) -> Option<String> {
    match request {
        TIOCGWINSZ | TIOCSWINSZ => winsize(call, addr),
        TCGETS => termios(call, addr),
        TIOCGPGRP | TIOCSPGRP | TIOCOUTQ | FIONREAD | FIONBIO | FIOASYNC | TIOCGSID | TIOCGPTN
        | TIOCSPTLCK => Fields::read(call.mem, addr, 4).map(|v| format!("[{}]", v.i32(0))),
        _ => None,
    }
}

/// `struct winsize`: `{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}`.
fn winsize(call: &Call, addr: u64) -> Option<String> {
    let ws = Fields::read(call.mem, addr, 8)?;
    Some(format!(
        "{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}",
        ws.u16(0),
        ws.u16(2),
        ws.u16(4),
        ws.u16(6)
    ))
}

const CBAUD: u32 = 0o10017;

const BAUD: Xlat = Xlat {
    unknown: "B???",
    items: &[
        (0o0, "B0"),
        (0o1, "B50"),
        (0o2, "B75"),
        (0o3, "B110"),
        (0o4, "B134"),
        (0o5, "B150"),
        (0o6, "B200"),
        (0o7, "B300"),
        (0o10, "B600"),
        (0o11, "B1200"),
        (0o12, "B1800"),
        (0o13, "B2400"),
        (0o14, "B4800"),
        (0o15, "B9600"),
        (0o16, "B19200"),
        (0o17, "B38400"),
        (0o10000, "BOTHER"),
        (0o10001, "B57600"),
        (0o10002, "B115200"),
        (0o10003, "B230400"),
        (0o10004, "B460800"),
        (0o10005, "B500000"),
        (0o10006, "B576000"),
        (0o10007, "B921600"),
        (0o10010, "B1000000"),
        (0o10011, "B1152000"),
        (0o10012, "B1500000"),
        (0o10013, "B2000000"),
        (0o10014, "B2500000"),
        (0o10015, "B3000000"),
        (0o10016, "B3500000"),
        (0o10017, "B4000000"),
    ],
};

/// `struct termios`, abbreviated as strace does: `{B38400 opost isig icanon echo ...}`.
fn termios(call: &Call, addr: u64) -> Option<String> {
    let t = Fields::read(call.mem, addr, 16)?;
    let (oflag, cflag, lflag) = (t.u32(4), t.u32(8), t.u32(12));
    let switch = |on: bool, name: &str| format!("{}{name}", if on { "" } else { "-" });
    Some(format!(
        "{{{} {} {} {} {} ...}}",
        BAUD.format(u64::from(cflag & CBAUD)),
        switch(oflag & 0o1 != 0, "opost"),
        switch(lflag & 0o1 != 0, "isig"),
        switch(lflag & 0o2 != 0, "icanon"),
        switch(lflag & 0o10 != 0, "echo"),
    ))
}
