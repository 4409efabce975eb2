//! How the operator reaches a workspace: host, credentials, rate limit — and the factory that
//! turns them into a [`Workspace`]. The controller builds connections from ReleaseTargets and
//! their Secrets; `apply` from flags or the embedded simulator, at the target's rate either way.

use std::sync::Arc;

use agentrelease_api::ReleaseTargetSpec;
use agentrelease_api::origin::TrustedOrigin;
use agentrelease_api::target::DEFAULT_REQUESTS_PER_SECOND;

use crate::engine::Workspace;

/// A secret string: never printed (shared with the Databricks client).
pub use agentrelease_databricks::SecretString;

/// Workspace credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A personal access token.
    Token(SecretString),
    /// OAuth machine-to-machine (a service principal).
    OAuthM2M {
        /// The service principal's application id.
        client_id: String,
        /// Its OAuth secret.
        client_secret: SecretString,
    },
    /// Workload identity federation: an OIDC token, asked of its source at each refresh and
    /// exchanged for a workspace token. The controller's source mints a token for the target's
    /// own ServiceAccount; the CLI's reads the file its user names.
    WorkloadIdentity {
        /// The service principal whose federation policy accepts the token (None: account-wide).
        client_id: Option<String>,
        /// Where the OIDC token comes from; its identity (never a token) is part of the digest.
        subject: agentrelease_databricks::SubjectToken,
    },
}

impl Credentials {
    /// A stable digest of the credentials (to notice a rotated Secret), never the secret itself.
    pub fn digest(&self) -> String {
        match self {
            Credentials::Token(t) => crate::engine::fingerprint::digest(&["token", t.expose()]),
            Credentials::OAuthM2M {
                client_id,
                client_secret,
            } => crate::engine::fingerprint::digest(&["oauth", client_id, client_secret.expose()]),
            Credentials::WorkloadIdentity { client_id, subject } => {
                crate::engine::fingerprint::digest(&[
                    "workload-identity",
                    client_id.as_deref().unwrap_or(""),
                    &subject.identity(),
                ])
            }
        }
    }

    /// `token`, `oauth-m2m` or `workload-identity`.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::Token(_) => "token",
            Credentials::OAuthM2M { .. } => "oauth-m2m",
            Credentials::WorkloadIdentity { .. } => "workload-identity",
        }
    }
}

/// Everything needed to talk to one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The workspace URL.
    pub host: String,
    /// The credentials.
    pub credentials: Credentials,
    /// The most requests per second sent to this workspace.
    pub requests_per_second: u32,
    /// Whether an `http://` host is allowed (a local simulator).
    pub allow_insecure_http: bool,
    /// The target's `spec.trustedOrigins`: where requests off the workspace's paths may go
    /// besides the workspace's origin and its apps.
    pub trusted_origins: Vec<TrustedOrigin>,
}

/// The rate a target asks for: its `spec.requestsPerSecond`, or the CRD's default
/// ([`DEFAULT_REQUESTS_PER_SECOND`]) when the value is not a positive number (the API server and
/// `agentrelease validate` refuse such a value, so this only guards against a hand-built spec).
pub fn target_rate(target: &ReleaseTargetSpec) -> u32 {
    u32::try_from(target.requests_per_second)
        .ok()
        .filter(|rate| *rate > 0)
        .or_else(|| u32::try_from(DEFAULT_REQUESTS_PER_SECOND).ok())
        .unwrap_or(1)
}

/// Why a string is not usable as a workspace URL (its message never shows a user name or
/// password written into the URL).
pub use agentrelease_api::host::HostError;

/// A workspace URL reduced to what identifies the workspace: scheme, host in lower case and
/// port (left out when it is the scheme's default), no trailing slash. Two URLs name the same
/// workspace exactly when their origins are equal: `https://ADB-1.azuredatabricks.net/` and
/// `https://adb-1.azuredatabricks.net:443` do, `http://` and `https://` of one host do not.
///
/// The rules of [`agentrelease_api::host`] apply (surrounding whitespace aside), except that
/// `http://` and loopback hosts pass: whether they may be used is decided where the connection
/// is made, by `allowInsecureHttp`.
pub fn workspace_origin(url: &str) -> Result<String, HostError> {
    agentrelease_api::host::check_workspace_host(url.trim(), true)
}

