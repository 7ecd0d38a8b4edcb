//! The program loader: execve of ELF executables (static and dynamic, PIE or not) and
//! `#!` scripts into a fresh address space, with the sentry's vDSO mapped in
//! (AT_SYSINFO_EHDR).

pub mod elf;
mod stack;

use std::sync::Arc;

use crate::errno;
use crate::errno::Result;
use crate::kernel::caps::{self, FileCaps};
use crate::kernel::creds::ExecFile;
use crate::kernel::{random, Task};
use crate::mm::{page_down, page_up, Backing, Mappable, MemoryManager, MmapRequest, VmaKind};
use crate::platform::{Prot, Regs, MAX_USER_ADDRESS, PAGE_SIZE};
use crate::vfs::{File, FileType, Path};
use elf::{Ehdr, Phdr};
pub use stack::at;

/// Where non-PIE-relative PIE executables are loaded (Linux's ELF_ET_DYN_BASE).
const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4aaa & !(PAGE_SIZE - 1);
/// How many nested `#!` scripts execve follows before ELOOP (exec_binprm's limit).
const MAX_SCRIPT_DEPTH: u32 = 5;
/// Bits of page-granular randomization for mmap base and PIE base (mmap_rnd_bits).
const MMAP_RND_BITS: u32 = 28;
/// Bits of page-granular stack top randomization (STACK_RND_MASK).
const STACK_RND_BITS: u32 = 22;
/// x86-64 user code and stack segment selectors.
const USER_CS: u64 = 0x33;
const USER_DS: u64 = 0x2b;

/// An executable opened for exec.
struct Executable {
    file: Arc<File>,
    head: Vec<u8>,
    /// Its absolute path (for /proc/[pid]/maps).
    name: Arc<[u8]>,
}

fn open_exec(task: &Task, path: &[u8]) -> Result<(Executable, Path)> {
    let p = task.lookup(libc::AT_FDCWD, path, true)?;
    if p.file_type() != FileType::Regular {
        return Err(errno!(EACCES));
    }
    let st = p.inode().stat()?;
    if p.mount.flags().no_exec
        || !task
            .creds
            .may_access(false, st.mode, st.uid, st.gid, 1, false)
    {
        return Err(errno!(EACCES));
    }
    let ops = p.inode().clone().open(libc::O_RDONLY as u32)?;
    let file = File::new(ops, libc::O_RDONLY as u32, Some(p.clone()));
    let mut head = vec![0u8; 256];
    let n = file.pread(&mut head, 0)?;
    head.truncate(n);
    let name = Arc::from(task.absolute_path(&p).0.as_slice());
    Ok((Executable { file, head, name }, p))
}

/// Parses a `#!` line: the interpreter and its optional single argument.
fn parse_shebang(head: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let line_end = head.iter().position(|&b| b == b'\n');
    let line = &head[2..line_end.unwrap_or(head.len())];
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line
        .iter()
        .position(|b| !is_blank(b))
        .ok_or_else(|| errno!(ENOEXEC))?;
    let line = &line[start..];
    let interp_len = line.iter().position(is_blank).unwrap_or(line.len());
    if line_end.is_none() && interp_len == line.len() {
        // The interpreter name runs past the 256 bytes Linux reads: refuse rather than
        // run a truncated path.
        return Err(errno!(ENOEXEC));
    }
    let interp = line[..interp_len].to_vec();
    let rest = &line[interp_len..];
    let arg = rest
        .iter()
        .position(|b| !is_blank(b))
        .map(|s| {
            let r = &rest[s..];
            let end = r.iter().rposition(|b| !is_blank(b)).map_or(0, |e| e + 1);
            r[..end].to_vec()
        })
        .filter(|a| !a.is_empty());
    Ok((interp, arg))
}

fn read_phdrs(exe: &Executable, ehdr: &Ehdr) -> Result<Vec<Phdr>> {
    let len = ehdr.e_phnum as usize * elf::PHDR_SIZE;
    let mut buf = vec![0u8; len];
    let n = exe.file.pread(&mut buf, ehdr.e_phoff)?;
    if n != len {
        return Err(errno!(ENOEXEC));
    }
    elf::parse_phdrs(&buf, ehdr.e_phnum as usize)
}

