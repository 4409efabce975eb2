//! Bearer tokens: a PAT as is, or OAuth M2M tokens fetched with the client-credentials grant,
//! cached and refreshed before they expire. Discovery follows the SDKs: host metadata
//! (`/.well-known/databricks-config` → `oidc_endpoint`), falling back to `{host}/oidc`, then the
//! authorization server metadata for the token endpoint.

use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Mutex;

use crate::dns::refused_in;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::{Credentials, SecretString};

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

/// Where bearer tokens come from.
pub(crate) struct TokenSource {
    credentials: Credentials,
    base: String,
    http: reqwest::Client,
    margin: Duration,
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub(crate) fn new(
        credentials: Credentials,
        base: String,
        http: reqwest::Client,
        margin: Duration,
    ) -> Self {
        TokenSource {
            credentials,
            base,
            http,
            margin,
            cached: Mutex::new(None),
        }
    }

    pub(crate) fn is_oauth(&self) -> bool {
        matches!(self.credentials, Credentials::OAuthM2M { .. })
    }

    /// Forgets the cached token (after a 401).
    pub(crate) async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// A token valid now.
    pub(crate) async fn token(&self, route: &str) -> Result<SecretString> {
        let (client_id, secret) = match &self.credentials {
            Credentials::Pat(t) => return Ok(t.clone()),
            Credentials::OAuthM2M {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch(client_id, secret, route).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn token_endpoint(&self, route: &str) -> Result<String> {
        let mut oidc = format!("{}/oidc", self.base);
        if let Ok(resp) = self
            .http
            .get(format!("{}/.well-known/databricks-config", self.base))
            .send()
            .await
            && resp.status().is_success()
            && let Ok(v) = resp.json::<serde_json::Value>().await
            && let Some(endpoint) = v.get("oidc_endpoint").and_then(|e| e.as_str())
        {
            oidc = endpoint.trim_end_matches('/').to_string();
        }
        let url = format!("{oidc}/.well-known/oauth-authorization-server");
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| send_failed(route, "OAuth discovery", e))?;
        if !resp.status().is_success() {
            return Err(Error::local(
                ErrorKind::Unauthenticated,
                route,
                format!("OAuth discovery answered HTTP {}", resp.status().as_u16()),
            ));
        }
        let v: serde_json::Value = resp.json().await.map_err(|e| {
            Error::local(
                ErrorKind::Unauthenticated,
                route,
                format!("OAuth discovery answer unreadable: {}", e.without_url()),
            )
        })?;
        Ok(v.get("token_endpoint")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{oidc}/v1/token")))
    }

    async fn fetch(&self, client_id: &str, secret: &SecretString, route: &str) -> Result<Cached> {
        let endpoint = self.token_endpoint(route).await?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", secret.expose()));
        let resp = self
            .http
            .post(&endpoint)
            .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body("grant_type=client_credentials&scope=all-apis")
            .send()
            .await
            .map_err(|e| send_failed(route, "OAuth token request", e))?;
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let error = body
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("error");
            let kind = if status >= 500 {
                ErrorKind::Transient
            } else {
                ErrorKind::Unauthenticated
            };
            return Err(Error {
                kind,
                status: Some(status),
                error_code: Some(error.to_string()),
                message: format!("the OAuth token endpoint refused client {client_id}: {error}"),
                route: route.to_string(),
            });
        }
        let token = body
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| {
                Error::local(
                    ErrorKind::Unauthenticated,
                    route,
                    "the OAuth answer has no access_token",
                )
            })?;
        let expires_in = match body.get("expires_in") {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(3600);
        let lifetime = Duration::from_secs(expires_in);
        let refresh_in = lifetime.saturating_sub(self.margin.min(lifetime / 2));
        Ok(Cached {
            token: SecretString::new(token),
            refresh_at: Instant::now() + refresh_in,
        })
    }
}

/// The error of an OAuth request that got no answer: refused by the resolver (not repeated), or
/// a transient failure.
fn send_failed(route: &str, what: &str, e: reqwest::Error) -> Error {
    match refused_in(&e) {
        Some(refused) => Error::local(
            ErrorKind::UntrustedEndpoint,
            route,
            format!("{what} not sent: {refused}"),
        ),
        None => Error::local(
            ErrorKind::Transient,
            route,
            format!("{what} failed: {}", e.without_url()),
        ),
    }
}
