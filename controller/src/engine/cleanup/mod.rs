//! What deleting an AgentRelease does in the workspace: it cleans up only what the release owns
//! now, under the release lock, and gives its ledger records back.
//!
//! **The lock.** A release that owns any ledger record takes the release lock of its alias (the
//! one a pass takes) as its own writer ([`lock::cleanup_writer`]), reads again what it decides
//! on, and gives the lock back at its end. Held by another writer: nothing is written, and the
//! caller waits and tries again ([`CleanupError::Locked`]); it never writes without the lock.
//! A release that owns no record (superseded, or cleaned up already) has nothing to write: it
//! takes no lock and makes no write at all.
//!
//! **What is removed.** Every ledger record is read first (and, when the release owns one and
//! its policy is `Delete`, the alias, the app and the endpoint); a failed read stops the cleanup
//! before any write, to be tried again — nothing is deleted on a guess. Then, per object:
//! - owned by the deleted release (the record's owner is its `namespace/name`): with `Delete`,
//!   the alias is removed when it still points at the version the release promoted, and the app
//!   and endpoint are deleted when the release created them (`status.created`), not when it
//!   adopted them; with `Retain` everything stays. Except when a newer release of its agent
//!   owns one of its other objects: the release is superseded and that release's takeover
//!   stopped half-way, so what it still owns stays for the successor to take over;
//! - owned by another release (a superseding one, or any other), unclaimed, or with a damaged
//!   record: the object and its record are not touched, and the report says why ("kept app X:
//!   owned by release ns/v8 ..."); a damaged record is a warning — repair or delete it.
//!
//! **The ledger records.** Each record the deleted release owns is given back, with either
//! policy: removed when nothing in it outlives the release, otherwise rewritten without an owner
//! (any release may claim it, and keeps what it kept). What outlives the release, in an alias
//! record: the last good release when it names another release (a later rollback restores
//! it), or names this release while its alias stays (it describes what the workspace still
//! serves); another release's rollback hold (that release stays held). What goes: the owner,
//! its plan note, a hold of the deleted release, and its own last good release once its alias
//! is gone (a rollback must not bring back what the deletion removed).
//!
//! **Suspended.** A suspended release never touches the workspace, and its deletion neither: no
//! lock, no read, no write; its ledger records stay owned by it (the strict reading of "a
//! suspended release writes nothing"). To give them back, delete them by hand, or resume the
//! release (it then reconciles) before deleting it.
//!
//! **Interrupted.** An object is removed before its record, so a cleanup that stopped between
//! two writes, run again, finds the record still its own and finishes: an alias or app already
//! gone (or an app already `DELETING`) is not removed twice, a record already removed is
//! absent, a record already released names no owner and is left alone; a successor that
//! claimed in between owns the record, and its objects are kept.
//!
//! The decisions are pure ([`decide`]); this module does the reads and the writes.

pub mod decide;

pub use decide::{Action, Found, Kept, Observed, Presence};

use agentrelease_api::AgentRelease;
use agentrelease_api::release::DeletionPolicy;
use bytes::Bytes;

use super::ledger::{self, LedgerPath, Owned, Record};
use super::lock::{self, LockError};
use super::states::ComputeState;
use super::workspace::{Workspace, WorkspaceError, WorkspaceErrorKind};

/// Why the cleanup stopped before it finished (it is tried again).
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// Another writer holds the release lock: nothing was read or written.
    #[error("waiting for the release lock of {alias}: {source}; nothing was changed")]
    Locked {
        /// `model@alias`.
        alias: String,
        /// Who holds it and until when.
        #[source]
        source: LockError,
    },
    /// A workspace call failed; what was done before it stays done, the rest is tried again.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl CleanupError {
    /// A short category for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            CleanupError::Locked { .. } => "lock_held",
            CleanupError::Workspace(_) => "workspace",
        }
    }
}

/// What a finished cleanup did and left, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Each removal, record change and kept object.
    pub actions: Vec<Action>,
}

impl Report {
    /// One line per action.
    pub fn lines(&self) -> Vec<String> {
        self.actions.iter().map(Action::describe).collect()
    }

    /// The lines a person should act on (damaged records).
    pub fn warnings(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter(|a| a.is_warning())
            .map(Action::describe)
            .collect()
    }
}

/// Cleans up after `release` (`key` = `namespace/name`) is deleted, writing as `writer` at `now`.
pub async fn run<W: Workspace>(
    release: &AgentRelease,
    key: &str,
    ws: &W,
    writer: &str,
    now: jiff::Timestamp,
) -> Result<Report, CleanupError> {
    if release.spec.policy.suspend {
        let nothing = Observed {
            records: Vec::new(),
            alias: None,
            app: Presence::Absent,
            endpoint: Presence::Absent,
        };
        return Ok(Report {
            actions: decide::decide(release, key, &nothing),
        });
    }
    let root = ledger::DEFAULT_ROOT;
    // A release that owns no record has nothing to write: decided without the lock, no write.
    let records = read_records(release, ws, root).await?;
    if !owns_any(&records, key) {
        let observed = Observed {
            records,
            alias: None,
            app: Presence::Absent,
            endpoint: Presence::Absent,
        };
        return Ok(Report {
            actions: decide::decide(release, key, &observed),
        });
    }
    let model = &release.spec.model;
    let lock_path = lock::path(root, &model.name, &model.alias);
    match lock::take(ws, &lock_path, writer, key, now).await {
        Ok(()) => {}
        Err(LockError::Workspace(e)) => return Err(e.into()),
        Err(held) => {
            return Err(CleanupError::Locked {
                alias: format!("{}@{}", model.name, model.alias),
                source: held,
            });
        }
    }
    let result = locked(release, key, ws, root).await;
    // A failure to give the lock back is left to its expiry (this writer takes it again).
    let _ = lock::give_back(ws, &lock_path, writer).await;
    result
}

