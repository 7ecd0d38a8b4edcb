//! x86-64 signal frames: what the guest sees when a handler runs, and rt_sigreturn.
//!
//! The layout is Linux's: below the interrupted stack pointer (minus the 128-byte red
//! zone, or at the top of the alternate stack) come the XSAVE image (64-byte aligned,
//! with the FP_XSTATE magic words), then `struct rt_sigframe` { pretcode, ucontext,
//! siginfo } placed so that the handler starts as if called (rsp ≡ 8 mod 16).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::signal::{
    AltStack, SigInfo, SA_ONSTACK, SA_RESTORER, SS_AUTODISARM, SS_DISABLE, UNBLOCKABLE,
};
use super::Task;
use crate::abi::SigAction;
use crate::errno;
use crate::errno::Result;
use crate::platform::MAX_USER_ADDRESS;

/// `struct sigcontext` (x86-64).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    pub fpstate: u64,
    pub reserved: [u64; 8],
}
const _: () = assert!(std::mem::size_of::<SigContext>() == 256);

/// `stack_t`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct StackT {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub pad: i32,
    pub ss_size: u64,
}

/// The kernel's `struct ucontext`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct UContext {
    pub flags: u64,
    pub link: u64,
    pub stack: StackT,
    pub mcontext: SigContext,
    pub sigmask: u64,
}

/// `struct rt_sigframe` (x86-64).
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct RtSigFrame {
    pretcode: u64,
    uc: UContext,
    info: SigInfo,
}
const _: () = assert!(std::mem::size_of::<RtSigFrame>() == 440);

const UC_FP_XSTATE: u64 = 0x1;
const UC_SIGCONTEXT_SS: u64 = 0x2;
const UC_STRICT_RESTORE_SS: u64 = 0x4;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of `sw_reserved` (struct _fpx_sw_bytes) in the fxsave area.
const SW_RESERVED: usize = 464;
const USER_CS: u16 = 0x33;
const USER_DS: u16 = 0x2b;
/// eflags bits user code may change through a signal frame (Linux's FIX_EFLAGS).
const FIX_EFLAGS: u64 =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000;
/// Trap number of a page fault, reported in sigcontext for SIGSEGV/SIGBUS.
const X86_TRAP_PF: u64 = 14;

/// Builds the frame for `info` handled by `action` and points the registers at the
/// handler. `old_mask` is what rt_sigreturn restores.
pub fn setup(task: &mut Task, info: &SigInfo, action: &SigAction, old_mask: u64) -> Result<()> {
    if action.flags & SA_RESTORER == 0 {
        // x86-64 has no kernel-provided trampoline: a handler without one cannot return.
        return Err(errno!(EFAULT, "handler without SA_RESTORER"));
    }
    let regs = task.regs.0;
    let mut sp = regs.rsp.wrapping_sub(128);
    let on_altstack = task.altstack.contains(regs.rsp);
    let use_altstack = action.flags & SA_ONSTACK != 0 && task.altstack.size != 0 && !on_altstack;
    if use_altstack {
        sp = task.altstack.sp + task.altstack.size;
    }
    let space = task.mm.address_space().clone();
    let mut xsave = task.ctx.fpstate(&space)?;
    let xsave_len = xsave.len();
    // struct _fpx_sw_bytes in the fxsave area's software-reserved bytes, and the second
    // magic word after the XSAVE image, as the kernel writes them.
    let xfeatures = u64::from_le_bytes(xsave[512..520].try_into().expect("8 bytes"));
    let mut sw = Vec::with_capacity(48);
    sw.extend_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
    sw.extend_from_slice(&((xsave_len + 4) as u32).to_le_bytes());
    sw.extend_from_slice(&xfeatures.to_le_bytes());
    sw.extend_from_slice(&(xsave_len as u32).to_le_bytes());
    sw.resize(48, 0);
    xsave[SW_RESERVED..SW_RESERVED + 48].copy_from_slice(&sw);
    xsave.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());

    let fp_addr = sp
        .checked_sub(xsave.len() as u64)
        .ok_or_else(|| errno!(EFAULT))?
        & !63;
    let frame_addr = ((fp_addr - std::mem::size_of::<RtSigFrame>() as u64) & !15) - 8;
    if use_altstack && !task.altstack.contains(frame_addr + 1) {
        return Err(errno!(EFAULT, "signal frame overflows the alternate stack"));
    }
    let fault = matches!(info.signo, libc::SIGSEGV | libc::SIGBUS) && info.code > 0;
    let mcontext = SigContext {
        r8: regs.r8,
        r9: regs.r9,
        r10: regs.r10,
        r11: regs.r11,
        r12: regs.r12,
        r13: regs.r13,
        r14: regs.r14,
        r15: regs.r15,
        rdi: regs.rdi,
        rsi: regs.rsi,
        rbp: regs.rbp,
        rbx: regs.rbx,
        rdx: regs.rdx,
        rax: regs.rax,
        rcx: regs.rcx,
        rsp: regs.rsp,
        rip: regs.rip,
        eflags: regs.eflags,
        cs: USER_CS,
        gs: 0,
        fs: 0,
        ss: USER_DS,
        err: if fault { 4 } else { 0 },
        trapno: if fault { X86_TRAP_PF } else { 0 },
        oldmask: old_mask,
        cr2: if fault { info.fields[0] } else { 0 },
        fpstate: fp_addr,
        reserved: [0; 8],
    };
    let frame = RtSigFrame {
        pretcode: action.restorer,
        uc: UContext {
            flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
            link: 0,
            stack: StackT {
                ss_sp: task.altstack.sp,
                ss_flags: task.altstack.flags(regs.rsp),
                pad: 0,
                ss_size: task.altstack.size,
            },
            mcontext,
            sigmask: old_mask,
        },
        info: *info,
    };
    task.mm.copy_out(fp_addr, &xsave)?;
    task.mm.write_obj(frame_addr, &frame)?;

    if use_altstack && task.altstack.autodisarm {
        task.altstack = AltStack::default();
    }
    task.ctx.reset_fpstate(&space)?;
    let r = &mut task.regs.0;
    r.rip = action.handler;
    r.rsp = frame_addr;
    r.rdi = info.signo as u64;
    r.rsi = frame_addr + std::mem::offset_of!(RtSigFrame, info) as u64;
    r.rdx = frame_addr + std::mem::offset_of!(RtSigFrame, uc) as u64;
    r.rax = 0;
    r.cs = USER_CS as u64;
    r.ss = USER_DS as u64;
    // The handler starts with the direction and trap flags clear, as after a call.
    r.eflags &= !(0x400 | 0x100 | 0x1_0000);
    r.orig_rax = u64::MAX;
    Ok(())
}

