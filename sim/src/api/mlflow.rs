//! MLflow experiments, runs and logged models (`/api/2.0/mlflow/...`).

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, empty, field, ok, opt_field, tag_list, tags_json};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::server::Caller;
use crate::shared::SharedState;
use crate::world::{Experiment, LoggedModel, Metric, Run, World};

/// The run statuses MLflow accepts.
const RUN_STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

fn experiment_json(e: &Experiment) -> Value {
    json!({
        "experiment_id": e.id,
        "name": e.name,
        "artifact_location": format!("dbfs:/databricks/mlflow-tracking/{}", e.id),
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.created_ms,
        "last_update_time": e.updated_ms,
        "tags": tags_json(&e.tags),
    })
}

/// A run as the API renders it.
pub fn run_json(r: &Run) -> Value {
    let mut info = json!({
        "run_id": r.run_id,
        "run_uuid": r.run_id,
        "run_name": r.run_name,
        "experiment_id": r.experiment_id,
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
        "artifact_uri": format!("dbfs:/databricks/mlflow-tracking/{}/{}/artifacts", r.experiment_id, r.run_id),
        "lifecycle_stage": r.lifecycle_stage,
    });
    if let Some(end) = r.end_time {
        info["end_time"] = json!(end);
    }
    let metrics: Vec<Value> = r
        .metrics
        .iter()
        .map(|(k, m)| json!({"key": k, "value": m.value, "timestamp": m.timestamp, "step": m.step}))
        .collect();
    let params: Vec<Value> = r
        .params
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    json!({
        "info": info,
        "data": {"metrics": metrics, "params": params, "tags": tags_json(&r.tags)},
        "inputs": {"dataset_inputs": r.dataset_inputs, "model_inputs": r.model_inputs},
    })
}

fn experiment<'a>(world: &'a World, id: &str) -> ApiResult<&'a Experiment> {
    world
        .experiments
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("No Experiment with id={id} exists")))
}

fn run_mut<'a>(world: &'a mut World, id: &str) -> ApiResult<&'a mut Run> {
    world
        .runs
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found(format!("Run with id={id} not found")))
}

fn run_id_of(body: &Value) -> ApiResult<String> {
    opt_field(body, "run_id")?
        .or(opt_field(body, "run_uuid")?)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::invalid("Missing required field: run_id"))
}

/// `GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=`.
pub async fn get_experiment_by_name(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let name = q.required("experiment_name")?;
    let world = s.world();
    let found = world
        .experiments
        .values()
        .filter(|e| e.name == name)
        .max_by_key(|e| (e.lifecycle_stage == "active", e.created_ms))
        .ok_or_else(|| {
            ApiError::not_found(format!("Could not find experiment with name '{name}'"))
        })?;
    Ok(ok(json!({"experiment": experiment_json(found)})))
}

/// `GET /api/2.0/mlflow/experiments/get?experiment_id=`.
pub async fn get_experiment(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let id = q.required("experiment_id")?;
    let world = s.world();
    Ok(ok(
        json!({"experiment": experiment_json(experiment(&world, id)?)}),
    ))
}

/// `POST /api/2.0/mlflow/experiments/create`.
pub async fn create_experiment(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let name = field(&body, "name")?.to_string();
    if !name.starts_with('/') {
        return Err(ApiError::invalid(format!(
            "Experiment name '{name}' must be an absolute workspace path"
        )));
    }
    let tags = tag_list(&body, "tags")?;
    let mut world = s.world();
    if world
        .experiments
        .values()
        .any(|e| e.name == name && e.lifecycle_stage == "active")
    {
        return Err(ApiError::bad_request_exists(format!(
            "Experiment with name '{name}' already exists."
        )));
    }
    let id = create_experiment_in(&mut world, &name, tags.into_iter().collect());
    Ok(ok(json!({"experiment_id": id})))
}

