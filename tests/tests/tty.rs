//! `moat do --tty`: the terminal moat runs on becomes the controlling terminal of the
//! sandbox. Each test runs moat on a pseudo-terminal that python3's pty module drives
//! (python3 and busybox-static are installed by .ci/run), types into it, and reads
//! what appears, waiting for each expected piece of output (the time limits only turn
//! a broken run into a failure).

use std::path::Path;
use std::process::{Command, Stdio};

use moat_tests::moat_bin;

/// The driver: runs argv[1:] on a new pty, then follows the script in $SCRIPT —
/// lines `send TEXT` (with \n, \x03 escapes) and `expect TEXT` — and prints
/// "exit N" with the exit status at the end.
const DRIVER: &str = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
buf = b""
def expect(pat):
    global buf
    end = time.time() + 30
    while pat not in buf:
        left = end - time.time()
        r = select.select([fd], [], [], max(0, left))[0] if left > 0 else []
        if not r:
            print("TIMEOUT waiting for %r; got %r" % (pat, buf)); os.kill(pid, 9); sys.exit(1)
        try:
            buf += os.read(fd, 4096)
        except OSError:
            print("EOF waiting for %r; got %r" % (pat, buf)); sys.exit(1)
    buf = buf[buf.index(pat) + len(pat):]
    print("saw %r" % pat)
for line in os.environ["SCRIPT"].splitlines():
    verb, _, text = line.partition(" ")
    text = text.encode().decode("unicode_escape").encode("latin-1")
    if verb == "send":
        os.write(fd, text)
    elif verb == "expect":
        expect(text)
while True:
    try:
        if not os.read(fd, 4096):
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
print("exit %d" % os.waitstatus_to_exitcode(st))
"#;

fn have_tools() -> bool {
    let ok = Path::new("/bin/busybox").exists()
        && Command::new("python3")
            .arg("-c")
            .arg("import pty")
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: skipping: needs /bin/busybox and python3 (.ci/run installs them)");
    }
    ok
}

/// Runs `moat do --tty ARGS` on a pty following `script`; returns the driver's log.
fn drive(args: &[&str], script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(moat_bin())
        .args(["do", "--tty"])
        .args(args)
        .env("SCRIPT", script)
        .stdin(Stdio::null())
        .output()
        .expect("run python3");
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the pty driver failed:\n{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    log
}

#[test]
fn interactive_shell_echoes_runs_jobs_and_ctrl_c_interrupts_the_foreground_job() {
    if !have_tools() {
        return;
    }
    let log = drive(
        &["-e", "PS1=moat$ ", "/bin/busybox", "sh", "-i"],
        "expect moat$ \n\
         send echo hi $((6*7))\\n\n\
         expect hi 42\n\
         expect moat$ \n\
         send busybox sh -c 'echo up-$((40+2)); exec sleep 100'\\n\n\
         expect up-42\n\
         send \\x03\n\
         expect moat$ \n\
         send busybox sh -c 'echo up-$((6*7)); exec cat'\\n\n\
         expect up-42\n\
         send typed\\n\n\
         expect typed\\r\\ntyped\\r\\n\n\
         send \\x03\n\
         expect moat$ \n\
         send exit 3\\n\n",
    );
    assert!(log.ends_with("exit 3\n"), "{log}");
}

#[test]
fn guest_sees_its_terminal_as_controlling_terminal_in_the_foreground() {
    if !have_tools() {
        return;
    }
    // The shell's stdin is a terminal, /dev/tty opens it, and the foreground process
    // group is the shell's own (it is the session's only job).
    let log = drive(
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "test -t 0 && echo stdin-is-tty; echo via-dev-tty > /dev/tty; \
             busybox awk '{print ($7 != 0 ? \"has\" : \"no\") \"-ctty\", \
             ($8 == $5 ? \"fore\" : \"back\") \"ground\"}' /proc/$$/stat; \
             exit 5",
        ],
        "expect stdin-is-tty\n\
         expect via-dev-tty\n\
         expect has-ctty foreground\n",
    );
    assert!(log.ends_with("exit 5\n"), "{log}");
}

#[test]
fn tty_refuses_a_stdin_that_is_not_a_terminal() {
    let out = Command::new(moat_bin())
        .args(["do", "--tty", "/bin/true"])
        .stdin(Stdio::null())
        .output()
        .expect("run moat");
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a terminal"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs tmux `args` and returns its stdout.
fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The issue's own check: an interactive bash under `moat do --tty` in tmux — prompt,
/// a command, ^C interrupting a `sleep`, and the exit status reaching moat's caller.
#[test]
fn interactive_bash_in_tmux_runs_commands_and_ctrl_c_interrupts_sleep() {
    if !Path::new("/usr/bin/tmux").exists() || !Path::new("/bin/bash").exists() {
        eprintln!("note: skipping: tmux or bash is not installed (.ci/run installs them)");
        return;
    }
    let session = format!("moat-tty-{}", std::process::id());
    let sock = format!("-Lmoat-test-{}", std::process::id());
    let cmd = format!(
        "env -i TERM=xterm PATH=/usr/bin:/bin PS1='moat$ ' {} do --tty /bin/bash --norc \
         --noprofile; echo EXIT=$?; sleep 60",
        moat_bin().display()
    );
    let t = |args: &[&str]| {
        let mut all = vec![sock.as_str()];
        all.extend_from_slice(args);
        tmux(&all)
    };
    t(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    let shows = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let pane = t(&["capture-pane", "-p", "-t", &session]);
            if pane.contains(want) {
                return pane;
            }
            if std::time::Instant::now() > deadline {
                t(&["kill-server"]);
                panic!("tmux pane never showed {want:?}:\n{pane}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    shows("moat$");
    t(&["send-keys", "-t", &session, "echo hi $((6*7))", "Enter"]);
    shows("hi 42");
    // The job says when it runs (by then it is the terminal's foreground job: bash
    // hands it the terminal before it execs).
    t(&[
        "send-keys",
        "-t",
        &session,
        "sh -c 'echo running; exec sleep 100'",
        "Enter",
    ]);
    shows("\nrunning");
    t(&["send-keys", "-t", &session, "C-c"]);
    t(&["send-keys", "-t", &session, "echo after $?", "Enter"]);
    shows("after 130");
    t(&["send-keys", "-t", &session, "exit 4", "Enter"]);
    let pane = shows("EXIT=4");
    t(&["kill-server"]);
    assert!(pane.contains("^C"), "{pane}");
}
