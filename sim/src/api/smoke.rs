//! The app URLs (`/_apps/{name}/...`): what a deployed app answers. 503 until the app has a
//! successful deployment on active compute, then the app's canned reply with `{{env.NAME}}`
//! replaced from the active deployment's environment.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::shared::SharedState;
use crate::world::Compute;

fn unavailable(msg: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain")],
        msg.to_string(),
    )
        .into_response()
}

/// The chat completions path an agent app serves (OpenAI-compatible).
pub const CHAT_PATH: &str = "api/chat/completions";
/// The app's log page (`<app url>/logz`), served as plain text lines: one per deployment event,
/// oldest first.
pub const LOGS_PATH: &str = "logz";
/// The response header carrying the MLflow trace request id.
pub const TRACE_HEADER: &str = "x-mlflow-trace-id";

/// Any method on `/_apps/{name}` and below. A POST to [`CHAT_PATH`] is a chat completion: the
/// answer is deterministic (the set reply, or `[<MLFLOW_ACTIVE_MODEL_ID>] You asked: <last user
/// message>`), with a trace request id numbered per call in the [`TRACE_HEADER`] header and in
/// `databricks_output.trace.info.trace_id`.
pub async fn answer(
    State(s): State<SharedState>,
    method: axum::http::Method,
    Path(params): Path<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let Some(name) = params
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
    else {
        return unavailable("App Not Available");
    };
    let world = s.world();
    let Some(app) = world.apps.get(&name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "App Not Found",
        )
            .into_response();
    };
    let rest_path = params
        .iter()
        .find(|(k, _)| k == "rest")
        .map(|(_, v)| v.trim_matches('/'))
        .unwrap_or("");
    if rest_path == LOGS_PATH {
        return logs(app, world.crash_of(app));
    }
    let Some(dep) = app
        .active_deployment
        .as_deref()
        .and_then(|id| app.deployment(id))
    else {
        return unavailable("App Not Available: the app has no successful deployment");
    };
    if app.compute != Compute::Active {
        return unavailable("App Not Available: the app's compute is not running");
    }
    if world.crash_of(app).is_some() {
        return (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/plain")],
            "App Not Available: the app crashed",
        )
            .into_response();
    }
    let env = super::apps::deployment_env(&world, app, dep);
    let rest = rest_path;
    let task_path = rest.strip_prefix(super::tasks::TASKS_PATH);
    if task_path.is_some_and(|t| t.is_empty() || t.starts_with('/')) {
        let model = env
            .get("MLFLOW_ACTIVE_MODEL_ID")
            .cloned()
            .unwrap_or_default();
        let mut world = world;
        return match (
            method.as_str(),
            task_path.map(|t| t.trim_start_matches('/')),
        ) {
            ("POST", Some("")) => super::tasks::start(&mut world, &name, &model, &body),
            ("GET", Some(id)) if !id.is_empty() && !id.contains('/') => {
                super::tasks::get(&mut world, &name, id)
            }
            _ => (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::CONTENT_TYPE, "text/plain")],
                "POST /api/tasks starts a task; GET /api/tasks/{id} continues it",
            )
                .into_response(),
        };
    }
    if rest == CHAT_PATH && method == axum::http::Method::POST {
        let model = env
            .iter()
            .find(|(k, _)| k.as_str() == "MLFLOW_ACTIVE_MODEL_ID")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let experiment = env.get("MLFLOW_EXPERIMENT_ID").cloned();
        let requester = app.sp_client_id.clone();
        let reply = world.chat_replies.get(&name).cloned();
        drop(world);
        return chat(
            &s,
            &name,
            (&model, experiment.as_deref(), &requester),
            reply,
            &body,
        );
    }
    let mut body = app.reply.body.clone();
    for (k, v) in &env {
        body = body.replace(&format!("{{{{env.{k}}}}}"), v);
    }
    // Unknown variables render empty, as an unset env var would.
    let re = regex::Regex::new(r"\{\{env\.[A-Za-z_][A-Za-z0-9_]*\}\}");
    if let Ok(re) = re {
        body = re.replace_all(&body, "").into_owned();
    }
    let status = StatusCode::from_u16(app.reply.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, body).into_response();
    let ct = if app.reply.body.trim_start().starts_with('{') {
        "application/json"
    } else {
        "text/plain"
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
}

/// A chat completion; `(model, experiment, requester)` are the app's `MLFLOW_ACTIVE_MODEL_ID`,
/// `MLFLOW_EXPERIMENT_ID` and service principal, which the gateway rows and the trace record.
fn chat(
    s: &SharedState,
    app: &str,
    (model, experiment, requester): (&str, Option<&str>, &str),
    reply: Option<Option<String>>,
    body: &[u8],
) -> Response {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error": {"message": "the body is not JSON"}}"#,
        )
            .into_response();
    };
    let prompt = last_user_message(&request);
    let content = match reply {
        Some(set) => set.unwrap_or_default(),
        None => format!("[{model}] You asked: {prompt}"),
    };
    let (n, trace) = {
        let mut world = s.world();
        world.chat_calls += 1;
        let n = world.chat_calls;
        let trace = format!("tr-{n:032x}");
        let now_ms = world.now();
        world.observability.record_chat(&crate::gateway::ChatCall {
            app,
            trace: &trace,
            model_id: model,
            experiment_id: experiment,
            prompt: &prompt,
            answer: &content,
            now_ms,
            requester,
        });
        (n, trace)
    };
    let answer = serde_json::json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "model": app,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "databricks_output": {"trace": {"info": {"trace_id": trace}}},
    });
    let mut resp = (StatusCode::OK, answer.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&trace) {
        resp.headers_mut().insert(TRACE_HEADER, v);
    }
    resp
}

/// The content of the last `user` message of a chat (`messages`) or responses (`input`)
/// request; empty when there is none.
pub fn last_user_message(request: &serde_json::Value) -> String {
    ["messages", "input"]
        .iter()
        .filter_map(|k| request.get(*k).and_then(serde_json::Value::as_array))
        .flat_map(|m| m.iter().rev())
        .find(|x| x.get("role").and_then(serde_json::Value::as_str) == Some("user"))
        .and_then(|m| m.get("content"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The app's log lines: for each deployment its start and its outcome; a failed one logs the
/// failure as the app's stderr would, a crash its traceback.
fn logs(app: &crate::world::App, crash: Option<&crate::world::AppCrash>) -> Response {
    let mut lines = Vec::new();
    for d in &app.deployments {
        lines.push(format!(
            "[SYSTEM] deployment {} started from {}",
            d.id, d.source_code_path
        ));
        match d.state.as_str() {
            "SUCCEEDED" => lines.push(format!("[APP] deployment {}: {}", d.id, d.message)),
            "FAILED" => {
                lines.push(format!(
                    "[APP] Traceback (most recent call last): deployment {}",
                    d.id
                ));
                lines.push(format!("[APP] ERROR: {}", d.message));
            }
            _ => {}
        }
    }
    let state = match crash {
        Some(c) => {
            lines.push("[APP] Traceback (most recent call last): the app process exited".into());
            lines.push(format!("[APP] ERROR: {}", c.message));
            if c.compute_error {
                "UNAVAILABLE (compute ERROR)"
            } else {
                "CRASHED"
            }
        }
        None => app.app_state(),
    };
    lines.push(format!("[SYSTEM] app status {state}"));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        lines.join("\n") + "\n",
    )
        .into_response()
}
