use std::collections::HashMap;

use syscalls::Sysno;

use super::{format_call, format_call_after, format_result, GuestMemory};

/// Guest memory made of separate regions; anything outside them is unreadable.
#[derive(Default)]
struct FakeMemory {
    regions: HashMap<u64, Vec<u8>>,
}

impl FakeMemory {
    fn with(mut self, addr: u64, bytes: &[u8]) -> Self {
        self.regions.insert(addr, bytes.to_vec());
        self
    }

    /// A NUL-terminated string.
    fn with_str(self, addr: u64, text: &str) -> Self {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        self.with(addr, &bytes)
    }

    fn with_u64s(self, addr: u64, words: &[u64]) -> Self {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.with(addr, &bytes)
    }
}

impl GuestMemory for FakeMemory {
    fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.regions.iter().find_map(|(&base, bytes)| {
            let start = usize::try_from(addr.checked_sub(base)?).ok()?;
            bytes
                .get(start..start.checked_add(len)?)
                .map(<[u8]>::to_vec)
        })
    }
}

fn regs(values: &[u64]) -> [u64; 6] {
    let mut regs = [0; 6];
    regs[..values.len()].copy_from_slice(values);
    regs
}

fn call(sysno: Sysno, values: &[u64], mem: &FakeMemory) -> String {
    format_call(sysno.id() as u64, &regs(values), mem)
}

fn after(sysno: Sysno, values: &[u64], ret: i64, mem: &FakeMemory) -> Option<String> {
    format_call_after(sysno.id() as u64, &regs(values), ret, mem)
}

fn result(sysno: Sysno, ret: i64) -> String {
    format_result(sysno.id() as u64, ret)
}

const AT_FDCWD: u64 = -100i64 as u64;
const BUF: u64 = 0x1000;
const BUF2: u64 = 0x2000;
const UNMAPPED: u64 = 0xdead_0000;

// Strings and buffers.

#[test]
fn openat_shows_at_fdcwd_path_and_flags() {
    let mem = FakeMemory::default().with_str(BUF, "/etc/passwd");
    let line = call(Sysno::openat, &[AT_FDCWD, BUF, 0o2000000], &mem);
    assert_eq!(
        line,
        r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)"#
    );
}

#[test]
fn openat_with_o_creat_shows_mode_in_octal() {
    let mem = FakeMemory::default().with_str(BUF, "/tmp/x");
    let line = call(Sysno::openat, &[3, BUF, 0o1101, 0o644], &mem);
    assert_eq!(
        line,
        r#"openat(3, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC, 0644)"#
    );
}

#[test]
fn write_escapes_like_strace() {
    let mem = FakeMemory::default().with(BUF, b"a\"b\\c\n\t\r\x0b\x0c\x01\x7f\xff\x00x");
    let line = call(Sysno::write, &[1, BUF, 15], &mem);
    assert_eq!(line, r#"write(1, "a\"b\\c\n\t\r\v\f\1\177\377\0x", 15)"#);
}

#[test]
fn octal_escape_before_a_digit_uses_three_digits() {
    let mem = FakeMemory::default().with(BUF, b"\x001\x027\x039");
    let line = call(Sysno::write, &[1, BUF, 6], &mem);
    assert_eq!(line, r#"write(1, "\0001\0027\39", 6)"#);
}

#[test]
fn buffer_longer_than_32_bytes_is_truncated_with_dots() {
    let text = "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1";
    let mem = FakeMemory::default().with(BUF, text.as_bytes());
    let line = call(Sysno::write, &[1, BUF, text.len() as u64], &mem);
    assert_eq!(
        line,
        r#"write(1, "root:x:0:0:root:/root:/bin/bash\n"..., 41)"#
    );
}

#[test]
fn buffer_of_exactly_32_bytes_has_no_dots() {
    let mem = FakeMemory::default().with(BUF, &[b'a'; 32]);
    let line = call(Sysno::write, &[1, BUF, 32], &mem);
    assert_eq!(line, format!("write(1, \"{}\", 32)", "a".repeat(32)));
}

#[test]
fn path_is_shown_whole_past_32_bytes() {
    let path = "/a/very/long/path/that/goes/on/for/more/than/thirty/two/bytes";
    let mem = FakeMemory::default().with_str(BUF, path);
    assert_eq!(
        call(Sysno::chdir, &[BUF], &mem),
        format!("chdir(\"{path}\")")
    );
}

#[test]
fn string_spanning_two_pages_is_read_whole() {
    let mem = FakeMemory::default()
        .with(0x1ffc, b"/etc")
        .with_str(0x2000, "/passwd");
    assert_eq!(
        call(Sysno::unlink, &[0x1ffc], &mem),
        r#"unlink("/etc/passwd")"#
    );
}

#[test]
fn null_pointer_prints_null() {
    let mem = FakeMemory::default();
    assert_eq!(call(Sysno::chdir, &[0], &mem), "chdir(NULL)");
}

#[test]
fn unreadable_pointer_prints_its_address() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::write, &[1, UNMAPPED, 5], &mem),
        "write(1, 0xdead0000, 5)"
    );
}

