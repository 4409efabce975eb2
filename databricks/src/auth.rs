//! Bearer tokens: a PAT as is, or OAuth M2M tokens fetched with the client-credentials grant,
//! cached and refreshed before they expire. Discovery follows the SDKs: host metadata
//! (`/.well-known/databricks-config` → `oidc_endpoint`), falling back to `{host}/oidc`, then the
//! authorization server metadata for the token endpoint.
//!
//! What discovery names is checked before anything is sent there ([`check_oauth_endpoint`]):
//! the OIDC endpoint and the token endpoint must be on the workspace's own origin (scheme, host
//! and port) or on a Databricks account host ([`ACCOUNT_HOSTS`], over https on port 443), over
//! https (http only on the workspace's origin when the client allows insecure http, for a local
//! simulator), and carry no user name or password. Anything else fails as
//! [`ErrorKind::UntrustedEndpoint`] before the client secret leaves the process.

use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Mutex;

use crate::client::{is_unfollowed_redirect, redirect_refused};
use crate::dns::refused_in;
use crate::error::{Error, ErrorKind, Result};
use crate::federation;
use crate::secret::{Credentials, SecretString};

/// The Databricks account hosts, where the token endpoint of an account-level service principal
/// lives (`https://accounts.cloud.databricks.com/oidc/accounts/<id>/v1/token` and the like).
pub const ACCOUNT_HOSTS: [&str; 3] = [
    "accounts.cloud.databricks.com",
    "accounts.azuredatabricks.net",
    "accounts.gcp.databricks.com",
];

/// Why an OAuth endpoint named by discovery is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefusal {
    /// Not a URL.
    #[error("{endpoint} is not a URL")]
    NotAUrl {
        /// The endpoint, without any user name and password.
        endpoint: String,
    },
    /// A user name or password in the URL (the HTTP stack would send them).
    #[error("{endpoint} carries a user name or password")]
    UserInfo {
        /// The endpoint, without any user name and password.
        endpoint: String,
    },
    /// Not https (and not the workspace's own http origin with insecure http allowed).
    #[error("{endpoint} is not an https:// URL")]
    Insecure {
        /// The endpoint, without any user name and password.
        endpoint: String,
    },
    /// Neither the workspace's origin nor a Databricks account host.
    #[error(
        "{endpoint} is neither on the workspace's origin {workspace} nor on a Databricks account host ({})",
        ACCOUNT_HOSTS.join(", ")
    )]
    OtherOrigin {
        /// The endpoint, without any user name and password.
        endpoint: String,
        /// The workspace's origin.
        workspace: String,
    },
}

