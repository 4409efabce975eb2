//! The controller's reconcile against a mocked Kubernetes API server (tower-test) and the
//! workspace simulator: the finalizer comes first; the sample release reaches Ready through the
//! controller with status written by server-side apply and Events recorded; cross-namespace
//! targets, missing Secrets and undecodable objects are Stalled with their reason; a suspended
//! release never touches the workspace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrelease::databricks_adapter::ClientFactory;
use agentrelease::kube::backoff::Backoff;
use agentrelease::kube::handle::ReleaseHandle;
use agentrelease::kube::reconciler::{self, Context, Settings};
use agentrelease::kube::workspace_slots::WorkspaceSlots;
use agentrelease::telemetry::metrics::Metrics;
use agentrelease_api::{AgentRelease, FINALIZER, ReleaseTarget};
use agentrelease_sim::{RunningSim, Seed, SimConfig, Simulator};
use http::{Request, Response};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::client::Body;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{reflector, watcher};
use serde_json::{Value, json};

const NS: &str = "agents";

/// One request the mocked API server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
}

/// The mocked API server's state: the release as stored, the Secret, and every request.
struct Fake {
    release: Value,
    secret: Option<Value>,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<Fake>>;

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

fn sample_release() -> Value {
    let mut v: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(samples().join("agentrelease.yaml")).expect("read"),
    )
    .expect("yaml");
    v["metadata"]["namespace"] = json!(NS);
    v["metadata"]["uid"] = json!("6d1f0b9e-0000-4000-8000-000000000007");
    v["metadata"]["generation"] = json!(1);
    v["metadata"]["resourceVersion"] = json!("1");
    // These scenarios drive the prod sample on its own; staging first is in
    // `a_prod_release_waits_for_staging_in_the_cache` below.
    if let Some(spec) = v["spec"].as_object_mut() {
        spec.remove("promotion");
    }
    v
}

fn target(host: &str) -> ReleaseTarget {
    let mut v: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(samples().join("releasetarget.yaml")).expect("read"),
    )
    .expect("yaml");
    v["metadata"]["namespace"] = json!(NS);
    v["spec"]["host"] = json!(host);
    v["spec"]["allowInsecureHttp"] = json!(true);
    serde_json::from_value(v).expect("target")
}

fn secret(token: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "prod-databricks", "namespace": NS},
        "data": {"token": base64_encode(token)},
    })
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn not_found() -> Response<Body> {
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"});
    Response::builder()
        .status(404)
        .body(Body::from(serde_json::to_vec(&status).unwrap_or_default()))
        .expect("response")
}

fn ok(v: &Value, status: u16) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(v).unwrap_or_default()))
        .expect("response")
}

/// Answers requests by route, recording each; runs until the client is dropped.
fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    fake: Shared,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((req, send)) = handle.next_request().await {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or_default().to_string();
            let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let mut f = fake.lock().expect("lock");
            f.seen.push(Seen {
                method: method.clone(),
                path: path.clone(),
                query,
                body: body.clone(),
            });
            let release_path =
                format!("/apis/agentops.dev/v1alpha1/namespaces/{NS}/agentreleases/skyloyalty-v7");
            let response = if path == format!("/api/v1/namespaces/{NS}/secrets/prod-databricks")
                && method == "GET"
            {
                match &f.secret {
                    Some(s) => ok(s, 200),
                    None => not_found(),
                }
            } else if path == release_path && method == "GET" {
                ok(&f.release, 200)
            } else if path == format!("{release_path}/status") && method == "PATCH" {
                f.release["status"] = body["status"].clone();
                ok(&f.release, 200)
            } else if path == release_path && method == "PATCH" {
                for op in body.as_array().into_iter().flatten() {
                    if op["path"] == "/metadata/finalizers" && op["op"] == "add" {
                        f.release["metadata"]["finalizers"] = op["value"].clone();
                    } else if op["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("/metadata/finalizers"))
                        && op["op"] == "remove"
                    {
                        f.release["metadata"]["finalizers"] = json!([]);
                    }
                }
                ok(&f.release, 200)
            } else if path
                == format!("/apis/agentops.dev/v1alpha1/namespaces/{NS}/releasetargets/prod/status")
                && method == "PATCH"
            {
                let mut t = serde_json::to_value(target("http://sim")).unwrap_or_default();
                t["status"] = body["status"].clone();
                ok(&t, 200)
            } else if path.contains("/events") {
                ok(&body, if method == "POST" { 201 } else { 200 })
            } else {
                not_found()
            };
            send.send_response(response);
        }
    })
}