/// Adds an experiment, returning its id.
pub fn create_experiment_in(
    world: &mut World,
    name: &str,
    tags: BTreeMap<String, String>,
) -> String {
    let id = (3_000_000_000_000_000_u64 + world.next_number()).to_string();
    let now = world.now();
    world.experiments.insert(
        id.clone(),
        Experiment {
            id: id.clone(),
            name: name.to_string(),
            lifecycle_stage: "active".into(),
            created_ms: now,
            updated_ms: now,
            tags,
        },
    );
    id
}

/// `POST /api/2.0/mlflow/runs/create`.
pub async fn create_run(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let experiment_id = field(&body, "experiment_id")?.to_string();
    let tags = tag_list(&body, "tags")?;
    let mut world = s.world();
    let exp = experiment(&world, &experiment_id)?;
    if exp.lifecycle_stage != "active" {
        return Err(ApiError::invalid_state(format!(
            "The experiment {experiment_id} must be in the 'active' state"
        )));
    }
    let now = world.now();
    let start = body
        .get("start_time")
        .and_then(Value::as_i64)
        .unwrap_or(now);
    let run_id = world.next_hex();
    let run_name = opt_field(&body, "run_name")?
        .map(str::to_string)
        .or_else(|| {
            tags.iter()
                .find(|(k, _)| k == "mlflow.runName")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| format!("run-{}", &run_id[run_id.len().saturating_sub(6)..]));
    let mut tag_map: BTreeMap<String, String> = tags.into_iter().collect();
    tag_map.insert("mlflow.runName".into(), run_name.clone());
    let run = Run {
        run_id: run_id.clone(),
        experiment_id,
        run_name,
        user_id: opt_field(&body, "user_id")?.map_or_else(|| caller.0.clone(), str::to_string),
        status: "RUNNING".into(),
        start_time: start,
        end_time: None,
        lifecycle_stage: "active".into(),
        tags: tag_map,
        params: BTreeMap::new(),
        metrics: BTreeMap::new(),
        dataset_inputs: Vec::new(),
        model_inputs: Vec::new(),
    };
    let v = run_json(&run);
    world.runs.insert(run_id, run);
    Ok(ok(json!({"run": v})))
}

/// `POST /api/2.0/mlflow/runs/update`.
pub async fn update_run(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let run_id = run_id_of(&body)?;
    let status = opt_field(&body, "status")?.map(str::to_string);
    if let Some(st) = &status
        && !RUN_STATUSES.contains(&st.as_str())
    {
        return Err(ApiError::invalid(format!(
            "Invalid run status '{st}': expected one of {}",
            RUN_STATUSES.join(", ")
        )));
    }
    let end_time = body.get("end_time").and_then(Value::as_i64);
    let run_name = opt_field(&body, "run_name")?.map(str::to_string);
    let mut world = s.world();
    let run = run_mut(&mut world, &run_id)?;
    if let Some(st) = status {
        run.status = st;
    }
    if end_time.is_some() {
        run.end_time = end_time;
    }
    if let Some(n) = run_name {
        run.tags.insert("mlflow.runName".into(), n.clone());
        run.run_name = n;
    }
    let info = run_json(run)["info"].clone();
    Ok(ok(json!({"run_info": info})))
}

/// `GET /api/2.0/mlflow/runs/get?run_id=`.
pub async fn get_run(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let run_id = q
        .get("run_id")
        .or(q.get("run_uuid"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required field: run_id"))?
        .to_string();
    let world = s.world();
    let run = world
        .runs
        .get(&run_id)
        .ok_or_else(|| ApiError::not_found(format!("Run with id={run_id} not found")))?;
    Ok(ok(json!({"run": run_json(run)})))
}

/// `POST /api/2.0/mlflow/runs/set-tag`.
pub async fn set_tag(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let run_id = run_id_of(&body)?;
    let key = field(&body, "key")?.to_string();
    let value = body
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut world = s.world();
    run_mut(&mut world, &run_id)?.tags.insert(key, value);
    Ok(empty())
}

/// `POST /api/2.0/mlflow/runs/log-batch`.
pub async fn log_batch(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let run_id = run_id_of(&body)?;
    let list = |key: &str| -> ApiResult<Vec<Value>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(ApiError::invalid(format!("{key} must be a list"))),
        }
    };
    let (metrics, params, tags) = (list("metrics")?, list("params")?, list("tags")?);
    if metrics.len() > 1000
        || params.len() > 100
        || tags.len() > 100
        || metrics.len() + params.len() + tags.len() > 1000
    {
        return Err(ApiError::invalid(
            "A batch may hold at most 1000 metrics, 100 params, 100 tags and 1000 items in total",
        ));
    }
    let mut world = s.world();
    let now = world.now();
    let run = run_mut(&mut world, &run_id)?;
    for p in &params {
        let key = field(p, "key")?;
        let value = p.get("value").and_then(Value::as_str).unwrap_or("");
        if let Some(old) = run.params.get(key)
            && old != value
        {
            return Err(ApiError::invalid(format!(
                "Changing param values is not allowed. Param with key='{key}' was already logged with value='{old}' for run ID='{run_id}'. Attempted logging new value '{value}'."
            )));
        }
    }
    for m in &metrics {
        let key = field(m, "key")?.to_string();
        let value = m
            .get("value")
            .and_then(Value::as_f64)
            .ok_or_else(|| ApiError::invalid(format!("Metric '{key}' needs a numeric value")))?;
        let metric = Metric {
            value,
            timestamp: m.get("timestamp").and_then(Value::as_i64).unwrap_or(now),
            step: m.get("step").and_then(Value::as_i64).unwrap_or(0),
        };
        run.metrics.insert(key, metric);
    }
    for p in &params {
        let key = field(p, "key")?.to_string();
        let value = p
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        run.params.insert(key, value);
    }
    for t in &tags {
        let key = field(t, "key")?.to_string();
        let value = t
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        run.tags.insert(key, value);
    }
    Ok(empty())
}

/// `POST /api/2.0/mlflow/runs/log-inputs`.
pub async fn log_inputs(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let run_id = run_id_of(&body)?;
    let datasets = body
        .get("datasets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for d in &datasets {
        let dataset = d
            .get("dataset")
            .ok_or_else(|| ApiError::invalid("Each dataset input needs a 'dataset'"))?;
        for key in ["name", "digest", "source_type", "source"] {
            field(dataset, key).map_err(|_| {
                ApiError::invalid(format!("Missing required field: datasets.dataset.{key}"))
            })?;
        }
        tag_list(d, "tags")?;
    }
    let models = body
        .get("models")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for m in &models {
        field(m, "model_id")?;
    }
    let mut world = s.world();
    let run = run_mut(&mut world, &run_id)?;
    for d in datasets {
        let key = |v: &Value| {
            (
                v["dataset"]["name"].as_str().map(str::to_string),
                v["dataset"]["digest"].as_str().map(str::to_string),
            )
        };
        let k = key(&d);
        run.dataset_inputs.retain(|existing| key(existing) != k);
        run.dataset_inputs.push(d);
    }
    for m in models {
        if !run.model_inputs.contains(&m) {
            run.model_inputs.push(m);
        }
    }
    Ok(empty())
}

/// A parsed comparison of a search filter.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    kind: String,
    key: String,
    op: String,
    value: String,
}

