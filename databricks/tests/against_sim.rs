//! The client against the workspace simulator: every endpoint family, every error class, retries
//! honouring `Retry-After`, dropped connections, OAuth M2M with refresh, and the observer.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrelease_databricks::*;
use agentrelease_sim::{FaultAction, FaultRule, RunningSim, Seed, SimConfig, Simulator};
use bytes::Bytes;

const SEED: &str = r#"
users: [dev@example.com]
groups: [agent-ops]
tokens:
  - {token: dapi-dev, principal: dev@example.com}
service_principals:
  - {application_id: 11111111-2222-4333-8444-555555555555, display_name: ci, client_secret: s3cret}
denials:
  - {principal: dev@example.com, method: PUT, path: "/api/2.1/unity-catalog/models/*/aliases/*"}
catalogs:
  - name: main
    schemas:
      - name: agents
        volumes:
          - name: docs
            files:
              "a b/#1.md": {content: "hello"}
              big.bin: {content: "0123456789"}
        models:
          - name: bot
            versions: [{version: 1}, {version: 2, run_id: r2, model_id: m-0123456789abcdef0123456789abcdef}]
            aliases: {champion: 1}
        prompts:
          - name: system_instructions
            versions: [{version: 7, template: Hi}]
            aliases: {candidate_v7: 7}
registry_models:
  - name: legacy-bot
    versions: [{version: 3}]
    aliases: {prod: 3}
experiments:
  - name: /Shared/eval
    runs:
      - run_id: run-eval
        dataset_inputs: [{name: ds, digest: d1, context: evaluation}]
        model_inputs: [m-0123456789abcdef0123456789abcdef]
warehouses:
  - {id: wh1, name: wh}
workspace:
  directories: [/Workspace/Shared/app]
"#;

async fn sim() -> RunningSim {
    let seed = Seed::from_yaml_str(SEED, None).expect("seed");
    Simulator::start(SimConfig {
        seed: Some(seed),
        time_scale: 1000.0,
        ..SimConfig::default()
    })
    .await
    .expect("sim")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        budget: Duration::from_secs(5),
    }
}

