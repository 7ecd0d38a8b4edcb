//! The harness of moat's integration tests.
//!
//! A test runs a program natively and under `moat do`, and compares what the
//! two runs did: exit status (128 + N for death by signal N, as a shell
//! reports it) and stdout. Every run:
//!
//! - starts from the same small environment ([`BASE_ENV`], plus what the test
//!   adds), so native and sandboxed runs see the same variables;
//! - runs in the fixture directory ([`fixtures_dir`]), so relative paths and
//!   `getcwd` agree;
//! - has stdin closed unless the test passes some;
//! - is killed, with everything in its process group, after [`TIMEOUT`]
//!   (or `MOAT_TEST_TIMEOUT_SECS`): a hung guest fails its test instead of
//!   hanging CI.
//!
//! The programs are the C guests of `tests/guest` (built by `build.rs`, see
//! [`guest`]) and host programs. The moat binary is found by [`moat_bin`].
//!
//! Running:
//!
//! ```text
//! cargo build -p runsc-shim && cargo test -p moat-tests   # against target/*/moat
//! MOAT_BIN=/path/to/moat cargo test -p moat-tests          # against another build
//! MOAT_BIN=$PWD/tests/fake-moat.sh cargo test -p moat-tests
//! ```
//!
//! The last line checks the harness and the guests without a sandbox: the
//! fake runs the command directly, so every test comparing against the
//! native run must pass with it, and only the tests looking for the sentry's
//! own identity (tests/interception.rs) fail.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one run may take before it is killed and its test fails, unless
/// `MOAT_TEST_TIMEOUT_SECS` says otherwise (for slow platforms or debugging).
pub const TIMEOUT: Duration = Duration::from_secs(60);

fn timeout() -> Duration {
    std::env::var("MOAT_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .map_or(TIMEOUT, Duration::from_secs)
}

/// The whole environment of every run, before the variables a test adds.
pub const BASE_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LANG", "C"),
    ("HOME", "/root"),
];

/// How a guest program was linked; each guest is built both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// `gcc -static`: no dynamic loader, no shared libraries.
    Static,
    /// Linked against the host's shared C library through `ld.so`.
    Dynamic,
}

/// The binary built from `tests/guest/<name>.c`.
pub fn guest(name: &str, linkage: Linkage) -> PathBuf {
    let suffix = match linkage {
        Linkage::Static => "static",
        Linkage::Dynamic => "dynamic",
    };
    let path = Path::new(env!("GUEST_BIN_DIR")).join(format!("{name}.{suffix}"));
    assert!(
        path.exists(),
        "guest program {} was not built: is tests/guest/{name}.c missing?",
        path.display()
    );
    path
}

/// The fixture tree built by `build.rs` (its layout is documented there).
/// Guests that read fixtures take this path as `argv[1]`.
pub fn fixtures_dir() -> &'static str {
    env!("FIXTURES_DIR")
}

/// A path inside the fixture tree.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(fixtures_dir()).join(relative)
}

/// A minimal root filesystem (`/hello`, `/cat`, `/marker.txt`) for
/// `moat do --rootfs`.
pub fn rootfs_dir() -> &'static str {
    env!("ROOTFS_DIR")
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit status, or 128 + N when killed by signal N.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The moat binary under test: `$MOAT_BIN` if set, else `moat` in the
/// target directory this test was built into (then `$CARGO_TARGET_DIR`, then
/// the workspace's `target/`), preferring the test's own profile.
///
/// `cargo test` does not rebuild it: build it first (`cargo build -p
/// runsc-shim`), or the tests run whatever `moat` was built last.
pub fn moat_bin() -> &'static Path {
    static MOAT: OnceLock<PathBuf> = OnceLock::new();
    MOAT.get_or_init(find_moat_bin)
}

