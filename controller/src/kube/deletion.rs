//! What the finalizer does when an AgentRelease is deleted: connect to its workspace and run
//! the engine's cleanup ([`engine::cleanup`]), which touches only what the release still owns,
//! under the release lock; then say what was done and kept in an Event. The finalizer goes when
//! this returns `Ok`; an `Err` keeps it and the cleanup is tried again.

use std::sync::Arc;
use std::time::Duration;

use agentrelease_api::conditions::reasons;
use agentrelease_api::{AgentRelease, FINALIZER};
use kube::Resource;
use kube::runtime::controller::Action;

use crate::connection::WorkspaceFactory;
use crate::engine::{self, EventType};

use super::reconciler::{Context, ReconcileError, identity, publish, resolve};

/// How soon a cleanup that found the release lock held looks again.
pub const LOCK_RETRY: Duration = Duration::from_secs(5);

/// The finalizer's cleanup ([`engine::cleanup`]): what the deleted release owns, under the
/// release lock. The finalizer goes when it returns `Ok`; an `Err` keeps it and tries again.
pub async fn cleanup<F: WorkspaceFactory>(
    release: &AgentRelease,
    ctx: &Arc<Context<F>>,
) -> Result<Action, ReconcileError> {
    let key = identity(release).key();
    let reference = release.object_ref(&());
    let records = || {
        engine::cleanup::record_paths(release)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if release.spec.policy.suspend {
        let message = format!(
            "suspended: nothing in the workspace was changed, and the ledger records ({}) stay owned by {key}; delete them by hand if no release should own their objects",
            records()
        );
        tracing::info!(release = %key, "{message}");
        publish(
            &ctx.recorder,
            &reference,
            EventType::Normal,
            reasons::CLEANUP_SKIPPED,
            &message,
        )
        .await;
        return Ok(done_with(&key, ctx));
    }
    let retain = release.spec.policy.deletion == agentrelease_api::release::DeletionPolicy::Retain;
    let connected = match resolve(release, ctx).await? {
        Ok((_target, connection, _app)) => match ctx.factory.connect(&connection) {
            Ok(ws) => Ok(ws),
            Err(e) if retain => Err(e.to_string()),
            Err(e) => return Err(ReconcileError::CleanupConnect(e)),
        },
        Err(blocked) => Err(blocked.message),
    };
    let ws = match connected {
        Ok(ws) => ws,
        // `Retain` keeps every object: only the records are left to give back, and a target
        // that is gone (a namespace torn down) does not hold the deletion up for them.
        Err(why) if retain => {
            let message = format!(
                "kept everything (deletion policy Retain), but the ledger records ({}) could not be given back: {why}; delete them by hand if no release should own their objects",
                records()
            );
            tracing::warn!(release = %key, "{message}");
            publish(
                &ctx.recorder,
                &reference,
                EventType::Warning,
                reasons::CLEANUP_INCOMPLETE,
                &message,
            )
            .await;
            return Ok(done_with(&key, ctx));
        }
        Err(why) => {
            let message = format!(
                "cannot clean up the workspace: {why}; fix it, or remove the finalizer {FINALIZER} by hand to abandon the cleanup"
            );
            publish(
                &ctx.recorder,
                &reference,
                EventType::Warning,
                reasons::CLEANUP_BLOCKED,
                &message,
            )
            .await;
            return Err(ReconcileError::CleanupBlocked { message });
        }
    };
    let writer = engine::lock::cleanup_writer(&key);
    match engine::cleanup::run(release, &key, &*ws, &writer, jiff::Timestamp::now()).await {
        Ok(report) => {
            let lines = report.lines();
            if !lines.is_empty() {
                let message = lines.join("; ");
                tracing::info!(release = %key, "cleaned up: {message}");
                publish(
                    &ctx.recorder,
                    &reference,
                    EventType::Normal,
                    reasons::CLEANED_UP,
                    &message,
                )
                .await;
            }
            let warnings = report.warnings();
            if !warnings.is_empty() {
                let message = warnings.join("; ");
                tracing::warn!(release = %key, "cleanup incomplete: {message}");
                publish(
                    &ctx.recorder,
                    &reference,
                    EventType::Warning,
                    reasons::CLEANUP_INCOMPLETE,
                    &message,
                )
                .await;
            }
            Ok(done_with(&key, ctx))
        }
        Err(e @ engine::cleanup::CleanupError::Locked { .. }) => {
            let message = format!("{e}; the cleanup looks again in {} s", LOCK_RETRY.as_secs());
            publish(
                &ctx.recorder,
                &reference,
                EventType::Normal,
                reasons::CLEANUP_WAITING,
                &message,
            )
            .await;
            Err(ReconcileError::CleanupLocked { message })
        }
        Err(engine::cleanup::CleanupError::Workspace(e)) => {
            publish(
                &ctx.recorder,
                &reference,
                EventType::Warning,
                reasons::CLEANUP_FAILED,
                &format!(
                    "{e}; the cleanup is tried again (remove the finalizer {FINALIZER} by hand to abandon it)"
                ),
            )
            .await;
            Err(ReconcileError::Cleanup(e))
        }
    }
}

/// A finished cleanup: the release's metrics and backoff are forgotten.
fn done_with<F: WorkspaceFactory>(key: &str, ctx: &Context<F>) -> Action {
    ctx.metrics.release_phase(key, None);
    ctx.backoff.reset(key);
    Action::await_change()
}
