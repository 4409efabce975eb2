//! Verification (`Verified`): a smoke request to the app (the configured path and message, the
//! workspace credentials, a timeout) after each new deployment. Success is a 2xx answer that
//! contains the expected substring when one is declared. The app gets a few attempts to come up;
//! then the failure rolls the release back (policy permitting).

use std::time::Duration;

use agentrelease_api::conditions::reasons;
use agentrelease_api::release::ChatCheck;
use agentrelease_api::status::{ChatRecord, VerificationRecord};
use agentrelease_api::task::VerificationMode;

use crate::engine::change::Change;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::pass::{Clock, EventType, Pass, StepResult};
use crate::engine::rollback;
use crate::engine::verification::{chat, health, origins};
use crate::engine::workspace::Workspace;
use crate::engine::steps::StepInfo;

/// Attempts before a verification counts as failed.
pub const ATTEMPTS: i32 = 3;
/// Pause between attempts.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The longest answer kept.
const SHOWN_BODY: usize = 200;

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "verify",
    condition: agentrelease_api::conditions::types::VERIFIED,
    phase: agentrelease_api::conditions::Phase::Verifying,
    applies: |ctx| ctx.spec.app.is_some() && ctx.spec.verification.is_some(),
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let (Some(_), Some(verification)) = (&pass.ctx.spec.app, pass.ctx.spec.verification.clone())
    else {
        return StepResult::NotApplicable;
    };
    let deployment_id = pass.status.deployment_id.clone().unwrap_or_default();
    // A result counts only for this deployment and this release identity: a changed
    // verification spec (or signoff, target...) verifies again before the release is Ready.
    let identity = pass.identity_digest();
    let previous = pass
        .status
        .verification
        .clone()
        .filter(|v| v.is_for(&deployment_id, identity.as_deref()));
    if let Some(v) = previous.as_ref().filter(|v| v.passed) {
        return StepResult::done(
            reasons::VERIFIED,
            format!(
                "deployment {deployment_id}: {}",
                v.last_result.as_deref().unwrap_or("passed")
            ),
        );
    }
    let method = if verification.message.is_some() {
        "POST"
    } else {
        "GET"
    };
    let timeout = Duration::from_secs(u64::try_from(verification.timeout_seconds).unwrap_or(30));
    let url = pass.status.app_url.clone();
    let change = Change::Smoke {
        url: url.clone(),
        path: verification.path.clone(),
        body: verification.message.clone(),
        expect: verification.expect_substring.clone(),
        timeout,
    };
    if url.is_none() && pass.artifacts.app.is_some() {
        return StepResult::waiting(reasons::WAITING, "the app has no URL yet", RETRY_AFTER);
    }
    if let Some(stop) = health_gate(pass, &deployment_id, url.clone()).await {
        return stop;
    }
    // Nothing goes to an app URL off the workspace's origins (smoke, chat or task request).
    if let Some(url) = url.as_deref()
        && let Some(stop) = origins::app_url(pass.ws, url).await
    {
        return stop;
    }
    if verification.mode == VerificationMode::Task {
        return super::verify_task::run(pass, &verification, &deployment_id, previous, url).await;
    }
    let answer = match pass.effect(change, Cause::Progress).await {
        Ok(Effect::Applied(Applied::Smoke(answer))) => *answer,
        Ok(_) => {
            // Plan: the chat call is listed too.
            if let Some(check) = verification.chat.as_ref() {
                let _planned = chat_call(pass, check, url.clone(), timeout).await;
            }
            return StepResult::done(reasons::VERIFIED, "would verify the app");
        }
        Err(e) => Err(e),
    };
    let (passed, result) = match answer {
        Ok(resp) => {
            let shown: String = resp.body.chars().take(SHOWN_BODY).collect();
            let ok_status = (200..300).contains(&resp.status);
            let ok_body = verification
                .expect_substring
                .as_ref()
                .is_none_or(|s| resp.body.contains(s.as_str()));
            let result = match (ok_status, ok_body) {
                (true, true) => format!("{method} {} -> {}", verification.path, resp.status),
                (false, _) => format!("{method} {} -> {}: {shown}", verification.path, resp.status),
                (true, false) => format!(
                    "{method} {} -> {} without {:?}: {shown}",
                    verification.path,
                    resp.status,
                    verification.expect_substring.as_deref().unwrap_or_default()
                ),
            };
            (ok_status && ok_body, result)
        }
        Err(e) => (false, format!("{method} {} failed: {e}", verification.path)),
    };
    let (passed, result, chat) = match verification.chat.as_ref().filter(|_| passed) {
        Some(check) => match chat_call(pass, check, url.clone(), timeout).await {
            Ok((record, failure, shown)) => match failure {
                None => (
                    true,
                    format!("{result}; chat {} answered {shown:?}", check.path),
                    Some(record),
                ),
                Some(f) => (false, format!("chat check failed: {f}"), Some(record)),
            },
            Err(stop) => return stop,
        },
        None => (passed, result, None),
    };
    let attempts = previous.map(|v| v.attempts).unwrap_or(0) + 1;
    pass.status.verification = Some(VerificationRecord {
        deployment_id: deployment_id.clone(),
        attempts,
        passed,
        last_result: Some(result.clone()),
        chat,
        task: None,
        identity,
    });
    if passed {
        return StepResult::done(
            reasons::VERIFIED,
            format!("deployment {deployment_id}: {result}"),
        );
    }
    if attempts < ATTEMPTS {
        return StepResult::waiting(
            reasons::WAITING,
            format!("attempt {attempts} of {ATTEMPTS}: {result}"),
            RETRY_AFTER,
        );
    }
    rollback::on_failure(
        pass,
        reasons::VERIFICATION_FAILED,
        format!("verification of deployment {deployment_id} failed {ATTEMPTS} times: {result}"),
    )
    .await
}

