//! Builds what the integration tests run: every `guest/*.c` compiled with the
//! machine's gcc, once static and once dynamic, and a fixture tree the guests
//! read (the sandbox's root is read-only, so tests never create files at run
//! time).
//!
//! Exposed to the tests:
//! - `GUEST_BIN_DIR`: `<name>.static` and `<name>.dynamic` for each guest.
//! - `FIXTURES_DIR`: the fixture tree (see `make_fixtures` for its layout).
//! - `ROOTFS_DIR`: a minimal root filesystem for `moat do --rootfs`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Links beyond Linux's limit of 40 symlinks followed in one path walk.
const SYMLINK_CHAIN_LEN: usize = 41;
/// Size of the deterministic binary fixture `big.bin`.
const BIG_FILE_LEN: usize = 5 * 1024 * 1024;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=guest");
    println!("cargo:rerun-if-changed=build.rs");

    let bin_dir = out.join("guest");
    fs::create_dir_all(&bin_dir).expect("create guest output directory");
    compile_guests(&manifest.join("guest"), &bin_dir);

    let fixtures = out.join("fixtures");
    make_fixtures(&fixtures).expect("create test fixtures");

    let rootfs = out.join("rootfs");
    make_rootfs(&rootfs, &bin_dir).expect("create test rootfs");

    println!("cargo:rustc-env=GUEST_BIN_DIR={}", bin_dir.display());
    println!("cargo:rustc-env=FIXTURES_DIR={}", fixtures.display());
    println!("cargo:rustc-env=ROOTFS_DIR={}", rootfs.display());
}

