//! The one place the engine's simulator tests share: a simulator seeded from the sample, the
//! real typed client against it, the sample release and target, and helpers to run passes as
//! the controller would.
#![allow(dead_code)]

pub mod app_identity;
pub mod cli;
pub mod fake_kube;
pub mod fleet;
pub mod prewrite;
pub mod promotion;
pub mod sim_clock;
pub mod sim_time;

use std::time::Duration;

use agentrelease::databricks_adapter::ClientWorkspace;
use agentrelease::engine::{self, Identity, Mode, Outcome, SystemClock};
use agentrelease_api::{AgentRelease, ReleaseTarget};
use agentrelease_sim::{RunningSim, Seed, SimConfig, SimControl, Simulator};

pub const MODEL: &str = "main.agents.skyloyalty";
pub const SIGNOFF: &str = "/Volumes/main/agents/signoffs/v7/decision.md";
pub const SUMMARY: &str = "/Volumes/main/agents/eval_runs/v7/summary.json";

pub struct Harness {
    pub sim: RunningSim,
    pub ws: ClientWorkspace,
    pub release: AgentRelease,
    pub target: ReleaseTarget,
    pub identity: Identity,
}

pub fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

pub async fn harness() -> Harness {
    let seed = Seed::from_yaml_file(&samples().join("workspace-seed.yaml")).expect("sample seed");
    let sim = Simulator::start(SimConfig {
        seed: Some(seed),
        // Frozen: the simulated workspace moves only when a test advances it (below, by what
        // the engine asked to wait), so no test depends on the machine's speed.
        time_scale: 0.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let client = client_of(&sim, &[]);
    let release: AgentRelease = serde_saphyr::from_str(
        &std::fs::read_to_string(samples().join("agentrelease.yaml")).expect("read"),
    )
    .expect("release");
    // The engine tests drive the prod sample on its own; its stage requirement (staging first)
    // is exercised in tests/promotion.rs.
    let mut release = release;
    release.spec.promotion = None;
    let target: ReleaseTarget = serde_saphyr::from_str(
        &std::fs::read_to_string(samples().join("releasetarget.yaml")).expect("read"),
    )
    .expect("target");
    Harness {
        sim,
        ws: ClientWorkspace::new(client),
        release,
        target,
        identity: Identity {
            uid: "uid-skyloyalty-v7".into(),
            generation: 1,
            namespace: "agents".into(),
            name: "skyloyalty-v7".into(),
        },
    }
}

/// The typed client the tests use against `sim` (quick retries, no rate limit to speak of),
/// trusting `trusted` besides the workspace's origin (as a target's `spec.trustedOrigins`).
fn client_of(
    sim: &RunningSim,
    trusted: &[agentrelease_api::origin::TrustedOrigin],
) -> agentrelease_databricks::Client {
    agentrelease_databricks::Client::builder(sim.url())
        .credentials(agentrelease_databricks::Credentials::Pat(
            agentrelease_databricks::SecretString::new("dapi-sample-token"),
        ))
        .allow_insecure_http(true)
        .trusted_origins(trusted.iter().cloned())
        .rate_limit(10_000)
        .retry(agentrelease_databricks::RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            budget: Duration::from_secs(5),
        })
        .build()
        .expect("client")
}

impl Harness {
    pub fn control(&self) -> SimControl {
        self.sim.control()
    }

    /// The same workspace as another process sees it (its own client, folders and plan
    /// numbering), e.g. a CI `apply` next to the controller.
    pub fn another_process(&self) -> ClientWorkspace {
        ClientWorkspace::new(client_of(&self.sim, &self.target.spec.trusted_origins))
    }

    /// Lists `trusted` in the target's `spec.trustedOrigins` and gives the engine a client
    /// built with them, as the controller builds one from the target.
    pub fn trust(&mut self, trusted: Vec<agentrelease_api::origin::TrustedOrigin>) {
        self.ws = ClientWorkspace::new(client_of(&self.sim, &trusted));
        self.target.spec.trusted_origins = trusted;
    }

    pub async fn pass(&mut self, mode: Mode) -> Outcome {
        let outcome = engine::reconcile(
            &self.release,
            &self.target.spec,
            self.identity.clone(),
            &self.ws,
            &SystemClock,
            mode,
        )
        .await;
        if mode == Mode::Apply {
            let mut status = outcome.status.clone();
            // As the controller does: the request the pass saw is handled.
            if let Some(requested) = self
                .release
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(agentrelease_api::RECONCILE_REQUESTED_AT))
            {
                status.last_handled_reconcile_at = Some(requested.clone());
            }
            self.release.status = Some(status);
        }
        outcome
    }

    /// Sets the `agentops.dev/reconcile-requested-at` annotation, as `kubectl agentrelease
    /// reconcile` does.
    pub fn request_reconcile(&mut self, at: &str) {
        self.release
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(agentrelease_api::RECONCILE_REQUESTED_AT.into(), at.into());
    }

    /// Passes until Ready or Stalled (or `max` passes), as the controller would requeue.
    pub async fn run(&mut self, max: usize) -> (Outcome, Vec<engine::Event>) {
        let mut events = Vec::new();
        for _ in 0..max {
            let outcome = self.pass(Mode::Apply).await;
            events.extend(outcome.events.clone());
            if outcome.is_ready() || outcome.needs_human() {
                return (outcome, events);
            }
            self.wait(&outcome);
        }
        let outcome = self.pass(Mode::Apply).await;
        events.extend(outcome.events.clone());
        (outcome, events)
    }
}

