//! ReleaseTarget status: whether the workspace accepts the target's credentials (`CredentialsValid`,
//! `Ready`, the principal they authenticate as), checked on change and every few minutes, so
//! `kubectl get releasetargets` tells the truth before any release uses the target.

use std::sync::Arc;
use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::{Condition, ConditionStatus, ReleaseTarget, ReleaseTargetStatus};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::connection::{Connection, WorkspaceFactory};
use crate::engine::Workspace;
use crate::engine::workspace::WorkspaceErrorKind;

use super::credentials;
use super::status::FIELD_MANAGER;

/// How often a healthy target is checked again.
pub const RECHECK: Duration = Duration::from_secs(300);
/// How soon a failing target is checked again.
pub const RETRY: Duration = Duration::from_secs(60);

/// What the target controller shares.
pub struct TargetContext<F: WorkspaceFactory> {
    /// The Kubernetes client.
    pub client: Client,
    /// Builds workspace clients.
    pub factory: Arc<F>,
}

/// Why a target could not be checked (retried).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[source] kube::Error),
}

impl TargetError {
    /// A short category for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            TargetError::Kube(_) => "kube",
        }
    }
}

/// The result of a credentials check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The workspace accepted the credentials as this principal.
    Valid(String),
    /// The check failed: reason, message, and whether it may pass later without a change.
    Invalid {
        /// A condition reason.
        reason: &'static str,
        /// What happened.
        message: String,
        /// Transient (network, throttling) rather than a wrong credential.
        transient: bool,
    },
}

/// The status a check leads to; `lastTransitionTime` is kept where a condition did not flip.
pub fn decide(
    check: &Check,
    old: Option<&ReleaseTargetStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> ReleaseTargetStatus {
    let mut status = old.cloned().unwrap_or_default();
    status.observed_generation = generation;
    let (valid, ready) = match check {
        Check::Valid(principal) => {
            status.principal = Some(principal.clone());
            let message = format!("the workspace accepts the credentials as {principal}");
            (
                Condition::new(
                    types::CREDENTIALS_VALID,
                    ConditionStatus::True,
                    reasons::SUCCEEDED,
                    message.clone(),
                    generation,
                    now,
                ),
                Condition::new(
                    types::READY,
                    ConditionStatus::True,
                    reasons::SUCCEEDED,
                    message,
                    generation,
                    now,
                ),
            )
        }
        Check::Invalid {
            reason,
            message,
            transient,
        } => {
            let state = if *transient {
                ConditionStatus::Unknown
            } else {
                ConditionStatus::False
            };
            if !transient {
                status.principal = None;
            }
            (
                Condition::new(
                    types::CREDENTIALS_VALID,
                    state,
                    reason,
                    message.clone(),
                    generation,
                    now,
                ),
                Condition::new(
                    types::READY,
                    state,
                    reason,
                    message.clone(),
                    generation,
                    now,
                ),
            )
        }
    };
    agentrelease_api::condition::set(&mut status.conditions, valid);
    agentrelease_api::condition::set(&mut status.conditions, ready);
    status
}

/// Classifies a failed credentials call.
pub fn classify(kind: WorkspaceErrorKind, message: String) -> Check {
    let (reason, transient) = match kind {
        WorkspaceErrorKind::Unauthenticated => (reasons::UNAUTHENTICATED, false),
        WorkspaceErrorKind::PermissionDenied => (reasons::PERMISSION_DENIED, false),
        WorkspaceErrorKind::InvalidInput | WorkspaceErrorKind::NotFound => {
            (reasons::INVALID_SPEC, false)
        }
        _ => (reasons::TRANSIENT_ERROR, true),
    };
    Check::Invalid {
        reason,
        message,
        transient,
    }
}

async fn check<F: WorkspaceFactory>(
    target: &ReleaseTarget,
    ctx: &TargetContext<F>,
) -> Result<Check, TargetError> {
    let ns = target.namespace().unwrap_or_default();
    let secret_name = &target.spec.credentials.secret_name;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(secret) = secrets
        .get_opt(secret_name)
        .await
        .map_err(TargetError::Kube)?
    else {
        return Ok(Check::Invalid {
            reason: reasons::CREDENTIALS_MISSING,
            message: format!("Secret {ns}/{secret_name} does not exist"),
            transient: false,
        });
    };
    let data = secret.data.unwrap_or_default();
    let credentials = match credentials::from_secret(
        &format!("{ns}/{secret_name}"),
        &data,
        target.spec.credentials.type_,
    ) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Check::Invalid {
                reason: reasons::CREDENTIALS_MISSING,
                message: e.to_string(),
                transient: false,
            });
        }
    };
    let connection = Connection {
        host: target.spec.host.clone(),
        credentials,
        requests_per_second: crate::connection::target_rate(&target.spec),
        allow_insecure_http: target.spec.allow_insecure_http,
        trusted_origins: target.spec.trusted_origins.clone(),
    };
    let ws = match ctx.factory.connect(&connection) {
        Ok(ws) => ws,
        Err(e) => {
            return Ok(Check::Invalid {
                reason: reasons::INVALID_SPEC,
                message: e.to_string(),
                transient: false,
            });
        }
    };
    Ok(match ws.current_principal().await {
        Ok(principal) => Check::Valid(principal),
        Err(e) => classify(e.kind, e.to_string()),
    })
}

