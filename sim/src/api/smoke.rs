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

/// Any method on `/_apps/{name}` and below.
pub async fn answer(
    State(s): State<SharedState>,
    Path(params): Path<Vec<(String, String)>>,
    _body: Bytes,
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
    let env = super::apps::deployment_env(&world, app, dep);
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