fn client(sim: &RunningSim, token: &str) -> Client {
    Client::builder(sim.url())
        .credentials(Credentials::Pat(SecretString::new(token)))
        .allow_insecure_http(true)
        .rate_limit(10_000)
        .retry(fast_retry())
        .build()
        .expect("client")
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String, &'static str, u32)>>);

impl Observer for Recorder {
    fn observe(&self, a: &Attempt<'_>) {
        if let Ok(mut v) = self.0.lock() {
            v.push((
                a.route.to_string(),
                a.method.to_string(),
                a.outcome.as_str(),
                a.attempt,
            ));
        }
    }
}

#[tokio::test]
async fn models_aliases_registry_and_prompts() {
    let sim = sim().await;
    let c = client(&sim, &sim.token());
    assert_eq!(
        c.get_model_version_by_alias("main.agents.bot", "champion")
            .await
            .expect("alias")
            .version,
        1
    );
    let v2 = c.get_model_version("main.agents.bot", 2).await.expect("v2");
    assert_eq!(
        (v2.status.as_str(), v2.run_id.as_deref()),
        ("READY", Some("r2"))
    );
    c.set_model_alias("main.agents.bot", "champion", 2)
        .await
        .expect("set");
    assert_eq!(
        sim.control().model_alias("main.agents.bot", "champion"),
        Some(2)
    );
    let m = c
        .get_registered_model("main.agents.bot", true)
        .await
        .expect("model");
    assert_eq!(
        m.aliases
            .iter()
            .map(|a| (a.alias_name.as_str(), a.version_num))
            .collect::<Vec<_>>(),
        vec![("champion", 2)]
    );
    c.delete_model_alias("main.agents.bot", "champion")
        .await
        .expect("delete");
    let gone = c
        .get_model_version_by_alias("main.agents.bot", "champion")
        .await
        .expect_err("gone");
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert_eq!(
        c.get_model_version("main.agents.bot", 9)
            .await
            .expect_err("missing")
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        c.set_model_alias("main.agents.bot", "champion", 9)
            .await
            .expect_err("bad version")
            .kind(),
        ErrorKind::NotFound
    );

    assert_eq!(
        c.registry_get_by_alias("legacy-bot", "prod")
            .await
            .expect("registry")
            .version,
        3
    );
    c.registry_set_alias("legacy-bot", "staging", 3)
        .await
        .expect("set");
    assert_eq!(
        c.registry_get_version("legacy-bot", 3)
            .await
            .expect("v3")
            .version,
        3
    );
    c.registry_delete_alias("legacy-bot", "staging")
        .await
        .expect("delete");
    assert_eq!(
        c.registry_get_by_alias("legacy-bot", "staging")
            .await
            .expect_err("gone")
            .kind(),
        ErrorKind::NotFound
    );

    let p = c
        .get_prompt_version_by_alias("main.agents.system_instructions", "candidate_v7")
        .await
        .expect("prompt");
    assert_eq!(p.version, "7");
    assert_eq!(
        c.get_prompt_version_by_alias("main.agents.system_instructions", "candidate_v8")
            .await
            .expect_err("x")
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn files_with_encoding_caps_and_no_overwrite() {
    let sim = sim().await;
    let c = client(&sim, &sim.token());
    assert_eq!(
        c.download_file("/Volumes/main/agents/docs/a b/#1.md", 1024)
            .await
            .expect("download"),
        Bytes::from("hello")
    );
    assert_eq!(
        c.download_file("/Volumes/main/agents/docs/big.bin", 4)
            .await
            .expect_err("cap")
            .kind(),
        ErrorKind::TooLarge
    );
    assert_eq!(
        c.download_file("/Volumes/main/agents/docs/none.md", 10)
            .await
            .expect_err("404")
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        c.download_file("/Volumes/main/agents/nope/x.md", 10)
            .await
            .expect_err("volume")
            .kind(),
        ErrorKind::NotFound
    );
    let content = Bytes::from("plan");
    c.upload_file(
        "/Volumes/main/agents/docs/plans/v1/plan.md",
        &content,
        false,
    )
    .await
    .expect("upload");
    let again = c
        .upload_file(
            "/Volumes/main/agents/docs/plans/v1/plan.md",
            &content,
            false,
        )
        .await
        .expect_err("exists");
    assert_eq!(
        (again.kind(), again.status),
        (ErrorKind::AlreadyExists, Some(409))
    );
    assert_eq!(
        c.file_metadata("/Volumes/main/agents/docs/plans/v1/plan.md")
            .await
            .expect("head")
            .content_length,
        Some(4)
    );
    assert_eq!(
        c.file_metadata("/Volumes/main/agents/docs/x")
            .await
            .expect_err("head 404")
            .kind(),
        ErrorKind::NotFound
    );
    c.create_directory("/Volumes/main/agents/docs/plans/v2")
        .await
        .expect("mkdir");
    let names: Vec<String> = c
        .list_directory("/Volumes/main/agents/docs/plans")
        .await
        .expect("list")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["v1", "v2"]);
    for i in 0..1005 {
        sim.control()
            .put_file(&format!("/Volumes/main/agents/docs/many/f{i:04}"), "x")
            .expect("put");
    }
    assert_eq!(
        c.list_directory("/Volumes/main/agents/docs/many")
            .await
            .expect("paged")
            .len(),
        1005,
        "every page is read"
    );
}

#[tokio::test]
async fn mlflow_experiments_and_runs() {
    let sim = sim().await;
    let c = client(&sim, &sim.token());
    let eval = c.get_experiment_by_name("/Shared/eval").await.expect("exp");
    assert_eq!(eval.lifecycle_stage, "active");
    let run = c.get_run("run-eval").await.expect("run");
    assert_eq!(run.inputs.dataset_inputs[0].tags[0].value, "evaluation");
    assert_eq!(
        run.inputs.model_inputs[0].model_id,
        "m-0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        c.get_run("nope").await.expect_err("404").kind(),
        ErrorKind::NotFound
    );
    let id = c.create_experiment("/Shared/deploy").await.expect("create");
    assert_eq!(
        c.create_experiment("/Shared/deploy")
            .await
            .expect_err("dup")
            .kind(),
        ErrorKind::AlreadyExists
    );
    let tags = vec![Tag {
        key: "agentrelease.promotion".into(),
        value: "uid/1/12".into(),
    }];
    let run = c.create_run(&id, "deploy_1", 1, &tags).await.expect("run");
    c.log_batch(
        &run.info.run_id,
        &[("m".into(), 1.0, 1)],
        &[Tag {
            key: "p".into(),
            value: "1".into(),
        }],
        &[],
    )
    .await
    .expect("batch");
    c.set_run_tag(&run.info.run_id, "k", "v")
        .await
        .expect("tag");
    c.update_run(&run.info.run_id, "FINISHED", 2)
        .await
        .expect("end");
    let found = c
        .search_runs(&[&id], "tags.`agentrelease.promotion` = 'uid/1/12'", 10)
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].info.status, "FINISHED");
    assert!(
        c.search_runs(&[&id], "tags.`agentrelease.promotion` = 'other'", 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        c.search_runs(&[&id], "tags.x = unquoted", 10)
            .await
            .expect_err("bad filter")
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn apps_deployments_and_the_smoke_request() {
    let sim = sim().await;
    // The simulated clock stands still: only the advances below move it, whatever the
    // machine's speed.
    sim.control().set_time_scale(0.0);
    let c = client(&sim, &sim.token());
    let req = AppRequest {
        name: "bot-app".into(),
        description: Some("d".into()),
        resources: vec![
            serde_json::json!({"name": "wh", "sql_warehouse": {"id": "wh1", "permission": "CAN_USE"}}),
        ],
    };
    let app = c.create_app(&req, false).await.expect("create");
    assert_eq!(app.compute_status.state.as_deref(), Some("STARTING"));
    assert_eq!(
        c.create_app(&req, false).await.expect_err("dup").kind(),
        ErrorKind::AlreadyExists
    );
    let deploy = DeploymentRequest {
        source_code_path: "/Workspace/Shared/app".into(),
        mode: "SNAPSHOT".into(),
        command: vec!["python".into(), "app.py".into()],
        env_vars: vec![EnvVar {
            name: "MLFLOW_ACTIVE_MODEL_ID".into(),
            value: Some("m-1".into()),
            value_from: None,
        }],
    };
    assert_eq!(
        c.create_deployment("bot-app", &deploy)
            .await
            .expect_err("not active")
            .kind(),
        ErrorKind::InvalidInput
    );
    sim.control().advance_clock(Duration::from_secs(10));
    assert_eq!(
        c.get_app("bot-app")
            .await
            .expect("app")
            .compute_status
            .state
            .as_deref(),
        Some("ACTIVE")
    );
    let url = c.get_app("bot-app").await.expect("app").url.expect("url");
    assert_eq!(
        c.smoke_request(&url, "/invocations", Some("{}"), Duration::from_secs(5))
            .await
            .expect("smoke")
            .status,
        503
    );
    let d = c
        .create_deployment("bot-app", &deploy)
        .await
        .expect("deploy");
    assert_eq!(d.status.state.as_deref(), Some("IN_PROGRESS"));
    sim.control().advance_clock(Duration::from_secs(30));
    let d = c
        .get_deployment("bot-app", &d.deployment_id)
        .await
        .expect("get");
    assert_eq!(d.status.state.as_deref(), Some("SUCCEEDED"));
    assert_eq!(d.env_vars[0].value.as_deref(), Some("m-1"));
    let answer = c
        .smoke_request(&url, "/invocations", Some("{}"), Duration::from_secs(5))
        .await
        .expect("smoke");
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("m-1"), "{}", answer.body);
    let mut missing = deploy.clone();
    missing.source_code_path = "/Workspace/Shared/nope".into();
    let d = c
        .create_deployment("bot-app", &missing)
        .await
        .expect("accepted");
    sim.control().advance_clock(Duration::from_secs(30));
    assert_eq!(
        c.get_deployment("bot-app", &d.deployment_id)
            .await
            .expect("get")
            .status
            .state
            .as_deref(),
        Some("FAILED")
    );
    assert_eq!(c.list_apps().await.expect("list").len(), 1);
    let updated = c
        .update_app(&AppRequest {
            description: Some("new".into()),
            ..req.clone()
        })
        .await
        .expect("update");
    assert_eq!(updated.description.as_deref(), Some("new"));
    c.delete_app("bot-app").await.expect("delete");
    assert_eq!(
        c.get_deployment("bot-app", "nope")
            .await
            .expect_err("x")
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn serving_permissions_grants_and_scim() {
    let sim = sim().await;
    let c = client(&sim, &sim.token());
    let config = EndpointConfigInput {
        served_entities: vec![ServedEntity {
            name: "bot-2".into(),
            entity_name: "main.agents.bot".into(),
            entity_version: "2".into(),
            workload_size: "Small".into(),
            scale_to_zero_enabled: true,
            workload_type: None,
            environment_vars: Default::default(),
            external_model: None,
        }],
        traffic_config: TrafficConfig {
            routes: vec![Route {
                served_entity_name: "bot-2".into(),
                traffic_percentage: 100,
            }],
        },
    };
    let e = c.create_endpoint("bot-ep", &config).await.expect("create");
    assert_eq!(e.state.config_update.as_deref(), Some("IN_PROGRESS"));
    assert_eq!(
        c.update_endpoint_config("bot-ep", &config)
            .await
            .expect_err("in progress")
            .kind(),
        ErrorKind::Conflict
    );
    sim.control().advance_clock(Duration::from_secs(60));
    let e = c.get_endpoint("bot-ep").await.expect("get");
    assert_eq!(e.state.ready.as_deref(), Some("READY"));
    assert_eq!(
        e.config
            .as_ref()
            .map(|cfg| cfg.served_entities[0].entity_version.as_str()),
        Some("2")
    );

    let entry = |group: &str, level: &str| AccessControlRequest {
        user_name: None,
        group_name: Some(group.into()),
        service_principal_name: None,
        permission_level: level.into(),
    };
    c.update_permissions(
        AclObjectType::ServingEndpoint,
        &e.id,
        &[entry("agent-ops", "CAN_QUERY")],
    )
    .await
    .expect("patch");
    let acl = c
        .get_permissions(AclObjectType::ServingEndpoint, &e.id)
        .await
        .expect("get");
    assert!(
        acl.access_control_list
            .iter()
            .any(|a| a.group_name.as_deref() == Some("agent-ops"))
    );
    let bad = c
        .update_permissions(
            AclObjectType::Warehouse,
            "wh1",
            &[entry("agent-ops", "CAN_QUERY")],
        )
        .await
        .expect_err("level");
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        c.get_permissions(AclObjectType::ServingEndpoint, "bot-ep")
            .await
            .expect_err("by name")
            .kind(),
        ErrorKind::NotFound
    );

    let change = PermissionsChange {
        principal: "agent-ops".into(),
        add: vec!["EXECUTE".into()],
        remove: vec![],
    };
    c.update_grants("FUNCTION", "main.agents.bot", &[change])
        .await
        .expect("grant");
    let grants = c
        .get_grants("function", "main.agents.bot")
        .await
        .expect("grants");
    assert_eq!(
        grants,
        vec![PrivilegeAssignment {
            principal: "agent-ops".into(),
            privileges: vec!["EXECUTE".into()]
        }]
    );
    let clash = PermissionsChange {
        principal: "agent-ops".into(),
        add: vec!["EXECUTE".into()],
        remove: vec!["EXECUTE".into()],
    };
    assert_eq!(
        c.update_grants("FUNCTION", "main.agents.bot", &[clash])
            .await
            .expect_err("clash")
            .kind(),
        ErrorKind::InvalidInput
    );

    let sps = c
        .find_service_principals("11111111-2222-4333-8444-555555555555")
        .await
        .expect("scim");
    assert_eq!(sps.len(), 1);
    assert!(
        c.find_service_principals("00000000-0000-4000-8000-000000000000")
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        c.get_service_principal(&sps[0].id)
            .await
            .expect("by id")
            .application_id,
        sps[0].application_id
    );
    assert_eq!(
        c.current_user().await.expect("me").user_name,
        "admin@sim.local"
    );
    c.delete_endpoint("bot-ep").await.expect("delete");
}

#[tokio::test]
async fn credentials_denials_and_errors_are_classified() {
    let sim = sim().await;
    let bad = client(&sim, "dapi-wrong");
    assert_eq!(
        bad.current_user().await.expect_err("401").kind(),
        ErrorKind::Unauthenticated
    );
    let dev = client(&sim, "dapi-dev");
    assert_eq!(
        dev.get_model_version_by_alias("main.agents.bot", "champion")
            .await
            .expect("read")
            .version,
        1
    );
    let denied = dev
        .set_model_alias("main.agents.bot", "champion", 2)
        .await
        .expect_err("403");
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(
        !format!("{denied} {denied:?} {bad:?}").contains("dapi-wrong"),
        "no token in errors or Debug"
    );
}

#[tokio::test]
async fn retries_honour_retry_after_and_survive_dropped_connections() {
    let sim = sim().await;
    let recorder = Arc::new(Recorder::default());
    let c = Client::builder(sim.url())
        .credentials(Credentials::Pat(SecretString::new(sim.token())))
        .allow_insecure_http(true)
        .retry(fast_retry())
        .observer(recorder.clone())
        .build()
        .expect("client");
    let control = sim.control();
    control
        .add_fault(FaultRule {
            method: None,
            path: "/api/2.0/apps".into(),
            probability: 1.0,
            times: Some(1),
            after: None,
            action: FaultAction::RateLimit {
                retry_after_secs: 1,
            },
        })
        .expect("fault");
    let started = Instant::now();
    assert!(c.list_apps().await.expect("after a 429").is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was honoured"
    );
    control
        .add_fault(FaultRule {
            method: None,
            path: "/api/2.0/sql/**".into(),
            probability: 1.0,
            times: None,
            after: None,
            action: FaultAction::Drop,
        })
        .expect("fault");
    control
        .add_fault(FaultRule {
            method: None,
            path: "/api/2.0/preview/**".into(),
            probability: 1.0,
            times: Some(2),
            after: None,
            action: FaultAction::Drop,
        })
        .expect("fault");
    assert_eq!(
        c.current_user().await.expect("after two drops").user_name,
        "admin@sim.local"
    );
    let attempts = recorder.0.lock().map(|v| v.clone()).unwrap_or_default();
    let me: Vec<_> = attempts
        .iter()
        .filter(|a| a.0 == "/api/2.0/preview/scim/v2/Me")
        .collect();
    assert_eq!(
        me.iter().map(|a| (a.2, a.3)).collect::<Vec<_>>(),
        vec![
            ("connection_error", 1),
            ("connection_error", 2),
            ("success", 3)
        ]
    );
    let apps: Vec<_> = attempts
        .iter()
        .filter(|a| a.0 == "/api/2.0/apps")
        .map(|a| a.2)
        .collect();
    assert_eq!(apps, vec!["rate_limited", "success"]);
    control
        .add_fault(FaultRule {
            method: None,
            path: "/api/2.0/apps/*".into(),
            probability: 1.0,
            times: None,
            after: None,
            action: FaultAction::Status {
                status: 500,
                error_code: None,
            },
        })
        .expect("fault");
    let e = c.get_app("x").await.expect_err("500 is not retried");
    assert_eq!((e.kind(), e.status), (ErrorKind::Transient, Some(500)));
    let calls_to_x = control
        .calls()
        .iter()
        .filter(|r| r.path == "/api/2.0/apps/x")
        .count();
    assert_eq!(calls_to_x, 1);
}

#[tokio::test]
async fn oauth_m2m_tokens_are_fetched_cached_and_refreshed() {
    let sim = sim().await;
    let c = Client::builder(sim.url())
        .credentials(Credentials::OAuthM2M {
            client_id: "11111111-2222-4333-8444-555555555555".into(),
            client_secret: SecretString::new("s3cret"),
        })
        .allow_insecure_http(true)
        .retry(fast_retry())
        .build()
        .expect("client");
    assert_eq!(
        c.current_user().await.expect("me").user_name,
        "11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(
        c.current_user().await.expect("cached").user_name,
        "11111111-2222-4333-8444-555555555555"
    );
    let token_calls = || {
        sim.control()
            .calls()
            .iter()
            .filter(|r| r.path == "/oidc/v1/token")
            .count()
    };
    assert_eq!(token_calls(), 1, "the token is cached");
    sim.control().advance_clock(Duration::from_secs(7200));
    assert!(
        c.current_user().await.is_ok(),
        "an expired token is refreshed after the 401"
    );
    assert_eq!(token_calls(), 2);
    let wrong = Client::builder(sim.url())
        .credentials(Credentials::OAuthM2M {
            client_id: "11111111-2222-4333-8444-555555555555".into(),
            client_secret: SecretString::new("nope"),
        })
        .allow_insecure_http(true)
        .build()
        .expect("client");
    let e = wrong.current_user().await.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(!format!("{e}").contains("nope"));
}
