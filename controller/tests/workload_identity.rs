//! Credentials and hosts a tenant's ReleaseTarget can name, against a mocked API server and the
//! workspace simulator: a workload identity target's workspace receives a token minted for that
//! target's own ServiceAccount and audience, never another's nor the controller's; a Secret
//! naming a token file is refused with nothing read or sent; a host outside the allowed
//! workspace hosts is refused before its Secret is read or any request is sent.

mod support;

use std::sync::Arc;
use std::time::Duration;

use agentrelease::databricks_adapter::ClientFactory;
use agentrelease::kube::backoff::Backoff;
use agentrelease::kube::handle::ReleaseHandle;
use agentrelease::kube::reconciler::{self, Context, Settings};
use agentrelease::kube::target_status::{self, TargetContext};
use agentrelease::kube::workspace_slots::WorkspaceSlots;
use agentrelease::telemetry::metrics::Metrics;
use agentrelease_api::allowed_hosts::AllowedHosts;
use agentrelease_api::{AgentRelease, FINALIZER, ReleaseTarget};
use agentrelease_databricks as dbx;
use agentrelease_sim::{RunningSim, Seed, SimConfig, Simulator};
use kube::Client;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{reflector, watcher};
use serde_json::{Value, json};
use support::fake_kube::{FakeKube, ISSUER};

/// The service principal whose federation policies accept the tenants' tokens.
const SP: &str = "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c";

fn sample(file: &str) -> Value {
    serde_saphyr::from_str(
        &std::fs::read_to_string(support::samples().join(file)).expect("read sample"),
    )
    .expect("yaml")
}

/// The sample target in `ns`, pointed at `host`.
fn target(ns: &str, host: &str, edit: impl FnOnce(&mut Value)) -> ReleaseTarget {
    let mut v = sample("releasetarget.yaml");
    v["metadata"]["namespace"] = json!(ns);
    v["spec"]["host"] = json!(host);
    v["spec"]["allowInsecureHttp"] = json!(true);
    edit(&mut v);
    serde_json::from_value(v).expect("target")
}

/// A workload identity target in `ns` whose ServiceAccount is `account`.
fn workload_target(ns: &str, host: &str, account: &str) -> ReleaseTarget {
    target(ns, host, |v| {
        v["spec"]["credentials"]["type"] = json!("WorkloadIdentity");
        v["spec"]["credentials"]["serviceAccountName"] = json!(account);
    })
}