#[test]
fn unterminated_string_before_unmapped_memory_is_marked_truncated() {
    let mem = FakeMemory::default().with(BUF, b"abc");
    assert_eq!(call(Sysno::unlink, &[BUF], &mem), r#"unlink("abc"...)"#);
}

#[test]
fn string_argument_is_truncated_at_32_bytes() {
    let mem = FakeMemory::default().with_str(BUF, &"m".repeat(40));
    let line = call(Sysno::memfd_create, &[BUF, 1], &mem);
    assert_eq!(
        line,
        format!("memfd_create(\"{}\"..., MFD_CLOEXEC)", "m".repeat(32))
    );
}

#[test]
fn read_shows_pointer_before_and_data_after() {
    let text = "root:x:0:0:root:/root:/bin/bash\nmore";
    let mem = FakeMemory::default().with(BUF, text.as_bytes());
    let before = call(Sysno::read, &[3, BUF, 4096], &mem);
    let decoded = after(Sysno::read, &[3, BUF, 4096], text.len() as i64, &mem);
    assert_eq!(before, "read(3, 0x1000, 4096)");
    assert_eq!(
        decoded.as_deref(),
        Some(r#"read(3, "root:x:0:0:root:/root:/bin/bash\n"..., 4096)"#)
    );
}

#[test]
fn failed_read_has_no_decoded_outputs() {
    let mem = FakeMemory::default().with(BUF, b"data");
    assert_eq!(after(Sysno::read, &[3, BUF, 4096], -9, &mem), None);
}

#[test]
fn call_without_outputs_has_no_after_form() {
    let mem = FakeMemory::default().with(BUF, b"data");
    assert_eq!(after(Sysno::write, &[1, BUF, 4], 4, &mem), None);
}

#[test]
fn getrandom_shows_bytes_in_hex() {
    let mem = FakeMemory::default().with(BUF, &[0xf5, 0x3a, 0x00, 0x41]);
    let line = after(Sysno::getrandom, &[BUF, 4, 1], 4, &mem);
    assert_eq!(
        line.as_deref(),
        Some(r#"getrandom("\xf5\x3a\x00\x41", 4, GRND_NONBLOCK)"#)
    );
}

// Flags and enumerations.

#[test]
fn unknown_flag_bits_are_appended_in_hex() {
    let mem = FakeMemory::default().with_str(BUF, "/x");
    let line = call(Sysno::open, &[BUF, 0o4002 | 0x4000_0000], &mem);
    assert_eq!(line, r#"open("/x", O_RDWR|O_NONBLOCK|0x40000000)"#);
}

#[test]
fn zero_flags_print_zero() {
    let mem = FakeMemory::default();
    assert_eq!(call(Sysno::pipe2, &[BUF, 0], &mem), "pipe2(0x1000, 0)");
}

#[test]
fn unknown_enum_value_is_hex_with_a_comment() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::lseek, &[3, -5i64 as u64, 7], &mem),
        "lseek(3, -5, 0x7 /* SEEK_??? */)"
    );
}

#[test]
fn access_modes_are_named() {
    let mem = FakeMemory::default().with_str(BUF, "/bin/sh");
    assert_eq!(
        call(Sysno::access, &[BUF, 0], &mem),
        r#"access("/bin/sh", F_OK)"#
    );
    assert_eq!(
        call(Sysno::faccessat2, &[AT_FDCWD, BUF, 5, 0x200], &mem),
        r#"faccessat2(AT_FDCWD, "/bin/sh", R_OK|X_OK, AT_EACCESS)"#
    );
}

#[test]
fn newfstatat_shows_at_flags_and_stat_after() {
    let mut stat = vec![0u8; 144];
    stat[24..28].copy_from_slice(&0o100644u32.to_le_bytes());
    stat[48..56].copy_from_slice(&1234i64.to_le_bytes());
    let mem = FakeMemory::default().with_str(BUF, "").with(BUF2, &stat);
    let values = [3, BUF, BUF2, 0x1000];
    assert_eq!(
        call(Sysno::newfstatat, &values, &mem),
        r#"newfstatat(3, "", 0x2000, AT_EMPTY_PATH)"#
    );
    assert_eq!(
        after(Sysno::newfstatat, &values, 0, &mem).as_deref(),
        Some(r#"newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1234, ...}, AT_EMPTY_PATH)"#)
    );
}

#[test]
fn fstat_of_a_character_device_shows_rdev() {
    let mut stat = vec![0u8; 144];
    stat[24..28].copy_from_slice(&0o20666u32.to_le_bytes());
    stat[40..48].copy_from_slice(&0x103u64.to_le_bytes());
    let mem = FakeMemory::default().with(BUF, &stat);
    assert_eq!(
        after(Sysno::fstat, &[0, BUF], 0, &mem).as_deref(),
        Some("fstat(0, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...})")
    );
}

#[test]
fn statx_names_sync_type_and_mask() {
    let mem = FakeMemory::default().with_str(BUF, "/");
    let line = call(Sysno::statx, &[AT_FDCWD, BUF, 0x100, 0xfff, BUF2], &mem);
    assert_eq!(
        line,
        r#"statx(AT_FDCWD, "/", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_ALL, 0x2000)"#
    );
}

#[test]
fn fcntl_third_argument_follows_the_command() {
    let mem = FakeMemory::default();
    assert_eq!(call(Sysno::fcntl, &[3, 1], &mem), "fcntl(3, F_GETFD)");
    assert_eq!(
        call(Sysno::fcntl, &[3, 2, 1], &mem),
        "fcntl(3, F_SETFD, FD_CLOEXEC)"
    );
    assert_eq!(
        call(Sysno::fcntl, &[3, 4, 0o4002], &mem),
        "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)"
    );
    assert_eq!(
        call(Sysno::fcntl, &[3, 1030, 10], &mem),
        "fcntl(3, F_DUPFD_CLOEXEC, 10)"
    );
}

#[test]
fn ioctl_names_request_and_decodes_winsize_after() {
    let mem = FakeMemory::default().with(BUF, &[24, 0, 80, 0, 0, 0, 0, 0]);
    let values = [1, 0x5413, BUF];
    assert_eq!(
        call(Sysno::ioctl, &values, &mem),
        "ioctl(1, TIOCGWINSZ, 0x1000)"
    );
    assert_eq!(
        after(Sysno::ioctl, &values, 0, &mem).as_deref(),
        Some("ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0})")
    );
}

#[test]
fn ioctl_with_unknown_request_prints_hex() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::ioctl, &[3, 0xc0de, 0x10], &mem),
        "ioctl(3, 0xc0de, 0x10)"
    );
}

