//! The operator against a real API server (`E2E_KUBECONFIG`), out of cluster, with the workspace
//! simulator. Skipped (with a message) when `E2E_KUBECONFIG` is not set.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrelease::databricks_adapter::ClientFactory;
use agentrelease::kube::run::{ControllerArgs, run_with_client};
use agentrelease::telemetry::metrics::Metrics;
use agentrelease_api::AgentRelease;
use agentrelease_sim::{RunningSim, Seed, SimConfig, Simulator};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const MANAGER: &str = "agentrelease-e2e";
const MODEL: &str = "main.agents.skyloyalty";

fn kubeconfig() -> Option<PathBuf> {
    let path = std::env::var_os("E2E_KUBECONFIG").map(PathBuf::from);
    if path.is_none() {
        eprintln!(
            "skipped: set E2E_KUBECONFIG to a kubeconfig file to run the end-to-end suite (see e2e/README.md)"
        );
    }
    path
}

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

fn sample(name: &str) -> Value {
    samples_in(name).into_iter().next().expect("a document")
}

/// Every document of a sample file (the credentials file holds prod's and staging's Secret).
fn samples_in(name: &str) -> Vec<Value> {
    serde_saphyr::from_str_multiple::<Value, Vec<Value>>(
        &std::fs::read_to_string(samples().join(name)).expect("read sample"),
    )
    .expect("parse sample")
}

async fn client(path: &PathBuf) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(path).expect("read E2E_KUBECONFIG");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    Client::try_from(config).expect("client")
}

async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in agentrelease_api::crds() {
        let name = crd.metadata.name.clone().expect("crd name");
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("apply CRD");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = api.get(&name).await.expect("get CRD");
            let established = got.status.and_then(|s| s.conditions).is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            assert!(Instant::now() < deadline, "CRD {name} not Established");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// One test's world: a namespace, a simulator, the controller.
struct World {
    client: Client,
    ns: String,
    sim: RunningSim,
    controller: Option<(watch::Sender<bool>, JoinHandle<()>)>,
    /// Where the controller serves the timeline page, when set before it starts.
    ui_addr: Option<std::net::SocketAddr>,
}

impl World {
    async fn new(path: &PathBuf, label: &str, time_scale: f64) -> World {
        let client = client(path).await;
        install_crds(&client).await;
        let ns = format!(
            "ar-e2e-{label}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": ns}})).expect("ns");
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create namespace");
        let seed = Seed::from_yaml_file(&samples().join("workspace-seed.yaml")).expect("seed");
        let sim = Simulator::start(SimConfig {
            seed: Some(seed),
            time_scale,
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        World {
            client,
            ns,
            sim,
            controller: None,
            ui_addr: None,
        }
    }

    fn releases(&self) -> Api<AgentRelease> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    async fn apply(&self, api_version_kind_plural: (&str, &str), mut obj: Value) {
        obj["metadata"]["namespace"] = json!(self.ns);
        let name = obj["metadata"]["name"].as_str().expect("name").to_string();
        let (group_version, plural) = api_version_kind_plural;
        let path = if group_version == "v1" {
            format!(
                "/api/v1/namespaces/{}/{plural}/{name}?fieldManager={MANAGER}&force=true",
                self.ns
            )
        } else {
            format!(
                "/apis/{group_version}/namespaces/{}/{plural}/{name}?fieldManager={MANAGER}&force=true",
                self.ns
            )
        };
        let req = http::Request::patch(path)
            .header("Content-Type", "application/apply-patch+yaml")
            .body(serde_json::to_vec(&obj).expect("json"))
            .expect("request");
        self.client.request_text(req).await.expect("apply object");
    }

    /// The samples, pointed at this world's simulator.
    async fn apply_samples(&self, release: impl FnOnce(&mut Value)) {
        for secret in samples_in("credentials-secret.yaml") {
            self.apply(("v1", "secrets"), secret).await;
        }
        let mut target = sample("releasetarget.yaml");
        target["spec"]["host"] = json!(self.sim.url());
        target["spec"]["allowInsecureHttp"] = json!(true);
        self.apply(("agentops.dev/v1alpha1", "releasetargets"), target)
            .await;
        let mut r = sample("agentrelease.yaml");
        // The prod sample on its own: its stage requirement (staging first) is covered by the
        // controller scenarios and the engine tests on the simulator.
        if let Some(spec) = r["spec"].as_object_mut() {
            spec.remove("promotion");
        }
        release(&mut r);
        self.apply(("agentops.dev/v1alpha1", "agentreleases"), r)
            .await;
    }

    /// The arguments of a controller watching this world's namespace as `identity`.
    fn controller_args(&self, identity: &str) -> ControllerArgs {
        ControllerArgs {
            namespaces: vec![self.ns.clone()],
            selector: None,
            metrics_addr: "127.0.0.1:0".parse().expect("addr"),
            ui_addr: self.ui_addr,
            concurrency: 2,
            workspace_concurrency: 2,
            shard: None,
            kube_qps: 0.0,
            kube_burst: 100,
            leader_elect: false,
            lease_name: "agentrelease-e2e".into(),
            lease_namespace: Some(self.ns.clone()),
            identity: Some(identity.into()),
            allow_cross_namespace_refs: false,
            lease_duration: 15,
            allow_resolved_addresses: Vec::new(),
            allowed_workspace_hosts: Vec::new(),
            secret_namespaces: Vec::new(),
        }
    }

    /// Starts a controller with `args`; send `true` to stop it.
    fn spawn_controller(&self, args: ControllerArgs) -> (watch::Sender<bool>, JoinHandle<()>) {
        let metrics = Arc::new(Metrics::new());
        let factory = ClientFactory::with_metrics(metrics.clone());
        self.spawn_controller_with(args, factory, metrics)
    }

    /// Starts a controller with `args` and its own workspace client factory.
    fn spawn_controller_with(
        &self,
        args: ControllerArgs,
        factory: ClientFactory,
        metrics: Arc<Metrics>,
    ) -> (watch::Sender<bool>, JoinHandle<()>) {
        let factory = Arc::new(factory);
        let (tx, rx) = watch::channel(false);
        let client = self.client.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = run_with_client(client, args, factory, metrics, rx).await {
                eprintln!("controller stopped: {e:#}");
            }
        });
        (tx, task)
    }

    fn start_controller(&mut self) {
        let running = self.spawn_controller(self.controller_args("e2e"));
        self.controller = Some(running);
    }

    async fn stop_controller(&mut self) {
        if let Some((tx, task)) = self.controller.take() {
            let _ = tx.send(true);
            task.abort();
            let _ = task.await;
        }
    }

    async fn wait(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&AgentRelease) -> bool,
    ) -> AgentRelease {
        self.wait_for("skyloyalty-v7", what, timeout, pred).await
    }

    /// Waits until the release `name` satisfies `pred`.
    async fn wait_for(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&AgentRelease) -> bool,
    ) -> AgentRelease {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(r)) = self.releases().get_opt(name).await
                && pred(&r)
            {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {name}: {what}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn teardown(mut self) {
        self.stop_controller().await;
        // Let the namespace go even if a finalizer is left behind.
        let left = self.releases().list(&Default::default()).await;
        for r in left.map(|l| l.items).unwrap_or_default() {
            let name = r.metadata.name.unwrap_or_default();
            let _ = self
                .releases()
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await;
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces.delete(&self.ns, &DeleteParams::default()).await;
    }
}

fn condition(r: &AgentRelease, type_: &str) -> Option<(String, String)> {
    r.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (format!("{:?}", c.status), c.reason.clone()))
}

