//! Writing status with server-side apply under one field manager: the whole status each time,
//! never a read-modify-write; only when something changed, and not again while the cache has
//! not yet brought back this process's own last write.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agentrelease_api::{AgentRelease, AgentReleaseStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "agentrelease-controller";

/// The apply patch for a status.
pub fn status_patch(status: &AgentReleaseStatus) -> Value {
    json!({
        "apiVersion": agentrelease_api::API_VERSION,
        "kind": "AgentRelease",
        "status": status,
    })
}

/// How long a write of this process is taken to be on its way back through the watch; past
/// it, whatever the cache shows is the truth again.
pub const IN_FLIGHT: Duration = Duration::from_secs(60);

/// The statuses this process wrote that the watch may not have brought back yet, per release
/// uid: a release queued again in the meantime (its ReleaseTarget changed, say) would
/// otherwise see the status from before the write and write the same status a second time.
/// Each entry is two hashes, so a fleet of 10,000 releases costs well under a megabyte.
#[derive(Debug, Default)]
pub struct Written {
    last: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The status the cache showed when this process wrote.
    over: u64,
    /// The status written.
    wrote: u64,
    at: Instant,
}

impl Written {
    /// Whether writing `new` now repeats this process's own write that the cache has not
    /// shown yet (it still shows the status that write replaced). A status changed by anyone
    /// else since, or an entry older than [`IN_FLIGHT`], repeats nothing.
    fn repeats(&self, uid: &str, current: u64, new: u64, now: Instant) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return false;
        };
        match last.get(uid).copied() {
            Some(e) if now.duration_since(e.at) >= IN_FLIGHT || current == e.wrote => {
                // Back through the watch (or too old to wait for): nothing in flight.
                last.remove(uid);
                false
            }
            Some(e) => current == e.over && new == e.wrote,
            None => false,
        }
    }

    fn wrote(&self, uid: &str, over: u64, wrote: u64, now: Instant) {
        if let Ok(mut last) = self.last.lock() {
            last.insert(
                uid.to_string(),
                Entry {
                    over,
                    wrote,
                    at: now,
                },
            );
        }
    }

    /// Forgets writes older than [`IN_FLIGHT`] (releases deleted, or never queued again).
    pub fn prune(&self, now: Instant) {
        if let Ok(mut last) = self.last.lock() {
            last.retain(|_, e| now.duration_since(e.at) < IN_FLIGHT);
        }
    }
}

/// A hash of a status as it would be written (`None` is no status).
fn fingerprint(status: Option<&AgentReleaseStatus>) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_vec(&status).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Applies `status` unless it equals `current` (the cache's) or repeats this process's own
/// write still on its way back; returns whether it wrote.
pub async fn write(
    api: &Api<AgentRelease>,
    name: &str,
    uid: &str,
    current: Option<&AgentReleaseStatus>,
    status: &AgentReleaseStatus,
    written: &Written,
) -> Result<bool, kube::Error> {
    if current == Some(status) {
        return Ok(false);
    }
    let (over, new) = (fingerprint(current), fingerprint(Some(status)));
    if written.repeats(uid, over, new, Instant::now()) {
        return Ok(false);
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(status_patch(status)))
        .await?;
    written.wrote(uid, over, new, Instant::now());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_write_not_yet_seen_is_not_repeated() {
        let w = Written::default();
        let t0 = Instant::now();
        w.wrote("u1", 1, 2, t0);
        // The cache still shows the status before the write: the same status is not
        // written again, another one is.
        assert!(w.repeats("u1", 1, 2, t0));
        assert!(!w.repeats("u1", 1, 3, t0));
        // Other releases are not affected.
        assert!(!w.repeats("u2", 1, 2, t0));
    }

    #[test]
    fn once_seen_or_changed_by_someone_else_or_too_old_the_cache_is_the_truth() {
        let w = Written::default();
        let t0 = Instant::now();
        w.wrote("u1", 1, 2, t0);
        assert!(!w.repeats("u1", 2, 2, t0), "back through the watch");
        assert!(!w.repeats("u1", 1, 2, t0), "the entry is gone once seen");
        w.wrote("u1", 1, 2, t0);
        assert!(
            !w.repeats("u1", 7, 2, t0),
            "someone else changed the status"
        );
        w.wrote("u1", 1, 2, t0);
        assert!(
            !w.repeats("u1", 1, 2, t0 + IN_FLIGHT),
            "too old to wait for"
        );
        w.wrote("u1", 1, 2, t0);
        w.wrote("u2", 1, 2, t0 + IN_FLIGHT);
        w.prune(t0 + IN_FLIGHT);
        assert!(!w.repeats("u1", 1, 2, t0), "pruned");
        assert!(w.repeats("u2", 1, 2, t0 + IN_FLIGHT), "kept");
    }

    #[test]
    fn fingerprints_tell_statuses_apart() {
        let a = AgentReleaseStatus::default();
        let b = AgentReleaseStatus {
            observed_generation: Some(2),
            ..Default::default()
        };
        assert_eq!(fingerprint(Some(&a)), fingerprint(Some(&a.clone())));
        assert_ne!(fingerprint(Some(&a)), fingerprint(Some(&b)));
        assert_ne!(fingerprint(None), fingerprint(Some(&b)));
    }
}