#[test]
fn stat_mode_names_set_id_and_sticky_bits() {
    let mut stat = vec![0u8; 144];
    stat[24..28].copy_from_slice(&0o41777u32.to_le_bytes());
    let mem = FakeMemory::default().with(BUF, &stat);
    assert_eq!(
        after(Sysno::fstat, &[3, BUF], 0, &mem).as_deref(),
        Some("fstat(3, {st_mode=S_IFDIR|S_ISVTX|0777, st_size=0, ...})")
    );
}

#[test]
fn statx_after_shows_mask_mode_and_size() {
    let mut stx = vec![0u8; 256];
    stx[0..4].copy_from_slice(&0x17ffu32.to_le_bytes());
    stx[28..30].copy_from_slice(&0o100600u16.to_le_bytes());
    stx[40..48].copy_from_slice(&42u64.to_le_bytes());
    let mem = FakeMemory::default().with_str(BUF, "f").with(BUF2, &stx);
    assert_eq!(
        after(Sysno::statx, &[AT_FDCWD, BUF, 0, 0x7ff, BUF2], 0, &mem).as_deref(),
        Some(
            "statx(AT_FDCWD, \"f\", AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, \
             {stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, \
             stx_mode=S_IFREG|0600, stx_size=42, ...})"
        )
    );
}

#[test]
fn fcntl_lock_commands_decode_struct_flock() {
    let mut lock = vec![0u8; 32];
    lock[0] = 1;
    lock[16..24].copy_from_slice(&100i64.to_le_bytes());
    let mem = FakeMemory::default().with(BUF, &lock);
    assert_eq!(
        call(Sysno::fcntl, &[3, 7, BUF], &mem),
        "fcntl(3, F_SETLKW, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=100})"
    );
}

#[test]
fn fcntl_getlk_shows_the_lock_found_after_the_call() {
    let mut lock = vec![0u8; 32];
    lock[0] = 1;
    lock[8..16].copy_from_slice(&40i64.to_le_bytes());
    lock[16..24].copy_from_slice(&20i64.to_le_bytes());
    lock[24..28].copy_from_slice(&42i32.to_le_bytes());
    let mem = FakeMemory::default().with(BUF, &lock);
    assert_eq!(
        call(Sysno::fcntl, &[3, 5, BUF], &mem),
        "fcntl(3, F_GETLK, 0x1000)"
    );
    assert_eq!(
        after(Sysno::fcntl, &[3, 36, BUF], 0, &mem).as_deref(),
        Some("fcntl(3, F_OFD_GETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=40, l_len=20, l_pid=42})")
    );
    assert_eq!(after(Sysno::fcntl, &[3, 6, BUF], 0, &mem), None);
}

#[test]
fn flock_operation_is_named() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::flock, &[4, 6], &mem),
        "flock(4, LOCK_EX|LOCK_NB)"
    );
}