fn is(r: &AgentRelease, type_: &str, status: &str) -> bool {
    condition(r, type_).is_some_and(|(s, _)| s == status)
}

#[tokio::test]
async fn the_samples_reach_ready_with_columns_and_events() {
    let Some(path) = kubeconfig() else { return };
    let mut w = World::new(&path, "ready", 2000.0).await;
    w.apply_samples(|_| {}).await;
    w.start_controller();
    let r = w
        .wait("Ready", Duration::from_secs(120), |r| {
            is(r, "Ready", "True")
        })
        .await;
    let status = r.status.clone().expect("status");
    assert_eq!(status.observed_generation, r.metadata.generation);
    assert_eq!(status.promoted_version, Some(12));
    assert!(!is(&r, "Reconciling", "True") || !is(&r, "Stalled", "True"));
    assert_eq!(w.sim.control().model_alias(MODEL, "champion"), Some(12));

    // `kubectl get ar` columns.
    let req = http::Request::get(format!(
        "/apis/agentops.dev/v1alpha1/namespaces/{}/agentreleases",
        w.ns
    ))
    .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
    .body(Vec::new())
    .expect("request");
    let table: Value =
        serde_json::from_str(&w.client.request_text(req).await.expect("table")).expect("json");
    let columns: Vec<String> = table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    for c in [
        "Target", "N", "Model", "Version", "Alias", "Phase", "Ready", "Age",
    ] {
        assert!(
            columns.iter().any(|x| x == c),
            "column {c} missing from {columns:?}"
        );
    }
    let cells = table["rows"][0]["cells"].to_string();
    assert!(
        cells.contains("prod") && cells.contains("champion") && cells.contains("True"),
        "{cells}"
    );

    // The target's own status: the credentials were checked.
    let targets: Api<agentrelease_api::ReleaseTarget> = Api::namespaced(w.client.clone(), &w.ns);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = targets.get("prod").await.expect("target");
        let ready = t
            .status
            .as_ref()
            .and_then(|s| agentrelease_api::condition::find(&s.conditions, "Ready").cloned());
        if ready.is_some_and(|c| c.is_true()) {
            assert_eq!(
                t.status.and_then(|s| s.principal).as_deref(),
                Some("ml-lead@skyloyalty.example")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ReleaseTarget prod never became Ready"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(w.client.clone(), &w.ns);
    let reasons: Vec<String> = events
        .list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    for reason in ["Promoted", "Verified"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "Event {reason} missing from {reasons:?}"
        );
    }
    w.teardown().await;
}

#[tokio::test]
async fn a_rejected_signoff_stalls_with_its_reason() {
    let Some(path) = kubeconfig() else { return };
    let mut w = World::new(&path, "rejected", 2000.0).await;
    w.sim
        .control()
        .put_file(
            "/Volumes/main/agents/signoffs/v7/decision.md",
            "---\nversion: 7\nengineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
        )
        .expect("signoff");
    w.apply_samples(|_| {}).await;
    w.start_controller();
    let r = w
        .wait("Stalled", Duration::from_secs(60), |r| {
            is(r, "Stalled", "True")
        })
        .await;
    assert_eq!(
        condition(&r, "SignoffApproved").map(|c| c.1),
        Some("SignoffRejected".into())
    );
    assert_eq!(w.sim.control().model_alias(MODEL, "champion"), Some(11));
    assert!(w.sim.control().writes().is_empty());
    w.teardown().await;
}

#[tokio::test]
async fn suspend_and_drift_correction() {
    let Some(path) = kubeconfig() else { return };
    let mut w = World::new(&path, "drift", 2000.0).await;
    w.apply_samples(|_| {}).await;
    w.start_controller();
    w.wait("Ready", Duration::from_secs(120), |r| {
        is(r, "Ready", "True")
    })
    .await;

    w.sim
        .control()
        .set_model_alias(MODEL, "champion", 11)
        .expect("drift");
    let at = "2026-11-24T00:00:00Z";
    w.releases()
        .patch(
            "skyloyalty-v7",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {agentrelease_api::RECONCILE_REQUESTED_AT: at}}})),
        )
        .await
        .expect("annotate");
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.sim.control().model_alias(MODEL, "champion") != Some(12) {
        assert!(Instant::now() < deadline, "drift not corrected");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    w.wait("the request echoed", Duration::from_secs(30), |r| {
        r.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
            == Some(at)
    })
    .await;

    w.releases()
        .patch(
            "skyloyalty-v7",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"policy": {"suspend": true, "suspendReason": "freeze"}}}),
            ),
        )
        .await
        .expect("suspend");
    w.wait("Suspended", Duration::from_secs(30), |r| {
        is(r, "Suspended", "True")
    })
    .await;
    w.sim.control().clear_calls();
    w.sim
        .control()
        .set_model_alias(MODEL, "champion", 11)
        .expect("drift while suspended");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        w.sim.control().calls().is_empty(),
        "a suspended release does not touch the workspace"
    );
    assert_eq!(w.sim.control().model_alias(MODEL, "champion"), Some(11));
    w.teardown().await;
}

