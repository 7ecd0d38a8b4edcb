//! The sentry's one error type: a Linux errno, plus where it was raised.
//!
//! Handlers return `Result<T, Errno>`; the run loop turns an `Errno` into the negative
//! return value the guest sees. Restart codes (`ERESTARTSYS` and friends) are errnos the
//! run loop understands and never leaks to the guest.

use std::fmt;
use std::panic::Location;

/// A Linux error number with the source location that raised it (for debug logs).
#[derive(Clone, Copy)]
pub struct Errno {
    code: i32,
    location: &'static Location<'static>,
}

/// Restart the syscall if the interrupting handler has SA_RESTART, else EINTR.
pub const ERESTARTSYS: i32 = 512;
/// Always restart the syscall after the signal is handled.
pub const ERESTARTNOINTR: i32 = 513;
/// Restart if no handler ran, else EINTR.
pub const ERESTARTNOHAND: i32 = 514;
/// Restart through restart_syscall(2) (nanosleep and friends).
pub const ERESTART_RESTARTBLOCK: i32 = 516;

impl Errno {
    /// An errno raised at the caller's location.
    #[track_caller]
    pub fn new(code: i32) -> Errno {
        Errno {
            code,
            location: Location::caller(),
        }
    }

    /// The numeric errno.
    pub fn code(self) -> i32 {
        self.code
    }

    /// Where this errno was raised.
    pub fn location(self) -> &'static Location<'static> {
        self.location
    }

    /// Whether this is one of the kernel-internal restart codes.
    pub fn is_restart(self) -> bool {
        matches!(
            self.code,
            ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK
        )
    }

    /// The value the guest sees in %rax.
    pub fn as_return(self) -> u64 {
        (-(self.code as i64)) as u64
    }

    /// The errno a host `std::io::Error` maps to (EIO when it carries none).
    #[track_caller]
    pub fn from_io(err: &std::io::Error) -> Errno {
        Errno::new(err.raw_os_error().unwrap_or(libc::EIO))
    }
}

impl PartialEq for Errno {
    fn eq(&self, other: &Errno) -> bool {
        self.code == other.code
    }
}
impl Eq for Errno {}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}:{})",
            name(self.code),
            self.location.file(),
            self.location.line()
        )
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name(self.code))
    }
}

impl std::error::Error for Errno {}

impl From<nix::errno::Errno> for Errno {
    #[track_caller]
    fn from(e: nix::errno::Errno) -> Errno {
        Errno::new(e as i32)
    }
}

impl From<gofer::Error> for Errno {
    #[track_caller]
    fn from(e: gofer::Error) -> Errno {
        Errno::new(e.errno())
    }
}

/// The symbolic name of an errno (for logs).
pub fn name(code: i32) -> &'static str {
    match code {
        ERESTARTSYS => "ERESTARTSYS",
        ERESTARTNOINTR => "ERESTARTNOINTR",
        ERESTARTNOHAND => "ERESTARTNOHAND",
        ERESTART_RESTARTBLOCK => "ERESTART_RESTARTBLOCK",
        _ => nix::errno::Errno::from_raw(code).desc(),
    }
}

/// `errno!(EINVAL)` or `errno!(EINVAL, "bad flags {flags:#x}")`: an [`Errno`] raised here.
/// The optional message is logged at debug level, never shown to the guest.
#[macro_export]
macro_rules! errno {
    ($code:ident) => {
        $crate::errno::Errno::new(libc::$code)
    };
    ($code:ident, $($arg:tt)+) => {{
        ::tracing::debug!("{}: {}", stringify!($code), format_args!($($arg)+));
        $crate::errno::Errno::new(libc::$code)
    }};
}

/// `return Err(errno!(...))` in one word.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)+) => {
        return Err($crate::errno!($($arg)+))
    };
}

/// The sentry's result type.
pub type Result<T> = std::result::Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_returns_negative_code_to_guest() {
        assert_eq!(errno!(ENOENT).as_return() as i64, -(libc::ENOENT as i64));
    }

    #[test]
    fn restart_codes_are_recognised() {
        assert!(Errno::new(ERESTARTSYS).is_restart());
        assert!(!errno!(EINTR).is_restart());
    }
}
