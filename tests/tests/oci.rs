//! moat as an OCI runtime, driven directly the way container engines drive runc: bundles
//! built from busybox-static, the create/start/state/kill/delete lifecycle, run, list,
//! spec, and clear errors for broken bundles that leave nothing behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use moat_tests::moat_bin;

/// A state root and a bundle (busybox rootfs + config.json), removed when dropped.
struct Env {
    dir: PathBuf,
}

impl Env {
    fn new(tag: &str) -> Env {
        let dir = std::env::temp_dir().join(format!("moat-oci-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let rootfs = dir.join("bundle/rootfs");
        for d in ["bin", "tmp", "proc", "dev", "sys", "etc"] {
            fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
        for tool in [
            "sh", "echo", "cat", "sleep", "ls", "touch", "hostname", "id", "pwd", "grep", "true",
        ] {
            symlink("busybox", rootfs.join("bin").join(tool)).unwrap();
        }
        fs::write(rootfs.join("etc/motd"), "in the image\n").unwrap();
        Env { dir }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    fn root(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Writes config.json running `args` (root read-only unless `writable`).
    fn config(&self, args: &[&str], writable: bool) {
        let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let json = format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":[{}],
"env":["PATH=/bin","GREETING=hi"],"cwd":"/tmp"}},"root":{{"path":"rootfs","readonly":{}}},
"hostname":"box","annotations":{{"org.example/key":"value"}}}}"#,
            args.join(","),
            !writable
        );
        fs::write(self.bundle().join("config.json"), json).unwrap();
    }

    fn moat(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(moat_bin());
        cmd.arg("--root").arg(self.root()).args(args);
        cmd
    }