/// The `agentrelease` binary, built if need be, linked as `kubectl-agentrelease` (the name it
/// answers to as a kubectl plugin).
fn plugin_binary(dir: &std::path::Path) -> PathBuf {
    let bin = match std::env::var_os("E2E_AGENTRELEASE_BIN") {
        Some(b) => PathBuf::from(b),
        None => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "-q", "-p", "agentrelease", "--bin", "agentrelease"])
                .status()
                .expect("run cargo build");
            assert!(status.success(), "cargo build -p agentrelease failed");
            // target/debug/deps/<this test> -> target/debug/agentrelease
            let exe = std::env::current_exe().expect("test binary path");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("target dir")
                .join("agentrelease")
        }
    };
    assert!(bin.exists(), "{} does not exist", bin.display());
    let link = dir.join("kubectl-agentrelease");
    std::os::unix::fs::symlink(&bin, &link).expect("link the plugin");
    link
}

/// Runs the plugin; returns its exit code, stdout and stderr.
async fn plugin(
    bin: &std::path::Path,
    kubeconfig: &PathBuf,
    ns: &str,
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(bin);
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["-n", ns])
        .args(args)
        .env_remove("KUBECONFIG");
    // Off the runtime's thread: the controller under test keeps running meanwhile.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run the plugin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_kubectl_plugin_shows_and_steers_a_release() {
    let Some(path) = kubeconfig() else { return };
    let dir = std::env::temp_dir().join(format!("ar-e2e-plugin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bin = plugin_binary(&dir);
    let mut w = World::new(&path, "plugin", 2000.0).await;
    let ui_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("addr")
    };
    w.ui_addr = Some(ui_addr);
    w.apply_samples(|_| {}).await;
    w.start_controller();
    w.wait("Ready", Duration::from_secs(120), |r| {
        is(r, "Ready", "True")
    })
    .await;
    let ns = w.ns.clone();
    let run = |args: &'static [&'static str]| plugin(&bin, &path, &ns, args);

    let (code, tree, err) = run(&["get", "skyloyalty-v7"]).await;
    assert_eq!(code, 0, "{err}");
    for needle in [
        "Phase:      ✓ Ready (Released",
        "├── ✓ EvaluationPassed",
        "answer_correctness",
        "✓ engineering  APPROVED by eng-lead@skyloyalty.example",
        "main.agents.skyloyalty@champion 11 → 12",
        "plan v",
        "run deploy_",
    ] {
        assert!(tree.contains(needle), "{needle} missing:\n{tree}");
    }
    assert!(
        !tree.contains('\u{1b}'),
        "no colour off a terminal:\n{tree}"
    );
    let (code, list, _) = run(&["get"]).await;
    assert_eq!(code, 0);
    assert!(
        list.lines()
            .any(|l| l.starts_with("skyloyalty-v7") && l.contains("Ready")),
        "{list}"
    );
    let (code, json_out, _) = run(&["get", "skyloyalty-v7", "-o", "json"]).await;
    assert_eq!(code, 0);
    let obj: Value = serde_json::from_str(&json_out).expect("-o json");
    assert_eq!(obj["status"]["phase"], "Ready");
    let (code, yaml_out, _) = run(&["get", "skyloyalty-v7", "-o", "yaml"]).await;
    assert_eq!(code, 0);
    assert!(yaml_out.contains("kind: AgentRelease"), "{yaml_out}");
    let (code, why, _) = run(&["why", "skyloyalty-v7"]).await;
    assert_eq!(code, 0);
    assert!(why.contains("skyloyalty-v7 is Ready (Released)"), "{why}");
    let (code, history, _) = run(&["history", "skyloyalty-v7"]).await;
    assert_eq!(code, 0);
    assert!(
        history
            .lines()
            .any(|l| l.contains("skyloyalty-v7") && l.contains("Released")),
        "{history}"
    );

    let (code, out, err) = run(&["suspend", "skyloyalty-v7", "--reason", "change freeze"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let r = w
        .wait("Suspended", Duration::from_secs(30), |r| {
            is(r, "Suspended", "True")
        })
        .await;
    assert!(r.spec.policy.suspend);
    assert_eq!(
        r.spec.policy.suspend_reason.as_deref(),
        Some("change freeze")
    );
    let (_, why, _) = run(&["why", "skyloyalty-v7"]).await;
    assert!(why.contains("Suspended is True (Suspended)"), "{why}");
    assert!(
        why.contains("What to do:    set it to false to resume"),
        "{why}"
    );

    let (code, out, err) = run(&["resume", "skyloyalty-v7", "--reason", "freeze over"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let r = w
        .wait("resumed", Duration::from_secs(30), |r| {
            !is(r, "Suspended", "True")
        })
        .await;
    assert!(!r.spec.policy.suspend);
    assert_eq!(r.spec.policy.suspend_reason, None);
    assert_eq!(
        r.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("agentops.dev/resume-reason"))
            .map(String::as_str),
        Some("freeze over")
    );

    let (code, out, err) = run(&["reconcile", "skyloyalty-v7", "--timeout", "60s"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("agentrelease/skyloyalty-v7 reconciled: Ready=True"),
        "{out}"
    );
    let r = w.releases().get("skyloyalty-v7").await.expect("get");
    let requested = r
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(agentrelease_api::RECONCILE_REQUESTED_AT))
        .cloned();
    assert!(requested.is_some());
    assert_eq!(
        r.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.clone()),
        requested
    );

    // `approve` creates an AgentReleaseApproval when the cluster serves that resource.
    let crds: Api<CustomResourceDefinition> = Api::all(w.client.clone());
    let served = crds
        .get_opt("agentreleaseapprovals.agentops.dev")
        .await
        .expect("get CRD")
        .is_some();
    let (code, out, err) = run(&["approve", "skyloyalty-v7", "--comment", "looks good"]).await;
    if served {
        assert_eq!(code, 0, "{out}{err}");
        let resource = kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("agentops.dev", "v1alpha1", "AgentReleaseApproval"),
            "agentreleaseapprovals",
        );
        let approvals: Api<kube::api::DynamicObject> =
            Api::namespaced_with(w.client.clone(), &w.ns, &resource);
        let identity = w
            .releases()
            .get("skyloyalty-v7")
            .await
            .expect("get")
            .status
            .and_then(|s| s.identity)
            .expect("status.identity")
            .digest;
        let a = approvals
            .get(&format!("skyloyalty-v7-v7-m12-{}", &identity[..8]))
            .await
            .expect("the approval");
        assert_eq!(a.data["spec"]["identity"], identity.as_str());
        assert_eq!(a.data["spec"]["release"], "skyloyalty-v7");
        assert_eq!(a.data["spec"]["n"], 7);
        assert_eq!(a.data["spec"]["modelVersion"], "12");
        assert_eq!(a.data["spec"]["comment"], "looks good");
        assert!(
            !a.data["spec"]["approvedBy"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        );
    } else {
        eprintln!(
            "approve: the cluster has no AgentReleaseApproval CRD; checking the refusal only"
        );
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains("no AgentReleaseApproval resource"), "{err}");
    }
    let (code, _, err) = run(&["get", "no-such-release"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");

    // The controller's timeline page (--ui-addr) shows the release from the cluster; it has no
    // write action.
    let page = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(ui_addr).expect("connect to the timeline page");
        s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .expect("request");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("answer");
        body
    })
    .await
    .expect("join");
    assert!(
        page.starts_with("HTTP/1.0 200") || page.starts_with("HTTP/1.1 200"),
        "{page}"
    );
    assert!(page.contains(&format!("Target {}/prod", w.ns)), "{page}");
    assert!(page.contains("skyloyalty-v7"), "{page}");
    assert!(
        !page.contains("<form") && !page.contains("<script"),
        "{page}"
    );
    w.teardown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn deletion_follows_the_policy() {
    let Some(path) = kubeconfig() else { return };
    for policy in ["Retain", "Delete"] {
        let mut w = World::new(&path, &policy.to_ascii_lowercase(), 2000.0).await;
        w.apply_samples(|r| r["spec"]["policy"]["deletion"] = json!(policy))
            .await;
        w.start_controller();
        w.wait("Ready", Duration::from_secs(120), |r| {
            is(r, "Ready", "True")
        })
        .await;
        w.releases()
            .delete("skyloyalty-v7", &DeleteParams::default())
            .await
            .expect("delete");
        let deadline = Instant::now() + Duration::from_secs(60);
        while w
            .releases()
            .get_opt("skyloyalty-v7")
            .await
            .expect("get")
            .is_some()
        {
            assert!(
                Instant::now() < deadline,
                "{policy}: the finalizer was not removed"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let c = w.sim.control();
        match policy {
            "Retain" => {
                assert_eq!(
                    c.model_alias(MODEL, "champion"),
                    Some(12),
                    "Retain leaves the alias"
                );
                assert!(c.app("skyloyalty-agent").is_some(), "Retain leaves the app");
            }
            _ => {
                assert_eq!(
                    c.model_alias(MODEL, "champion"),
                    None,
                    "Delete removes the alias it set"
                );
                let app = c.app("skyloyalty-agent");
                assert!(
                    app.is_none_or(|a| a["compute_status"]["state"] == "DELETING"),
                    "Delete removes the app it created"
                );
                assert!(
                    c.endpoint("skyloyalty-endpoint").is_none(),
                    "Delete removes the endpoint it created"
                );
            }
        }
        w.teardown().await;
    }
}

/// Writes N=8's signoff, eval summary and prompt alias `candidate_v8` into the simulator.
fn seed_n8(c: &agentrelease_sim::SimControl) {
    c.put_file(
        "/Volumes/main/agents/signoffs/v8/decision.md",
        "---\nversion: 8\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    )
    .expect("signoff v8");
    c.put_file(
        "/Volumes/main/agents/eval_runs/v8/summary.json",
        r#"{"version": 8, "model_version": 12, "run_id": "b1f3c0d2e4a54b6c8d9e0f1a2b3c4d5e", "metrics": {"answer_correctness": 0.93, "groundedness": 0.9, "safety": 0.99, "latency_p95_ms": 1500}}"#,
    )
    .expect("summary v8");
    c.apply_seed(
        &Seed::from_yaml_str(
            "catalogs:\n  - name: main\n    schemas:\n      - name: agents\n        prompts:\n          - name: system_instructions\n            versions: [{version: 7, template: v7}, {version: 8, template: v8}]\n            aliases: {candidate_v7: 7, candidate_v8: 8}\n",
            None,
        )
        .expect("seed"),
    )
    .expect("prompt v8");
}

#[tokio::test]
async fn deleting_a_superseded_release_leaves_its_successor_ready_and_its_objects_in_place() {
    let Some(path) = kubeconfig() else { return };
    let mut w = World::new(&path, "supersede", 2000.0).await;
    w.apply_samples(|r| r["spec"]["policy"]["deletion"] = json!("Delete"))
        .await;
    w.start_controller();
    w.wait("Ready", Duration::from_secs(120), |r| {
        is(r, "Ready", "True")
    })
    .await;

    // N=8 of the same agent and model version supersedes v7.
    let c = w.sim.control();
    seed_n8(&c);
    let mut v8 = sample("agentrelease.yaml");
    if let Some(spec) = v8["spec"].as_object_mut() {
        spec.remove("promotion");
    }
    v8["metadata"]["name"] = json!("skyloyalty-v8");
    v8["spec"]["version"] = json!(8);
    v8["spec"]["policy"]["deletion"] = json!("Delete");
    w.apply(("agentops.dev/v1alpha1", "agentreleases"), v8)
        .await;
    w.wait_for("skyloyalty-v8", "Ready", Duration::from_secs(120), |r| {
        is(r, "Ready", "True")
    })
    .await;
    let v8_ready_at = Instant::now();
    // v7 leaves Ready within seconds, not at its resync (5m): the takeover woke it, and its
    // look found the alias owned by v8 though the alias, app and endpoint read as before.
    let v7 = w
        .wait_for(
            "skyloyalty-v7",
            "Superseded, no longer Ready",
            Duration::from_secs(30),
            |r| {
                r.status.as_ref().and_then(|s| s.phase) == Some(agentrelease_api::Phase::Superseded)
            },
        )
        .await;
    assert!(!is(&v7, "Ready", "True"), "{:?}", v7.status);
    eprintln!(
        "v7 left Ready {:.1} s after v8 was seen Ready",
        v8_ready_at.elapsed().as_secs_f64()
    );

    w.releases()
        .delete("skyloyalty-v7", &DeleteParams::default())
        .await
        .expect("delete v7");
    let deadline = Instant::now() + Duration::from_secs(60);
    while w
        .releases()
        .get_opt("skyloyalty-v7")
        .await
        .expect("get")
        .is_some()
    {
        assert!(Instant::now() < deadline, "v7's finalizer was not removed");
        let v8 = w.releases().get("skyloyalty-v8").await.expect("v8");
        assert!(is(&v8, "Ready", "True"), "v8 left Ready: {:?}", v8.status);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(12),
        "the alias stays"
    );
    assert!(
        c.app("skyloyalty-agent")
            .is_some_and(|a| a["compute_status"]["state"] == "ACTIVE"),
        "the app v8 owns stays"
    );
    assert!(
        c.endpoint("skyloyalty-endpoint").is_some(),
        "the endpoint v8 owns stays"
    );
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(w.client.clone(), &w.ns);
    let cleaned: Vec<String> = events
        .list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("CleanedUp"))
        .filter_map(|e| e.note)
        .collect();
    let kept = format!(
        "kept app skyloyalty-agent: owned by release {}/skyloyalty-v8",
        w.ns
    );
    assert!(
        cleaned.iter().any(|n| n.contains(&kept)),
        "the cleanup says what it kept and why: {cleaned:?}"
    );

    // v8 stays Ready: through the reconciles v7's deletion set off, and a full one requested
    // now, which writes nothing to the workspace.
    c.clear_calls();
    let at = "2026-11-25T00:00:00Z";
    w.releases()
        .patch(
            "skyloyalty-v8",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {agentrelease_api::RECONCILE_REQUESTED_AT: at}}})),
        )
        .await
        .expect("request a reconcile");
    let v8 = w
        .wait_for(
            "skyloyalty-v8",
            "the request echoed",
            Duration::from_secs(60),
            |r| {
                r.status
                    .as_ref()
                    .and_then(|s| s.last_handled_reconcile_at.as_deref())
                    == Some(at)
            },
        )
        .await;
    assert!(is(&v8, "Ready", "True"), "{:?}", v8.status);
    let writes: Vec<String> = c
        .writes()
        .into_iter()
        .filter(|r| r.route.starts_with("/api/") && !r.route.starts_with("/api/2.0/mcp/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "v8 had nothing to redo: {writes:?}");
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert!(c.app("skyloyalty-agent").is_some());
    assert!(c.endpoint("skyloyalty-endpoint").is_some());
    w.teardown().await;
}

#[tokio::test]
async fn a_controller_restart_mid_release_neither_duplicates_nor_loses_work() {
    let Some(path) = kubeconfig() else { return };
    let mut w = World::new(&path, "restart", 5.0).await;
    w.apply_samples(|_| {}).await;
    w.start_controller();
    w.wait("PlanRecorded", Duration::from_secs(60), |r| {
        is(r, "PlanRecorded", "True")
    })
    .await;
    w.stop_controller().await;
    w.start_controller();
    w.wait("Ready", Duration::from_secs(180), |r| {
        is(r, "Ready", "True")
    })
    .await;
    let c = w.sim.control();
    assert_eq!(
        c.list_files("/Volumes/main/agents/deployment_plans").len(),
        3,
        "one new plan: {:?}",
        c.list_files("/Volumes/main/agents/deployment_plans")
    );
    assert_eq!(
        c.runs_of("/Shared/skyloyalty/deploy").len(),
        1,
        "one audit run"
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    w.teardown().await;
}

/// The Events recorded for the sample release, as (reason, reporting instance).
async fn release_events(w: &World) -> Vec<(String, String)> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(w.client.clone(), &w.ns);
    events
        .list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("skyloyalty-v7"))
        .map(|e| {
            (
                e.reason.unwrap_or_default(),
                e.reporting_instance.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_sharded_controllers_split_releases_and_hand_one_over_by_its_label() {
    let Some(path) = kubeconfig() else { return };
    let w = World::new(&path, "shards", 2000.0).await;
    w.apply_samples(|r| {
        r["metadata"]["labels"]["agentops.dev/shard"] = json!("a");
    })
    .await;
    let shard = |name: &str| {
        let mut args = w.controller_args(&format!("e2e-{name}"));
        args.shard = Some(name.into());
        args.leader_elect = true;
        w.spawn_controller(args)
    };
    let a = shard("a");
    let b = shard("b");

    w.wait("Ready", Duration::from_secs(120), |r| {
        is(r, "Ready", "True")
    })
    .await;
    // Each shard elects its own leader.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(w.client.clone(), &w.ns);
    for (lease, holder) in [
        ("agentrelease-e2e-a", "e2e-a"),
        ("agentrelease-e2e-b", "e2e-b"),
    ] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let held = leases
                .get_opt(lease)
                .await
                .expect("lease")
                .and_then(|l| l.spec)
                .and_then(|s| s.holder_identity);
            if held.as_deref() == Some(holder) {
                break;
            }
            assert!(Instant::now() < deadline, "{lease} is held by {held:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let events = release_events(&w).await;
    assert!(
        events.iter().any(|(reason, _)| reason == "Verified"),
        "{events:?}"
    );
    assert!(
        events.iter().all(|(_, by)| by == "e2e-a"),
        "only shard a reconciles a release labelled a: {events:?}"
    );

    // Moving the label hands the release over: shard b takes it (and records the suspension),
    // shard a lets it go.
    w.releases()
        .patch(
            "skyloyalty-v7",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"labels": {"agentops.dev/shard": "b"}},
                "spec": {"policy": {"suspend": true, "suspendReason": "handed to shard b"}},
            })),
        )
        .await
        .expect("relabel");
    w.wait("Suspended", Duration::from_secs(60), |r| {
        is(r, "Suspended", "True")
    })
    .await;
    let events = release_events(&w).await;
    let suspended_by: Vec<&String> = events
        .iter()
        .filter(|(reason, _)| reason == "Suspended")
        .map(|(_, by)| by)
        .collect();
    assert!(
        !suspended_by.is_empty() && suspended_by.iter().all(|by| *by == "e2e-b"),
        "shard b handles the release once it is labelled b: {events:?}"
    );

    // No double writes: one deployment, one plan, one audit run in the workspace.
    let c = w.sim.control();
    assert_eq!(
        c.list_files("/Volumes/main/agents/deployment_plans").len(),
        3,
        "one new plan: {:?}",
        c.list_files("/Volumes/main/agents/deployment_plans")
    );
    assert_eq!(
        c.runs_of("/Shared/skyloyalty/deploy").len(),
        1,
        "one audit run"
    );
    for (tx, task) in [a, b] {
        let _ = tx.send(true);
        task.abort();
        let _ = task.await;
    }
    w.teardown().await;
}

#[tokio::test]
async fn a_workspace_that_hangs_does_not_hold_up_releases_on_another() {
    let Some(path) = kubeconfig() else { return };
    let w = World::new(&path, "noisy", 2000.0).await;
    // A second workspace that answers nothing for ten minutes (and 429s what it does answer).
    let seed = Seed::from_yaml_file(&samples().join("workspace-seed.yaml")).expect("seed");
    let noisy = Simulator::start(SimConfig {
        seed: Some(seed),
        time_scale: 2000.0,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let rule: agentrelease_sim::FaultRule = serde_json::from_value(json!({
        "path": "**",
        "action": {"kind": "latency", "min_ms": 600000},
    }))
    .expect("fault rule");
    noisy.control().add_fault(rule).expect("fault");
    let mut target = sample("releasetarget.yaml");
    target["metadata"]["name"] = json!("noisy");
    target["spec"]["host"] = json!(noisy.url());
    target["spec"]["allowInsecureHttp"] = json!(true);
    w.apply(("agentops.dev/v1alpha1", "releasetargets"), target)
        .await;
    for i in 0..6 {
        let mut r = sample("agentrelease.yaml");
        r["metadata"]["name"] = json!(format!("noisy-{i}"));
        r["spec"]["targetRef"]["name"] = json!("noisy");
        w.apply(("agentops.dev/v1alpha1", "agentreleases"), r).await;
    }
    // The quiet workspace's release comes last, behind six releases on the hanging one.
    w.apply_samples(|_| {}).await;

    // Two reconciles at once, at most one per workspace: the hanging workspace holds one slot
    // (its requests wait ten minutes), the other keeps serving the quiet one. Without the
    // per-workspace bound both slots hang and the quiet release never gets a second pass.
    let mut args = w.controller_args("e2e-noisy");
    args.concurrency = 2;
    args.workspace_concurrency = 1;
    let metrics = Arc::new(Metrics::new());
    let factory =
        ClientFactory::with_metrics(metrics.clone()).request_timeout(Duration::from_secs(900));
    let (tx, task) = w.spawn_controller_with(args, factory, metrics);
    w.wait(
        "Ready on the quiet workspace",
        Duration::from_secs(180),
        |r| is(r, "Ready", "True"),
    )
    .await;
    assert_eq!(w.sim.control().model_alias(MODEL, "champion"), Some(12));
    // No release of the hanging workspace got an answer from it (one hangs, the others wait
    // their turn): none has a condition a workspace read decides. (A status written before the
    // target's Secret reached the controller's cache, `CredentialsMissing`, is no answer.)
    for i in 0..6 {
        let stuck = w
            .releases()
            .get(&format!("noisy-{i}"))
            .await
            .expect("noisy");
        let answered = stuck.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "EvaluationPassed" || (c.type_ == "Ready" && c.is_true()))
        });
        assert!(!answered, "noisy-{i} progressed: {:?}", stuck.status);
    }
    let _ = tx.send(true);
    task.abort();
    let _ = task.await;
    for i in 0..6 {
        let _ = w
            .releases()
            .patch(
                &format!("noisy-{i}"),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
    }
    w.teardown().await;
}

#[test]
fn the_suite_explains_how_to_run_it() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README");
    assert!(readme.contains("E2E_KUBECONFIG"));
}