#[test]
fn ioctl_tcgets_after_is_abbreviated_like_strace() {
    let mut termios = vec![0u8; 36];
    termios[4..8].copy_from_slice(&1u32.to_le_bytes());
    termios[8..12].copy_from_slice(&0o17u32.to_le_bytes());
    termios[12..16].copy_from_slice(&0o13u32.to_le_bytes());
    let mem = FakeMemory::default().with(BUF, &termios);
    assert_eq!(
        after(Sysno::ioctl, &[0, 0x5401, BUF], 0, &mem).as_deref(),
        Some("ioctl(0, TCGETS, {B38400 opost isig icanon echo ...})")
    );
}

#[test]
fn mknodat_shows_device_numbers() {
    let mem = FakeMemory::default().with_str(BUF, "/dev/null");
    assert_eq!(
        call(Sysno::mknodat, &[AT_FDCWD, BUF, 0o20666, 0x103], &mem),
        r#"mknodat(AT_FDCWD, "/dev/null", S_IFCHR|0666, makedev(0x1, 0x3))"#
    );
}

// Memory.

#[test]
fn mmap_line_matches_strace() {
    let mem = FakeMemory::default();
    let line = call(Sysno::mmap, &[0, 8192, 3, 0x22, u64::MAX, 0], &mem);
    assert_eq!(
        line,
        "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
    );
    assert_eq!(result(Sysno::mmap, 0x7f12_3456_7000), " = 0x7f1234567000");
}

#[test]
fn mmap_names_every_placement_flag() {
    let mem = FakeMemory::default();
    let flags = 0x2 | 0x10 | 0x100000 | 0x4000 | 0x20000 | 0x8000 | 0x100 | 0x800;
    let line = call(
        Sysno::mmap,
        &[0x7f00_0000_0000, 4096, 0, flags, 3, 0x2000],
        &mem,
    );
    assert_eq!(
        line,
        "mmap(0x7f0000000000, 4096, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_NORESERVE|\
         MAP_POPULATE|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_STACK|MAP_FIXED_NOREPLACE, 3, 0x2000)"
    );
}

#[test]
fn mmap_names_huge_page_size() {
    let mem = FakeMemory::default();
    let flags = 0x22 | 0x40000 | (21 << 26);
    let line = call(Sysno::mmap, &[0, 1 << 21, 3, flags, u64::MAX, 0], &mem);
    assert_eq!(
        line,
        "mmap(NULL, 2097152, PROT_READ|PROT_WRITE, \
         MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB, -1, 0)"
    );
}

#[test]
fn mremap_shows_new_address_only_when_fixed() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::mremap, &[BUF, 4096, 8192, 1, 0x5000], &mem),
        "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE)"
    );
    assert_eq!(
        call(Sysno::mremap, &[BUF, 4096, 8192, 3, 0x5000], &mem),
        "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x5000)"
    );
}

#[test]
fn brk_returns_an_address_in_hex() {
    let mem = FakeMemory::default();
    assert_eq!(call(Sysno::brk, &[0], &mem), "brk(NULL)");
    assert_eq!(result(Sysno::brk, 0x5555_5000), " = 0x55555000");
}

#[test]
fn madvise_and_arch_prctl_name_their_operation() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::madvise, &[BUF, 4096, 4], &mem),
        "madvise(0x1000, 4096, MADV_DONTNEED)"
    );
    assert_eq!(
        call(Sysno::arch_prctl, &[0x1002, 0x7f00_1234], &mem),
        "arch_prctl(ARCH_SET_FS, 0x7f001234)"
    );
}

// Results.

#[test]
fn errno_result_has_name_and_message() {
    assert_eq!(
        result(Sysno::close, -9),
        " = -1 EBADF (Bad file descriptor)"
    );
    assert_eq!(
        result(Sysno::openat, -2),
        " = -1 ENOENT (No such file or directory)"
    );
    assert_eq!(
        result(Sysno::read, -133),
        " = -1 EHWPOISON (Memory page has hardware error)"
    );
}

#[test]
fn unassigned_errno_is_shown_by_number() {
    assert_eq!(result(Sysno::close, -41), " = -1 41 (Unknown error 41)");
}

#[test]
fn restart_code_is_shown_as_unfinished() {
    assert_eq!(
        result(Sysno::read, -512),
        " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
    );
}

#[test]
fn exit_group_result_is_a_question_mark() {
    assert_eq!(result(Sysno::exit_group, 0), " = ?");
    assert_eq!(result(Sysno::exit, 0), " = ?");
}

#[test]
fn plain_results_are_decimal_and_umask_is_octal() {
    assert_eq!(result(Sysno::close, 0), " = 0");
    assert_eq!(result(Sysno::lseek, 1 << 40), " = 1099511627776");
    assert_eq!(result(Sysno::umask, 0o22), " = 022");
}

