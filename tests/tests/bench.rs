//! The benchmark runner works (its timings are never judged).

use std::process::Command;

fn moat_bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moat-bench"))
        .args(args)
        .output()
        .expect("run moat-bench")
}

#[test]
fn moat_bench_runs_benchmarks_natively_and_under_moat() {
    let out = moat_bench(&["--quick", "--no-runsc", "getppid", "thread_create_join"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["getppid", "thread_create_join"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in:\n{stdout}"));
        let fields: Vec<&str> = row.split_whitespace().collect();
        // name, native ns/op, moat ns/op, (ratio), runsc column "-".
        assert!(fields[1].parse::<u64>().is_ok(), "{row}");
        assert!(fields[2].parse::<u64>().is_ok(), "{row}");
        assert!(
            fields[3].starts_with('(') && fields[3].ends_with("x)"),
            "{row}"
        );
        assert_eq!(fields[4], "-", "{row}");
    }
}

#[test]
fn moat_bench_rejects_an_unknown_benchmark() {
    let out = moat_bench(&["--no-runsc", "no_such_bench"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no benchmark no_such_bench"), "{stderr}");
}
