//! Writing status with server-side apply under one field manager: the whole status each time,
//! never a read-modify-write; only when something changed, and never from a cache that has not
//! yet brought back this process's own last write (that reconcile looks again shortly).

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

/// How soon a reconcile whose status was not written, because it started from a cache older
/// than this process's own last write, looks again.
pub const DEFER: Duration = Duration::from_secs(2);

/// What [`write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusWrite {
    /// The status was applied.
    Written,
    /// The cache already shows this status.
    Unchanged,
    /// Not written: the cache still shows the status from before this process's last write
    /// of it, so this status was decided on stale input; look again after [`DEFER`].
    Deferred,
}

/// The statuses this process wrote that the watch may not have brought back yet, per release
/// uid: a release queued again in the meantime (its ReleaseTarget changed, say) would
/// otherwise decide from the status before the write and write a second one, its timestamps
/// newer. Each entry is two hashes, so a fleet of 10,000 releases costs well under a megabyte.
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
    /// Whether the cache is older than this process's own last write for `uid` (it still
    /// shows the status that write replaced). A status changed by anyone else since, or an
    /// entry older than [`IN_FLIGHT`], is the truth again.
    fn stale(&self, uid: &str, current: u64, now: Instant) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return false;
        };
        match last.get(uid).copied() {
            Some(e) if now.duration_since(e.at) >= IN_FLIGHT || current == e.wrote => {
                // Back through the watch (or too old to wait for): nothing in flight.
                last.remove(uid);
                false
            }
            Some(e) => current == e.over,
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

/// Applies `status` unless it equals `current` (the cache's), or `current` is older than this
/// process's own last write of the release.
pub async fn write(
    api: &Api<AgentRelease>,
    name: &str,
    uid: &str,
    current: Option<&AgentReleaseStatus>,
    status: &AgentReleaseStatus,
    written: &Written,
) -> Result<StatusWrite, kube::Error> {
    if current == Some(status) {
        return Ok(StatusWrite::Unchanged);
    }
    let over = fingerprint(current);
    if written.stale(uid, over, Instant::now()) {
        return Ok(StatusWrite::Deferred);
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(status_patch(status)))
        .await?;
    written.wrote(uid, over, fingerprint(Some(status)), Instant::now());
    Ok(StatusWrite::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_older_than_an_own_write_is_stale() {
        let w = Written::default();
        let t0 = Instant::now();
        w.wrote("u1", 1, 2, t0);
        // The cache still shows the status before the write: whatever was decided from it
        // is not written.
        assert!(w.stale("u1", 1, t0));
        // Other releases are not affected.
        assert!(!w.stale("u2", 1, t0));
    }

    #[test]
    fn once_seen_or_changed_by_someone_else_or_too_old_the_cache_is_the_truth() {
        let w = Written::default();
        let t0 = Instant::now();
        w.wrote("u1", 1, 2, t0);
        assert!(!w.stale("u1", 2, t0), "back through the watch");
        assert!(!w.stale("u1", 1, t0), "the entry is gone once seen");
        w.wrote("u1", 1, 2, t0);
        assert!(!w.stale("u1", 7, t0), "someone else changed the status");
        w.wrote("u1", 1, 2, t0);
        assert!(!w.stale("u1", 1, t0 + IN_FLIGHT), "too old to wait for");
        w.wrote("u1", 1, 2, t0);
        w.wrote("u2", 1, 2, t0 + IN_FLIGHT);
        w.prune(t0 + IN_FLIGHT);
        assert!(!w.stale("u1", 1, t0), "pruned");
        assert!(w.stale("u2", 1, t0 + IN_FLIGHT), "kept");
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
