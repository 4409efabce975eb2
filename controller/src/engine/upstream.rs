//! Stage requirements (`spec.promotion.requires`): what is known about the upstream release of
//! each required target, where it comes from, and the pure decision over it.
//!
//! The facts come from one of two sources ([`UpstreamSource`]), so the controller and `apply`
//! agree:
//! - the controller observes the upstream AgentRelease in its cache (same namespace, same agent,
//!   N and model version; `kube::upstream_index`);
//! - `apply` reads the upstream's stage record in the workspace, which every release writes when
//!   it becomes Ready and when it is rolled back:
//!
//! ```text
//! <ledger>/stages/<namespace>/<target>/<agent>@v<N>.json   release, model version, state, at
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use agentrelease_api::release::StageRequirement;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ledger::{LedgerPath, MAX_RECORD_BYTES, escape};
use super::upstream_remote::Elsewhere;
use super::workspace::{Workspace, WsResult};

/// What is known about the upstream release of one required target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// No release of the same agent, N and model version on that target.
    Missing,
    /// A release is there but not Verified (yet).
    NotVerified {
        /// `namespace/name`.
        release: String,
        /// Where it stands (its phase).
        state: String,
    },
    /// Verified (Ready) since `since`.
    Verified {
        /// `namespace/name`.
        release: String,
        /// When it became Verified.
        since: Timestamp,
    },
    /// It failed or was rolled back.
    Failed {
        /// `namespace/name`.
        release: String,
        /// Why, as it says.
        why: String,
    },
}

/// Where the upstream facts come from.
#[derive(Debug, Clone)]
pub enum UpstreamSource {
    /// The stage records in the workspace (`apply`). `pending` holds the targets whose release
    /// of the same agent is still being driven in this run: a missing record there is waited
    /// for; elsewhere it blocks (nothing in this run will write it).
    Workspace {
        /// Targets with a release still running in this run.
        pending: BTreeSet<String>,
        /// Required targets on another workspace than the release's, by target name: what
        /// `apply` read from that workspace before the pass (never read from the release's).
        elsewhere: BTreeMap<String, Elsewhere>,
    },
    /// Observations the caller made, by target name (the controller, from its cache). A
    /// missing upstream may appear at any time, so it is waited for.
    Observed(BTreeMap<String, Observation>),
}

impl Default for UpstreamSource {
    fn default() -> Self {
        UpstreamSource::Workspace {
            pending: BTreeSet::new(),
            elsewhere: BTreeMap::new(),
        }
    }
}

impl UpstreamSource {
    /// Whether a missing or unverified upstream on `target` may still turn up without a human.
    pub fn may_appear(&self, target: &str) -> bool {
        match self {
            UpstreamSource::Workspace { pending, .. } => pending.contains(target),
            UpstreamSource::Observed(_) => true,
        }
    }

    /// Whether any upstream is known to have failed or been rolled back (the pass then looks
    /// in full, so the steps decide the Warning or the rollback that follows).
    pub fn any_failed(&self) -> bool {
        match self {
            UpstreamSource::Workspace { elsewhere, .. } => {
                elsewhere.values().any(Elsewhere::failed)
            }
            UpstreamSource::Observed(seen) => seen
                .values()
                .any(|o| matches!(o, Observation::Failed { .. })),
        }
    }
}

/// What one requirement says now (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Verified and soaked.
    Holds(String),
    /// Verified, soaking for `left` more.
    Soaking {
        /// Time left.
        left: Duration,
        /// For the condition.
        message: String,
    },
    /// Not released or not Verified; `wait`: it may still come without a human.
    NotReleased {
        /// For the condition.
        message: String,
        /// Whether to wait (else block).
        wait: bool,
    },
    /// Failed or rolled back.
    Failed(String),
    /// Its workspace is not reachable in this run (`apply`): blocks, saying what to pass.
    Unreachable(String),
}

