//! `agentrelease validate` as a GitOps repository's CI runs it: exit codes, one line per problem
//! in `file:line: Kind/name: field.path: reason` form, and the sample corpus.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .current_dir(repo())
        .arg("validate")
        .args(args)
        .output()
        .expect("run agentrelease");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn samples_are_clean() {
    let (code, stdout, stderr) = validate(&["-f", "config/samples"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("2 AgentRelease/ReleaseTarget object(s) checked, 0 problem(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("v1/Secret"),
        "other kinds are skipped and counted: {stderr}"
    );
}

#[test]
fn every_invalid_sample_is_rejected_with_its_own_message() {
    let dir = repo().join("config/samples/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the corpus covers every rule ({} files)",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks an '# expect:' first line", file.display()));
        let rel = file.strip_prefix(repo()).unwrap().display().to_string();
        let (code, stdout, _) = validate(&["-f", &rel]);
        assert_eq!(code, 1, "{rel} must be rejected; stdout:\n{stdout}");
        let line = stdout
            .lines()
            .find(|l| l.contains(expect))
            .unwrap_or_else(|| panic!("{rel}: expected {expect:?} in:\n{stdout}"));
        assert!(line.starts_with(&format!("{rel}:")), "{line}");
        let lineno: u64 = line[rel.len() + 1..]
            .split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(lineno >= 1, "{rel}: every problem names its line: {line}");
    }
}

#[test]
fn problems_point_at_the_offending_line() {
    let (code, stdout, _) = validate(&["-f", "config/samples/invalid/alias-reserved.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(
        stdout.trim(),
        "config/samples/invalid/alias-reserved.yaml:13: AgentRelease/alias-reserved: spec.model.alias: model.alias 'latest' and 'v<digits>' are reserved by MLflow"
    );
}

#[test]
fn a_broken_file_does_not_stop_the_others() {
    let (code, stdout, stderr) = validate(&[
        "-f",
        "config/samples/invalid/invalid-yaml.yaml",
        "config/samples/agentrelease.yaml",
        "config/samples/invalid/n-not-positive.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.contains("invalid-yaml.yaml:"), "{stdout}");
    assert!(stdout.contains("n-not-positive.yaml:"), "{stdout}");
    assert!(stderr.contains("3 file(s)"), "{stderr}");
}

#[test]
fn missing_path_is_a_problem_not_a_crash() {
    let (code, stdout, _) = validate(&["-f", "config/samples/no-such-file.yaml"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("no-such-file.yaml"), "{stdout}");
}

#[test]
fn json_output_for_machines() {
    let (code, stdout, _) = validate(&[
        "-o",
        "json",
        "-f",
        "config/samples/invalid/traffic-not-100.yaml",
    ]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["checked"], 1);
    let problem = &report["problems"][0];
    assert_eq!(problem["object"], "AgentRelease/traffic-not-100");
    assert_eq!(problem["field"], "spec.servingEndpoint.traffic");
    assert_eq!(problem["message"], "traffic percentages must sum to 100");
    assert!(problem["line"].as_u64().unwrap() > 1);
}

#[test]
fn recursive_flag_reads_subdirectories() {
    let (code, stdout, _) = validate(&["-R", "-f", "config/samples"]);
    assert_eq!(code, 1, "the invalid corpus lives in a subdirectory");
    assert!(stdout.contains("config/samples/invalid/"), "{stdout}");
}
