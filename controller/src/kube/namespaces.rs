//! The namespaces' labels, cached as metadata: a namespace labelled `agentops.dev/approval:
//! required` requires an approval of every release in it. The label is read from the cache;
//! a release whose namespace is not cached yet is looked at again shortly rather than decided
//! without knowing (the controller never releases without a hold the namespace requires).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::handle::ReleaseHandle;
use crate::engine::steps::approval_rule;

/// The cache of namespaces (metadata only).
pub type NamespaceStore = Store<PartialObjectMeta<Namespace>>;

/// Whether the namespace `name` requires an approval of its releases; `None` while it is not
/// in the cache (the cache is still filling, or the namespace is going away).
pub fn requires_approval(store: &NamespaceStore, name: &str) -> Option<bool> {
    store
        .get(&ObjectRef::new(name))
        .map(|ns| approval_rule::namespace_requires(ns.meta().labels.as_ref()))
}

/// The releases in the namespace `ns` (a change of its labels wakes them).
pub fn releases_in(
    releases: &[Arc<ReleaseHandle>],
    ns: &PartialObjectMeta<Namespace>,
) -> Vec<ObjectRef<ReleaseHandle>> {
    let name = ns.name_any();
    releases
        .iter()
        .filter(|r| r.namespace().as_deref() == Some(name.as_str()))
        .map(|r| ObjectRef::new(&r.name_any()).within(&name))
        .collect()
}
