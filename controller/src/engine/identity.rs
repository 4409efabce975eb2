//! The release identity: one digest of everything that decides what runs in production — N, the
//! model name and version, its logged model id, the bytes of the signoff and the eval summary,
//! the prompt version, the release's spec and its target. An approval covers exactly one
//! identity; any change to a part is a new identity (and needs a new approval).
//!
//! The spec and target parts leave out only the switches that change how the operator behaves,
//! not what it releases: suspension, the resync and full-check intervals, the deletion, drift and
//! approval policies, and the target's credentials references and request rate. Everything else
//! counts, including fields added later, because the parts are digests of the whole JSON objects
//! minus that list (keys sorted, so the same spec always gives the same digest).

use agentrelease_api::identity::ReleaseIdentityRecord;
use serde_json::Value;

use super::context::ReleaseContext;
use super::fingerprint;
use super::pass::Artifacts;

/// `spec.policy` fields that do not change what is released.
const OPERATIONAL_POLICY: [&str; 7] = [
    "suspend",
    "suspendReason",
    "resyncInterval",
    "fullCheckInterval",
    "deletion",
    "drift",
    "approval",
];

/// ReleaseTarget spec fields that do not change what is released.
const OPERATIONAL_TARGET: [&str; 4] = [
    "credentials",
    "appCredentials",
    "requestsPerSecond",
    "approval",
];

/// The identity of the release in `ctx` with the gate inputs the pass read; `None` until the
/// signoff and the eval summary have both been read (a release blocked before that has no
/// identity yet).
pub fn of(ctx: &ReleaseContext, artifacts: &Artifacts) -> Option<ReleaseIdentityRecord> {
    let signoff = artifacts.signoff_digest.as_deref()?;
    let eval_summary = artifacts.summary_digest.as_deref()?;
    let logged_model_id = artifacts
        .model_id
        .clone()
        .or_else(|| ctx.spec.model.logged_model_id.clone());
    let spec = spec_digest(&ctx.spec);
    let declared = ctx.declared_target.as_ref().unwrap_or(&ctx.target);
    let target = target_digest(&ctx.spec.target_ref.name, declared);
    let n = ctx.n().to_string();
    let model_version = ctx.spec.model.version.to_string();
    let digest = fingerprint::digest(&[
        "release-identity/1",
        &n,
        ctx.model(),
        &model_version,
        logged_model_id.as_deref().unwrap_or("-"),
        signoff,
        eval_summary,
        artifacts.prompt_version.as_deref().unwrap_or("-"),
        &spec,
        &target,
    ]);
    Some(ReleaseIdentityRecord {
        digest,
        n: ctx.n(),
        model: ctx.model().to_string(),
        model_version: ctx.spec.model.version,
        logged_model_id,
        signoff: short(signoff),
        eval_summary: short(eval_summary),
        prompt_version: artifacts.prompt_version.clone(),
        spec,
        target,
    })
}

/// The digest of a release spec without its operational policy switches.
pub fn spec_digest(spec: &agentrelease_api::AgentReleaseSpec) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Some(policy) = value.get_mut("policy").and_then(Value::as_object_mut) {
        for key in OPERATIONAL_POLICY {
            policy.remove(key);
        }
    }
    fingerprint::digest(&[&canonical(&value)])
}

/// The digest of a target (its name and spec) without its credentials and request rate.
pub fn target_digest(name: &str, target: &agentrelease_api::ReleaseTargetSpec) -> String {
    let mut value = serde_json::to_value(target).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        for key in OPERATIONAL_TARGET {
            object.remove(key);
        }
    }
    fingerprint::digest(&[name, &canonical(&value)])
}

fn short(digest: &str) -> String {
    digest.get(..16).unwrap_or(digest).to_string()
}

