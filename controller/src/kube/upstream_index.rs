//! The upstream stages of a release, found in the controller's cache of AgentReleases (pure): the
//! release of the same agent, N and model version to each required target, in the release's own
//! namespace only (no cross-namespace reads), and what its status says.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentrelease_api::condition;
use agentrelease_api::conditions::{Phase, types};
use agentrelease_api::{AgentRelease, ConditionStatus};
use kube::ResourceExt;

use crate::engine::upstream::{Observation, UpstreamSource};

use super::handle::ReleaseHandle;

/// The key releases are grouped by: namespace, target, agent, N and model version.
type Key = (String, String, String, i64, i64);

fn key_of(release: &ReleaseHandle) -> Option<Key> {
    let ns = release.namespace()?;
    // A release whose target is in another namespace is not a stage of this namespace.
    let (target_ns, target) = release.target.clone()?;
    if target_ns != ns {
        return None;
    }
    let r = release.released.as_ref()?;
    Some((ns, target, r.model.clone(), r.n, r.model_version))
}

/// What an upstream release's status says (pure).
pub fn observe_one(release: &ReleaseHandle) -> Observation {
    let key = release.key();
    let generation = release.metadata.generation;
    let Some(status) = release.status.as_ref() else {
        return Observation::NotVerified {
            release: key,
            state: Phase::Pending.as_str().to_string(),
        };
    };
    if let Some(rollback) = status.rollback.as_ref().filter(|r| !r.in_progress)
        && status.phase == Some(Phase::RolledBack)
    {
        return Observation::Failed {
            release: key,
            why: rollback.reason.clone(),
        };
    }
    let ready = condition::find(&status.conditions, types::READY).filter(|c| {
        c.status == ConditionStatus::True
            && c.observed_generation == generation
            && status.observed_generation == generation
    });
    match ready {
        Some(c) => Observation::Verified {
            release: key,
            since: c.last_transition_time,
        },
        None => Observation::NotVerified {
            release: key,
            state: status
                .phase
                .map(|p| p.as_str())
                .unwrap_or(Phase::Pending.as_str())
                .to_string(),
        },
    }
}

/// The observations for every requirement of `release`, by target name (pure). When several
/// releases match, a Verified one counts first, then a failed one.
pub fn observe(releases: &[Arc<ReleaseHandle>], release: &AgentRelease) -> UpstreamSource {
    let mut seen = BTreeMap::new();
    let Some(ns) = release.namespace() else {
        return UpstreamSource::Observed(seen);
    };
    let mut index: BTreeMap<Key, Vec<&ReleaseHandle>> = BTreeMap::new();
    for r in releases.iter().map(|h| h.as_ref()) {
        if let Some(k) = key_of(r) {
            index.entry(k).or_default().push(r);
        }
    }
    for req in release.spec.requirements() {
        let key = (
            ns.clone(),
            req.target_ref.clone(),
            release.spec.model.name.clone(),
            release.spec.version,
            release.spec.model.version,
        );
        let observations: Vec<Observation> = index
            .get(&key)
            .into_iter()
            .flatten()
            .map(|r| observe_one(r))
            .collect();
        let best = observations
            .iter()
            .find(|o| matches!(o, Observation::Verified { .. }))
            .or_else(|| {
                observations
                    .iter()
                    .find(|o| matches!(o, Observation::Failed { .. }))
            })
            .or_else(|| observations.first())
            .cloned()
            .unwrap_or(Observation::Missing);
        seen.insert(req.target_ref.clone(), best);
    }
    UpstreamSource::Observed(seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::DeserializeGuard;
    use serde_json::json;

    fn release(
        name: &str,
        ns: &str,
        target: &str,
        n: i64,
        version: i64,
        status: serde_json::Value,
    ) -> AgentRelease {
        serde_json::from_value(json!({
            "apiVersion": "agentops.dev/v1alpha1", "kind": "AgentRelease",
            "metadata": {"name": name, "namespace": ns, "generation": 1},
            "spec": {
                "targetRef": {"name": target}, "version": n,
                "model": {"name": "main.agents.bot", "version": version, "alias": "champion"},
                "servingEndpoint": {"name": "e", "servedEntities": [{"name": "e", "entityName": "main.agents.bot", "entityVersion": version.to_string()}]},
                "promotion": {"requires": [{"targetRef": "staging", "soak": "1h"}]},
            },
            "status": status,
        }))
        .unwrap()
    }

    fn ready() -> serde_json::Value {
        json!({"observedGeneration": 1, "phase": "Ready", "conditions": [
            {"type": "Ready", "status": "True", "reason": "Released", "message": "",
             "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]})
    }

    fn cache(items: Vec<AgentRelease>) -> Vec<Arc<ReleaseHandle>> {
        items
            .into_iter()
            .map(|r| Arc::new(ReleaseHandle::of(DeserializeGuard(Ok(r)))))
            .collect()
    }

    fn seen(source: UpstreamSource) -> Observation {
        match source {
            UpstreamSource::Observed(m) => m.get("staging").cloned().unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_ready_upstream_of_the_same_agent_n_and_version_is_verified_since_ready() {
        let prod = release("prod", "agents", "prod", 7, 12, json!(null));
        let all = cache(vec![release(
            "staging",
            "agents",
            "staging",
            7,
            12,
            ready(),
        )]);
        match seen(observe(&all, &prod)) {
            Observation::Verified { release, since } => {
                assert_eq!(release, "agents/staging");
                assert_eq!(since.to_string(), "2026-01-01T00:00:00Z");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_namespace_n_or_version_is_not_the_upstream() {
        let prod = release("prod", "agents", "prod", 7, 12, json!(null));
        for other in [
            release("s", "elsewhere", "staging", 7, 12, ready()),
            release("s", "agents", "staging", 6, 12, ready()),
            release("s", "agents", "staging", 7, 11, ready()),
        ] {
            assert_eq!(
                seen(observe(&cache(vec![other]), &prod)),
                Observation::Missing
            );
        }
    }

    #[test]
    fn a_rolled_back_upstream_failed_and_an_unready_one_is_not_verified() {
        let prod = release("prod", "agents", "prod", 7, 12, json!(null));
        let rolled = json!({"observedGeneration": 1, "phase": "RolledBack", "rollback": {
            "fromVersion": 12, "reason": "verification failed", "at": "2026-01-01T00:00:00Z",
            "generation": 1, "fingerprint": "f", "inProgress": false}});
        assert!(matches!(
            seen(observe(
                &cache(vec![release("s", "agents", "staging", 7, 12, rolled)]),
                &prod
            )),
            Observation::Failed { .. }
        ));
        let deploying = json!({"observedGeneration": 1, "phase": "Deploying"});
        assert!(matches!(
            seen(observe(
                &cache(vec![release("s", "agents", "staging", 7, 12, deploying)]),
                &prod
            )),
            Observation::NotVerified { .. }
        ));
    }
}
