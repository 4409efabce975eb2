//! OAuth M2M: host metadata, OIDC discovery and the client-credentials token endpoint. Tokens
//! expire on the simulated clock.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::ok;
use super::token_exchange;
use crate::shared::SharedState;
use crate::world::TokenInfo;

/// `GET /.well-known/databricks-config`.
pub async fn host_metadata(State(s): State<SharedState>) -> Response {
    let world = s.world();
    ok(json!({
        "oidc_endpoint": format!("{}/oidc", world.base_url),
        "workspace_id": world.workspace_id.to_string(),
        "cloud": "aws",
        "host_type": "workspace",
    }))
}

/// `GET /oidc/.well-known/oauth-authorization-server`.
pub async fn discovery(State(s): State<SharedState>) -> Response {
    let base = s.world().base_url.clone();
    ok(json!({
        "issuer": format!("{base}/oidc"),
        "authorization_endpoint": format!("{base}/oidc/v1/authorize"),
        "token_endpoint": format!("{base}/oidc/v1/token"),
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token", token_exchange::GRANT_TYPE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["all-apis", "offline_access"],
    }))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /oidc/v1/token` with Basic auth (or `client_id`/`client_secret` in the form).
pub async fn token(State(s): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if get("grant_type").as_deref() == Some(token_exchange::GRANT_TYPE) {
        let mut world = s.world();
        let now = world.now();
        let verdict = token_exchange::judge(&get, &world.federation_policies, now);
        if world.token_exchanges.len() >= token_exchange::EXCHANGE_LOG_CAPACITY {
            world.token_exchanges.remove(0);
        }
        world
            .token_exchanges
            .push(token_exchange::observe(&get, &verdict));
        return match verdict {
            Ok(principal) => issue(&mut world, principal, get("scope")),
            Err(r) => oauth_error(StatusCode::BAD_REQUEST, r.error, &r.description),
        };
    }
    if get("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials and token exchange are supported",
        );
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let creds = basic.or_else(|| Some((get("client_id")?, get("client_secret")?)));
    let Some((id, secret)) = creds else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let mut world = s.world();
    let valid = world
        .oauth_clients
        .get(&id)
        .is_some_and(|c| c.secret == secret);
    if !valid {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let principal = world
        .oauth_clients
        .get(&id)
        .map(|c| c.principal.clone())
        .unwrap_or(id);
    issue(&mut world, principal, get("scope"))
}

/// A fresh access token for `principal`, expiring on the simulated clock.
fn issue(world: &mut crate::world::World, principal: String, scope: Option<String>) -> Response {
    let lifetime = world.timings.token_lifetime_seconds;
    let expires = world.after(lifetime);
    let access = format!("sim-oauth-{}", uuid::Uuid::new_v4().simple());
    world.tokens.insert(
        access.clone(),
        TokenInfo {
            principal,
            expires_ms: Some(expires),
        },
    );
    ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope.unwrap_or_else(|| "all-apis".into()),
    }))
}
