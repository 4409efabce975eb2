//! How the operator reaches a workspace: host, credentials, rate limit — and the factory that
//! turns them into a [`Workspace`]. The controller builds connections from ReleaseTargets and
//! their Secrets; `apply` from flags or the embedded simulator.

use std::sync::Arc;

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
        }
    }

    /// `token` or `oauth-m2m`.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::Token(_) => "token",
            Credentials::OAuthM2M { .. } => "oauth-m2m",
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
}

impl Connection {
    /// A key that changes when anything of the connection changes.
    pub fn cache_key(&self) -> String {
        crate::engine::fingerprint::digest(&[
            &self.host,
            &self.credentials.digest(),
            &self.requests_per_second.to_string(),
            if self.allow_insecure_http {
                "insecure"
            } else {
                "tls"
            },
        ])
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {host}: {message}")]
pub struct ConnectError {
    /// The host.
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
    fn cache_key_follows_rotation() {
        let mut a = Connection {
            host: "https://x".into(),
            credentials: Credentials::Token(SecretString::new("one")),
            requests_per_second: 10,
            allow_insecure_http: false,
        };
        let before = a.cache_key();
        a.credentials = Credentials::Token(SecretString::new("two"));
        assert_ne!(before, a.cache_key());
    }
}