fn parse_filter(filter: &str) -> ApiResult<Vec<Clause>> {
    let bad = |why: &str| ApiError::invalid(format!("Invalid filter '{filter}': {why}"));
    let chars: Vec<char> = filter.chars().collect();
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let quote = c;
            let mut j = i + 1;
            while j < chars.len() && chars[j] != quote {
                j += 1;
            }
            if j >= chars.len() {
                return Err(bad("unterminated quote"));
            }
            let inner: String = chars[i + 1..j].iter().collect();
            tokens.push(format!("{quote}{inner}"));
            i = j + 1;
        } else if "=!<>".contains(c) {
            let mut op = c.to_string();
            if i + 1 < chars.len() && chars[i + 1] == '=' {
                op.push('=');
                i += 1;
            }
            tokens.push(op);
            i += 1;
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && !"=!<>'\"`".contains(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            if let Some(prefix) = word.strip_suffix('.')
                && j < chars.len()
                && "'\"`".contains(chars[j])
            {
                // tags.`key with spaces`
                let quote = chars[j];
                let mut k = j + 1;
                while k < chars.len() && chars[k] != quote {
                    k += 1;
                }
                if k >= chars.len() {
                    return Err(bad("unterminated quote"));
                }
                let inner: String = chars[j + 1..k].iter().collect();
                tokens.push(format!("{prefix}.{inner}"));
                i = k + 1;
                continue;
            }
            tokens.push(word);
            i = j;
        }
    }
    let mut clauses = Vec::new();
    let mut rest = tokens.as_slice();
    loop {
        let [ident, op, value, tail @ ..] = rest else {
            return Err(bad("expected <identifier> <operator> <value>"));
        };
        let (kind, key) = match ident.split_once('.') {
            Some((k, key)) => (k.to_ascii_lowercase(), key.to_string()),
            None => ("attributes".to_string(), ident.clone()),
        };
        let kind = match kind.as_str() {
            "tags" | "tag" => "tags",
            "params" | "param" | "parameter" | "parameters" => "params",
            "metrics" | "metric" => "metrics",
            "attributes" | "attribute" | "attr" | "run" => "attributes",
            _ => return Err(bad(&format!("unknown entity type '{kind}'"))),
        };
        if !["=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE"]
            .contains(&op.to_ascii_uppercase().as_str())
        {
            return Err(bad(&format!("unsupported operator '{op}'")));
        }
        let value = if let Some(v) = value.strip_prefix('\'').or_else(|| value.strip_prefix('"')) {
            v.to_string()
        } else if kind == "metrics" && value.parse::<f64>().is_ok() {
            value.clone()
        } else {
            return Err(bad("values must be quoted strings (numbers for metrics)"));
        };
        clauses.push(Clause {
            kind: kind.to_string(),
            key,
            op: op.to_ascii_uppercase(),
            value,
        });
        match tail {
            [] => break,
            [and, more @ ..] if and.eq_ignore_ascii_case("and") => rest = more,
            _ => return Err(bad("clauses must be joined with AND")),
        }
    }
    Ok(clauses)
}

