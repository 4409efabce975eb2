//! The `agentrelease apply` and `plan` commands as a user runs them: the README's run command
//! reaches Ready on the embedded simulator; a blocking gate exits 2; plan writes nothing.

mod support;

use support::cli::{SAMPLE_HOST, bin, own_simulator, run, samples, samples_with_signoff};

#[test]
fn the_readme_run_command_releases_the_sample() {
    let out = bin()
        .args(["apply", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("✓ AliasPromoted"), "{stdout}");
    // Staging first, then prod, in the same run.
    assert!(
        stdout.contains(
            "skyloyalty-v7-staging: Ready: N=7: main.agents.skyloyalty@staging -> version 12"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("skyloyalty-v7: Ready: N=7: main.agents.skyloyalty@champion -> version 12"),
        "{stdout}"
    );
}

#[test]
fn prod_alone_without_a_verified_staging_is_blocked_and_writes_nothing() {
    let out = bin()
        .args(["apply", "-f"])
        .arg(samples().join("agentrelease.yaml"))
        .arg("-f")
        .arg(samples().join("releasetarget.yaml"))
        .arg("--seed")
        .arg(samples().join("workspace-seed.yaml"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "Blocked (UpstreamNotReleased): no release of main.agents.skyloyalty N=7 model version 12 on target staging yet; nothing in this run releases it"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("AliasPromoted"), "{stdout}");
}

#[test]
fn json_output_reports_each_release() {
    let out = bin()
        .args(["apply", "-o", "json", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let releases = doc["releases"].as_array().expect("releases");
    assert_eq!(releases.len(), 2, "staging and prod");
    for name in ["skyloyalty-v7-staging", "skyloyalty-v7"] {
        let r = releases
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {doc}"));
        assert_eq!(r["ready"], true, "{r}");
        assert_eq!(r["status"]["promotedVersion"], 12, "{r}");
    }
}

#[test]
fn a_rejected_signoff_exits_2_with_the_reason() {
    let dir = samples_with_signoff(
        "---\nversion: 7\nengineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    );
    let out = bin()
        .args(["apply", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("SignoffRejected"), "{stdout}");
}

#[test]
fn plan_lists_changes_and_exits_0() {
    let out = bin()
        .args(["plan", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Staging's changes, then prod's, which says it waits for staging first.
    assert!(
        stdout.contains("move main.agents.skyloyalty@staging: (none) -> 12"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "waits for its upstream stage first (apply releases it before): UpstreamNotReleased"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("move main.agents.skyloyalty@champion: 11 -> 12"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_calls_out_a_move_of_the_alias_to_a_lower_version() {
    let sim = own_simulator().await;
    let url = sim.url();
    // The champion is version 13 now; the sample releases version 12.
    let c = sim.control();
    c.register_model_version("main.agents.skyloyalty", 13, None, "READY")
        .expect("version 13");
    c.set_model_alias("main.agents.skyloyalty", "champion", 13)
        .expect("champion 13");
    let plan = |json: bool| {
        let mut command = bin();
        command.args([
            "plan",
            "--allow-insecure-http",
            "--override-host",
            "--host",
            &url,
        ]);
        if json {
            command.args(["-o", "json"]);
        }
        command.arg("-f").arg(samples());
        command
    };
    let out = run(plan(true)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let changes = |name: &str| {
        doc["releases"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .and_then(|r| r["changes"].as_array().cloned())
            .unwrap_or_default()
    };
    let prod: Vec<_> = changes("skyloyalty-v7")
        .into_iter()
        .filter(|c| c["downgrade"] == true)
        .collect();
    assert_eq!(prod.len(), 1, "{doc:#}");
    assert_eq!(prod[0]["step"], "promote");
    assert!(
        prod[0]["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("move main.agents.skyloyalty@champion: 13 -> 12")),
        "{doc:#}"
    );
    // Staging's alias is new: no downgrade, and the flag is left out.
    assert!(
        changes("skyloyalty-v7-staging")
            .iter()
            .all(|c| c.get("downgrade").is_none()),
        "{doc:#}"
    );

    let out = run(plan(false)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "move main.agents.skyloyalty@champion: 13 -> 12 (DOWNGRADE: a lower version than the alias points at now)"
        ),
        "{stdout}"
    );
    assert!(
        c.writes().is_empty(),
        "plan writes nothing: {:?}",
        c.writes()
    );
}

#[test]
fn invalid_manifests_apply_nothing_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: agentops.dev/v1alpha1\nkind: AgentRelease\nmetadata:\n  name: x\nspec:\n  version: 0\n",
    )
    .expect("write");
    let out = bin()
        .args(["apply", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(stderr.contains("nothing was applied"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_other_than_the_targets_is_refused_before_anything_is_sent() {
    let sim = own_simulator().await;
    let url = sim.url();
    let host_line = std::fs::read_to_string(samples().join("releasetarget.yaml"))
        .expect("read")
        .lines()
        .position(|l| l.starts_with("  host: "))
        .expect("spec.host")
        + 1;
    for verb in ["apply", "plan"] {
        let mut command = bin();
        command
            .args([verb, "--allow-insecure-http", "--host", &url, "-f"])
            .arg(samples());
        let out = run(command).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "releasetarget.yaml:{host_line}: ReleaseTarget/prod: spec.host is {SAMPLE_HOST} but --host \
                 is {url}; refusing to send this target's releases elsewhere (pass \
                 --override-host to do it anyway)"
            )),
            "{verb}: {stderr}"
        );
        assert!(
            sim.control().calls().is_empty(),
            "{verb} sent {:?}",
            sim.control().calls()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_host_releases_to_host_and_says_so() {
    let sim = own_simulator().await;
    let url = sim.url();
    let mut command = bin();
    command
        .args([
            "apply",
            "--allow-insecure-http",
            "--override-host",
            "--host",
            &url,
            "-o",
            "json",
            "-f",
        ])
        .arg(samples());
    let out = run(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warning = format!(
        "WARNING: ReleaseTarget/prod: spec.host {SAMPLE_HOST} is overridden by --host {url}"
    );
    assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let prod = doc["releases"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "skyloyalty-v7"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        prod["host_override"],
        serde_json::json!({"target": "ReleaseTarget/prod", "target_host": SAMPLE_HOST, "host": url})
    );
    assert_eq!(prod["ready"], true);
    assert_eq!(
        sim.control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(12),
        "the release reached the workspace --host names"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_equal_to_the_targets_needs_no_override() {
    let sim = own_simulator().await;
    let url = sim.url();
    let dir = samples_with_signoff(
        &std::fs::read_to_string(samples().join("workspace/decision-v7.md")).expect("read"),
    );
    // Written with a trailing slash, still the same workspace (both stages live in it).
    let host = format!("{url}/");
    for file in ["releasetarget.yaml", "releasetarget-staging.yaml"] {
        let target = dir.path().join(file);
        let text = std::fs::read_to_string(&target).expect("read");
        std::fs::write(
            &target,
            text.replace(
                &format!("host: {SAMPLE_HOST}"),
                &format!("host: {host}\n  allowInsecureHttp: true"),
            ),
        )
        .expect("write");
    }
    let mut command = bin();
    command
        .args([
            "plan",
            "--allow-insecure-http",
            "--host",
            &url,
            "-o",
            "json",
            "-f",
        ])
        .arg(dir.path());
    let out = run(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("WARNING"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(doc["releases"][0]["host_override"], serde_json::Value::Null);
    assert!(!sim.control().calls().is_empty(), "plan read the workspace");
}

#[test]
fn without_host_each_target_is_told_the_simulator_stands_in() {
    let out = bin()
        .args(["plan", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ReleaseTarget/prod names {SAMPLE_HOST}; using the embedded workspace simulator (no \
             --host given). Pass --host {SAMPLE_HOST} with credentials in DATABRICKS_TOKEN to \
             release to it."
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("is empty"), "{stderr}");
}

#[test]
fn without_a_seed_the_empty_simulator_is_explained() {
    let out = bin()
        .args(["apply", "-f"])
        .arg(samples().join("agentrelease.yaml"))
        .arg("-f")
        .arg(samples().join("releasetarget.yaml"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "the simulated workspace is empty (no --seed given and no workspace seed among the \
             paths), so the gates will report missing artifacts"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("EvaluationMissing"), "{stdout}");
}

#[test]
fn several_releases_progress_side_by_side_and_each_line_names_its_release() {
    let signoff =
        std::fs::read_to_string(samples().join("workspace/decision-v7.md")).expect("read");
    let dir = samples_with_signoff(&signoff);
    // A second release of the same N and model version on another alias and its own endpoint,
    // no app.
    std::fs::write(
        dir.path().join("challenger.yaml"),
        r#"apiVersion: agentops.dev/v1alpha1
kind: AgentRelease
metadata:
  name: skyloyalty-v7-challenger
spec:
  targetRef:
    name: prod
  version: 7
  model:
    name: main.agents.skyloyalty
    version: 12
    alias: challenger
  evaluation:
    thresholds:
      - metric: answer_correctness
        min: 0.85
  servingEndpoint:
    name: skyloyalty-challenger
    servedEntities:
      - name: challenger-12
        workloadSize: Small
        scaleToZeroEnabled: true
"#,
    )
    .expect("write");
    let out = bin()
        .args(["apply", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "skyloyalty-v7-challenger: Ready: N=7: main.agents.skyloyalty@challenger -> version 12"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("skyloyalty-v7: Ready:"), "{stdout}");
    assert!(
        stdout.contains("/skyloyalty-v7-challenger] ✓ AliasPromoted"),
        "progress lines name their release: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_outside_the_allowed_workspace_hosts_are_refused_before_anything_is_sent() {
    let sim = own_simulator().await;
    let url = sim.url();
    // The targets' hosts are inside the list; --host (the simulator's 127.0.0.1) is not.
    for verb in ["apply", "plan"] {
        let mut command = bin();
        command
            .args([
                verb,
                "--allow-insecure-http",
                "--override-host",
                "--host",
                &url,
                "--allowed-workspace-hosts",
                "*.azuredatabricks.net",
                "-f",
            ])
            .arg(samples());
        let out = run(command).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "--host {url}: {url} (host 127.0.0.1) is not among the workspace hosts this \
                 operator allows (*.azuredatabricks.net)"
            )),
            "{verb}: {stderr}"
        );
        assert!(
            !stderr.contains("ReleaseTarget/prod: spec.host"),
            "{stderr}"
        );
        assert!(
            sim.control().calls().is_empty(),
            "{verb} sent {:?}",
            sim.control().calls()
        );
    }
    // Without --host, a target outside the list is refused naming its file and line.
    let host_line = std::fs::read_to_string(samples().join("releasetarget.yaml"))
        .expect("read")
        .lines()
        .position(|l| l.starts_with("  host: "))
        .expect("spec.host")
        + 1;
    let mut command = bin();
    command
        .args([
            "plan",
            "--allowed-workspace-hosts",
            "*.cloud.databricks.com",
            "-f",
        ])
        .arg(samples());
    let out = run(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "releasetarget.yaml:{host_line}: ReleaseTarget/prod: spec.host {SAMPLE_HOST} (host \
             adb-1234567890123456.7.azuredatabricks.net) is not among the workspace hosts this \
             operator allows (*.cloud.databricks.com)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was sent"), "{stderr}");
}