/// The app's health after its deployment succeeded (as the provisioning step read it this
/// pass): a crashed or unavailable app, or failed compute, fails the verification at once, with
/// the states and the last log lines in the message and a Warning Event.
async fn health_gate<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    deployment_id: &str,
    url: Option<String>,
) -> Option<StepResult> {
    let app = pass.artifacts.app.as_ref()?;
    let compute = app.compute_state.as_ref().map(|c| c.as_str().to_string());
    if !health::unhealthy(compute.as_deref(), app.app_state.as_deref()) {
        return None;
    }
    let name = app.name.clone();
    let report = super::deploy::health_report(pass, &name, url).await;
    let what = format!(
        "app {name} is unhealthy after deployment {deployment_id} succeeded \
         (expected app status RUNNING on ACTIVE compute): {report}"
    );
    pass.event(EventType::Warning, reasons::APP_UNHEALTHY, what.clone());
    if let Some(v) = pass.status.verification.as_mut() {
        v.passed = false;
        v.last_result = Some(what.clone());
    }
    Some(rollback::on_failure(pass, reasons::APP_UNHEALTHY, what).await)
}

/// Sends the chat completion and judges it: the record for status, the failure (expected vs
/// seen) when there is one, and the answer shown. `Err` stops the step (plan mode).
pub(crate) async fn chat_call<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    check: &ChatCheck,
    url: Option<String>,
    timeout: Duration,
) -> Result<(ChatRecord, Option<String>, String), StepResult> {
    // The gateway check compares the usage rows after the call with their count before it.
    crate::engine::verification::gateway::before_chat(pass).await?;
    let change = Change::Smoke {
        url,
        path: check.path.clone(),
        body: Some(chat::request_body(check)),
        expect: None,
        timeout,
    };
    let answer = match pass.effect(change, Cause::Progress).await {
        Ok(Effect::Applied(Applied::Smoke(answer))) => *answer,
        Ok(_) => return Err(StepResult::done(reasons::VERIFIED, "would verify the app")),
        Err(e) => Err(e),
    };
    Ok(match answer {
        Ok(resp) => {
            let v = chat::judge(check, resp.status, &resp.body, resp.trace_header.as_deref());
            let record = ChatRecord {
                trace_request_id: v.trace_request_id,
                latency_ms: i64::try_from(resp.latency_ms).unwrap_or(i64::MAX),
                passed: v.failure.is_none(),
            };
            (record, v.failure, v.shown)
        }
        Err(e) => (
            ChatRecord {
                trace_request_id: None,
                latency_ms: 0,
                passed: false,
            },
            Some(format!("POST {} failed: {e}", check.path)),
            String::new(),
        ),
    })
}