/// Checks an endpoint that OAuth discovery of the workspace at `workspace` (its origin) named.
/// `allow_insecure_http` admits `http://` on the workspace's own origin only.
pub fn check_oauth_endpoint(
    workspace: &str,
    endpoint: &str,
    allow_insecure_http: bool,
) -> std::result::Result<url::Url, EndpointRefusal> {
    let shown = agentrelease_api::host::redact_userinfo(endpoint);
    let url = url::Url::parse(endpoint).map_err(|_| EndpointRefusal::NotAUrl {
        endpoint: shown.clone(),
    })?;
    if !url.username().is_empty() || url.password().is_some() || endpoint.contains('@') {
        return Err(EndpointRefusal::UserInfo { endpoint: shown });
    }
    let workspace_url = url::Url::parse(workspace).ok();
    let same_origin = workspace_url
        .as_ref()
        .is_some_and(|w| w.origin() == url.origin());
    let account_host = url.host_str().is_some_and(|h| ACCOUNT_HOSTS.contains(&h));
    let https = url.scheme() == "https";
    if same_origin {
        return if https || (allow_insecure_http && url.scheme() == "http") {
            Ok(url)
        } else {
            Err(EndpointRefusal::Insecure { endpoint: shown })
        };
    }
    if account_host && https && url.port_or_known_default() == Some(443) {
        return Ok(url);
    }
    // The workspace's own host (and written port) or an account host, over http: say so rather
    // than "elsewhere".
    let known_host = account_host
        || workspace_url.is_some_and(|w| w.host_str() == url.host_str() && w.port() == url.port());
    if known_host && !https {
        return Err(EndpointRefusal::Insecure { endpoint: shown });
    }
    Err(EndpointRefusal::OtherOrigin {
        endpoint: shown,
        workspace: workspace.to_string(),
    })
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

/// Where bearer tokens come from.
pub(crate) struct TokenSource {
    credentials: Credentials,
    /// The workspace's origin.
    base: String,
    allow_insecure_http: bool,
    http: reqwest::Client,
    margin: Duration,
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub(crate) fn new(
        credentials: Credentials,
        base: String,
        allow_insecure_http: bool,
        http: reqwest::Client,
        margin: Duration,
    ) -> Self {
        TokenSource {
            credentials,
            base,
            allow_insecure_http,
            http,
            margin,
            cached: Mutex::new(None),
        }
    }

    /// `endpoint` if it may receive requests of this client's OAuth flow.
    fn trusted(&self, route: &str, what: &str, endpoint: &str) -> Result<url::Url> {
        check_oauth_endpoint(&self.base, endpoint, self.allow_insecure_http).map_err(|refusal| {
            Error::local(
                ErrorKind::UntrustedEndpoint,
                route,
                format!(
                    "the OAuth discovery of {} named a {what} that is refused: {refusal}; nothing is sent there",
                    self.base
                ),
            )
        })
    }

    pub(crate) fn is_oauth(&self) -> bool {
        matches!(
            self.credentials,
            Credentials::OAuthM2M { .. } | Credentials::WorkloadIdentity { .. }
        )
    }

    /// Forgets the cached token (after a 401).
    pub(crate) async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// A token valid now.
    pub(crate) async fn token(&self, route: &str) -> Result<SecretString> {
        if let Credentials::Pat(t) = &self.credentials {
            return Ok(t.clone());
        }
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = match &self.credentials {
            Credentials::OAuthM2M {
                client_id,
                client_secret,
            } => self.fetch(client_id, client_secret, route).await?,
            Credentials::WorkloadIdentity { client_id, subject } => {
                // The endpoint is found and checked first: a refused one gets no token minted.
                let endpoint = self.token_endpoint(route).await?;
                let subject = subject.fetch(route).await?;
                let form = federation::exchange_form(client_id.as_deref(), &subject);
                let what = match client_id {
                    Some(id) => format!("the federation policy of service principal {id}"),
                    None => "account-wide token federation".to_string(),
                };
                self.request_token(endpoint, None, form, &what, route)
                    .await?
            }
            Credentials::Pat(t) => return Ok(t.clone()),
        };
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn token_endpoint(&self, route: &str) -> Result<url::Url> {
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
        let url = self.trusted(
            route,
            "discovery endpoint",
            &format!("{oidc}/.well-known/oauth-authorization-server"),
        )?;
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| send_failed(route, "OAuth discovery", e))?;
        if is_unfollowed_redirect(&resp) {
            return Err(redirect_refused(route, &resp));
        }
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
        let endpoint = v
            .get("token_endpoint")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{oidc}/v1/token"));
        self.trusted(route, "token endpoint", &endpoint)
    }

    async fn fetch(&self, client_id: &str, secret: &SecretString, route: &str) -> Result<Cached> {
        let endpoint = self.token_endpoint(route).await?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", secret.expose()));
        self.request_token(
            endpoint,
            Some(format!("Basic {basic}")),
            "grant_type=client_credentials&scope=all-apis".to_string(),
            &format!("client {client_id}"),
            route,
        )
        .await
    }

    /// POSTs a token request (a form) to a checked token endpoint and reads the answer.
    async fn request_token(
        &self,
        endpoint: url::Url,
        authorization: Option<String>,
        form: String,
        who: &str,
        route: &str,
    ) -> Result<Cached> {
        let mut request = self.http.post(endpoint).header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let resp = request
            .body(form)
            .send()
            .await
            .map_err(|e| send_failed(route, "OAuth token request", e))?;
        if is_unfollowed_redirect(&resp) {
            return Err(redirect_refused(route, &resp));
        }
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
                message: format!("the OAuth token endpoint refused {who}: {error}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "https://adb-1.7.azuredatabricks.net";

    #[test]
    fn token_endpoints_on_the_workspace_or_an_account_host_are_used() {
        for endpoint in [
            "https://adb-1.7.azuredatabricks.net/oidc/v1/token",
            "https://ADB-1.7.azuredatabricks.net:443/oidc/v1/token",
            "https://accounts.azuredatabricks.net/oidc/accounts/abc/v1/token",
            "https://accounts.cloud.databricks.com/oidc/accounts/abc/v1/token",
            "https://accounts.gcp.databricks.com:443/oidc/accounts/abc/v1/token",
        ] {
            assert!(
                check_oauth_endpoint(WS, endpoint, false).is_ok(),
                "{endpoint}"
            );
        }
        assert!(
            check_oauth_endpoint(
                "http://127.0.0.1:8765",
                "http://127.0.0.1:8765/oidc/v1/token",
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn token_endpoints_elsewhere_are_refused() {
        for (endpoint, insecure, expected) in [
            (
                "https://evil.example/oidc/v1/token",
                false,
                "neither on the workspace's origin",
            ),
            (
                "https://adb-2.7.azuredatabricks.net/oidc/v1/token",
                false,
                "neither",
            ),
            (
                "https://adb-1.7.azuredatabricks.net:8443/oidc/v1/token",
                false,
                "neither",
            ),
            (
                "https://accounts.cloud.databricks.com:8443/oidc/v1/token",
                false,
                "neither",
            ),
            (
                "https://accounts.cloud.databricks.com.evil.example/t",
                false,
                "neither",
            ),
            (
                "http://adb-1.7.azuredatabricks.net/oidc/v1/token",
                false,
                "not an https:// URL",
            ),
            // allow_insecure_http admits the workspace's own http origin, nothing else.
            ("http://evil.example/oidc/v1/token", true, "neither"),
            (
                "http://accounts.cloud.databricks.com/oidc/v1/token",
                true,
                "not an https:// URL",
            ),
            (
                "https://u:s3cr3t@adb-1.7.azuredatabricks.net/t",
                false,
                "user name or password",
            ),
            ("/oidc/v1/token", false, "is not a URL"),
        ] {
            let e = check_oauth_endpoint(WS, endpoint, insecure)
                .expect_err(endpoint)
                .to_string();
            assert!(e.contains(expected), "{endpoint}: {e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
    }
}