/// JSON text with every object's keys sorted (whatever map the JSON library keeps).
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::context::Identity;
    use agentrelease_api::release::{ApprovalPolicy, DeletionPolicy};

    fn context() -> ReleaseContext {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples");
        let read = |f: &str| std::fs::read_to_string(root.join(f)).expect("sample");
        let release: agentrelease_api::AgentRelease =
            serde_saphyr::from_str(&read("agentrelease.yaml")).expect("release");
        let target: agentrelease_api::ReleaseTarget =
            serde_saphyr::from_str(&read("releasetarget.yaml")).expect("target");
        let identity = Identity {
            uid: "u".into(),
            generation: 1,
            namespace: "agents".into(),
            name: "skyloyalty-v7".into(),
        };
        ReleaseContext::new(identity, &release.spec, &target.spec).expect("context")
    }

    fn read() -> Artifacts {
        Artifacts {
            signoff_digest: Some("a".repeat(64)),
            summary_digest: Some("b".repeat(64)),
            prompt_version: Some("3".into()),
            model_id: Some("m-12".into()),
            ..Artifacts::default()
        }
    }

    fn digest(ctx: &ReleaseContext, artifacts: &Artifacts) -> String {
        of(ctx, artifacts).expect("identity").digest
    }

    #[test]
    fn no_identity_before_both_gate_documents_were_read() {
        let ctx = context();
        assert!(of(&ctx, &Artifacts::default()).is_none());
        let only_signoff = Artifacts {
            summary_digest: None,
            ..read()
        };
        assert!(of(&ctx, &only_signoff).is_none());
    }

    #[test]
    fn the_same_release_has_the_same_identity() {
        let ctx = context();
        let id = of(&ctx, &read()).expect("identity");
        assert!(agentrelease_api::identity::is_digest(&id.digest), "{id:?}");
        assert_eq!(id, of(&context(), &read()).expect("identity"));
        assert_eq!((id.n, id.model_version), (ctx.n(), ctx.spec.model.version));
        assert_eq!(id.logged_model_id.as_deref(), Some("m-12"));
    }

    #[test]
    fn every_part_that_decides_what_runs_changes_the_identity() {
        let ctx = context();
        let base = digest(&ctx, &read());
        let mut changed = Vec::new();
        let artifacts_changes: [fn(&mut Artifacts); 4] = [
            |a| a.signoff_digest = Some("c".repeat(64)),
            |a| a.summary_digest = Some("d".repeat(64)),
            |a| a.prompt_version = Some("4".into()),
            |a| a.model_id = Some("m-other".into()),
        ];
        for change in artifacts_changes {
            let mut a = read();
            change(&mut a);
            changed.push(digest(&ctx, &a));
        }
        let spec_changes: [fn(&mut ReleaseContext); 6] = [
            |c| c.spec.model.version += 1,
            |c| c.spec.version += 1,
            |c| c.spec.model.alias = "challenger".into(),
            |c| {
                if let Some(app) = c.spec.app.as_mut() {
                    app.command.push("--verbose".into());
                }
            },
            |c| c.target.catalog = "other".into(),
            |c| c.spec.target_ref.name = "prod-2".into(),
        ];
        for change in spec_changes {
            let mut c = context();
            change(&mut c);
            changed.push(digest(&c, &read()));
        }
        for d in &changed {
            assert_ne!(d, &base);
        }
    }

    #[test]
    fn the_identity_names_the_declared_workspace_not_the_one_a_run_points_at() {
        let base = digest(&context(), &read());
        let mut pointed = context();
        pointed.declared_target = Some(pointed.target.clone());
        pointed.target.host = "http://127.0.0.1:40123".into();
        pointed.target.allow_insecure_http = true;
        assert_eq!(digest(&pointed, &read()), base);
        let mut elsewhere = context();
        elsewhere.target.host = "https://adb-2.2.azuredatabricks.net".into();
        assert_ne!(digest(&elsewhere, &read()), base);
    }

    #[test]
    fn operational_switches_keep_the_identity() {
        let base = digest(&context(), &read());
        let mut c = context();
        c.spec.policy.suspend = true;
        c.spec.policy.resync_interval = "1h".into();
        c.spec.policy.deletion = DeletionPolicy::Retain;
        c.spec.policy.approval = ApprovalPolicy::Required;
        c.target.requests_per_second = 3;
        c.target.credentials.secret_name = "rotated".into();
        assert_eq!(digest(&c, &read()), base);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a: Value = serde_json::json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}});
        assert_eq!(
            canonical(&a),
            r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }
}