/// A simulator (empty, or seeded from the sample) whose service principal [`SP`] accepts the
/// tokens of `system:serviceaccount:<ns>:<account>` for the simulator's own URL as audience.
async fn sim_trusting(ns: &str, account: &str, sample_seed: bool) -> RunningSim {
    let seed = sample_seed.then(|| {
        Seed::from_yaml_file(&support::samples().join("workspace-seed.yaml")).expect("seed")
    });
    let sim = Simulator::start(SimConfig {
        seed,
        time_scale: 2000.0,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let policy = format!(
        "service_principals:\n  - application_id: {SP}\n    display_name: deployer\n    federation_policies:\n      - issuer: {ISSUER}\n        audiences: ['{}']\n        subject: system:serviceaccount:{ns}:{account}\n",
        sim.url()
    );
    sim.control()
        .apply_seed(&Seed::from_yaml_str(&policy, None).expect("policy"))
        .expect("apply policy");
    sim
}

fn target_context(client: &Client, allowed: &[&str]) -> Arc<TargetContext<ClientFactory>> {
    Arc::new(TargetContext {
        client: client.clone(),
        factory: Arc::new(ClientFactory::with_metrics(Arc::new(Metrics::new()))),
        allowed_hosts: Arc::new(allowed_hosts(allowed)),
    })
}

fn allowed_hosts(patterns: &[&str]) -> AllowedHosts {
    AllowedHosts::new(patterns.iter().map(|p| p.parse().expect("pattern")))
}

/// Checks a target as the target controller does; returns its written status.
async fn check(
    fake: &FakeKube,
    ctx: &Arc<TargetContext<ClientFactory>>,
    t: &ReleaseTarget,
) -> Value {
    fake.put_target(t);
    target_status::reconcile(Arc::new(DeserializeGuard(Ok(t.clone()))), ctx.clone())
        .await
        .expect("check");
    let ns = t.metadata.namespace.as_deref().unwrap_or_default();
    let name = t.metadata.name.as_deref().unwrap_or_default();
    fake.target_status(ns, name).expect("a status write")
}

fn condition(status: &Value, type_: &str) -> (String, String, String) {
    let c = status["conditions"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["type"] == type_))
        .cloned()
        .unwrap_or_default();
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    (text("status"), text("reason"), text("message"))
}

/// The release controller's context over `client`, with `target` in its cache.
fn release_context(
    client: &Client,
    target: ReleaseTarget,
    allowed: &[&str],
) -> Arc<Context<ClientFactory>> {
    let (store, mut writer) = reflector::store::<DeserializeGuard<ReleaseTarget>>();
    writer.apply_watcher_event(&watcher::Event::Apply(DeserializeGuard(Ok(target))));
    let (releases, _) = reflector::store::<ReleaseHandle>();
    let (approvals, _) = reflector::store();
    // The tenants' namespaces, as the namespace cache holds them (no approval label).
    let (namespaces, mut namespace_writer) =
        reflector::store::<PartialObjectMeta<k8s_openapi::api::core::v1::Namespace>>();
    for name in ["team-a", "team-b"] {
        let mut ns = PartialObjectMeta::default();
        ns.metadata.name = Some(name.into());
        namespace_writer.apply_watcher_event(&watcher::Event::Apply(ns));
    }
    let metrics = Arc::new(Metrics::new());
    Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "agentrelease-controller".into(),
                instance: Some("test".into()),
            },
        ),
        factory: Arc::new(ClientFactory::with_metrics(metrics.clone())),
        targets: store,
        releases,
        settings: Settings {
            allow_cross_namespace_refs: false,
            allowed_hosts: Arc::new(allowed_hosts(allowed)),
        },
        metrics,
        backoff: Arc::new(Backoff::new(
            Duration::from_millis(10),
            Duration::from_secs(1),
        )),
        slots: Arc::new(WorkspaceSlots::new(4)),
        approvals,
        newer_polls: Arc::new(Default::default()),
        written: Arc::new(Default::default()),
        namespaces,
        wake: Default::default(),
    })
}

/// The sample release in `ns` (its finalizer already on), stored in the fake.
fn put_release(fake: &FakeKube, ns: &str) {
    let mut v = sample("agentrelease.yaml");
    v["metadata"]["namespace"] = json!(ns);
    v["metadata"]["uid"] = json!("6d1f0b9e-0000-4000-8000-000000000007");
    v["metadata"]["generation"] = json!(1);
    v["metadata"]["resourceVersion"] = json!("1");
    v["metadata"]["finalizers"] = json!([FINALIZER]);
    if let Some(spec) = v["spec"].as_object_mut() {
        spec.remove("promotion");
    }
    fake.put_release(v);
}

async fn reconcile_release(fake: &FakeKube, ctx: &Arc<Context<ClientFactory>>, ns: &str) -> Value {
    let stored: DeserializeGuard<AgentRelease> =
        serde_json::from_value(fake.release(ns, "skyloyalty-v7")).expect("guard");
    reconciler::reconcile_object(Arc::new(stored), ctx.clone())
        .await
        .expect("reconcile");
    fake.release(ns, "skyloyalty-v7")["status"].clone()
}

fn secret_reads(fake: &FakeKube) -> Vec<String> {
    fake.seen()
        .into_iter()
        .filter(|s| s.path.contains("/secrets/"))
        .map(|s| s.path)
        .collect()
}