impl Connection {
    /// A key that changes when anything of the connection changes.
    pub fn cache_key(&self) -> String {
        let trusted: Vec<String> = self
            .trusted_origins
            .iter()
            .map(|t| format!("{} token={}", t.origin, t.send_workspace_token))
            .collect();
        let credentials = self.credentials.digest();
        let rate = self.requests_per_second.to_string();
        let mut parts: Vec<&str> = vec![
            &self.host,
            &credentials,
            &rate,
            if self.allow_insecure_http {
                "insecure"
            } else {
                "tls"
            },
        ];
        parts.extend(trusted.iter().map(String::as_str));
        crate::engine::fingerprint::digest(&parts)
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {host}: {message}")]
pub struct ConnectError {
    /// The host, with any user name and password shown as `***` (the message lands in
    /// conditions and Events).
    pub host: String,
    /// Why.
    pub message: String,
}

impl ConnectError {
    /// A short category for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        "connect"
    }
}

/// Builds (and may cache) workspace clients.
pub trait WorkspaceFactory: Send + Sync + 'static {
    /// The workspace type.
    type Ws: Workspace + 'static;
    /// A workspace client for a connection.
    fn connect(&self, connection: &Connection) -> Result<Arc<Self::Ws>, ConnectError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credentials::OAuthM2M {
            client_id: "abc".into(),
            client_secret: SecretString::new("s3cr3t"),
        };
        let shown = format!("{c:?} {}", SecretString::new("s3cr3t"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("abc"));
    }

    #[test]
    fn one_workspace_however_its_url_is_written() {
        let canonical = "https://adb-1.7.azuredatabricks.net";
        for same in [
            "https://adb-1.7.azuredatabricks.net",
            "https://adb-1.7.azuredatabricks.net/",
            "https://ADB-1.7.AzureDatabricks.net",
            "HTTPS://adb-1.7.azuredatabricks.net:443/",
            " https://adb-1.7.azuredatabricks.net ",
        ] {
            assert_eq!(workspace_origin(same).as_deref(), Ok(canonical), "{same}");
        }
        for other in [
            "http://adb-1.7.azuredatabricks.net",
            "https://adb-1.7.azuredatabricks.net:8443",
            "https://adb-2.7.azuredatabricks.net",
        ] {
            assert_ne!(workspace_origin(other).as_deref(), Ok(canonical), "{other}");
        }
        assert_eq!(
            workspace_origin("http://127.0.0.1:8765/").as_deref(),
            Ok("http://127.0.0.1:8765")
        );
    }

    #[test]
    fn a_workspace_url_is_bare() {
        for (url, problem) in [
            ("adb-1.7.azuredatabricks.net", "is not a URL"),
            ("ftp://adb-1", "unsupported scheme ftp"),
            ("https://adb-1/api/2.0", "is not a bare workspace URL"),
            ("https://adb-1/?o=1", "has no query (?) or fragment (#)"),
            ("https://me@adb-1", "carries no user name or password"),
            (
                "https://169.254.169.254",
                "a cloud metadata service address",
            ),
        ] {
            let err = workspace_origin(url).expect_err(url).to_string();
            assert!(err.contains(problem), "{url}: {err}");
        }
        let err = workspace_origin("https://me:s3cr3t@adb-1")
            .expect_err("userinfo")
            .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn the_rate_is_the_targets_or_the_crd_default() {
        let mut spec: ReleaseTargetSpec = serde_json::from_value(serde_json::json!({
            "host": "https://adb-1",
            "credentials": {"secretName": "s"},
            "catalog": "main",
            "schema": "agents",
            "experiments": {"development": "/d", "evaluation": "/e", "deployment": "/p"},
        }))
        .expect("a minimal target");
        assert_eq!(target_rate(&spec), 15, "the CRD default when unset");
        spec.requests_per_second = 3;
        assert_eq!(target_rate(&spec), 3);
        spec.requests_per_second = 0;
        assert_eq!(target_rate(&spec), 15);
    }

    #[test]
    fn cache_key_follows_rotation() {
        let mut a = Connection {
            host: "https://x".into(),
            credentials: Credentials::Token(SecretString::new("one")),
            requests_per_second: 10,
            allow_insecure_http: false,
            trusted_origins: Vec::new(),
        };
        let before = a.cache_key();
        a.credentials = Credentials::Token(SecretString::new("two"));
        assert_ne!(before, a.cache_key());
        // A client applies the target's trusted origins: a changed list is another client.
        let before = a.cache_key();
        a.trusted_origins.push(TrustedOrigin {
            origin: "https://mcp.example.com".into(),
            send_workspace_token: false,
        });
        let listed = a.cache_key();
        assert_ne!(before, listed);
        a.trusted_origins[0].send_workspace_token = true;
        assert_ne!(listed, a.cache_key());
    }
}
