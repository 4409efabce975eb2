//! What the controller's cache keeps of an AgentRelease: its metadata (trimmed), the target it
//! names, the agent and versions it releases, and its status, not its spec. A decoded release
//! spec takes about 10 KB in memory (the manifest is 3–4 KB of JSON), so a cache of whole objects
//! holds 100 MB at 10,000 releases; a handle is a few hundred bytes plus the status. A reconcile
//! reads the whole object from the API server (one GET), which also means it never decides on a
//! cached copy older than its own last status write.

use std::borrow::Cow;

use agentrelease_api::{AgentRelease, AgentReleaseStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::DeserializeGuard;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use super::cache;

/// The release an AgentRelease makes, as the cache keeps it for lookups between releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The registered model (`catalog.schema.model`).
    pub model: String,
    /// The model version.
    pub model_version: i64,
    /// The alias it promotes.
    pub alias: String,
    /// The release version N.
    pub n: i64,
}

/// What the status of a suspended release needs: it is reconciled from its handle alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// `spec.policy.suspendReason`, or the default wording.
    pub reason: String,
    /// `spec.policy.resyncInterval`.
    pub resync: std::time::Duration,
}

/// An AgentRelease as the controller's cache keeps it.
#[derive(Debug, Clone)]
pub struct ReleaseHandle {
    /// Trimmed metadata (no managed fields, no last-applied copy).
    pub metadata: ObjectMeta,
    /// The namespace and name of the ReleaseTarget it names (`None` when it does not decode).
    pub target: Option<(String, String)>,
    /// What it releases (`None` when it does not decode).
    pub released: Option<Released>,
    /// Its status as last seen.
    pub status: Option<AgentReleaseStatus>,
    /// Why it does not decode, when it does not.
    pub undecodable: Option<String>,
    /// Set when `spec.policy.suspend` is.
    pub suspension: Option<Suspension>,
}

impl ReleaseHandle {
    /// The handle of a watched object.
    pub fn of(guard: DeserializeGuard<AgentRelease>) -> ReleaseHandle {
        match guard.0 {
            Ok(mut release) => {
                cache::trim(&mut release);
                let target = super::index::target_of(&release);
                let suspension = release.spec.policy.suspend.then(|| Suspension {
                    reason: crate::engine::suspend_reason(&release.spec.policy),
                    resync: release.spec.policy.resync(),
                });
                let released = Some(Released {
                    model: release.spec.model.name.clone(),
                    model_version: release.spec.model.version,
                    alias: release.spec.model.alias.clone(),
                    n: release.spec.version,
                });
                ReleaseHandle {
                    metadata: release.metadata,
                    target,
                    released,
                    status: release.status,
                    undecodable: None,
                    suspension,
                }
            }
            Err(invalid) => {
                let mut metadata = invalid.metadata;
                metadata.managed_fields = None;
                if let Some(a) = metadata.annotations.as_mut() {
                    a.remove(cache::LAST_APPLIED);
                }
                ReleaseHandle {
                    metadata,
                    target: None,
                    released: None,
                    status: None,
                    undecodable: Some(invalid.error),
                    suspension: None,
                }
            }
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.namespace().unwrap_or_default(),
            self.name_any()
        )
    }
}

/// A watch event of whole objects as an event of handles.
pub fn event(e: watcher::Event<DeserializeGuard<AgentRelease>>) -> watcher::Event<ReleaseHandle> {
    match e {
        watcher::Event::Apply(o) => watcher::Event::Apply(ReleaseHandle::of(o)),
        watcher::Event::Delete(o) => watcher::Event::Delete(ReleaseHandle::of(o)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(o) => watcher::Event::InitApply(ReleaseHandle::of(o)),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

/// Decodes like the object it stands for (the controller runtime asks for it; the cache is
/// filled from watch events through [`event`]).
impl<'de> serde::Deserialize<'de> for ReleaseHandle {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DeserializeGuard::<AgentRelease>::deserialize(d).map(ReleaseHandle::of)
    }
}

impl Resource for ReleaseHandle {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        AgentRelease::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        AgentRelease::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        AgentRelease::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        AgentRelease::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn release() -> serde_json::Value {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../config/samples/agentrelease.yaml"),
        )
        .expect("sample");
        let mut v: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
        v["metadata"]["namespace"] = json!("agents");
        v["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        v["metadata"]["annotations"] = json!({cache::LAST_APPLIED: "{\"big\": 1}", "agentops.dev/reconcile-requested-at": "x"});
        v["status"] = json!({"observedGeneration": 2, "phase": "Ready"});
        v
    }

    #[test]
    fn a_handle_keeps_what_lookups_and_wake_ups_read() {
        let guard: DeserializeGuard<AgentRelease> =
            serde_json::from_value(release()).expect("decode");
        let h = ReleaseHandle::of(guard);
        assert_eq!(h.key(), "agents/skyloyalty-v7");
        assert_eq!(h.target, Some(("agents".into(), "prod".into())));
        let r = h.released.clone().expect("released");
        assert_eq!(
            (r.model.as_str(), r.model_version, r.alias.as_str(), r.n),
            ("main.agents.skyloyalty", 12, "champion", 7)
        );
        assert_eq!(h.status.and_then(|s| s.observed_generation), Some(2));
        assert!(h.metadata.managed_fields.is_none());
        let annotations = h.metadata.annotations.unwrap_or_default();
        assert!(!annotations.contains_key(cache::LAST_APPLIED));
        assert!(annotations.contains_key("agentops.dev/reconcile-requested-at"));
    }

    #[test]
    fn an_object_that_does_not_decode_keeps_its_name_and_the_reason() {
        let mut v = release();
        v["spec"]["model"]["version"] = json!("twelve");
        let guard: DeserializeGuard<AgentRelease> = serde_json::from_value(v).expect("guard");
        let h = ReleaseHandle::of(guard);
        assert_eq!(h.key(), "agents/skyloyalty-v7");
        assert!(h.target.is_none() && h.released.is_none());
        assert!(h.undecodable.is_some());
        assert!(h.metadata.managed_fields.is_none());
    }
}