fn find_moat_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("MOAT_BIN") {
        let path = PathBuf::from(path);
        return std::fs::canonicalize(&path)
            .unwrap_or_else(|e| panic!("MOAT_BIN={} cannot be used: {e}", path.display()));
    }
    let mut candidates = Vec::new();
    // <target>/<profile>/deps/<test binary>: the profile directory is the
    // one `cargo build` puts `moat` in for the same profile.
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()));
    if let Some(dir) = &profile_dir {
        candidates.push(dir.join("moat"));
    }
    let profile = profile_dir
        .as_deref()
        .and_then(Path::file_name)
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| OsString::from("debug"));
    let workspace_target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let target_dirs = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace_target]);
    for target in target_dirs {
        for profile in [
            profile.as_os_str(),
            OsStr::new("debug"),
            OsStr::new("release"),
        ] {
            candidates.push(target.join(profile).join("moat"));
        }
    }
    if let Some(found) = candidates.iter().find(|path| path.is_file()) {
        return found.clone();
    }
    let looked = candidates
        .iter()
        .map(|path| format!("  {}", path.display()))
        .collect::<Vec<_>>()
        .join("\n");
    panic!(
        "the moat binary was not found; looked for:\n{looked}\n\
         build it with `cargo build -p runsc-shim` (`cargo test` does not build another \
         package's binaries), or point MOAT_BIN at a moat binary"
    );
}