#[test]
fn errno_names_agree_with_the_syscalls_crate() {
    let mismatches: Vec<i32> = (1..=133)
        .filter(|&n| {
            let ours = super::errno::describe(n as u64).map(|(name, _)| name);
            ours != syscalls::Errno::new(n).name()
        })
        .collect();
    assert_eq!(mismatches, Vec::<i32>::new());
}

// Arrays and structs.

#[test]
fn execve_shows_argv_array_and_counts_env() {
    let mem = FakeMemory::default()
        .with_str(0x100, "/bin/ls")
        .with_str(0x200, "ls")
        .with_str(0x300, "-la")
        .with_u64s(BUF, &[0x200, 0x300, 0])
        .with_u64s(BUF2, &[0x300, 0x300, 0x300, 0]);
    assert_eq!(
        call(Sysno::execve, &[0x100, BUF, BUF2], &mem),
        r#"execve("/bin/ls", ["ls", "-la"], 0x2000 /* 3 vars */)"#
    );
}

#[test]
fn execve_counts_a_single_var_in_the_singular() {
    let mem = FakeMemory::default()
        .with_str(0x100, "/bin/true")
        .with_u64s(BUF, &[0x100, 0])
        .with_u64s(BUF2, &[0x100, 0]);
    assert_eq!(
        call(Sysno::execve, &[0x100, BUF, BUF2], &mem),
        r#"execve("/bin/true", ["/bin/true"], 0x2000 /* 1 var */)"#
    );
}

