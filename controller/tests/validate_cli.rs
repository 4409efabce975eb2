//! `agentrelease validate` as a GitOps repository's CI runs it: exit codes, one line per problem
//! in `file:line: Kind/name: field.path: reason` form, the sample corpus, and the problems only a
//! set of files shows (an object declared twice, releases that would fight over one object).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validate(args: &[&str]) -> (i32, String, String) {
    validate_in(&repo(), args)
}

/// Runs `agentrelease validate` in `dir`, so problems name files as given on the command line.
fn validate_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .current_dir(dir)
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
        // Prod and staging: a release and a target each.
        stderr.contains("4 AgentRelease/ReleaseTarget object(s) checked, 0 problem(s)"),
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

/// An AgentRelease of agent `model` with N=`n` on `targetRef` `target`, owning alias `@champion`
/// and app `app`. Lines: 4 `metadata.name`, 8 `spec.version`, 12 `spec.model.alias`,
/// 15 `spec.app.name`.
fn release(name: &str, target: &str, n: i64, model: &str, app: &str) -> String {
    format!(
        "apiVersion: agentops.dev/v1alpha1
kind: AgentRelease
metadata:
  name: {name}
spec:
  targetRef:
    name: {target}
  version: {n}
  model:
    name: {model}
    version: 12
    alias: champion
    loggedModelId: m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b
  app:
    name: {app}
    sourceCodePath: /Workspace/Shared/skyloyalty/app
  evaluation: {{thresholds: [{{metric: answer_correctness, min: 0.85}}]}}
"
    )
}

/// A ReleaseTarget `name` for the workspace at `host`.
fn target(name: &str, host: &str) -> String {
    format!(
        "apiVersion: agentops.dev/v1alpha1
kind: ReleaseTarget
metadata:
  name: {name}
spec:
  host: {host}
  credentials:
    secretName: prod-databricks
  catalog: main
  schema: agents
  experiments:
    deployment: /Shared/skyloyalty/deploy
"
    )
}

const HOST: &str = "https://adb-1234567890123456.7.azuredatabricks.net";

/// A temporary directory holding `files` (name, content).
fn files(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

#[test]
fn two_releases_with_the_same_n_on_one_alias_conflict() {
    let dir = files(&[
        (
            "agentrelease.yaml",
            release(
                "skyloyalty-v7",
                "prod",
                7,
                "main.agents.skyloyalty",
                "skyloyalty-agent",
            ),
        ),
        (
            "agentrelease-b.yaml",
            release(
                "skyloyalty-v7b",
                "prod",
                7,
                "main.agents.skyloyalty",
                "skyloyalty-b",
            ),
        ),
        ("releasetarget.yaml", target("prod", HOST)),
    ]);
    let (code, stdout, stderr) = validate_in(
        dir.path(),
        &[
            "-f",
            "agentrelease.yaml",
            "agentrelease-b.yaml",
            "releasetarget.yaml",
        ],
    );
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "agentrelease-b.yaml:8: AgentRelease/skyloyalty-v7b: spec.version: N=7 is also released by AgentRelease/skyloyalty-v7 (agentrelease.yaml:8) on alias main.agents.skyloyalty@champion of target prod; two releases with the same N cannot own one alias (OwnershipConflict)",
            "agentrelease.yaml:8: AgentRelease/skyloyalty-v7: spec.version: N=7 is also released by AgentRelease/skyloyalty-v7b (agentrelease-b.yaml:8) on alias main.agents.skyloyalty@champion of target prod; two releases with the same N cannot own one alias (OwnershipConflict)",
        ]
    );
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}

