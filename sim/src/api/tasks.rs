//! Long-running agent tasks on app URLs (the Supervisor pattern: start → continue → terminal).
//!
//! - `POST <app url>/api/tasks` with a JSON body starts a task and answers
//!   `{"task_id": "task-<n>", "state": "RUNNING"}`; a body naming a `client_request_id` already
//!   seen for the app answers the task that request started (no second task).
//! - `GET <app url>/api/tasks/{id}` continues it: `{"task_id", "state": "RUNNING"}` until the
//!   task's time has passed on the simulated clock, then `{"state": "SUCCEEDED", "output"}` or
//!   `{"state": "FAILED", "error"}`. With continuations on, each RUNNING answer names a fresh
//!   `continuation_id` that the next call may use instead (every id of a task keeps working).
//!   An unknown id is a 404.
//!
//! How each app's tasks go is set with [`TaskScript`] (default: 30 simulated seconds, then
//! SUCCEEDED with `[<MLFLOW_ACTIVE_MODEL_ID>] Task completed: <last user message>`).

use std::collections::BTreeMap;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::world::World;

/// The task path below an app's URL.
pub const TASKS_PATH: &str = "api/tasks";

/// How an app's tasks end.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskOutcome {
    /// SUCCEEDED, with this output (`None`: the deterministic default).
    Succeed(Option<String>),
    /// FAILED, with this error.
    Fail(String),
    /// Never terminal: RUNNING for ever.
    Hang,
}

/// How an app's tasks run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskScript {
    /// Simulated seconds from the start until the task is terminal.
    #[serde(default = "default_seconds")]
    pub seconds: u64,
    /// How it ends.
    #[serde(default = "default_outcome")]
    pub outcome: TaskOutcome,
    /// Whether each RUNNING answer hands back a fresh `continuation_id`.
    #[serde(default)]
    pub continuations: bool,
}

fn default_seconds() -> u64 {
    30
}

fn default_outcome() -> TaskOutcome {
    TaskOutcome::Succeed(None)
}

impl Default for TaskScript {
    fn default() -> Self {
        TaskScript {
            seconds: default_seconds(),
            outcome: default_outcome(),
            continuations: false,
        }
    }
}

/// One started task.
#[derive(Debug, Clone)]
pub struct Task {
    /// The app it runs on.
    pub app: String,
    /// The id the start answered.
    pub id: String,
    /// When it is terminal (simulated epoch ms).
    pub done_at: i64,
    /// How it ends.
    pub outcome: TaskOutcome,
    /// The output of a default success.
    pub default_output: String,
    /// Whether RUNNING answers hand back continuation ids.
    pub continuations: bool,
    /// Continuation ids handed out so far.
    pub handed_out: u64,
}

/// Every app's scripts and tasks.
#[derive(Debug, Clone, Default)]
pub struct TaskBook {
    /// Scripts by app name.
    pub scripts: BTreeMap<String, TaskScript>,
    /// Tasks by every id that names them (start id and continuation ids).
    pub ids: BTreeMap<String, String>,
    /// Tasks by start id.
    pub tasks: BTreeMap<String, Task>,
    /// Tasks started so far (numbers the ids).
    pub started: u64,
    /// Start ids by `<app>/<client_request_id>`: a repeated start answers the same task.
    pub requests: BTreeMap<String, String>,
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `POST <app>/api/tasks`: starts a task for `app`, whose model id and prompt fill the default
/// output.
pub fn start(world: &mut World, app: &str, model: &str, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "the body is not JSON"}}),
        );
    };
    let key = request
        .get("client_request_id")
        .and_then(Value::as_str)
        .map(|k| format!("{app}/{k}"));
    if let Some(id) = key.as_ref().and_then(|k| world.tasks.requests.get(k)) {
        // A repeated start of the same request: the task already started.
        return answer(StatusCode::OK, json!({"task_id": id, "state": "RUNNING"}));
    }
    let prompt = super::smoke::last_user_message(&request);
    let script = world.tasks.scripts.get(app).cloned().unwrap_or_default();
    let done_at = world.after(script.seconds);
    let book = &mut world.tasks;
    book.started += 1;
    let id = format!("task-{:04}", book.started);
    book.ids.insert(id.clone(), id.clone());
    if let Some(k) = key {
        book.requests.insert(k, id.clone());
    }
    book.tasks.insert(
        id.clone(),
        Task {
            app: app.to_string(),
            id: id.clone(),
            done_at,
            outcome: script.outcome,
            default_output: format!("[{model}] Task completed: {prompt}"),
            continuations: script.continuations,
            handed_out: 0,
        },
    );
    answer(StatusCode::OK, json!({"task_id": id, "state": "RUNNING"}))
}

/// `GET <app>/api/tasks/{id}`: the task's state now.
pub fn get(world: &mut World, app: &str, id: &str) -> Response {
    let now = world.now();
    let book = &mut world.tasks;
    let Some(task) = book
        .ids
        .get(id)
        .cloned()
        .and_then(|start| book.tasks.get_mut(&start))
        .filter(|t| t.app == app)
    else {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"error": {"message": format!("task {id} does not exist")}}),
        );
    };
    let terminal = now >= task.done_at;
    let body = match (&task.outcome, terminal) {
        (TaskOutcome::Succeed(output), true) => json!({
            "task_id": task.id,
            "state": "SUCCEEDED",
            "output": output.clone().unwrap_or_else(|| task.default_output.clone()),
        }),
        (TaskOutcome::Fail(error), true) => {
            json!({"task_id": task.id, "state": "FAILED", "error": error})
        }
        _ => {
            let mut v = json!({"task_id": task.id, "state": "RUNNING"});
            if task.continuations {
                task.handed_out += 1;
                let next = format!("{}-c{}", task.id, task.handed_out);
                v["continuation_id"] = json!(next);
                let start = task.id.clone();
                book.ids.insert(next, start);
            }
            v
        }
    };
    answer(StatusCode::OK, body)
}