struct Harness {
    ctx: Arc<Context<ClientFactory>>,
    approvals: reflector::store::Writer<DeserializeGuard<agentrelease_api::AgentReleaseApproval>>,
    fake: Shared,
    sim: RunningSim,
    _server: tokio::task::JoinHandle<()>,
    /// The cache of AgentReleases (other releases the reconciled one may require).
    releases: Mutex<reflector::store::Writer<ReleaseHandle>>,
    /// The cache of namespaces (their labels).
    namespaces: Mutex<reflector::store::Writer<PartialObjectMeta<Namespace>>>,
}

async fn harness(release: Value, with_secret: bool, settings: Settings) -> Harness {
    harness_with_target(release, with_secret, settings, |_| {}).await
}

/// [`harness`] with the ReleaseTarget edited first.
async fn harness_with_target(
    release: Value,
    with_secret: bool,
    settings: Settings,
    edit: impl FnOnce(&mut ReleaseTarget),
) -> Harness {
    let seed = Seed::from_yaml_file(&samples().join("workspace-seed.yaml")).expect("seed");
    let sim = Simulator::start(SimConfig {
        seed: Some(seed),
        time_scale: 2000.0,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NS);
    let fake = Arc::new(Mutex::new(Fake {
        release,
        secret: with_secret.then(|| secret("dapi-sample-token")),
        seen: Vec::new(),
    }));
    let server = serve(handle, fake.clone());
    let (store, mut writer) = reflector::store::<DeserializeGuard<ReleaseTarget>>();
    let mut t = target(&sim.url());
    edit(&mut t);
    writer.apply_watcher_event(&watcher::Event::Apply(DeserializeGuard(Ok(t))));
    let (releases, releases_writer) = reflector::store::<ReleaseHandle>();
    let metrics = Arc::new(Metrics::new());
    let (approval_store, approvals) = reflector::store();
    let (namespace_store, mut namespaces) = reflector::store();
    namespaces.apply_watcher_event(&watcher::Event::Apply(namespace(&[])));
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(
            client,
            Reporter {
                controller: "agentrelease-controller".into(),
                instance: Some("test".into()),
            },
        ),
        factory: Arc::new(ClientFactory::with_metrics(metrics.clone())),
        targets: store,
        releases: releases.clone(),
        settings,
        metrics,
        backoff: Arc::new(Backoff::new(
            Duration::from_millis(10),
            Duration::from_secs(1),
        )),
        slots: Arc::new(WorkspaceSlots::new(4)),
        approvals: approval_store,
        newer_polls: Arc::new(Default::default()),
        written: Arc::new(Default::default()),
        namespaces: namespace_store,
        wake: Default::default(),
    });
    Harness {
        ctx,
        approvals,
        fake,
        sim,
        _server: server,
        releases: Mutex::new(releases_writer),
        namespaces: Mutex::new(namespaces),
    }
}

/// The release's namespace with `labels`, as the namespace cache holds it.
fn namespace(labels: &[(&str, &str)]) -> PartialObjectMeta<Namespace> {
    let mut ns = PartialObjectMeta::<Namespace>::default();
    ns.metadata.name = Some(NS.into());
    if !labels.is_empty() {
        ns.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }
    ns
}

impl Harness {
    fn stored(&self) -> Arc<DeserializeGuard<AgentRelease>> {
        let v = self.fake.lock().expect("lock").release.clone();
        Arc::new(serde_json::from_value(v).expect("guard"))
    }

    async fn reconcile(
        &self,
    ) -> Result<kube::runtime::controller::Action, reconciler::ReconcileError> {
        reconciler::reconcile_object(self.stored(), self.ctx.clone()).await
    }

    /// As the controller runs it: from the cache's handle (which reads the release when the
    /// handle is not enough).
    async fn reconcile_handle(
        &self,
    ) -> Result<kube::runtime::controller::Action, reconciler::ReconcileError> {
        let handle = ReleaseHandle::of((*self.stored()).clone());
        reconciler::reconcile(Arc::new(handle), self.ctx.clone()).await
    }

    fn seen(&self) -> Vec<Seen> {
        self.fake.lock().expect("lock").seen.clone()
    }

