//! The reconcile function: resolve the target and its credentials, run the engine, write the
//! status, record Events, count metrics. The engine decides; this only connects it to the cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrelease_api::allowed_hosts::AllowedHosts;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::{AgentRelease, FINALIZER, RECONCILE_REQUESTED_AT, ReleaseTarget};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::core::error_boundary::InvalidObject;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType, Recorder};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use crate::connection::{Connection, WorkspaceFactory};
use crate::engine::{self, EventType, Identity, Mode, Outcome, Requeue, SystemClock};
use crate::telemetry::metrics::Metrics;

use super::backoff::Backoff;
use super::credentials::{self, SecretRead};
use super::handle::ReleaseHandle;
use super::status::{self, FIELD_MANAGER};
use super::target_connection;
use super::workspace_slots::{RETRY_WHEN_FULL, WorkspaceSlots};

/// How the controller behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Allow a release to use a ReleaseTarget of another namespace.
    pub allow_cross_namespace_refs: bool,
    /// The workspace hosts targets may name (empty: all); a target outside is refused before
    /// its Secret is read.
    pub allowed_hosts: Arc<AllowedHosts>,
}

/// What every reconcile shares.
pub struct Context<F: WorkspaceFactory> {
    /// The Kubernetes client.
    pub client: Client,
    /// Records Events.
    pub recorder: Recorder,
    /// Builds workspace clients.
    pub factory: Arc<F>,
    /// The cache of ReleaseTargets.
    pub targets: Store<DeserializeGuard<ReleaseTarget>>,
    /// The cache of AgentReleases (the upstream stages of `spec.promotion.requires`).
    pub releases: Store<ReleaseHandle>,
    /// Behaviour switches.
    pub settings: Settings,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Per-object backoff.
    pub backoff: Arc<Backoff>,
    /// How many reconciles may talk to each workspace at once.
    pub slots: Arc<WorkspaceSlots>,
    /// The cache of AgentReleaseApprovals.
    pub approvals: Store<DeserializeGuard<agentrelease_api::AgentReleaseApproval>>,
    /// When each release's registered model was last polled for newer versions.
    pub newer_polls: Arc<super::approvals::NewerPolls>,
    /// This process's status writes not yet seen back through the watch.
    pub written: Arc<status::Written>,
    /// The cache of namespaces (their labels can require an approval hold).
    pub namespaces: super::namespaces::NamespaceStore,
    /// Asks for reconciles of other releases (those a release took objects over from).
    pub wake: super::wake::Wake,
}

/// Why a reconcile failed (it is retried with per-object backoff).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] kube::Error),
    /// The finalizer helper refused the object (no name, or an invalid finalizer name).
    #[error("finalizer: the object cannot carry the finalizer")]
    FinalizerRefused,
    /// A transient workspace failure; the message is the Ready condition's, which says which
    /// step failed and how.
    #[error("{message}")]
    Transient {
        /// The Ready condition's message.
        message: String,
    },
    /// The workspace cannot be cleaned up on deletion because the target or its credentials
    /// cannot be resolved; the message says what is missing.
    #[error("cleanup: {message}")]
    CleanupBlocked {
        /// What stops the cleanup and how to get past it.
        message: String,
    },
    /// The workspace connection for the cleanup could not be made.
    #[error("cleanup: {0}")]
    CleanupConnect(#[source] crate::connection::ConnectError),
    /// A workspace call of the cleanup failed.
    #[error("cleanup: {0}")]
    Cleanup(#[source] crate::engine::workspace::WorkspaceError),
    /// Another writer holds the release lock the cleanup needs; it waits (nothing changed).
    #[error("cleanup: {message}")]
    CleanupLocked {
        /// Who holds the lock, until when, and when the cleanup looks again.
        message: String,
    },
    /// The object has no namespace.
    #[error("the object has no namespace")]
    NoNamespace,
}

impl ReconcileError {
    /// A short category for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            ReconcileError::Kube(_) => "kube",
            ReconcileError::Finalizer(_) | ReconcileError::FinalizerRefused => "finalizer",
            ReconcileError::Transient { .. } => "workspace",
            ReconcileError::CleanupBlocked { .. }
            | ReconcileError::CleanupConnect(_)
            | ReconcileError::Cleanup(_) => "cleanup",
            ReconcileError::CleanupLocked { .. } => "cleanup_lock_held",
            ReconcileError::NoNamespace => "no_namespace",
        }
    }
}

