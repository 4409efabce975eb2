//! Verification in `mode: task` (part of `Verified`): a long-running check on the app, started
//! once per deployment and followed across reconciles. The task id and the deadline go into
//! `status.verification.task` the moment the start answers; every later pass (of this
//! controller, another replica after a restart, or `apply`) continues that task with one short
//! call and asks to be requeued, so no pass waits for the agent. A failed task or a passed
//! deadline fails the verification and rolls back like any failed verification.

use agentrelease_api::conditions::reasons;
use agentrelease_api::release::VerificationSpec;
use agentrelease_api::status::VerificationRecord;
use agentrelease_api::task::{TaskCheck, TaskRecord};

use crate::engine::change::Change;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::rollback;
use crate::engine::verification::task::{self, TaskState};
use crate::engine::workspace::{SmokeResponse, Workspace, WorkspaceError};

use super::verify::{ATTEMPTS, chat_call};

/// Runs the task check of a deployment; `previous` is its record so far.
pub async fn run<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    verification: &VerificationSpec,
    deployment_id: &str,
    previous: Option<VerificationRecord>,
    url: Option<String>,
) -> StepResult {
    let check = verification.task.clone().unwrap_or_default();
    let mut record = previous.unwrap_or(VerificationRecord {
        deployment_id: deployment_id.to_string(),
        attempts: 0,
        passed: false,
        last_result: None,
        chat: None,
        task: None,
        identity: pass.identity_digest(),
    });
    let Some(mut t) = record.task.clone() else {
        return start(pass, verification, &check, record, url).await;
    };
    if t.state.as_deref().is_some_and(task::is_terminal) {
        // Judged already (the pass that saw the end failed it): not asked again.
        let what = record.last_result.clone().unwrap_or_default();
        return fail(pass, record, reasons::VERIFICATION_FAILED, what).await;
    }
    if task::overdue(&t, pass.now()) {
        let what = task::overdue_message(&t, &verification.deadline);
        return fail(pass, record, reasons::VERIFICATION_DEADLINE_EXCEEDED, what).await;
    }
    let path = format!("{}/{}", check.path.trim_end_matches('/'), t.id);
    let answer = match call(pass, url.clone(), path.clone(), None).await {
        Ok(a) => a,
        Err(stop) => return stop,
    };
    let transient = match &answer {
        Ok(resp) if task::transient_status(resp.status) => Some(format!("HTTP {}", resp.status)),
        Err(e) if e.kind.is_transient() => Some(e.to_string()),
        _ => None,
    };
    if let Some(e) = transient {
        // Asked again on the next pass; the deadline bounds how long.
        record.last_result = Some(format!("GET {path} failed: {e}"));
        let after = task::next_poll(&t, pass.now());
        pass.status.verification = Some(record);
        return StepResult::waiting(
            reasons::WAITING,
            format!("task {} not reached ({e}); asking again", t.started_id),
            after,
        );
    }
    let seen = match answer {
        Ok(resp) => task::progress(resp.status, &resp.body),
        Err(e) => Err(format!("GET {path} failed: {e}")),
    };
    let progress = match seen {
        Ok(p) => p,
        Err(why) => {
            let what = format!("task {}: {why}", t.started_id);
            return fail(pass, record, reasons::VERIFICATION_FAILED, what).await;
        }
    };
    t.polls += 1;
    t.state = Some(progress.seen.clone());
    if let Some(next) = &progress.continuation {
        t.id = next.clone();
    }
    record.task = Some(t.clone());
    if progress.state == TaskState::Running {
        let after = task::next_poll(&t, pass.now());
        let message = format!(
            "task {} {} after {} continue call(s); deadline {}",
            t.started_id,
            progress.seen,
            t.polls,
            t.deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        );
        record.last_result = Some(message.clone());
        pass.status.verification = Some(record);
        return StepResult::waiting(reasons::WAITING, message, after);
    }
    let result = match task::verdict(&t, &progress, check.expect_output.as_deref()) {
        Ok(m) => m,
        Err(what) => return fail(pass, record, reasons::VERIFICATION_FAILED, what).await,
    };
    let timeout = verification.timeout();
    let (passed, result) = match verification.chat.as_ref() {
        None => (true, result),
        Some(chat) => match chat_call(pass, chat, url, timeout).await {
            Ok((chat_record, failure, shown)) => {
                record.chat = Some(chat_record);
                match failure {
                    None => (
                        true,
                        format!("{result}; chat {} answered {shown:?}", chat.path),
                    ),
                    Some(f) => (false, format!("chat check failed: {f}")),
                }
            }
            Err(stop) => return stop,
        },
    };
    if !passed {
        return fail(pass, record, reasons::VERIFICATION_FAILED, result).await;
    }
    record.passed = true;
    record.last_result = Some(result.clone());
    pass.status.verification = Some(record);
    StepResult::done(
        reasons::VERIFIED,
        format!("deployment {deployment_id}: {result}"),
    )
}

