//! Credentials go only where they belong: the OAuth client secret only to a token endpoint on
//! the workspace's origin (or a Databricks account host), and no credential across a redirect to
//! another origin. Two local servers on loopback: the "workspace", whose answers point at the
//! other one, and a recorder that must see nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrelease_databricks::*;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

/// One request a server received: method, path and Authorization header.
type Received = (String, String, Option<String>);

/// What a server received.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Received>>>);

impl Seen {
    fn requests(&self) -> Vec<Received> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

async fn record(State(seen): State<Seen>, request: Request) -> Response {
    let auth = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Ok(mut v) = seen.0.lock() {
        v.push((
            request.method().to_string(),
            request.uri().path().to_string(),
            auth,
        ));
    }
    // Answers as a token endpoint and as the API would, should anything get here.
    axum::Json(serde_json::json!({
        "access_token": "stolen-token",
        "expires_in": 3600,
        "userName": "elsewhere",
        "id": "1",
    }))
    .into_response()
}

/// Serves `router` on 127.0.0.1 and returns its URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A server that records every request.
async fn recorder() -> (String, Seen) {
    let seen = Seen::default();
    let url = serve(Router::new().fallback(any(record)).with_state(seen.clone())).await;
    (url, seen)
}

/// A workspace whose host metadata names `oidc` and whose discovery names `token`.
async fn workspace(oidc: Option<String>, token: Option<String>) -> (String, Seen) {
    let seen = Seen::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let oidc = oidc.unwrap_or_else(|| format!("{base}/oidc"));
    let token = token.unwrap_or_else(|| format!("{base}/oidc/v1/token"));
    let router = Router::new()
        .route(
            "/.well-known/databricks-config",
            get(move || async move { axum::Json(serde_json::json!({ "oidc_endpoint": oidc })) }),
        )
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(serde_json::json!({ "token_endpoint": token })) }),
        )
        .fallback(any(record))
        .with_state(seen.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, seen)
}

fn oauth_client(base: &str) -> Client {
    Client::builder(base)
        .credentials(Credentials::OAuthM2M {
            client_id: "11111111-2222-4333-8444-555555555555".into(),
            client_secret: SecretString::new("the-client-secret"),
        })
        .allow_insecure_http(true)
        .retry(RetryPolicy::none())
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

#[tokio::test]
async fn the_client_secret_is_not_sent_to_a_token_endpoint_on_another_origin() {
    let (elsewhere, elsewhere_seen) = recorder().await;
    let (base, workspace_seen) = workspace(None, Some(format!("{elsewhere}/oidc/v1/token"))).await;
    let e = oauth_client(&base)
        .current_user()
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::UntrustedEndpoint, "{e}");
    assert!(
        e.message
            .contains(&format!("named a token endpoint that is refused: {elsewhere}/oidc/v1/token is neither on the workspace's origin {base}")),
        "{e}"
    );
    assert!(!e.to_string().contains("the-client-secret"), "{e}");
    assert_eq!(
        elsewhere_seen.requests(),
        vec![],
        "nothing reached the other server"
    );
    assert!(
        workspace_seen
            .requests()
            .iter()
            .all(|(_, path, auth)| path != "/oidc/v1/token" && auth.is_none()),
        "no token request, no API call: {:?}",
        workspace_seen.requests()
    );
}

#[tokio::test]
async fn discovery_is_not_followed_to_another_origin() {
    let (elsewhere, elsewhere_seen) = recorder().await;
    let (base, _) = workspace(Some(format!("{elsewhere}/oidc")), None).await;
    let e = oauth_client(&base)
        .current_user()
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::UntrustedEndpoint, "{e}");
    assert!(
        e.message
            .contains("named a discovery endpoint that is refused"),
        "{e}"
    );
    assert_eq!(elsewhere_seen.requests(), vec![]);
}