#[test]
fn execve_argv_past_32_elements_ends_with_dots() {
    let mut argv = vec![0x100; 40];
    argv.push(0);
    let mem = FakeMemory::default()
        .with_str(0x100, "x")
        .with_u64s(BUF, &argv);
    let line = call(Sysno::execve, &[0x100, BUF, 0], &mem);
    let expected_argv = format!("[{}, ...]", vec![r#""x""#; 32].join(", "));
    assert_eq!(line, format!(r#"execve("x", {expected_argv}, NULL)"#));
}

#[test]
fn execve_with_unreadable_argv_prints_its_address() {
    let mem = FakeMemory::default().with_str(0x100, "/bin/ls");
    assert_eq!(
        call(Sysno::execve, &[0x100, UNMAPPED, 0], &mem),
        r#"execve("/bin/ls", 0xdead0000, NULL)"#
    );
}

#[test]
fn writev_shows_each_iovec() {
    let mem = FakeMemory::default()
        .with(0x100, b"hello ")
        .with(0x200, b"world\n")
        .with_u64s(BUF, &[0x100, 6, 0x200, 6]);
    assert_eq!(
        call(Sysno::writev, &[1, BUF, 2], &mem),
        r#"writev(1, [{iov_base="hello ", iov_len=6}, {iov_base="world\n", iov_len=6}], 2)"#
    );
}

#[test]
fn splice_shows_offsets_in_memory_and_splice_flags() {
    let mem = FakeMemory::default().with_u64s(BUF, &[4096]);
    assert_eq!(
        call(Sysno::splice, &[3, BUF, 5, 0, 65536, 2 | 4], &mem),
        "splice(3, [4096], 5, NULL, 65536, SPLICE_F_NONBLOCK|SPLICE_F_MORE)"
    );
}

#[test]
fn sendfile_shows_its_offset_and_tee_its_flags() {
    let mem = FakeMemory::default().with_u64s(BUF, &[100]);
    assert_eq!(
        call(Sysno::sendfile, &[1, 3, BUF, 10], &mem),
        "sendfile(1, 3, [100], 10)"
    );
    assert_eq!(
        call(Sysno::tee, &[3, 6, 1024, 0], &mem),
        "tee(3, 6, 1024, 0)"
    );
}

#[test]
fn readv_after_shows_only_the_bytes_read() {
    let mem = FakeMemory::default()
        .with(0x100, b"abcd")
        .with(0x200, b"efgh")
        .with_u64s(BUF, &[0x100, 4, 0x200, 4]);
    assert_eq!(
        after(Sysno::readv, &[3, BUF, 2], 6, &mem).as_deref(),
        Some(r#"readv(3, [{iov_base="abcd", iov_len=4}, {iov_base="ef", iov_len=4}], 2)"#)
    );
}

#[test]
fn nanosleep_and_clock_gettime_show_timespecs() {
    let mem = FakeMemory::default().with_u64s(BUF, &[1, 500_000_000]);
    assert_eq!(
        call(Sysno::nanosleep, &[BUF, 0], &mem),
        "nanosleep({tv_sec=1, tv_nsec=500000000}, NULL)"
    );
    assert_eq!(
        after(Sysno::clock_gettime, &[1, BUF], 0, &mem).as_deref(),
        Some("clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500000000})")
    );
    assert_eq!(
        call(Sysno::clock_nanosleep, &[0, 1, BUF, 0], &mem),
        "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, {tv_sec=1, tv_nsec=500000000}, NULL)"
    );
}

#[test]
fn rt_sigaction_decodes_handler_mask_and_flags() {
    let mem = FakeMemory::default().with_u64s(BUF, &[1, 0x0400_0000 | 0x1000_0000, 0x7f00, 0x4002]);
    assert_eq!(
        call(Sysno::rt_sigaction, &[2, BUF, 0, 8], &mem),
        "rt_sigaction(SIGINT, {sa_handler=SIG_IGN, sa_mask=[INT TERM], \
         sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f00}, NULL, 8)"
    );
}

#[test]
fn rt_sigprocmask_shows_sigsets_and_complements() {
    let all_but_rt0_rt1 = !((1u64 << 31) | (1 << 32));
    let mem = FakeMemory::default()
        .with_u64s(BUF, &[all_but_rt0_rt1])
        .with_u64s(BUF2, &[0]);
    let values = [0, BUF, BUF2, 8];
    assert_eq!(
        after(Sysno::rt_sigprocmask, &values, 0, &mem).as_deref(),
        Some("rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], [], 8)")
    );
}

#[test]
fn kill_and_tgkill_name_signals() {
    let mem = FakeMemory::default();
    assert_eq!(call(Sysno::kill, &[42, 15], &mem), "kill(42, SIGTERM)");
    assert_eq!(
        call(Sysno::tgkill, &[1, 2, 34], &mem),
        "tgkill(1, 2, SIGRT_2)"
    );
    assert_eq!(call(Sysno::kill, &[42, 0], &mem), "kill(42, 0)");
}

#[test]
fn wait4_decodes_exit_and_signal_status() {
    let mem = FakeMemory::default()
        .with(BUF, &[0, 3, 0, 0])
        .with(BUF2, &[0x89, 0, 0, 0]);
    assert_eq!(
        after(Sysno::wait4, &[u64::MAX, BUF, 0x4000_0000, 0], 7, &mem).as_deref(),
        Some("wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], __WALL, NULL)")
    );
    assert_eq!(
        after(Sysno::wait4, &[7, BUF2, 1, 0], 7, &mem).as_deref(),
        Some(
            "wait4(7, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL && WCOREDUMP(s)}], WNOHANG, NULL)"
        )
    );
}

#[test]
fn clone_labels_arguments_and_names_exit_signal() {
    let mem = FakeMemory::default();
    let flags = 0x0100_0000 | 0x0020_0000 | 17;
    assert_eq!(
        call(Sysno::clone, &[flags, 0, 0, 0x7f00, 0], &mem),
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, \
         child_tidptr=0x7f00)"
    );
}

#[test]
fn futex_arguments_follow_the_operation() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::futex, &[BUF, 129, 1, 0, 0, 0], &mem),
        "futex(0x1000, FUTEX_WAKE_PRIVATE, 1)"
    );
    assert_eq!(
        call(Sysno::futex, &[BUF, 128, 2, 0, 0, 0], &mem),
        "futex(0x1000, FUTEX_WAIT_PRIVATE, 2, NULL)"
    );
    assert_eq!(
        call(
            Sysno::futex,
            &[BUF, 9 | 128 | 256, 0, 0, 0, u32::MAX as u64],
            &mem
        ),
        "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, \
         FUTEX_BITSET_MATCH_ANY)"
    );
}

#[test]
fn futex_wake_op_spells_out_the_encoded_operation() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::futex, &[BUF, 5 | 128, 1, 1, BUF2, 0x0400_0001], &mem),
        "futex(0x1000, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x2000, \
         FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1)"
    );
}

#[test]
fn clone3_shows_the_fields_its_flags_use() {
    let flags = 0x100 | 0x80000 | 0x200000;
    let mem = FakeMemory::default()
        .with_u64s(BUF, &[flags, 7, 0x7f10, 0x7f20, 0, 0x7000, 0x1000, 0x7f30]);
    assert_eq!(
        call(Sysno::clone3, &[BUF, 88], &mem),
        "clone3({flags=CLONE_VM|CLONE_SETTLS|CLONE_CHILD_CLEARTID, child_tid=0x7f10, \
         exit_signal=0, stack=0x7000, stack_size=0x1000, tls=0x7f30}, 88)"
    );
}

#[test]
fn socket_and_connect_decode_families_and_addresses() {
    let mut inet = vec![2, 0, 0, 80, 127, 0, 0, 1];
    inet.resize(16, 0);
    let mut unix = vec![1, 0];
    unix.extend_from_slice(b"/run/x.sock\0");
    let mem = FakeMemory::default().with(BUF, &inet).with(BUF2, &unix);
    assert_eq!(
        call(Sysno::socket, &[2, 1 | 0o2000000, 6], &mem),
        "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP)"
    );
    assert_eq!(
        call(Sysno::connect, &[3, BUF, 16], &mem),
        r#"connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16)"#
    );
    assert_eq!(
        call(Sysno::bind, &[3, BUF2, unix.len() as u64], &mem),
        r#"bind(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 14)"#
    );
}

