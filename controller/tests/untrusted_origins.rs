//! The workspace's credentials go only to the workspace's own origins: a custom MCP server or an
//! app URL elsewhere gets no request at all, and the check that needed it stops with
//! `UntrustedOrigin`; an origin the target lists gets its requests, without the credentials
//! unless the entry says otherwise. Each test starts its own listeners beside the simulator.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::mcp::McpServerCheck;
use agentrelease_api::origin::TrustedOrigin;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use support::{MODEL, V12_MODEL_ID, harness, reason};

const APP: &str = "skyloyalty-agent";

fn message(outcome: &agentrelease::engine::Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// A listener on 127.0.0.1 that counts the connections made to it (and drops them): what
/// would reach it over http or https alike.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, count)
}

/// One request a recorder received: method, path and Authorization header.
type Received = (String, String, Option<String>);

/// An HTTP server on 127.0.0.1 that notes every request and answers as an app and an MCP
/// server would (a JSON-RPC result listing the tool `lookup`, naming the released model).
async fn recorder() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    async fn record(
        State(seen): State<Arc<Mutex<Vec<Received>>>>,
        request: Request,
    ) -> axum::response::Response {
        let auth = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Ok(mut v) = seen.lock() {
            v.push((
                request.method().to_string(),
                request.uri().path().to_string(),
                auth,
            ));
        }
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {"protocolVersion": "2025-06-18", "tools": [{"name": "lookup"}]},
            "model_id": V12_MODEL_ID,
        }))
        .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = axum::Router::new()
        .fallback(axum::routing::any(record))
        .with_state(Arc::clone(&seen));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (port, seen)
}

#[tokio::test]
async fn a_custom_mcp_server_on_another_origin_gets_nothing_and_the_release_blocks_before_any_write()
 {
    let (port, connections) = counting_listener().await;
    for (url, why) in [
        (
            format!("https://localhost:{port}/mcp"),
            format!("https://localhost:{port} is not the workspace's origin"),
        ),
        (
            format!("https://127.0.0.1:{port}/mcp"),
            format!("https://127.0.0.1:{port} is an IP address"),
        ),
    ] {
        let mut h = harness().await;
        if let Some(v) = h.release.spec.verification.as_mut() {
            v.mcp_servers.push(McpServerCheck {
                url: url.clone(),
                required_tools: vec!["lookup".into()],
                call: None,
            });
        }
        let (outcome, _) = h.run(20).await;
        assert!(outcome.is_stalled(), "{url}: {:?}", outcome.steps);
        assert_eq!(
            reason(&outcome, types::PREFLIGHT_PASSED),
            reasons::UNTRUSTED_ORIGIN,
            "{url}"
        );
        let m = message(&outcome, types::PREFLIGHT_PASSED);
        assert!(
            m.contains("spec.verification.mcpServers[1].url: ")
                && m.contains(&why)
                && m.contains("spec.trustedOrigins")
                && m.contains("nothing is sent there"),
            "{m}"
        );
        let c = h.control();
        assert_eq!(c.writes(), vec![], "{url}: nothing is written");
        assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "{url}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing reached the other origin"
    );
}

#[tokio::test]
async fn an_app_url_elsewhere_gets_nothing_and_verification_stops_with_untrusted_origin() {
    let (port, connections) = counting_listener().await;
    for (url, why) in [
        (
            format!("https://localhost:{port}"),
            format!("https://localhost:{port} is not the workspace's origin"),
        ),
        (
            format!("http://localhost:{port}"),
            format!("http://localhost:{port} is plain http"),
        ),
        (
            format!("http://0.0.0.0:{port}"),
            format!("http://0.0.0.0:{port} is an IP address"),
        ),
    ] {
        let mut h = harness().await;
        // The Apps API answers this URL for the release's app.
        h.control().set_app_url(APP, Some(&url));
        let (outcome, _) = h.run(200).await;
        assert!(outcome.is_stalled(), "{url}: {:?}", outcome.steps);
        assert_eq!(
            reason(&outcome, types::VERIFIED),
            reasons::UNTRUSTED_ORIGIN,
            "{url}"
        );
        let m = message(&outcome, types::VERIFIED);
        assert!(
            m.contains("the app's URL (status.appUrl, as the Apps API answers it): ")
                && m.contains(&why)
                && m.contains("nothing is sent there"),
            "{m}"
        );
        // Held where it stopped, not rolled back: the check never ran.
        assert_eq!(
            h.control().model_alias(MODEL, "champion"),
            Some(12),
            "{url}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing reached the app URL"
    );
}

#[tokio::test]
async fn a_trusted_origin_without_the_token_gets_its_requests_without_authorization() {
    let (port, seen) = recorder().await;
    let origin = format!("http://localhost:{port}");
    let mut h = harness().await;
    h.trust(vec![TrustedOrigin {
        origin: origin.clone(),
        send_workspace_token: false,
    }]);
    h.control().set_app_url(APP, Some(&origin));
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.chat = None;
        v.mcp_servers = vec![McpServerCheck {
            url: format!("{origin}/mcp"),
            required_tools: vec!["lookup".into()],
            call: None,
        }];
    }
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let received = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        received
            .iter()
            .any(|(m, p, _)| m == "POST" && p == "/invocations"),
        "the smoke request went to the listed origin: {received:?}"
    );
    assert!(
        received.iter().any(|(m, p, _)| m == "POST" && p == "/mcp"),
        "the MCP check went to the listed origin: {received:?}"
    );
    assert!(
        received.iter().all(|(_, _, auth)| auth.is_none()),
        "no Authorization header: {received:?}"
    );
}

#[tokio::test]
async fn the_app_log_is_not_read_from_an_app_url_elsewhere() {
    let (port, connections) = counting_listener().await;
    let mut h = harness().await;
    h.control()
        .set_app_url(APP, Some(&format!("https://localhost:{port}")));
    if let Some(app) = h.release.spec.app.as_mut() {
        app.source_code_path = "/Workspace/Shared/skyloyalty/missing".into();
    }
    let (outcome, events) = h.run(200).await;
    assert!(!outcome.is_ready());
    let event = events
        .iter()
        .find(|e| e.reason == reasons::DEPLOYMENT_FAILED)
        .unwrap_or_else(|| panic!("no DeploymentFailed Event in {events:?}"));
    assert!(
        event.message.contains(&format!(
            "(not read: https://localhost:{port} is not the workspace's origin"
        )),
        "{}",
        event.message
    );
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no request for /logz"
    );
}