/// How soon a release whose namespace is not cached yet is looked at again.
const NAMESPACE_RETRY: Duration = Duration::from_secs(2);

/// The key of an object in logs and the backoff map.
fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

/// Reconciles the AgentRelease a cache handle stands for: reads the object as it is now (a
/// release deleted meanwhile has nothing left to do) and reconciles it.
pub async fn reconcile<F: WorkspaceFactory>(
    handle: Arc<ReleaseHandle>,
    ctx: Arc<Context<F>>,
) -> Result<Action, ReconcileError> {
    let ns = handle.namespace().ok_or(ReconcileError::NoNamespace)?;
    if let Some(suspension) = handle.suspension.as_ref()
        && handle.metadata.deletion_timestamp.is_none()
        && !handle.finalizers().iter().any(|f| f == FINALIZER)
    {
        return suspended(&handle, suspension, &ctx).await;
    }
    let api: Api<DeserializeGuard<AgentRelease>> = Api::namespaced(ctx.client.clone(), &ns);
    match api
        .get_opt(&handle.name_any())
        .await
        .map_err(ReconcileError::Kube)?
    {
        Some(obj) => reconcile_object(Arc::new(obj), ctx).await,
        None => Ok(Action::await_change()),
    }
}

/// A suspended release without a finalizer, from its handle alone: its status says it is
/// suspended, nothing is read (not even the release: the handle has what the status needs) and
/// nothing is written but the status, and only when it changes.
async fn suspended<F: WorkspaceFactory>(
    handle: &ReleaseHandle,
    suspension: &super::handle::Suspension,
    ctx: &Arc<Context<F>>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let old = handle.status.clone().unwrap_or_default();
    let generation = handle.metadata.generation.unwrap_or(0);
    let outcome = engine::suspend_status(
        &old,
        generation,
        &suspension.reason,
        suspension.resync,
        &SystemClock,
    );
    let subject = Subject {
        object: handle,
        old: handle.status.as_ref(),
        suspended: true,
        model: handle
            .released
            .as_ref()
            .map(|r| r.model.as_str())
            .unwrap_or_default(),
    };
    let finished = finish(subject, outcome, ctx).await?;
    conclude(finished, &handle.key(), started, ctx)
}

/// Reconciles one AgentRelease as read (or reports that it does not decode).
pub async fn reconcile_object<F: WorkspaceFactory>(
    obj: Arc<DeserializeGuard<AgentRelease>>,
    ctx: Arc<Context<F>>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = match &obj.0 {
        Err(invalid) => invalid_object(invalid, &ctx).await,
        Ok(release) => with_finalizer(release, &ctx).await,
    };
    let took = started.elapsed();
    match &result {
        Ok(_) => {}
        Err(e) => {
            ctx.metrics.reconciled("error", took);
            ctx.metrics.failed(e.category());
        }
    }
    result
}

