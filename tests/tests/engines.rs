//! Container engines drive moat as their OCI runtime, unchanged.
//!
//! podman: images imported from local root filesystems (busybox-static, and a Debian
//! bookworm made by debootstrap and cached under the target directory), `run` with exit
//! codes, `-t`, detached containers, `exec` (plain, with stdin, with a terminal), `stop`
//! and `rm`. containerd (started by the test with its own root, state and socket):
//! `ctr run --runc-binary moat` of an image podman saved, detached, `task exec`, `task
//! kill`. Docker (a dockerd started by the test, with its own data root, exec root and
//! socket, no iptables or bridge): `run --runtime moat`, exit codes, `-t`, `exec`,
//! `stop`, `rm`.
//!
//! Each test has its own podman storage, run directory and containers.conf under a
//! scratch directory, and resets them when it ends. moat keeps its state in its default
//! root, /run/moat (podman does not pass `--runtime-flag`s on to the cleanup it runs
//! when a container exits). This machine's root
//! cannot raise RLIMIT_NOFILE above 20000 or RLIMIT_NPROC above 32768, so the
//! containers.conf sets those as podman's default ulimits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use moat_tests::{moat_bin, Scratch};

/// A podman whose every piece of state lives in a scratch directory.
struct Podman {
    dir: Scratch,
}

impl Podman {
    fn new(tag: &str) -> Podman {
        assert!(
            Command::new("podman").arg("--version").output().is_ok(),
            "podman is not installed (.ci/run installs it)"
        );
        let dir = Scratch::new(tag);
        std::fs::write(
            dir.0.join("containers.conf"),
            "[containers]\n\
             default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"file\"\n",
        )
        .unwrap();
        Podman { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.0.join(rel)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", self.path("containers.conf"))
            .arg("--root")
            .arg(self.path("storage"))
            .arg("--runroot")
            .arg(self.path("run"))
            .arg("--tmpdir")
            .arg(self.path("tmp"))
            .arg("--runtime")
            .arg(moat_bin())
            .args(args);
        cmd
    }

    fn out(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("run podman")
    }

    /// Runs podman and asserts it succeeded; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {:?}\n{}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The containers in moat's state root whose bundles are in this podman's storage.
    fn moat_states(&self) -> Vec<String> {
        let storage = self.path("storage");
        let Ok(entries) = std::fs::read_dir("/run/moat") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| {
                std::fs::read_to_string(e.path().join("state.json"))
                    .is_ok_and(|s| s.contains(storage.to_str().unwrap()))
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Imports the root filesystem tarball `tar` as image `name`.
    fn import(&self, tar: &Path, name: &str) {
        self.ok(&["import", "--quiet", tar.to_str().unwrap(), name]);
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Containers, images and the storage's own mounts go; then the directory.
        let _ = self.out(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.out(&["system", "reset", "--force"]);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A tarball of a busybox-static root filesystem.
fn busybox_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "tmp", "proc", "dev", "sys", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
    for tool in ["sh", "echo", "cat", "sleep", "true", "hostname", "["] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).unwrap();
    }
    let tar = dir.join("busybox.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

#[test]
fn podman_runs_busybox_containers_on_moat() {
    let podman = Podman::new("podman-busybox");
    podman.import(&busybox_tar(&podman.dir.0), "localhost/moat-busybox:test");
    let img = "localhost/moat-busybox:test";
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none", img];
        all.extend_from_slice(args);
        podman.out(&all)
    };

    let out = run(&["echo", "hi"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
    // It is moat's kernel that answers.
    let out = run(&["cat", "/proc/version"]);
    assert!(text(&out.stdout).contains("moat"), "{}", text(&out.stdout));
    // Exit codes reach podman's caller.
    assert_eq!(run(&["sh", "-c", "exit 3"]).status.code(), Some(3));
    assert_eq!(run(&["sh", "-c", "kill -9 $$"]).status.code(), Some(137));
    // -t: a terminal (through --console-socket, from conmon).
    let out = podman.out(&[
        "run",
        "--rm",
        "-t",
        "--network",
        "none",
        img,
        "sh",
        "-c",
        "[ -t 0 ] && [ -t 1 ] && echo tty",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "tty\r\n");

    // A detached container, exec'd into, stopped and removed.
    podman.ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "none",
        img,
        "sleep",
        "1000",
    ]);
    let out = podman.out(&["exec", "c1", "sh", "-c", "echo hi from exec; exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi from exec\n");
    let mut cat = podman
        .cmd(&["exec", "-i", "c1", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut cat.stdin.take().unwrap(), b"piped\n").unwrap();
    let out = cat.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "piped\n");
    let out = podman.out(&["exec", "-t", "c1", "sh", "-c", "[ -t 0 ] && echo exec tty"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "exec tty\r\n");
    // sleep as init ignores SIGTERM (as under runc): stop falls back to SIGKILL.
    podman.ok(&["stop", "--time", "1", "c1"]);
    let state = podman.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "c1",
    ]);
    assert_eq!(state.trim(), "exited 137");
    podman.ok(&["rm", "c1"]);
    assert_eq!(podman.ok(&["ps", "--all", "--quiet"]), "");
    // Nothing of the containers is left in moat's state once podman's cleanup (which
    // conmon starts as each container exits) has run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = podman.moat_states();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "moat state left behind: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A Debian bookworm root filesystem with python3 (debootstrap --variant=minbase),
/// made once and kept under the target directory.
fn debian_tar() -> PathBuf {
    let target = moat_bin()
        .parent()
        .and_then(Path::parent)
        .expect("moat is in <target>/<profile>")
        .to_path_buf();
    let cache = target.join("moat-cache");
    let tar = cache.join("debian-bookworm-minbase-python3.tar");
    if tar.exists() {
        return tar;
    }
    std::fs::create_dir_all(&cache).unwrap();
    let work = cache.join(format!("debootstrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let out = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            "--include=python3-minimal",
            "bookworm",
            work.to_str().unwrap(),
            "http://deb.debian.org/debian",
        ])
        .output()
        .expect("debootstrap is not installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "debootstrap failed: {}",
        text(&out.stderr)
    );
    let partial = cache.join(format!("debian-{}.tar.partial", std::process::id()));
    let st = Command::new("tar")
        .arg("-C")
        .arg(&work)
        .arg("-cf")
        .arg(&partial)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::rename(&partial, &tar).unwrap();
    let _ = std::fs::remove_dir_all(&work);
    tar
}

#[test]
fn podman_runs_a_debian_image_with_apt_and_python_on_moat() {
    let podman = Podman::new("podman-debian");
    podman.import(&debian_tar(), "localhost/moat-debian:test");
    let img = "localhost/moat-debian:test";
    let out = podman.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        img,
        "apt-get",
        "--version",
    ]);
    assert!(out.starts_with("apt "), "{out}");
    let out = podman.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        img,
        "python3",
        "-c",
        "import os, sys; print(sys.version_info[0], os.getpid(), os.uname().release.endswith('moat'))",
    ]);
    assert_eq!(out, "3 1 True\n");
    // A shell pipeline and a file written in the container's writable root.
    let out = podman.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        img,
        "sh",
        "-c",
        "echo written > /root/f && cat /root/f && ls /usr/bin | grep -c . >/dev/null && echo ok",
    ]);
    assert_eq!(out, "written\nok\n");
}

