//! The stub process: the only place guest code runs under ptrace.
//!
//! A stub is created by a raw `clone(CLONE_FILES)` of the calling sentry thread. The child
//! runs only the assembly below: it maps one page of stub code at [`STUB_BASE`], jumps
//! there, unmaps everything else it inherited from the sentry (so no sentry memory is
//! visible to the guest), leaves the sentry's session, asks to be traced and stops itself.
//! From then on the stub executes nothing but guest code and the system calls the sentry
//! injects at [`syscall_site`] (a `syscall; int3` pair).
//!
//! The stub shares the sentry's fd table (CLONE_FILES) so injected `mmap` calls can name
//! the memory file. That is safe under ptrace: every guest syscall is stopped by
//! PTRACE_SYSEMU and never executes on the host.

use std::arch::{asm, global_asm};

use crate::errno::{Errno, Result};
use crate::platform::{MAX_USER_ADDRESS, PAGE_SIZE};

/// Where the stub's code page lives in every stub process (just above the guest's range).
pub const STUB_BASE: u64 = MAX_USER_ADDRESS;
/// The stub code region's length.
pub const STUB_LEN: u64 = PAGE_SIZE;
/// The top of the x86-64 user address space.
const USER_TOP: u64 = 0x7fff_ffff_f000;

global_asm!(
    ".pushsection .text.moat_stub, \"ax\"",
    ".globl moat_stub_start",
    ".globl moat_stub_syscall",
    ".globl moat_stub_clone",
    ".globl moat_stub_end",
    ".p2align 4",
    "moat_stub_start:",
    // rseq(r14, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG): the clone inherited the sentry
    // thread's rseq registration, whose area is about to be unmapped. glibc registers
    // 32 bytes or `__rseq_size` (r15) depending on its version: try both.
    "test r14, r14",
    "jz 1f",
    "mov eax, {sys_rseq}",
    "mov rdi, r14",
    "mov esi, 32",
    "mov edx, 1",
    "mov r10d, {rseq_sig}",
    "syscall",
    "mov eax, {sys_rseq}",
    "mov rdi, r14",
    "mov esi, r15d",
    "mov edx, 1",
    "mov r10d, {rseq_sig}",
    "syscall",
    "1:",
    // prctl(PR_SET_PDEATHSIG, SIGKILL): if the sentry dies before it has set
    // PTRACE_O_EXITKILL on us, we die too; and if it already died (our parent is no
    // longer the sentry, whose pid is in r9), exit now.
    "mov eax, {sys_prctl}",
    "mov edi, {pr_set_pdeathsig}",
    "mov esi, {sigkill}",
    "syscall",
    "mov eax, {sys_getppid}",
    "syscall",
    "cmp rax, r9",
    "je 2f",
    "mov eax, {sys_exit_group}",
    "mov edi, 1",
    "syscall",
    "2:",
    // mprotect(STUB_BASE, STUB_LEN, PROT_READ|PROT_EXEC): the code page is not writable.
    "mov eax, {sys_mprotect}",
    "movabs rdi, {stub_base}",
    "mov esi, {stub_len}",
    "mov edx, 5",
    "syscall",
    // setsid(): leave the sentry's session so terminal signals never reach the stub.
    "mov eax, {sys_setsid}",
    "syscall",
    // munmap(0, STUB_BASE): drop every sentry mapping below the stub.
    "mov eax, {sys_munmap}",
    "xor edi, edi",
    "movabs rsi, {stub_base}",
    "syscall",
    // munmap(STUB_BASE + STUB_LEN, USER_TOP - that): and everything above it.
    "mov eax, {sys_munmap}",
    "movabs rdi, {stub_end}",
    "movabs rsi, {above_len}",
    "syscall",
    // ptrace(PTRACE_TRACEME): the thread that cloned us becomes the tracer.
    "mov eax, {sys_ptrace}",
    "xor edi, edi",
    "xor esi, esi",
    "xor edx, edx",
    "xor r10d, r10d",
    "syscall",
    // kill(getpid(), SIGSTOP): wait for the tracer.
    "mov eax, {sys_getpid}",
    "syscall",
    "mov edi, eax",
    "mov esi, {sigstop}",
    "mov eax, {sys_kill}",
    "syscall",
    // Injected system calls execute here; int3 hands control back to the tracer.
    "moat_stub_syscall:",
    "syscall",
    "int3",
    "jmp moat_stub_syscall",
    // Injected clone(CLONE_VM|CLONE_THREAD...) executes here: the parent returns to the
    // tracer; the new thread parks in pause() until the sentry thread that will trace
    // it seizes it (it touches no memory and no stack meanwhile).
    "moat_stub_clone:",
    "syscall",
    "test rax, rax",
    "jnz 3f",
    "4:",
    "mov eax, {sys_pause}",
    "syscall",
    "jmp 4b",
    "3:",
    "int3",
    "jmp moat_stub_syscall",
    "moat_stub_end:",
    ".popsection",
    sys_rseq = const libc::SYS_rseq,
    sys_pause = const libc::SYS_pause,
    sys_prctl = const libc::SYS_prctl,
    pr_set_pdeathsig = const libc::PR_SET_PDEATHSIG,
    sigkill = const libc::SIGKILL,
    sys_getppid = const libc::SYS_getppid,
    sys_exit_group = const libc::SYS_exit_group,
    rseq_sig = const RSEQ_SIG,
    sys_mprotect = const libc::SYS_mprotect,
    sys_setsid = const libc::SYS_setsid,
    sys_munmap = const libc::SYS_munmap,
    sys_ptrace = const libc::SYS_ptrace,
    sys_getpid = const libc::SYS_getpid,
    sys_kill = const libc::SYS_kill,
    sigstop = const libc::SIGSTOP,
    stub_base = const STUB_BASE,
    stub_len = const STUB_LEN,
    stub_end = const STUB_BASE + STUB_LEN,
    above_len = const USER_TOP - (STUB_BASE + STUB_LEN),
);

