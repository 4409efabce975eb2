//! Reading a ReleaseTarget's credentials Secret: key `token` (a PAT), or `client_id` and
//! `client_secret` (OAuth M2M), or `client_id` alone for workload identity, whose OIDC token the
//! caller provides (a token minted for the target's own ServiceAccount); `spec.credentials.type`
//! decides when several are present. Nothing here reads a file: a Secret with the key
//! `oidc_token_file` is refused, since the file would be the operator's own (its ServiceAccount
//! token, say), sent to a host the target's author chose.

use std::collections::BTreeMap;

use agentrelease_api::conditions::reasons;
use agentrelease_api::target::CredentialsType;
use agentrelease_databricks::SubjectToken;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::connection::{Credentials, SecretString};

/// The Secret key that once named a token file on the operator's filesystem; refused.
pub const TOKEN_FILE_KEY: &str = "oidc_token_file";

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
    /// The Secret names a file for the operator to read and send: refused, nothing is read.
    #[error(
        "Secret {secret} has the key \"oidc_token_file\", which is refused: the operator never reads a file a Secret names (it would send a file of its own, such as its ServiceAccount token, to the target's host); nothing was read or sent. Remove the key and set spec.credentials.serviceAccountName to a ServiceAccount in the target's namespace: the operator requests a token for it"
    )]
    TokenFileRefused {
        /// The Secret.
        secret: String,
    },
    /// Workload identity without a ServiceAccount to request tokens for.
    #[error(
        "spec.credentials.type is WorkloadIdentity but spec.credentials.serviceAccountName is not set: name a ServiceAccount in the target's namespace for the operator to request tokens for"
    )]
    NoServiceAccount,
}

impl CredentialsError {
    /// A short category for logs and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            CredentialsError::Missing { .. } => "missing_key",
            CredentialsError::NotText { .. } => "not_text",
            CredentialsError::Ambiguous { .. } => "ambiguous",
            CredentialsError::Empty { .. } => "empty",
            CredentialsError::TokenFileRefused { .. } => "token_file_refused",
            CredentialsError::NoServiceAccount => "no_service_account",
        }
    }

    /// The condition reason it is reported with.
    pub fn reason(&self) -> &'static str {
        match self {
            CredentialsError::TokenFileRefused { .. } => reasons::CREDENTIALS_REFUSED,
            _ => reasons::CREDENTIALS_MISSING,
        }
    }
}

/// Reads credentials from a Secret's `data`. `workload` is where the OIDC token of
/// `type: WorkloadIdentity` comes from (the target's ServiceAccount), None when the target
/// names no ServiceAccount.
pub fn from_secret(
    secret_name: &str,
    data: &BTreeMap<String, ByteString>,
    wanted: Option<CredentialsType>,
    workload: Option<SubjectToken>,
) -> Result<Credentials, CredentialsError> {
    if data.contains_key(TOKEN_FILE_KEY) {
        return Err(CredentialsError::TokenFileRefused {
            secret: secret_name.to_string(),
        });
    }
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
        CredentialsType::WorkloadIdentity => {
            let subject = workload.ok_or(CredentialsError::NoServiceAccount)?;
            Ok(Credentials::WorkloadIdentity {
                client_id: Some(client_id.ok_or_else(|| missing("client_id"))?),
                subject,
            })
        }
    }
}

/// What reading a credentials Secret by name came to.
#[derive(Debug)]
pub enum SecretRead {
    /// The Secret's data.
    Found(BTreeMap<String, ByteString>),
    /// No such Secret.
    Missing,
    /// The operator may not read it (its RBAC grants Secrets in other namespaces only).
    Forbidden,
}

/// Reads one Secret by name (a GET, never a list: the operator reads only the Secrets its
/// targets name). Other API failures are returned to be retried.
pub async fn read_secret(client: &Client, ns: &str, name: &str) -> Result<SecretRead, kube::Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    match secrets.get_opt(name).await {
        Ok(Some(secret)) => Ok(SecretRead::Found(secret.data.unwrap_or_default())),
        Ok(None) => Ok(SecretRead::Missing),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(SecretRead::Forbidden),
        Err(e) => Err(e),
    }
}

