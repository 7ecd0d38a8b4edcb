//! Real programs of the host, run from the host's root (under moat: an overlay of it,
//! writable, whose changes stay in the sandbox), print exactly what they print
//! natively.

use std::path::Path;

use moat_tests::{assert_same_as_native, fixture};

/// Runs a host program both ways; the native run must succeed, so a test
/// cannot pass by both runs failing the same way.
fn assert_host_program_matches_native(program: &str, args: &[&str]) -> String {
    let native = assert_same_as_native(program, args);
    assert_eq!(
        native.status, 0,
        "the native run of {program} {args:?} failed:\n{}",
        native.stderr
    );
    native.stdout
}

#[test]
fn echo_prints_its_arguments() {
    let stdout = assert_host_program_matches_native("/bin/echo", &["hello"]);
    assert_eq!(stdout, "hello\n");
}

#[test]
fn ls_la_of_etc_matches_native() {
    assert_host_program_matches_native("/bin/ls", &["-la", "/etc"]);
}

#[test]
fn cat_of_os_release_matches_native() {
    assert_host_program_matches_native("/bin/cat", &["/etc/os-release"]);
}

#[test]
fn env_prints_the_callers_environment() {
    assert_host_program_matches_native("/usr/bin/env", &[]);
}

#[test]
fn id_matches_native() {
    assert_host_program_matches_native("/usr/bin/id", &[]);
}

#[test]
fn pwd_is_the_callers_working_directory() {
    assert_host_program_matches_native("/bin/pwd", &[]);
}

#[test]
fn sha256sum_of_5_mib_fixture_matches_native() {
    let big = fixture("big.bin");
    assert_host_program_matches_native("/usr/bin/sha256sum", &[big.to_str().unwrap()]);
}

#[test]
fn python3_computes_like_native() {
    let stdout = assert_host_program_matches_native("/usr/bin/python3", &["-c", "print(6*7)"]);
    assert_eq!(stdout, "42\n");
}

#[test]
fn shebang_script_runs_through_bin_sh() {
    let script = fixture("script.sh");
    let stdout = assert_host_program_matches_native(script.to_str().unwrap(), &["x", "y z"]);
    assert_eq!(stdout, "script ran with 2 args: x y z\nsum: 42\n");
}

#[test]
fn shell_pipeline_matches_native() {
    assert_host_program_matches_native("/bin/sh", &["-c", "ls /etc | sort | head -n 5; echo done"]);
}

#[test]
fn busybox_echo_matches_native() {
    // Optional on developer machines; .ci/run installs busybox-static.
    if !Path::new("/bin/busybox").exists() {
        eprintln!("note: skipping busybox_echo_matches_native: /bin/busybox is not installed");
        return;
    }
    let stdout = assert_host_program_matches_native("/bin/busybox", &["echo", "hi"]);
    assert_eq!(stdout, "hi\n");
}

#[test]
fn shell_substitutions_subshells_and_background_jobs_match_native() {
    assert_host_program_matches_native(
        "/bin/sh",
        &["-c", "x=$(echo nested | tr a-z A-Z); echo \"$x\"; (cd /etc && pwd; exit 4); echo \"subshell $?\"; sleep 5 & kill $!; wait $!; echo \"killed $?\"; true & wait; echo done"],
    );
}

#[test]
fn python_threads_subprocess_system_and_signal_handlers_match_native() {
    assert_host_program_matches_native(
        "/usr/bin/python3",
        &[
            "-c",
            "import threading, subprocess, os, signal, time\n\
r = []\n\
ts = [threading.Thread(target=lambda i=i: r.append(i * i)) for i in range(8)]\n\
[t.start() for t in ts]; [t.join() for t in ts]\n\
print('threads', sorted(r))\n\
print('subprocess', subprocess.run(['/bin/echo', 'hi'], capture_output=True, text=True).stdout.strip())\n\
print('system', os.system('exit 3') >> 8)\n\
signal.signal(signal.SIGALRM, lambda s, f: print('alarm handler'))\n\
signal.setitimer(signal.ITIMER_REAL, 0.05)\n\
time.sleep(0.3)\n\
print('slept')\n",
        ],
    );
}