#[test]
fn releases_of_two_agents_on_one_app_conflict() {
    let dir = files(&[(
        "releases.yaml",
        format!(
            "{}---\n{}",
            release(
                "skyloyalty-v7",
                "prod",
                7,
                "main.agents.skyloyalty",
                "shared-agent"
            ),
            release(
                "otherbot-v1",
                "prod",
                1,
                "main.agents.otherbot",
                "shared-agent"
            ),
        ),
    )]);
    let (code, stdout, _) = validate_in(dir.path(), &["-f", "releases.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "releases.yaml:15: AgentRelease/skyloyalty-v7: spec.app.name: AgentRelease/otherbot-v1 (releases.yaml:33), a release of agent main.agents.otherbot, also claims app shared-agent of target prod; whichever is applied second finds it owned by a release of another agent (OwnershipConflict)",
            "releases.yaml:33: AgentRelease/otherbot-v1: spec.app.name: AgentRelease/skyloyalty-v7 (releases.yaml:15), a release of agent main.agents.skyloyalty, also claims app shared-agent of target prod; whichever is applied second finds it owned by a release of another agent (OwnershipConflict)",
        ]
    );
}

#[test]
fn a_higher_n_of_the_same_agent_supersedes_and_is_not_a_problem() {
    let dir = files(&[
        (
            "v7.yaml",
            release(
                "skyloyalty-v7",
                "prod",
                7,
                "main.agents.skyloyalty",
                "skyloyalty-agent",
            ),
        ),
        (
            "v8.yaml",
            release(
                "skyloyalty-v8",
                "prod",
                8,
                "main.agents.skyloyalty",
                "skyloyalty-agent",
            ),
        ),
        ("releasetarget.yaml", target("prod", HOST)),
    ]);
    let (code, stdout, stderr) = validate_in(dir.path(), &["-f", "."]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("0 problem(s)"), "{stderr}");
}

