//! The simulated AI gateway and MLflow tracing behind the apps' chat completions: each chat
//! call on an app URL adds a row to the gateway's payload table (its `databricks_request_id` is
//! the trace request id the call returns) and one to its usage table, and logs a trace in the
//! experiment of the app's `MLFLOW_EXPERIMENT_ID` carrying the app's `MLFLOW_ACTIVE_MODEL_ID` as
//! `mlflow.modelId`. Tests switch each of those off (or make it wrong) through [`SimControl`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::control::SimControl;

/// What the gateway logs in its payload table for a chat call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadLogging {
    /// A row with the call's trace request id.
    #[default]
    Log,
    /// A row with another request id (as a gateway logging someone else's id would).
    WrongId,
    /// No row.
    Off,
}

/// What tracing logs for a chat call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceLogging {
    /// A trace linked to the app's logged model.
    #[default]
    Log,
    /// A trace without `mlflow.modelId` (the app runs without `MLFLOW_ACTIVE_MODEL_ID`).
    NoModel,
    /// No trace.
    Off,
}

/// A row of a gateway table: column name to value (strings and numbers).
pub type Row = BTreeMap<&'static str, Value>;

/// The columns of the payload table, in order.
pub const PAYLOAD_COLUMNS: [&str; 6] = [
    "databricks_request_id",
    "request_time",
    "status_code",
    "served_entity_id",
    "request",
    "response",
];

/// The columns of the usage table, in order.
pub const USAGE_COLUMNS: [&str; 5] = [
    "databricks_request_id",
    "request_time",
    "requester",
    "input_token_count",
    "output_token_count",
];

/// One logged trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The trace request id.
    pub request_id: String,
    /// The experiment.
    pub experiment_id: String,
    /// When, epoch ms.
    pub timestamp_ms: i64,
    /// The linked logged model.
    pub model_id: Option<String>,
    /// The app that answered.
    pub app: String,
}

/// The gateway's tables, the traces and the switches.
#[derive(Debug, Clone, Default)]
pub struct Observability {
    /// The payload table's full name (set by the seed's `ai_gateway`).
    pub payload_table: Option<String>,
    /// The usage table's full name.
    pub usage_table: Option<String>,
    /// Payload rows, oldest first.
    pub payload_rows: Vec<Row>,
    /// Usage rows, oldest first.
    pub usage_rows: Vec<Row>,
    /// Traces, oldest first.
    pub traces: Vec<Trace>,
    /// Payload switch.
    pub payload_logging: PayloadLogging,
    /// Whether usage rows are written.
    pub usage_off: bool,
    /// Trace switch.
    pub trace_logging: TraceLogging,
    /// Statements by id, as answered (for `GET .../statements/{id}`).
    pub statements: BTreeMap<String, Value>,
    /// Statements still to answer `PENDING` before their result, and for how many reads each.
    pub hold_statements: u32,
    /// Reads left before a held statement is answered, by id.
    pub held: BTreeMap<String, u32>,
}

/// What a chat call leaves behind.
pub struct ChatCall<'a> {
    /// The app.
    pub app: &'a str,
    /// The trace request id returned.
    pub trace: &'a str,
    /// The app's `MLFLOW_ACTIVE_MODEL_ID`.
    pub model_id: &'a str,
    /// The app's `MLFLOW_EXPERIMENT_ID`.
    pub experiment_id: Option<&'a str>,
    /// The prompt.
    pub prompt: &'a str,
    /// The answer.
    pub answer: &'a str,
    /// Now, epoch ms.
    pub now_ms: i64,
    /// The app's service principal (the gateway's requester).
    pub requester: &'a str,
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Observability {
    /// Records a chat call.
    pub fn record_chat(&mut self, call: &ChatCall<'_>) {
        let time = iso(call.now_ms);
        let request_id = match self.payload_logging {
            PayloadLogging::Log => Some(call.trace.to_string()),
            PayloadLogging::WrongId => {
                Some(format!("tr-{:032x}", 0xdead_0000 + self.payload_rows.len()))
            }
            PayloadLogging::Off => None,
        };
        if let Some(id) = request_id {
            self.payload_rows.push(Row::from([
                ("databricks_request_id", json!(id)),
                ("request_time", json!(time)),
                ("status_code", json!(200)),
                ("served_entity_id", json!(call.app)),
                ("request", json!(json!({"messages": [{"role": "user", "content": call.prompt}]}).to_string())),
                ("response", json!(json!({"choices": [{"message": {"role": "assistant", "content": call.answer}}]}).to_string())),
            ]));
        }
        if !self.usage_off {
            self.usage_rows.push(Row::from([
                ("databricks_request_id", json!(call.trace)),
                ("request_time", json!(time)),
                ("requester", json!(call.requester)),
                (
                    "input_token_count",
                    json!(call.prompt.split_whitespace().count()),
                ),
                (
                    "output_token_count",
                    json!(call.answer.split_whitespace().count()),
                ),
            ]));
        }
        let model_id = match self.trace_logging {
            TraceLogging::Off => return,
            TraceLogging::NoModel => None,
            TraceLogging::Log => Some(call.model_id.to_string()).filter(|m| !m.is_empty()),
        };
        self.traces.push(Trace {
            request_id: call.trace.to_string(),
            // MLflow logs to the default experiment when none is named.
            experiment_id: call.experiment_id.unwrap_or("0").to_string(),
            timestamp_ms: call.now_ms,
            model_id,
            app: call.app.to_string(),
        });
    }

    /// The rows and columns of a gateway table, by full name (case-insensitive).
    pub fn table(&self, full_name: &str) -> Option<(&'static [&'static str], &[Row])> {
        let is = |t: &Option<String>| {
            t.as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(full_name))
        };
        if is(&self.payload_table) {
            Some((&PAYLOAD_COLUMNS, &self.payload_rows))
        } else if is(&self.usage_table) {
            Some((&USAGE_COLUMNS, &self.usage_rows))
        } else {
            None
        }
    }
}

impl SimControl {
    /// What the gateway logs in its payload table for the next chat calls.
    pub fn set_payload_logging(&self, logging: PayloadLogging) {
        self.shared.world().observability.payload_logging = logging;
    }

    /// Whether the gateway writes usage rows for the next chat calls.
    pub fn set_usage_logging(&self, on: bool) {
        self.shared.world().observability.usage_off = !on;
    }

    /// What tracing logs for the next chat calls.
    pub fn set_trace_logging(&self, logging: TraceLogging) {
        self.shared.world().observability.trace_logging = logging;
    }

    /// Makes the next `n` SQL statements answer `PENDING` to their first read by id.
    pub fn hold_next_statements(&self, n: u32) {
        self.shared.world().observability.hold_statements = n;
    }

    /// The request ids of the payload table's rows, oldest first.
    pub fn payload_request_ids(&self) -> Vec<String> {
        self.shared
            .world()
            .observability
            .payload_rows
            .iter()
            .filter_map(|r| r.get("databricks_request_id").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    }

    /// The logged traces as `(request id, experiment id, model id)`, oldest first.
    pub fn traces(&self) -> Vec<(String, String, Option<String>)> {
        self.shared
            .world()
            .observability
            .traces
            .iter()
            .map(|t| {
                (
                    t.request_id.clone(),
                    t.experiment_id.clone(),
                    t.model_id.clone(),
                )
            })
            .collect()
    }
}