fn prot_of(flags: u32) -> Prot {
    Prot {
        read: flags & elf::PF_R != 0,
        write: flags & elf::PF_W != 0,
        exec: flags & elf::PF_X != 0,
    }
}

fn random_pages(bits: u32) -> u64 {
    (random::u64() & ((1u64 << bits) - 1)) * PAGE_SIZE
}

/// The span `[lowest page, end)` of an ELF's loadable segments (before relocation).
fn load_span(phdrs: &[Phdr]) -> Result<(u64, u64)> {
    let loads = phdrs.iter().filter(|p| p.p_type == elf::PT_LOAD);
    let lo = loads
        .clone()
        .map(|p| page_down(p.p_vaddr))
        .min()
        .ok_or_else(|| errno!(ENOEXEC))?;
    let hi = loads
        .map(|p| p.p_vaddr.saturating_add(p.p_memsz))
        .max()
        .ok_or_else(|| errno!(ENOEXEC))?;
    Ok((lo, page_up(hi).ok_or_else(|| errno!(ENOEXEC))?))
}

/// Maps an ELF's PT_LOAD segments at `bias`; returns the end of its highest segment.
fn map_segments(mm: &MemoryManager, exe: &Executable, phdrs: &[Phdr], bias: u64) -> Result<u64> {
    let obj: Arc<dyn Mappable> = exe.file.ops().mappable()?;
    let all = Prot {
        read: true,
        write: true,
        exec: true,
    };
    let mut end = 0;
    for ph in phdrs.iter().filter(|p| p.p_type == elf::PT_LOAD) {
        if ph.p_filesz > ph.p_memsz || (ph.p_vaddr.wrapping_sub(ph.p_offset)) % PAGE_SIZE != 0 {
            return Err(errno!(ENOEXEC, "bad PT_LOAD"));
        }
        let prot = prot_of(ph.p_flags);
        let vaddr = bias
            .checked_add(ph.p_vaddr)
            .ok_or_else(|| errno!(ENOEXEC))?;
        let start = page_down(vaddr);
        let file_end = vaddr + ph.p_filesz;
        let mem_end = vaddr
            .checked_add(ph.p_memsz)
            .filter(|&e| e <= MAX_USER_ADDRESS)
            .ok_or_else(|| errno!(ENOMEM))?;
        let mut bss_start = start;
        if ph.p_filesz > 0 {
            let map_end = page_up(file_end).ok_or_else(|| errno!(ENOMEM))?;
            mm.mmap(MmapRequest {
                addr: start,
                len: map_end - start,
                prot,
                max_prot: all,
                shared: false,
                fixed: true,
                noreplace: false,
                growsdown: false,
                backing: Backing::Object {
                    obj: obj.clone(),
                    pgoff: page_down(ph.p_offset) / PAGE_SIZE,
                    name: Some(exe.name.clone()),
                },
                kind: VmaKind::Plain,
            })?;
            bss_start = map_end;
            if ph.p_memsz > ph.p_filesz && prot.write && file_end < map_end {
                // Like Linux's padzero: the whole rest of the last file page reads as
                // zeros (ld.so's early allocator relies on the tail past .bss).
                mm.zero_out(file_end, (map_end - file_end) as usize)?;
            }
        }
        let bss_end = page_up(mem_end).ok_or_else(|| errno!(ENOMEM))?;
        if bss_end > bss_start {
            mm.mmap(MmapRequest {
                addr: bss_start,
                len: bss_end - bss_start,
                prot,
                max_prot: all,
                shared: false,
                fixed: true,
                noreplace: false,
                growsdown: false,
                backing: Backing::Anonymous,
                kind: VmaKind::Plain,
            })?;
        }
        end = end.max(mem_end);
    }
    Ok(end)
}

/// The address the program headers are mapped at.
fn phdr_addr(ehdr: &Ehdr, phdrs: &[Phdr], bias: u64) -> u64 {
    if let Some(p) = phdrs.iter().find(|p| p.p_type == elf::PT_PHDR) {
        return bias + p.p_vaddr;
    }
    phdrs
        .iter()
        .filter(|p| p.p_type == elf::PT_LOAD)
        .find(|p| ehdr.e_phoff >= p.p_offset && ehdr.e_phoff < p.p_offset + p.p_filesz)
        .map_or(0, |p| bias + p.p_vaddr + (ehdr.e_phoff - p.p_offset))
}