fn like(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::RegexBuilder::new(&re)
        .case_insensitive(case_insensitive)
        .build()
        .is_ok_and(|r| r.is_match(value))
}

fn matches(run: &Run, clause: &Clause) -> bool {
    let actual: Option<String> = match clause.kind.as_str() {
        "tags" => run.tags.get(&clause.key).cloned(),
        "params" => run.params.get(&clause.key).cloned(),
        "metrics" => {
            let Some(m) = run.metrics.get(&clause.key) else {
                return false;
            };
            let Ok(bound) = clause.value.parse::<f64>() else {
                return false;
            };
            return match clause.op.as_str() {
                "=" => m.value == bound,
                "!=" => m.value != bound,
                ">" => m.value > bound,
                ">=" => m.value >= bound,
                "<" => m.value < bound,
                "<=" => m.value <= bound,
                _ => false,
            };
        }
        _ => match clause.key.as_str() {
            "status" => Some(run.status.clone()),
            "run_name" | "runName" => Some(run.run_name.clone()),
            "run_id" => Some(run.run_id.clone()),
            "user_id" => Some(run.user_id.clone()),
            _ => None,
        },
    };
    let Some(actual) = actual else {
        return clause.op == "!=";
    };
    match clause.op.as_str() {
        "=" => actual == clause.value,
        "!=" => actual != clause.value,
        "LIKE" => like(&clause.value, &actual, false),
        "ILIKE" => like(&clause.value, &actual, true),
        _ => false,
    }
}