#[test]
fn perl_fork_and_wait_match_native() {
    assert_host_program_matches_native(
        "/usr/bin/perl",
        &["-e", "my $p = fork(); if ($p == 0) { exit 5 } waitpid($p, 0); print \"child \", $? >> 8, \"\\n\";"],
    );
}

/// node's event loop is epoll; worker threads and the fs thread pool wake it through an
/// eventfd (libuv's async handles).
#[test]
fn node_worker_threads_timers_and_thread_pool_match_native() {
    let stdout = assert_host_program_matches_native(
        "/usr/bin/node",
        &[
            "-e",
            "const { Worker } = require('worker_threads');\n\
const fs = require('fs');\n\
const order = [];\n\
setTimeout(() => order.push('t50'), 50);\n\
setTimeout(() => order.push('t10'), 10);\n\
const w = new Worker('require(\"worker_threads\").parentPort.postMessage(6 * 7)', { eval: true });\n\
w.on('message', (m) => { console.log('worker', m); w.terminate(); });\n\
Promise.all([1, 2, 3].map(() => fs.promises.readFile('/etc/os-release')))\n\
  .then((r) => console.log('reads', r.length));\n\
setTimeout(() => console.log(order.join(' ')), 300);\n",
        ],
    );
    assert!(stdout.contains("worker 42"), "{stdout}");
}

/// A compiler driver: gcc runs cc1, as and collect2/ld as child processes, which
/// write temporary files in /tmp and the output next to the source.
#[test]
fn gcc_compiles_and_runs_a_program_like_native() {
    let stdout = assert_host_program_matches_native(
        "/bin/sh",
        &[
            "-c",
            "set -e; d=$(mktemp -d); cd \"$d\"\n\
printf '#include <stdio.h>\\nint main(void) { puts(\"compiled\"); return 3; }\\n' > hello.c\n\
gcc -O1 -o hello hello.c\n\
./hello || echo \"exit $?\"\n\
cd /; rm -rf \"$d\"\n",
        ],
    );
    assert_eq!(stdout, "compiled\nexit 3\n");
}

/// make decides what to rebuild from timestamps and runs recipes through the shell.
#[test]
fn make_builds_and_then_has_nothing_to_do_like_native() {
    assert_host_program_matches_native(
        "/bin/sh",
        &[
            "-c",
            "set -e; d=$(mktemp -d); cd \"$d\"\n\
printf 'out: in\\n\\tcat in in > out\\n' > Makefile\n\
echo data > in\n\
make -s && cat out\n\
make\n\
cd /; rm -rf \"$d\"\n",
        ],
    );
}

/// git: object files written and renamed into place, an index, lock files, and
/// many child processes.
#[test]
fn git_init_add_commit_and_log_like_native() {
    let stdout = assert_host_program_matches_native(
        "/bin/sh",
        &[
            "-c",
            "set -e; d=$(mktemp -d); cd \"$d\"\n\
export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z HOME=\"$d\"\n\
git init -q -b main repo; cd repo\n\
git config user.email moat@example.com; git config user.name moat\n\
echo one > a; mkdir sub; echo two > sub/b\n\
git add a sub; git commit -qm first\n\
echo three >> a; git commit -qam second\n\
git log --format='%H %s'\n\
git status --short | wc -l\n\
git cat-file -p HEAD:sub/b\n\
cd /; rm -rf \"$d\"\n",
        ],
    );
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
}