    fn condition(&self, type_: &str) -> Option<Value> {
        let f = self.fake.lock().expect("lock");
        f.release["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .cloned()
    }

    /// Reconciles until the release waits for an approval or is Stalled (at most 20 times);
    /// returns its `Approved` condition.
    async fn held_for_approval(&self) -> Value {
        for _ in 0..20 {
            self.reconcile().await.expect("reconcile");
            let phase = self.fake.lock().expect("lock").release["status"]["phase"].clone();
            if phase == "AwaitingApproval"
                || self
                    .condition("Stalled")
                    .is_some_and(|c| c["status"] == "True")
            {
                break;
            }
        }
        self.condition("Approved").expect("Approved condition")
    }

    fn event_reasons(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.contains("/events") && s.method == "POST")
            .filter_map(|s| s.body["reason"].as_str().map(str::to_string))
            .collect()
    }
}

fn settings() -> Settings {
    Settings {
        allow_cross_namespace_refs: false,
        allowed_hosts: Default::default(),
    }
}

#[tokio::test]
async fn a_new_release_gets_the_finalizer_before_anything_else() {
    let h = harness(sample_release(), true, settings()).await;
    h.reconcile().await.expect("reconcile");
    let seen = h.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "PATCH");
    assert!(
        seen[0].body.to_string().contains(FINALIZER),
        "{:?}",
        seen[0].body
    );
    assert!(
        h.sim.control().calls().is_empty(),
        "the workspace is not touched yet"
    );
}

#[tokio::test]
async fn the_sample_release_reaches_ready_through_the_controller() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    let h = harness(release, true, settings()).await;
    for _ in 0..200 {
        h.reconcile().await.expect("reconcile");
        if h.condition("Ready").is_some_and(|c| c["status"] == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ready = h.condition("Ready").expect("Ready condition");
    assert_eq!(ready["status"], "True", "{ready}");
    assert_eq!(ready["observedGeneration"], 1);
    assert_eq!(
        h.condition("Stalled").map(|c| c["status"].clone()),
        Some(json!("False"))
    );
    let status_patches: Vec<Seen> = h
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/status"))
        .collect();
    assert!(!status_patches.is_empty());
    assert!(
        status_patches
            .iter()
            .all(|s| s.query.contains("fieldManager=agentrelease-controller")
                && s.query.contains("force=true")),
        "server-side apply under one field manager: {:?}",
        status_patches.iter().map(|s| &s.query).collect::<Vec<_>>()
    );
    assert!(
        status_patches.iter().all(|s| s.body.get("spec").is_none()),
        "the controller never writes spec"
    );
    let reasons = h.event_reasons();
    for expected in ["PlanRecorded", "Promoted", "Verified"] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "missing Event {expected}: {reasons:?}"
        );
    }
    assert_eq!(
        h.sim
            .control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
    let metrics = h.ctx.metrics.encode();
    assert!(
        metrics.lines().any(|l| l.contains("databricks_requests")
            && l.contains("/api/2.1/unity-catalog/models/{full_name}/aliases/{alias}")
            && l.contains("success")),
        "Databricks calls are counted by route template and outcome:\n{metrics}"
    );

    // Steady state: the first reconcile after Ready is a full check that finds nothing to do
    // and records so in status; the next writes neither status nor the workspace.
    h.reconcile().await.expect("reconcile");
    let before = h.seen().len();
    h.sim.control().clear_calls();
    h.reconcile().await.expect("reconcile");
    assert!(
        h.seen()[before..]
            .iter()
            .all(|s| !s.path.ends_with("/status")),
        "no status write when nothing changed"
    );
    assert!(h.sim.control().writes().is_empty());
}

#[tokio::test]
async fn a_cross_namespace_target_is_refused_unless_allowed() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    release["spec"]["targetRef"]["namespace"] = json!("platform");
    let h = harness(release, true, settings()).await;
    h.reconcile().await.expect("reconcile");
    let stalled = h.condition("Stalled").expect("Stalled");
    assert_eq!(stalled["status"], "True");
    assert_eq!(
        h.condition("TargetResolved").map(|c| c["reason"].clone()),
        Some(json!("CrossNamespaceRefDenied"))
    );
    assert!(
        !h.seen().iter().any(|s| s.path.contains("/secrets/")),
        "no Secret is read"
    );
    assert!(h.sim.control().calls().is_empty());
}

#[tokio::test]
async fn a_missing_secret_is_a_clear_stalled_reason() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    let h = harness(release, false, settings()).await;
    h.reconcile().await.expect("reconcile");
    assert_eq!(
        h.condition("TargetResolved").map(|c| c["reason"].clone()),
        Some(json!("CredentialsMissing"))
    );
    assert_eq!(
        h.condition("Ready").map(|c| c["status"].clone()),
        Some(json!("False"))
    );
    assert!(h.sim.control().calls().is_empty());
}