/// `POST /api/2.0/mlflow/runs/search`.
pub async fn search_runs(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let ids: Vec<String> = body
        .get("experiment_ids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let clauses = match opt_field(&body, "filter")? {
        Some(f) if !f.trim().is_empty() => parse_filter(f)?,
        _ => Vec::new(),
    };
    let view = opt_field(&body, "run_view_type")?.unwrap_or("ACTIVE_ONLY");
    if !["ACTIVE_ONLY", "DELETED_ONLY", "ALL"].contains(&view) {
        return Err(ApiError::invalid(format!("Invalid run_view_type '{view}'")));
    }
    let max_results = body
        .get("max_results")
        .and_then(Value::as_u64)
        .unwrap_or(1000);
    if max_results > 50_000 {
        return Err(ApiError::invalid("max_results may not exceed 50000"));
    }
    let mut order_desc = true;
    let mut order_key = "start_time".to_string();
    if let Some(first) = body
        .get("order_by")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        let mut words = first.split_whitespace();
        let key = words.next().unwrap_or("attributes.start_time");
        order_key = key
            .trim_start_matches("attributes.")
            .trim_start_matches("attribute.")
            .to_string();
        order_desc = !words.next().is_some_and(|d| d.eq_ignore_ascii_case("asc"));
    }
    let world = s.world();
    for id in &ids {
        experiment(&world, id)?;
    }
    let mut runs: Vec<&Run> = world
        .runs
        .values()
        .filter(|r| ids.contains(&r.experiment_id))
        .filter(|r| match view {
            "ACTIVE_ONLY" => r.lifecycle_stage == "active",
            "DELETED_ONLY" => r.lifecycle_stage == "deleted",
            _ => true,
        })
        .filter(|r| clauses.iter().all(|c| matches(r, c)))
        .collect();
    runs.sort_by(|a, b| {
        let ord = match order_key.as_str() {
            "end_time" => a.end_time.cmp(&b.end_time),
            "run_name" => a.run_name.cmp(&b.run_name),
            _ => a.start_time.cmp(&b.start_time),
        }
        .then_with(|| a.run_id.cmp(&b.run_id));
        if order_desc { ord.reverse() } else { ord }
    });
    let all: Vec<Value> = runs.into_iter().map(run_json).collect();
    let (items, next) = super::page(
        &all,
        opt_field(&body, "page_token")?,
        max_results.max(1) as usize,
    )?;
    let mut v = json!({"runs": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

fn logged_model_json(m: &LoggedModel) -> Value {
    let mut info = json!({
        "model_id": m.model_id,
        "name": m.name,
        "experiment_id": m.experiment_id,
        "status": m.status,
        "creation_timestamp_ms": m.created_ms,
        "last_updated_timestamp_ms": m.created_ms,
        "artifact_uri": format!("dbfs:/databricks/mlflow-tracking/{}/logged_models/{}/artifacts", m.experiment_id, m.model_id),
        "tags": tags_json(&m.tags),
    });
    if let Some(run) = &m.source_run_id {
        info["source_run_id"] = json!(run);
    }
    json!({"info": info, "data": {"params": [], "metrics": []}})
}

/// `GET /api/2.0/mlflow/logged-models/{model_id}`.
pub async fn get_logged_model(
    State(s): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    let m = world
        .logged_models
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("Logged model with ID '{id}' not found")))?;
    Ok(ok(json!({"model": logged_model_json(m)})))
}