/// rt_sigreturn: restores what `setup` saved from the frame the guest's stack pointer
/// names. The frame is guest memory, so every field is checked; a bad frame is SIGSEGV
/// (EFAULT to the caller, which forces it). Returns the restored rax.
pub fn sigreturn(task: &mut Task) -> Result<u64> {
    let frame_addr = task.regs.0.rsp.wrapping_sub(8);
    let frame: RtSigFrame = task.mm.read_obj(frame_addr)?;
    let sc = frame.uc.mcontext;
    if sc.rip >= MAX_USER_ADDRESS || sc.rsp > MAX_USER_ADDRESS {
        return Err(errno!(EFAULT, "sigreturn to a non-user address"));
    }
    if sc.fpstate != 0 {
        let space = task.mm.address_space().clone();
        let len = task.ctx.fpstate(&space)?.len();
        let xsave = task.mm.read_bytes(sc.fpstate, len)?;
        task.ctx
            .set_fpstate(&space, &xsave)
            .map_err(|_| errno!(EFAULT, "bad XSAVE image in signal frame"))?;
    } else {
        let space = task.mm.address_space().clone();
        task.ctx.reset_fpstate(&space)?;
    }
    let r = &mut task.regs.0;
    r.r8 = sc.r8;
    r.r9 = sc.r9;
    r.r10 = sc.r10;
    r.r11 = sc.r11;
    r.r12 = sc.r12;
    r.r13 = sc.r13;
    r.r14 = sc.r14;
    r.r15 = sc.r15;
    r.rdi = sc.rdi;
    r.rsi = sc.rsi;
    r.rbp = sc.rbp;
    r.rbx = sc.rbx;
    r.rdx = sc.rdx;
    r.rax = sc.rax;
    r.rcx = sc.rcx;
    r.rsp = sc.rsp;
    r.rip = sc.rip;
    r.eflags = (r.eflags & !FIX_EFLAGS) | (sc.eflags & FIX_EFLAGS);
    r.cs = USER_CS as u64;
    r.ss = USER_DS as u64;
    // Not a syscall any more: nothing to restart.
    r.orig_rax = u64::MAX;
    let rax = r.rax;
    task.set_signal_mask(frame.uc.sigmask & !UNBLOCKABLE);
    // restore_altstack: the frame's stack_t is applied as sigaltstack would (errors are
    // ignored, as Linux does).
    let st = frame.uc.stack;
    if st.ss_flags & SS_DISABLE != 0 {
        task.altstack = AltStack::default();
    } else if st.ss_size >= 2048 && !task.altstack.contains(task.regs.0.rsp) {
        task.altstack = AltStack {
            sp: st.ss_sp,
            size: st.ss_size,
            autodisarm: st.ss_flags & SS_AUTODISARM != 0,
        };
    }
    Ok(rax)
}
