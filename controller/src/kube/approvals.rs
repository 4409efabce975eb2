//! The controller's side of the approval hold and the newer-versions poll: which cached
//! AgentReleaseApprovals belong to a release (pure, over the cache), which release a new approval
//! wakes, and when a release's registered model is due to be polled again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrelease_api::AgentReleaseApproval;
use kube::ResourceExt;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::ObjectRef;

use crate::engine::steps::approved::KubeApproval;

use super::handle::ReleaseHandle;

/// The approvals of `release` in `namespace`, as the engine reads them (objects that do not
/// decode are skipped).
pub fn approvals_of(
    approvals: &[Arc<DeserializeGuard<AgentReleaseApproval>>],
    namespace: &str,
    release: &str,
) -> Vec<KubeApproval> {
    approvals
        .iter()
        .filter_map(|guard| guard.0.as_ref().ok())
        .filter(|a| a.namespace().as_deref() == Some(namespace) && a.spec.release == release)
        .map(|a| KubeApproval {
            name: a.name_any(),
            spec: a.spec.clone(),
            created_at: a.metadata.creation_timestamp.as_ref().map(|t| t.0),
        })
        .collect()
}

/// The release an approval approves (same namespace), which a new approval wakes.
pub fn release_of(
    approval: &DeserializeGuard<AgentReleaseApproval>,
) -> Option<ObjectRef<ReleaseHandle>> {
    let a = approval.0.as_ref().ok()?;
    Some(ObjectRef::new(&a.spec.release).within(&a.namespace()?))
}

/// Whether a poll is due (pure): never polled, or polled at least `interval` ago.
pub fn is_due(last: Option<Instant>, now: Instant, interval: Duration) -> bool {
    last.is_none_or(|at| now.saturating_duration_since(at) >= interval)
}

/// When each release's registered model was last polled for newer versions (in memory: a
/// restarted controller polls each release once more, then on the resync interval).
#[derive(Debug, Default)]
pub struct NewerPolls {
    last: Mutex<HashMap<String, Instant>>,
}

impl NewerPolls {
    /// Whether the release `key` is due for a poll; a due poll is recorded as taken now.
    pub fn take(&self, key: &str, interval: Duration) -> bool {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return false;
        };
        if is_due(last.get(key).copied(), now, interval) {
            last.insert(key.to_string(), now);
            true
        } else {
            false
        }
    }

    /// Forgets releases that no longer exist.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        if let Ok(mut last) = self.last.lock() {
            last.retain(|k, _| keep(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrelease_api::AgentReleaseApprovalSpec;

    fn approval(ns: &str, release: &str) -> Arc<DeserializeGuard<AgentReleaseApproval>> {
        let mut a = AgentReleaseApproval::new(
            "a1",
            AgentReleaseApprovalSpec {
                release: release.into(),
                n: 7,
                model_version: "12".into(),
                approved_by: "alice".into(),
                comment: None,
                identity: None,
            },
        );
        a.metadata.namespace = Some(ns.into());
        Arc::new(DeserializeGuard(Ok(a)))
    }

    #[test]
    fn only_approvals_of_the_release_in_its_namespace_are_read() {
        let cache = [
            approval("agents", "skyloyalty-v7"),
            approval("other", "skyloyalty-v7"),
            approval("agents", "skyloyalty-v6"),
        ];
        let found = approvals_of(&cache, "agents", "skyloyalty-v7");
        assert_eq!(found.len(), 1);
        assert_eq!(
            release_of(&cache[1]),
            Some(ObjectRef::new("skyloyalty-v7").within("other"))
        );
    }

    #[test]
    fn a_poll_is_due_once_per_interval() {
        let t0 = Instant::now();
        let five = Duration::from_secs(300);
        assert!(is_due(None, t0, five));
        assert!(!is_due(Some(t0), t0 + Duration::from_secs(299), five));
        assert!(is_due(Some(t0), t0 + five, five));
        let polls = NewerPolls::default();
        assert!(polls.take("ns/r", five));
        assert!(!polls.take("ns/r", five));
        assert!(polls.take("ns/other", five));
    }
}