/// A containerd of the test's own (root, state and socket in a scratch directory),
/// stopped when dropped.
struct Containerd {
    dir: Scratch,
    daemon: std::process::Child,
}

impl Containerd {
    fn start(tag: &str) -> Containerd {
        let dir = Scratch::new(tag);
        let config = dir.0.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
                 [grpc]\n  address = \"{0}/containerd.sock\"\n",
                dir.path()
            ),
        )
        .unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.0.join("containerd.log")).unwrap())
            .spawn()
            .expect("containerd is not installed (.ci/run installs it)");
        let c = Containerd { dir, daemon };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !c.ctr(&["version"]).status.success() {
            assert!(
                std::time::Instant::now() < deadline,
                "containerd did not come up: {}",
                std::fs::read_to_string(c.dir.0.join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        c
    }

    fn socket(&self) -> String {
        format!("{}/containerd.sock", self.dir.path())
    }

    fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ctr")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?}: {:?}\n{}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for id in text(&self.ctr(&["task", "ls", "--quiet"]).stdout).lines() {
            let _ = self.ctr(&["task", "kill", "--signal", "KILL", id]);
            let _ = self.ctr(&["task", "delete", "--force", id]);
        }
        for id in text(&self.ctr(&["container", "ls", "--quiet"]).stdout).lines() {
            let _ = self.ctr(&["container", "delete", id]);
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // Shims of our containerd that outlived it.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &self.socket()])
            .status();
    }
}

