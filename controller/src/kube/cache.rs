//! What the controller keeps of each watched object, and which changes wake a release.
//!
//! The caches hold thousands of releases, so they drop what no reconcile reads: the managed
//! fields (often larger than the spec) and the `kubectl apply` copy of the last manifest.
//! Secrets are watched as metadata only elsewhere; their data is read when a release needs it.
//!
//! A release is reconciled again when something it decides on changes: its generation (spec),
//! labels (its shard), annotations (a requested reconcile), finalizers or deletion. The
//! controller's own status writes change none of these, so they do not wake the release a
//! second time; the engine asks for the next look itself (requeue).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kube::{Resource, ResourceExt};

/// The annotation `kubectl apply` keeps the whole last manifest in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops from `obj` what the controller never reads.
pub fn trim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// A hash of what wakes a release; equal hashes mean the change is the controller's own status
/// write (or nothing a reconcile decides on).
pub fn wakes<K: Resource>(obj: &K) -> Option<u64> {
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    obj.labels().hash(&mut h);
    obj.annotations().hash(&mut h);
    obj.finalizers().hash(&mut h);
    meta.deletion_timestamp.as_ref().map(|t| t.0).hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    fn object(extra: serde_json::Value) -> ConfigMap {
        let mut base = json!({
            "metadata": {
                "name": "r", "namespace": "ns", "generation": 3,
                "labels": {"agentops.dev/shard": "a"},
                "annotations": {LAST_APPLIED: "{\"big\": \"manifest\"}", "keep": "me"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            }
        });
        if let (Some(b), Some(e)) = (base["metadata"].as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base).expect("object")
    }

    #[test]
    fn the_cache_keeps_what_reconciles_read() {
        let mut o = object(json!({}));
        trim(&mut o);
        assert!(o.metadata.managed_fields.is_none());
        let annotations = o.metadata.annotations.clone().unwrap_or_default();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert_eq!(annotations.get("keep").map(String::as_str), Some("me"));
        assert_eq!(
            o.labels().get("agentops.dev/shard").map(String::as_str),
            Some("a")
        );
    }

    #[test]
    fn only_what_a_reconcile_decides_on_wakes_a_release() {
        let base = wakes(&object(json!({})));
        // A status write changes the resource version and the managed fields only.
        let status_write = object(json!({
            "resourceVersion": "99",
            "managedFields": [{"manager": "agentrelease-controller", "operation": "Apply"}],
        }));
        assert_eq!(wakes(&status_write), base);
        for change in [
            json!({"generation": 4}),
            json!({"labels": {"agentops.dev/shard": "b"}}),
            json!({"annotations": {"agentops.dev/reconcile-requested-at": "now"}}),
            json!({"finalizers": ["agentops.dev/release"]}),
            json!({"deletionTimestamp": "2026-12-02T00:00:00Z"}),
        ] {
            assert_ne!(wakes(&object(change.clone())), base, "{change}");
        }
    }
}
