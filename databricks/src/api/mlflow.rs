//! MLflow experiments and runs.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::Client;
use crate::error::Result;

/// A key/value tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// An experiment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Experiment {
    /// The id.
    pub experiment_id: String,
    /// The workspace path.
    #[serde(default)]
    pub name: String,
    /// `active` or `deleted` (get-by-name may return a deleted one).
    #[serde(default)]
    pub lifecycle_stage: String,
}

/// A run's info.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunInfo {
    /// The id.
    #[serde(default)]
    pub run_id: String,
    /// The name.
    #[serde(default)]
    pub run_name: String,
    /// The experiment.
    #[serde(default)]
    pub experiment_id: String,
    /// `RUNNING`, `FINISHED`, ...
    #[serde(default)]
    pub status: String,
    /// Start, epoch ms.
    #[serde(default)]
    pub start_time: Option<i64>,
    /// End, epoch ms.
    #[serde(default)]
    pub end_time: Option<i64>,
}

/// A run's data.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RunData {
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Dataset {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The digest.
    #[serde(default)]
    pub digest: Option<String>,
    /// Where the data came from, by kind (`delta` for a Unity Catalog table, `local`, `http`...).
    #[serde(default)]
    pub source_type: Option<String>,
    /// The source's JSON description (for a table, `{"table_name": ...}`).
    #[serde(default)]
    pub source: Option<String>,
}

/// A dataset input of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DatasetInput {
    /// The dataset.
    #[serde(default)]
    pub dataset: Dataset,
    /// Its tags (`mlflow.data.context`).
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A model input of a run (MLflow 3): a logged model (or model version) the run used, e.g. the
/// model an evaluation run evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ModelInput {
    /// The logged model's id (`m-...`).
    #[serde(default)]
    pub model_id: String,
}

/// A run's inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RunInputs {
    /// Dataset inputs.
    #[serde(default)]
    pub dataset_inputs: Vec<DatasetInput>,
    /// Model inputs (MLflow 3; absent on older servers).
    #[serde(default)]
    pub model_inputs: Vec<ModelInput>,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    /// Info.
    pub info: RunInfo,
    /// Data.
    #[serde(default)]
    pub data: RunData,
    /// Inputs.
    #[serde(default)]
    pub inputs: RunInputs,
}

#[derive(Deserialize)]
struct ExperimentAnswer {
    experiment: Experiment,
}

#[derive(Deserialize)]
struct RunAnswer {
    run: Run,
}

#[derive(Deserialize)]
struct SearchPage {
    #[serde(default)]
    runs: Vec<Run>,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl Client {
    /// An experiment by workspace path.
    pub async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let a: ExperimentAnswer = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/experiments/get-by-name",
                "/api/2.0/mlflow/experiments/get-by-name",
                &[("experiment_name", name.to_string())],
                None,
            )
            .await?;
        Ok(a.experiment)
    }

    /// An experiment by id.
    pub async fn get_experiment_by_id(&self, id: &str) -> Result<Experiment> {
        let a: ExperimentAnswer = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/experiments/get",
                "/api/2.0/mlflow/experiments/get",
                &[("experiment_id", id.to_string())],
                None,
            )
            .await?;
        Ok(a.experiment)
    }

    /// Creates an experiment, returning its id.
    pub async fn create_experiment(&self, name: &str) -> Result<String> {
        #[derive(Deserialize)]
        struct Created {
            experiment_id: String,
        }
        let c: Created = self
            .json(
                Method::POST,
                "/api/2.0/mlflow/experiments/create",
                "/api/2.0/mlflow/experiments/create",
                &[],
                Some(json!({"name": name})),
            )
            .await?;
        Ok(c.experiment_id)
    }

    /// Creates a run.
    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        start_time: i64,
        tags: &[Tag],
    ) -> Result<Run> {
        let a: RunAnswer = self
            .json(
                Method::POST,
                "/api/2.0/mlflow/runs/create",
                "/api/2.0/mlflow/runs/create",
                &[],
                Some(json!({"experiment_id": experiment_id, "run_name": run_name, "start_time": start_time, "tags": tags})),
            )
            .await?;
        Ok(a.run)
    }

    /// Sets a run's status and end time.
    pub async fn update_run(&self, run_id: &str, status: &str, end_time: i64) -> Result<()> {
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/mlflow/runs/update",
            "/api/2.0/mlflow/runs/update",
            &[],
            Some(json!({"run_id": run_id, "status": status, "end_time": end_time})),
        )
        .await?;
        Ok(())
    }

    /// A run.
    pub async fn get_run(&self, run_id: &str) -> Result<Run> {
        let a: RunAnswer = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/runs/get",
                "/api/2.0/mlflow/runs/get",
                &[("run_id", run_id.to_string())],
                None,
            )
            .await?;
        Ok(a.run)
    }

    /// Sets a run tag.
    pub async fn set_run_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/mlflow/runs/set-tag",
            "/api/2.0/mlflow/runs/set-tag",
            &[],
            Some(json!({"run_id": run_id, "key": key, "value": value})),
        )
        .await?;
        Ok(())
    }

    /// Logs metrics, params and tags.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[(String, f64, i64)],
        params: &[Tag],
        tags: &[Tag],
    ) -> Result<()> {
        let metrics: Vec<_> = metrics
            .iter()
            .map(|(k, v, ts)| json!({"key": k, "value": v, "timestamp": ts, "step": 0}))
            .collect();
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/mlflow/runs/log-batch",
            "/api/2.0/mlflow/runs/log-batch",
            &[],
            Some(json!({"run_id": run_id, "metrics": metrics, "params": params, "tags": tags})),
        )
        .await?;
        Ok(())
    }

    /// Searches runs of experiments (every page, up to `limit` runs), newest first.
    pub async fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        limit: usize,
    ) -> Result<Vec<Run>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        while out.len() < limit {
            let mut body = json!({
                "experiment_ids": experiment_ids,
                "filter": filter,
                "max_results": (limit - out.len()).min(1000),
                "order_by": ["attributes.start_time DESC"],
                "run_view_type": "ACTIVE_ONLY",
            });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let page: SearchPage = self
                .json(
                    Method::POST,
                    "/api/2.0/mlflow/runs/search",
                    "/api/2.0/mlflow/runs/search",
                    &[],
                    Some(body),
                )
                .await?;
            out.extend(page.runs);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