#[tokio::test]
async fn each_tenants_workspace_exchanges_a_token_of_that_tenants_own_service_account() {
    let (fake, client) = FakeKube::start();
    // One ServiceAccount name in both namespaces: only the namespace tells them apart.
    let sim_a = sim_trusting("team-a", "deployer", false).await;
    let sim_b = sim_trusting("team-b", "deployer", false).await;
    for ns in ["team-a", "team-b"] {
        fake.put_service_account(ns, "deployer");
        fake.put_secret(ns, "prod-databricks", &[("client_id", SP)]);
    }
    let ctx = target_context(&client, &[]);
    let a = workload_target("team-a", &sim_a.url(), "deployer");
    let b = workload_target("team-b", &sim_b.url(), "deployer");
    for t in [&a, &b] {
        let status = check(&fake, &ctx, t).await;
        assert_eq!(condition(&status, "CredentialsValid").0, "True", "{status}");
        assert_eq!(status["principal"], SP);
    }

    // Each workspace's exchanges carried only tokens minted for its own target.
    for (sim, ns) in [(&sim_a, "team-a"), (&sim_b, "team-b")] {
        let exchanges = sim.control().token_exchanges();
        assert!(!exchanges.is_empty());
        for e in exchanges {
            assert_eq!(
                e.subject.as_deref(),
                Some(format!("system:serviceaccount:{ns}:deployer").as_str())
            );
            assert_eq!(e.audiences, vec![sim.url()]);
            assert_eq!(e.principal.as_deref(), Some(SP));
        }
    }
    let minted = fake.minted();
    let asked: Vec<(String, Vec<String>, Option<i64>)> = minted
        .iter()
        .map(|m| {
            (
                m.service_account.clone(),
                m.audiences.clone(),
                m.expiration_seconds,
            )
        })
        .collect();
    assert_eq!(
        asked,
        vec![
            ("team-a/deployer".into(), vec![sim_a.url()], Some(600)),
            ("team-b/deployer".into(), vec![sim_b.url()], Some(600)),
        ]
    );

    // A token one tenant's workspace received is refused by the other's, even where that
    // workspace trusts the same subject: its audience names the first workspace only.
    let trust_b_at_a = format!(
        "service_principals:\n  - application_id: {SP}\n    display_name: deployer\n    federation_policies:\n      - issuer: {ISSUER}\n        audiences: ['{}']\n        subject: system:serviceaccount:team-b:deployer\n",
        sim_a.url()
    );
    sim_a
        .control()
        .apply_seed(&Seed::from_yaml_str(&trust_b_at_a, None).expect("policy"))
        .expect("apply");
    struct Replay(String);
    impl dbx::SubjectTokenSource for Replay {
        fn subject_token<'a>(
            &'a self,
            _route: &'a str,
        ) -> futures::future::BoxFuture<'a, dbx::Result<dbx::SecretString>> {
            Box::pin(async move { Ok(dbx::SecretString::new(self.0.clone())) })
        }
        fn identity(&self) -> String {
            "a replayed token".into()
        }
    }
    let replayed = dbx::Client::builder(sim_a.url())
        .credentials(dbx::Credentials::WorkloadIdentity {
            client_id: Some(SP.into()),
            subject: dbx::SubjectToken::new(Replay(minted[1].token.clone())),
        })
        .allow_insecure_http(true)
        .build()
        .expect("client")
        .current_user()
        .await
        .expect_err("team-b's token is refused at team-a's workspace");
    assert_eq!(
        replayed.kind(),
        dbx::ErrorKind::Unauthenticated,
        "{replayed}"
    );
}

#[tokio::test]
async fn a_release_of_a_workload_identity_target_runs_on_its_own_service_accounts_token() {
    let (fake, client) = FakeKube::start();
    let sim = sim_trusting("team-a", "deployer", true).await;
    fake.put_service_account("team-a", "deployer");
    fake.put_service_account("team-a", "other");
    fake.put_secret("team-a", "prod-databricks", &[("client_id", SP)]);
    put_release(&fake, "team-a");
    let ctx = release_context(
        &client,
        workload_target("team-a", &sim.url(), "deployer"),
        &[],
    );
    let status = reconcile_release(&fake, &ctx, "team-a").await;
    assert_ne!(condition(&status, "TargetResolved").0, "False", "{status}");
    assert_ne!(condition(&status, "EvaluationPassed").0, "", "{status}");
    let minted = fake.minted();
    assert!(!minted.is_empty());
    assert!(
        minted
            .iter()
            .all(|m| m.service_account == "team-a/deployer" && m.audiences == vec![sim.url()])
    );
    let exchanges = sim.control().token_exchanges();
    assert!(exchanges.iter().all(|e| e.subject.as_deref()
        == Some("system:serviceaccount:team-a:deployer")
        && e.principal.as_deref() == Some(SP)));
}

