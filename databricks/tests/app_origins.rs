//! Requests to URLs off the workspace's paths (app URLs, custom MCP servers) go only where the
//! origin policy allows, and carry the credentials only where it says so. Local servers on
//! loopback: the "workspace", and a recorder that notes every request and its Authorization.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrelease_databricks::*;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

/// One request a server received: method, path and Authorization header.
type Received = (String, String, Option<String>);

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
    axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}))
        .into_response()
}

/// A recorder on 127.0.0.1; its port.
async fn recorder() -> (u16, Seen) {
    let seen = Seen::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = Router::new().fallback(any(record)).with_state(seen.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (port, seen)
}

/// A workspace whose SCIM `Me` answer names workspace id `org_id`, whose `/_apps/redirect`
/// answers 307 to `redirect_to`, and which records everything else.
async fn workspace(org_id: &'static str, redirect_to: String) -> (String, Seen) {
    let seen = Seen::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = Router::new()
        .route(
            "/api/2.0/preview/scim/v2/Me",
            get(move || async move {
                (
                    [(ORG_ID_HEADER, org_id)],
                    axum::Json(serde_json::json!({"userName": "operator", "id": "1"})),
                )
            }),
        )
        .route(
            "/_apps/redirect",
            any(move || async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, redirect_to)],
                )
            }),
        )
        .fallback(any(record))
        .with_state(seen.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, seen)
}

fn client(base: &str, trusted: Vec<TrustedOrigin>) -> Client {
    Client::builder(base)
        .credentials(Credentials::Pat(SecretString::new("dapi-workspace-token")))
        .allow_insecure_http(true)
        .trusted_origins(trusted)
        .retry(RetryPolicy::none())
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn an_app_url_on_another_origin_gets_no_request() {
    let (port, elsewhere) = recorder().await;
    let (base, _) = workspace("42", String::new()).await;
    let c = client(&base, vec![]);
    for (url, why) in [
        (format!("http://127.0.0.1:{port}"), "is an IP address"),
        (format!("http://localhost:{port}"), "is plain http"),
        (format!("http://0.0.0.0:{port}"), "is an IP address"),
        (format!("https://localhost:{port}"), "not listed in"),
        ("https://168.63.129.16".to_string(), "is an IP address"),
    ] {
        let e = c
            .smoke_request(&url, "/invocations", Some("{}"), TIMEOUT)
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::UntrustedOrigin, "{url}: {e}");
        assert!(e.message.contains(why), "{url}: {e}");
        assert!(e.message.contains("nothing is sent there"), "{e}");
        assert!(e.message.contains("spec.trustedOrigins"), "{e}");
    }
    let e = c
        .mcp_request(
            &format!("http://localhost:{port}/mcp"),
            "initialize",
            serde_json::json!({}),
            &McpSession::default(),
            TIMEOUT,
        )
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::UntrustedOrigin, "{e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        elsewhere.requests(),
        vec![],
        "nothing reached the other origin"
    );
}

#[tokio::test]
async fn a_listed_origin_gets_the_token_only_when_it_says_so() {
    let (without, without_seen) = recorder().await;
    let (with, with_seen) = recorder().await;
    let (base, _) = workspace("42", String::new()).await;
    let c = client(
        &base,
        vec![
            TrustedOrigin {
                origin: format!("http://localhost:{without}"),
                send_workspace_token: false,
            },
            TrustedOrigin {
                origin: format!("http://localhost:{with}"),
                send_workspace_token: true,
            },
        ],
    );
    let answer = c
        .smoke_request(&format!("http://localhost:{without}"), "/", None, TIMEOUT)
        .await
        .expect("sent");
    assert_eq!(answer.status, 200);
    c.mcp_request(
        &format!("http://localhost:{without}/mcp"),
        "tools/list",
        serde_json::json!({}),
        &McpSession::default(),
        TIMEOUT,
    )
    .await
    .expect("sent");
    assert_eq!(
        without_seen.requests(),
        vec![
            ("GET".to_string(), "/".to_string(), None),
            ("POST".to_string(), "/mcp".to_string(), None)
        ],
        "no Authorization header"
    );
    c.smoke_request(&format!("http://localhost:{with}"), "/", None, TIMEOUT)
        .await
        .expect("sent");
    assert_eq!(
        with_seen.requests(),
        vec![(
            "GET".to_string(),
            "/".to_string(),
            Some("Bearer dapi-workspace-token".to_string())
        )]
    );
}

#[tokio::test]
async fn an_app_of_this_workspace_is_known_by_the_id_the_workspace_answers_with() {
    let (base, seen) = workspace("1444828305810485", String::new()).await;
    let c = client(&base, vec![]);
    // The host (an address) names no workspace id: the client asks the workspace once.
    assert_eq!(
        c.check_origin("https://agent-1444828305810485.aws.databricksapps.com/")
            .await
            .expect("this workspace's app"),
        Grant::WithToken
    );
    let e = c
        .check_origin("https://agent-7777.aws.databricksapps.com/")
        .await
        .expect_err("another workspace's app");
    assert_eq!(e.kind(), ErrorKind::UntrustedOrigin);
    assert!(
        e.message.contains(
            "a Databricks app of workspace 7777 on AWS, not of this workspace (1444828305810485)"
        ),
        "{e}"
    );
    // Nothing but the workspace was asked (SCIM Me is routed apart from the recorder).
    assert_eq!(seen.requests(), vec![]);
}

#[tokio::test]
async fn an_app_redirect_to_another_origin_is_not_followed() {
    let (port, elsewhere) = recorder().await;
    let (base, _) = workspace("42", format!("http://localhost:{port}/stolen")).await;
    let c = client(
        &base,
        vec![TrustedOrigin {
            origin: format!("http://localhost:{port}"),
            send_workspace_token: false,
        }],
    );
    // The app (on the workspace's origin) redirects to a listed origin: still not followed, so
    // neither the token nor the body goes there.
    let answer = c
        .smoke_request(&format!("{base}/_apps"), "/redirect", Some("{}"), TIMEOUT)
        .await
        .expect("the 3xx is the answer");
    assert_eq!(answer.status, 307);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(elsewhere.requests(), vec![]);
}

#[test]
fn a_client_is_not_built_with_a_refused_trusted_origin() {
    for origin in ["https://10.0.0.1", "http://mcp.example.com", "https://x/y"] {
        let e = Client::builder("https://adb-1.7.azuredatabricks.net")
            .trusted_origins([TrustedOrigin {
                origin: origin.into(),
                send_workspace_token: true,
            }])
            .build()
            .expect_err(origin);
        assert_eq!(e.category(), "host", "{e}");
    }
}