/// Decides one requirement (pure): `what` names the release's agent, N and model version in
/// messages; `may_appear` says whether a missing upstream is waited for or blocks.
pub fn decide(
    req: &StageRequirement,
    what: &str,
    observation: &Observation,
    now: Timestamp,
    may_appear: bool,
) -> Decision {
    let target = &req.target_ref;
    match observation {
        Observation::Missing => Decision::NotReleased {
            message: format!("no release of {what} on target {target} yet"),
            wait: may_appear,
        },
        Observation::NotVerified { release, state } => Decision::NotReleased {
            message: format!(
                "{release} releases {what} on target {target} but is not Verified yet ({state})"
            ),
            wait: may_appear,
        },
        Observation::Failed { release, why } => Decision::Failed(format!(
            "{release} ({what} on target {target}) failed: {why}"
        )),
        Observation::Verified { release, since } => {
            let soak = req.soak();
            let elapsed = now.duration_since(*since);
            let elapsed = Duration::try_from(elapsed).unwrap_or_default();
            if elapsed >= soak {
                Decision::Holds(format!(
                    "{release} on target {target} Verified since {}",
                    since.strftime("%Y-%m-%dT%H:%M:%SZ")
                ))
            } else {
                let left = soak - elapsed;
                Decision::Soaking {
                    left,
                    message: format!(
                        "{release} on target {target} Verified since {}; soaking {} of {}, {} left",
                        since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        human(elapsed),
                        req.soak,
                        human(left)
                    ),
                }
            }
        }
    }
}

/// `1h2m3s`, whole seconds (rounded up, so "0s left" never shows while time is left).
pub fn human(d: Duration) -> String {
    let mut secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let h = secs / 3600;
    secs %= 3600;
    let m = secs / 60;
    let s = secs % 60;
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// The state a stage record declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageState {
    /// The release became Ready (every step, its verification included, done).
    Verified,
    /// The release was rolled back.
    RolledBack,
}

/// What a release records in the workspace about itself on its target, for downstream stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// `namespace/name`.
    pub release: String,
    /// The agent (registered model).
    pub agent: String,
    /// N.
    pub n: i64,
    /// The model version.
    pub model_version: i64,
    /// Verified or rolled back.
    pub state: StageState,
    /// Since when (RFC 3339).
    pub at: String,
    /// Why (a rollback's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StageRecord {
    /// Parses a record; `None` when it is not one.
    pub fn parse(bytes: &[u8]) -> Option<StageRecord> {
        serde_json::from_slice(bytes).ok()
    }

    /// The JSON document.
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// What the record says about a release of `model_version` (pure): another model version
    /// for the same N is not this release's upstream.
    pub fn observe(&self, model_version: i64) -> Observation {
        if self.model_version != model_version {
            return Observation::NotVerified {
                release: self.release.clone(),
                state: format!("it released model version {}", self.model_version),
            };
        }
        match self.state {
            StageState::Verified => match self.at.parse::<Timestamp>() {
                Ok(since) => Observation::Verified {
                    release: self.release.clone(),
                    since,
                },
                Err(_) => Observation::NotVerified {
                    release: self.release.clone(),
                    state: "its record has no readable time".into(),
                },
            },
            StageState::RolledBack => Observation::Failed {
                release: self.release.clone(),
                why: self
                    .reason
                    .clone()
                    .unwrap_or_else(|| "rolled back".to_string()),
            },
        }
    }
}

/// The path of the stage record of `agent` N=`n` on `namespace/target` under `root`.
pub fn record_path(root: &str, namespace: &str, target: &str, agent: &str, n: i64) -> LedgerPath {
    let root = root.trim_end_matches('/');
    LedgerPath(format!(
        "{root}/stages/{}/{}/{}.json",
        escape(namespace),
        escape(target),
        escape(&format!("{agent}@v{n}"))
    ))
}

