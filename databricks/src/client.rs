//! The client: one HTTP core (auth, rate limit, retries, classification, observation) under the
//! typed endpoint methods of `api/`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrelease_api::host::{AddressRange, HostError, check_workspace_host};
use agentrelease_api::origin::{Grant, OriginPolicy, TrustedOrigin, TrustedOriginError};
use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::TokenSource;
use crate::dns::{AddressPolicy, GuardedResolver, Lookup, refused_in};
use crate::error::{Error, ErrorKind, Result, classify, parse_error_body};
use crate::observe::{Attempt, NoopObserver, Observer, Outcome};
use crate::origins::Origins;
use crate::rate::RateLimiter;
use crate::retry::{RetryPolicy, parse_retry_after, retryable_status};
use crate::secret::Credentials;

/// The largest JSON answer read (a guard against runaway responses).
const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The host breaks a rule of [`agentrelease_api::host`] (the message never shows a user
    /// name or password written into it).
    #[error("invalid workspace host: {0}")]
    Host(#[from] HostError),
    /// A trusted origin breaks the rules of [`agentrelease_api::origin`].
    #[error("invalid trusted origin: {0}")]
    TrustedOrigin(#[from] TrustedOriginError),
    /// The HTTP stack failed to initialise.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

impl BuildError {
    /// A short category.
    pub fn category(&self) -> &'static str {
        match self {
            BuildError::Host(_) | BuildError::TrustedOrigin(_) => "host",
            BuildError::Http(_) => "http",
        }
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    host: String,
    credentials: Option<Credentials>,
    rate: u32,
    retry: RetryPolicy,
    observer: Arc<dyn Observer>,
    allow_insecure_http: bool,
    connect_timeout: Duration,
    request_timeout: Duration,
    refresh_margin: Duration,
    allowed_addresses: Vec<AddressRange>,
    trusted_origins: Vec<TrustedOrigin>,
    lookup: Option<Lookup>,
}

impl ClientBuilder {
    /// The credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Requests per second sent to the workspace.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate = per_second;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The per-attempt observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Allow an `http://` or loopback host (a local simulator only).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Addresses the workspace's name (or the OAuth token endpoint's) may resolve to although
    /// the client drops them otherwise: link-local, cloud metadata, unspecified, and loopback
    /// without [`allow_insecure_http`](Self::allow_insecure_http). Only for a private
    /// deployment that really reaches Databricks there; the operator sets it with
    /// `agentrelease controller --allow-resolved-address CIDR` (repeatable). It does not let a
    /// host written as such an address pass: that is refused when the client is built.
    pub fn allow_resolved_addresses(
        mut self,
        ranges: impl IntoIterator<Item = AddressRange>,
    ) -> Self {
        self.allowed_addresses.extend(ranges);
        self
    }

    /// Origins besides the workspace's own that requests may go to (the ReleaseTarget's
    /// `spec.trustedOrigins`): a URL off the workspace's paths is sent only to the workspace's
    /// origin, a Databricks app of the workspace, or one of these
    /// ([`agentrelease_api::origin`]); any other gets no request (`UntrustedOrigin`).
    pub fn trusted_origins(mut self, origins: impl IntoIterator<Item = TrustedOrigin>) -> Self {
        self.trusted_origins.extend(origins);
        self
    }

    /// Looks names up with `lookup` instead of the system resolver (the filter still applies).
    #[cfg(test)]
    pub(crate) fn lookup(mut self, lookup: Lookup) -> Self {
        self.lookup = Some(lookup);
        self
    }

    /// Connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Per-request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long before expiry an OAuth token is refreshed.
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Builds the client. The host is checked by [`check_workspace_host`] (a missing scheme is
    /// taken as `https://`, surrounding whitespace ignored) and reduced to its origin.
    pub fn build(self) -> std::result::Result<Client, BuildError> {
        let raw = self.host.trim();
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("https://{raw}")
        };
        let base = check_workspace_host(&with_scheme, self.allow_insecure_http)?;
        let origins = OriginPolicy::new(&base, &self.trusted_origins, self.allow_insecure_http)?;
        // reqwest needs a process-wide TLS crypto provider; install ring unless one is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let resolver = GuardedResolver::new(
            AddressPolicy {
                allow_loopback: self.allow_insecure_http,
                allowed: self.allowed_addresses,
            },
            self.lookup,
        );
        let http = reqwest::Client::builder()
            .dns_resolver(resolver)
            .redirect(same_origin_redirects())
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .user_agent(concat!("agentrelease/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        let credentials = self
            .credentials
            .unwrap_or(Credentials::Pat(crate::SecretString::new("")));
        let tokens = TokenSource::new(
            credentials,
            base.clone(),
            self.allow_insecure_http,
            http.clone(),
            self.refresh_margin,
        );
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                origins: Origins::new(origins),
                http,
                tokens,
                limiter: RateLimiter::new(self.rate),
                retry: self.retry,
                observer: self.observer,
            }),
        })
    }
}

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 10;

