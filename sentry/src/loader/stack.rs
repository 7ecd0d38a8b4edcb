//! The initial stack of a new program, laid out exactly as Linux lays it out.
//!
//! From the top: 8 zero bytes, the exec filename, the environment strings, the argument
//! strings (so `argv[0]` is lowest), then — after a random, 16-byte aligned gap — the
//! platform string, the 16 AT_RANDOM bytes, and at the 16-byte aligned stack pointer:
//! argc, argv[], NULL, envp[], NULL, auxv pairs ending with AT_NULL.

use crate::errno;
use crate::errno::Result;
use crate::mm::{ExecLayout, MemoryManager};

/// AT_* keys the loader emits.
pub mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const HWCAP2: u64 = 26;
    pub const EXECFN: u64 = 31;
    pub const SYSINFO_EHDR: u64 = 33;
    pub const MINSIGSTKSZ: u64 = 51;
}

/// Longest single argument or environment string (MAX_ARG_STRLEN).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Writes values downward from a stack top, through the memory manager.
struct Writer<'a> {
    mm: &'a MemoryManager,
    sp: u64,
}

impl Writer<'_> {
    fn push_bytes(&mut self, bytes: &[u8]) -> Result<u64> {
        self.sp = self
            .sp
            .checked_sub(bytes.len() as u64)
            .ok_or_else(|| errno!(E2BIG))?;
        self.mm.copy_out(self.sp, bytes)?;
        Ok(self.sp)
    }

    fn push_cstr(&mut self, s: &[u8]) -> Result<u64> {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s);
        v.push(0);
        self.push_bytes(&v)
    }
}

/// What goes on the initial stack besides argv and envp.
pub struct StackInfo<'a> {
    /// argv strings.
    pub argv: &'a [Vec<u8>],
    /// envp strings.
    pub envp: &'a [Vec<u8>],
    /// The filename execve was given (AT_EXECFN).
    pub execfn: &'a [u8],
    /// auxv entries before AT_RANDOM/AT_EXECFN/AT_PLATFORM are known; those three are
    /// filled in by [`build`] at their Linux positions.
    pub auxv_head: Vec<(u64, u64)>,
    /// auxv entries after AT_RANDOM (AT_HWCAP2).
    pub auxv_tail: Vec<(u64, u64)>,
    /// Random bytes to subtract from the stack pointer (sp randomization), < 8192.
    pub sp_random: u64,
    /// The 16 AT_RANDOM bytes.
    pub random: [u8; 16],
    /// The limit on all strings together (a quarter of RLIMIT_STACK).
    pub strings_limit: u64,
}

/// Builds the stack under `top`; returns the initial stack pointer and the layout.
pub fn build(mm: &MemoryManager, top: u64, info: StackInfo<'_>) -> Result<(u64, ExecLayout)> {
    let total: u64 = info
        .argv
        .iter()
        .chain(info.envp)
        .map(|s| s.len() as u64 + 1)
        .sum::<u64>()
        + info.execfn.len() as u64
        + 1;
    if total > info.strings_limit
        || info
            .argv
            .iter()
            .chain(info.envp)
            .any(|s| s.len() + 1 > MAX_ARG_STRLEN)
    {
        return Err(errno!(E2BIG));
    }
    let mut w = Writer { mm, sp: top };
    w.push_bytes(&[0u8; 8])?;
    let execfn = w.push_cstr(info.execfn)?;
    let mut envp_addrs: Vec<u64> = info
        .envp
        .iter()
        .rev()
        .map(|s| w.push_cstr(s))
        .collect::<Result<_>>()?;
    envp_addrs.reverse();
    let env_end = execfn;
    let env_start = envp_addrs.first().copied().unwrap_or(env_end);
    let mut argv_addrs: Vec<u64> = info
        .argv
        .iter()
        .rev()
        .map(|s| w.push_cstr(s))
        .collect::<Result<_>>()?;
    argv_addrs.reverse();
    let arg_start = argv_addrs.first().copied().unwrap_or(env_start);

    w.sp = (w.sp - info.sp_random) & !0xf;
    let platform = w.push_cstr(b"x86_64")?;
    let random = w.push_bytes(&info.random)?;

    let mut auxv = info.auxv_head;
    auxv.push((at::RANDOM, random));
    auxv.extend(info.auxv_tail);
    auxv.push((at::EXECFN, execfn));
    auxv.push((at::PLATFORM, platform));
    auxv.push((at::NULL, 0));

    let words = 1 + argv_addrs.len() + 1 + envp_addrs.len() + 1 + auxv.len() * 2;
    let sp = (w.sp - words as u64 * 8) & !0xf;
    let mut table: Vec<u64> = Vec::with_capacity(words);
    table.push(argv_addrs.len() as u64);
    table.extend(&argv_addrs);
    table.push(0);
    table.extend(&envp_addrs);
    table.push(0);
    for &(k, v) in &auxv {
        table.push(k);
        table.push(v);
    }
    mm.write_obj(sp, table.as_slice())?;
    let layout = ExecLayout {
        arg_start,
        arg_end: env_start,
        env_start,
        env_end,
        auxv,
    };
    Ok((sp, layout))
}