/// Reads a stage record; a damaged one reads as absent.
pub async fn read_record<W: Workspace>(ws: &W, path: &LedgerPath) -> WsResult<Option<StageRecord>> {
    Ok(ws
        .read_workspace_file(&path.0, MAX_RECORD_BYTES)
        .await?
        .and_then(|b| StageRecord::parse(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(soak: &str) -> StageRequirement {
        StageRequirement {
            target_ref: "staging".into(),
            soak: soak.into(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const WHAT: &str = "m N=7 model version 12";

    #[test]
    fn missing_waits_when_it_may_appear_and_blocks_otherwise() {
        let now = at("2026-01-01T00:00:00Z");
        for may in [true, false] {
            match decide(&req("1h"), WHAT, &Observation::Missing, now, may) {
                Decision::NotReleased { wait, message } => {
                    assert_eq!(wait, may);
                    assert!(message.contains("target staging"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn verified_soaks_then_holds() {
        let since = at("2026-01-01T00:00:00Z");
        let obs = Observation::Verified {
            release: "ns/staging".into(),
            since,
        };
        match decide(&req("1h"), WHAT, &obs, at("2026-01-01T00:20:00Z"), true) {
            Decision::Soaking { left, message } => {
                assert_eq!(left, Duration::from_secs(40 * 60));
                assert!(message.contains("40m0s left"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide(&req("1h"), WHAT, &obs, at("2026-01-01T01:00:00Z"), true),
            Decision::Holds(_)
        ));
        assert!(matches!(
            decide(&req("0s"), WHAT, &obs, since, false),
            Decision::Holds(_)
        ));
    }

    #[test]
    fn a_clock_behind_the_upstream_soaks_the_whole_time() {
        let obs = Observation::Verified {
            release: "ns/staging".into(),
            since: at("2026-01-01T01:00:00Z"),
        };
        match decide(&req("30m"), WHAT, &obs, at("2026-01-01T00:00:00Z"), true) {
            Decision::Soaking { left, .. } => assert_eq!(left, Duration::from_secs(1800)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failed_and_unverified_upstreams_do_not_hold() {
        let now = at("2026-01-01T00:00:00Z");
        let failed = Observation::Failed {
            release: "ns/staging".into(),
            why: "verification failed".into(),
        };
        match decide(&req("0s"), WHAT, &failed, now, true) {
            Decision::Failed(m) => assert!(m.contains("verification failed"), "{m}"),
            other => panic!("{other:?}"),
        }
        let pending = Observation::NotVerified {
            release: "ns/staging".into(),
            state: "Deploying".into(),
        };
        assert!(matches!(
            decide(&req("0s"), WHAT, &pending, now, false),
            Decision::NotReleased { wait: false, .. }
        ));
    }

    #[test]
    fn a_record_of_another_model_version_is_not_the_upstream() {
        let record = StageRecord {
            release: "ns/staging".into(),
            agent: "m".into(),
            n: 7,
            model_version: 11,
            state: StageState::Verified,
            at: "2026-01-01T00:00:00Z".into(),
            reason: None,
        };
        assert!(matches!(
            record.observe(12),
            Observation::NotVerified { .. }
        ));
        assert!(matches!(record.observe(11), Observation::Verified { .. }));
        let rolled = StageRecord {
            state: StageState::RolledBack,
            reason: Some("deployment failed".into()),
            ..record.clone()
        };
        assert!(matches!(rolled.observe(11), Observation::Failed { .. }));
        assert_eq!(StageRecord::parse(record.render().as_bytes()), Some(record));
    }

    #[test]
    fn record_paths_are_one_segment_per_key() {
        assert_eq!(
            record_path("/l/", "agents", "staging", "main.agents.bot", 7).0,
            "/l/stages/agents/staging/main.agents.bot@v7.json"
        );
    }

    #[test]
    fn human_durations_round_up() {
        assert_eq!(human(Duration::from_millis(1500)), "2s");
        assert_eq!(human(Duration::from_secs(3723)), "1h2m3s");
    }
}