/// More than [`MAX_REDIRECTS`] redirects.
#[derive(Debug, thiserror::Error)]
#[error("more than {MAX_REDIRECTS} redirects")]
struct TooManyRedirects;

/// Redirects are followed only within the origin (scheme, host and port) of the request, so a
/// header carrying a credential (a bearer token, the OAuth client's Basic credentials) never
/// follows one elsewhere; a redirect to another origin is not followed and its 3xx answer is
/// the answer ([`redirect_refused`]). The Databricks REST API does not redirect.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(TooManyRedirects)
        } else {
            attempt.follow()
        }
    })
}

/// Whether `resp` is a redirect the client did not follow (to another origin).
pub(crate) fn is_unfollowed_redirect(resp: &reqwest::Response) -> bool {
    resp.status().is_redirection() && resp.headers().contains_key(reqwest::header::LOCATION)
}

/// The error for a redirect the client did not follow; shows only the origin redirected to.
pub(crate) fn redirect_refused(route: &str, resp: &reqwest::Response) -> Error {
    let to = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| resp.url().join(l).ok())
        .map_or_else(
            || "an unreadable location".to_string(),
            |u| u.origin().ascii_serialization(),
        );
    Error {
        kind: ErrorKind::UntrustedEndpoint,
        status: Some(resp.status().as_u16()),
        error_code: None,
        message: format!(
            "redirected to {to}, another origin; redirects are followed only within the origin of the request, so nothing was sent there"
        ),
        route: route.to_string(),
    }
}

struct Inner {
    base: String,
    origins: Origins,
    http: reqwest::Client,
    tokens: TokenSource,
    limiter: RateLimiter,
    retry: RetryPolicy,
    observer: Arc<dyn Observer>,
}

