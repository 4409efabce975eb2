//! `agentrelease validate` on hostile input: whatever the paths name and whatever the files
//! hold, it answers with exit 0 or 1 and a line naming the file, promptly — never a hang, an
//! endless walk or a crash (exit 101).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The exit code, stdout and stderr of `agentrelease validate ARGS` run in `dir`, or a panic if
/// it has not ended after `deadline` (the process is killed first).
fn validate_within(dir: &Path, args: &[&str], deadline: Duration) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .current_dir(dir)
        .arg("validate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run agentrelease");
    let started = Instant::now();
    // Drain the pipes on their own threads so a long report cannot block the child.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("validate {args:?} did not end within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

/// A few seconds: the debug binary starts in well under one, on a busy machine in a few.
const PROMPT: Duration = Duration::from_secs(10);

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_at_once_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.path().join("pipe.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let (code, stdout, _) = validate_within(dir.path(), &["-f", "pipe.yaml"], PROMPT);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.trim(), "pipe.yaml:0: not a regular file (a FIFO)");
}

#[cfg(unix)]
#[test]
fn a_fifo_in_a_directory_is_refused_and_the_other_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.path().join("pipe.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(
        dir.path().join("other.yaml"),
        "kind: ConfigMap\napiVersion: v1\n",
    )
    .unwrap();
    let (code, stdout, stderr) = validate_within(dir.path(), &["-f", "."], PROMPT);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.trim(), "./pipe.yaml:0: not a regular file (a FIFO)");
    assert!(stderr.contains("2 file(s)"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
    let (code, stdout, _) = validate_within(dir.path(), &["-f", "zero.yaml"], PROMPT);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout.trim(),
        "zero.yaml:0: not a regular file (a character device)"
    );
}

#[test]
fn a_file_over_the_cap_is_refused_naming_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let big = std::fs::File::create(dir.path().join("big.yaml")).unwrap();
    big.set_len(4 * 1024 * 1024 + 1).unwrap();
    let (code, stdout, _) = validate_within(dir.path(), &["-f", "big.yaml"], PROMPT);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.trim(), "big.yaml:0: file is larger than 4 MiB");
}

#[cfg(unix)]
#[test]
fn recursion_through_symlink_loops_reads_each_directory_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("tree/sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("a.yaml"), "kind: ConfigMap\napiVersion: v1\n").unwrap();
    // Two links back up: followed blindly, the walk branches twice per level until the path is
    // too long, reading a.yaml millions of times.
    std::os::unix::fs::symlink("..", sub.join("up")).unwrap();
    std::os::unix::fs::symlink("../..", sub.join("up2")).unwrap();
    let (code, stdout, stderr) = validate_within(dir.path(), &["-R", "-f", "tree"], PROMPT);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.starts_with("1 file(s)"), "{stderr}");
}

/// The sample's invalid traffic manifest with both percentages replaced.
fn traffic_manifest(percentage: &str) -> String {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/samples/invalid/traffic-not-100.yaml");
    let text = std::fs::read_to_string(sample).unwrap();
    text.replace(
        "trafficPercentage: 50",
        &format!("trafficPercentage: {percentage}"),
    )
    .replace(
        "trafficPercentage: 40",
        &format!("trafficPercentage: {percentage}"),
    )
}

#[test]
fn traffic_percentages_whose_sum_overflows_are_problems_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    for (name, percentage) in [
        ("int32-max.yaml", "2147483647"),
        ("int64-max.yaml", "9223372036854775807"),
        ("uint64-max.yaml", "18446744073709551615"),
    ] {
        std::fs::write(dir.path().join(name), traffic_manifest(percentage)).unwrap();
        let (code, stdout, stderr) = validate_within(dir.path(), &["-f", name], PROMPT);
        assert_eq!(code, 1, "{name}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!(
                "{name}:24: AgentRelease/traffic-not-100: spec.servingEndpoint.traffic: traffic percentages must sum to 100"
            )),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("spec.servingEndpoint.traffic[1].trafficPercentage: trafficPercentage must be between 0 and 100"),
            "{name}: {stdout}"
        );
        if percentage != "2147483647" {
            assert!(
                stdout.contains(&format!(
                    "spec.servingEndpoint.traffic[0].trafficPercentage: Invalid value: {percentage}: out of range for int32"
                )),
                "{name}: {stdout}"
            );
        }
    }
}

#[test]
fn long_lists_are_checked_in_bounded_time() {
    // 25 000 routes and served entities: the rule that every route names a served entity is
    // quadratic on the whole lists (minutes), linear on the 15 the schema allows.
    let n = 25_000;
    let mut text = traffic_manifest("0");
    let cut = text.find("  servingEndpoint:").unwrap();
    text.truncate(cut);
    text.push_str("  servingEndpoint:\n    name: skyloyalty-endpoint\n    servedEntities:\n");
    for i in 0..n {
        text.push_str(&format!("      - name: e{i}\n"));
    }
    text.push_str("    traffic:\n");
    for i in 0..n {
        text.push_str(&format!(
            "      - servedEntityName: x{i}\n        trafficPercentage: 0\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("long.yaml"), text).unwrap();
    let (code, stdout, _) =
        validate_within(dir.path(), &["-f", "long.yaml"], Duration::from_secs(40));
    assert_eq!(code, 1);
    assert!(
        stdout
            .contains("spec.servingEndpoint.traffic: Too many: 25000: must have at most 15 items"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "spec.servingEndpoint.traffic: every traffic route must name one of servedEntities"
        ),
        "{stdout}"
    );
}