#[tokio::test]
async fn a_suspended_release_never_touches_the_workspace() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    release["spec"]["policy"]["suspend"] = json!(true);
    release["spec"]["policy"]["suspendReason"] = json!("change freeze");
    let h = harness(release, true, settings()).await;
    h.reconcile().await.expect("reconcile");
    let suspended = h.condition("Suspended").expect("Suspended");
    assert_eq!(suspended["status"], "True");
    assert!(
        suspended["message"]
            .as_str()
            .is_some_and(|m| m.contains("change freeze")),
        "{suspended}"
    );
    assert!(
        h.sim.control().calls().is_empty(),
        "{:?}",
        h.sim.control().calls()
    );
}

#[tokio::test]
async fn a_release_queued_again_before_its_status_came_back_is_not_written_twice() {
    let mut release = sample_release();
    release["spec"]["policy"]["suspend"] = json!(true);
    let h = harness(release, true, settings()).await;
    // The cache's handle from before the first write, as a release queued again by its
    // target's change sees it while the watch has not brought its status back yet.
    let stale = Arc::new(ReleaseHandle::of((*h.stored()).clone()));
    reconciler::reconcile(stale.clone(), h.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(h.seen().len(), 1, "{:?}", h.seen());
    // Again from the same stale handle: nothing is written, and it looks again soon.
    let action = reconciler::reconcile(stale, h.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(h.seen().len(), 1, "written twice: {:?}", h.seen());
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(2))
    );
    // From a handle that has its status back, all is as usual: nothing to write.
    h.reconcile_handle().await.expect("reconcile");
    assert_eq!(h.seen().len(), 1, "{:?}", h.seen());
}

#[tokio::test]
async fn a_new_suspended_release_gets_its_status_in_one_write_and_the_finalizer_when_resumed() {
    let mut release = sample_release();
    release["spec"]["policy"]["suspend"] = json!(true);
    let h = harness(release, true, settings()).await;
    h.reconcile_handle().await.expect("reconcile");
    let seen = h.seen();
    // From the handle alone: no read of the release, no Event (it was created suspended).
    assert_eq!(seen.len(), 1, "one request, the status write: {seen:?}");
    assert_eq!(seen[0].method, "PATCH", "{seen:?}");
    assert!(seen[0].path.ends_with("/status"), "{seen:?}");
    assert_eq!(
        h.condition("Suspended").expect("Suspended")["status"],
        "True"
    );
    // Looked at again (a resync): nothing changed, nothing is sent.
    h.reconcile_handle().await.expect("reconcile");
    assert_eq!(h.seen().len(), 1, "{:?}", h.seen());

    // Resumed: the finalizer comes first, before anything reaches the workspace.
    h.fake.lock().expect("lock").release["spec"]["policy"]["suspend"] = json!(false);
    h.reconcile_handle().await.expect("reconcile");
    let seen = h.seen();
    let last = seen.last().expect("a write");
    assert!(last.body.to_string().contains(FINALIZER), "{seen:?}");
    assert!(
        h.sim.control().calls().is_empty(),
        "the workspace is not touched before the finalizer"
    );
}

#[tokio::test]
async fn an_object_that_does_not_decode_is_reported_and_does_not_fail_the_controller() {
    let mut release = sample_release();
    release["spec"]["version"] = json!("seven");
    let h = harness(release, true, settings()).await;
    h.reconcile()
        .await
        .expect("an undecodable object is not a reconcile error");
    assert_eq!(
        h.condition("Stalled").map(|c| c["reason"].clone()),
        Some(json!("InvalidSpec"))
    );
    assert!(
        h.event_reasons().iter().any(|r| r == "InvalidSpec"),
        "{:?}",
        h.event_reasons()
    );
    assert!(h.sim.control().calls().is_empty());
}

async fn ready_then_deleted(policy: &str) -> Harness {
    let h = ready_with_policy(policy).await;
    mark_deleted(&h);
    h.reconcile().await.expect("cleanup");
    h
}

fn mark_deleted(h: &Harness) {
    h.fake.lock().expect("lock").release["metadata"]["deletionTimestamp"] =
        json!("2026-11-24T00:00:00Z");
}

