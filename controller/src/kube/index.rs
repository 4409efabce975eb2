//! Which releases a ReleaseTarget or a Secret change concerns (pure, over the caches).

use agentrelease_api::{AgentRelease, ReleaseTarget};
use kube::ResourceExt;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::ObjectRef;

use super::handle::ReleaseHandle;

/// The namespace and name of the target a release refers to.
pub fn target_of(release: &AgentRelease) -> Option<(String, String)> {
    let ns = release
        .spec
        .target_ref
        .namespace
        .clone()
        .or_else(|| release.namespace())?;
    Some((ns, release.spec.target_ref.name.clone()))
}

/// Releases that refer to the target `namespace/name`.
pub fn releases_of_target(
    releases: &[std::sync::Arc<ReleaseHandle>],
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<ReleaseHandle>> {
    releases
        .iter()
        .filter(|r| {
            r.target
                .as_ref()
                .is_some_and(|(ns, n)| ns == namespace && n == name)
        })
        .filter_map(|r| Some(ObjectRef::new(&r.name_any()).within(&r.namespace()?)))
        .collect()
}

/// Targets whose credentials live in the Secret `namespace/name`.
pub fn targets_of_secret(
    targets: &[std::sync::Arc<DeserializeGuard<ReleaseTarget>>],
    namespace: &str,
    name: &str,
) -> Vec<(String, String)> {
    targets
        .iter()
        .filter_map(|guard| guard.0.as_ref().ok())
        .filter(|t| {
            t.namespace().as_deref() == Some(namespace) && t.spec.credentials.secret_name == name
        })
        .filter_map(|t| Some((t.namespace()?, t.name_any())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn handle(ns: &str, name: &str, target: Option<(&str, &str)>) -> Arc<ReleaseHandle> {
        Arc::new(ReleaseHandle {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                namespace: Some(ns.into()),
                ..Default::default()
            },
            target: target.map(|(a, b)| (a.into(), b.into())),
            released: None,
            status: None,
            undecodable: None,
            suspension: None,
        })
    }

    #[test]
    fn a_target_change_concerns_the_releases_that_name_it_and_no_other() {
        let all = vec![
            handle("a", "r1", Some(("a", "prod"))),
            handle("a", "r2", Some(("a", "staging"))),
            handle("b", "r3", Some(("a", "prod"))),
            handle("a", "broken", None),
        ];
        let hit: Vec<String> = releases_of_target(&all, "a", "prod")
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
            .collect();
        assert_eq!(hit, vec!["a/r1".to_string(), "b/r3".to_string()]);
    }
}