/// A client that acts as `user` (impersonated; in `system:masters` so RBAC does not interfere and
/// only the admission policy decides).
async fn client_as(path: &PathBuf, user: &str) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(path).expect("read E2E_KUBECONFIG");
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    config.auth_info.impersonate = Some(user.to_string());
    config.auth_info.impersonate_groups = Some(vec!["system:masters".to_string()]);
    Client::try_from(config).expect("client")
}

#[tokio::test]
async fn an_approval_in_another_users_name_is_refused() {
    use agentrelease_api::{AgentReleaseApproval, AgentReleaseApprovalSpec};
    use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
    let Some(path) = kubeconfig() else { return };
    let admin = client(&path).await;
    install_crds(&admin).await;
    let policy_yaml = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/admission/approval-policy.yaml"),
    )
    .expect("read policy");
    for doc in policy_yaml.split("\n---\n") {
        let obj: DynamicObject = serde_saphyr::from_str(doc).expect("parse policy");
        let kind = obj.types.as_ref().expect("types").kind.clone();
        let gvk = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", &kind);
        let api: Api<DynamicObject> = Api::all_with(admin.clone(), &ApiResource::from_gvk(&gvk));
        let name = obj.metadata.name.clone().expect("name");
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&obj),
        )
        .await
        .expect("apply policy");
    }
    let ns = format!(
        "ar-e2e-approval-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let namespace: Namespace =
        serde_json::from_value(json!({"metadata": {"name": ns}})).expect("ns");
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace");
    let alice: Api<AgentReleaseApproval> = Api::namespaced(client_as(&path, "alice").await, &ns);
    let approval = |name: &str, by: &str| {
        AgentReleaseApproval::new(
            name,
            AgentReleaseApprovalSpec {
                release: "support-agent-prod".into(),
                n: 1,
                model_version: "1".into(),
                approved_by: by.into(),
                comment: Some("e2e".into()),
                identity: Some("0123456789abcdef".into()),
            },
        )
    };
    // The policy takes effect a moment after it is created: retry until the forgery is refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = 0;
    loop {
        i += 1;
        match alice
            .create(
                &PostParams::default(),
                &approval(&format!("forged-{i}"), "mallory"),
            )
            .await
        {
            Err(kube::Error::Api(e)) => {
                assert!(e.message.contains("approvedBy"), "{e:?}");
                break;
            }
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "the admission policy never refused"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    let own = alice
        .create(&PostParams::default(), &approval("own", "alice"))
        .await
        .expect("an approval in one's own name is accepted");
    assert_eq!(own.spec.approved_by, "alice");
    let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
}

/// The controller's own credentials for a test: a ServiceAccount in `ns` bound to the
/// ClusterRoles in `role_files` (from `config/rbac/`, renamed for this test), and a client that
/// authenticates with a token the TokenRequest API minted for it — as the controller runs in a
/// cluster, with nothing of the admin's.
struct ControllerIdentity {
    client: Client,
    cluster_objects: Vec<String>,
}

impl ControllerIdentity {
    async fn bind(path: &PathBuf, admin: &Client, ns: &str, role_files: &[&str]) -> Self {
        use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
        use k8s_openapi::api::core::v1::ServiceAccount;
        use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
        let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
        let account: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": "agentrelease-controller"}}))
                .expect("sa");
        accounts
            .create(&PostParams::default(), &account)
            .await
            .expect("create the controller's ServiceAccount");
        let roles: Api<ClusterRole> = Api::all(admin.clone());
        let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
        let mut cluster_objects = Vec::new();
        for file in role_files {
            let text = std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../config/rbac")
                    .join(file),
            )
            .expect("read role");
            let docs: Vec<Value> = serde_saphyr::from_str_multiple(&text).expect("parse role file");
            for doc in docs.into_iter().filter(|d| d["kind"] == "ClusterRole") {
                let mut role: ClusterRole = serde_json::from_value(doc).expect("ClusterRole");
                let name = format!("{}-{ns}", role.metadata.name.clone().expect("role name"));
                role.metadata.name = Some(name.clone());
                roles
                    .patch(
                        &name,
                        &PatchParams::apply(MANAGER).force(),
                        &Patch::Apply(&role),
                    )
                    .await
                    .expect("apply ClusterRole");
                let binding: ClusterRoleBinding = serde_json::from_value(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": name},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": [{"kind": "ServiceAccount", "name": "agentrelease-controller", "namespace": ns}],
                }))
                .expect("binding");
                bindings
                    .patch(
                        &name,
                        &PatchParams::apply(MANAGER).force(),
                        &Patch::Apply(&binding),
                    )
                    .await
                    .expect("apply ClusterRoleBinding");
                cluster_objects.push(name);
            }
        }
        let minted = accounts
            .create_token_request(
                "agentrelease-controller",
                &PostParams::default(),
                &TokenRequest {
                    spec: TokenRequestSpec {
                        audiences: Vec::new(),
                        expiration_seconds: Some(3600),
                        bound_object_ref: None,
                    },
                    ..TokenRequest::default()
                },
            )
            .await
            .expect("a token for the controller's ServiceAccount");
        let token = minted.status.expect("token").token;
        // The admin kubeconfig's cluster, with the ServiceAccount's token as the only user.
        let mut kc = serde_json::to_value(Kubeconfig::read_from(path).expect("kubeconfig"))
            .expect("kubeconfig json");
        if let Some(users) = kc["users"].as_array_mut() {
            for user in users {
                user["user"] = json!({"token": token});
            }
        }
        let kc: Kubeconfig = serde_json::from_value(kc).expect("kubeconfig");
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        ControllerIdentity {
            client: Client::try_from(config).expect("client"),
            cluster_objects,
        }
    }

    async fn unbind(self, admin: &Client) {
        use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
        let roles: Api<ClusterRole> = Api::all(admin.clone());
        let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
        for name in self.cluster_objects {
            let _ = bindings.delete(&name, &DeleteParams::default()).await;
            let _ = roles.delete(&name, &DeleteParams::default()).await;
        }
    }
}