#[test]
fn containerd_runs_tasks_on_moat_through_the_runc_shim() {
    // The image: busybox, imported by podman and saved as an OCI archive.
    let podman = Podman::new("ctr-image");
    podman.import(&busybox_tar(&podman.dir.0), "localhost/moat-busybox:ctr");
    let archive = podman.path("busybox-oci.tar");
    podman.ok(&[
        "save",
        "--quiet",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
        "localhost/moat-busybox:ctr",
    ]);
    let ctrd = Containerd::start("containerd");
    ctrd.ok(&[
        "images",
        "import",
        "--base-name",
        "localhost/moat-busybox",
        archive.to_str().unwrap(),
    ]);
    let img = "localhost/moat-busybox:ctr";
    let moat = moat_bin().to_str().unwrap();
    let out = ctrd.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        moat,
        img,
        "r1",
        "sh",
        "-c",
        "echo hi from containerd; cat /proc/version; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.starts_with("hi from containerd\n"), "{shown}");
    assert!(shown.contains("moat"), "{shown}");

    // Detached, exec'd into, killed, deleted.
    ctrd.ok(&[
        "run",
        "--detach",
        "--runc-binary",
        moat,
        img,
        "d1",
        "sleep",
        "1000",
    ]);
    let out = ctrd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "d1",
        "sh",
        "-c",
        "echo exec says hi; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "exec says hi\n");
    assert!(ctrd.ok(&["task", "ls"]).contains("RUNNING"));
    ctrd.ok(&["task", "kill", "--signal", "KILL", "d1"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ctrd.ok(&["task", "ls"]).contains("STOPPED") {
        assert!(std::time::Instant::now() < deadline, "d1 never stopped");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ctrd.ok(&["task", "delete", "d1"]);
    ctrd.ok(&["container", "delete", "d1"]);
    assert_eq!(ctrd.ok(&["task", "ls", "--quiet"]), "");
}

/// A dockerd of the test's own (data root, exec root, socket in a scratch directory,
/// no iptables or bridge), with moat as runtime `moat`; stopped when dropped.
struct Docker {
    dir: Scratch,
    daemon: std::process::Child,
}

impl Docker {
    fn start(tag: &str) -> Docker {
        let dir = Scratch::new(tag);
        std::fs::write(
            dir.0.join("daemon.json"),
            format!(
                r#"{{"runtimes":{{"moat":{{"path":"{}"}}}},
"default-ulimits":{{"nofile":{{"Name":"nofile","Hard":20000,"Soft":20000}},
"nproc":{{"Name":"nproc","Hard":32768,"Soft":32768}}}}}}"#,
                moat_bin().display()
            ),
        )
        .unwrap();
        let p = |rel: &str| format!("{}/{rel}", dir.path());
        let daemon = Command::new("dockerd")
            .args(["--config-file", &p("daemon.json")])
            .args(["--data-root", &p("root"), "--exec-root", &p("exec")])
            .args([
                "--pidfile",
                &p("pid"),
                "-H",
                &format!("unix://{}", p("docker.sock")),
            ])
            .args(["--iptables=false", "--bridge=none"])
            .args([
                "--containerd-namespace",
                "moat-test",
                "--containerd-plugins-namespace",
                "moat-test-plugins",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.0.join("dockerd.log")).unwrap())
            .spawn()
            .expect("dockerd is not installed (.ci/run installs docker.io)");
        let d = Docker { dir, daemon };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !d.docker(&["version"]).status.success() {
            assert!(
                std::time::Instant::now() < deadline,
                "dockerd did not come up: {}",
                std::fs::read_to_string(d.dir.0.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        d
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("docker")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.env(
            "DOCKER_HOST",
            format!("unix://{}/docker.sock", self.dir.path()),
        )
        .args(args);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {:?}\n{}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let ids = text(&self.docker(&["ps", "-aq"]).stdout);
        for id in ids.lines() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        let _ = self.docker(&["system", "prune", "-af"]);
        let _ = nix_kill(self.daemon.id() as i32);
        let _ = self.daemon.wait();
        // dockerd's containerd and shims.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", self.dir.path()])
            .status();
        // Its overlay mounts are gone with the containers; the scratch directory goes
        // when `dir` drops.
    }
}

/// SIGTERM to `pid` (dockerd shuts down cleanly on it).
fn nix_kill(pid: i32) -> std::io::Result<()> {
    let st = Command::new("kill").arg(pid.to_string()).status()?;
    if st.success() {
        Ok(())
    } else {
        Err(std::io::Error::other("kill failed"))
    }
}

#[test]
fn docker_runs_containers_on_moat_with_runtime_moat() {
    let docker = Docker::start("docker");
    let tar = busybox_tar(&docker.dir.0);
    docker.ok(&["import", tar.to_str().unwrap(), "moat-busybox:docker"]);
    let img = "moat-busybox:docker";
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--runtime", "moat", "--network", "none", img];
        all.extend_from_slice(args);
        docker.docker(&all)
    };
    let out = run(&["sh", "-c", "echo hi from docker; cat /proc/version"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("hi from docker\n"));
    assert!(text(&out.stdout).contains("moat"));
    assert_eq!(run(&["sh", "-c", "exit 7"]).status.code(), Some(7));
    // -t: containerd's shim makes the terminal (--console-socket).
    let out = docker.ok(&[
        "run",
        "--rm",
        "-t",
        "--runtime",
        "moat",
        "--network",
        "none",
        img,
        "sh",
        "-c",
        "[ -t 0 ] && tty",
    ]);
    assert_eq!(out, "/dev/console\r\n");
    docker.ok(&[
        "run",
        "-d",
        "--name",
        "d1",
        "--runtime",
        "moat",
        "--network",
        "none",
        img,
        "sleep",
        "1000",
    ]);
    let out = docker.docker(&["exec", "d1", "sh", "-c", "echo plain; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), "plain\n");
    assert_eq!(
        docker.ok(&["exec", "-t", "d1", "sh", "-c", "[ -t 0 ] && echo exec tty"]),
        "exec tty\r\n"
    );
    let mut cat = docker
        .cmd(&["exec", "-i", "d1", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut cat.stdin.take().unwrap(), b"piped\n").unwrap();
    let out = cat.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "piped\n");
    docker.ok(&["stop", "-t", "1", "d1"]);
    docker.ok(&["rm", "d1"]);
}
