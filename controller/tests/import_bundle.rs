//! `agentrelease import bundle` on the fixtures under `tests/fixtures/bundles/`: the manifests it
//! writes pass `agentrelease validate` as written, the values come from the right target, the
//! parts it cannot map are listed, and unknown keys are reported as `bundle validate` reports them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bundles")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .args(args)
        .env_remove("BUNDLE_VAR_catalog")
        .output()
        .expect("run agentrelease");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn import(bundle: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "import",
        "bundle",
        bundle.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    stderr
}

fn validate_clean(dir: &Path) -> String {
    let (code, stdout, stderr) = run(&["validate", "-f", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    stderr
}

fn read(path: PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(&path).unwrap();
    agentrelease::manifest::parse_str(&path, &text)
        .unwrap()
        .remove(0)
        .value
}

#[test]
fn the_documents_bundle_imports_to_manifests_that_validate() {
    let out = tempfile::tempdir().unwrap();
    let stderr = import(&fixtures().join("skyloyalty"), out.path(), &[]);
    assert!(
        stderr.contains("imported target(s) dev, prod, staging: 6 manifest(s)"),
        "{stderr}"
    );
    let summary = validate_clean(out.path());
    assert!(
        summary.contains("6 AgentRelease/ReleaseTarget object(s) checked, 0 problem(s)"),
        "{summary}"
    );

    let prod = read(out.path().join("releasetarget-prod.yaml"));
    assert_eq!(
        prod["spec"]["host"],
        "https://adb-1234567890123456.7.azuredatabricks.net"
    );
    assert_eq!(prod["spec"]["catalog"], "main");
    assert_eq!(prod["spec"]["schema"], "agents");
    assert_eq!(prod["spec"]["appEnvironment"], "production");
    assert_eq!(
        prod["spec"]["gateway"]["llmBaseUrl"],
        "https://adb-1234567890123456.7.azuredatabricks.net/serving-endpoints"
    );
    assert_eq!(
        prod["spec"]["gateway"]["llmModel"],
        "databricks-claude-sonnet-4"
    );
    let dev = read(out.path().join("releasetarget-dev.yaml"));
    assert_eq!(dev["spec"]["catalog"], "dev");
    assert_eq!(dev["spec"]["appEnvironment"], "development");

    let release = read(out.path().join("agentrelease-skyloyalty-agent-prod.yaml"));
    let app = &release["spec"]["app"];
    assert_eq!(app["name"], "skyloyalty-agent");
    assert_eq!(app["command"], serde_json::json!(["python", "app.py"]));
    assert_eq!(
        app["sourceCodePath"],
        "/Workspace/Shared/.bundle/skyloyalty-agent/prod/files/app"
    );
    assert_eq!(
        app["env"],
        serde_json::json!([
            {"name": "LOG_LEVEL", "value": "INFO"},
            {"name": "AGENT_CATALOG", "value": "main"},
            {"name": "DATABRICKS_WAREHOUSE_ID", "valueFrom": "warehouse"}
        ]),
        "the gateway variables move to the ReleaseTarget"
    );
    assert_eq!(
        app["resources"][0]["sqlWarehouse"]["id"],
        "4b9e2a1c7d3f5e60"
    );
    let text = std::fs::read_to_string(out.path().join("agentrelease-skyloyalty-agent-prod.yaml"))
        .unwrap();
    for todo in [
        "# TODO: N,",
        "# TODO: the model version",
        "# TODO: evaluation thresholds",
    ] {
        assert!(text.contains(todo), "{todo} missing:\n{text}");
    }
}

#[test]
fn the_bigger_bundle_merges_includes_and_target_overrides_and_lists_what_it_cannot_map() {
    let out = tempfile::tempdir().unwrap();
    let stderr = import(&fixtures().join("fleet/databricks.yml"), out.path(), &[]);
    validate_clean(out.path());
    for expected in [
        "resources/serving.yml:6: resources.model_serving_endpoints.concierge_endpoint.config: unknown field: served_models",
        "targets/prod.yml:6: targets.prod.workspace: unknown field: hots",
        "not imported: target staging: variables.warehouse_id: a lookup variable",
        "not imported: target dev: resources.jobs.nightly_eval:",
        "not imported: target prod: run_as:",
        "not imported: target prod: resources.apps.concierge.resources[2] (nightly): resource kind \"job\"",
        "${workspace.current_user.userName} is known only when the bundle is deployed",
    ] {
        assert!(stderr.contains(expected), "{expected:?} missing:\n{stderr}");
    }
    let prod = read(out.path().join("agentrelease-concierge-prod.yaml"));
    assert_eq!(prod["spec"]["model"]["name"], "main.support.concierge");
    assert_eq!(
        prod["spec"]["app"]["description"],
        "Concierge agent (production)"
    );
    let env = prod["spec"]["app"]["env"].as_array().unwrap();
    assert!(
        env.contains(&serde_json::json!({"name": "LOG_LEVEL", "value": "WARNING"})),
        "{env:?}"
    );
    assert!(
        env.contains(&serde_json::json!({"name": "FEATURE_FLAGS", "value": "stable"})),
        "target env entries are appended: {env:?}"
    );
    let target = read(out.path().join("releasetarget-staging.yaml"));
    assert_eq!(target["spec"]["appEnvironment"], "staging");
    assert_eq!(target["spec"]["agentSchema"], "support_prompts");
    assert_eq!(
        target["spec"]["gateway"]["llmBaseUrl"],
        "https://dbc-1a2b3c4d-0002.cloud.databricks.com/serving-endpoints"
    );
    // Without the lookup's value the warehouse (and the env entry naming it) is left out.
    let staging = read(out.path().join("agentrelease-concierge-staging.yaml"));
    assert!(
        !staging["spec"]["app"].to_string().contains("warehouse"),
        "{}",
        staging["spec"]["app"]
    );
}

#[test]
fn one_target_and_var_flags_override_the_files() {
    let out = tempfile::tempdir().unwrap();
    let stderr = import(
        &fixtures().join("fleet"),
        out.path(),
        &[
            "--target",
            "staging",
            "--var",
            "warehouse_id=1234abcd",
            "--var=catalog=qa",
        ],
    );
    assert!(
        stderr.contains("imported target(s) staging: 3 manifest(s)"),
        "{stderr}"
    );
    validate_clean(out.path());
    let staging = read(out.path().join("agentrelease-concierge-staging.yaml"));
    assert_eq!(
        staging["spec"]["app"]["resources"][0]["sqlWarehouse"]["id"],
        "1234abcd"
    );
    assert_eq!(
        read(out.path().join("releasetarget-staging.yaml"))["spec"]["catalog"],
        "qa"
    );
}

#[test]
fn bad_invocations_fail_with_the_bundle_clis_words() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let bundle = fixtures().join("fleet");
    let bundle = bundle.to_str().unwrap();
    let (code, _, stderr) = run(&[
        "import",
        "bundle",
        bundle,
        "--output-dir",
        dir,
        "--target",
        "qa",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("target \"qa\" is not defined (targets: dev, prod, staging)"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&[
        "import",
        "bundle",
        bundle,
        "--output-dir",
        dir,
        "--var",
        "nope=1",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("variable nope has not been defined"),
        "{stderr}"
    );
    // A second import into the same folder does not overwrite silently.
    import(&fixtures().join("skyloyalty"), out.path(), &["-t", "dev"]);
    let (code, _, stderr) = run(&[
        "import",
        "bundle",
        fixtures().join("skyloyalty").to_str().unwrap(),
        "--output-dir",
        dir,
        "-t",
        "dev",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("already exists (give --overwrite to replace it)"),
        "{stderr}"
    );
}