/// Starts a controller on `client` watching `namespaces` (no Secret watch: `--secret-namespace`
/// is not given, as in the chart's default mode).
fn spawn_controller_as(
    client: Client,
    template: ControllerArgs,
    namespaces: Vec<String>,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let metrics = Arc::new(Metrics::new());
    let factory = Arc::new(ClientFactory::with_metrics(metrics.clone()));
    let args = ControllerArgs {
        namespaces,
        ..template
    };
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        if let Err(e) = run_with_client(client, args, factory, metrics, rx).await {
            eprintln!("controller stopped: {e:#}");
        }
    });
    (tx, task)
}

#[tokio::test]
async fn the_controller_reaches_ready_with_only_get_on_secrets() {
    use k8s_openapi::api::core::v1::Secret;
    let Some(path) = kubeconfig() else { return };
    let mut w = World::new(&path, "rbac", 2000.0).await;
    w.apply_samples(|_| {}).await;
    let identity = ControllerIdentity::bind(&path, &w.client, &w.ns, &["role.yaml"]).await;
    let secrets: Api<Secret> = Api::namespaced(identity.client.clone(), &w.ns);
    match secrets.list(&Default::default()).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 403, "{e:?}"),
        other => panic!("the controller's role lists Secrets: {other:?}"),
    }
    let running = spawn_controller_as(
        identity.client.clone(),
        w.controller_args("rbac"),
        vec![w.ns.clone()],
    );
    w.controller = Some(running);
    let r = w
        .wait("Ready", Duration::from_secs(120), |r| {
            is(r, "Ready", "True")
        })
        .await;
    assert_eq!(
        r.status.and_then(|s| s.promoted_version),
        Some(12),
        "released with Secrets read by name only"
    );
    identity.unbind(&w.client).await;
    w.teardown().await;
}