/// The signature glibc registers rseq areas with on x86.
const RSEQ_SIG: u32 = 0x5305_3053;

extern "C" {
    /// glibc (2.35+): offset of the rseq area from the thread pointer.
    static __rseq_offset: isize;
    /// glibc (2.35+): size of the registered rseq area, 0 if rseq is not registered.
    static __rseq_size: u32;
    static moat_stub_start: u8;
    static moat_stub_syscall: u8;
    static moat_stub_clone: u8;
    static moat_stub_end: u8;
}

fn stub_code_range() -> (u64, u64) {
    let start = std::ptr::addr_of!(moat_stub_start) as u64;
    let end = std::ptr::addr_of!(moat_stub_end) as u64;
    (start, end)
}

/// The address, inside every stub, of the `syscall; int3` pair used for injection.
pub fn syscall_site() -> u64 {
    let (start, _) = stub_code_range();
    STUB_BASE + (std::ptr::addr_of!(moat_stub_syscall) as u64 - start)
}

/// The calling thread's rseq area and its size (0, 0 when not registered).
fn current_rseq_area() -> (u64, u32) {
    // SAFETY: reading two plain integers glibc exports and never changes after startup.
    let (offset, size) = unsafe { (__rseq_offset, __rseq_size) };
    if size == 0 {
        return (0, 0);
    }
    let tp: u64;
    // SAFETY: on x86-64 glibc, %fs:0 holds the thread control block's own address.
    unsafe { asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    (tp.wrapping_add(offset as u64), size)
}

/// The address, inside every stub, of the clone site that parks new stub threads.
pub fn clone_site() -> u64 {
    let (start, _) = stub_code_range();
    STUB_BASE + (std::ptr::addr_of!(moat_stub_clone) as u64 - start)
}

/// Creates a stub process traced by the calling thread. Returns its pid once it has
/// stopped itself (the caller must still wait for that stop).
pub fn spawn() -> Result<libc::pid_t> {
    let (code_start, code_end) = stub_code_range();
    debug_assert!(code_end - code_start <= STUB_LEN);
    let (rseq_area, rseq_size) = current_rseq_area();
    let flags = (libc::CLONE_FILES | libc::SIGCHLD) as u64;
    let ret: i64;
    // SAFETY: a raw clone without CLONE_VM and with no new stack: the child gets a
    // copy-on-write copy of our address space and continues at the next instruction on
    // a copy of our stack. The child branch never returns to Rust: it only issues raw
    // syscalls and copies the stub code (read from our own text, `code_len` bytes) into
    // the page it just mapped, then jumps there. The parent branch only reads rax.
    // Registers clobbered by either branch are declared.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            // Child: mmap(STUB_BASE, STUB_LEN, RWX, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0),
            // keeping r9 (the sentry's pid) on our copy of the stack meanwhile.
            "push r9",
            "mov eax, {sys_mmap}",
            "movabs rdi, {stub_base}",
            "mov esi, {stub_len}",
            "mov edx, 7",
            "mov r10d, {map_flags}",
            "mov r8, -1",
            "xor r9d, r9d",
            "syscall",
            "pop r9",
            "mov rsi, r12",
            "movabs rdi, {stub_base}",
            "mov rcx, r13",
            "rep movsb",
            "movabs rax, {stub_base}",
            "jmp rax",
            "2:",
            sys_mmap = const libc::SYS_mmap,
            stub_base = const STUB_BASE,
            stub_len = const STUB_LEN,
            map_flags = const libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            in("r12") code_start,
            in("r13") code_end - code_start,
            in("r14") rseq_area,
            in("r9") std::process::id() as u64,
            in("r15") rseq_size as u64,
            inlateout("rax") libc::SYS_clone => ret,
            in("rdi") flags,
            in("rsi") 0u64,
            in("rdx") 0u64,
            in("r10") 0u64,
            in("r8") 0u64,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    if ret < 0 {
        return Err(Errno::new(-ret as i32));
    }
    Ok(ret as libc::pid_t)
}
