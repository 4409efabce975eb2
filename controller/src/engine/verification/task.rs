//! The long-running check (`verification.mode: task`), judged: what the app's start and
//! continue answers mean, when to ask again, and when the deadline has passed. The protocol
//! (the Supervisor pattern, start → continue → terminal):
//!
//! - start: `POST <app url><task.path>` with `task.input`; a 2xx answer names the task in
//!   `task_id` (or `continuation_id`, or `id`).
//! - continue: `GET <app url><task.path>/<id>`; a 2xx answer carries `state`: `PENDING`,
//!   `QUEUED`, `RUNNING` or `IN_PROGRESS` (ask again; a `continuation_id` in the answer is the id
//!   of the next call), `SUCCEEDED` or `COMPLETED` (passed, `output` checked against
//!   `task.expectOutput`), `FAILED`, `CANCELLED` or `ERROR` (failed, `error` shown). States
//!   are read case-insensitively; any other state fails the check naming what was seen.

use std::time::Duration;

use agentrelease_api::task::TaskRecord;
use jiff::Timestamp;
use serde_json::Value;

/// The longest a start or continue call may take: a reconcile never waits long on the app.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The first pause between continue calls; it doubles up to [`MAX_POLL`].
pub const FIRST_POLL: Duration = Duration::from_secs(5);
/// The longest pause between continue calls.
pub const MAX_POLL: Duration = Duration::from_secs(30);
/// The longest text of an answer kept in a message.
const SHOWN: usize = 200;

/// Where a task stands, as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Not terminal yet.
    Running,
    /// Ended well.
    Succeeded,
    /// Ended badly.
    Failed,
}

/// A continue call's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The state.
    pub state: TaskState,
    /// The state as the app spelled it.
    pub seen: String,
    /// The id of the next continue call, when the app handed a new one back.
    pub continuation: Option<String>,
    /// The output (or, on failure, the error), as text.
    pub text: String,
}

fn shown(text: &str) -> String {
    let t: String = text.chars().take(SHOWN).collect();
    format!("{t:?}")
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| Value::Object(o.clone()).to_string()),
        Some(other) => other.to_string(),
    }
}

/// The field of the start request that names the attempt to start a deployment's task: an
/// agent that honours it answers a repeated start with the task it already started, so a start
/// whose answer was lost does not start a second task.
pub const REQUEST_ID_FIELD: &str = "client_request_id";

/// The start request's body: `input`, with [`REQUEST_ID_FIELD`] set to one value per
/// deployment when `input` is a JSON object (any other input is sent as written).
pub fn start_body(input: &str, deployment_id: &str) -> String {
    match serde_json::from_str::<Value>(input) {
        Ok(Value::Object(mut o)) => {
            o.insert(
                REQUEST_ID_FIELD.to_string(),
                Value::String(format!("agentrelease-{deployment_id}")),
            );
            Value::Object(o).to_string()
        }
        _ => input.to_string(),
    }
}