#[tokio::test]
async fn a_plain_http_token_endpoint_is_refused_even_on_a_known_host() {
    // Refused by the check alone: no name is looked up, nothing leaves the machine.
    let (base, _) = workspace(
        None,
        Some("http://accounts.cloud.databricks.com/oidc/accounts/a/v1/token".into()),
    )
    .await;
    let e = oauth_client(&base)
        .current_user()
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::UntrustedEndpoint, "{e}");
    assert!(e.message.contains("is not an https:// URL"), "{e}");
}

#[tokio::test]
async fn a_token_endpoint_on_the_workspace_origin_is_used() {
    let (base, seen) = workspace(None, None).await;
    let me = oauth_client(&base).current_user().await.expect("me");
    assert_eq!(me.user_name, "elsewhere");
    let requests = seen.requests();
    assert!(
        requests.iter().any(|(m, p, a)| m == "POST"
            && p == "/oidc/v1/token"
            && a.as_deref().is_some_and(|a| a.starts_with("Basic "))),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|(_, _, a)| a.as_deref() == Some("Bearer stolen-token")),
        "{requests:?}"
    );
}
/// A workspace that answers every API call with a redirect to `location` + the path.
async fn redirecting(location: String) -> (String, Seen) {
    let seen = Seen::default();
    async fn redirect(
        State((seen, location)): State<(Seen, String)>,
        headers: HeaderMap,
        request: Request,
    ) -> Response {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let path = request.uri().path().to_string();
        if let Ok(mut v) = seen.0.lock() {
            v.push((request.method().to_string(), path.clone(), auth));
        }
        if path.starts_with("/moved") {
            return axum::Json(serde_json::json!({"userName": "same-origin", "id": "1"}))
                .into_response();
        }
        (
            StatusCode::FOUND,
            [(header::LOCATION, format!("{location}{path}"))],
        )
            .into_response()
    }
    let url = serve(
        Router::new()
            .fallback(any(redirect))
            .with_state((seen.clone(), location)),
    )
    .await;
    (url, seen)
}

fn pat_client(base: &str) -> Client {
    Client::builder(base)
        .credentials(Credentials::Pat(SecretString::new("dapi-the-token")))
        .allow_insecure_http(true)
        .retry(RetryPolicy::none())
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let (elsewhere, elsewhere_seen) = recorder().await;
    let (base, seen) = redirecting(elsewhere.clone()).await;
    let e = pat_client(&base)
        .current_user()
        .await
        .expect_err("not followed");
    assert_eq!(e.kind(), ErrorKind::UntrustedEndpoint, "{e}");
    assert_eq!(e.status, Some(302));
    assert!(
        e.message.contains(&format!("redirected to {elsewhere}")),
        "{e}"
    );
    assert_eq!(
        elsewhere_seen.requests(),
        vec![],
        "the other port never sees a request, let alone an Authorization header"
    );
    assert_eq!(seen.requests().len(), 1, "not repeated");
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed_with_its_credentials() {
    let (base, seen) = {
        // The location is this server itself, known only once it listens: redirect to a
        // relative path instead.
        redirecting(String::from("/moved")).await
    };
    let me = pat_client(&base).current_user().await.expect("followed");
    assert_eq!(me.user_name, "same-origin");
    let requests = seen.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|(_, _, a)| a.as_deref() == Some("Bearer dapi-the-token")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn the_token_request_is_not_redirected_to_another_origin() {
    let (elsewhere, elsewhere_seen) = recorder().await;
    // The workspace's token endpoint answers 307 to the other server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let token = format!("{base}/oidc/v1/token");
    let target = format!("{elsewhere}/oidc/v1/token");
    let router = Router::new()
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(serde_json::json!({ "token_endpoint": token })) }),
        )
        .route(
            "/oidc/v1/token",
            any(move || async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, target)],
                )
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let e = oauth_client(&base)
        .current_user()
        .await
        .expect_err("not followed");
    assert_eq!(
        (e.kind(), e.status),
        (ErrorKind::UntrustedEndpoint, Some(307)),
        "{e}"
    );
    assert!(!e.to_string().contains("the-client-secret"), "{e}");
    assert_eq!(elsewhere_seen.requests(), vec![]);
}
