//! A fleet of agents on one workspace, for the soak test and the engine benchmark: `agent0..`
//! each with model version 12 READY and its own logged model, and the sample release turned
//! into each agent's release (its own model, alias, app and endpoint). The agents share the
//! sample's eval summary (it names `model_version: 12`); its evaluation run is seeded again as
//! one batch evaluation of every agent's logged model, so the summary is bound to each.

use agentrelease::engine::Identity;
use agentrelease_api::AgentRelease;

/// The logged model of agent `i`'s version 12.
pub fn model_id(i: usize) -> String {
    format!("m-{i:032x}")
}

/// The sample's evaluation run and the logged model of the sample's version 12.
const SAMPLE_EVAL_RUN: &str = "b1f3c0d2e4a54b6c8d9e0f1a2b3c4d5e";
const SAMPLE_MODEL_ID: &str = "m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b";

/// A seed fragment registering `n` agents' models, and the sample's evaluation run again with
/// every agent's logged model among its model inputs.
pub fn seed_yaml(n: usize) -> String {
    let mut models = String::new();
    let mut evaluated = vec![SAMPLE_MODEL_ID.to_string()];
    for i in 0..n {
        models.push_str(&format!(
            "          - name: agent{i}\n            versions:\n              - version: 12\n                run_id: {i:032x}\n                model_id: {}\n",
            model_id(i)
        ));
        evaluated.push(model_id(i));
    }
    format!(
        "catalogs:\n  - name: main\n    schemas:\n      - name: agents\n        models:\n{models}experiments:\n  - name: /Shared/skyloyalty/eval\n    runs:\n      - run_id: {SAMPLE_EVAL_RUN}\n        run_name: eval_pre_deploy_20261201_093000\n        dataset_inputs:\n          - {{name: main.agents.loyalty_eval_v7, digest: 4f2a9c1e, context: evaluation, source_type: delta}}\n        model_inputs: [{}]\n",
        evaluated.join(", ")
    )
}

/// The sample release `sample` made agent `i`'s.
pub fn release_of(sample: &AgentRelease, i: usize) -> (AgentRelease, Identity) {
    let mut r = sample.clone();
    let name = format!("agent{i}-v7");
    r.metadata.name = Some(name.clone());
    r.status = None;
    let sample_model = r.spec.model.name.clone();
    r.spec.model.name = format!("main.agents.agent{i}");
    r.spec.model.logged_model_id = None;
    if let Some(app) = r.spec.app.as_mut() {
        app.name = format!("agent{i}-app");
        for res in &mut app.resources {
            if let Some(e) = res.serving_endpoint.as_mut() {
                e.name = format!("agent{i}-endpoint");
            }
        }
    }
    if let Some(e) = r.spec.serving_endpoint.as_mut() {
        e.name = format!("agent{i}-endpoint");
        for se in &mut e.served_entities {
            se.name = format!("agent{i}-12");
        }
    }
    for g in &mut r.spec.grants {
        if g.full_name == sample_model {
            g.full_name = format!("main.agents.agent{i}");
        }
    }
    if let Some(v) = r.spec.verification.as_mut() {
        v.expect_substring = Some(model_id(i));
    }
    let identity = Identity {
        uid: format!("uid-{name}"),
        generation: 1,
        namespace: "agents".into(),
        name,
    };
    (r, identity)
}