/// Compiles every `*.c` of `src_dir` into `<name>.static` and `<name>.dynamic`.
fn compile_guests(src_dir: &Path, bin_dir: &Path) {
    let mut sources: Vec<PathBuf> = fs::read_dir(src_dir)
        .expect("read tests/guest")
        .map(|entry| entry.expect("read tests/guest entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.sort();

    let failures: Vec<String> = std::thread::scope(|scope| {
        let jobs: Vec<_> = sources
            .iter()
            .flat_map(|src| [(src, true), (src, false)])
            .map(|(src, is_static)| scope.spawn(move || compile(src_dir, src, bin_dir, is_static)))
            .collect();
        jobs.into_iter()
            .filter_map(|job| job.join().expect("compiler thread panicked").err())
            .collect()
    });
    if !failures.is_empty() {
        panic!("compiling guest programs failed:\n{}", failures.join("\n"));
    }
}

fn compile(include: &Path, src: &Path, bin_dir: &Path, is_static: bool) -> Result<(), String> {
    let stem = src
        .file_stem()
        .expect("a .c file has a stem")
        .to_string_lossy();
    let suffix = if is_static { "static" } else { "dynamic" };
    let bin = bin_dir.join(format!("{stem}.{suffix}"));
    let mut gcc = Command::new("gcc");
    gcc.args(["-O1", "-Wall", "-Werror", "-D_GNU_SOURCE"])
        .arg("-I")
        .arg(include);
    if is_static {
        gcc.arg("-static");
    }
    gcc.arg("-o").arg(&bin).arg(src);
    let output = gcc
        .output()
        .map_err(|e| format!("cannot run gcc ({e}): the guest programs need gcc and the C library's static archives (libc6-dev)"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{gcc:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The fixture tree, rebuilt from scratch on every build script run:
///
/// ```text
/// file.txt            "hello, fixture\n", 0644
/// hardlink.txt        a hard link to file.txt (so both have st_nlink 2)
/// private.txt         "secret\n", 0600
/// script.sh           a #!/bin/sh script, 0755
/// big.bin             5 MiB of deterministic bytes
/// empty/              an empty directory
/// dir/a.txt           "a\n"
/// dir/link_to_a       -> a.txt
/// dir/sub/b.txt       "b\n"
/// dir/sub/deeper/c.txt "c\n"
/// links/rel           -> ../file.txt
/// links/abs           -> <fixtures>/file.txt
/// links/dirlink       -> ../dir
/// links/dangling      -> nonexistent
/// links/loop_a        -> loop_b, links/loop_b -> loop_a
/// links/chain_00 .. chain_40: chain_NN -> chain_NN+1, chain_40 -> ../file.txt
/// ```
///
/// chain_00 needs 41 symlinks followed (ELOOP), chain_01 exactly 40 (allowed).
fn make_fixtures(root: &Path) -> std::io::Result<()> {
    if root.exists() {
        fs::remove_dir_all(root)?;
    }
    fs::create_dir_all(root.join("dir/sub/deeper"))?;
    fs::create_dir_all(root.join("links"))?;
    fs::create_dir_all(root.join("empty"))?;

    write_with_mode(&root.join("file.txt"), b"hello, fixture\n", 0o644)?;
    fs::hard_link(root.join("file.txt"), root.join("hardlink.txt"))?;
    write_with_mode(&root.join("private.txt"), b"secret\n", 0o600)?;
    write_with_mode(
        &root.join("script.sh"),
        b"#!/bin/sh\necho \"script ran with $# args: $*\"\necho \"sum: $((6 * 7))\"\n",
        0o755,
    )?;
    write_with_mode(
        &root.join("big.bin"),
        &deterministic_bytes(BIG_FILE_LEN),
        0o644,
    )?;
    write_with_mode(&root.join("dir/a.txt"), b"a\n", 0o644)?;
    make_exec_fixtures(root)?;
    symlink("a.txt", root.join("dir/link_to_a"))?;
    write_with_mode(&root.join("dir/sub/b.txt"), b"b\n", 0o644)?;
    write_with_mode(&root.join("dir/sub/deeper/c.txt"), b"c\n", 0o644)?;
    for dir in ["dir", "dir/sub", "dir/sub/deeper", "links", "empty"] {
        fs::set_permissions(root.join(dir), fs::Permissions::from_mode(0o755))?;
    }

    let links = root.join("links");
    symlink("../file.txt", links.join("rel"))?;
    symlink(root.join("file.txt"), links.join("abs"))?;
    symlink("../dir", links.join("dirlink"))?;
    symlink("nonexistent", links.join("dangling"))?;
    symlink("loop_b", links.join("loop_a"))?;
    symlink("loop_a", links.join("loop_b"))?;
    for i in 0..SYMLINK_CHAIN_LEN {
        let target = if i + 1 == SYMLINK_CHAIN_LEN {
            "../file.txt".to_string()
        } else {
            format!("chain_{:02}", i + 1)
        };
        symlink(target, links.join(format!("chain_{i:02}")))?;
    }
    Ok(())
}

/// Executables execve must refuse, and a chain of `#!` scripts each naming the next as
/// its interpreter (Linux follows at most 5 script levels).
fn make_exec_fixtures(root: &Path) -> std::io::Result<()> {
    let exec = root.join("exec");
    fs::create_dir_all(&exec)?;
    write_with_mode(&exec.join("text"), b"just some text\n", 0o755)?;
    write_with_mode(&exec.join("bad_elf"), b"\x7fELF\x02\x01\x01garbage", 0o755)?;
    write_with_mode(
        &exec.join("missing_interp"),
        b"#!/nonexistent/interpreter\n",
        0o755,
    )?;
    write_with_mode(
        &exec.join("dir_interp"),
        format!("#!{}\n", exec.display()).as_bytes(),
        0o755,
    )?;
    // chain_0 -> chain_1 -> ... -> chain_5 -> /bin/sh
    write_with_mode(
        &exec.join("chain_5"),
        b"#!/bin/sh\necho \"chain ran with $# args\"\n",
        0o755,
    )?;
    for i in (0..5).rev() {
        let next = exec.join(format!("chain_{}", i + 1));
        write_with_mode(
            &exec.join(format!("chain_{i}")),
            format!("#!{}\n", next.display()).as_bytes(),
            0o755,
        )?;
    }
    Ok(())
}

fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(contents)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// xorshift32 from a fixed seed: the same bytes on every machine.
fn deterministic_bytes(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x6d6f_6174; // "moat"
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A root filesystem holding only `/hello` and `/cat` (static guests) and
/// `/marker.txt`, for `moat do --rootfs`.
fn make_rootfs(root: &Path, bin_dir: &Path) -> std::io::Result<()> {
    if root.exists() {
        fs::remove_dir_all(root)?;
    }
    fs::create_dir_all(root)?;
    fs::copy(bin_dir.join("hello.static"), root.join("hello"))?;
    fs::copy(bin_dir.join("cat.static"), root.join("cat"))?;
    write_with_mode(&root.join("marker.txt"), b"moat test rootfs\n", 0o644)
}
