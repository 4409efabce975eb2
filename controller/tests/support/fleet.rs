//! A fleet of agents on one workspace, for the soak test and the engine benchmark: `agent0..`
//! each with model version 12 READY and its own logged model, and the sample release turned
//! into each agent's release (its own model, alias, app and endpoint).

use agentrelease::engine::Identity;
use agentrelease_api::AgentRelease;

/// The logged model of agent `i`'s version 12.
pub fn model_id(i: usize) -> String {
    format!("m-{i:032x}")
}

/// A seed fragment registering `n` agents' models.
pub fn seed_yaml(n: usize) -> String {
    let mut models = String::new();
    for i in 0..n {
        models.push_str(&format!(
            "          - name: agent{i}\n            versions:\n              - version: 12\n                run_id: {i:032x}\n                model_id: {}\n",
            model_id(i)
        ));
    }
    format!(
        "catalogs:\n  - name: main\n    schemas:\n      - name: agents\n        models:\n{models}"
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
