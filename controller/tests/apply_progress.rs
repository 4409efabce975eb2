//! `apply`'s progress: live spinners through a pseudo-terminal (util-linux `script`), plain
//! lines without one or with `--no-progress`, and the final table either way.

use std::path::Path;
use std::process::Command;

fn samples() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/samples/")
        .display()
        .to_string()
}

const SPINNER: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Runs apply on the samples inside a pseudo-terminal; `None` when `script` is not installed.
fn through_a_pty(extra: &str) -> Option<(i32, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed, so no pseudo-terminal");
        return None;
    }
    let cmd = format!(
        "{} apply -f {} {extra}",
        env!("CARGO_BIN_EXE_agentrelease"),
        samples()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TERM", "xterm-256color")
        .output()
        .expect("run script");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[test]
fn on_a_terminal_each_release_has_a_live_spinner_with_its_step_and_time() {
    let Some((code, out)) = through_a_pty("") else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(SPINNER), "no spinner frame drawn:\n{out}");
    // The spinner line: the release, its current step, the elapsed time; redrawn in place.
    assert!(out.contains("default/skyloyalty-v7"), "{out}");
    assert!(out.contains("\x1b[2K"), "no redraw:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("AppDeployed waiting") && l.contains("s]")),
        "no step with elapsed time:\n{out}"
    );
    assert!(out.contains("RELEASE"), "no final table:\n{out}");
}

#[test]
fn no_progress_on_a_terminal_prints_plain_lines() {
    let Some((code, out)) = through_a_pty("--no-progress") else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(SPINNER), "{out}");
    assert!(!out.contains("\x1b["), "{out}");
    assert!(out.contains("✓ AliasPromoted"), "{out}");
}

#[test]
fn without_a_terminal_apply_prints_plain_lines_and_the_final_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .args(["apply", "-f", &samples()])
        .output()
        .expect("run apply");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for text in [&stdout, &stderr] {
        assert!(!text.contains(SPINNER), "{text}");
        assert!(!text.contains("\x1b["), "{text}");
    }
    assert!(stdout.contains("✓ Verified"), "{stdout}");
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("RELEASE"))
        .collect();
    assert_eq!(
        table
            .first()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["RELEASE", "PHASE", "REASON", "DURATION"]),
        "{stdout}"
    );
    // One row per release: staging and prod, both Ready.
    let rows: Vec<Vec<&str>> = table[1..]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    for release in ["default/skyloyalty-v7", "default/skyloyalty-v7-staging"] {
        let row = rows
            .iter()
            .find(|r| r.first() == Some(&release))
            .unwrap_or_else(|| panic!("a row for {release}: {stdout}"));
        assert_eq!(&row[1..3], ["Ready", "Released"], "{stdout}");
    }
}