#[test]
fn two_targets_on_one_host_are_one_workspace_and_two_hosts_are_two() {
    let releases = format!(
        "{}---\n{}",
        release(
            "skyloyalty-v7",
            "prod",
            7,
            "main.agents.skyloyalty",
            "shared-agent"
        ),
        release(
            "otherbot-v1",
            "prod-eu",
            1,
            "main.agents.otherbot",
            "shared-agent"
        ),
    );
    let one_host = files(&[
        ("releases.yaml", releases.clone()),
        (
            "targets.yaml",
            format!(
                "{}---\n{}",
                target("prod", HOST),
                target("prod-eu", &format!("{HOST}/"))
            ),
        ),
    ]);
    let (code, stdout, _) = validate_in(one_host.path(), &["-f", "releases.yaml", "targets.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("releases.yaml:15: AgentRelease/skyloyalty-v7: spec.app.name: AgentRelease/otherbot-v1 (releases.yaml:33), a release of agent main.agents.otherbot, also claims app shared-agent of target prod (the same workspace as target prod-eu); whichever is applied second finds it owned by a release of another agent (OwnershipConflict)"),
        "{stdout}"
    );

    let two_hosts = files(&[
        ("releases.yaml", releases),
        (
            "targets.yaml",
            format!(
                "{}---\n{}",
                target("prod", HOST),
                target(
                    "prod-eu",
                    "https://adb-6543210987654321.1.azuredatabricks.net"
                )
            ),
        ),
    ]);
    let (code, stdout, _) = validate_in(two_hosts.path(), &["-f", "releases.yaml", "targets.yaml"]);
    assert_eq!(
        code, 0,
        "separate workspaces keep separate ledgers: {stdout}"
    );
}

#[test]
fn a_release_declared_twice_is_one_duplicate_not_a_conflict() {
    let v7 = release(
        "skyloyalty-v7",
        "prod",
        7,
        "main.agents.skyloyalty",
        "skyloyalty-agent",
    );
    let dir = files(&[("a.yaml", v7.clone()), ("b.yaml", v7)]);
    let (code, stdout, _) = validate_in(dir.path(), &["-f", "a.yaml", "b.yaml", "a.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout.trim(),
        "b.yaml:4: AgentRelease/skyloyalty-v7: metadata.name: Duplicate value: also declared at a.yaml:4; one namespace and name is one object, so only one of the two would be applied",
        "a file given twice is one declaration"
    );
}

#[test]
fn artifact_paths_the_engine_refuses_are_refused_with_the_rule_broken() {
    // YAML double-quoted spellings, and the path as the message shows it.
    let cases = [
        (
            r#""/Volumes/main/agents/./signoffs/v7/decision.md""#,
            r#""/Volumes/main/agents/./signoffs/v7/decision.md" is refused: it has a '.' or '..' segment"#,
        ),
        (
            r#""/Volumes/main/agents/signoffs\\v7\\decision.md""#,
            r#""/Volumes/main/agents/signoffs\\v7\\decision.md" is refused: it contains a backslash"#,
        ),
        (
            r#""/Volumes/main/agents/signoffs/v7/decision\0.md""#,
            r#""/Volumes/main/agents/signoffs/v7/decision\0.md" is refused: it contains a control character (such as NUL or a newline)"#,
        ),
        (
            r#""/Volumes/main/agents/signoffs/v7\n/decision.md""#,
            r#""/Volumes/main/agents/signoffs/v7\n/decision.md" is refused: it contains a control character (such as NUL or a newline)"#,
        ),
        (
            r#""/Volumes/main/agents/signoffs/v7/""#,
            r#""/Volumes/main/agents/signoffs/v7/" is refused: it has an empty segment ('//' or a trailing '/')"#,
        ),
    ];
    for field in ["signoffPath", "evalSummaryPath"] {
        for (yaml, message) in cases {
            let text = format!(
                "{}  artifacts:\n    {field}: {yaml}\n",
                release("r", "prod", 7, "main.agents.skyloyalty", "skyloyalty-agent")
            );
            let dir = files(&[("r.yaml", text), ("t.yaml", target("prod", HOST))]);
            let (code, stdout, _) = validate_in(dir.path(), &["-f", "r.yaml", "t.yaml"]);
            assert_eq!(code, 1, "{yaml}: {stdout}");
            assert_eq!(
                stdout.trim(),
                format!("r.yaml:19: AgentRelease/r: spec.artifacts.{field}: {message}"),
                "{yaml}"
            );
        }
    }
}

#[test]
fn a_target_whose_host_leads_elsewhere_is_refused_with_a_clear_message() {
    for (host, message) in [
        (
            "https://alice:s3cr3t@adb-1234567890123456.7.azuredatabricks.net",
            "a workspace host carries no user name or password",
        ),
        (
            "'https://evil.example#.7.azuredatabricks.net'",
            "a workspace host has no query (?) or fragment (#)",
        ),
        (
            "'https://evil.example?.7.azuredatabricks.net'",
            "a workspace host has no query (?) or fragment (#)",
        ),
        (
            "https://169.254.169.254",
            "is 169.254.169.254, a cloud metadata service address",
        ),
        (
            "https://2852039166",
            "is 169.254.169.254, a cloud metadata service address",
        ),
        (
            "https://0xa9fea9fe",
            "is 169.254.169.254, a cloud metadata service address",
        ),
        (
            "https://0251.0376.0251.0376",
            "is 169.254.169.254, a cloud metadata service address",
        ),
        (
            "'https://[::ffff:169.254.169.254]'",
            "is 169.254.169.254, a cloud metadata service address",
        ),
        ("'https://[fe80::1]'", "a link-local address"),
        (
            "https://metadata.google.internal",
            "a cloud metadata service",
        ),
        ("https://metadata", "a cloud metadata service"),
        (
            "https://0x0a010203",
            "is 10.1.2.3 written another way; write an IPv4 address as four decimal numbers",
        ),
        (
            "https://127.0.0.1",
            "a loopback address (allowed only with allowInsecureHttp",
        ),
    ] {
        let dir = files(&[("target.yaml", target("prod", host))]);
        let (code, stdout, _) = validate_in(dir.path(), &["-f", "target.yaml"]);
        assert_eq!(code, 1, "{host}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("{host}: expected {message:?} in:\n{stdout}"));
        assert!(
            line.starts_with("target.yaml:6: ReleaseTarget/prod: spec.host: "),
            "{line}"
        );
        assert!(!stdout.contains("s3cr3t"), "{stdout}");
    }
}