#[test]
fn connect_decodes_ipv6_and_abstract_unix_addresses() {
    let mut inet6 = vec![10, 0, 1, 187, 0, 0, 0, 0];
    inet6.extend_from_slice(&[0; 15]);
    inet6.push(1);
    inet6.extend_from_slice(&[0; 4]);
    let mut abstract_unix = vec![1, 0, 0];
    abstract_unix.extend_from_slice(b"moat");
    let mem = FakeMemory::default()
        .with(BUF, &inet6)
        .with(BUF2, &abstract_unix);
    assert_eq!(
        call(Sysno::connect, &[3, BUF, 28], &mem),
        "connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), \
         inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28)"
    );
    assert_eq!(
        call(Sysno::connect, &[3, BUF2, 7], &mem),
        r#"connect(3, {sa_family=AF_UNIX, sun_path=@"moat"}, 7)"#
    );
}

#[test]
fn accept4_shows_peer_address_and_length_after() {
    let mut inet = vec![2, 0, 0x1f, 0x90, 10, 0, 0, 2];
    inet.resize(16, 0);
    let mem = FakeMemory::default()
        .with(BUF, &inet)
        .with(BUF2, &16u32.to_le_bytes());
    let values = [3, BUF, BUF2, 0o2000000];
    assert_eq!(
        after(Sysno::accept4, &values, 4, &mem).as_deref(),
        Some(
            r#"accept4(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("10.0.0.2")}, [16], SOCK_CLOEXEC)"#
        )
    );
}

#[test]
fn setsockopt_names_level_and_option() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::setsockopt, &[3, 1, 2, BUF, 4], &mem),
        "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 0x1000, 4)"
    );
    assert_eq!(
        call(Sysno::setsockopt, &[3, 6, 1, BUF, 4], &mem),
        "setsockopt(3, SOL_TCP, TCP_NODELAY, 0x1000, 4)"
    );
}

#[test]
fn pipe2_shows_descriptors_after() {
    let mem = FakeMemory::default().with(BUF, &[3, 0, 0, 0, 4, 0, 0, 0]);
    assert_eq!(
        after(Sysno::pipe2, &[BUF, 0o2000000], 0, &mem).as_deref(),
        Some("pipe2([3, 4], O_CLOEXEC)")
    );
}

#[test]
fn prlimit64_shows_limits_like_strace() {
    let mem = FakeMemory::default().with_u64s(BUF, &[8192 * 1024, u64::MAX]);
    assert_eq!(
        after(Sysno::prlimit64, &[0, 3, 0, BUF], 0, &mem).as_deref(),
        Some("prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY})")
    );
}

#[test]
fn uname_shows_sysname_and_nodename() {
    let mut uts = vec![0u8; 390];
    uts[..5].copy_from_slice(b"Linux");
    uts[65..69].copy_from_slice(b"moat");
    let mem = FakeMemory::default().with(BUF, &uts);
    assert_eq!(
        after(Sysno::uname, &[BUF], 0, &mem).as_deref(),
        Some(r#"uname({sysname="Linux", nodename="moat", ...})"#)
    );
}

#[test]
fn getdents64_counts_entries() {
    let mut dents = vec![0u8; 48];
    dents[16..18].copy_from_slice(&24u16.to_le_bytes());
    dents[40..42].copy_from_slice(&24u16.to_le_bytes());
    let mem = FakeMemory::default().with(BUF, &dents);
    assert_eq!(
        after(Sysno::getdents64, &[3, BUF, 32768], 48, &mem).as_deref(),
        Some("getdents64(3, 0x1000 /* 2 entries */, 32768)")
    );
}

#[test]
fn sched_getaffinity_lists_cpus() {
    let mem = FakeMemory::default().with(BUF, &[0b1011, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        after(Sysno::sched_getaffinity, &[0, 128, BUF], 8, &mem).as_deref(),
        Some("sched_getaffinity(0, 128, [0 1 3])")
    );
}

#[test]
fn getcwd_shows_path_after() {
    let mem = FakeMemory::default().with_str(BUF, "/home/moat");
    assert_eq!(
        after(Sysno::getcwd, &[BUF, 4096], 11, &mem).as_deref(),
        Some(r#"getcwd("/home/moat", 4096)"#)
    );
}

#[test]
fn poll_shows_each_pollfd() {
    let mem = FakeMemory::default().with(BUF, &[3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0]);
    assert_eq!(
        call(Sysno::poll, &[BUF, 2, 5000], &mem),
        "poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT}], 2, 5000)"
    );
}

#[test]
fn getgroups_shows_the_groups_returned() {
    let mem = FakeMemory::default().with(BUF, &[0, 0, 0, 0, 27, 0, 0, 0, 99, 0, 0, 0]);
    assert_eq!(
        after(Sysno::getgroups, &[0, BUF], 2, &mem).as_deref(),
        Some("getgroups(0, [])")
    );
    assert_eq!(
        after(Sysno::getgroups, &[32, BUF], 2, &mem).as_deref(),
        Some("getgroups(32, [0, 27])")
    );
}

#[test]
fn prctl_names_option_and_shows_set_name_string() {
    let mem = FakeMemory::default().with_str(BUF, "worker");
    assert_eq!(
        call(Sysno::prctl, &[15, BUF], &mem),
        r#"prctl(PR_SET_NAME, "worker", 0, 0, 0)"#
    );
    assert_eq!(
        call(Sysno::prctl, &[38, 1], &mem),
        "prctl(PR_SET_NO_NEW_PRIVS, 0x1, 0, 0, 0)"
    );
}

#[test]
fn seccomp_names_its_operation_and_filter_flags() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::seccomp, &[1, 3, BUF], &mem),
        format!("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC|SECCOMP_FILTER_FLAG_LOG, {BUF:#x})")
    );
}