/// multiprocessing.Pool: worker processes fed through pipes, semaphores in /dev/shm.
#[test]
fn python_multiprocessing_pool_matches_native() {
    let stdout = assert_host_program_matches_native(
        "/usr/bin/python3",
        &[
            "-c",
            r#"import multiprocessing as mp
def square(x):
    return x * x
if __name__ == '__main__':
    with mp.Pool(3) as pool:
        print(sum(pool.map(square, range(1000))))
    q = mp.Queue()
    p = mp.Process(target=q.put, args=('from child',))
    p.start()
    print(q.get())
    p.join()
    print('exitcode', p.exitcode)
"#,
        ],
    );
    assert_eq!(stdout, "332833500\nfrom child\nexitcode 0\n");
}

/// socket.socketpair(): a unix stream pair, a round trip, 100 kB back, EOF after close.
#[test]
fn python_socketpair_round_trip_matches_native() {
    let stdout = assert_host_program_matches_native(
        "/usr/bin/python3",
        &[
            "-c",
            r#"import socket
a, b = socket.socketpair()
a.sendall(b'hello over socketpair')
print(b.recv(100).decode())
b.sendall(b'x' * 100000)
got = b''
while len(got) < 100000:
    got += a.recv(65536)
print(len(got), a.family, a.type)
a.close()
print(repr(b.recv(10)))
"#,
        ],
    );
    assert_eq!(stdout, "hello over socketpair\n100000 1 1\nb''\n");
}

/// multiprocessing.Pipe (a socketpair between processes) and a forkserver pool (a
/// unix socket server that passes fds to its clients with SCM_RIGHTS).
#[test]
fn python_multiprocessing_pipe_and_forkserver_match_native() {
    let stdout = assert_host_program_matches_native(
        "/usr/bin/python3",
        &[
            "-c",
            r#"import multiprocessing as mp
def worker(conn):
    while True:
        m = conn.recv()
        if m is None:
            break
        conn.send(m * 2)
    conn.close()
if __name__ == '__main__':
    parent, child = mp.Pipe()
    p = mp.Process(target=worker, args=(child,))
    p.start()
    for i in range(5):
        parent.send(i)
        print(parent.recv())
    parent.send(None)
    p.join()
    print('exitcode', p.exitcode)
    ctx = mp.get_context('forkserver')
    with ctx.Pool(2) as pool:
        print(sum(pool.map(abs, range(-50, 50))))
"#,
        ],
    );
    assert_eq!(stdout, "0\n2\n4\n6\n8\nexitcode 0\n2500\n");
}

/// An AF_UNIX stream server (socketserver, one thread per connection) and its
/// clients in one sandbox, on a path in a fresh /tmp directory.
#[test]
fn python_unix_stream_server_and_clients_match_native() {
    let stdout = assert_host_program_matches_native(
        "/usr/bin/python3",
        &[
            "-c",
            r#"import os, socket, socketserver, tempfile, threading
d = tempfile.mkdtemp()
path = os.path.join(d, 'srv.sock')
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())
srv = socketserver.ThreadingUnixStreamServer(path, Echo)
t = threading.Thread(target=srv.serve_forever)
t.start()
for n in range(3):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(path)
        f = c.makefile('rwb')
        f.write(b'hello %d\n' % n); f.flush()
        print(f.readline().decode().strip())
        c.shutdown(socket.SHUT_WR)
print(os.path.exists(path), oct(os.stat(path).st_mode & 0o170000))
srv.shutdown(); srv.server_close(); t.join()
os.unlink(path); os.rmdir(d)
print('done')
"#,
        ],
    );
    assert_eq!(stdout, "HELLO 0\nHELLO 1\nHELLO 2\nTrue 0o140000\ndone\n");
}

