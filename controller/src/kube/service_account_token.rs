//! The OIDC token of a workload identity target: minted for that target alone, at each token
//! exchange, through the TokenRequest API (`POST
//! /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`) for the ServiceAccount the target names
//! in its own namespace, with the target's workspace URL as the only audience and the API's
//! shortest lifetime ([`TOKEN_SECONDS`]). Modelled on Flux's per-object workload identity: the
//! object names a ServiceAccount, the controller mints its token. The controller's own token,
//! and any file, is never sent; no token is shared between targets (each target's client has
//! its own source, and the audience names its workspace).

use agentrelease_databricks::{self as dbx, SecretString, SubjectTokenSource};
use futures::future::BoxFuture;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Client;
use kube::api::{Api, PostParams};

/// The lifetime asked for: ten minutes, the shortest the TokenRequest API grants. A token is
/// used for one exchange at once.
pub const TOKEN_SECONDS: i64 = 600;

/// Mints tokens of one ServiceAccount for one ReleaseTarget.
pub struct ServiceAccountToken {
    client: Client,
    /// The ServiceAccount's (and the target's) namespace.
    namespace: String,
    /// The ServiceAccount.
    name: String,
    /// The only audience of the tokens: the target's workspace origin.
    audience: String,
    /// The ReleaseTarget, `<namespace>/<name>` (messages, and the identity that keeps each
    /// target's client apart).
    target: String,
}

impl ServiceAccountToken {
    /// A source for the target `target` (`<namespace>/<name>`) whose ServiceAccount is
    /// `namespace/name` and whose workspace origin is `audience`.
    pub fn new(client: Client, namespace: &str, name: &str, audience: &str, target: &str) -> Self {
        ServiceAccountToken {
            client,
            namespace: namespace.to_string(),
            name: name.to_string(),
            audience: audience.to_string(),
            target: target.to_string(),
        }
    }

    /// The request: the one audience, the shortest lifetime, bound to no object.
    pub fn request(&self) -> TokenRequest {
        TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![self.audience.clone()],
                expiration_seconds: Some(TOKEN_SECONDS),
                bound_object_ref: None,
            },
            ..TokenRequest::default()
        }
    }

    async fn mint(&self, route: &str) -> dbx::Result<SecretString> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &self.namespace);
        let sa = format!("{}/{}", self.namespace, self.name);
        let answer = api
            .create_token_request(&self.name, &PostParams::default(), &self.request())
            .await
            .map_err(|e| refused(route, &sa, &self.target, e))?;
        let token = answer
            .status
            .map(|s| s.token)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                dbx::Error::local(
                    dbx::ErrorKind::Unauthenticated,
                    route,
                    format!("the TokenRequest for ServiceAccount {sa} answered no token"),
                )
            })?;
        Ok(SecretString::new(token))
    }
}

impl SubjectTokenSource for ServiceAccountToken {
    fn subject_token<'a>(&'a self, route: &'a str) -> BoxFuture<'a, dbx::Result<SecretString>> {
        Box::pin(self.mint(route))
    }

    fn identity(&self) -> String {
        format!(
            "a token of ServiceAccount {}/{} for audience {} (ReleaseTarget {})",
            self.namespace, self.name, self.audience, self.target
        )
    }
}

/// The client error of a refused TokenRequest: a missing ServiceAccount or a refusal by RBAC
/// needs a human (`Unauthenticated`, naming what to fix); anything else may pass later.
fn refused(route: &str, sa: &str, target: &str, e: kube::Error) -> dbx::Error {
    let (kind, message) = match &e {
        kube::Error::Api(status) if status.code == 404 => (
            dbx::ErrorKind::Unauthenticated,
            format!(
                "ServiceAccount {sa} (spec.credentials.serviceAccountName of ReleaseTarget {target}) does not exist; create it"
            ),
        ),
        kube::Error::Api(status) if status.code == 403 => (
            dbx::ErrorKind::Unauthenticated,
            format!(
                "the operator may not request a token for ServiceAccount {sa} (ReleaseTarget {target}): it needs create on serviceaccounts/token there (the chart's workloadIdentity.enabled)"
            ),
        ),
        kube::Error::Api(status) if status.code < 500 && status.code != 429 => (
            dbx::ErrorKind::Unauthenticated,
            format!(
                "the TokenRequest for ServiceAccount {sa} was refused: {}",
                status.message
            ),
        ),
        other => (
            dbx::ErrorKind::Transient,
            format!("the TokenRequest for ServiceAccount {sa} failed: {other}"),
        ),
    };
    dbx::Error::local(kind, route, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_names_one_audience_and_the_shortest_lifetime() {
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let client = Client::new(service, "default");
        let source = ServiceAccountToken::new(
            client,
            "team-a",
            "deployer",
            "https://adb-1.azuredatabricks.net",
            "team-a/prod",
        );
        let request = source.request();
        assert_eq!(
            request.spec.audiences,
            vec!["https://adb-1.azuredatabricks.net".to_string()]
        );
        assert_eq!(request.spec.expiration_seconds, Some(600));
        assert!(request.spec.bound_object_ref.is_none());
        assert_eq!(
            source.identity(),
            "a token of ServiceAccount team-a/deployer for audience https://adb-1.azuredatabricks.net (ReleaseTarget team-a/prod)"
        );
    }
}