    /// Runs a moat command to completion. Its output goes through files, not pipes: a
    /// container created by it inherits (and keeps) them, as runc's does.
    fn out(&self, args: &[&str]) -> Output {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (o, e) = (
            self.dir.join(format!("out{n}")),
            self.dir.join(format!("err{n}")),
        );
        let status = self
            .moat(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&o).unwrap())
            .stderr(fs::File::create(&e).unwrap())
            .status()
            .expect("run moat");
        Output {
            status,
            stdout: fs::read(&o).unwrap(),
            stderr: fs::read(&e).unwrap(),
        }
    }

    fn state(&self, id: &str) -> String {
        let out = self.out(&["state", id]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    }

    fn status(&self, id: &str) -> String {
        let state = self.state(id);
        let line = state
            .lines()
            .find(|l| l.contains("\"status\""))
            .expect("status field");
        line.split('"').nth(3).unwrap().to_string()
    }

    /// Waits (bounded) until the container is `want`.
    fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.status(id) != want {
            assert!(Instant::now() < deadline, "{id} never became {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(self.root()) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.out(&["delete", "--force", &id]);
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_prints_what_the_container_prints_and_exits_with_its_status() {
    let env = Env::new("run");
    env.config(
        &[
            "sh",
            "-c",
            "echo $GREETING from $(hostname) in $(pwd); cat /etc/motd; exit 3",
        ],
        false,
    );
    let out = env.out(&["run", "--bundle", env.bundle().to_str().unwrap(), "r1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi from box in /tmp\nin the image\n");
    // run deletes the container once it has exited.
    assert!(!env.root().join("r1").exists());
}

#[test]
fn create_start_state_kill_delete_lifecycle() {
    let env = Env::new("life");
    env.config(
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo started; while :; do sleep 0.05; done",
        ],
        false,
    );
    let pid_file = env.dir.join("pid");
    let bundle = env.bundle();
    let mut create = env
        .moat(&[
            "create",
            "--bundle",
            bundle.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            "c1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // create returns while the container lives on, holding create's stdout.
    let status = create.wait().unwrap();
    assert!(status.success());
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let state = env.state("c1");
    assert!(state.contains("\"status\": \"created\""), "{state}");
    assert!(state.contains(&format!("\"pid\": {pid}")), "{state}");
    assert!(state.contains("\"ociVersion\""), "{state}");
    assert!(state.contains("org.example/key"), "{state}");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    // Not started: the program has printed nothing.
    let out = env.out(&["start", "c1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(env.status("c1"), "running");
    // Starting twice is an error.
    assert!(!env.out(&["start", "c1"]).status.success());
    // A running container cannot be deleted without --force.
    let out = env.out(&["delete", "c1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not stopped"),
        "{}",
        text(&out.stderr)
    );
    // Once it has said "started", its TERM handler is set (init, like any init,
    // ignores signals from outside it has no handler for).
    let mut stdout = std::io::BufReader::new(create.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "started\n");
    let out = env.out(&["kill", "c1", "TERM"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.wait_status("c1", "stopped");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "got TERM\n");
    assert!(env.state("c1").contains("\"pid\": 0"));
    assert!(!env.out(&["kill", "c1"]).status.success());
    assert!(env.out(&["delete", "c1"]).status.success());
    let out = env.out(&["state", "c1"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("does not exist"));
    assert!(!env.root().join("c1").exists());
}

#[test]
fn kill_with_sigkill_and_delete_force_leave_nothing_behind() {
    let env = Env::new("force");
    env.config(&["sleep", "1000"], false);
    let bundle = env.bundle();
    for id in ["k1", "k2"] {
        let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), id]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert!(env.out(&["start", "k1"]).status.success());
    let pid = |id: &str| -> i32 {
        let s = env.state(id);
        let line = s
            .lines()
            .find(|l| l.contains("\"pid\""))
            .unwrap()
            .to_string();
        line.trim()
            .trim_start_matches("\"pid\": ")
            .trim_end_matches(',')
            .parse()
            .unwrap()
    };
    let (p1, p2) = (pid("k1"), pid("k2"));
    assert!(env.out(&["kill", "k1", "9"]).status.success());
    env.wait_status("k1", "stopped");
    assert!(env.out(&["delete", "k1"]).status.success());
    // A created (never started) container, force-deleted.
    assert!(env.out(&["delete", "--force", "k2"]).status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    for p in [p1, p2] {
        // The monitor (and with it the sentry and gofer) is gone or a zombie.
        while fs::read_to_string(format!("/proc/{p}/stat"))
            .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
        {
            assert!(Instant::now() < deadline, "monitor {p} still alive");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(fs::read_dir(env.root()).unwrap().count(), 0);
    // delete --force of a container that does not exist is not an error.
    assert!(env.out(&["delete", "--force", "nope"]).status.success());
}

#[test]
fn list_shows_containers_as_table_json_and_ids() {
    let env = Env::new("list");
    env.config(&["sleep", "1000"], false);
    let bundle = env.bundle();
    for id in ["b", "a"] {
        assert!(env
            .out(&["create", "--bundle", bundle.to_str().unwrap(), id])
            .status
            .success());
    }
    assert_eq!(text(&env.out(&["list", "-q"]).stdout), "a\nb\n");
    let table = text(&env.out(&["list"]).stdout);
    assert!(table.starts_with("ID\tPID\tSTATUS"), "{table}");
    assert!(table.contains("\tcreated\t"), "{table}");
    let json = text(&env.out(&["list", "--format", "json"]).stdout);
    assert!(
        json.starts_with('[') && json.contains("\"id\":\"a\""),
        "{json}"
    );
}

#[test]
fn read_only_and_writable_roots_behave_as_configured() {
    let env = Env::new("roots");
    let bundle = env.bundle();
    env.config(&["touch", "/made-here"], false);
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "ro"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    env.config(&["touch", "/made-here"], true);
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "rw"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(bundle.join("rootfs/made-here").exists());
}

#[test]
fn broken_bundles_and_ids_get_clear_errors_and_leave_no_state() {
    let env = Env::new("bad");
    let bundle = env.bundle();
    let b = bundle.to_str().unwrap();
    let config = bundle.join("config.json");
    // (id, what config.json holds — None: no config.json at all —, expected message)
    let cases: [(&str, Option<&str>, &str); 6] = [
        ("missing", None, "no config.json"),
        ("badjson", Some("{not json"), "config.json"),
        (
            "version",
            Some(
                r#"{"ociVersion":"2.0.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}"#,
            ),
            "unsupported ociVersion",
        ),
        (
            "noroot",
            Some(
                r#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},"root":{"path":"nowhere"}}"#,
            ),
            "nowhere",
        ),
        (
            "noargs",
            Some(
                r#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":[],"cwd":"/"},"root":{"path":"rootfs"}}"#,
            ),
            "process.args",
        ),
        (
            "tty",
            Some(
                r#"{"ociVersion":"1.0.2","process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}"#,
            ),
            "terminal",
        ),
    ];
    for (id, contents, message) in cases {
        match contents {
            None => {
                let _ = fs::remove_file(&config);
            }
            Some(c) => fs::write(&config, c).unwrap(),
        }
        let out = env.out(&["create", "--bundle", b, id]);
        assert!(!out.status.success(), "{id}: create succeeded");
        assert!(
            text(&out.stderr).contains(message),
            "{id}: {:?} lacks {message:?}",
            text(&out.stderr)
        );
        assert!(!env.root().join(id).exists(), "{id}: state left behind");
    }
    env.config(&["sh", "-c", "exit 0"], false);
    let out = env.out(&["create", "--bundle", b, "../escape"]);
    assert!(text(&out.stderr).contains("invalid container id"));
    assert!(env.out(&["create", "--bundle", b, "dup"]).status.success());
    let out = env.out(&["create", "--bundle", b, "dup"]);
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    // A program that does not exist: the sentry says so and nothing is left.
    env.config(&["/no/such/program"], false);
    let out = env.out(&["create", "--bundle", b, "noexec"]);
    assert!(!out.status.success());
    assert!(!env.root().join("noexec").exists());
}

#[test]
fn spec_writes_a_config_the_runtime_accepts() {
    let env = Env::new("spec");
    let bundle = env.bundle();
    fs::remove_file(bundle.join("config.json")).ok();
    let out = env.out(&["spec", "--bundle", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Refuses to overwrite.
    assert!(!env
        .out(&["spec", "--bundle", bundle.to_str().unwrap()])
        .status
        .success());
    // The default config runs `sh`, which reads its (empty) stdin and exits 0.
    let mut child = env
        .moat(&["run", "--bundle", bundle.to_str().unwrap(), "s1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo from spec\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from spec\n");
}

#[test]
fn config_mounts_bind_host_trees_and_files_and_add_tmpfs() {
    let env = Env::new("mounts");
    let bundle = env.bundle();
    let rootfs = bundle.join("rootfs");
    fs::create_dir_all(rootfs.join("mnt/ro")).unwrap();
    fs::create_dir_all(rootfs.join("mnt/rw")).unwrap();
    fs::create_dir_all(rootfs.join("scratch")).unwrap();
    let host = env.dir.join("host");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("f"), "host data\n").unwrap();
    fs::write(env.dir.join("hostfile"), "host file\n").unwrap();
    let script = "cat /mnt/ro/f /etc/motd; echo appended >> /etc/motd; \
                  touch /mnt/ro/x 2>/dev/null || echo ro refused; \
                  echo new > /mnt/rw/new; echo t > /scratch/t && cat /scratch/t; \
                  grep -c ' /scratch tmpfs' /proc/mounts";
    let json = format!(
        r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["sh","-c",{script:?}],
"env":["PATH=/bin"],"cwd":"/"}},"root":{{"path":"rootfs","readonly":true}},
"mounts":[{{"destination":"/proc","type":"proc","source":"proc"}},
{{"destination":"/dev","type":"tmpfs","source":"tmpfs"}},
{{"destination":"/mnt/ro","type":"bind","source":{h:?},"options":["rbind","ro"]}},
{{"destination":"/mnt/rw","type":"none","source":{h:?},"options":["bind","rw"]}},
{{"destination":"/etc/motd","type":"bind","source":{f:?},"options":["bind"]}},
{{"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["nosuid","size=1m","mode=755"]}},
{{"destination":"/made/deep","type":"tmpfs","source":"tmpfs"}},
{{"destination":"/etc/made-file","type":"bind","source":{f:?},"options":["bind","ro"]}}]}}"#,
        h = host.to_str().unwrap(),
        f = env.dir.join("hostfile").to_str().unwrap(),
    );
    fs::write(bundle.join("config.json"), json).unwrap();
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "m1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "host data\nhost file\nro refused\nt\n1\n"
    );
    // Writable binds wrote to the host; the read-only one did not.
    assert_eq!(
        fs::read_to_string(env.dir.join("hostfile")).unwrap(),
        "host file\nappended\n"
    );
    assert_eq!(fs::read_to_string(host.join("new")).unwrap(), "new\n");
    assert!(!host.join("x").exists());
    // Missing destinations are made in the image (a directory, or a file for a file
    // bind), never through a symlink of the image; unknown types are a clear error.
    assert!(rootfs.join("made/deep").is_dir());
    assert!(rootfs.join("etc/made-file").is_file());
    symlink(&env.dir, rootfs.join("escape")).unwrap();
    for (mount, message) in [
        (
            r#"{"destination":"/escape/x","type":"tmpfs","source":"tmpfs"}"#,
            "symlink",
        ),
        (
            r#"{"destination":"/mnt","type":"nfs","source":"x"}"#,
            "not supported",
        ),
    ] {
        let json = format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["true"],"cwd":"/"}},
"root":{{"path":"rootfs"}},"mounts":[{mount}]}}"#
        );
        fs::write(bundle.join("config.json"), json).unwrap();
        let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "bad"]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
        assert!(!env.root().join("bad").exists());
    }
    assert!(
        !env.dir.join("x").exists(),
        "created through the image's symlink"
    );
}

#[test]
fn hooks_run_on_the_host_with_the_state_on_stdin() {
    let env = Env::new("hooks");
    let bundle = env.bundle();
    let log = env.dir.join("hooks.log");
    let hook = |name: &str| {
        format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","printf '{name} %s\n' \"$(cat)\" >> {log}; [ \"$X\" = 1 ]"],"env":["X=1"]}}"#,
            log = log.to_str().unwrap()
        )
    };
    let config = |hooks: &str| {
        format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["/bin/true"],"cwd":"/"}},
