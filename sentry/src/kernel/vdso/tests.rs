use super::*;
use crate::loader::elf;

const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_RELA: u64 = 7;
const DT_REL: u64 = 17;
const DT_TEXTREL: u64 = 22;
const DT_JMPREL: u64 = 23;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;

fn u16_at(at: u64) -> u16 {
    u16::from_le_bytes(IMAGE[at as usize..at as usize + 2].try_into().unwrap())
}

fn u32_at(at: u64) -> u32 {
    u32::from_le_bytes(IMAGE[at as usize..at as usize + 4].try_into().unwrap())
}

fn u64_at(at: u64) -> u64 {
    u64::from_le_bytes(IMAGE[at as usize..at as usize + 8].try_into().unwrap())
}

fn cstr_at(at: u64) -> &'static str {
    let s = &IMAGE[at as usize..];
    std::str::from_utf8(&s[..s.iter().position(|&b| b == 0).unwrap()]).unwrap()
}

fn phdrs() -> Vec<elf::Phdr> {
    let ehdr = elf::parse_ehdr(IMAGE).unwrap();
    elf::parse_phdrs(&IMAGE[ehdr.e_phoff as usize..], ehdr.e_phnum as usize).unwrap()
}

/// The image's dynamic section as (tag, value) pairs.
fn dynamic() -> Vec<(u64, u64)> {
    let ph = phdrs()
        .into_iter()
        .find(|p| p.p_type == PT_DYNAMIC)
        .unwrap();
    (0..ph.p_filesz / 16)
        .map(|i| {
            (
                u64_at(ph.p_offset + 16 * i),
                u64_at(ph.p_offset + 16 * i + 8),
            )
        })
        .take_while(|&(tag, _)| tag != DT_NULL)
        .collect()
}

fn dyn_value(tag: u64) -> u64 {
    dynamic()
        .into_iter()
        .find(|&(t, _)| t == tag)
        .unwrap_or_else(|| panic!("no dynamic tag {tag:#x}"))
        .1
}

/// Every exported symbol: (name, value, version name).
fn exported() -> Vec<(String, u64, String)> {
    let (symtab, strtab) = (dyn_value(DT_SYMTAB), dyn_value(DT_STRTAB));
    let (versym, verdef) = (dyn_value(DT_VERSYM), dyn_value(DT_VERDEF));
    let count = u32_at(dyn_value(DT_HASH) + 4); // nchain
                                                // Version index -> name, from the Elf64_Verdef chain.
    let mut versions = std::collections::HashMap::new();
    let mut vd = verdef;
    loop {
        let index = u16_at(vd + 4);
        let aux = vd + u64::from(u32_at(vd + 12));
        versions.insert(index, cstr_at(strtab + u64::from(u32_at(aux))).to_string());
        match u32_at(vd + 16) {
            0 => break,
            next => vd += u64::from(next),
        }
    }
    (1..u64::from(count))
        .map(|i| {
            let sym = symtab + 24 * i;
            let name = cstr_at(strtab + u64::from(u32_at(sym))).to_string();
            let version = versions[&(u16_at(versym + 2 * i) & 0x7fff)].clone();
            (name, u64_at(sym + 8), version)
        })
        .filter(|(_, value, _)| *value != 0)
        .collect()
}

#[test]
fn image_is_one_read_execute_segment_laid_out_as_in_memory() {
    let ehdr = elf::parse_ehdr(IMAGE).unwrap();
    assert_eq!(ehdr.e_type, elf::ET_DYN);
    let loads: Vec<_> = phdrs()
        .into_iter()
        .filter(|p| p.p_type == elf::PT_LOAD)
        .collect();
    assert_eq!(loads.len(), 1);
    let text = loads[0];
    assert_eq!((text.p_offset, text.p_vaddr), (0, 0));
    assert_eq!(text.p_filesz, text.p_memsz, "no bss");
    assert_eq!(text.p_flags, elf::PF_R | elf::PF_X);
    assert!(text.p_filesz <= IMAGE.len() as u64);
}

#[test]
fn image_needs_no_relocation() {
    let tags: Vec<u64> = dynamic().into_iter().map(|(t, _)| t).collect();
    for tag in [DT_RELA, DT_REL, DT_JMPREL, DT_TEXTREL] {
        assert!(!tags.contains(&tag), "dynamic tag {tag} in the vDSO");
    }
}

#[test]
fn image_exports_the_linux_vdso_functions_at_version_linux_2_6() {
    let symbols = exported();
    for name in [
        "clock_gettime",
        "gettimeofday",
        "time",
        "clock_getres",
        "getcpu",
    ] {
        let prefixed = format!("__vdso_{name}");
        let find = |n: &str| {
            symbols
                .iter()
                .find(|(s, _, _)| s == n)
                .unwrap_or_else(|| panic!("{n} not exported: {symbols:?}"))
                .clone()
        };
        let (_, value, version) = find(&prefixed);
        assert_eq!(version, "LINUX_2.6");
        let (_, alias, _) = find(name);
        assert_eq!(alias, value, "{name} is an alias of {prefixed}");
    }
}

#[test]
fn host_tsc_needs_invariant_tsc_and_the_tsc_clocksource() {
    let cpuinfo = "processor\t: 0\nflags\t\t: fpu tsc constant_tsc nonstop_tsc rdtscp\n";
    assert_eq!(judge_host_tsc(cpuinfo, "tsc\n"), HostTsc::Usable);
    assert!(matches!(
        judge_host_tsc(cpuinfo, "kvm-clock\n"),
        HostTsc::Unusable(_)
    ));
    assert!(matches!(
        judge_host_tsc("flags\t: fpu tsc constant_tsc\n", "tsc\n"),
        HostTsc::Unusable(_)
    ));
    assert!(matches!(judge_host_tsc("", "tsc"), HostTsc::Unusable(_)));
}

#[test]
fn parameter_page_is_not_ready_without_a_usable_tsc() {
    let mf = Arc::new(MemoryFile::new().unwrap());
    let vdso = Vdso::new(&mf, &HostTsc::Unusable("test".into())).unwrap();
    let ready = vdso
        .vvar
        .load_u64(params::offset::READY, std::sync::atomic::Ordering::Acquire);
    assert_eq!(ready, 0);
    assert_eq!(vdso.text.read(0, 4), b"\x7fELF");
}
