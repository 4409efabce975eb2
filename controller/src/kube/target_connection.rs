//! From a ReleaseTarget to a connection to its workspace, in the order that keeps a refused
//! target from costing anything: the allowed workspace hosts first (no DNS lookup, no Secret
//! read, no token minted), then the credentials Secret (read by name), then, for workload
//! identity, a token source for the target's own ServiceAccount (nothing minted until the client
//! needs a workspace token).

use agentrelease_api::ReleaseTarget;
use agentrelease_api::allowed_hosts::AllowedHosts;
use agentrelease_api::conditions::reasons;
use agentrelease_api::target::CredentialsType;
use agentrelease_databricks::SubjectToken;
use kube::{Client, ResourceExt};

use crate::connection::{Connection, target_rate, workspace_origin};

use super::credentials::{self, SecretRead};
use super::service_account_token::ServiceAccountToken;

/// Why a target cannot be reached; nothing was sent to its workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The condition reason.
    pub reason: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// The allow list's verdict on a target, before anything else is done for it.
pub fn check_host(target: &ReleaseTarget, allowed: &AllowedHosts) -> Result<(), Refusal> {
    allowed
        .check(&target.spec.host, target.spec.allow_insecure_http)
        .map_err(|e| Refusal {
            reason: reasons::HOST_NOT_ALLOWED,
            message: format!(
                "ReleaseTarget {}/{}: spec.host {e}",
                target.namespace().unwrap_or_default(),
                target.name_any()
            ),
        })
}

/// The connection to `target`'s workspace with the credentials its Secret (and, for workload
/// identity, its ServiceAccount) give. `Ok(Err(_))` is a refusal to report; `Err` an API failure
/// to retry.
pub async fn connect(
    client: &Client,
    target: &ReleaseTarget,
    allowed: &AllowedHosts,
) -> Result<Result<Connection, Refusal>, kube::Error> {
    if let Err(refusal) = check_host(target, allowed) {
        return Ok(Err(refusal));
    }
    let ns = target.namespace().unwrap_or_default();
    let name = target.name_any();
    let spec = &target.spec;
    let secret_name = &spec.credentials.secret_name;
    let data = match credentials::read_secret(client, &ns, secret_name).await? {
        SecretRead::Found(data) => data,
        SecretRead::Missing => {
            return Ok(Err(Refusal {
                reason: reasons::CREDENTIALS_MISSING,
                message: format!(
                    "Secret {ns}/{secret_name} of ReleaseTarget {name} does not exist"
                ),
            }));
        }
        SecretRead::Forbidden => {
            return Ok(Err(Refusal {
                reason: reasons::CREDENTIALS_REFUSED,
                message: credentials::forbidden_message(
                    &ns,
                    secret_name,
                    &format!("credentials of ReleaseTarget {name}"),
                ),
            }));
        }
    };
    let workload = match workload_subject(client, target) {
        Ok(subject) => subject,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let credentials = match credentials::from_secret(
        &format!("{ns}/{secret_name}"),
        &data,
        spec.credentials.type_,
        workload,
    ) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(Refusal {
                reason: e.reason(),
                message: e.to_string(),
            }));
        }
    };
    Ok(Ok(Connection {
        host: spec.host.clone(),
        credentials,
        requests_per_second: target_rate(spec),
        allow_insecure_http: spec.allow_insecure_http,
        trusted_origins: spec.trusted_origins.clone(),
    }))
}

/// The token source of a workload identity target: its ServiceAccount, audience its workspace
/// origin. None for other credentials types or without a ServiceAccount (reported by
/// [`credentials::from_secret`]).
fn workload_subject(
    client: &Client,
    target: &ReleaseTarget,
) -> Result<Option<SubjectToken>, Refusal> {
    let spec = &target.spec;
    if spec.credentials.type_ != Some(CredentialsType::WorkloadIdentity) {
        return Ok(None);
    }
    let Some(account) = spec.credentials.service_account_name.as_deref() else {
        return Ok(None);
    };
    let ns = target.namespace().unwrap_or_default();
    let name = target.name_any();
    let audience = workspace_origin(&spec.host).map_err(|e| Refusal {
        reason: reasons::INVALID_SPEC,
        message: format!("ReleaseTarget {ns}/{name}: {e}"),
    })?;
    Ok(Some(SubjectToken::new(ServiceAccountToken::new(
        client.clone(),
        &ns,
        account,
        &audience,
        &format!("{ns}/{name}"),
    ))))
}
