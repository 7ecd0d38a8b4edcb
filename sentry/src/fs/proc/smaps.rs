//! /proc/[pid]/maps, smaps and smaps_rollup: the address space's VMAs and what of
//! them is resident, from the sentry's own VMA tree and page table.
//!
//! What the sentry cannot know exactly: hardware dirty and accessed bits (a page is
//! dirty when it is private to the address space or writable through a shared
//! mapping; every resident page counts as referenced, since pages are mapped when the
//! guest touches them or a neighbour), and which of a VMA's flags Linux would have
//! picked up from its history (`ac` is shown for private writable VMAs).

use std::fmt::Write as _;

use crate::mm::{Backing, ResidentStats, Vma, VmaKind, PSS_SHIFT};
use crate::platform::PAGE_SIZE;

/// The column maps pads names to (as Linux's seq_pad).
const NAME_COLUMN: usize = 73;

/// The maps line of `vma`, with its newline.
pub(super) fn maps_line(vma: &Vma) -> String {
    let (offset, id, mut name) = match &vma.backing {
        Backing::Object { obj, pgoff, name } => {
            let id = obj.identity();
            let mut n = name.as_ref().map(|n| n.to_vec()).unwrap_or_default();
            if id.deleted && !n.is_empty() {
                n.extend_from_slice(b" (deleted)");
            }
            (pgoff * PAGE_SIZE, (id.dev, id.ino), n)
        }
        Backing::Anonymous => (
            0,
            (0, 0),
            match vma.kind {
                VmaKind::Heap => b"[heap]".to_vec(),
                VmaKind::Stack => b"[stack]".to_vec(),
                VmaKind::Plain => Vec::new(),
            },
        ),
    };
    let mut line = format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        vma.start,
        vma.end,
        if vma.prot.read { 'r' } else { '-' },
        if vma.prot.write { 'w' } else { '-' },
        if vma.prot.exec { 'x' } else { '-' },
        if vma.shared { 's' } else { 'p' },
        offset,
        (id.0 >> 8) & 0xfff,
        id.0 & 0xff,
        id.1
    );
    if !name.is_empty() {
        line.push_str(&" ".repeat(NAME_COLUMN.saturating_sub(line.len())));
        name.push(b'\n');
        line.push_str(&String::from_utf8_lossy(&name));
    } else {
        line.push('\n');
    }
    line
}

/// One "Name:   value kB" row: the name padded to 16 columns, the value to 8.
fn row(out: &mut String, name: &str, kb: u64) {
    let _ = writeln!(out, "{:<16}{kb:>8} kB", format!("{name}:"));
}

/// The counters smaps shows for each VMA and smaps_rollup for all of them.
fn counters(out: &mut String, s: &ResidentStats, rollup: bool) {
    let kb = |pages: u64| pages * PAGE_SIZE / 1024;
    let pss_kb = |pss: u128| (pss >> (10 + PSS_SHIFT)) as u64;
    row(out, "Rss", kb(s.rss));
    row(out, "Pss", pss_kb(s.pss));
    row(out, "Pss_Dirty", pss_kb(s.pss_dirty));
    if rollup {
        row(out, "Pss_Anon", pss_kb(s.pss_anon));
        row(out, "Pss_File", pss_kb(s.pss - s.pss_anon));
        row(out, "Pss_Shmem", 0);
    }
    row(out, "Shared_Clean", kb(s.shared_clean));
    row(out, "Shared_Dirty", kb(s.shared_dirty));
    row(out, "Private_Clean", kb(s.private_clean));
    row(out, "Private_Dirty", kb(s.private_dirty));
    row(out, "Referenced", kb(s.rss));
    row(out, "Anonymous", kb(s.anon));
    for name in [
        "KSM",
        "LazyFree",
        "AnonHugePages",
        "ShmemPmdMapped",
        "FilePmdMapped",
        "Shared_Hugetlb",
        "Private_Hugetlb",
        "Swap",
        "SwapPss",
        "Locked",
    ] {
        row(out, name, 0);
    }
}

/// The VmFlags line's flags of `vma`.
fn vm_flags(vma: &Vma) -> String {
    let flags = [
        (vma.prot.read, "rd"),
        (vma.prot.write, "wr"),
        (vma.prot.exec, "ex"),
        (vma.shared, "sh"),
        (vma.max_prot.read, "mr"),
        (vma.max_prot.write, "mw"),
        (vma.max_prot.exec, "me"),
        (vma.shared, "ms"),
        (vma.growsdown || vma.kind == VmaKind::Stack, "gd"),
        (!vma.shared && vma.prot.write, "ac"),
    ];
    flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| format!("{name} "))
        .collect()
}

/// /proc/[pid]/smaps: each VMA's maps line, then its sizes and flags.
pub(super) fn smaps(mm: &crate::mm::MemoryManager) -> String {
    let mut out = String::new();
    for vma in mm.vmas() {
        out.push_str(&maps_line(&vma));
        row(&mut out, "Size", vma.len() / 1024);
        row(&mut out, "KernelPageSize", PAGE_SIZE / 1024);
        row(&mut out, "MMUPageSize", PAGE_SIZE / 1024);
        counters(&mut out, &mm.resident_stats(vma.start, vma.end), false);
        let _ = writeln!(out, "{:<16}{:>8}", "THPeligible:", 0);
        let _ = writeln!(out, "VmFlags: {}", vm_flags(&vma));
    }
    out
}

/// /proc/[pid]/smaps_rollup: the sums over every VMA, under a maps-style line that
/// spans them all.
pub(super) fn smaps_rollup(mm: &crate::mm::MemoryManager) -> String {
    let vmas = mm.vmas();
    let mut total = ResidentStats::default();
    for vma in &vmas {
        total.add(&mm.resident_stats(vma.start, vma.end));
    }
    let (start, end) = match (vmas.first(), vmas.last()) {
        (Some(f), Some(l)) => (f.start, l.end),
        _ => (0, 0),
    };
    let line = format!("{start:08x}-{end:08x} ---p 00000000 00:00 0 ");
    let mut out = format!(
        "{line}{}[rollup]\n",
        " ".repeat(NAME_COLUMN.saturating_sub(line.len()))
    );
    counters(&mut out, &total, true);
    out
}
