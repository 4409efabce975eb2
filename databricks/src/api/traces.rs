//! MLflow traces: one trace's info by its request id (`GET /api/2.0/mlflow/traces/{request_id}/info`)
//! and the search (`GET /api/2.0/mlflow/traces`, the trace infos of experiments, newest first),
//! with their request metadata (where MLflow records the logged model a trace belongs to,
//! `mlflow.modelId`) and tags.

use reqwest::Method;
use serde::Deserialize;

use crate::api::mlflow::Tag;
use crate::client::{Client, encode_segment};
use crate::error::Result;

/// One trace's info.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TraceInfo {
    /// The trace request id (`tr-...`).
    #[serde(default)]
    pub request_id: String,
    /// The experiment it was logged to.
    #[serde(default)]
    pub experiment_id: String,
    /// When it started, epoch ms.
    #[serde(default)]
    pub timestamp_ms: Option<i64>,
    /// `OK`, `ERROR`, `IN_PROGRESS`.
    #[serde(default)]
    pub status: Option<String>,
    /// Request metadata (`mlflow.modelId`, `mlflow.trace_schema.version`, ...).
    #[serde(default)]
    pub request_metadata: Vec<Tag>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct TraceInfoAnswer {
    trace_info: TraceInfo,
}

#[derive(Deserialize)]
struct TracePage {
    #[serde(default)]
    traces: Vec<TraceInfo>,
}

impl Client {
    /// One trace's info; `NotFound` (`RESOURCE_DOES_NOT_EXIST`) until the trace is exported.
    pub async fn get_trace_info(&self, request_id: &str) -> Result<TraceInfo> {
        let p = format!("/api/2.0/mlflow/traces/{}/info", encode_segment(request_id));
        let answer: TraceInfoAnswer = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/traces/{request_id}/info",
                &p,
                &[],
                None,
            )
            .await?;
        Ok(answer.trace_info)
    }

    /// The newest `max_results` traces of `experiment_id` (one page).
    pub async fn search_traces(
        &self,
        experiment_id: &str,
        max_results: u32,
    ) -> Result<Vec<TraceInfo>> {
        let page: TracePage = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/traces",
                "/api/2.0/mlflow/traces",
                &[
                    ("experiment_ids", experiment_id.to_string()),
                    ("max_results", max_results.to_string()),
                    ("order_by", "timestamp_ms DESC".to_string()),
                ],
                None,
            )
            .await?;
        Ok(page.traces)
    }
}