/// `POST /api/2.0/mlflow/logged-models`.
pub async fn create_logged_model(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let experiment_id = field(&body, "experiment_id")?.to_string();
    let tags = tag_list(&body, "tags")?;
    let mut world = s.world();
    experiment(&world, &experiment_id)?;
    let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
    let model = LoggedModel {
        model_id: model_id.clone(),
        name: opt_field(&body, "name")?.unwrap_or("model").to_string(),
        experiment_id,
        source_run_id: opt_field(&body, "source_run_id")?.map(str::to_string),
        status: "LOGGED_MODEL_PENDING".into(),
        created_ms: world.now(),
        tags: tags.into_iter().collect(),
    };
    let v = logged_model_json(&model);
    world.logged_models.insert(model_id, model);
    Ok(ok(json!({"model": v})))
}

/// `POST /api/2.0/mlflow/runs/log-metric`.
pub async fn log_metric(state: State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let v: Value = parse_body(&body)?;
    let run_id = run_id_of(&v)?;
    let batch = json!({"run_id": run_id, "metrics": [{
        "key": field(&v, "key")?, "value": v.get("value").cloned().unwrap_or(Value::Null),
        "timestamp": v.get("timestamp").cloned().unwrap_or(Value::Null), "step": v.get("step").cloned().unwrap_or(json!(0)),
    }]});
    log_batch(state, Bytes::from(batch.to_string())).await
}

/// `POST /api/2.0/mlflow/runs/log-parameter`.
pub async fn log_param(state: State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let v: Value = parse_body(&body)?;
    let run_id = run_id_of(&v)?;
    let batch = json!({"run_id": run_id, "params": [{"key": field(&v, "key")?, "value": v.get("value").and_then(Value::as_str).unwrap_or("")}]});
    log_batch(state, Bytes::from(batch.to_string())).await
}

/// `POST /api/2.0/mlflow/experiments/search` (filter `name = '...'` or `name LIKE '...'`).
pub async fn search_experiments(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let clauses = match opt_field(&body, "filter")? {
        Some(f) if !f.trim().is_empty() => parse_filter(f)?,
        _ => Vec::new(),
    };
    let max_results = body
        .get("max_results")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .clamp(1, 50_000) as usize;
    let world = s.world();
    let all: Vec<Value> = world
        .experiments
        .values()
        .filter(|e| e.lifecycle_stage == "active")
        .filter(|e| {
            clauses.iter().all(|c| {
                let actual = match c.key.as_str() {
                    "name" => e.name.clone(),
                    _ => return false,
                };
                match c.op.as_str() {
                    "=" => actual == c.value,
                    "!=" => actual != c.value,
                    "LIKE" => like(&c.value, &actual, false),
                    "ILIKE" => like(&c.value, &actual, true),
                    _ => false,
                }
            })
        })
        .map(experiment_json)
        .collect();
    let (items, next) = super::page(&all, opt_field(&body, "page_token")?, max_results)?;
    let mut v = json!({"experiments": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_tags_attributes_and_backquoted_keys() {
        let c = parse_filter(
            "tags.`agentops.dev/promotion` = 'ns/ar/7' and attributes.status = \"FINISHED\"",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].kind.as_str(), c[0].key.as_str(), c[0].value.as_str()),
            ("tags", "agentops.dev/promotion", "ns/ar/7")
        );
        assert_eq!(
            (c[1].kind.as_str(), c[1].key.as_str()),
            ("attributes", "status")
        );
        assert!(parse_filter("metrics.acc >= 0.9").is_ok());
        assert!(parse_filter("tags.x = unquoted").is_err());
        assert!(parse_filter("tags.x = 'a' or tags.y = 'b'").is_err());
        assert!(parse_filter("tags.x = 'open").is_err());
        assert!(parse_filter("nonsense.x = 'a'").is_err());
    }

    #[test]
    fn like_follows_sql_wildcards() {
        assert!(like("eval%", "eval-7", false));
        assert!(!like("eval%", "EVAL-7", false));
        assert!(like("eval_7", "EVAL-7", true));
    }
}
