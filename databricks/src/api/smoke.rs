//! A smoke request to an app URL, with the workspace credentials.

use std::time::Duration;

use reqwest::Method;

use crate::client::{Body, Client};
use crate::error::{Error, ErrorKind, Result};

/// The most of an app's answer kept.
const MAX_SMOKE_BODY: u64 = 64 * 1024;

/// An app's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body (lossy UTF-8, capped).
    pub body: String,
    /// The MLflow trace request id the app reported in the [`TRACE_HEADER`] response header.
    pub trace_header: Option<String>,
    /// How long the answer took.
    pub latency: Duration,
}

/// The response header in which an agent app reports the MLflow trace request id of the call.
pub const TRACE_HEADER: &str = "x-mlflow-trace-id";

impl Client {
    /// Sends `POST` (with a body) or `GET` to `url` + `path`. The URL may lack a scheme (https is
    /// assumed). Any HTTP status is an answer; a failed connection or timeout is an error, and
    /// so is a URL the origin policy refuses ([`ErrorKind::UntrustedOrigin`], nothing sent).
    pub async fn smoke_request(
        &self,
        url: &str,
        path: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<SmokeAnswer> {
        let route = "{app_url}{path}";
        let base = if url.contains("://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        let full = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        // Judged (and the workspace's id looked up, when an app domain needs it) before
        // anything goes to the app.
        self.check_origin(&full).await?;
        let payload = body.map(|b| bytes::Bytes::from(b.to_string()));
        let method = if payload.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let send = self.send_url(
            method,
            route,
            &full,
            &[],
            payload.as_ref().map_or(Body::Empty, Body::JsonText),
            MAX_SMOKE_BODY,
            false,
        );
        let started = std::time::Instant::now();
        match tokio::time::timeout(timeout, send).await {
            Err(_) => Err(Error::local(
                ErrorKind::Transient,
                route,
                format!("no answer within {timeout:?}"),
            )),
            Ok(Ok(a)) => Ok(SmokeAnswer {
                status: a.status,
                body: String::from_utf8_lossy(&a.body).into_owned(),
                trace_header: a
                    .headers
                    .get(TRACE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                latency: started.elapsed(),
            }),
            Ok(Err(e)) => match e.status {
                Some(status) => Ok(SmokeAnswer {
                    status,
                    body: e.message,
                    trace_header: None,
                    latency: started.elapsed(),
                }),
                None => Err(e),
            },
        }
    }
}