"root":{{"path":"rootfs"}},"hooks":{hooks}}}"#
        )
    };
    let hooks = format!(
        r#"{{"prestart":[{}],"createRuntime":[{}],"poststart":[{}],"poststop":[{}]}}"#,
        hook("prestart"),
        hook("createRuntime"),
        hook("poststart"),
        hook("poststop")
    );
    fs::write(bundle.join("config.json"), config(&hooks)).unwrap();
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "h1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let logged = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    let order: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        order,
        ["prestart", "createRuntime", "poststart", "poststop"]
    );
    assert!(lines[0].contains("\"status\":\"created\"") && lines[0].contains("\"id\":\"h1\""));
    assert!(lines[2].contains("\"status\":\"running\""), "{}", lines[2]);
    assert!(lines[3].contains("\"status\":\"stopped\""), "{}", lines[3]);
    // A failing createRuntime hook fails create and leaves nothing.
    let failing = r#"{"createRuntime":[{"path":"/bin/false"}]}"#;
    fs::write(bundle.join("config.json"), config(failing)).unwrap();
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "h2"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("hook /bin/false failed"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.root().join("h2").exists());
    // Hooks that would run inside the container are refused.
    let inside = r#"{"startContainer":[{"path":"/bin/true"}]}"#;
    fs::write(bundle.join("config.json"), config(inside)).unwrap();
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "h3"]);
    assert!(
        text(&out.stderr).contains("startContainer"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn process_rlimits_and_umask_are_the_containers() {
    let env = Env::new("limits");
    let bundle = env.bundle();
    let config = |rlimits: &str| {
        format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0,"umask":23}},
"args":["sh","-c","ulimit -n; ulimit -Hn; umask"],"env":["PATH=/bin"],"cwd":"/",
"rlimits":[{rlimits}]}},"root":{{"path":"rootfs"}}}}"#
        )
    };
    fs::write(
        bundle.join("config.json"),
        config(r#"{"type":"RLIMIT_NOFILE","soft":100,"hard":200}"#),
    )
    .unwrap();
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "l1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "100\n200\n0027\n");
    fs::write(
        bundle.join("config.json"),
        config(r#"{"type":"RLIMIT_NOFILE","soft":300,"hard":200}"#),
    )
    .unwrap();
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "l2"]);
    assert!(text(&out.stderr).contains("soft limit 300 above hard limit 200"));
    assert!(!env.root().join("l2").exists());
}