fn host_auxval(key: u64) -> u64 {
    crate::abi::hostcall::getauxval(key)
}

/// Replaces the task's program with the one at `filename` (execve(2)).
///
/// Everything that can fail is done before the task is touched: on error the caller's
/// program, address space and files are unchanged.
pub fn execve(
    task: &mut Task,
    filename: &[u8],
    mut argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<()> {
    let execfn = filename.to_vec();
    let mut path = filename.to_vec();
    let mut depth = 0;
    let (exe, exe_path) = loop {
        let (exe, p) = open_exec(task, &path)?;
        if !exe.head.starts_with(b"#!") {
            break (exe, p);
        }
        depth += 1;
        if depth > MAX_SCRIPT_DEPTH {
            return Err(errno!(ELOOP));
        }
        let (interp, arg) = parse_shebang(&exe.head)?;
        let mut new_argv = vec![interp.clone()];
        new_argv.extend(arg);
        new_argv.push(path.clone());
        new_argv.extend(argv.into_iter().skip(1));
        argv = new_argv;
        path = interp;
    };
    if !elf::is_elf(&exe.head) {
        return Err(errno!(ENOEXEC));
    }
    let mut creds = task.creds.clone();
    let secure = creds.exec(&exec_file(&exe_path)?)?;
    let ehdr = elf::parse_ehdr(&exe.head)?;
    let phdrs = read_phdrs(&exe, &ehdr)?;

    let interp = match phdrs.iter().find(|p| p.p_type == elf::PT_INTERP) {
        Some(p) => {
            if p.p_filesz < 2 || p.p_filesz > 4096 {
                return Err(errno!(ENOEXEC));
            }
            let mut name = vec![0u8; p.p_filesz as usize];
            if exe.file.pread(&mut name, p.p_offset)? != name.len() || name.pop() != Some(0) {
                return Err(errno!(ENOEXEC));
            }
            let (iexe, _) = open_exec(task, &name)?;
            let iehdr = elf::parse_ehdr(&iexe.head)?;
            let iphdrs = read_phdrs(&iexe, &iehdr)?;
            Some((iexe, iehdr, iphdrs))
        }
        None => None,
    };

    // Address-space layout, randomized as Linux does.
    let stack_limit = task.tg.limit(libc::RLIMIT_STACK).clamp(128 << 10, 1 << 30);
    let stack_top = page_down(MAX_USER_ADDRESS - random_pages(STACK_RND_BITS));
    let gap = stack_limit.max(128 << 20) + (1 << 20);
    let mmap_base = page_down(stack_top - gap - random_pages(MMAP_RND_BITS));

    let space = task
        .kernel
        .platform
        .new_address_space(task.kernel.memory_file.fd())?;
    task.ctx.reset_fpstate(&space)?;
    let mm = Arc::new(MemoryManager::new(
        task.kernel.memory_file.clone(),
        space,
        mmap_base,
    ));

    let (lo, hi) = load_span(&phdrs)?;
    let bias = match (ehdr.e_type, interp.is_some()) {
        (elf::ET_EXEC, _) => 0,
        (_, true) => page_down(ELF_ET_DYN_BASE + random_pages(MMAP_RND_BITS)) - lo,
        (_, false) => mm.find_free(hi - lo)? - lo,
    };
    let end = map_segments(&mm, &exe, &phdrs, bias)?;
    let mut entry = bias + ehdr.e_entry;
    let mut interp_base = 0;
    if let Some((iexe, iehdr, iphdrs)) = &interp {
        let (ilo, ihi) = load_span(iphdrs)?;
        let ibias = if iehdr.e_type == elf::ET_DYN {
            mm.find_free(ihi - ilo)? - ilo
        } else {
            0
        };
        map_segments(&mm, iexe, iphdrs, ibias)?;
        entry = ibias + iehdr.e_entry;
        interp_base = ibias + ilo;
    }
    let vdso = task.kernel.vdso.map(&mm)?;
    let brk = page_up(end).ok_or_else(|| errno!(ENOMEM))? + random_pages(13);
    mm.set_brk_start(brk);

    let exec_stack = phdrs
        .iter()
        .find(|p| p.p_type == elf::PT_GNU_STACK)
        .is_some_and(|p| p.p_flags & elf::PF_X != 0);
    let stack_prot = Prot {
        read: true,
        write: true,
        exec: exec_stack,
    };
    mm.mmap(MmapRequest {
        addr: stack_top - stack_limit,
        len: stack_limit,
        prot: stack_prot,
        max_prot: Prot {
            read: true,
            write: true,
            exec: true,
        },
        shared: false,
        fixed: true,
        noreplace: false,
        growsdown: true,
        backing: Backing::Anonymous,
        kind: VmaKind::Stack,
    })?;

    let c = &creds;
    let auxv_head = vec![
        (at::SYSINFO_EHDR, vdso),
        (at::MINSIGSTKSZ, host_auxval(at::MINSIGSTKSZ).max(2048)),
        (at::HWCAP, host_auxval(at::HWCAP)),
        (at::PAGESZ, PAGE_SIZE),
        (at::CLKTCK, 100),
        (at::PHDR, phdr_addr(&ehdr, &phdrs, bias)),
        (at::PHENT, elf::PHDR_SIZE as u64),
        (at::PHNUM, ehdr.e_phnum as u64),
        (at::BASE, interp_base),
        (at::FLAGS, 0),
        (at::ENTRY, bias + ehdr.e_entry),
        (at::UID, c.uid as u64),
        (at::EUID, c.euid as u64),
        (at::GID, c.gid as u64),
        (at::EGID, c.egid as u64),
        (at::SECURE, u64::from(secure)),
    ];
    let hwcap2 = host_auxval(at::HWCAP2);
    let auxv_tail = if hwcap2 != 0 {
        vec![(at::HWCAP2, hwcap2)]
    } else {
        Vec::new()
    };
    let mut rnd = [0u8; 16];
    random::fill(&mut rnd);
    let (sp, layout) = stack::build(
        &mm,
        stack_top,
        stack::StackInfo {
            argv: &argv,
            envp: &envp,
            execfn: &execfn,
            auxv_head,
            auxv_tail,
            sp_random: random::u64() % 8192,
            random: rnd,
            strings_limit: stack_limit / 4,
        },
    )?;
    mm.set_exec_layout(layout);

    // Point of no return: the new program replaces the old one.
    task.de_thread()?;
    task.release_mm();
    // POSIX timers do not survive execve (interval timers do).
    task.tg.posix_timers.lock().clear();
    task.mm = mm;
    task.reset_interrupter();
    task.regs = initial_regs(entry, sp);
    task.altstack = Default::default();
    task.files.close_on_exec();
    task.tg.actions.lock().reset_for_exec();
    task.clear_child_tid = 0;
    task.robust_list = (0, 0);
    let base = execfn.rsplit(|&b| b == b'/').next().unwrap_or(&execfn);
    task.set_comm(base);
    task.exe = Some(exe_path);
    task.creds = creds;
    Ok(())
}

/// What the credentials' execve rules need of the program file: owner, mode, the
/// mount's nosuid, and its `security.capability` (none if absent or malformed).
fn exec_file(p: &Path) -> Result<ExecFile> {
    let st = p.inode().stat()?;
    let caps = p
        .inode()
        .getxattr(caps::XATTR_NAME)
        .ok()
        .and_then(|v| FileCaps::parse(&v));
    Ok(ExecFile {
        uid: st.uid,
        gid: st.gid,
        mode: st.mode,
        nosuid: p.mount.flags().no_suid,
        caps,
    })
}

fn initial_regs(entry: u64, sp: u64) -> Regs {
    let mut r = Regs::default();
    r.0.rip = entry;
    r.0.rsp = sp;
    r.0.cs = USER_CS;
    r.0.ss = USER_DS;
    r.0.eflags = 0x202;
    r.0.orig_rax = u64::MAX;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_takes_interpreter_and_one_argument() {
        let (i, a) = parse_shebang(b"#!/bin/sh -e -x \nrest").unwrap();
        assert_eq!(i, b"/bin/sh");
        assert_eq!(a.unwrap(), b"-e -x");
    }

    #[test]
    fn shebang_without_argument() {
        let (i, a) = parse_shebang(b"#! /usr/bin/env\n").unwrap();
        assert_eq!(i, b"/usr/bin/env");
        assert!(a.is_none());
    }

    #[test]
    fn empty_shebang_is_enoexec() {
        assert_eq!(parse_shebang(b"#!   \n").unwrap_err().code(), libc::ENOEXEC);
    }
}