/// The sample release with the finalizer and deletion policy `policy`, Ready.
async fn ready_with_policy(policy: &str) -> Harness {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    release["spec"]["policy"]["deletion"] = json!(policy);
    let h = harness(release, true, settings()).await;
    for _ in 0..200 {
        h.reconcile().await.expect("reconcile");
        if h.condition("Ready").is_some_and(|c| c["status"] == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        h.condition("Ready").map(|c| c["status"].clone()),
        Some(json!("True"))
    );
    h
}

fn finalizer_removed(h: &Harness) -> bool {
    h.fake.lock().expect("lock").release["metadata"]["finalizers"]
        .as_array()
        .is_some_and(Vec::is_empty)
}

#[tokio::test]
async fn deletion_with_policy_delete_removes_what_the_release_created_then_the_finalizer() {
    let h = ready_then_deleted("Delete").await;
    let c = h.sim.control();
    assert_eq!(
        c.model_alias("main.agents.skyloyalty", "champion"),
        None,
        "the alias this release set is removed"
    );
    assert!(
        c.app("skyloyalty-agent")
            .is_none_or(|a| a["compute_status"]["state"] == "DELETING"),
        "the app this release created is deleted"
    );
    assert!(
        c.endpoint("skyloyalty-endpoint").is_none(),
        "the endpoint this release created is deleted"
    );
    assert!(finalizer_removed(&h), "the finalizer goes last");
}

#[tokio::test]
async fn deletion_with_policy_retain_leaves_the_workspace_and_removes_the_finalizer() {
    let h = ready_then_deleted("Retain").await;
    let c = h.sim.control();
    assert_eq!(
        c.model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
    assert!(
        c.app("skyloyalty-agent")
            .is_some_and(|a| a["compute_status"]["state"] == "ACTIVE")
    );
    assert!(c.endpoint("skyloyalty-endpoint").is_some());
    assert!(finalizer_removed(&h));
}

#[tokio::test]
async fn a_deletion_waits_for_the_release_lock_another_writer_holds_and_keeps_the_finalizer() {
    let h = ready_with_policy("Delete").await;
    let c = h.sim.control();
    let ci = agentrelease::databricks_adapter::ClientWorkspace::new(
        agentrelease_databricks::Client::builder(h.sim.url())
            .credentials(agentrelease_databricks::Credentials::Pat(
                agentrelease_databricks::SecretString::new("dapi-sample-token"),
            ))
            .allow_insecure_http(true)
            .build()
            .expect("client"),
    );
    let lock = agentrelease::engine::lock::path(
        agentrelease::engine::ledger::DEFAULT_ROOT,
        "main.agents.skyloyalty",
        "champion",
    );
    agentrelease::engine::lock::take(&ci, &lock, "ci-run", "agents/other", jiff::Timestamp::now())
        .await
        .expect("CI holds the lock");
    mark_deleted(&h);
    let waiting = h.reconcile().await;
    assert!(
        matches!(
            &waiting,
            Err(reconciler::ReconcileError::CleanupLocked { message }) if message.contains("ci-run")
        ),
        "{waiting:?}"
    );
    assert!(
        h.event_reasons().iter().any(|r| r == "CleanupWaiting"),
        "{:?}",
        h.event_reasons()
    );
    assert!(!finalizer_removed(&h), "the finalizer stays while it waits");
    assert_eq!(
        c.model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );

    agentrelease::engine::lock::give_back(&ci, &lock, "ci-run")
        .await
        .expect("give back");
    h.reconcile().await.expect("cleanup");
    assert!(finalizer_removed(&h));
    assert_eq!(c.model_alias("main.agents.skyloyalty", "champion"), None);
    assert!(h.event_reasons().iter().any(|r| r == "CleanedUp"));
}

#[tokio::test]
async fn deleting_a_retain_release_whose_secret_is_gone_removes_the_finalizer_with_a_warning() {
    let h = ready_with_policy("Retain").await;
    h.fake.lock().expect("lock").secret = None;
    mark_deleted(&h);
    h.reconcile()
        .await
        .expect("a Retain deletion is not held up");
    assert!(finalizer_removed(&h));
    assert!(
        h.event_reasons().iter().any(|r| r == "CleanupIncomplete"),
        "{:?}",
        h.event_reasons()
    );
    let c = h.sim.control();
    assert_eq!(
        c.model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
}

async fn check_target(secret_token: Option<&str>) -> (Harness, Value) {
    let h = harness(sample_release(), secret_token.is_some(), settings()).await;
    if let Some(token) = secret_token {
        h.fake.lock().expect("lock").secret = Some(secret(token));
    }
    let ctx = Arc::new(agentrelease::kube::target_status::TargetContext {
        client: h.ctx.client.clone(),
        factory: h.ctx.factory.clone(),
        allowed_hosts: Default::default(),
    });
    let target = Arc::new(DeserializeGuard(Ok(target(&h.sim.url()))));
    agentrelease::kube::target_status::reconcile(target, ctx)
        .await
        .expect("check");
    let patch = h
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("/releasetargets/prod/status"))
        .map(|s| s.body["status"].clone())
        .expect("a status patch");
    (h, patch)
}

fn target_condition(status: &Value, type_: &str) -> (String, String) {
    let c = status["conditions"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["type"] == type_))
        .cloned()
        .unwrap_or_default();
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_target_with_good_credentials_is_ready_and_names_its_principal() {
    let (_h, status) = check_target(Some("dapi-sample-token")).await;
    assert_eq!(target_condition(&status, "CredentialsValid").0, "True");
    assert_eq!(target_condition(&status, "Ready").0, "True");
    assert_eq!(status["principal"], "ml-lead@skyloyalty.example");
}

#[tokio::test]
async fn a_target_with_a_refused_token_or_no_secret_is_not_ready_with_the_reason() {
    let (_h, status) = check_target(Some("dapi-revoked")).await;
    assert_eq!(
        target_condition(&status, "Ready"),
        ("False".to_string(), "Unauthenticated".to_string())
    );
    let (_h, status) = check_target(None).await;
    assert_eq!(
        target_condition(&status, "CredentialsValid"),
        ("False".to_string(), "CredentialsMissing".to_string())
    );
}

#[tokio::test]
async fn an_approval_in_the_namespace_releases_a_release_that_requires_one() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    release["spec"]["policy"]["approval"] = json!("Required");
    let mut h = harness(release, true, settings()).await;
    let approved = h.held_for_approval().await;
    assert_eq!(approved["status"], "False", "{approved}");
    assert_eq!(approved["reason"], "AwaitingApproval");
    assert_eq!(
        h.fake.lock().expect("lock").release["status"]["phase"],
        "AwaitingApproval"
    );
    assert!(h.sim.control().writes().is_empty(), "nothing written");

    // Someone approves another model version, then this one's identity (as `kubectl
    // agentrelease approve` does, from status).
    let identity = h.fake.lock().expect("lock").release["status"]["identity"]["digest"]
        .as_str()
        .expect("status.identity while awaiting approval")
        .to_string();
    for (name, model_version) in [("other-version", "11"), ("skyloyalty-v7-approval", "12")] {
        let mut approval = agentrelease_api::AgentReleaseApproval::new(
            name,
            agentrelease_api::AgentReleaseApprovalSpec {
                release: "skyloyalty-v7".into(),
                n: 7,
                model_version: model_version.into(),
                approved_by: "alice@example.com".into(),
                comment: Some("soaked on staging".into()),
                identity: Some(identity.clone()),
            },
        );
        approval.metadata.namespace = Some(NS.into());
        h.approvals
            .apply_watcher_event(&watcher::Event::Apply(DeserializeGuard(Ok(approval))));
        if model_version == "11" {
            h.reconcile().await.expect("reconcile");
            assert_eq!(
                h.condition("Approved").map(|c| c["reason"].clone()),
                Some(json!("AwaitingApproval"))
            );
            assert!(h.sim.control().writes().is_empty());
        }
    }
    for _ in 0..200 {
        h.reconcile().await.expect("reconcile");
        if h.condition("Ready").is_some_and(|c| c["status"] == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        h.condition("Ready").map(|c| c["status"].clone()),
        Some(json!("True"))
    );
    let status = h.fake.lock().expect("lock").release["status"].clone();
    assert_eq!(status["approval"]["approvedBy"], "alice@example.com");
    assert_eq!(status["approval"]["reference"], "skyloyalty-v7-approval");
    assert_eq!(status["approval"]["source"], "AgentReleaseApproval");
    assert_eq!(status["approval"]["comment"], "soaked on staging");
    assert_eq!(status["approval"]["identity"], json!(identity));
}

#[tokio::test]
async fn a_namespace_that_requires_approval_holds_a_release_that_does_not_ask_for_one() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    release["spec"]["policy"]["approval"] = json!("NotRequired");
    let h = harness(release, true, settings()).await;
    h.namespaces
        .lock()
        .expect("lock")
        .apply_watcher_event(&watcher::Event::Apply(namespace(&[(
            "agentops.dev/approval",
            "required",
        )])));
    let approved = h.held_for_approval().await;
    assert_eq!(approved["reason"], "AwaitingApproval", "{approved}");
    assert!(
        approved["message"]
            .as_str()
            .is_some_and(|m| m.contains("required by the namespace label")),
        "{approved}"
    );
    assert!(h.sim.control().writes().is_empty(), "nothing written");
}

#[tokio::test]
async fn a_release_whose_namespace_is_not_cached_yet_waits_and_writes_nothing() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    let h = harness(release, true, settings()).await;
    h.namespaces
        .lock()
        .expect("lock")
        .apply_watcher_event(&watcher::Event::Delete(namespace(&[])));
    let action = h.reconcile().await.expect("reconcile");
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(2))
    );
    assert!(h.seen().is_empty(), "{:?}", h.seen());
    assert!(h.sim.control().calls().is_empty());
}

