//! Required stages on another workspace (`apply`): a ReleaseTarget that a release requires
//! (`spec.promotion.requires`) may live on another Databricks workspace than the one the release
//! is driven on. `apply` then reads the upstream's stage record from that workspace — read only,
//! before each pass — and hands what it found to the pass as an [`Elsewhere`], so the step never
//! reads the wrong workspace: a stage whose workspace this run does not reach blocks with
//! `UpstreamNotReleased` and says what to pass.

use super::ledger::DEFAULT_ROOT;
use super::upstream::{self, Observation, StageRecord};
use super::workspace::{Workspace, WorkspaceError};

/// What `apply` knows about a required stage whose workspace is not the release's own.
#[derive(Debug, Clone)]
pub enum Elsewhere {
    /// Its stage record as read from its own workspace just before the pass (`None`: no record
    /// there).
    Read {
        /// The upstream target's workspace (its origin).
        host: String,
        /// What was read.
        record: Option<StageRecord>,
    },
    /// Reading it failed (retried on the next pass when transient).
    Failed {
        /// The upstream target's workspace.
        host: String,
        /// What the read failed with.
        error: WorkspaceError,
    },
    /// Its workspace is not reachable in this run: what is missing and what to pass.
    Unreachable(String),
}

/// What the step knows about one required stage (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// An observation; `host` names the workspace it was read in when that is not the
    /// release's own (for the messages).
    Observed {
        /// The observation.
        observation: Observation,
        /// The other workspace.
        host: Option<String>,
    },
    /// The stage cannot be read in this run: blocks with this message.
    Unreachable(String),
}

impl Elsewhere {
    /// What the record says about a release of `model_version` (pure); a failed read is
    /// returned as the error.
    pub fn seen(&self, model_version: i64) -> Result<Seen, WorkspaceError> {
        match self {
            Elsewhere::Read { host, record } => Ok(Seen::Observed {
                observation: record
                    .as_ref()
                    .map_or(Observation::Missing, |r| r.observe(model_version)),
                host: Some(host.clone()),
            }),
            Elsewhere::Failed { host, error } => Err(WorkspaceError {
                kind: error.kind,
                operation: format!("read the stage record in workspace {host}"),
                message: error.to_string(),
            }),
            Elsewhere::Unreachable(message) => Ok(Seen::Unreachable(message.clone())),
        }
    }

    /// Whether it says the upstream was rolled back or failed.
    pub fn failed(&self) -> bool {
        matches!(self, Elsewhere::Read { record: Some(r), .. }
            if r.state == upstream::StageState::RolledBack)
    }
}

/// Reads the stage record of `agent` N=`n` on `namespace/target` from `ws`, the upstream
/// target's own workspace `host` (a read, never a write).
pub async fn read<W: Workspace>(
    ws: &W,
    host: &str,
    namespace: &str,
    target: &str,
    agent: &str,
    n: i64,
) -> Elsewhere {
    let path = upstream::record_path(DEFAULT_ROOT, namespace, target, agent, n);
    match upstream::read_record(ws, &path).await {
        Ok(record) => Elsewhere::Read {
            host: host.to_string(),
            record,
        },
        Err(error) => Elsewhere::Failed {
            host: host.to_string(),
            error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::upstream::StageState;
    use crate::engine::workspace::WorkspaceErrorKind;

    fn record(state: StageState) -> StageRecord {
        StageRecord {
            release: "agents/skyloyalty-v7-staging".into(),
            agent: "m".into(),
            n: 7,
            model_version: 12,
            state,
            at: "2026-01-01T00:00:00Z".into(),
            reason: None,
        }
    }

    #[test]
    fn a_record_read_elsewhere_is_observed_with_its_workspace() {
        let read = Elsewhere::Read {
            host: "https://stg".into(),
            record: Some(record(StageState::Verified)),
        };
        match read.seen(12) {
            Ok(Seen::Observed { observation, host }) => {
                assert!(matches!(observation, Observation::Verified { .. }));
                assert_eq!(host.as_deref(), Some("https://stg"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!read.failed());
        let none = Elsewhere::Read {
            host: "https://stg".into(),
            record: None,
        };
        assert!(matches!(
            none.seen(12),
            Ok(Seen::Observed {
                observation: Observation::Missing,
                ..
            })
        ));
        let rolled = Elsewhere::Read {
            host: "https://stg".into(),
            record: Some(record(StageState::RolledBack)),
        };
        assert!(rolled.failed());
    }

    #[test]
    fn a_failed_read_keeps_its_kind_and_names_the_workspace() {
        let failed = Elsewhere::Failed {
            host: "https://stg".into(),
            error: WorkspaceError {
                kind: WorkspaceErrorKind::Transient,
                operation: "export".into(),
                message: "503".into(),
            },
        };
        let error = failed.seen(12).expect_err("failed");
        assert_eq!(error.kind, WorkspaceErrorKind::Transient);
        assert!(
            error.to_string().contains("workspace https://stg"),
            "{error}"
        );
        assert!(matches!(
            Elsewhere::Unreachable("pass --upstream-host".into()).seen(12),
            Ok(Seen::Unreachable(m)) if m.contains("--upstream-host")
        ));
    }
}
