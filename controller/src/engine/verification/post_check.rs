//! What the gateway and trace checks share: they look, after the chat call, for what the call
//! left behind; what they look for may take a while to land, so a look that finds nothing yet is
//! repeated on later passes (never by sleeping) until [`WINDOW`] has passed on the engine's
//! clock. Then a `required` check fails the release like a failed verification (rollback, policy
//! permitting); an `advisory` one leaves its condition False (the condition's transition raises
//! the Warning Event) and the release goes on.

use std::time::Duration;

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::PostCheckRecord;
use agentrelease_api::target::CheckMode;
use jiff::Timestamp;

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::rollback;
use crate::engine::workspace::Workspace;

/// How long a check keeps looking before it fails.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Pause between looks.
pub const POLL_EVERY: Duration = Duration::from_secs(10);

/// The two checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `GatewayVerified`.
    Gateway,
    /// `TracesLinked`.
    Traces,
}

impl Check {
    fn passed_reason(self) -> &'static str {
        match self {
            Check::Gateway => reasons::GATEWAY_VERIFIED,
            Check::Traces => reasons::TRACES_LINKED,
        }
    }

    /// The reason of a failed check.
    pub fn failed_reason(self) -> &'static str {
        match self {
            Check::Gateway => reasons::GATEWAY_CHECK_FAILED,
            Check::Traces => reasons::TRACE_CHECK_FAILED,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Check::Gateway => "gateway check",
            Check::Traces => "trace check",
        }
    }

    /// The check's record in the status being built.
    pub fn slot(
        self,
        status: &mut agentrelease_api::AgentReleaseStatus,
    ) -> &mut Option<PostCheckRecord> {
        match self {
            Check::Gateway => &mut status.gateway_check,
            Check::Traces => &mut status.traces_check,
        }
    }
}

/// What one look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// Everything looked for is there.
    Found(String),
    /// Not there (yet): what was expected and what was seen.
    Missing(String),
    /// Wrong in a way waiting cannot fix: what was expected and what was seen.
    Wrong(String),
}

/// What to do after a look (pure): pass, look again, or fail once the window has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The check holds.
    Pass(String),
    /// Look again after [`POLL_EVERY`].
    Again(String),
    /// The check failed.
    Fail(String),
}

/// Decides from a look and the time since the first look.
pub fn decide(look: Look, elapsed: Duration) -> Verdict {
    match look {
        Look::Found(m) => Verdict::Pass(m),
        Look::Wrong(m) => Verdict::Fail(m),
        Look::Missing(m) if elapsed >= WINDOW => {
            Verdict::Fail(format!("{m} (looked for {}s)", elapsed.as_secs()))
        }
        Look::Missing(m) => Verdict::Again(m),
    }
}

/// The current deployment's record of `check`, or a fresh one (its first look is now).
pub fn record<W, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    check: Check,
    deployment_id: &str,
    trace_request_id: Option<&str>,
) -> PostCheckRecord {
    let now = pass.now();
    let identity = pass.identity_digest();
    let mut record = check
        .slot(&mut pass.status)
        .clone()
        .filter(|r| r.is_for(deployment_id, identity.as_deref()))
        .unwrap_or_else(|| PostCheckRecord {
            deployment_id: deployment_id.to_string(),
            trace_request_id: None,
            usage_before: None,
            started_at: None,
            attempts: 0,
            pending_statement: None,
            passed: None,
            last_result: None,
            identity,
        });
    if record.trace_request_id.as_deref() != trace_request_id {
        // A new chat call (a retried verification): start over, keeping its usage baseline.
        record.trace_request_id = trace_request_id.map(str::to_string);
        record.started_at = None;
        record.attempts = 0;
        record.passed = None;
        record.pending_statement = None;
    }
    if record.started_at.is_none() {
        record.started_at = Some(now.to_string());
    }
    record
}

/// Time since the record's first look.
pub fn elapsed(record: &PostCheckRecord, now: Timestamp) -> Duration {
    record
        .started_at
        .as_deref()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .and_then(|t| Duration::try_from(now.duration_since(t)).ok())
        .unwrap_or(Duration::ZERO)
}

/// The result of a check already concluded for this deployment and chat call, if it was.
pub fn concluded(check: Check, mode: CheckMode, record: &PostCheckRecord) -> Option<StepResult> {
    let message = record.last_result.clone().unwrap_or_default();
    match record.passed {
        Some(true) => Some(StepResult::done(check.passed_reason(), message)),
        Some(false) if mode == CheckMode::Advisory => Some(StepResult::Advisory {
            reason: check.failed_reason(),
            message: advisory_message(check, &record.deployment_id, &message),
        }),
        _ => None,
    }
}

/// The condition message of a failed check: what was expected and seen.
fn failed_message(check: Check, deployment_id: &str, seen: &str) -> String {
    format!(
        "{} of deployment {deployment_id} failed: {seen}",
        check.label()
    )
}

/// The same for an advisory check (the condition says the release went on).
fn advisory_message(check: Check, deployment_id: &str, seen: &str) -> String {
    format!("advisory: {}", failed_message(check, deployment_id, seen))
}

/// Records the verdict and turns it into the step's result.
pub async fn conclude<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    check: Check,
    mode: CheckMode,
    mut record: PostCheckRecord,
    verdict: Verdict,
) -> StepResult {
    record.attempts += 1;
    let deployment_id = record.deployment_id.clone();
    match verdict {
        Verdict::Pass(m) => {
            record.passed = Some(true);
            record.last_result = Some(m.clone());
            *check.slot(&mut pass.status) = Some(record);
            StepResult::done(check.passed_reason(), m)
        }
        Verdict::Again(m) => {
            record.last_result = Some(m.clone());
            *check.slot(&mut pass.status) = Some(record);
            StepResult::waiting(
                reasons::WAITING,
                format!("{}: {m}; looking again", check.label()),
                POLL_EVERY,
            )
        }
        Verdict::Fail(m) => {
            record.passed = Some(false);
            record.last_result = Some(m.clone());
            *check.slot(&mut pass.status) = Some(record);
            match mode {
                CheckMode::Required => {
                    let what = failed_message(check, &deployment_id, &m);
                    rollback::on_failure(pass, check.failed_reason(), what).await
                }
                CheckMode::Advisory => StepResult::Advisory {
                    reason: check.failed_reason(),
                    message: advisory_message(check, &deployment_id, &m),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_row_is_looked_for_until_the_window_passes() {
        let look = || Look::Missing("expected x, saw none".into());
        assert!(matches!(
            decide(look(), Duration::from_secs(50)),
            Verdict::Again(_)
        ));
        match decide(look(), Duration::from_secs(60)) {
            Verdict::Fail(m) => assert!(m.contains("looked for 60s"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_wrong_answer_fails_at_once_and_a_found_one_passes() {
        assert!(matches!(
            decide(Look::Wrong("w".into()), Duration::ZERO),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            decide(Look::Found("ok".into()), Duration::ZERO),
            Verdict::Pass(_)
        ));
    }
}
