//! Full checks and quick checks of a converged release.
//!
//! A full pass reads every artifact, ledger record, ACL and grant (about twenty reads). A
//! release that a full pass found converged — Ready at its generation, nothing to write — is
//! then looked at through the objects people change by hand most: the alias, the app (its
//! deployment, compute and resources) and the serving endpoint, and the owner of the alias in
//! the release ledger (a newer release that took the objects over supersedes this one). While a
//! digest of those equals the one the last full check recorded, and `policy.fullCheckInterval`
//! has not passed, the pass ends there: four reads, no write, the status as it was. Anything else — a digest that
//! differs, a read that fails, a spec change, a rollback under way, a reconcile request — runs
//! the full pass in the same reconcile, so a quick check never decides anything on its own.

use std::time::Duration;

use agentrelease_api::AgentReleaseStatus;
use agentrelease_api::conditions::types;
use agentrelease_api::status::FullCheckRecord;
use jiff::Timestamp;

use super::context::ReleaseContext;
use super::fingerprint;
use super::status;
use super::workspace::{AppInfo, EndpointInfo, Workspace, WsResult};

/// What the quick check reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The version the alias points at.
    pub alias: Option<i64>,
    /// The app, when the release has one.
    pub app: Option<AppInfo>,
    /// The serving endpoint, when the release has one.
    pub endpoint: Option<EndpointInfo>,
    /// The release (`namespace/name`) the ledger names as the alias's owner (`None`: no record,
    /// or one that does not parse).
    pub owner: Option<String>,
}

/// Why a pass may end after the quick check (or must not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// The last full check is recent and saw this generation converged.
    Quick,
    /// A full pass is due.
    Full,
}

/// Whether the pass may be a quick check: the old status is Ready at `generation`, no
/// rollback is under way, no reconcile request is unhandled, and the last full check of this
/// generation ran less than `interval` before `now`.
pub fn eligibility(
    old: &AgentReleaseStatus,
    generation: i64,
    now: Timestamp,
    interval: Duration,
    reconcile_requested: Option<&str>,
) -> Eligibility {
    let Some(record) = old.full_check.as_ref() else {
        return Eligibility::Full;
    };
    let ready = status::is_true(old, types::READY) && old.observed_generation == Some(generation);
    let rolling_back = old.rollback.as_ref().is_some_and(|r| r.in_progress);
    let requested =
        reconcile_requested.is_some_and(|r| old.last_handled_reconcile_at.as_deref() != Some(r));
    let age = now.duration_since(record.at);
    let recent = age >= jiff::SignedDuration::ZERO
        && jiff::SignedDuration::try_from(interval).is_ok_and(|limit| age < limit);
    if ready && !rolling_back && !requested && record.generation == generation && recent {
        Eligibility::Quick
    } else {
        Eligibility::Full
    }
}

/// What the steps of a full pass read of the alias, the app and the endpoint (`None` where
/// a step did not get that far), so recording the check reads nothing twice.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The alias as the promotion step read it.
    pub alias: Option<Option<i64>>,
    /// The app as the app step read it.
    pub app: Option<Option<AppInfo>>,
    /// The endpoint as the endpoint step read it.
    pub endpoint: Option<Option<EndpointInfo>>,
    /// The alias's ledger owner as the preflight read it.
    pub owner: Option<Option<String>>,
}

/// Reads the alias, the app and the endpoint the release declares and the alias's ledger record
/// (one call each).
pub async fn observe<W: Workspace>(ws: &W, ctx: &ReleaseContext) -> WsResult<Observed> {
    complete(Seen::default(), ws, ctx).await
}

/// What the quick check would read: what `seen` holds, and a read for each part it lacks.
pub async fn complete<W: Workspace>(
    seen: Seen,
    ws: &W,
    ctx: &ReleaseContext,
) -> WsResult<Observed> {
    let alias = match seen.alias {
        Some(alias) => alias,
        None => ws.get_alias(ctx.model(), &ctx.spec.model.alias).await?,
    };
    let app = match (&ctx.spec.app, seen.app) {
        (None, _) => None,
        (Some(_), Some(app)) => app,
        (Some(app), None) => ws.get_app(&app.name).await?,
    };
    let endpoint = match (&ctx.spec.serving_endpoint, seen.endpoint) {
        (None, _) => None,
        (Some(_), Some(endpoint)) => endpoint,
        (Some(endpoint), None) => ws.get_endpoint(&endpoint.name).await?,
    };
    let owner = match seen.owner {
        Some(owner) => owner,
        None => {
            let path = super::ledger::Owned::Alias {
                model: ctx.model().to_string(),
                alias: ctx.spec.model.alias.clone(),
            }
            .path(ctx.ledger_root());
            ws.read_workspace_file(&path.0, super::ledger::MAX_RECORD_BYTES)
                .await?
                .and_then(|bytes| super::ledger::Record::parse(&bytes))
                .and_then(|r| r.owner)
                .map(|o| o.release)
        }
    };
    Ok(Observed {
        alias,
        app,
        endpoint,
        owner,
    })
}