/// A Databricks workspace client: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// A request body.
pub(crate) enum Body<'a> {
    /// None.
    Empty,
    /// JSON.
    Json(serde_json::Value),
    /// Raw bytes.
    Raw(&'a Bytes),
    /// JSON text as given (sent with a JSON content type).
    JsonText(&'a Bytes),
}

/// What came back.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Client {
    /// Starts building a client for a workspace URL.
    pub fn builder(host: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            host: host.into(),
            credentials: None,
            rate: 15,
            retry: RetryPolicy::default(),
            observer: Arc::new(NoopObserver),
            allow_insecure_http: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            refresh_margin: Duration::from_secs(60),
            allowed_addresses: Vec::new(),
            trusted_origins: Vec::new(),
            lookup: None,
        }
    }

    /// The workspace URL (no trailing slash).
    pub fn host(&self) -> &str {
        &self.inner.base
    }

    /// The origin policy the client applies before every request.
    pub(crate) fn origins(&self) -> &Origins {
        &self.inner.origins
    }

    /// Sends a request to `path` (already encoded) under the workspace, with retries.
    /// `max_body` caps the bytes read from the answer.
    pub(crate) async fn send(
        &self,
        method: Method,
        route: &str,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
        max_body: u64,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.inner.base);
        self.send_url(method, route, &url, query, body, max_body, true)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_url(
        &self,
        method: Method,
        route: &str,
        url: &str,
        query: &[(&str, String)],
        body: Body<'_>,
        max_body: u64,
        retry: bool,
    ) -> Result<Answer> {
        self.send_url_with(method, route, url, query, &[], body, max_body, retry)
            .await
    }

    /// [`Client::send_url`] with extra request headers (e.g. an MCP session).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_url_with(
        &self,
        method: Method,
        route: &str,
        url: &str,
        query: &[(&str, String)],
        headers: &[(&'static str, String)],
        body: Body<'_>,
        max_body: u64,
        retry: bool,
    ) -> Result<Answer> {
        // Judged before anything is sent: a refused URL gets no request at all.
        let grant = match self.inner.origins.judge(route, url) {
            Ok(grant) => grant,
            Err(e) => {
                self.inner.observer.observe(&Attempt {
                    route,
                    method: method.as_str(),
                    outcome: Outcome::Error(e.kind),
                    status: None,
                    duration: Duration::ZERO,
                    attempt: 1,
                });
                return Err(e);
            }
        };
        let to_workspace = self.inner.origins.is_workspace(url);
        let started = Instant::now();
        let mut attempt = 1u32;
        let mut refreshed = false;
        loop {
            self.inner.limiter.acquire().await;
            let mut req = self.inner.http.request(method.clone(), url).query(query);
            for (name, value) in headers {
                req = req.header(*name, value.as_str());
            }
            if grant == Grant::WithToken {
                let token = self.inner.tokens.token(route).await?;
                if !token.expose().is_empty() {
                    req = req.bearer_auth(token.expose());
                }
            }
            req = match &body {
                Body::Empty => req,
                Body::Json(v) => req.json(v),
                Body::Raw(b) => req
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body((*b).clone()),
                Body::JsonText(b) => req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body((*b).clone()),
            };
            let t0 = Instant::now();
            let result = req.send().await;
            // A request that may have reached the server, for a method whose repetition could
            // act twice: its outcome is unknown, and only the caller can settle it by a read.
            let mut unknown_outcome = false;
            let (outcome, status, retry_after, answer) = match result {
                Err(e) if refused_in(&e).is_some() => {
                    let message = refused_in(&e).map(ToString::to_string).unwrap_or_default();
                    (
                        Outcome::Error(ErrorKind::UntrustedEndpoint),
                        None,
                        None,
                        Err(Error::local(ErrorKind::UntrustedEndpoint, route, message)),
                    )
                }
                Err(e) => {
                    unknown_outcome = !e.is_connect() && !repeatable(&method, route);
                    let message = if e.is_timeout() {
                        "the request timed out".to_string()
                    } else {
                        format!("connection failed: {}", redact(&e))
                    };
                    let message = if unknown_outcome {
                        format!(
                            "{message}; the request may have been carried out (not repeated blindly)"
                        )
                    } else {
                        message
                    };
                    (
                        Outcome::ConnectionError,
                        None,
                        None,
                        Err(Error::local(ErrorKind::Transient, route, message)),
                    )
                }
                Ok(resp) if is_unfollowed_redirect(&resp) => {
                    let e = redirect_refused(route, &resp);
                    (Outcome::Error(e.kind), e.status, None, Err(e))
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    if to_workspace {
                        self.inner.origins.learn(&headers);
                    }
                    let retry_after = parse_retry_after(
                        headers
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok()),
                    );
                    match read_capped(
                        resp,
                        if (200..300).contains(&status) {
                            max_body
                        } else {
                            64 * 1024
                        },
                        route,
                    )
                    .await
                    {
                        Err(e) => (Outcome::Error(e.kind), Some(status), None, Err(e)),
                        Ok(bytes) if (200..300).contains(&status) => (
                            Outcome::Success,
                            Some(status),
                            None,
                            Ok(Answer {
                                status,
                                headers,
                                body: bytes,
                            }),
                        ),
                        Ok(bytes) => {
                            let (code, message) = parse_error_body(status, &bytes);
                            let kind = classify(status, code.as_deref());
                            (
                                Outcome::Error(kind),
                                Some(status),
                                retry_after,
                                Err(Error {
                                    kind,
                                    status: Some(status),
                                    error_code: code,
                                    message,
                                    route: route.to_string(),
                                }),
                            )
                        }
                    }
                }
            };
            self.inner.observer.observe(&Attempt {
                route,
                method: method.as_str(),
                outcome,
                status,
                duration: t0.elapsed(),
                attempt,
            });
            let error = match answer {
                Ok(a) => return Ok(a),
                Err(e) => e,
            };
            if error.kind == ErrorKind::Unauthenticated
                && grant == Grant::WithToken
                && self.inner.tokens.is_oauth()
                && !refreshed
            {
                refreshed = true;
                self.inner.tokens.invalidate().await;
                continue;
            }
            // The workspace says it is overloaded: every request of this client (this
            // workspace) waits, not only this one; other workspaces' clients are untouched.
            if let Some(wait) = overload_hold(status, retry_after) {
                self.inner.limiter.hold(wait).await;
            }
            let worth = match (outcome, status) {
                (Outcome::ConnectionError, _) => !unknown_outcome,
                (_, Some(s)) => retryable_status(s),
                _ => false,
            };
            if !retry || !worth {
                return Err(error);
            }
            let hint = if status.is_some_and(retryable_status) {
                Some(retry_after.unwrap_or(Duration::from_secs(1)))
            } else {
                None
            };
            match self.inner.retry.delay(attempt + 1, hint, started.elapsed()) {
                Some(wait) => {
                    tracing::debug!(
                        route,
                        attempt,
                        ?wait,
                        kind = error.kind.as_str(),
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return Err(error),
            }
        }
    }

    /// Sends and decodes a JSON answer (an empty body decodes as `{}`).
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        route: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let body = body.map_or(Body::Empty, Body::Json);
        let answer = self
            .send(method, route, path, query, body, MAX_JSON_BYTES)
            .await?;
        decode(route, &answer.body)
    }

    /// Serialises a request struct to a JSON value.
    pub(crate) fn to_value<T: Serialize>(route: &str, value: &T) -> Result<serde_json::Value> {
        serde_json::to_value(value).map_err(|e| {
            Error::local(
                ErrorKind::InvalidInput,
                route,
                format!("cannot encode the request: {e}"),
            )
        })
    }
}

