//! The client's workspace-registry and tracking calls against an open-source MLflow server,
//! unchanged. Runs only when `MLFLOW_TRACKING_URI` names such a server (see
//! `tests/mlflow/run.sh`); otherwise it says so and passes.

use agentrelease_databricks::{Client, Credentials, ErrorKind, SecretString, Tag};

fn server() -> Option<String> {
    let uri = std::env::var("MLFLOW_TRACKING_URI")
        .ok()
        .filter(|u| u.starts_with("http"));
    if uri.is_none() {
        eprintln!(
            "skipped: set MLFLOW_TRACKING_URI to an open-source MLflow server (tests/mlflow/run.sh does)"
        );
    }
    uri
}

fn client(uri: &str) -> Client {
    Client::builder(uri)
        .credentials(Credentials::Pat(SecretString::new("")))
        .allow_insecure_http(true)
        .build()
        .expect("client")
}

async fn post(uri: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::Client::new()
        .post(format!("{uri}{path}"))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("json")
}

#[tokio::test]
async fn registry_aliases_and_tracking_work_against_open_source_mlflow() {
    let Some(uri) = server() else { return };
    let c = client(&uri);
    let suffix = uuid_like();
    let exp_name = format!("/Shared/conformance-{suffix}");
    let exp = c
        .create_experiment(&exp_name)
        .await
        .expect("create experiment");
    assert_eq!(
        c.get_experiment_by_name(&exp_name)
            .await
            .expect("by name")
            .experiment_id,
        exp
    );
    assert_eq!(
        c.create_experiment(&exp_name)
            .await
            .expect_err("duplicate")
            .kind(),
        ErrorKind::AlreadyExists
    );
    let tags = vec![Tag {
        key: "agentrelease.promotion".into(),
        value: format!("uid/1/{suffix}"),
    }];
    let run = c
        .create_run(&exp, "deploy_1", 1_700_000_000_000, &tags)
        .await
        .expect("create run");
    let run_id = run.info.run_id.clone();
    c.log_batch(
        &run_id,
        &[("score".into(), 0.9, 1_700_000_000_000)],
        &[Tag {
            key: "n".into(),
            value: "7".into(),
        }],
        &[],
    )
    .await
    .expect("log batch");
    c.set_run_tag(&run_id, "stage", "done")
        .await
        .expect("set tag");
    c.update_run(&run_id, "FINISHED", 1_700_000_001_000)
        .await
        .expect("end run");
    assert_eq!(
        c.get_run(&run_id).await.expect("get run").info.status,
        "FINISHED"
    );
    let found = c
        .search_runs(
            &[&exp],
            &format!("tags.`agentrelease.promotion` = 'uid/1/{suffix}'"),
            10,
        )
        .await
        .expect("search");
    assert_eq!(
        found
            .iter()
            .map(|r| r.info.run_id.as_str())
            .collect::<Vec<_>>(),
        vec![run_id.as_str()]
    );

    let model = format!("bot-{suffix}");
    post(
        &uri,
        "/api/2.0/mlflow/registered-models/create",
        serde_json::json!({"name": model}),
    )
    .await;
    post(
        &uri,
        "/api/2.0/mlflow/model-versions/create",
        serde_json::json!({"name": model, "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    c.registry_set_alias(&model, "champion", 1)
        .await
        .expect("set alias");
    let v = c
        .registry_get_by_alias(&model, "champion")
        .await
        .expect("get by alias");
    assert_eq!((v.version, v.run_id.as_deref()), (1, Some(run_id.as_str())));
    assert_eq!(
        c.registry_get_version(&model, 1)
            .await
            .expect("get version")
            .version,
        1
    );
    c.registry_delete_alias(&model, "champion")
        .await
        .expect("delete alias");
    // Open-source MLflow answers an unknown alias with 400 INVALID_PARAMETER_VALUE, Databricks with 404.
    let gone = c
        .registry_get_by_alias(&model, "champion")
        .await
        .expect_err("gone");
    assert!(
        matches!(gone.kind(), ErrorKind::NotFound | ErrorKind::InvalidInput),
        "{gone}"
    );
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}