#[test]
fn wait4_without_a_reaped_child_shows_the_status_pointer() {
    let mem = FakeMemory::default().with(BUF, &[0, 3, 0, 0]);
    assert_eq!(
        after(Sysno::wait4, &[u64::MAX, BUF, 1, 0], 0, &mem).as_deref(),
        Some("wait4(-1, 0x1000, WNOHANG, NULL)")
    );
}

// Calls the table does not describe.

#[test]
fn no_argument_calls_print_empty_parentheses() {
    let mem = FakeMemory::default();
    assert_eq!(call(Sysno::getpid, &[1, 2, 3], &mem), "getpid()");
    assert_eq!(call(Sysno::geteuid, &[], &mem), "geteuid()");
}

#[test]
fn undescribed_syscall_prints_six_raw_arguments() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::kexec_load, &[1, 0, 0x20, 0, 0, u64::MAX], &mem),
        "kexec_load(0x1, 0, 0x20, 0, 0, 0xffffffffffffffff)"
    );
}

#[test]
fn unknown_syscall_number_is_named_by_number() {
    let mem = FakeMemory::default();
    assert_eq!(
        format_call(1000, &regs(&[1]), &mem),
        "syscall_1000(0x1, 0, 0, 0, 0, 0)"
    );
    assert_eq!(
        format_result(1000, -38),
        " = -1 ENOSYS (Function not implemented)"
    );
    assert!(format_call(u64::MAX, &[0; 6], &mem).starts_with("syscall_18446744073709551615("));
}

/// Memory where every read succeeds with the same noise, however long.
struct NoisyMemory;

impl GuestMemory for NoisyMemory {
    fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        Some(
            (0..len)
                .map(|i| (addr as usize).wrapping_add(i * 7) as u8 | 1)
                .collect(),
        )
    }
}

#[test]
fn garbage_arguments_never_panic() {
    let garbage = [
        0,
        1,
        0x7f,
        0x1000,
        u32::MAX as u64,
        i64::MIN as u64,
        u64::MAX,
    ];
    let noisy = NoisyMemory;
    let empty = FakeMemory::default();
    for nr in 0..=460 {
        for &g in &garbage {
            let args = [g, g.rotate_left(3), g, u64::MAX - g, g, g];
            for mem in [&noisy as &dyn GuestMemory, &empty] {
                let _ = format_call(nr, &args, mem);
                for ret in [0, 1, 4096, i64::MAX, -1, -4095, -4096, i64::MIN] {
                    let _ = format_call_after(nr, &args, ret, mem);
                    let _ = format_result(nr, ret);
                }
            }
        }
    }
}

#[test]
fn sysv_ipc_lines_match_strace() {
    let mem = FakeMemory::default();
    assert_eq!(
        call(Sysno::shmget, &[0, 4096, 0o1600], &mem),
        "shmget(0, 4096, IPC_CREAT|0600)"
    );
    assert_eq!(call(Sysno::msgget, &[0x1234, 0], &mem), "msgget(0x1234, 0)");
    assert_eq!(
        call(Sysno::semctl, &[3, 0, 16, 5], &mem),
        "semctl(3, 0, SETVAL, 0x5)"
    );
    assert_eq!(
        call(
            Sysno::msgrcv,
            &[1, 0x1000, 64, (-2i64) as u64, 0o14000],
            &mem
        ),
        "msgrcv(1, 0x1000, 64, -2, IPC_NOWAIT|MSG_NOERROR)"
    );
    assert_eq!(
        call(Sysno::shmat, &[1, 0, 0o10000], &mem),
        "shmat(1, NULL, SHM_RDONLY)"
    );
}