/// Starts the task; a start that gets no task id counts as an attempt.
async fn start<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    verification: &VerificationSpec,
    check: &TaskCheck,
    mut record: VerificationRecord,
    url: Option<String>,
) -> StepResult {
    let body = task::start_body(&check.input, &record.deployment_id);
    let answer = match call(pass, url, check.path.clone(), Some(body)).await {
        Ok(a) => a,
        Err(stop) => return stop,
    };
    record.attempts += 1;
    let id = match answer {
        Ok(resp) => task::started(resp.status, &resp.body),
        Err(e) => Err(format!("POST {} failed: {e}", check.path)),
    };
    let id = match id {
        Ok(id) => id,
        Err(why) => {
            let attempts = record.attempts;
            record.last_result = Some(why.clone());
            if attempts < ATTEMPTS {
                pass.status.verification = Some(record);
                return StepResult::waiting(
                    reasons::WAITING,
                    format!("starting the task, attempt {attempts} of {ATTEMPTS}: {why}"),
                    task::FIRST_POLL,
                );
            }
            let what = format!("the task did not start in {ATTEMPTS} attempts: {why}");
            return fail(pass, record, reasons::VERIFICATION_FAILED, what).await;
        }
    };
    let now = agentrelease_api::condition::truncate_to_seconds(pass.now());
    let deadline = jiff::SignedDuration::try_from(verification.deadline())
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(now);
    let t = TaskRecord {
        id: id.clone(),
        started_id: id.clone(),
        started_at: now,
        deadline,
        state: None,
        polls: 0,
    };
    let message = format!(
        "task {id} started; continued until {}",
        deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    record.last_result = Some(message.clone());
    record.task = Some(t);
    pass.status.verification = Some(record);
    StepResult::waiting(reasons::WAITING, message, task::FIRST_POLL)
}

/// One short call to the app; `Err` stops the step (plan mode lists the call instead).
async fn call<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    url: Option<String>,
    path: String,
    body: Option<String>,
) -> Result<Result<SmokeResponse, WorkspaceError>, StepResult> {
    let change = Change::Smoke {
        url,
        path,
        body,
        expect: None,
        timeout: task::CALL_TIMEOUT,
    };
    match pass.effect(change, Cause::Progress).await {
        Ok(Effect::Applied(Applied::Smoke(answer))) => Ok(*answer),
        Ok(_) => Err(StepResult::done(
            reasons::VERIFIED,
            "would start the long-running check",
        )),
        Err(e) => Ok(Err(e)),
    }
}

async fn fail<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    mut record: VerificationRecord,
    reason: &'static str,
    what: String,
) -> StepResult {
    record.passed = false;
    record.last_result = Some(what.clone());
    let deployment_id = record.deployment_id.clone();
    pass.status.verification = Some(record);
    rollback::on_failure(
        pass,
        reason,
        format!("verification of deployment {deployment_id} failed: {what}"),
    )
    .await
}