/// sqlite3: a database file with a rollback journal and one in WAL mode (the -shm file
/// is a shared mapping), transactions, an index, aggregates.
#[test]
fn sqlite3_journal_and_wal_databases_like_native() {
    let stdout = assert_host_program_matches_native(
        "/bin/sh",
        &[
            "-c",
            "set -e; d=$(mktemp -d); cd \"$d\"\n\
for mode in delete wal; do\n\
sqlite3 db-$mode \"PRAGMA journal_mode=$mode;\" >/dev/null\n\
sqlite3 db-$mode <<'SQL'\n\
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);\n\
BEGIN;\n\
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000)\n\
INSERT INTO t(name, v) SELECT 'row' || i, i * 0.5 FROM n;\n\
COMMIT;\n\
CREATE INDEX t_name ON t(name);\n\
UPDATE t SET v = v * 2 WHERE id % 3 = 0;\n\
DELETE FROM t WHERE id > 1900;\n\
SQL\n\
sqlite3 db-$mode 'PRAGMA journal_mode; SELECT count(*), sum(v), min(name), max(name) FROM t; PRAGMA integrity_check;'\n\
done\n\
cd /; rm -rf \"$d\"\n",
        ],
    );
    assert_eq!(stdout.lines().count(), 6, "{stdout}");
}

/// tar, find and cp -a: archive a tree with links, modes and times, list it, extract
/// it, copy it preserving everything, and compare the trees. (Nothing here depends on
/// directory order or directory sizes, which are each filesystem's own: tar stores
/// whichever name of a hard link it meets first as the file.)
#[test]
fn tar_find_and_cp_preserve_a_tree_like_native() {
    let stdout = assert_host_program_matches_native(
        "/bin/sh",
        &[
            "-c",
            "set -e; d=$(mktemp -d); cd \"$d\"\n\
mkdir -p src/a/b src/empty; echo one > src/a/f1; printf 'x%.0s' $(seq 1 5000) > src/a/b/big\n\
ln -s ../a/f1 src/a/b/link; ln src/a/f1 src/hard; chmod 640 src/a/f1; chmod 1777 src/empty\n\
touch -h -d @1234567890 src/a/b/link src/a/b/big src/a/f1 src/hard src/a/b src/a src/empty\n\
tar -cf t.tar -C src .\n\
tar -tf t.tar | sort\n\
mkdir out; tar -xpf t.tar -C out\n\
cp -a src copy\n\
for t in src out copy; do\n\
  (cd $t && { find . -mindepth 1 -type d -printf '%y %m %n %T@ %p\\n'; \
     find . -mindepth 1 ! -type d -printf '%y %m %s %n %T@ %p %l\\n'; } | sort | md5sum)\n\
done\n\
find src -type f -newer t.tar | wc -l\n\
find src -name 'f*' -o -name big | sort\n\
cd /; rm -rf \"$d\"\n",
        ],
    );
    let lines: Vec<&str> = stdout.lines().collect();
    // The three trees are identical.
    let sums: Vec<&str> = lines
        .iter()
        .filter(|l| l.ends_with("  -"))
        .copied()
        .collect();
    assert_eq!(sums.len(), 3, "{stdout}");
    assert!(sums.iter().all(|s| *s == sums[0]), "{stdout}");
}

#[test]
fn python_ctypes_inotify_sees_create_rename_delete_like_native() {
    let stdout = assert_host_program_matches_native(
        "/usr/bin/python3",
        &[
            "-c",
            "import ctypes, os, struct, tempfile\n\
libc = ctypes.CDLL(None, use_errno=True)\n\
d = tempfile.mkdtemp(dir='/tmp')\n\
fd = libc.inotify_init1(os.O_NONBLOCK)\n\
libc.inotify_add_watch(fd, d.encode(), 0xfff)\n\
open(os.path.join(d, 'hello'), 'w').write('x')\n\
os.rename(os.path.join(d, 'hello'), os.path.join(d, 'bye'))\n\
os.unlink(os.path.join(d, 'bye'))\n\
os.rmdir(d)\n\
buf, off = os.read(fd, 4096), 0\n\
while off < len(buf): w, mask, cookie, ln = struct.unpack_from('iIII', buf, off); \
print(w, hex(mask), cookie != 0, buf[off + 16:off + 16 + ln].rstrip(b'\\0').decode()); \
off += 16 + ln\n",
        ],
    );
    assert!(
        stdout.contains("1 0x40 True hello\n1 0x80 True bye\n"),
        "{stdout}"
    );
}