/// The message of a Secret the operator may not read.
pub fn forbidden_message(ns: &str, name: &str, what: &str) -> String {
    format!(
        "the operator may not read Secret {ns}/{name} ({what}): its RBAC grants Secrets only where the platform team allows (the chart's secretNamespaces or watchNamespaces); nothing was sent"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &[u8])]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
            .collect()
    }

    /// A subject token source that must never be asked here.
    struct Unused;

    impl agentrelease_databricks::SubjectTokenSource for Unused {
        fn subject_token<'a>(
            &'a self,
            _route: &'a str,
        ) -> futures::future::BoxFuture<'a, agentrelease_databricks::Result<SecretString>> {
            panic!("no token is minted while reading a Secret")
        }

        fn identity(&self) -> String {
            "ServiceAccount agents/deployer".into()
        }
    }

    #[test]
    fn workload_identity_needs_a_client_id_and_a_service_account() {
        let wanted = Some(CredentialsType::WorkloadIdentity);
        let subject = || Some(SubjectToken::new(Unused));
        let c = from_secret("s", &data(&[("client_id", b"sp")]), wanted, subject()).unwrap();
        assert_eq!(
            c,
            Credentials::WorkloadIdentity {
                client_id: Some("sp".into()),
                subject: SubjectToken::new(Unused),
            }
        );
        assert_eq!(c.kind(), "workload-identity");
        assert_eq!(
            from_secret("s", &data(&[]), wanted, subject()).unwrap_err(),
            CredentialsError::Missing {
                secret: "s".into(),
                key: "client_id"
            }
        );
        let e = from_secret("s", &data(&[("client_id", b"sp")]), wanted, None).unwrap_err();
        assert_eq!(e, CredentialsError::NoServiceAccount);
        assert!(e.to_string().contains("serviceAccountName"), "{e}");
    }

    #[test]
    fn a_secret_naming_a_token_file_is_refused_whatever_the_type_and_nothing_is_read() {
        // A file the refusal would have sent, were it read.
        let dir = tempfile::tempdir().unwrap();
        let planted = dir.path().join("token");
        std::fs::write(&planted, "the-operators-own-token").unwrap();
        let path = planted.display().to_string();
        for (wanted, mut pairs) in [
            (
                Some(CredentialsType::WorkloadIdentity),
                vec![("client_id", b"sp".as_slice())],
            ),
            (None, vec![("token", b"dapi".as_slice())]),
            (
                Some(CredentialsType::OAuthM2M),
                vec![
                    ("client_id", b"id".as_slice()),
                    ("client_secret", b"s".as_slice()),
                ],
            ),
        ] {
            pairs.push(("oidc_token_file", path.as_bytes()));
            let e = from_secret(
                "agents/prod-databricks",
                &data(&pairs),
                wanted,
                Some(SubjectToken::new(Unused)),
            )
            .unwrap_err();
            assert_eq!(
                e,
                CredentialsError::TokenFileRefused {
                    secret: "agents/prod-databricks".into()
                }
            );
            let message = e.to_string();
            for part in [
                "Secret agents/prod-databricks",
                "\"oidc_token_file\"",
                "never reads a file",
                "serviceAccountName",
            ] {
                assert!(message.contains(part), "{part}: {message}");
            }
            assert!(!message.contains("the-operators-own-token"), "{message}");
            assert_eq!(e.reason(), "CredentialsRefused");
        }
    }

    #[test]
    fn token_with_trailing_newline() {
        let c = from_secret("s", &data(&[("token", b"dapi123\n")]), None, None).unwrap();
        assert_eq!(c, Credentials::Token(SecretString::new("dapi123")));
    }

    #[test]
    fn oauth_pair() {
        let c = from_secret(
            "s",
            &data(&[("client_id", b"id"), ("client_secret", b"sec")]),
            None,
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
            from_secret("s", &d, None, None),
            Err(CredentialsError::Ambiguous { .. })
        ));
        assert_eq!(
            from_secret("s", &d, Some(CredentialsType::Token), None)
                .unwrap()
                .kind(),
            "token"
        );
    }

    #[test]
    fn missing_and_incomplete() {
        assert!(matches!(
            from_secret("s", &data(&[]), None, None),
            Err(CredentialsError::Empty { .. })
        ));
        assert!(matches!(
            from_secret("s", &data(&[("client_id", b"id")]), None, None),
            Err(CredentialsError::Missing {
                key: "client_secret",
                ..
            })
        ));
        assert!(matches!(
            from_secret("s", &data(&[("token", b"  ")]), None, None),
            Err(CredentialsError::Empty { .. })
        ));
        assert!(matches!(
            from_secret("s", &data(&[("token", &[0xff, 0xfe])]), None, None),
            Err(CredentialsError::NotText { .. })
        ));
    }
}
