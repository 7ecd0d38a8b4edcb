//! Guest register state.

/// The guest's general-purpose registers (the layout of `struct user_regs_struct`).
#[derive(Clone, Copy)]
pub struct Regs(pub libc::user_regs_struct);

impl Default for Regs {
    fn default() -> Regs {
        Regs(libc::user_regs_struct {
            r15: 0,
            r14: 0,
            r13: 0,
            r12: 0,
            rbp: 0,
            rbx: 0,
            r11: 0,
            r10: 0,
            r9: 0,
            r8: 0,
            rax: 0,
            rcx: 0,
            rdx: 0,
            rsi: 0,
            rdi: 0,
            orig_rax: 0,
            rip: 0,
            cs: 0,
            eflags: 0,
            rsp: 0,
            ss: 0,
            fs_base: 0,
            gs_base: 0,
            ds: 0,
            es: 0,
            fs: 0,
            gs: 0,
        })
    }
}

impl std::fmt::Debug for Regs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        write!(
            f,
            "rip={:#x} rsp={:#x} rax={:#x} orig_rax={:#x} rdi={:#x} rsi={:#x} rdx={:#x} r10={:#x} r8={:#x} r9={:#x}",
            r.rip, r.rsp, r.rax, r.orig_rax, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9
        )
    }
}

impl Regs {
    /// The system call number at a syscall stop.
    pub fn syscall_nr(&self) -> u64 {
        self.0.orig_rax
    }

    /// The six system call arguments, in ABI order.
    pub fn syscall_args(&self) -> [u64; 6] {
        let r = &self.0;
        [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
    }

    /// Sets the value the guest sees returned from the syscall.
    pub fn set_return(&mut self, value: u64) {
        self.0.rax = value;
    }

    /// Rewinds the guest so it re-executes the syscall instruction (restart).
    pub fn restart_syscall(&mut self, nr: u64) {
        self.0.rax = nr;
        self.0.rip = self.0.rip.wrapping_sub(2);
    }

    /// The instruction pointer.
    pub fn ip(&self) -> u64 {
        self.0.rip
    }

    /// The stack pointer.
    pub fn sp(&self) -> u64 {
        self.0.rsp
    }

    /// Registers for a freshly exec'd program: entry point and stack, everything else zero.
    pub fn for_exec(entry: u64, sp: u64, template: &Regs) -> Regs {
        let mut r = Regs::default();
        r.0.rip = entry;
        r.0.rsp = sp;
        r.0.cs = template.0.cs;
        r.0.ss = template.0.ss;
        r.0.ds = template.0.ds;
        r.0.es = template.0.es;
        r.0.eflags = 0x202; // IF, and the always-one bit 1.
        r.0.orig_rax = u64::MAX;
        r
    }
}

/// The guest's x87/SSE state in `fxsave` layout (512 bytes, `struct user_fpregs_struct`).
#[derive(
    Clone,
    Copy,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
)]
#[repr(C)]
pub struct FpState {
    /// x87 control word.
    pub cwd: u16,
    /// x87 status word.
    pub swd: u16,
    /// x87 tag word (abridged).
    pub ftw: u16,
    /// Last x87 opcode.
    pub fop: u16,
    /// Last x87 instruction pointer.
    pub rip: u64,
    /// Last x87 data pointer.
    pub rdp: u64,
    /// SSE control and status.
    pub mxcsr: u32,
    /// Valid MXCSR bits.
    pub mxcsr_mask: u32,
    /// x87/MMX registers.
    pub st_space: [u32; 32],
    /// XMM registers.
    pub xmm_space: [u32; 64],
    /// Reserved.
    pub padding: [u32; 24],
}

impl FpState {
    /// The architectural initial state (what `execve` gives a new program).
    pub fn initial() -> FpState {
        FpState {
            cwd: 0x37f,
            swd: 0,
            ftw: 0,
            fop: 0,
            rip: 0,
            rdp: 0,
            mxcsr: 0x1f80,
            mxcsr_mask: 0xffff,
            st_space: [0; 32],
            xmm_space: [0; 64],
            padding: [0; 24],
        }
    }
}

const _: () = assert!(std::mem::size_of::<FpState>() == 512);