/// The task id of a start call's answer, or what was expected and seen instead.
pub fn started(status: u16, body: &str) -> Result<String, String> {
    if !(200..300).contains(&status) {
        return Err(format!(
            "expected a 2xx answer naming task_id, got {status}: {}",
            shown(body)
        ));
    }
    let v: Value = serde_json::from_str(body)
        .map_err(|_| format!("expected a JSON answer naming task_id, got {}", shown(body)))?;
    ["task_id", "continuation_id", "id"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(str::to_string)
        .ok_or_else(|| format!("expected task_id in the answer, got {}", shown(body)))
}

/// A continue call's answer read, or what was expected and seen instead.
pub fn progress(status: u16, body: &str) -> Result<Progress, String> {
    if !(200..300).contains(&status) {
        return Err(format!(
            "expected a 2xx answer with the task's state, got {status}: {}",
            shown(body)
        ));
    }
    let v: Value = serde_json::from_str(body)
        .map_err(|_| format!("expected a JSON answer with state, got {}", shown(body)))?;
    let seen = v
        .get("state")
        .or_else(|| v.get("status"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("expected state in the answer, got {}", shown(body)))?
        .to_string();
    let state = match seen.to_ascii_uppercase().as_str() {
        "PENDING" | "QUEUED" | "RUNNING" | "IN_PROGRESS" => TaskState::Running,
        "SUCCEEDED" | "COMPLETED" => TaskState::Succeeded,
        "FAILED" | "CANCELLED" | "CANCELED" | "ERROR" => TaskState::Failed,
        _ => {
            return Err(format!(
                "expected state RUNNING, SUCCEEDED or FAILED, got {seen:?}"
            ));
        }
    };
    let text = match state {
        TaskState::Failed => text_of(v.get("error").or_else(|| v.get("output"))),
        _ => text_of(v.get("output")),
    };
    Ok(Progress {
        state,
        seen,
        continuation: v
            .get("continuation_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .map(str::to_string),
        text,
    })
}

/// Whether an HTTP status of a continue call may clear by itself (throttling, a 5xx): the
/// task is asked again on the next pass instead of failing.
pub fn transient_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// Whether a state the app reported ends the task (pure; the spellings of [`progress`]).
pub fn is_terminal(seen: &str) -> bool {
    matches!(
        seen.to_ascii_uppercase().as_str(),
        "SUCCEEDED" | "COMPLETED" | "FAILED" | "CANCELLED" | "CANCELED" | "ERROR"
    )
}

/// The verdict on a terminal answer: `Ok` what passed, `Err` what was expected and seen.
pub fn verdict(record: &TaskRecord, p: &Progress, expect: Option<&str>) -> Result<String, String> {
    let id = &record.started_id;
    match p.state {
        TaskState::Running => Err(format!("task {id} is still {}", p.seen)),
        TaskState::Failed => Err(format!(
            "task {id} expected SUCCEEDED, ended {}: {}",
            p.seen,
            shown(&p.text)
        )),
        TaskState::Succeeded => match expect {
            Some(want) if !p.text.contains(want) => Err(format!(
                "task {id} SUCCEEDED but its output lacks {want:?}: {}",
                shown(&p.text)
            )),
            _ => Ok(format!(
                "task {id} {} after {} continue call(s): {}",
                p.seen,
                record.polls,
                shown(&p.text)
            )),
        },
    }
}

/// Whether the task's deadline has passed.
pub fn overdue(record: &TaskRecord, now: Timestamp) -> bool {
    now >= record.deadline
}

/// The failure message of a task past its deadline.
pub fn overdue_message(record: &TaskRecord, deadline: &str) -> String {
    format!(
        "task {} expected a terminal state within {deadline} of its start ({}), still {} at the deadline {} after {} continue call(s)",
        record.started_id,
        record.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        record.state.as_deref().unwrap_or("without an answer"),
        record.deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
        record.polls
    )
}

/// How long to wait before the next continue call: growing with the calls made, never past
/// the deadline (so the deadline is noticed on time).
pub fn next_poll(record: &TaskRecord, now: Timestamp) -> Duration {
    let shift = u32::try_from(record.polls.clamp(0, 8)).unwrap_or(0);
    let grown = FIRST_POLL.saturating_mul(1 << shift).min(MAX_POLL);
    let left = Duration::try_from(record.deadline.duration_since(now)).unwrap_or_default();
    grown.min(left).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(polls: i32) -> TaskRecord {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().expect("ts");
        TaskRecord {
            id: "task-1".into(),
            started_id: "task-1".into(),
            started_at: at,
            deadline: at
                .checked_add(jiff::SignedDuration::from_secs(600))
                .expect("ts"),
            state: Some("RUNNING".into()),
            polls,
        }
    }

    #[test]
    fn the_start_body_names_the_deployment_once() {
        let b: Value = serde_json::from_str(&start_body(r#"{"input": []}"#, "d1")).expect("json");
        assert_eq!(b[REQUEST_ID_FIELD], "agentrelease-d1");
        assert_eq!(b["input"], serde_json::json!([]));
        assert_eq!(start_body("[1]", "d1"), "[1]");
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert!(transient_status(503) && transient_status(429));
        assert!(!transient_status(404) && !transient_status(200));
    }

    #[test]
    fn the_start_names_the_task() {
        assert_eq!(
            started(200, r#"{"task_id":"t-1","state":"RUNNING"}"#),
            Ok("t-1".into())
        );
        assert!(started(500, "boom").unwrap_err().contains("got 500"));
        assert!(started(200, "{}").unwrap_err().contains("expected task_id"));
        assert!(started(200, r#"{"task_id":"a/b"}"#).is_err());
    }

    #[test]
    fn states_are_read_case_insensitively_and_unknown_ones_fail() {
        let p = progress(200, r#"{"state":"running","continuation_id":"c-2"}"#).expect("ok");
        assert_eq!(p.state, TaskState::Running);
        assert_eq!(p.continuation.as_deref(), Some("c-2"));
        let p = progress(200, r#"{"state":"FAILED","error":{"message":"tool down"}}"#).expect("ok");
        assert_eq!((p.state, p.text.as_str()), (TaskState::Failed, "tool down"));
        let e = progress(200, r#"{"state":"PAUSED"}"#).unwrap_err();
        assert!(e.contains("\"PAUSED\""), "{e}");
        assert!(progress(404, "no").unwrap_err().contains("got 404"));
    }

    #[test]
    fn a_terminal_answer_names_expected_and_seen() {
        let done = Progress {
            state: TaskState::Succeeded,
            seen: "SUCCEEDED".into(),
            continuation: None,
            text: "all good".into(),
        };
        assert!(verdict(&record(3), &done, Some("good")).is_ok());
        let e = verdict(&record(3), &done, Some("tier")).unwrap_err();
        assert!(
            e.contains("lacks \"tier\"") && e.contains("all good"),
            "{e}"
        );
        let failed = Progress {
            state: TaskState::Failed,
            seen: "FAILED".into(),
            continuation: None,
            text: "boom".into(),
        };
        let e = verdict(&record(1), &failed, None).unwrap_err();
        assert!(e.contains("expected SUCCEEDED, ended FAILED") && e.contains("boom"));
    }

    #[test]
    fn polls_grow_and_stop_at_the_deadline() {
        let r = record(0);
        assert_eq!(next_poll(&r, r.started_at), FIRST_POLL);
        assert_eq!(next_poll(&record(6), r.started_at), MAX_POLL);
        let late = r
            .deadline
            .checked_sub(jiff::SignedDuration::from_secs(2))
            .expect("ts");
        assert_eq!(next_poll(&record(6), late), Duration::from_secs(2));
        assert!(!overdue(&r, late));
        assert!(overdue(&r, r.deadline));
        assert!(overdue_message(&r, "10m").contains("still RUNNING at the deadline"));
    }
}