/// The claims of a JWT, unverified.
fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims")
}

#[tokio::test]
async fn workload_identity_targets_exchange_tokens_minted_for_their_own_service_accounts() {
    use agentrelease_api::ReleaseTarget;
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    use k8s_openapi::api::core::v1::ServiceAccount;
    let Some(path) = kubeconfig() else { return };
    const SP: &str = "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c";
    // Slow enough a simulated clock that a 10-minute token stays valid on it for the whole test.
    let mut a = World::new(&path, "wi-a", 2.0).await;
    let b = World::new(&path, "wi-b", 2.0).await;
    // The cluster's service account issuer, as its tokens name it.
    let accounts: Api<ServiceAccount> = Api::namespaced(a.client.clone(), &a.ns);
    let probe = accounts
        .create_token_request(
            "default",
            &PostParams::default(),
            &TokenRequest {
                spec: TokenRequestSpec {
                    audiences: vec!["probe".into()],
                    expiration_seconds: Some(600),
                    bound_object_ref: None,
                },
                ..TokenRequest::default()
            },
        )
        .await
        .expect("a probe token");
    let issuer = jwt_claims(&probe.status.expect("token").token)["iss"]
        .as_str()
        .expect("iss")
        .to_string();
    for w in [&a, &b] {
        // One ServiceAccount name in both namespaces: only the namespace tells them apart.
        let account: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": "deployer"}})).expect("sa");
        Api::<ServiceAccount>::namespaced(w.client.clone(), &w.ns)
            .create(&PostParams::default(), &account)
            .await
            .expect("create deployer");
        let policy = format!(
            "service_principals:\n  - application_id: {SP}\n    display_name: deployer\n    federation_policies:\n      - issuer: '{issuer}'\n        audiences: ['{}']\n        subject: system:serviceaccount:{}:deployer\n",
            w.sim.url(),
            w.ns
        );
        w.sim
            .control()
            .apply_seed(&Seed::from_yaml_str(&policy, None).expect("policy"))
            .expect("apply policy");
        w.apply(
            ("v1", "secrets"),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "prod-databricks"},
                   "stringData": {"client_id": SP}}),
        )
        .await;
        let mut target = sample("releasetarget.yaml");
        target["spec"]["host"] = json!(w.sim.url());
        target["spec"]["allowInsecureHttp"] = json!(true);
        target["spec"]["credentials"] = json!({
            "secretName": "prod-databricks", "type": "WorkloadIdentity", "serviceAccountName": "deployer",
        });
        w.apply(("agentops.dev/v1alpha1", "releasetargets"), target)
            .await;
    }
    let mut release = sample("agentrelease.yaml");
    if let Some(spec) = release["spec"].as_object_mut() {
        spec.remove("promotion");
    }
    a.apply(("agentops.dev/v1alpha1", "agentreleases"), release)
        .await;

    let identity = ControllerIdentity::bind(
        &path,
        &a.client,
        &a.ns,
        &["role.yaml", "workload_identity_role.yaml"],
    )
    .await;
    let running = spawn_controller_as(
        identity.client.clone(),
        a.controller_args("wi"),
        vec![a.ns.clone(), b.ns.clone()],
    );
    a.controller = Some(running);
    for w in [&a, &b] {
        let targets: Api<ReleaseTarget> = Api::namespaced(w.client.clone(), &w.ns);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let t = targets.get("prod").await.expect("target");
            let status = t.status.clone().unwrap_or_default();
            let valid = status
                .conditions
                .iter()
                .any(|c| c.type_ == "CredentialsValid" && format!("{:?}", c.status) == "True");
            if valid {
                assert_eq!(status.principal.as_deref(), Some(SP));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "target {}/prod never valid: {:?}",
                w.ns,
                status.conditions
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    a.wait("Ready", Duration::from_secs(180), |r| {
        is(r, "Ready", "True")
    })
    .await;

    for w in [&a, &b] {
        let exchanges = w.sim.control().token_exchanges();
        assert!(!exchanges.is_empty(), "{} exchanged no token", w.ns);
        for e in exchanges {
            assert_eq!(e.issuer.as_deref(), Some(issuer.as_str()));
            assert_eq!(
                e.subject.as_deref(),
                Some(format!("system:serviceaccount:{}:deployer", w.ns).as_str()),
                "a token of another identity reached {}'s workspace",
                w.ns
            );
            assert_eq!(e.audiences, vec![w.sim.url()]);
            assert_eq!(e.principal.as_deref(), Some(SP), "{e:?}");
        }
    }
    identity.unbind(&a.client).await;
    b.teardown().await;
    a.teardown().await;
}
