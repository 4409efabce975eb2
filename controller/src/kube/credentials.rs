//! Reading a ReleaseTarget's credentials Secret: key `token` (a PAT), or `client_id` and
//! `client_secret` (OAuth M2M); `spec.credentials.type` decides when both are present.

use std::collections::BTreeMap;

use agentrelease_api::target::CredentialsType;
use k8s_openapi::ByteString;

use crate::connection::{Credentials, SecretString};

/// Why a Secret does not hold usable credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// A key is missing or empty.
    #[error("Secret {secret} has no {key:?} key (or it is empty)")]
    Missing {
        /// The Secret.
        secret: String,
        /// The key.
        key: &'static str,
    },
    /// A value is not UTF-8.
    #[error("Secret {secret} key {key:?} is not UTF-8 text")]
    NotText {
        /// The Secret.
        secret: String,
        /// The key.
        key: &'static str,
    },
    /// Both kinds are present and the target does not say which to use.
    #[error(
        "Secret {secret} holds both a token and client_id/client_secret; set spec.credentials.type on the ReleaseTarget"
    )]
    Ambiguous {
        /// The Secret.
        secret: String,
    },
    /// Nothing usable.
    #[error("Secret {secret} holds neither a token nor client_id and client_secret")]
    Empty {
        /// The Secret.
        secret: String,
    },
}

/// Reads credentials from a Secret's `data`.
pub fn from_secret(
    secret_name: &str,
    data: &BTreeMap<String, ByteString>,
    wanted: Option<CredentialsType>,
) -> Result<Credentials, CredentialsError> {
    let read = |key: &'static str| -> Result<Option<String>, CredentialsError> {
        match data.get(key) {
            None => Ok(None),
            Some(bytes) => {
                let text =
                    std::str::from_utf8(&bytes.0).map_err(|_| CredentialsError::NotText {
                        secret: secret_name.to_string(),
                        key,
                    })?;
                let text = text.trim();
                Ok((!text.is_empty()).then(|| text.to_string()))
            }
        }
    };
    let token = read("token")?;
    let client_id = read("client_id")?;
    let client_secret = read("client_secret")?;
    let missing = |key| CredentialsError::Missing {
        secret: secret_name.to_string(),
        key,
    };
    let kind = match wanted {
        Some(kind) => kind,
        None => match (
            token.is_some(),
            client_id.is_some() || client_secret.is_some(),
        ) {
            (true, true) => {
                return Err(CredentialsError::Ambiguous {
                    secret: secret_name.to_string(),
                });
            }
            (true, false) => CredentialsType::Token,
            (false, true) => CredentialsType::OAuthM2M,
            (false, false) => {
                return Err(CredentialsError::Empty {
                    secret: secret_name.to_string(),
                });
            }
        },
    };
    match kind {
        CredentialsType::Token => Ok(Credentials::Token(SecretString::new(
            token.ok_or_else(|| missing("token"))?,
        ))),
        CredentialsType::OAuthM2M => Ok(Credentials::OAuthM2M {
            client_id: client_id.ok_or_else(|| missing("client_id"))?,
            client_secret: SecretString::new(
                client_secret.ok_or_else(|| missing("client_secret"))?,
            ),
        }),
        CredentialsType::WorkloadIdentity => Ok(Credentials::WorkloadIdentity {
            client_id: Some(client_id.ok_or_else(|| missing("client_id"))?),
            token_file: read("oidc_token_file")?
                .unwrap_or_else(|| DEFAULT_OIDC_TOKEN_FILE.to_string())
                .into(),
        }),
    }
}

/// Where the controller reads its OIDC token for workload identity federation when the Secret
/// names no `oidc_token_file`: a projected ServiceAccount token volume mounted there.
pub const DEFAULT_OIDC_TOKEN_FILE: &str = "/var/run/secrets/agentrelease/oidc/token";

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &[u8])]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
            .collect()
    }

    #[test]
    fn workload_identity_needs_a_client_id_and_defaults_the_token_file() {
        let wanted = Some(CredentialsType::WorkloadIdentity);
        let c = from_secret("s", &data(&[("client_id", b"sp")]), wanted).unwrap();
        assert_eq!(
            c,
            Credentials::WorkloadIdentity {
                client_id: Some("sp".into()),
                token_file: DEFAULT_OIDC_TOKEN_FILE.into(),
            }
        );
        let c = from_secret(
            "s",
            &data(&[("client_id", b"sp"), ("oidc_token_file", b"/t/token")]),
            wanted,
        )
        .unwrap();
        assert_eq!(c.kind(), "workload-identity");
        assert_eq!(
            from_secret("s", &data(&[]), wanted).unwrap_err(),
            CredentialsError::Missing {
                secret: "s".into(),
                key: "client_id"
            }
        );
    }

    #[test]
    fn token_with_trailing_newline() {
        let c = from_secret("s", &data(&[("token", b"dapi123\n")]), None).unwrap();
        assert_eq!(c, Credentials::Token(SecretString::new("dapi123")));
    }

    #[test]
    fn oauth_pair() {
        let c = from_secret(
            "s",
            &data(&[("client_id", b"id"), ("client_secret", b"sec")]),
            None,
        )
        .unwrap();
        assert_eq!(c.kind(), "oauth-m2m");
    }

    #[test]
    fn ambiguous_unless_typed() {
        let d = data(&[
            ("token", b"t"),
            ("client_id", b"id"),
            ("client_secret", b"sec"),
        ]);
        assert!(matches!(
            from_secret("s", &d, None),
            Err(CredentialsError::Ambiguous { .. })
        ));
        assert_eq!(
            from_secret("s", &d, Some(CredentialsType::Token))
                .unwrap()
                .kind(),
            "token"
        );
    }

    #[test]
    fn missing_and_incomplete() {
        assert!(matches!(
            from_secret("s", &data(&[]), None),
            Err(CredentialsError::Empty { .. })
        ));
        assert!(matches!(
            from_secret("s", &data(&[("client_id", b"id")]), None),
            Err(CredentialsError::Missing {
                key: "client_secret",
                ..
            })
        ));
        assert!(matches!(
            from_secret("s", &data(&[("token", b"  ")]), None),
            Err(CredentialsError::Empty { .. })
        ));
        assert!(matches!(
            from_secret("s", &data(&[("token", &[0xff, 0xfe])]), None),
            Err(CredentialsError::NotText { .. })
        ));
    }
}