#[tokio::test]
async fn a_newer_model_version_is_an_event_a_metric_and_a_status_entry_never_a_spec_change() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    let h = harness(release, true, settings()).await;
    h.sim
        .control()
        .register_model_version(
            "main.agents.skyloyalty",
            13,
            Some("m-0123456789abcdef0123456789abcdef"),
            "READY",
        )
        .expect("v13");
    for _ in 0..200 {
        h.reconcile().await.expect("reconcile");
        if h.condition("Ready").is_some_and(|c| c["status"] == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.reconcile().await.expect("reconcile");
    let stored = h.fake.lock().expect("lock").release.clone();
    assert_eq!(stored["status"]["newerVersions"][0]["version"], 13);
    assert_eq!(stored["spec"]["model"]["version"], 12, "spec untouched");
    let events = h.event_reasons();
    assert_eq!(
        events.iter().filter(|r| *r == "NewModelVersion").count(),
        1,
        "{events:?}"
    );
    let metrics = h.ctx.metrics.encode();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("agentrelease_new_model_versions_total")
                && l.contains("main.agents.skyloyalty")
                && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "agentrelease_releases_with_newer_model_versions 1"),
        "{metrics}"
    );
}

/// The staging release of the same agent, N and model version, as the cache holds it.
fn staging_release(status: Value) -> AgentRelease {
    let mut v = sample_release();
    v["metadata"]["name"] = json!("skyloyalty-v7-staging");
    v["metadata"]["uid"] = json!("6d1f0b9e-0000-4000-8000-000000000070");
    v["spec"]["targetRef"]["name"] = json!("staging");
    v["status"] = status;
    serde_json::from_value(v).expect("staging release")
}

