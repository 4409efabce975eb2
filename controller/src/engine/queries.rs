//! Answers of the read-only queries the post-deployment checks make: SQL statements on the
//! gateway's tables and the trace search of the tracing experiment.

/// Where a SQL statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementState {
    /// Queued or running: ask again by id.
    Running,
    /// Done; rows are in the answer.
    Succeeded,
    /// Failed, canceled or closed.
    Failed,
}

impl StatementState {
    /// From the API's state.
    pub fn parse(state: &str) -> Self {
        match state {
            "PENDING" | "RUNNING" => StatementState::Running,
            "SUCCEEDED" => StatementState::Succeeded,
            _ => StatementState::Failed,
        }
    }
}

/// A SQL statement's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementAnswer {
    /// Its id.
    pub id: String,
    /// Where it stands.
    pub state: StatementState,
    /// The warehouse's error, when it failed.
    pub error: Option<String>,
    /// The rows of the first chunk (each value a string or null).
    pub rows: Vec<Vec<Option<String>>>,
}

/// A named string parameter of a statement (`:name` in the SQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlParam {
    /// The name, without the colon.
    pub name: String,
    /// The value.
    pub value: String,
}

/// One trace as the trace search lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSummary {
    /// The trace request id.
    pub request_id: String,
    /// The experiment it is in.
    pub experiment_id: String,
    /// The logged model it is linked to (`mlflow.modelId` in its request metadata, or the tag
    /// of the same name).
    pub model_id: Option<String>,
}
