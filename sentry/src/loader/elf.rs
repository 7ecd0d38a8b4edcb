//! ELF64 headers, as the loader needs them.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::errno;
use crate::errno::Result;

/// ET_EXEC.
pub const ET_EXEC: u16 = 2;
/// ET_DYN.
pub const ET_DYN: u16 = 3;
/// EM_X86_64.
pub const EM_X86_64: u16 = 62;
/// PT_LOAD.
pub const PT_LOAD: u32 = 1;
/// PT_INTERP.
pub const PT_INTERP: u32 = 3;
/// PT_PHDR.
pub const PT_PHDR: u32 = 6;
/// PT_GNU_STACK.
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// Segment is executable.
pub const PF_X: u32 = 1;
/// Segment is writable.
pub const PF_W: u32 = 2;
/// Segment is readable.
pub const PF_R: u32 = 4;

/// `Elf64_Ehdr`.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Ehdr {
    pub e_ident: [u8; 16],
    pub e_type: u16,
    pub e_machine: u16,
    pub e_version: u32,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_shoff: u64,
    pub e_flags: u32,
    pub e_ehsize: u16,
    pub e_phentsize: u16,
    pub e_phnum: u16,
    pub e_shentsize: u16,
    pub e_shnum: u16,
    pub e_shstrndx: u16,
}

/// `Elf64_Phdr`.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Phdr {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_paddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

/// Size of a program header.
pub const PHDR_SIZE: usize = std::mem::size_of::<Phdr>();

/// Whether `buf` starts with the ELF magic.
pub fn is_elf(buf: &[u8]) -> bool {
    buf.starts_with(b"\x7fELF")
}

/// Validates an ELF header for an x86-64 Linux executable (ENOEXEC otherwise).
pub fn parse_ehdr(buf: &[u8]) -> Result<Ehdr> {
    let (ehdr, _) = Ehdr::read_from_prefix(buf).map_err(|_| errno!(ENOEXEC))?;
    let ok = is_elf(&ehdr.e_ident)
        && ehdr.e_ident[4] == 2 // ELFCLASS64
        && ehdr.e_ident[5] == 1 // little endian
        && ehdr.e_ident[6] == 1 // EV_CURRENT
        && ehdr.e_machine == EM_X86_64
        && (ehdr.e_type == ET_EXEC || ehdr.e_type == ET_DYN)
        && ehdr.e_phentsize as usize == PHDR_SIZE
        && ehdr.e_phnum > 0
        && (ehdr.e_phnum as usize) * PHDR_SIZE <= 65536;
    if !ok {
        return Err(errno!(ENOEXEC, "not an x86-64 ELF executable"));
    }
    Ok(ehdr)
}

/// Parses the program header table.
pub fn parse_phdrs(buf: &[u8], count: usize) -> Result<Vec<Phdr>> {
    (0..count)
        .map(|i| {
            let at = i * PHDR_SIZE;
            buf.get(at..at + PHDR_SIZE)
                .and_then(|b| Phdr::read_from_bytes(b).ok())
                .ok_or_else(|| errno!(ENOEXEC))
        })
        .collect()
}