fn staging_ready_since(at: &str) -> Value {
    json!({"observedGeneration": 1, "phase": "Ready", "conditions": [
        {"type": "Ready", "status": "True", "reason": "Released", "message": "released",
         "lastTransitionTime": at, "observedGeneration": 1}]})
}

impl Harness {
    fn cache(&self, release: AgentRelease) {
        self.releases
            .lock()
            .expect("lock")
            .apply_watcher_event(&watcher::Event::Apply(ReleaseHandle::of(DeserializeGuard(
                Ok(release),
            ))));
    }
}

fn requiring_staging(soak: &str) -> Value {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    release["spec"]["promotion"] = json!({"requires": [{"targetRef": "staging", "soak": soak}]});
    release
}

#[tokio::test]
async fn a_prod_release_waits_for_staging_in_the_cache_and_writes_nothing() {
    let h = harness(requiring_staging("1h"), true, settings()).await;
    // No staging release at all, then one that is still deploying.
    for status in [
        None,
        Some(json!({"observedGeneration": 1, "phase": "Deploying"})),
    ] {
        if let Some(status) = status {
            h.cache(staging_release(status));
        }
        let action = h.reconcile().await.expect("reconcile");
        let c = h.condition("UpstreamVerified").expect("UpstreamVerified");
        assert_eq!(c["status"], "False", "{c}");
        assert_eq!(c["reason"], "UpstreamNotReleased", "{c}");
        assert_eq!(
            action,
            kube::runtime::controller::Action::requeue(Duration::from_secs(30))
        );
    }
    assert!(
        h.sim.control().writes().is_empty(),
        "nothing is written while staging is not Verified: {:?}",
        h.sim.control().writes()
    );

    // Verified ten minutes ago: soaking, looked at again when the soak ends.
    let ten_minutes_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(600);
    h.cache(staging_release(staging_ready_since(
        &agentrelease_api::condition::truncate_to_seconds(ten_minutes_ago).to_string(),
    )));
    h.reconcile().await.expect("reconcile");
    let c = h.condition("UpstreamVerified").expect("UpstreamVerified");
    assert_eq!(c["reason"], "UpstreamSoaking", "{c}");
    assert!(c["message"].as_str().unwrap_or("").contains("left"), "{c}");
    assert!(h.sim.control().writes().is_empty());
}

