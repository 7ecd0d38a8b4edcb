//! The ptrace platform runs guest code in a stub and stops it at every syscall and fault.

use std::sync::Arc;

use sentry::mm::{Backing, MemoryFile, MemoryManager, MmapRequest, VmaKind};
use sentry::platform::ptrace::PtracePlatform;
use sentry::platform::{Event, Platform, Prot, Regs};

const RX: Prot = Prot {
    read: true,
    write: false,
    exec: true,
};
const RW: Prot = Prot {
    read: true,
    write: true,
    exec: false,
};

fn setup() -> (MemoryManager, Box<dyn sentry::platform::Context>) {
    let platform = PtracePlatform;
    let mf = Arc::new(MemoryFile::new().unwrap());
    let space = platform.new_address_space(mf.fd()).unwrap();
    (
        MemoryManager::new(mf, space, 0x7f00_0000_0000),
        platform.new_context(),
    )
}

fn map(mm: &MemoryManager, addr: u64, prot: Prot) {
    let req = MmapRequest {
        addr,
        len: 4096,
        prot,
        max_prot: Prot {
            read: true,
            write: true,
            exec: true,
        },
        shared: false,
        fixed: true,
        noreplace: false,
        growsdown: false,
        backing: Backing::Anonymous,
        kind: VmaKind::Plain,
    };
    assert_eq!(mm.mmap(req).unwrap(), addr);
}

fn run_code(
    code: &[u8],
) -> (
    MemoryManager,
    Box<dyn sentry::platform::Context>,
    Regs,
    Vec<Event>,
) {
    let (mm, mut ctx) = setup();
    map(&mm, 0x40_0000, RW);
    mm.copy_out(0x40_0000, code).unwrap();
    mm.mprotect(0x40_0000, 4096, RX).unwrap();
    map(&mm, 0x50_0000, RW);
    let template = {
        let mut r = Regs::default();
        r.0.cs = 0x33;
        r.0.ss = 0x2b;
        r
    };
    let mut regs = Regs::for_exec(0x40_0000, 0x50_0000 + 4096, &template);
    let mut events = Vec::new();
    for _ in 0..10 {
        let ev = ctx.switch(&mm.address_space(), &mut regs).unwrap();
        events.push(ev);
        match ev {
            Event::Fault { addr, code } => {
                if mm.handle_fault(addr, code).unwrap().is_some() {
                    break;
                }
            }
            Event::Syscall => {
                if regs.syscall_nr() == 231 {
                    break;
                }
                regs.set_return(1234);
            }
            _ => break,
        }
    }
    (mm, ctx, regs, events)
}

#[test]
fn guest_syscalls_stop_in_the_sentry_and_take_its_return_value() {
    // mov eax, 39 (getpid); syscall; mov edi, eax; mov eax, 231 (exit_group); syscall
    let code = [
        0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc7, 0xb8, 231, 0, 0, 0, 0x0f, 0x05,
    ];
    let (_mm, _ctx, regs, events) = run_code(&code);
    assert!(events.contains(&Event::Syscall));
    assert_eq!(regs.syscall_nr(), 231);
    assert_eq!(
        regs.syscall_args()[0],
        1234,
        "getpid returned the sentry's value"
    );
}

#[test]
fn writes_to_fresh_anonymous_memory_fault_once_then_run() {
    // mov dword [0x500000], 7; mov eax, 231; syscall
    let code = [
        0xc7, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00, 7, 0, 0, 0, 0xb8, 231, 0, 0, 0, 0x0f, 0x05,
    ];
    let (mm, _ctx, regs, events) = run_code(&code);
    assert_eq!(regs.syscall_nr(), 231);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Fault {
            addr: 0x50_0000,
            ..
        }
    )));
    assert_eq!(mm.read_obj::<u32>(0x50_0000).unwrap(), 7);
}

#[test]
fn write_to_read_only_memory_is_a_segv_accerr() {
    // mov dword [0x400000], 7
    let code = [0xc7, 0x04, 0x25, 0x00, 0x00, 0x40, 0x00, 7, 0, 0, 0];
    let (mm, _ctx, _regs, events) = run_code(&code);
    let Some(Event::Fault { addr, code }) = events.last().copied() else {
        panic!("{events:?}")
    };
    let sig = mm.handle_fault(addr, code).unwrap().unwrap();
    assert_eq!(
        (sig.signo, sig.code, sig.addr),
        (libc::SIGSEGV, 2, 0x40_0000)
    );
}
