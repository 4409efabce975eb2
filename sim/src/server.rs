//! The HTTP server: a hand-rolled accept loop (so a fault can drop a connection without an
//! answer), fault injection and the call log around the router, and the middleware that
//! authenticates callers, names the route template and keeps every error in the API's shape.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::calls::CallRecord;
use crate::error::ApiError;
use crate::faults::FaultDecision;
use crate::shared::{Shared, SharedState};
use crate::world::ADMIN_PRINCIPAL;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The route template that served a request (set by the middleware, read by the call log).
#[derive(Debug, Clone)]
struct RouteTemplate(String);

/// A connection closed on purpose by a fault rule.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub struct Dropped;

/// Whether a path is served without credentials.
fn is_public(path: &str) -> bool {
    path == "/.well-known/databricks-config"
        || path.starts_with("/oidc/")
        || path == "/_sim"
        || path.starts_with("/_sim/")
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates, applies denials, names the route, and turns framework rejections (plain-text
/// 4xx from extractors, unknown routes) into the API's JSON error shape.
pub async fn api_middleware(
    State(shared): State<SharedState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = matched
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut caller = None;
    if !is_public(&path) {
        let token = bearer(req.headers()).map(str::to_string);
        let principal = {
            let world = shared.world();
            match token.as_deref() {
                Some(t)
                    if t == shared.admin_token || shared.extra_tokens.iter().any(|x| x == t) =>
                {
                    Some(ADMIN_PRINCIPAL.to_string())
                }
                Some(t) => world.tokens.get(t).map(|i| i.principal.clone()),
                None => None,
            }
        };
        let Some(principal) = principal else {
            let mut resp = ApiError::unauthenticated(if token.is_some() {
                "Invalid access token."
            } else {
                "No access token was provided; send 'Authorization: Bearer <token>'."
            })
            .into_response();
            resp.extensions_mut().insert(RouteTemplate(route));
            return resp;
        };
        let denied = {
            let world = shared.world();
            world.denials.get(&principal).and_then(|rules| {
                rules
                    .iter()
                    .find(|d| {
                        d.method
                            .as_deref()
                            .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                            && d.pattern.is_match(&path)
                    })
                    .map(|d| d.source.clone())
            })
        };
        if denied.is_some() {
            let mut resp = ApiError::denied(format!(
                "User {principal} does not have permission to perform '{method} {path}'."
            ))
            .into_response();
            resp.extensions_mut().insert(RouteTemplate(route));
            resp.extensions_mut().insert(Caller(principal));
            return resp;
        }
        req.extensions_mut().insert(Caller(principal.clone()));
        caller = Some(principal);
    }
    let mut resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if resp.status().as_u16() >= 400 && !is_json && !path.starts_with("/_apps/") {
        let status = resp.status();
        let text = axum::body::to_bytes(std::mem::take(resp.body_mut()), 64 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        let error = match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
                ApiError::no_api(method.as_str(), &path)
            }
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                status,
                "INVALID_PARAMETER_VALUE",
                "The request body is too large.",
            ),
            s if s.is_client_error() => ApiError::invalid(if text.is_empty() {
                "Malformed request.".to_string()
            } else {
                text
            }),
            s => ApiError::new(s, "INTERNAL_ERROR", text),
        };
        let extensions = std::mem::take(resp.extensions_mut());
        resp = error.into_response();
        *resp.extensions_mut() = extensions;
    }
    resp.extensions_mut().insert(RouteTemplate(route));
    if let Some(c) = caller {
        resp.extensions_mut().insert(Caller(c));
    }
    resp
}

/// Serves one request: faults first, then the router; records the call.
async fn serve_one(
    shared: SharedState,
    router: Router,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<Response, Dropped> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let control = path == "/_sim" || path.starts_with("/_sim/");
    let mut lose_answer = false;
    if !control {
        let (delay, decision) = {
            let mut faults = shared.faults();
            if faults.is_empty() {
                (Duration::ZERO, FaultDecision::Pass)
            } else {
                faults.decide(&method, &path)
            }
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match decision {
            FaultDecision::Pass => {}
            FaultDecision::Delay(d) => tokio::time::sleep(d).await,
            FaultDecision::Drop => {
                record(
                    &shared,
                    (&method, &path, &query),
                    None,
                    0,
                    started,
                    None,
                    true,
                );
                return Err(Dropped);
            }
            FaultDecision::LoseAnswer => lose_answer = true,
            FaultDecision::Respond {
                status,
                error_code,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let code: &'static str = crate::faults::default_code(status.as_u16());
                let mut resp = axum::Json(serde_json::json!({
                    "error_code": error_code,
                    "message": format!("Injected fault ({code})"),
                }))
                .into_response();
                *resp.status_mut() = status;
                if let Some(secs) = retry_after
                    && let Ok(v) = HeaderValue::from_str(&secs.to_string())
                {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                record(
                    &shared,
                    (&method, &path, &query),
                    None,
                    status.as_u16(),
                    started,
                    None,
                    true,
                );
                return Ok(resp);
            }
        }
    }
    let resp = match router.oneshot(req.map(Body::new)).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    if !control {
        let route = resp
            .extensions()
            .get::<RouteTemplate>()
            .map(|r| r.0.clone());
        let principal = resp.extensions().get::<Caller>().map(|c| c.0.clone());
        record(
            &shared,
            (&method, &path, &query),
            route,
            resp.status().as_u16(),
            started,
            principal,
            lose_answer,
        );
    }
    if lose_answer {
        return Err(Dropped);
    }
    Ok(resp)
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    (method, path, query): (&str, &str, &Option<String>),
    route: Option<String>,
    status: u16,
    started: Instant,
    principal: Option<String>,
    faulted: bool,
) {
    let at = shared
        .world
        .lock()
        .map(|w| w.now())
        .unwrap_or_else(|e| e.into_inner().now());
    shared.calls().push(CallRecord {
        seq: 0,
        method: method.to_string(),
        path: path.to_string(),
        query: query.clone(),
        route: route.unwrap_or_else(|| path.to_string()),
        status,
        duration: started.elapsed(),
        principal,
        at,
        faulted,
    });
}

/// Accepts connections until `shutdown` flips, serving each with HTTP/1.1 or HTTP/2.
pub async fn accept_loop(
    listener: TcpListener,
    shared: SharedState,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let router = router.clone();
        let builder = builder.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                serve_one(Arc::clone(&shared), router.clone(), req)
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.changed() => {}
            }
        });
    }
}