/// A digest of what was observed, with the target and the spec it was observed for, so a
/// changed target (host, catalog, credentials type) also forces a full pass.
pub fn digest(ctx: &ReleaseContext, observed: &Observed) -> String {
    let target = serde_json::to_string(&ctx.target).unwrap_or_default();
    let spec = ctx.spec_digest();
    let seen = format!("{observed:?}");
    fingerprint::digest(&[&target, &spec, &seen])
}

/// The record a converged full pass leaves.
pub fn record(generation: i64, now: Timestamp, digest: String) -> FullCheckRecord {
    FullCheckRecord {
        at: now,
        generation,
        digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrelease_api::condition::Condition;
    use agentrelease_api::{ConditionStatus, status::RollbackRecord};

    const MINUTE: Duration = Duration::from_secs(60);

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn converged(checked: &str) -> AgentReleaseStatus {
        AgentReleaseStatus {
            observed_generation: Some(3),
            conditions: vec![Condition {
                type_: types::READY.into(),
                status: ConditionStatus::True,
                reason: "Succeeded".into(),
                message: String::new(),
                observed_generation: Some(3),
                last_transition_time: at(checked),
            }],
            full_check: Some(record(3, at(checked), "d".into())),
            ..Default::default()
        }
    }

    #[test]
    fn a_recent_check_of_this_generation_allows_a_quick_one() {
        let old = converged("2026-12-01T10:00:00Z");
        let now = at("2026-12-01T10:29:59Z");
        assert_eq!(
            eligibility(&old, 3, now, 30 * MINUTE, None),
            Eligibility::Quick
        );
    }

    #[test]
    fn an_old_check_a_new_generation_or_no_check_means_a_full_pass() {
        let old = converged("2026-12-01T10:00:00Z");
        let late = at("2026-12-01T10:30:00Z");
        assert_eq!(
            eligibility(&old, 3, late, 30 * MINUTE, None),
            Eligibility::Full
        );
        let now = at("2026-12-01T10:01:00Z");
        assert_eq!(
            eligibility(&old, 4, now, 30 * MINUTE, None),
            Eligibility::Full
        );
        let mut none = old.clone();
        none.full_check = None;
        assert_eq!(
            eligibility(&none, 3, now, 30 * MINUTE, None),
            Eligibility::Full
        );
        // A clock that went backwards does not extend the check's life.
        let before = at("2026-12-01T09:00:00Z");
        assert_eq!(
            eligibility(&old, 3, before, 30 * MINUTE, None),
            Eligibility::Full
        );
    }

    #[test]
    fn not_ready_a_rollback_or_an_unhandled_request_means_a_full_pass() {
        let now = at("2026-12-01T10:01:00Z");
        let mut old = converged("2026-12-01T10:00:00Z");
        old.conditions[0].status = ConditionStatus::False;
        assert_eq!(
            eligibility(&old, 3, now, 30 * MINUTE, None),
            Eligibility::Full
        );

        let mut old = converged("2026-12-01T10:00:00Z");
        old.rollback = Some(RollbackRecord {
            from_version: 12,
            to_version: Some(11),
            reason: "verification failed".into(),
            at: at("2026-12-01T09:00:00Z"),
            generation: 3,
            fingerprint: "f".into(),
            restored_release: None,
            restored: Vec::new(),
            in_progress: true,
        });
        assert_eq!(
            eligibility(&old, 3, now, 30 * MINUTE, None),
            Eligibility::Full
        );

        let mut old = converged("2026-12-01T10:00:00Z");
        assert_eq!(
            eligibility(&old, 3, now, 30 * MINUTE, Some("t1")),
            Eligibility::Full
        );
        old.last_handled_reconcile_at = Some("t1".into());
        assert_eq!(
            eligibility(&old, 3, now, 30 * MINUTE, Some("t1")),
            Eligibility::Quick
        );
    }
}
