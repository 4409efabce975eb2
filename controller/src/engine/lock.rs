//! One writer per release at a time, across processes: a short-lived lock record in the target
//! workspace's release ledger (`<ledger>/locks/<model>@<alias>.json`), so two CI runs, or CI and
//! the controller, never interleave the read-decide-write of one pass. A pass that may write (the
//! release is not Ready for its generation) takes the lock before it reads what it decides on,
//! and gives it back at its end; a converged pass takes no lock and writes nothing.
//!
//! The record names its holder and an expiry: a holder that died is waited out (at most
//! [`TTL`]); the same process takes its own lock again. The workspace has no compare-and-swap,
//! so a claim is read back: of two writers that both found the lock free, the one whose record
//! is not the one read back stands down.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ledger::LedgerPath;
use super::workspace::{CreateOutcome, Workspace, WorkspaceError, WorkspaceErrorKind, WsResult};

/// How long a lock holds without being given back.
pub const TTL: Duration = Duration::from_secs(120);
/// The largest lock record read.
const MAX_LOCK_BYTES: u64 = 16 * 1024;

/// This process as a writer: stable for its lifetime, different for every process.
pub fn process_writer() -> &'static str {
    static WRITER: OnceLock<String> = OnceLock::new();
    WRITER.get_or_init(|| {
        let nanos = Timestamp::now().as_nanosecond();
        format!("pid-{}-{:x}", std::process::id(), nanos & 0xffff_ffff)
    })
}

/// This process as the writer of the cleanup of `release` (`namespace/name`) when it is
/// deleted: not the writer of its passes, so a pass of another release of the same alias in this
/// process (which holds the lock as [`process_writer`]) keeps the cleanup out, and the cleanup
/// keeps that pass out.
pub fn cleanup_writer(release: &str) -> String {
    format!("{}/cleanup/{release}", process_writer())
}

/// The lock record of the releases of `model@alias` under the ledger folder `root`.
pub fn path(root: &str, model: &str, alias: &str) -> LedgerPath {
    super::ledger::Owned::Alias {
        model: model.to_string(),
        alias: alias.to_string(),
    }
    .path(&format!("{}/locks", root.trim_end_matches('/')))
}

/// The lock record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Who holds it.
    pub holder: String,
    /// The release it protects (`namespace/name`).
    pub release: String,
    /// When it lapses (RFC 3339).
    pub expires_at: Timestamp,
}

/// Why the lock could not be taken.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LockError {
    /// Another writer holds it.
    #[error(
        "another writer ({holder}, release {release}) holds the release lock until {expires_at}"
    )]
    Held {
        /// The holder.
        holder: String,
        /// The release it names.
        release: String,
        /// When it lapses.
        expires_at: Timestamp,
    },
    /// The workspace failed.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl LockError {
    /// A short category for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            LockError::Held { .. } => "lock_held",
            LockError::Workspace(_) => "workspace",
        }
    }
}

/// Whether `me` may take a lock whose record is `current` at `now` (pure).
pub fn may_take(current: Option<&LockRecord>, me: &str, now: Timestamp) -> bool {
    current.is_none_or(|r| r.holder == me || r.expires_at <= now)
}

/// Takes the lock at `path` for `release` as `me`.
pub async fn take<W: Workspace>(
    ws: &W,
    path: &LedgerPath,
    me: &str,
    release: &str,
    now: Timestamp,
) -> Result<(), LockError> {
    let current = read(ws, path).await?;
    if !may_take(current.as_ref(), me, now) {
        return Err(held(current));
    }
    let expires_at = now
        .checked_add(jiff::SignedDuration::try_from(TTL).unwrap_or_default())
        .unwrap_or(now);
    let record = LockRecord {
        holder: me.to_string(),
        release: release.to_string(),
        expires_at,
    };
    let text = serde_json::to_string(&record).unwrap_or_default();
    let replace = current.is_some();
    match ws
        .write_workspace_file(&path.0, Bytes::from(text), replace)
        .await?
    {
        CreateOutcome::Created => {}
        CreateOutcome::AlreadyExists => return Err(held(read(ws, path).await?)),
    }
    // No compare-and-swap: read back, and stand down when another writer's record won.
    match read(ws, path).await? {
        Some(r) if r.holder == me => Ok(()),
        other => Err(held(other)),
    }
}

/// Gives the lock back (only when this writer holds it).
pub async fn give_back<W: Workspace>(ws: &W, path: &LedgerPath, me: &str) -> WsResult<()> {
    match read(ws, path).await {
        Ok(Some(r)) if r.holder == me => ws.delete_workspace_file(&path.0).await,
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

fn held(record: Option<LockRecord>) -> LockError {
    match record {
        Some(r) => LockError::Held {
            holder: r.holder,
            release: r.release,
            expires_at: r.expires_at,
        },
        None => LockError::Workspace(WorkspaceError::new(
            WorkspaceErrorKind::Conflict,
            "take the release lock",
            "the lock changed hands while it was taken",
        )),
    }
}

async fn read<W: Workspace>(ws: &W, path: &LedgerPath) -> WsResult<Option<LockRecord>> {
    match ws.read_workspace_file(&path.0, MAX_LOCK_BYTES).await? {
        // A damaged record is treated as a lapsed one: it names nobody who could give it back.
        Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(holder: &str, expires: i64) -> LockRecord {
        LockRecord {
            holder: holder.into(),
            release: "ns/r".into(),
            expires_at: Timestamp::from_second(expires).expect("ts"),
        }
    }

    #[test]
    fn a_lock_is_taken_when_free_lapsed_or_ours() {
        let now = Timestamp::from_second(1_000).expect("ts");
        assert!(may_take(None, "a", now));
        assert!(may_take(Some(&record("a", 2_000)), "a", now));
        assert!(!may_take(Some(&record("b", 2_000)), "a", now));
        assert!(may_take(Some(&record("b", 1_000)), "a", now));
    }

    #[test]
    fn a_cleanup_waits_for_a_pass_of_its_own_process_and_the_other_way_round() {
        let now = Timestamp::from_second(1_000).expect("ts");
        let cleanup = cleanup_writer("ns/v7");
        assert!(!may_take(
            Some(&record(process_writer(), 2_000)),
            &cleanup,
            now
        ));
        assert!(!may_take(
            Some(&record(&cleanup, 2_000)),
            process_writer(),
            now
        ));
        assert!(may_take(Some(&record(&cleanup, 2_000)), &cleanup, now));
        assert_ne!(cleanup, cleanup_writer("ns/v8"));
    }

    #[test]
    fn writers_differ_by_process_and_stay_put_within_one() {
        assert_eq!(process_writer(), process_writer());
        assert!(process_writer().starts_with("pid-"));
    }
}