/// Decodes a JSON answer; unknown fields are ignored; an empty body is `{}`.
pub(crate) fn decode<T: DeserializeOwned>(route: &str, body: &[u8]) -> Result<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| Error::local(ErrorKind::Other, route, format!("unexpected answer: {e}")))
}

async fn read_capped(mut resp: reqwest::Response, cap: u64, route: &str) -> Result<Bytes> {
    if resp.content_length().is_some_and(|n| n > cap) {
        return Err(Error::local(
            ErrorKind::TooLarge,
            route,
            format!("the answer is larger than {cap} bytes"),
        ));
    }
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (buf.len() + chunk.len()) as u64 > cap {
                    return Err(Error::local(
                        ErrorKind::TooLarge,
                        route,
                        format!("the answer is larger than {cap} bytes"),
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(buf)),
            Err(e) => {
                return Err(Error::local(
                    ErrorKind::Transient,
                    route,
                    format!("reading the answer failed: {}", redact(&e)),
                ));
            }
        }
    }
}

/// A reqwest error without its URL (URLs carry no secrets here, but query strings may carry ids).
fn redact(e: &reqwest::Error) -> String {
    let mut text = e.without_url_ref().to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let s = self.to_string();
        match s.find(" for url (") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }
}

/// Percent-encodes one path segment (slashes excluded).
pub fn encode_segment(segment: &str) -> String {
    const KEEP: &[u8] = b"-._~!$&'()*+,;=:@";
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a path, segment by segment (slashes kept).
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// How long the whole client waits after an answer: a 429 for its `Retry-After` (one second
/// without one), a 503 only when it carries a `Retry-After`; nothing for any other answer.
pub(crate) fn overload_hold(
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    match status {
        Some(429) => Some(retry_after.unwrap_or(Duration::from_secs(1))),
        Some(503) => retry_after,
        _ => None,
    }
}

/// Whether a request may be sent again after its answer was lost: reads, and writes that set a
/// whole value (PUT, PATCH) or only ensure something exists. A POST that creates, or a DELETE,
/// is not repeated blindly.
pub(crate) fn repeatable(method: &Method, route: &str) -> bool {
    const READ_OR_ENSURE_POSTS: [&str; 3] = [
        "/api/2.0/mlflow/runs/search",
        "/api/2.0/mlflow/experiments/search",
        "/api/2.0/workspace/mkdirs",
    ];
    match *method {
        Method::GET | Method::HEAD | Method::PUT | Method::PATCH => true,
        Method::POST => READ_OR_ENSURE_POSTS.contains(&route),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_overload_answers_hold_the_client() {
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(overload_hold(Some(429), s(7)), s(7));
        assert_eq!(overload_hold(Some(429), None), s(1));
        assert_eq!(overload_hold(Some(503), s(3)), s(3));
        assert_eq!(overload_hold(Some(503), None), None);
        for other in [Some(500), Some(404), Some(200), None] {
            assert_eq!(overload_hold(other, s(5)), None, "{other:?}");
        }
    }

    #[test]
    fn only_reads_and_whole_value_writes_are_repeated_after_a_lost_answer() {
        use super::repeatable;
        assert!(repeatable(&Method::GET, "/api/2.0/apps/{name}"));
        assert!(repeatable(&Method::PUT, "/api/2.0/fs/files{path}"));
        assert!(repeatable(&Method::POST, "/api/2.0/mlflow/runs/search"));
        assert!(!repeatable(&Method::POST, "/api/2.0/mlflow/runs/create"));
        assert!(!repeatable(
            &Method::POST,
            "/api/2.0/apps/{name}/deployments"
        ));
        assert!(!repeatable(&Method::DELETE, "/api/2.0/apps/{name}"));
    }

    use super::*;

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("/Volumes/main/a b/#1/x%y.md"),
            "/Volumes/main/a%20b/%231/x%25y.md"
        );
        assert_eq!(encode_segment("main.agents.m"), "main.agents.m");
        assert_eq!(encode_segment("a/b"), "a%2Fb");
    }

    #[test]
    fn http_hosts_are_refused_unless_allowed() {
        assert!(Client::builder("http://127.0.0.1:1").build().is_err());
        assert!(
            Client::builder("http://127.0.0.1:1")
                .allow_insecure_http(true)
                .build()
                .is_ok()
        );
        assert!(
            Client::builder("adb-1.azuredatabricks.net")
                .build()
                .is_ok_and(|c| c.host() == "https://adb-1.azuredatabricks.net")
        );
        assert!(Client::builder("https://x/api").build().is_err());
        assert!(Client::builder("ftp://x").build().is_err());
    }

    /// A lookup that answers `addrs` for every name.
    fn answers(addrs: &[&str]) -> crate::dns::Lookup {
        let addrs: Vec<std::net::IpAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
        Arc::new(move |_name| {
            let addrs = addrs.clone();
            Box::pin(async move { Ok(addrs) })
        })
    }

    /// A TCP listener that counts the connections it accepts (and drops them).
    async fn counting_listener(addr: &str) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        (port, count)
    }

    fn fast(builder: ClientBuilder) -> ClientBuilder {
        builder
            .credentials(Credentials::Pat(crate::SecretString::new("dapi-secret")))
            .retry(RetryPolicy::none())
            .connect_timeout(Duration::from_secs(2))
            .request_timeout(Duration::from_secs(5))
    }

    #[tokio::test]
    async fn a_name_that_resolves_only_to_refused_addresses_is_never_connected_to() {
        // Loopback is refused for a client without allow_insecure_http, and safe to offer in a
        // test: a connection, if one were made, would reach the listener.
        let (port, connections) = counting_listener("127.0.0.1:0").await;
        let c = fast(Client::builder(format!("https://workspace.example:{port}")))
            .lookup(answers(&["127.0.0.1", "::1"]))
            .build()
            .unwrap();
        let e = c.list_apps().await.expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::UntrustedEndpoint, "{e}");
        assert!(
            e.message
                .contains("workspace.example resolves only to addresses the client does not connect to: 127.0.0.1 (a loopback address"),
            "{e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn refused_answers_are_skipped_and_listed_ones_kept() {
        let (port, listed) = counting_listener("127.0.0.2:0").await;
        let (_, dropped) = counting_listener(&format!("127.0.0.1:{port}")).await;
        let c = fast(Client::builder(format!("https://workspace.example:{port}")))
            .lookup(answers(&["127.0.0.1", "127.0.0.2"]))
            .allow_resolved_addresses(["127.0.0.2/32".parse().unwrap()])
            .build()
            .unwrap();
        // The listener speaks no TLS: the call fails, after connecting to the listed address.
        let e = c.list_apps().await.expect_err("no TLS there");
        assert_ne!(e.kind(), ErrorKind::UntrustedEndpoint, "{e}");
        assert!(listed.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn the_builder_applies_the_host_rules_and_keeps_the_origin() {
        assert!(
            Client::builder(" https://ADB-1.AzureDatabricks.net:443/ ")
                .build()
                .is_ok_and(|c| c.host() == "https://adb-1.azuredatabricks.net")
        );
        for host in [
            "https://alice:s3cr3t@adb-1.azuredatabricks.net",
            "alice:s3cr3t@adb-1.azuredatabricks.net",
            "https://evil.example#.azuredatabricks.net",
            "https://evil.example?.azuredatabricks.net",
            "https://2852039166",
            "https://[::ffff:169.254.169.254]",
            "https://[fe80::1]",
            "https://metadata.google.internal",
            "https://127.0.0.1",
        ] {
            let e = Client::builder(host)
                .build()
                .expect_err("a host that leads elsewhere");
            assert_eq!(e.category(), "host");
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
        // Loopback and link-local are different things: a simulator may be local, a metadata
        // service never.
        assert!(
            Client::builder("http://[::1]:1")
                .allow_insecure_http(true)
                .build()
                .is_ok()
        );
        assert!(
            Client::builder("http://169.254.169.254")
                .allow_insecure_http(true)
                .build()
                .is_err()
        );
    }
}
