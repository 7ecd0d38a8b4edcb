//! Decoding raw register values into the typed arguments handlers take.

/// Converts one raw syscall argument register to a handler's parameter type, the way
/// the kernel's C prototypes truncate or reinterpret them.
pub trait FromArg {
    /// The value of this type in `raw`.
    fn from_arg(raw: u64) -> Self;
}

impl FromArg for u64 {
    fn from_arg(raw: u64) -> u64 {
        raw
    }
}

impl FromArg for i64 {
    fn from_arg(raw: u64) -> i64 {
        raw as i64
    }
}

impl FromArg for usize {
    fn from_arg(raw: u64) -> usize {
        raw as usize
    }
}

impl FromArg for u32 {
    fn from_arg(raw: u64) -> u32 {
        raw as u32
    }
}

impl FromArg for i32 {
    fn from_arg(raw: u64) -> i32 {
        raw as u32 as i32
    }
}