/// Reads, decides and writes, under the lock.
async fn locked<W: Workspace>(
    release: &AgentRelease,
    key: &str,
    ws: &W,
    root: &str,
) -> Result<Report, CleanupError> {
    let observed = observe(release, key, ws, root).await?;
    let actions = decide::decide(release, key, &observed);
    for action in &actions {
        execute(ws, root, action).await?;
    }
    Ok(Report { actions })
}

/// Every read the decision needs, before any write.
async fn observe<W: Workspace>(
    release: &AgentRelease,
    key: &str,
    ws: &W,
    root: &str,
) -> Result<Observed, WorkspaceError> {
    let spec = &release.spec;
    let mut observed = Observed {
        records: read_records(release, ws, root).await?,
        alias: None,
        app: Presence::Absent,
        endpoint: Presence::Absent,
    };
    // The objects matter only to what a `Delete` release owns.
    if !owns_any(&observed.records, key) || spec.policy.deletion != DeletionPolicy::Delete {
        return Ok(observed);
    }
    observed.alias = ws.get_alias(&spec.model.name, &spec.model.alias).await?;
    if let Some(app) = &spec.app {
        observed.app = match ws.get_app(&app.name).await? {
            None => Presence::Absent,
            Some(a) if a.compute_state == Some(ComputeState::Deleting) => Presence::Going,
            Some(_) => Presence::Present,
        };
    }
    if let Some(endpoint) = &spec.serving_endpoint {
        observed.endpoint = match ws.get_endpoint(&endpoint.name).await? {
            None => Presence::Absent,
            Some(_) => Presence::Present,
        };
    }
    Ok(observed)
}

/// The ledger record of each object the release names.
async fn read_records<W: Workspace>(
    release: &AgentRelease,
    ws: &W,
    root: &str,
) -> Result<Vec<(Owned, Found)>, WorkspaceError> {
    let mut records = Vec::new();
    for object in ledger::owned_by(&release.spec) {
        let found = read_record(ws, &object.path(root)).await?;
        records.push((object, found));
    }
    Ok(records)
}

fn owns_any(records: &[(Owned, Found)], key: &str) -> bool {
    records
        .iter()
        .any(|(_, f)| matches!(f, Found::Record(r) if r.owned_by(key)))
}

async fn read_record<W: Workspace>(ws: &W, path: &LedgerPath) -> Result<Found, WorkspaceError> {
    match ws
        .read_workspace_file(&path.0, ledger::MAX_RECORD_BYTES)
        .await
    {
        Ok(None) => Ok(Found::Absent),
        Ok(Some(bytes)) => Ok(Record::parse(&bytes).map_or_else(
            || Found::Damaged(format!("{path} is not a record this operator wrote")),
            |r| Found::Record(Box::new(r)),
        )),
        Err(e) if e.kind == WorkspaceErrorKind::TooLarge => Ok(Found::Damaged(format!(
            "{path} is larger than a record can be"
        ))),
        Err(e) => Err(e),
    }
}

/// The one place a cleanup action becomes requests; each is idempotent.
async fn execute<W: Workspace>(ws: &W, root: &str, action: &Action) -> Result<(), WorkspaceError> {
    match action {
        Action::RemoveAlias { model, alias, .. } => {
            ignore_missing(ws.delete_alias(model, alias).await)
        }
        Action::DeleteApp(name) => ignore_missing(ws.delete_app(name).await),
        Action::DeleteEndpoint(name) => ignore_missing(ws.delete_endpoint(name).await),
        Action::DeleteRecord(object) => ws.delete_workspace_file(&object.path(root).0).await,
        Action::ReleaseRecord(object, record) => ws
            .write_workspace_file(&object.path(root).0, Bytes::from(record.render()), true)
            .await
            .map(|_| ()),
        Action::Keep(..) => Ok(()),
    }
}

fn ignore_missing(result: Result<(), WorkspaceError>) -> Result<(), WorkspaceError> {
    match result {
        Err(e) if e.kind == WorkspaceErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The ledger records of the objects `release` names, for messages that tell a person which
/// records to delete by hand.
pub fn record_paths(release: &AgentRelease) -> Vec<LedgerPath> {
    ledger::owned_by(&release.spec)
        .iter()
        .map(|o: &Owned| o.path(ledger::DEFAULT_ROOT))
        .collect()
}