/// Requeues a failed object after its own exponential backoff.
pub fn error_policy<F: WorkspaceFactory>(
    obj: Arc<ReleaseHandle>,
    error: &ReconcileError,
    ctx: Arc<Context<F>>,
) -> Action {
    let key = key_of(obj.meta());
    // A cleanup waiting for the release lock has not failed: it looks again soon, unslowed.
    let delay = match error {
        ReconcileError::CleanupLocked { .. } => super::deletion::LOCK_RETRY,
        _ => ctx.backoff.failed(&key),
    };
    tracing::warn!(release = %key, error = %error, category = error.category(), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn with_finalizer<F: WorkspaceFactory>(
    release: &AgentRelease,
    ctx: &Arc<Context<F>>,
) -> Result<Action, ReconcileError> {
    let ns = release.namespace().ok_or(ReconcileError::NoNamespace)?;
    let api: Api<AgentRelease> = Api::namespaced(ctx.client.clone(), &ns);
    if needs_no_finalizer(release) {
        return apply(release, ctx).await;
    }
    let release = Arc::new(release.clone());
    finalizer(&api, FINALIZER, release, |event| async {
        match event {
            FinalizerEvent::Apply(r) => apply(&r, ctx).await,
            FinalizerEvent::Cleanup(r) => super::deletion::cleanup(&r, ctx).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(inner)
        | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner,
        kube::runtime::finalizer::Error::AddFinalizer(e)
        | kube::runtime::finalizer::Error::RemoveFinalizer(e) => ReconcileError::Finalizer(e),
        kube::runtime::finalizer::Error::UnnamedObject
        | kube::runtime::finalizer::Error::InvalidFinalizer => ReconcileError::FinalizerRefused,
    })
}

/// A suspended release that has no finalizer yet gets none: suspended, it writes nothing to
/// the workspace, so deleting it has nothing to clean up (`cleanup` keeps the workspace of a
/// suspended release either way). It gets the finalizer when it is resumed, before its first
/// workspace write. This halves the writes of a fleet of suspended releases.
fn needs_no_finalizer(release: &AgentRelease) -> bool {
    release.spec.policy.suspend
        && release.metadata.deletion_timestamp.is_none()
        && !release.finalizers().iter().any(|f| f == FINALIZER)
}

/// A condition that stops the release before the engine runs.
pub(super) struct Blocked {
    reason: &'static str,
    /// What is missing or refused, naming the object.
    pub(super) message: String,
}

/// The target and a connection to its workspace.
pub(super) async fn resolve<F: WorkspaceFactory>(
    release: &AgentRelease,
    ctx: &Context<F>,
) -> Result<Result<(ReleaseTarget, Connection, Option<Connection>), Blocked>, ReconcileError> {
    let ns = release.namespace().ok_or(ReconcileError::NoNamespace)?;
    let target_ns = release
        .spec
        .target_ref
        .namespace
        .clone()
        .unwrap_or_else(|| ns.clone());
    let target_name = &release.spec.target_ref.name;
    if target_ns != ns && !ctx.settings.allow_cross_namespace_refs {
        return Ok(Err(Blocked {
            reason: reasons::CROSS_NAMESPACE_REF_DENIED,
            message: format!(
                "ReleaseTarget {target_ns}/{target_name} is in another namespace; the operator refuses cross-namespace references unless started with --allow-cross-namespace-refs"
            ),
        }));
    }
    let Some(guard) = ctx
        .targets
        .get(&ObjectRef::new(target_name).within(&target_ns))
    else {
        return Ok(Err(Blocked {
            reason: reasons::TARGET_NOT_FOUND,
            message: format!("ReleaseTarget {target_ns}/{target_name} does not exist"),
        }));
    };
    let target = match &guard.0 {
        Ok(t) => t.clone(),
        Err(invalid) => {
            return Ok(Err(Blocked {
                reason: reasons::INVALID_SPEC,
                message: format!(
                    "ReleaseTarget {target_ns}/{target_name} does not decode: {}",
                    invalid.error
                ),
            }));
        }
    };
    let connection =
        match target_connection::connect(&ctx.client, &target, &ctx.settings.allowed_hosts)
            .await
            .map_err(ReconcileError::Kube)?
        {
            Ok(connection) => connection,
            Err(refusal) => {
                return Ok(Err(Blocked {
                    reason: refusal.reason,
                    message: refusal.message,
                }));
            }
        };
    let app = release.spec.app.as_ref().map(|a| a.name.as_str());
    let app_connection = match target
        .spec
        .app_credentials
        .iter()
        .find(|c| Some(c.app.as_str()) == app)
    {
        None => None,
        Some(r) => {
            let what = format!(
                "appCredentials of app {} in ReleaseTarget {target_name}",
                r.app
            );
            let data = match credentials::read_secret(&ctx.client, &target_ns, &r.secret_name)
                .await
                .map_err(ReconcileError::Kube)?
            {
                SecretRead::Found(data) => data,
                SecretRead::Missing => {
                    return Ok(Err(Blocked {
                        reason: reasons::CREDENTIALS_MISSING,
                        message: format!(
                            "Secret {target_ns}/{} ({what}) does not exist",
                            r.secret_name
                        ),
                    }));
                }
                SecretRead::Forbidden => {
                    return Ok(Err(Blocked {
                        reason: reasons::CREDENTIALS_REFUSED,
                        message: credentials::forbidden_message(&target_ns, &r.secret_name, &what),
                    }));
                }
            };
            match credentials::from_secret(
                &format!("{target_ns}/{}", r.secret_name),
                &data,
                Some(agentrelease_api::target::CredentialsType::OAuthM2M),
                None,
            ) {
                Ok(credentials) => Some(Connection {
                    credentials,
                    ..connection.clone()
                }),
                Err(e) => {
                    return Ok(Err(Blocked {
                        reason: e.reason(),
                        message: e.to_string(),
                    }));
                }
            }
        }
    };
    Ok(Ok((target, connection, app_connection)))
}

pub(super) fn identity(release: &AgentRelease) -> Identity {
    Identity {
        uid: release.uid().unwrap_or_default(),
        generation: release.metadata.generation.unwrap_or(0),
        namespace: release.namespace().unwrap_or_default(),
        name: release.name_any(),
    }
}

async fn apply<F: WorkspaceFactory>(
    release: &AgentRelease,
    ctx: &Arc<Context<F>>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let clock = SystemClock;
    let id = identity(release);
    let key = id.key();
    let generation = id.generation;
    let namespace_requires_approval =
        super::namespaces::requires_approval(&ctx.namespaces, &id.namespace);
    let outcome = if release.spec.policy.suspend {
        engine::suspend(release, generation, &clock)
    } else if namespace_requires_approval.is_none() {
        // Whether the namespace requires an approval is not known yet: never decide without it.
        tracing::debug!(release = %key, "the namespace is not cached yet; looking again shortly");
        ctx.metrics.reconciled("deferred", started.elapsed());
        return Ok(Action::requeue(NAMESPACE_RETRY));
    } else {
        match resolve(release, ctx).await? {
            Err(blocked) => engine::blocked(
                release,
                generation,
                &clock,
                types::TARGET_RESOLVED,
                blocked.reason,
                &blocked.message,
            ),
            Ok((target, connection, app_connection)) => {
                let workspace = crate::connection::workspace_origin(&connection.host)
                    .unwrap_or_else(|_| connection.host.clone());
                let Some(_slot) = ctx.slots.try_take(&workspace) else {
                    ctx.metrics.reconciled("deferred", started.elapsed());
                    return Ok(Action::requeue(RETRY_WHEN_FULL));
                };
                let app_ws = match app_connection.as_ref().map(|c| ctx.factory.connect(c)) {
                    None => Ok(None),
                    Some(Ok(ws)) => Ok(Some(ws)),
                    Some(Err(e)) => Err(e),
                };
                match ctx
                    .factory
                    .connect(&connection)
                    .and_then(|ws| Ok((ws, app_ws?)))
                {
                    Ok((ws, app_ws)) => {
                        let upstream =
                            super::upstream_index::observe(&ctx.releases.state(), release);
                        let approvals = super::approvals::approvals_of(
                            &ctx.approvals.state(),
                            &id.namespace,
                            &id.name,
                        );
                        let inputs = engine::Inputs {
                            approvals: Some(&approvals),
                            poll_newer_versions: ctx
                                .newer_polls
                                .take(&key, release.spec.policy.resync()),
                            upstream,
                            namespace_requires_approval: namespace_requires_approval
                                .unwrap_or(true),
                            ..engine::Inputs::default()
                        };
                        engine::reconcile_with_app_identity(
                            release,
                            &target.spec,
                            id,
                            (&*ws, app_ws.as_deref()),
                            &clock,
                            Mode::Apply,
                            &inputs,
                        )
                        .await
                    }
                    Err(e) => engine::blocked(
                        release,
                        generation,
                        &clock,
                        types::TARGET_RESOLVED,
                        reasons::INVALID_SPEC,
                        &e.to_string(),
                    ),
                }
            }
        }
    };
    let subject = Subject {
        object: release,
        old: release.status.as_ref(),
        suspended: release.spec.policy.suspend,
        model: &release.spec.model.name,
    };
    let finished = finish(subject, outcome, ctx).await?;
    conclude(finished, &key, started, ctx)
}

/// The metrics and the next action of a reconcile whose status was written.
fn conclude<F: WorkspaceFactory>(
    finished: Finished,
    key: &str,
    started: Instant,
    ctx: &Context<F>,
) -> Result<Action, ReconcileError> {
    let took = started.elapsed();
    match finished {
        Finished::Next { action, label } => {
            ctx.metrics.reconciled(label, took);
            ctx.backoff.reset(key);
            Ok(action)
        }
        Finished::Backoff { message } => {
            ctx.metrics.reconciled("failed", took);
            Err(ReconcileError::Transient { message })
        }
    }
}

/// What `finish` needs of the release: the object (its name and the Events' subject), its
/// status as read, whether it is suspended, and its registered model (metric labels).
struct Subject<'a, K> {
    object: &'a K,
    old: Option<&'a agentrelease_api::AgentReleaseStatus>,
    suspended: bool,
    model: &'a str,
}

/// What follows a reconcile whose status was written.
enum Finished {
    /// Reconcile again as the engine asked; `label` is the outcome for the metrics.
    Next { action: Action, label: &'static str },
    /// A transient failure: back off per object; the message is the Ready condition's.
    Backoff { message: String },
}

/// Writes the status, records Events and metrics; returns the next action, or the transient
/// failure to back off on.
async fn finish<F: WorkspaceFactory, K: Resource<DynamicType = ()>>(
    subject: Subject<'_, K>,
    outcome: Outcome,
    ctx: &Context<F>,
) -> Result<Finished, ReconcileError> {
    let release = subject.object;
    let ns = release.namespace().ok_or(ReconcileError::NoNamespace)?;
    let name = release.name_any();
    let mut new_status = outcome.status.clone();
    if let Some(requested) = release.annotations().get(RECONCILE_REQUESTED_AT) {
        new_status.last_handled_reconcile_at = Some(requested.clone());
    }
    let api: Api<AgentRelease> = Api::namespaced(ctx.client.clone(), &ns);
    let uid = release.uid().unwrap_or_default();
    let written = status::write(&api, &name, &uid, subject.old, &new_status, &ctx.written)
        .await
        .map_err(ReconcileError::Kube)?;

    for key in &outcome.superseded {
        ctx.wake.release(key);
    }
    let reference = release.object_ref(&());
    // A reconcile decided from a stale cache repeats the transitions the last one announced.
    let events: &[_] = if written == status::StatusWrite::Deferred {
        &[]
    } else {
        &outcome.events
    };
    for event in events {
        publish(
            &ctx.recorder,
            &reference,
            event.type_,
            &event.reason,
            &event.message,
        )
        .await;
    }
    for step in &outcome.steps {
        ctx.metrics.step(step.step, step.outcome, &step.reason);
    }
    for event in events {
        if event.reason == reasons::NEW_MODEL_VERSION {
            ctx.metrics.new_model_version(subject.model);
        }
    }
    ctx.metrics
        .newer_model_versions(&format!("{ns}/{name}"), new_status.newer_versions.len());
    if written != status::StatusWrite::Deferred {
        for (step, seconds) in crate::telemetry::metrics::completed_steps(
            crate::engine::steps::condition_order(),
            subject.old,
            &new_status,
        ) {
            ctx.metrics.step_duration(&step, seconds);
        }
    }
    let phase = new_status.phase.map(|p| p.as_str());
    ctx.metrics.release_phase(&format!("{ns}/{name}"), phase);

    let label = if outcome.is_ready() {
        "ready"
    } else if subject.suspended {
        "suspended"
    } else if outcome.needs_human() {
        "blocked"
    } else {
        "progressing"
    };
    match outcome.requeue {
        Requeue::After(delay) if written == status::StatusWrite::Deferred => Ok(Finished::Next {
            action: Action::requeue(delay.min(status::DEFER)),
            label,
        }),
        Requeue::After(delay) => Ok(Finished::Next {
            action: Action::requeue(delay),
            label,
        }),
        Requeue::Backoff => {
            let message = agentrelease_api::condition::find(&new_status.conditions, types::READY)
                .map(|c| c.message.clone())
                .unwrap_or_else(|| "transient failure".into());
            Ok(Finished::Backoff { message })
        }
    }
}

/// An AgentRelease that does not decode (a hand-edited object, an older schema): a Warning
/// Event and a Stalled status; the controller and the other releases carry on.
async fn invalid_object<F: WorkspaceFactory>(
    invalid: &InvalidObject,
    ctx: &Context<F>,
) -> Result<Action, ReconcileError> {
    let meta = &invalid.metadata;
    let Some(ns) = meta.namespace.clone() else {
        return Err(ReconcileError::NoNamespace);
    };
    let name = meta.name.clone().unwrap_or_default();
    let message = format!("the object does not decode: {}", invalid.error);
    let reference = ObjectReference {
        api_version: Some(agentrelease_api::API_VERSION.to_string()),
        kind: Some("AgentRelease".to_string()),
        name: Some(name.clone()),
        namespace: Some(ns.clone()),
        uid: meta.uid.clone(),
        ..ObjectReference::default()
    };
    publish(
        &ctx.recorder,
        &reference,
        EventType::Warning,
        reasons::INVALID_SPEC,
        &message,
    )
    .await;
    let status = engine::undecodable(meta.generation.unwrap_or(0), &message, &SystemClock);
    let patch = json!({
        "apiVersion": agentrelease_api::API_VERSION,
        "kind": "AgentRelease",
        "status": status,
    });
    let api: Api<AgentRelease> = Api::namespaced(ctx.client.clone(), &ns);
    if let Err(e) = api
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await
    {
        tracing::warn!(release = %format!("{ns}/{name}"), error = %e, "could not write the status of an undecodable release");
    }
    ctx.metrics
        .release_phase(&format!("{ns}/{name}"), Some("Blocked"));
    ctx.metrics.reconciled("blocked", Duration::ZERO);
    Ok(Action::await_change())
}

/// Records an Event; a failure to record is logged, never fatal.
pub(super) async fn publish(
    recorder: &Recorder,
    reference: &ObjectReference,
    type_: EventType,
    reason: &str,
    message: &str,
) {
    let note = truncate(message, 1000);
    let event = KubeEvent {
        type_: match type_ {
            EventType::Normal => KubeEventType::Normal,
            EventType::Warning => KubeEventType::Warning,
        },
        reason: truncate(reason, 128),
        note: Some(note),
        action: "Reconcile".to_string(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, reference).await {
        tracing::warn!(reason, error = %e, "could not record an Event");
    }
}

fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut cut = max_bytes.saturating_sub(3);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("abc", 10), "abc");
        let t = truncate(&"é".repeat(600), 1000);
        assert!(t.len() <= 1000 && t.ends_with("..."));
    }
}
