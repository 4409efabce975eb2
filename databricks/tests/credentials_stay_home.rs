//! Credentials go only where they belong: the OAuth client secret only to a token endpoint on
//! the workspace's origin (or a Databricks account host), and no credential across a redirect to
//! another origin. Two local servers on loopback: the "workspace", whose answers point at the
//! other one, and a recorder that must see nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrelease_databricks::*;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
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