#[tokio::test]
async fn a_secret_naming_a_token_file_is_refused_and_nothing_reaches_the_workspace() {
    let planted = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(
        planted.path(),
        "eyJhbGciOiJub25lIn0.the-controllers-own-token.sig",
    )
    .expect("write");
    let path = planted.path().display().to_string();
    let (fake, client) = FakeKube::start();
    let sim = sim_trusting("team-a", "deployer", true).await;
    fake.put_service_account("team-a", "deployer");
    fake.put_secret(
        "team-a",
        "prod-databricks",
        &[("client_id", SP), ("oidc_token_file", &path)],
    );
    put_release(&fake, "team-a");
    let workload = workload_target("team-a", &sim.url(), "deployer");
    let ctx = release_context(&client, workload.clone(), &[]);
    let status = reconcile_release(&fake, &ctx, "team-a").await;
    let (state, reason, message) = condition(&status, "TargetResolved");
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("False", "CredentialsRefused")
    );
    for part in [
        "Secret team-a/prod-databricks",
        "\"oidc_token_file\"",
        "never reads a file",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    let status = check(&fake, &target_context(&client, &[]), &workload).await;
    assert_eq!(
        condition(&status, "CredentialsValid").1,
        "CredentialsRefused"
    );

    // A token target's Secret with the key is refused alike.
    fake.put_secret(
        "team-a",
        "prod-databricks",
        &[("token", "dapi-sample-token"), ("oidc_token_file", &path)],
    );
    let token_target = target("team-a", &sim.url(), |_| {});
    let status = check(&fake, &target_context(&client, &[]), &token_target).await;
    assert_eq!(condition(&status, "Ready").1, "CredentialsRefused");

    assert!(
        sim.control().calls().is_empty(),
        "{:?}",
        sim.control().calls()
    );
    assert!(sim.control().token_exchanges().is_empty());
    assert!(fake.minted().is_empty(), "no token was minted");
}

#[tokio::test]
async fn a_target_outside_the_allowed_hosts_is_refused_before_its_secret_is_read_or_anything_sent()
{
    let (fake, client) = FakeKube::start();
    let sim = sim_trusting("team-a", "deployer", true).await;
    fake.put_service_account("team-a", "deployer");
    fake.put_secret("team-a", "prod-databricks", &[("client_id", SP)]);
    put_release(&fake, "team-a");
    let allowed = ["*.azuredatabricks.net", "adb-123.4.azuredatabricks.example"];
    let t = workload_target("team-a", &sim.url(), "deployer");
    let ctx = release_context(&client, t.clone(), &allowed);
    let status = reconcile_release(&fake, &ctx, "team-a").await;
    let (state, reason, message) = condition(&status, "TargetResolved");
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("False", "HostNotAllowed")
    );
    let named = format!("spec.host {}", sim.url());
    for part in [
        named.as_str(),
        "(host 127.0.0.1)",
        "*.azuredatabricks.net, adb-123.4.azuredatabricks.example",
        "--allowed-workspace-hosts",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(condition(&status, "Ready").1, "HostNotAllowed");

    let status = check(&fake, &target_context(&client, &allowed), &t).await;
    let (state, reason, _) = condition(&status, "CredentialsValid");
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("False", "HostNotAllowed")
    );

    assert!(secret_reads(&fake).is_empty(), "{:?}", secret_reads(&fake));
    assert!(fake.minted().is_empty(), "no token was minted");
    assert!(
        sim.control().calls().is_empty(),
        "{:?}",
        sim.control().calls()
    );

    // Inside the list, the same target is checked as usual.
    let status = check(&fake, &target_context(&client, &["127.0.0.1"]), &t).await;
    assert_eq!(condition(&status, "CredentialsValid").0, "True", "{status}");
}

#[tokio::test]
async fn a_secret_the_controller_may_not_read_is_credentials_refused_not_a_retry_loop() {
    let (fake, client) = FakeKube::start();
    let sim = sim_trusting("team-a", "deployer", true).await;
    fake.put_secret(
        "team-a",
        "prod-databricks",
        &[("token", "dapi-sample-token")],
    );
    fake.with(|s| {
        s.forbidden_secret_namespaces.insert("team-a".into());
    });
    let status = check(
        &fake,
        &target_context(&client, &[]),
        &target("team-a", &sim.url(), |_| {}),
    )
    .await;
    let (state, reason, message) = condition(&status, "CredentialsValid");
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("False", "CredentialsRefused")
    );
    assert!(
        message.contains("Secret team-a/prod-databricks"),
        "{message}"
    );
    assert!(message.contains("secretNamespaces"), "{message}");
    assert!(sim.control().calls().is_empty());
}
