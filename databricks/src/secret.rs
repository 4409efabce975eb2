//! Credentials, with secrets that never print.

use std::fmt;

/// A secret string: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How the client authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A personal access token (or any bearer token).
    Pat(SecretString),
    /// OAuth machine-to-machine with a service principal's client id and secret.
    OAuthM2M {
        /// The application id.
        client_id: String,
        /// The OAuth secret.
        client_secret: SecretString,
    },
    /// Workload identity federation: an OIDC token (a Kubernetes ServiceAccount token, a CI
    /// job's OIDC token) exchanged at the workspace's token endpoint (RFC 8693 token exchange)
    /// for a workspace token. No long-lived secret. The subject token is asked of its source at
    /// every exchange, so a rotated or freshly minted token is used.
    WorkloadIdentity {
        /// The service principal's application id its federation policy belongs to; None for
        /// account-wide federation (the token's subject names the user).
        client_id: Option<String>,
        /// Where the OIDC token (a JWT) comes from.
        subject: crate::federation::SubjectToken,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_everywhere() {
        let c = Credentials::OAuthM2M {
            client_id: "app".into(),
            client_secret: SecretString::new("hunter2"),
        };
        let shown = format!(
            "{c:?} {} {:?}",
            SecretString::new("hunter2"),
            Credentials::Pat(SecretString::new("dapi123"))
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("dapi123"),
            "{shown}"
        );
    }
}