#[test]
fn ps_lists_the_sandboxs_processes_and_kill_all_reaches_them() {
    let env = Env::new("ps");
    env.config(
        &["sh", "-c", "sleep 1000 & echo started; wait; echo waited"],
        false,
    );
    let bundle = env.bundle();
    let mut create = env
        .moat(&["create", "--bundle", bundle.to_str().unwrap(), "p1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(create.wait().unwrap().success());
    // Not started: nothing to list yet.
    assert!(!env.out(&["ps", "p1"]).status.success());
    assert!(env.out(&["start", "p1"]).status.success());
    let mut stdout = std::io::BufReader::new(create.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "started\n");
    let table = text(&env.out(&["ps", "p1"]).stdout);
    assert!(table.starts_with("PID\tPPID\tCMD\n1\t0\tsh\n"), "{table}");
    // The sleep (busybox runs it by re-executing /proc/self/exe, so its name is "exe",
    // as it is natively).
    assert_eq!(
        table.lines().filter(|l| l.contains("\t1\t")).count(),
        1,
        "{table}"
    );
    let json = text(&env.out(&["ps", "--format", "json", "p1"]).stdout);
    assert!(json.starts_with("[1,"), "{json}");
    // TERM to every process: sleep dies of it; sh (init, no handler) does not, and
    // carries on once its child is gone.
    let out = env.out(&["kill", "--all", "p1", "TERM"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.wait_status("p1", "stopped");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "waited\n");
}

/// Creates and starts container `id` running `args` (its output to files).
fn started(env: &Env, id: &str, args: &[&str]) {
    env.config(args, false);
    let bundle = env.bundle();
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.out(&["start", id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Waits (bounded) until `path` holds `want`.
fn wait_for_file(path: &Path, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = fs::read_to_string(path).unwrap_or_default();
        if got.contains(want) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} never held {want:?}: {got:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_runs_more_processes_in_a_running_container() {
    let env = Env::new("exec");
    env.config(&["sleep", "1000"], false);
    let bundle = env.bundle();
    assert!(env
        .out(&["create", "--bundle", bundle.to_str().unwrap(), "e1"])
        .status
        .success());
    // Not running yet: exec is refused.
    let out = env.out(&["exec", "e1", "true"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("created"),
        "{}",
        text(&out.stderr)
    );
    assert!(env.out(&["start", "e1"]).status.success());

    // The container's env, user and cwd, the exit code passed on.
    let out = env.out(&["exec", "e1", "sh", "-c", "echo $GREETING; id; pwd; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\nuid=0 gid=0\n/tmp\n");
    // Flags on top.
    let out = env.out(&[
        "exec",
        "--cwd",
        "/",
        "-e",
        "GREETING=yo",
        "--user",
        "1000:1000",
        "e1",
        "sh",
        "-c",
        "echo $GREETING; id; pwd",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "yo\nuid=1000 gid=1000\n/\n");
    // Killed by a signal: 128+N.
    let out = env.out(&["exec", "e1", "sh", "-c", "kill -9 $$"]);
    assert_eq!(out.status.code(), Some(137));
    // stdin reaches it.
    let mut cat = env
        .moat(&["exec", "e1", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    cat.stdin
        .take()
        .unwrap()
        .write_all(b"through stdin\n")
        .unwrap();
    let out = cat.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "through stdin\n");
    // A program that is not there: a clear error.
    let out = env.out(&["exec", "e1", "/bin/nosuch"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exec failed") && text(&out.stderr).contains("nosuch"),
        "{}",
        text(&out.stderr)
    );
    // --process: an OCI process JSON instead of the arguments.
    let process = env.dir.join("process.json");
    fs::write(
        &process,
        r#"{"user":{"uid":5,"gid":6},"args":["sh","-c","echo $FROM; id; pwd"],
            "env":["PATH=/bin","FROM=process.json"],"cwd":"/bin"}"#,
    )
    .unwrap();
    let out = env.out(&["exec", "--process", process.to_str().unwrap(), "e1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "process.json\nuid=5 gid=6\n/bin\n");
    fs::write(&process, r#"{"args":[]}"#).unwrap();
    assert!(!env
        .out(&["exec", "--process", process.to_str().unwrap(), "e1"])
        .status
        .success());

    // --detach: a waiter process (the --pid-file's pid) stays for it; ps lists it; a
    // signal to the waiter reaches it, and the waiter exits with its status.
    let pid_file = env.dir.join("exec.pid");
    let out_file = env.dir.join("detached.out");
    let status = env
        .moat(&[
            "exec",
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "e1",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_file).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_file(&out_file, "ready\n");
    let table = text(&env.out(&["ps", "e1"]).stdout);
    assert!(
        table.lines().any(|l| l.ends_with("\t0\tsh")),
        "an exec'd process has no parent in the sandbox: {table}"
    );
    let waiter: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = fs::read_to_string(format!("/proc/{waiter}/cmdline")).unwrap();
    assert!(cmdline.contains("--started-fd"), "{cmdline:?}");
    Command::new("kill")
        .args(["-TERM", &waiter.to_string()])
        .status()
        .unwrap();
    wait_for_file(&out_file, "got TERM\n");
    // The container itself is untouched.
    assert_eq!(env.status("e1"), "running");

    // When the container stops, processes exec'd into it are killed with it.
    let mut long = env
        .moat(&["exec", "e1", "sleep", "1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while text(&env.out(&["ps", "e1"]).stdout)
        .matches("sleep")
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the exec'd sleep never showed up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(env.out(&["kill", "e1", "KILL"]).status.success());
    assert_eq!(long.wait().unwrap().code(), Some(137));
}

/// The console-socket listener (tests/guest/console_socket.c), started and listening;
/// it sets the terminal to 40x100.
fn console_listener(socket: &Path, input: &str) -> std::process::Child {
    console_listener_sized(socket, input, "40", "100")
}

fn console_listener_sized(
    socket: &Path,
    input: &str,
    rows: &str,
    cols: &str,
) -> std::process::Child {
    let mut child = Command::new(moat_tests::guest(
        "console_socket",
        moat_tests::Linkage::Dynamic,
    ))
    .args([socket.to_str().unwrap(), rows, cols, input])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "listening\n");
    child.stdout = Some(out.into_inner());
    child
}

#[test]
fn console_socket_gives_the_container_and_execs_a_terminal() {
    let env = Env::new("console");
    let script = "stty size; [ -t 0 ] && echo stdin is a tty; read x; echo got $x; exit 5";
    // The container's terminal is its console: `tty` names it /dev/console.
    let with_tty = format!("tty; {script}");
    let args: Vec<String> = ["sh", "-c", &with_tty]
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
    fs::write(
        env.bundle().join("config.json"),
        format!(
            r#"{{"ociVersion":"1.0.2","process":{{"terminal":true,"user":{{"uid":0,"gid":0}},
"args":[{}],"env":["PATH=/bin"],"cwd":"/"}},"root":{{"path":"rootfs","readonly":true}}}}"#,
            args.join(",")
        ),
    )
    .unwrap();
    symlink("busybox", env.bundle().join("rootfs/bin/stty")).unwrap();
    symlink("busybox", env.bundle().join("rootfs/bin/[")).unwrap();
    symlink("busybox", env.bundle().join("rootfs/bin/tty")).unwrap();
    let bundle = env.bundle();
    // A terminal needs a console socket when detached, and a console socket needs a
    // terminal.
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "t0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--console-socket"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.root().join("t0").exists());

    let socket = env.dir.join("console.sock");
    let listener = console_listener(&socket, "hello\\n");
    let out = env.out(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--console-socket",
        socket.to_str().unwrap(),
        "t1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(env.out(&["start", "t1"]).status.success());
    let out = listener.wait_with_output().unwrap();
    let shown = text(&out.stdout).replace('\r', "");
    assert_eq!(
        shown,
        "got a terminal named /dev/pts/N\nhello\n/dev/console\n40 100\nstdin is a tty\ngot hello\n"
    );
    env.wait_status("t1", "stopped");

    // process.consoleSize: the terminal is made that size.
    fs::write(
        env.bundle().join("config.json"),
        r#"{"ociVersion":"1.0.2","process":{"terminal":true,"consoleSize":{"height":33,"width":77},
"user":{"uid":0,"gid":0},"args":["stty","size"],"env":["PATH=/bin"],"cwd":"/"},
"root":{"path":"rootfs","readonly":true}}"#,
    )
    .unwrap();
    let socket = env.dir.join("sized.sock");
    let listener = console_listener_sized(&socket, "", "0", "0");
    let out = env.out(&[
        "run",
        "--bundle",
        bundle.to_str().unwrap(),
        "--console-socket",
        socket.to_str().unwrap(),
        "--detach",
        "t1s",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&listener.wait_with_output().unwrap().stdout).replace('\r', "");
    assert_eq!(shown, "got a terminal named /dev/pts/N\n33 77\n");

    // exec -t into a running container (whose own process has no terminal).
    started(&env, "t2", &["sleep", "1000"]);
    let socket = env.dir.join("exec.sock");
    let listener = console_listener(&socket, "world\\n");
    let out = env.out(&[
        "exec",
        "--tty",
        "--console-socket",
        socket.to_str().unwrap(),
        "t2",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let out = listener.wait_with_output().unwrap();
    let shown = text(&out.stdout).replace('\r', "");
    assert_eq!(
        shown,
        "got a terminal named /dev/pts/N\nworld\n40 100\nstdin is a tty\ngot world\n"
    );
    // ^C on the exec's terminal interrupts its foreground job (the key signals the
    // `moat exec` holding the terminal, which passes it on).
    let socket = env.dir.join("intr.sock");
    let listener = console_listener(&socket, "@ready@\u{3}");
    let out = env.out(&[
        "exec",
        "--tty",
        "--console-socket",
        socket.to_str().unwrap(),
        "t2",
        "sh",
        "-c",
        "echo ready; sleep 1000",
    ]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let shown = text(&listener.wait_with_output().unwrap().stdout).replace('\r', "");
    assert!(shown.contains("ready\n^C"), "{shown:?}");
    // The same, detached (as podman and containerd run `exec -t`): the waiter left
    // behind holds the terminal.
    let socket = env.dir.join("intr2.sock");
    let listener = console_listener(&socket, "@ready@\u{3}");
    let out = env.out(&[
        "exec",
        "--tty",
        "--detach",
        "--console-socket",
        socket.to_str().unwrap(),
        "t2",
        "sh",
        "-c",
        "echo ready; sleep 1000",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The terminal hangs up once the interrupted process is gone.
    let shown = text(&listener.wait_with_output().unwrap().stdout).replace('\r', "");
    assert!(shown.contains("ready\n^C"), "{shown:?}");
    let out = env.out(&["exec", "--tty", "--detach", "t2", "true"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--console-socket"),
        "{}",
        text(&out.stderr)
    );
}

/// The CPU time `moat events --stats` reports for `id`.
fn cpu_total(env: &Env, id: &str) -> u64 {
    let out = env.out(&["events", "--stats", id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(
        line.starts_with("{") && line.contains("\"type\":\"stats\""),
        "{line}"
    );
    assert!(line.contains(&format!("\"id\":\"{id}\"")), "{line}");
    let at = line.find("\"total\":").expect("cpu total") + 8;
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn pause_stops_every_guest_thread_until_resume_and_events_report_use() {
    let env = Env::new("pause");
    env.config(&["sh", "-c", "while :; do :; done"], false);
    let bundle = env.bundle();
    assert!(env
        .out(&["create", "--bundle", bundle.to_str().unwrap(), "p1"])
        .status
        .success());
    // Only a running container pauses; only a paused one resumes.
    assert!(!env.out(&["pause", "p1"]).status.success());
    assert!(env.out(&["start", "p1"]).status.success());
    assert!(!env.out(&["resume", "p1"]).status.success());
    let out = env.out(&["pause", "p1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(env.status("p1"), "paused");
    // Paused: the busy loop gets no CPU time at all.
    let before = cpu_total(&env, "p1");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_total(&env, "p1"), before);
    assert!(!env.out(&["exec", "p1", "true"]).status.success());
    assert!(env.out(&["resume", "p1"]).status.success());
    assert_eq!(env.status("p1"), "running");
    let deadline = Instant::now() + Duration::from_secs(20);
    while cpu_total(&env, "p1") == before {
        assert!(Instant::now() < deadline, "the guest never ran again");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A stream of events every --interval, ending when the container stops.
    let mut events = env
        .moat(&["events", "--interval", "50ms", "p1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(events.stdout.take().unwrap());
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(line.contains("\"pids\":{\"current\":"), "{line}");
    }
    assert!(env.out(&["kill", "p1", "KILL"]).status.success());
    assert!(events.wait().unwrap().success());
    assert!(!env.out(&["events", "--stats", "p1"]).status.success());
    assert!(!env
        .out(&["events", "--interval", "0s", "p1"])
        .status
        .success());
}

#[test]
fn masked_and_readonly_paths_sysctls_and_oom_score_adj_are_honoured() {
    let env = Env::new("masked");
    let rootfs = env.bundle().join("rootfs");
    fs::create_dir_all(rootfs.join("srv/secret")).unwrap();
    fs::write(rootfs.join("srv/secret/key"), "hidden\n").unwrap();
    let write_config = |linux: &str| {
        let script = "cat /etc/motd; ls /srv/secret; touch /srv/secret/x || echo masked dir is read-only; \
                      echo h > /proc/sys/kernel/hostname || echo /proc/sys is read-only; \
                      cat /proc/sys/kernel/domainname /proc/self/oom_score_adj /proc/sys/kernel/shmmax; touch /tmp/ok && echo root writable";
        fs::write(
            env.bundle().join("config.json"),
            format!(
                r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["sh","-c",{script:?}],
"env":["PATH=/bin"],"cwd":"/","oomScoreAdj":100}},"root":{{"path":"rootfs","readonly":false}},
"linux":{linux}}}"#
            ),
        )
        .unwrap();
    };
    write_config(
        r#"{"maskedPaths":["/etc/motd","/srv/secret","/proc/kcore","/no/such"],
"readonlyPaths":["/proc/sys","/no/such/either"],
"sysctl":{"kernel.domainname":"example.org","net.core.somaxconn":"1024","kernel.shmmax":"4096"}}"#,
    );
    let bundle = env.bundle();
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "m1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "masked dir is read-only\n/proc/sys is read-only\nexample.org\n100\n4096\nroot writable\n"
    );
    // The host's files are untouched by the masks.
    assert_eq!(
        fs::read_to_string(rootfs.join("srv/secret/key")).unwrap(),
        "hidden\n"
    );
    // Sysctls a container has no copy of, and kernel.hostname, are refused.
    for bad in [
        r#"{"sysctl":{"vm.swappiness":"10"}}"#,
        r#"{"sysctl":{"kernel.hostname":"x"}}"#,
        r#"{"sysctl":{"kernel.msgmax":"lots"}}"#,
    ] {
        write_config(bad);
        let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "m2"]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("sysctl"),
            "{}",
            text(&out.stderr)
        );
        assert!(!env.root().join("m2").exists());
    }
}

#[test]
fn memory_limit_oom_kills_inside_and_events_report_it() {
    let env = Env::new("memlimit");
    let rootfs = env.bundle().join("rootfs");
    fs::copy(
        moat_tests::guest("memhog", moat_tests::Linkage::Static),
        rootfs.join("bin/memhog"),
    )
    .unwrap();
    fs::write(
        env.bundle().join("config.json"),
        r#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},
"args":["sh","-c","memhog 200; echo status $?; cat /sys/fs/cgroup/memory.max; sleep 1000"],
"env":["PATH=/bin"],"cwd":"/"},"root":{"path":"rootfs","readonly":true},
"linux":{"resources":{"memory":{"limit":67108864}}}}"#,
    )
    .unwrap();
    let bundle = env.bundle();
    let out_file = env.dir.join("memlimit.out");
    let status = env
        .moat(&["create", "--bundle", bundle.to_str().unwrap(), "m1"])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_file).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(env.out(&["start", "m1"]).status.success());
    assert_eq!(
        wait_for_file(&out_file, "67108864\n"),
        "status 137\n67108864\n"
    );
    let stats = text(&env.out(&["events", "--stats", "m1"]).stdout);
    assert!(stats.contains("\"oom_kills\":1"), "{stats}");
    assert!(stats.contains("\"limit\":67108864"), "{stats}");
}

#[test]
fn runtime_flags_strace_debug_log_and_network_reach_oci_containers() {
    let env = Env::new("flags");
    env.config(&["echo", "traced"], false);
    let bundle = env.bundle();
    let log = env.dir.join("debug.log");
    let out = env.out(&[
        "--strace",
        "--debug-log",
        log.to_str().unwrap(),
        "run",
        "--bundle",
        bundle.to_str().unwrap(),
        "f1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "traced\n");
    assert!(
        text(&out.stderr).contains("exit_group(0)"),
        "{}",
        text(&out.stderr)
    );
    assert!(fs::metadata(&log).unwrap().len() > 0);
    for (flag, value) in [("--network", "host"), ("--platform", "kvm")] {
        let out = env.out(&[
            flag,
            value,
            "run",
            "--bundle",
            bundle.to_str().unwrap(),
            "f2",
        ]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(value), "{}", text(&out.stderr));
        assert!(!env.root().join("f2").exists());
    }
}

/// Docker's default capability list (no CAP_SYS_ADMIN) and its mask.
const DOCKER_CAPS: &str = r#"["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER",
"CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP",
"CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]"#;
const DOCKER_MASK: &str = "00000000a80425fb";

fn caps_config(args: &str, caps: &str) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":{args},
"env":["PATH=/bin"],"cwd":"/","capabilities":{{"bounding":{caps},"effective":{caps},
"permitted":{caps}}}}},"root":{{"path":"rootfs"}}}}"#
    )
}

fn cap_lines(mask: &str) -> String {
    format!(
        "CapInh:\t0000000000000000\nCapPrm:\t{mask}\nCapEff:\t{mask}\nCapBnd:\t{mask}\n\
         CapAmb:\t0000000000000000\n"
    )
}

#[test]
fn process_capabilities_are_the_containers_and_exec_cap_adds() {
    let env = Env::new("caps");
    let bundle = env.bundle();
    let b = bundle.to_str().unwrap();
    fs::write(
        bundle.join("config.json"),
        caps_config(
            r#"["sh","-c","grep Cap /proc/self/status; hostname x"]"#,
            DOCKER_CAPS,
        ),
    )
    .unwrap();
    let out = env.out(&["run", "--bundle", b, "c1"]);
    assert_ne!(out.status.code(), Some(0), "hostname x must fail");
    assert_eq!(text(&out.stdout), cap_lines(DOCKER_MASK));
    assert!(
        text(&out.stderr).contains("not permitted"),
        "{}",
        text(&out.stderr)
    );

    // Processes exec'd into it get the container's sets, plus --cap.
    fs::write(
        bundle.join("config.json"),
        caps_config(r#"["sleep","1000"]"#, DOCKER_CAPS),
    )
    .unwrap();
    assert!(env.out(&["create", "--bundle", b, "c2"]).status.success());
    assert!(env.out(&["start", "c2"]).status.success());
    let out = env.out(&["exec", "c2", "grep", "Cap", "/proc/self/status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), cap_lines(DOCKER_MASK));
    let out = env.out(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        "c2",
        "grep",
        "Cap",
        "/proc/self/status",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), cap_lines("00000000a82425fb"));
    let out = env.out(&["exec", "--cap", "CAP_SYS_ADMIN", "c2", "hostname", "x"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.out(&["exec", "--cap", "CAP_NOPE", "c2", "true"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("CAP_NOPE"),
        "{}",
        text(&out.stderr)
    );

    // An unknown name is refused, as runc refuses it.
    fs::write(
        bundle.join("config.json"),
        caps_config(r#"["true"]"#, r#"["CAP_CHOWN","CAP_NOPE"]"#),
    )
    .unwrap();
    let out = env.out(&["create", "--bundle", b, "c3"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("CAP_NOPE"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.root().join("c3").exists());
}

/// A config running `args` in a writable root, with `seccomp` as its linux.seccomp.
fn seccomp_config(env: &Env, args: &[&str], seccomp: &str) {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    let json = format!(
        r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":[{}],
"env":["PATH=/bin"],"cwd":"/"}},"root":{{"path":"rootfs","readonly":false}},
"linux":{{"seccomp":{seccomp}}}}}"#,
        args.join(",")
    );
    fs::write(env.bundle().join("config.json"), json).unwrap();
}

/// mkdir fails with EPERM, and so does kill with SIGUSR1 (an argument-conditioned
/// rule); everything else is allowed.
const DENY_MKDIR: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW",
"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":10,"op":"SCMP_CMP_EQ"}]}]}"#;

/// The shape of the engines' default profiles: deny by default, allow a list (which
/// leaves out mkdir, and names calls x86-64 does not have).
const ALLOWLIST: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
"architectures":["SCMP_ARCH_X86_64"],"flags":["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
"syscalls":[{"names":["access","arch_prctl","brk","chdir","clock_gettime","clock_nanosleep",
"clone","clone3","close","dup","dup2","dup3","execve","exit","exit_group","faccessat",
"faccessat2","fcntl","fstat","futex","getcwd","getdents64","getegid","geteuid","getgid",
"getpgrp","getpid","getppid","getrandom","getrlimit","gettid","getuid","ioctl","kill",
"lseek","lstat","madvise","mmap","mprotect","munmap","nanosleep","newfstatat","open",
"openat","pipe","pipe2","poll","ppoll","prctl","pread64","prlimit64","read","readlink",
"readlinkat","rseq","rt_sigaction","rt_sigprocmask","rt_sigreturn","sendfile",
"set_robust_list","set_tid_address","setpgid","socketcall","arm_fadvise64_64","stat",
"statx","sysinfo","tgkill","time","umask","uname","vfork","wait4","write","writev"],
"action":"SCMP_ACT_ALLOW"},
{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#;

#[test]
fn linux_seccomp_filters_the_container_and_its_exec_processes() {
    let env = Env::new("seccomp");
    let bundle = env.bundle();
    symlink("busybox", bundle.join("rootfs/bin/mkdir")).unwrap();
    seccomp_config(
        &env,
        &[
            "sh",
            "-c",
            "mkdir /tmp/x; echo mkdir=$?; kill -0 $$ && echo alive; kill -USR1 $$; echo kill=$?",
        ],
        DENY_MKDIR,
    );
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "s1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "mkdir=1\nalive\nkill=1\n");
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    assert!(!bundle.join("rootfs/tmp/x").exists());

    // A default-profile-like allowlist: busybox sh runs; what is not listed fails.
    seccomp_config(
        &env,
        &[
            "sh",
            "-c",
            "echo hello; cat /etc/motd; mkdir /tmp/x; echo mkdir=$?",
        ],
        ALLOWLIST,
    );
    let out = env.out(&["run", "--bundle", bundle.to_str().unwrap(), "s2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello\nin the image\nmkdir=1\n");

    // Processes `moat exec` starts are filtered too, with arguments or --process.
    seccomp_config(&env, &["sleep", "1000"], DENY_MKDIR);
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "s3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(env.out(&["start", "s3"]).status.success());
    let out = env.out(&["exec", "s3", "sh", "-c", "mkdir /tmp/y; echo mkdir=$?"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "mkdir=1\n");
    assert!(text(&out.stderr).contains("Operation not permitted"));
    let process = env.dir.join("process.json");
    fs::write(
        &process,
        r#"{"user":{"uid":0,"gid":0},"args":["sh","-c","mkdir /tmp/z; echo mkdir=$?"],
            "env":["PATH=/bin"],"cwd":"/"}"#,
    )
    .unwrap();
    let out = env.out(&["exec", "--process", process.to_str().unwrap(), "s3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "mkdir=1\n");
    assert!(!bundle.join("rootfs/tmp/y").exists() && !bundle.join("rootfs/tmp/z").exists());

    // SCMP_ACT_NOTIFY cannot be honoured: create refuses the bundle, saying why.
    seccomp_config(
        &env,
        &["true"],
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "s4"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("SCMP_ACT_NOTIFY is not supported"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.root().join("s4").exists());
}

#[test]
fn cgroups_path_and_cpu_limits_are_applied_on_the_host_and_removed_with_the_container() {
    let env = Env::new("cgroup");
    let name = format!("moat-test-cg-{}", std::process::id());
    fs::write(
        env.bundle().join("config.json"),
        format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["sleep","1000"],
"env":["PATH=/bin"],"cwd":"/"}},"root":{{"path":"rootfs","readonly":true}},
"linux":{{"cgroupsPath":"/{name}","resources":{{"cpu":{{"shares":512,"quota":50000,"period":100000}}}}}}}}"#
        ),
    )
    .unwrap();
    let bundle = env.bundle();
    let pid_file = env.dir.join("pid");
    let out = env.out(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        "g1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pid = fs::read_to_string(&pid_file).unwrap();
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let (dir, limits) = if unified {
        let dir = PathBuf::from("/sys/fs/cgroup").join(&name);
        (dir, vec![("cpu.max", "50000 100000"), ("cpu.weight", "20")])
    } else {
        let dir = PathBuf::from("/sys/fs/cgroup/cpu").join(&name);
        (
            dir,
            vec![
                ("cpu.cfs_quota_us", "50000"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.shares", "512"),
            ],
        )
    };
    for (file, want) in limits {
        let got = fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(got.trim(), want, "{file}");
    }
    // The monitor, and the gofer and sentry under it, are in the cgroup.
    let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l == pid.trim()), "{procs}");
    assert!(procs.lines().count() >= 3, "{procs}");
    assert!(env.out(&["kill", "g1", "KILL"]).status.success());
    env.wait_status("g1", "stopped");
    assert!(env.out(&["delete", "g1"]).status.success());
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn a_network_namespace_path_is_joined_by_the_sentry() {
    let env = Env::new("netns");
    // A network namespace of the test's own, kept by a bind mount on a file.
    let nsfile = env.dir.join("netns");
    fs::write(&nsfile, "").unwrap();
    let st = Command::new("unshare")
        .arg(format!("--net={}", nsfile.display()))
        .arg("true")
        .status()
        .unwrap();
    assert!(st.success());
    let config = |path: &Path| {
        format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["sleep","1000"],
"env":["PATH=/bin"],"cwd":"/"}},"root":{{"path":"rootfs","readonly":true}},
"linux":{{"namespaces":[{{"type":"pid"}},{{"type":"network","path":"{}"}}]}}}}"#,
            path.display()
        )
    };
    fs::write(env.bundle().join("config.json"), config(&nsfile)).unwrap();
    let bundle = env.bundle();
    let pid_file = env.dir.join("pid");
    let out = env.out(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        "n1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let monitor = fs::read_to_string(&pid_file).unwrap();
    // The sentry: the monitor's child running `moat boot`.
    let children =
        fs::read_to_string(format!("/proc/{0}/task/{0}/children", monitor.trim())).unwrap();
    let sentry = children
        .split_whitespace()
        .find(|c| {
            fs::read_to_string(format!("/proc/{c}/cmdline")).is_ok_and(|cmd| cmd.contains("boot"))
        })
        .expect("the sentry");
    let want = fs::metadata(&nsfile).unwrap();
    let got = fs::metadata(format!("/proc/{sentry}/ns/net")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((got.dev(), got.ino()), (want.dev(), want.ino()));
    assert!(env.out(&["delete", "--force", "n1"]).status.success());
    let _ = Command::new("umount").arg(&nsfile).status();
    // Not a network namespace: a clear error, nothing left.
    fs::write(
        env.bundle().join("config.json"),
        config(&env.dir.join("pid")),
    )
    .unwrap();
    let out = env.out(&["create", "--bundle", bundle.to_str().unwrap(), "n2"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a network namespace"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.root().join("n2").exists());
}
