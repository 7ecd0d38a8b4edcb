//! Builds moat's vDSO (`vdso/`) with the machine's gcc into `$OUT_DIR/vdso.so`, which
//! the sentry embeds (see `src/kernel/vdso/mod.rs`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let src = manifest.join("vdso");
    for file in ["vdso.c", "vdso.lds", "vvar.h"] {
        println!("cargo:rerun-if-changed=vdso/{file}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let target = out.join("vdso.so");
    let status = Command::new("gcc")
        .args([
            "-O2",
            "-std=gnu11",
            "-Wall",
            "-Wextra",
            "-Werror",
            // Position independent, self-contained, nothing a loader would have to fix up.
            "-fPIC",
            "-nostdlib",
            "-shared",
            "-fno-stack-protector",
            "-fno-builtin",
            "-fcf-protection=none",
            // Unwind tables, so debuggers and profilers can walk out of the vDSO.
            "-fasynchronous-unwind-tables",
            "-Wl,-soname=linux-vdso.so.1",
            "-Wl,--hash-style=both",
            "-Wl,--no-undefined",
            "-Wl,-Bsymbolic",
            "-Wl,--eh-frame-hdr",
            "-Wl,--build-id=none",
            "-Wl,-z,max-page-size=4096",
            "-Wl,-z,noexecstack",
        ])
        .arg(format!("-Wl,-T,{}", src.join("vdso.lds").display()))
        .arg("-o")
        .arg(&target)
        .arg(src.join("vdso.c"))
        .status()
        .expect("run gcc to build the vDSO (is gcc installed?)");
    assert!(status.success(), "building the vDSO failed");
}