pub fn reason(outcome: &Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

pub fn plans(control: &SimControl) -> Vec<String> {
    control.list_files("/Volumes/main/agents/deployment_plans")
}

/// Successful app deployments the simulator was asked for.
pub fn deployments_created(c: &SimControl) -> usize {
    c.calls()
        .iter()
        .filter(|r| {
            r.method == "POST" && r.route == "/api/2.0/apps/{name}/deployments" && r.status == 200
        })
        .count()
}

impl Harness {
    /// Waits as the controller would before the next pass: the simulated clock moves on by the
    /// time the engine asked for (a backoff counts as one second).
    pub fn wait(&self, outcome: &Outcome) {
        let by = match outcome.requeue {
            engine::Requeue::After(d) => d,
            engine::Requeue::Backoff => Duration::from_secs(1),
        };
        self.control().advance_clock(by);
    }

    /// One pass over another release on the same workspace (as the controller would reconcile
    /// a second object); its status is kept in `release` like [`Harness::pass`] does.
    pub async fn pass_other(
        &self,
        release: &mut AgentRelease,
        identity: &Identity,
        mode: Mode,
    ) -> Outcome {
        let outcome = engine::reconcile(
            release,
            &self.target.spec,
            identity.clone(),
            &self.ws,
            &SystemClock,
            mode,
        )
        .await;
        if mode == Mode::Apply {
            release.status = Some(outcome.status.clone());
        }
        outcome
    }

    /// Passes over another release until Ready or Stalled (or `max` passes).
    pub async fn run_other(
        &self,
        release: &mut AgentRelease,
        identity: &Identity,
        max: usize,
    ) -> Outcome {
        let mut outcome = self.pass_other(release, identity, Mode::Apply).await;
        for _ in 0..max {
            if outcome.is_ready() || outcome.needs_human() {
                break;
            }
            self.wait(&outcome);
            outcome = self.pass_other(release, identity, Mode::Apply).await;
        }
        outcome
    }
}

/// The logged model of version 10 in the sample seed.
pub const V10_MODEL_ID: &str = "m-1d2e3f4a5b6c4d7e8f9a0b1c2d3e4f5a";
/// The logged model of version 12 in the sample seed.
pub const V12_MODEL_ID: &str = "m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b";

/// The evaluation run of N=8 (in the target's evaluation experiment; it evaluated the logged
/// model of version 10).
pub const V8_EVAL_RUN: &str = "8e0a1b2c3d4e4f5a6b7c8d9e0f1a2b3c";

/// Writes the artifacts of N=8 of model version 10 (signoff, eval summary bound to version 10
/// and its evaluation run, prompt alias candidate_v8).
pub fn seed_v8_artifacts(c: &SimControl) {
    c.put_file(
        "/Volumes/main/agents/signoffs/v8/decision.md",
        "---\nversion: 8\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    )
    .expect("signoff v8");
    c.put_file(
        "/Volumes/main/agents/eval_runs/v8/summary.json",
        v8_summary(0.93),
    )
    .expect("summary v8");
    c.apply_seed(
        &Seed::from_yaml_str(
            &format!(
                "catalogs:\n  - name: main\n    schemas:\n      - name: agents\n        prompts:\n          - name: system_instructions\n            versions: [{{version: 7, template: v7}}, {{version: 8, template: v8}}]\n            aliases: {{candidate_v7: 7, candidate_v8: 8}}\nexperiments:\n  - name: /Shared/skyloyalty/eval\n    runs:\n      - run_id: {V8_EVAL_RUN}\n        run_name: eval_pre_deploy_20261208_093000\n        dataset_inputs:\n          - {{name: main.agents.loyalty_eval_v7, digest: 4f2a9c1e, context: evaluation, source_type: delta}}\n        model_inputs: [{V10_MODEL_ID}]\n"
            ),
            None,
        )
        .expect("seed"),
    )
    .expect("prompt v8");
}

/// Writes the artifacts of N=8 of the sample's model version 12: the eval summary names
/// version 12 and the evaluation run of v7 (which evaluated version 12's logged model).
pub fn seed_v8_artifacts_of_version_12(c: &SimControl) {
    seed_v8_artifacts(c);
    c.put_file(
        "/Volumes/main/agents/eval_runs/v8/summary.json",
        r#"{"version": 8, "model_version": 12, "run_id": "b1f3c0d2e4a54b6c8d9e0f1a2b3c4d5e", "metrics": {"answer_correctness": 0.93, "groundedness": 0.9, "safety": 0.99, "latency_p95_ms": 1500}}"#,
    )
    .expect("summary v8 of version 12");
}

/// The eval summary of N=8 (model version 10, its evaluation run) with `answer_correctness`.
pub fn v8_summary(answer_correctness: f64) -> String {
    format!(
        r#"{{"version": 8, "model_version": 10, "run_id": "{V8_EVAL_RUN}", "metrics": {{"answer_correctness": {answer_correctness}, "groundedness": 0.9, "safety": 0.99, "latency_p95_ms": 1500}}}}"#
    )
}

/// The sample release turned into N=8 of model version 10 (its served entity renamed to match).
pub fn as_v8(release: &mut AgentRelease) {
    release.spec.version = 8;
    release.spec.model.version = 10;
    release.spec.model.logged_model_id = Some(V10_MODEL_ID.into());
    if let Some(v) = release.spec.verification.as_mut() {
        v.expect_substring = Some(V10_MODEL_ID.into());
    }
    if let Some(e) = release.spec.serving_endpoint.as_mut()
        && let Some(first) = e.served_entities.first_mut()
    {
        first.name = "skyloyalty-10".into();
    }
}

/// Another release object (its own name and uid) with the sample's spec.
pub fn other_release(h: &Harness, name: &str) -> (AgentRelease, Identity) {
    let mut release = h.release.clone();
    release.metadata.name = Some(name.into());
    release.status = None;
    let identity = Identity {
        uid: format!("uid-{name}"),
        generation: 1,
        namespace: "agents".into(),
        name: name.into(),
    };
    (release, identity)
}

/// The wall clock for `now`, but a pause inside a pass moves the frozen simulated workspace on
/// instead of sleeping (a pass that waits inside itself, as `apply` runs it).
pub struct SimPause(pub SimControl);

impl engine::Clock for SimPause {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
        self.0.advance_clock(d);
        std::future::ready(())
    }
}

impl Harness {
    /// One pass that waits inside itself within `wait` (as `apply` runs it), pausing on the
    /// simulated clock; the steps it reports live are returned beside the outcome.
    pub async fn pass_waiting(
        &mut self,
        wait: engine::InlineWait,
    ) -> (Outcome, Vec<engine::StepReport>) {
        let seen = std::sync::Mutex::new(Vec::new());
        let observe = |r: &engine::StepReport| {
            if let Ok(mut seen) = seen.lock() {
                seen.push(r.clone());
            }
        };
        let outcome = engine::reconcile_with(
            &self.release,
            &self.target.spec,
            self.identity.clone(),
            &self.ws,
            &SimPause(self.control()),
            Mode::Apply,
            &engine::Inputs {
                waiting: Some(engine::Waiting {
                    wait,
                    observe: &observe,
                }),
                ..Default::default()
            },
        )
        .await;
        self.release.status = Some(outcome.status.clone());
        (outcome, seen.into_inner().unwrap_or_default())
    }
}

/// The logged model id an app serves (`MLFLOW_ACTIVE_MODEL_ID` of its pending deployment, or
/// of its active one when none is pending), as the simulator reports the app.
pub fn deployed_model_id(app: &serde_json::Value) -> Option<String> {
    let deployment = if app["pending_deployment"].is_object() {
        &app["pending_deployment"]
    } else {
        &app["active_deployment"]
    };
    deployment["env_vars"].as_array().and_then(|env| {
        env.iter()
            .find(|e| e["name"] == "MLFLOW_ACTIVE_MODEL_ID")
            .and_then(|e| e["value"].as_str().map(str::to_string))
    })
}
