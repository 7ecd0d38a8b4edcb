//! moat-bench: runs the guest micro-benchmarks (tests/guest/bench.c) natively, under
//! moat and under gVisor's runsc (ptrace platform, when `runsc` is installed) in one go,
//! and prints ns/op with the ratio to native.
//!
//! ```text
//! cargo build --release && cargo run --release -p moat-tests --bin moat-bench
//! moat-bench [--quick] [--no-runsc] [BENCH...]
//! ```
//!
//! `--quick` runs a tenth of the iterations (a smoke run). Timings are printed, never
//! judged: no test gates on them.

use std::path::Path;
use std::process::{Command, ExitCode};

use moat_tests::{guest, moat_bin, Linkage};

/// A benchmark and its iterations natively and in a sandbox (where each op costs more).
struct Bench {
    name: &'static str,
    native: u64,
    sandboxed: u64,
}

const BENCHES: &[Bench] = &[
    Bench {
        name: "getppid",
        native: 1_000_000,
        sandboxed: 20_000,
    },
    Bench {
        name: "clock_gettime",
        native: 10_000_000,
        sandboxed: 1_000_000,
    },
    Bench {
        name: "gettimeofday",
        native: 10_000_000,
        sandboxed: 1_000_000,
    },
    Bench {
        name: "fork_exit_wait",
        native: 2_000,
        sandboxed: 100,
    },
    Bench {
        name: "fork_exec_wait",
        native: 1_000,
        sandboxed: 50,
    },
    Bench {
        name: "thread_create_join",
        native: 10_000,
        sandboxed: 500,
    },
    Bench {
        name: "open_close_root",
        native: 200_000,
        sandboxed: 5_000,
    },
    Bench {
        name: "stat_root",
        native: 200_000,
        sandboxed: 5_000,
    },
    Bench {
        name: "pread_4k_root",
        native: 200_000,
        sandboxed: 10_000,
    },
    Bench {
        name: "pread_4k_tmp",
        native: 200_000,
        sandboxed: 10_000,
    },
    Bench {
        name: "pwrite_4k_tmp",
        native: 200_000,
        sandboxed: 10_000,
    },
    Bench {
        name: "pread_4k_shm",
        native: 200_000,
        sandboxed: 10_000,
    },
    Bench {
        name: "pwrite_4k_shm",
        native: 200_000,
        sandboxed: 10_000,
    },
    Bench {
        name: "readdir_1000",
        native: 2_000,
        sandboxed: 200,
    },
    Bench {
        name: "tar_extract_rm",
        native: 5,
        sandboxed: 3,
    },
    Bench {
        name: "fork_512mib",
        native: 20,
        sandboxed: 10,
    },
    Bench {
        name: "fork_512mib_child_writes_all",
        native: 3,
        sandboxed: 3,
    },
    Bench {
        name: "copy_512mib",
        native: 5,
        sandboxed: 5,
    },
];

/// Runs `prefix... bench NAME N` and returns ns/op, or why it failed.
fn run(prefix: &[&str], bench: &Path, name: &str, n: u64) -> Result<u64, String> {
    let bench = bench.to_str().ok_or("the bench path is not UTF-8")?;
    let mut argv: Vec<&str> = prefix.to_vec();
    let n = n.to_string();
    argv.extend([bench, name, &n]);
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with(name))
        .ok_or_else(|| {
            format!(
                "{} printed no result ({}): {}",
                argv[0],
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("cannot read {line:?}"))
}

fn cell(result: &Result<u64, String>, native: Option<u64>) -> String {
    match (result, native) {
        (Ok(ns), Some(base)) if base > 0 => format!("{ns} ({:.1}x)", *ns as f64 / base as f64),
        (Ok(ns), _) => ns.to_string(),
        (Err(_), _) => "failed".to_string(),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let with_runsc = !args.iter().any(|a| a == "--no-runsc")
        && Command::new("runsc").arg("--version").output().is_ok();
    let wanted: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    if let Some(unknown) = wanted
        .iter()
        .find(|w| !BENCHES.iter().any(|b| b.name == **w))
    {
        let names: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
        eprintln!(
            "moat-bench: no benchmark {unknown}; there are: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    let bench = guest("bench", Linkage::Static);
    // The moat built alongside this runner (same profile), else the tests' choice.
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("moat")))
        .filter(|m| m.is_file() && std::env::var_os("MOAT_BIN").is_none());
    let moat = beside
        .unwrap_or_else(|| moat_bin().to_path_buf())
        .to_str()
        .expect("moat path is UTF-8")
        .to_string();
    let scale = |n: u64| if quick { (n / 10).max(1) } else { n };

    println!("moat: {moat}");
    println!(
        "{:<30} {:>14} {:>22} {:>22}",
        "benchmark (ns/op)", "native", "moat (ptrace)", "runsc (ptrace)"
    );
    let mut failures = Vec::new();
    for b in BENCHES
        .iter()
        .filter(|b| wanted.is_empty() || wanted.contains(&b.name))
    {
        let native = run(&[], &bench, b.name, scale(b.native));
        let base = native.as_ref().ok().copied();
        let under_moat = run(&[&moat, "do"], &bench, b.name, scale(b.sandboxed));
        let under_runsc = if with_runsc {
            run(
                &["runsc", "--network=none", "--platform=ptrace", "do"],
                &bench,
                b.name,
                scale(b.sandboxed),
            )
        } else {
            Err("runsc is not installed".to_string())
        };
        println!(
            "{:<30} {:>14} {:>22} {:>22}",
            b.name,
            cell(&native, None),
            cell(&under_moat, base),
            if with_runsc {
                cell(&under_runsc, base)
            } else {
                "-".to_string()
            }
        );
        for (who, r) in [("native", &native), ("moat", &under_moat)] {
            if let Err(e) = r {
                failures.push(format!("{} {who}: {e}", b.name));
            }
        }
        if let (true, Err(e)) = (with_runsc, &under_runsc) {
            eprintln!("note: {} under runsc: {e}", b.name);
        }
    }
    for f in &failures {
        eprintln!("error: {f}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