/// Runs `program args...` natively, with [`BASE_ENV`] plus `env`.
pub fn run_native(
    program: impl AsRef<Path>,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Output {
    let mut command = Command::new(program.as_ref());
    command.args(args);
    run(command, env, stdin)
}

/// Runs `moat do <moat_options...> program args...`, with [`BASE_ENV`] plus
/// `env` given to moat (which passes its environment on to the guest).
pub fn run_moat(
    moat_options: &[&str],
    program: impl AsRef<Path>,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Output {
    let mut command = Command::new(moat_bin());
    command
        .arg("do")
        .args(moat_options)
        .arg(program.as_ref())
        .args(args);
    run(command, env, stdin)
}

/// Runs `moat <args...>` itself (for `--help` and other CLI behaviour).
pub fn run_moat_cli(args: &[&str]) -> Output {
    let mut command = Command::new(moat_bin());
    command.args(args);
    run(command, &[], None)
}

/// Runs `program args...` natively and under moat and asserts both exited
/// the same way and printed the same stdout. Returns the native run.
pub fn assert_same_as_native(program: impl AsRef<Path>, args: &[&str]) -> Output {
    assert_same_as_native_with(&[], program, args, &[], None)
}

/// [`assert_same_as_native`] with moat options, extra environment and stdin.
pub fn assert_same_as_native_with(
    moat_options: &[&str],
    program: impl AsRef<Path>,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Output {
    let program = program.as_ref();
    let native = run_native(program, args, env, stdin);
    let moat = run_moat(moat_options, program, args, env, stdin);
    assert_outputs_match(&describe(moat_options, program, args), &native, &moat);
    native
}

/// For guest programs (which check their own results): the native run must
/// pass every check (exit 0), and the run under moat must match it.
pub fn assert_guest_matches_native(program: impl AsRef<Path>, args: &[&str]) {
    assert_guest_matches_native_with(&[], program, args);
}

/// [`assert_guest_matches_native`] with moat options.
pub fn assert_guest_matches_native_with(
    moat_options: &[&str],
    program: impl AsRef<Path>,
    args: &[&str],
) {
    let program = program.as_ref();
    let native = run_native(program, args, &[], None);
    assert!(
        native.status == 0,
        "the native run of {} failed its own checks (exit status {}), so it cannot \
         be the reference for moat; fix the guest program:\n{}",
        describe(&[], program, args),
        native.status,
        native.stderr
    );
    let moat = run_moat(moat_options, program, args, &[], None);
    assert_outputs_match(&describe(moat_options, program, args), &native, &moat);
}

fn describe(moat_options: &[&str], program: &Path, args: &[&str]) -> String {
    let mut words: Vec<String> = moat_options.iter().map(|s| s.to_string()).collect();
    words.push(program.display().to_string());
    words.extend(args.iter().map(|arg| format!("{arg:?}")));
    words.join(" ")
}

/// Panics with a readable account of how `moat` differs from `native`.
pub fn assert_outputs_match(what: &str, native: &Output, moat: &Output) {
    if native.status == moat.status && native.stdout == moat.stdout {
        return;
    }
    let mut report = format!("`moat do {what}` does not behave like the native run\n");
    if native.status != moat.status {
        report += &format!(
            "exit status: native {}, moat {}\n",
            native.status, moat.status
        );
    }
    if native.stdout != moat.stdout {
        report += &first_difference(&native.stdout, &moat.stdout);
    }
    report += &format!("--- moat stderr ---\n{}", moat.stderr);
    if !native.stderr.is_empty() {
        report += &format!("--- native stderr ---\n{}", native.stderr);
    }
    panic!("{report}");
}

/// "stdout differs at line N" with a little context and both versions.
fn first_difference(native: &str, moat: &str) -> String {
    let native_lines: Vec<&str> = native.lines().collect();
    let moat_lines: Vec<&str> = moat.lines().collect();
    let at = native_lines
        .iter()
        .zip(&moat_lines)
        .position(|(a, b)| a != b)
        .unwrap_or(native_lines.len().min(moat_lines.len()));
    let mut text = format!(
        "stdout differs at line {} (native has {} lines, moat {}):\n",
        at + 1,
        native_lines.len(),
        moat_lines.len()
    );
    for line in &native_lines[at.saturating_sub(3)..at] {
        text += &format!("    {line}\n");
    }
    let show = |lines: &[&str]| {
        lines
            .get(at)
            .map_or("<end of output>".to_string(), |l| l.to_string())
    };
    text += &format!("  native: {}\n", show(&native_lines));
    text += &format!("  moat:   {}\n", show(&moat_lines));
    if native_lines == moat_lines {
        text +=
            "  (the lines agree: the outputs differ only in line endings or the final newline)\n";
    }
    text
}

fn run(mut command: Command, env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let what = format!("{command:?}");
    command
        .env_clear()
        .envs(BASE_ENV.iter().copied())
        .envs(env.iter().copied())
        .current_dir(fixtures_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills whatever it started.
        .process_group(0);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        // A program that does not read its stdin gets EPIPE: not an error.
        std::thread::spawn(move || pipe.write_all(&input));
    }
    let stdout = read_to_end(child.stdout.take());
    let stderr = read_to_end(child.stderr.take());
    let limit = timeout();
    let deadline = Instant::now() + limit;

    let status = wait_until(&mut child, deadline).unwrap_or_else(|| {
        kill_process_group(&child);
        let _ = child.wait();
        panic!(
            "{what} did not finish within {}s and was killed\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            limit.as_secs(),
            String::from_utf8_lossy(&stdout.recv_timeout(Duration::from_secs(1)).unwrap_or_default()),
            String::from_utf8_lossy(&stderr.recv_timeout(Duration::from_secs(1)).unwrap_or_default()),
        )
    });
    let collect = |output: mpsc::Receiver<Vec<u8>>, name: &str| {
        let left = deadline.saturating_duration_since(Instant::now());
        let bytes = output.recv_timeout(left).unwrap_or_else(|_| {
            kill_process_group(&child);
            panic!("{what} exited ({status}) but its {name} stayed open: a process it left behind still holds it")
        });
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Output {
        status: shell_status(status),
        stdout: collect(stdout, "stdout"),
        stderr: collect(stderr, "stderr"),
    }
}

/// Reads a pipe to its end on a thread; the bytes arrive on the channel.
fn read_to_end(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = send.send(bytes);
        });
    }
    receive
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The status a shell would report: the exit code, or 128 + the signal.
fn shell_status(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => panic!("{status:?} is neither an exit nor a signal"),
    }
}

fn kill_process_group(child: &Child) {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    const SIGKILL: i32 = 9;
    let group = i32::try_from(child.id()).expect("pids fit in i32");
    // SAFETY: kill(2) takes no pointers; the negative pid names the process
    // group this harness created for the child (`process_group(0)`).
    unsafe {
        kill(-group, SIGKILL);
    }
}

/// A scratch directory under the host's temp dir, named for the test and this process,
/// emptied when made and removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `<tmp>/moat-<tag>-<pid>`, fresh.
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("moat-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch(dir)
    }

    /// The directory as a string (test paths are UTF-8).
    pub fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 scratch path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
