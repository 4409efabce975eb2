//! Long-running verification (`verification.mode: task`): agents whose answer takes longer than
//! one HTTP request. The check starts a task on the app (the Supervisor pattern: a start call
//! answers a task id, continue calls report its state until it is terminal), keeps the task id
//! and its deadline in status, and asks again on later reconciles, so no reconcile waits for
//! the agent and a restarted controller continues the same task.

use jiff::Timestamp;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the verification runs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum VerificationMode {
    /// One smoke request per attempt (`verification.path`), answered within `timeoutSeconds`.
    #[default]
    Request,
    /// A long-running task: started once per deployment, polled on later reconciles until it
    /// succeeds, fails, or `verification.deadline` passes.
    Task,
}

/// The task endpoint of a long-running check on the app's URL.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TaskCheck {
    /// The start path: `POST <app url><path>` with `input` starts the task and answers
    /// `{"task_id": ...}`; `GET <app url><path>/<task id>` continues it and answers
    /// `{"state": "RUNNING" | "SUCCEEDED" | "FAILED", "output": ..., "continuation_id"?: ...}`.
    #[serde(default = "default_task_path")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("verification.task.path must start with '/'"))]
    #[schemars(length(min = 1, max = 1024))]
    pub path: String,
    /// The start request's JSON body.
    #[serde(default = "default_task_input")]
    #[schemars(length(min = 2, max = 65536))]
    pub input: String,
    /// A substring the task's output must contain when it succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub expect_output: Option<String>,
}

impl Default for TaskCheck {
    fn default() -> Self {
        TaskCheck {
            path: default_task_path(),
            input: default_task_input(),
            expect_output: None,
        }
    }
}

fn default_task_path() -> String {
    "/api/tasks".to_string()
}

fn default_task_input() -> String {
    r#"{"input": [{"role": "user", "content": "ping"}]}"#.to_string()
}

/// The default of `verification.deadline`.
pub fn default_deadline() -> String {
    "10m".to_string()
}

/// The long-running task of a deployment's verification, as far as the operator has followed it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// The id the next continue call names (the start's task id, or the latest continuation
    /// id the app handed back).
    pub id: String,
    /// The task id the start call answered.
    pub started_id: String,
    /// When the task was started.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: Timestamp,
    /// When the check fails if the task has not ended.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub deadline: Timestamp,
    /// The state the last continue call reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Continue calls made.
    pub polls: i32,
}