#[tokio::test]
async fn prod_proceeds_after_staging_soaked_and_warns_when_staging_rolls_back() {
    let h = harness(requiring_staging("1h"), true, settings()).await;
    h.cache(staging_release(staging_ready_since("2026-01-01T00:00:00Z")));
    for _ in 0..200 {
        h.reconcile().await.expect("reconcile");
        if h.condition("Ready").is_some_and(|c| c["status"] == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ready = h.condition("Ready").expect("Ready");
    assert_eq!(ready["status"], "True", "{ready}");
    let c = h.condition("UpstreamVerified").expect("UpstreamVerified");
    assert_eq!(c["status"], "True", "{c}");

    // Staging is rolled back after prod was released: a Warning, prod stays Ready and its
    // alias stays where it is.
    h.cache(staging_release(json!({"observedGeneration": 1, "phase": "RolledBack",
        "rollback": {"fromVersion": 12, "reason": "verification failed", "at": "2026-01-02T00:00:00Z",
                     "generation": 1, "fingerprint": "f"}})));
    h.sim.control().clear_calls();
    h.reconcile().await.expect("reconcile");
    h.reconcile().await.expect("reconcile");
    let warnings: Vec<Seen> = h
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/events") && s.body["reason"] == "UpstreamRolledBack")
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one Warning, not one per pass: {warnings:?}"
    );
    assert_eq!(warnings[0].body["type"], "Warning");
    assert_eq!(
        h.condition("Ready").map(|c| c["status"].clone()),
        Some(json!("True"))
    );
    assert_eq!(
        h.sim
            .control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
    assert!(
        h.sim.control().writes().is_empty(),
        "no automatic prod change"
    );
}

#[tokio::test]
async fn with_follow_upstream_rollback_the_controller_rolls_prod_back_after_staging() {
    let mut release = requiring_staging("0s");
    release["spec"]["policy"]["followUpstreamRollback"] = json!(true);
    let h = harness(release, true, settings()).await;
    h.cache(staging_release(staging_ready_since("2026-01-01T00:00:00Z")));
    for _ in 0..200 {
        h.reconcile().await.expect("reconcile");
        if h.condition("Ready").is_some_and(|c| c["status"] == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        h.sim
            .control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
    h.cache(staging_release(json!({"observedGeneration": 1, "phase": "RolledBack",
        "rollback": {"fromVersion": 12, "reason": "verification failed", "at": "2026-01-02T00:00:00Z",
                     "generation": 1, "fingerprint": "f"}})));
    let _ = h.reconcile().await;
    let c = h.condition("UpstreamVerified").expect("UpstreamVerified");
    assert_eq!(c["reason"], "RolledBack", "{c}");
    assert!(
        h.event_reasons().iter().any(|r| r == "UpstreamRolledBack"),
        "{:?}",
        h.event_reasons()
    );
    assert_eq!(
        h.sim
            .control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(11),
        "prod followed staging back"
    );
}

#[tokio::test]
async fn a_missing_app_credentials_secret_is_credentials_missing_naming_it() {
    let mut release = sample_release();
    release["metadata"]["finalizers"] = json!([FINALIZER]);
    let h = harness_with_target(release, true, settings(), |t| {
        t.spec.app_credentials = vec![agentrelease_api::target::AppCredentialsRef {
            app: "skyloyalty-agent".into(),
            secret_name: "skyloyalty-agent-sp".into(),
        }];
    })
    .await;
    h.reconcile().await.expect("reconcile");
    let c = h.condition("TargetResolved").expect("TargetResolved");
    assert_eq!(c["reason"], json!("CredentialsMissing"));
    let m = c["message"].as_str().unwrap_or_default();
    assert!(
        m.contains("agents/skyloyalty-agent-sp")
            && m.contains("appCredentials of app skyloyalty-agent"),
        "{m}"
    );
    assert!(
        h.seen()
            .iter()
            .any(|s| s.method == "GET" && s.path.ends_with("/secrets/skyloyalty-agent-sp")),
        "the app's Secret was read"
    );
    assert!(h.sim.control().calls().is_empty());
}