/// Checks one ReleaseTarget and writes its status when it changed.
pub async fn reconcile<F: WorkspaceFactory>(
    obj: Arc<DeserializeGuard<ReleaseTarget>>,
    ctx: Arc<TargetContext<F>>,
) -> Result<Action, TargetError> {
    // An undecodable target is reported on the releases that use it.
    let Ok(target) = &obj.0 else {
        return Ok(Action::await_change());
    };
    let result = check(target, &ctx).await?;
    let status = decide(
        &result,
        target.status.as_ref(),
        target.metadata.generation,
        Timestamp::now(),
    );
    if target.status.as_ref() != Some(&status) {
        let ns = target.namespace().unwrap_or_default();
        let api: Api<ReleaseTarget> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = json!({"apiVersion": agentrelease_api::API_VERSION, "kind": "ReleaseTarget", "status": status});
        api.patch_status(
            &target.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await
        .map_err(TargetError::Kube)?;
    }
    Ok(Action::requeue(match result {
        Check::Valid(_) => RECHECK,
        Check::Invalid { .. } => RETRY,
    }))
}

/// Retries a failed check after a short pause.
pub fn error_policy<F: WorkspaceFactory>(
    obj: Arc<DeserializeGuard<ReleaseTarget>>,
    error: &TargetError,
    _ctx: Arc<TargetContext<F>>,
) -> Action {
    tracing::warn!(target = %obj.name_any(), error = %error, category = error.category(), "checking a ReleaseTarget failed");
    Action::requeue(RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    #[test]
    fn a_valid_check_sets_ready_and_the_principal() {
        let s = decide(&Check::Valid("ci@example.com".into()), None, Some(3), at(0));
        assert_eq!(s.principal.as_deref(), Some("ci@example.com"));
        assert_eq!(s.observed_generation, Some(3));
        for t in [types::READY, types::CREDENTIALS_VALID] {
            let c = agentrelease_api::condition::find(&s.conditions, t).expect("condition");
            assert_eq!(
                (c.status, c.observed_generation),
                (ConditionStatus::True, Some(3))
            );
        }
    }

    #[test]
    fn transition_times_are_kept_while_the_status_holds() {
        let first = decide(&Check::Valid("a".into()), None, Some(1), at(0));
        let again = decide(&Check::Valid("a".into()), Some(&first), Some(1), at(600));
        assert_eq!(
            first, again,
            "an unchanged check changes nothing (no status write)"
        );
        let refused = decide(
            &classify(WorkspaceErrorKind::Unauthenticated, "401".into()),
            Some(&again),
            Some(1),
            at(900),
        );
        let ready =
            agentrelease_api::condition::find(&refused.conditions, types::READY).expect("ready");
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::False, reasons::UNAUTHENTICATED)
        );
        assert_eq!(ready.last_transition_time, at(900));
        assert_eq!(refused.principal, None);
    }

    #[test]
    fn transient_failures_are_unknown_not_false() {
        let s = decide(
            &classify(WorkspaceErrorKind::Transient, "503".into()),
            None,
            Some(1),
            at(0),
        );
        let ready = agentrelease_api::condition::find(&s.conditions, types::READY).expect("ready");
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::Unknown, reasons::TRANSIENT_ERROR)
        );
        let denied = classify(WorkspaceErrorKind::PermissionDenied, "403".into());
        assert!(
            matches!(denied, Check::Invalid { reason, transient: false, .. } if reason == reasons::PERMISSION_DENIED)
        );
    }
}
