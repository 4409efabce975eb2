//! `agentrelease controller`: the operator's main loop — leader election, one kube-rs
//! `Controller` per watched namespace (or one for all), the HTTP endpoints, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agentrelease_api::allowed_hosts::{AllowedHosts, HostPattern};
use agentrelease_api::{AgentRelease, ReleaseTarget};
use anyhow::Context as _;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::core::DeserializeGuard;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;

use crate::connection::WorkspaceFactory;
use crate::telemetry::metrics::Metrics;

use super::backoff::Backoff;
use super::cache;
use super::client_rate::RateLimitLayer;
use super::handle::{self, ReleaseHandle};
use super::http::{self, HttpState};
use super::index;
use super::reconciler::{self, Context, Settings};
use super::shard;
use super::target_status::{self, TargetContext};
use super::workspace_slots::WorkspaceSlots;

/// Arguments of `agentrelease controller`.
#[derive(Debug, Clone, clap::Args)]
pub struct ControllerArgs {
    /// Namespaces to watch (repeatable). All namespaces when none is given.
    #[arg(long = "namespace", short = 'n', value_name = "NAMESPACE")]
    pub namespaces: Vec<String>,
    /// Only reconcile AgentReleases matching this label selector (to shard across operators).
    #[arg(long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Where to serve /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Serve the read-only release timeline page (HTML, no scripts) at this address; off unless
    /// given. The same address as --metrics-addr adds it to that server.
    #[arg(long, value_name = "ADDR")]
    pub ui_addr: Option<SocketAddr>,
    /// How many releases are reconciled at once, over all workspaces.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u16,
    /// How many releases of one workspace are reconciled at once. A release whose workspace is
    /// busy is looked at again shortly, so a slow or throttled workspace holds at most this many
    /// of the `--concurrency` slots.
    #[arg(long, default_value_t = 4)]
    pub workspace_concurrency: u16,
    /// Reconcile only the releases labelled `agentops.dev/shard=<SHARD>`, under a leader Lease
    /// of its own (`<lease-name>-<SHARD>`). Run one replica set per shard; the replicas that
    /// take the unlabelled releases use `--selector '!agentops.dev/shard'`.
    #[arg(long, value_name = "SHARD")]
    pub shard: Option<String>,
    /// Requests per second to the Kubernetes API server, on average (0: no client-side limit;
    /// the API server's priority and fairness still applies).
    #[arg(long, default_value_t = 0.0)]
    pub kube_qps: f32,
    /// Requests to the Kubernetes API server allowed at once above `--kube-qps`.
    #[arg(long, default_value_t = 100)]
    pub kube_burst: u32,
    /// Reconcile only while holding the leader Lease (run several replicas for availability).
    #[arg(long)]
    pub leader_elect: bool,
    /// The name of the leader Lease.
    #[arg(long, default_value = "agentrelease-controller")]
    pub lease_name: String,
    /// The namespace of the leader Lease (defaults to the pod's namespace, then `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// This replica's identity (defaults to the pod name, then the host name).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Allow releases to use ReleaseTargets of other namespaces.
    #[arg(long)]
    pub allow_cross_namespace_refs: bool,
    /// Lease duration in seconds (a lost leader is replaced after at most this long).
    #[arg(long, default_value_t = 15)]
    pub lease_duration: u64,
    /// An address or CIDR range workspace names may resolve to although the client drops such
    /// answers otherwise (link-local, cloud metadata, unspecified; loopback for targets without
    /// allowInsecureHttp). Repeatable, or comma-separated in the environment variable. Only
    /// for a private deployment that really reaches Databricks there.
    #[arg(
        long = "allow-resolved-address",
        value_name = "CIDR",
        env = "AGENTRELEASE_ALLOW_RESOLVED_ADDRESSES",
        value_delimiter = ','
    )]
    pub allow_resolved_addresses: Vec<agentrelease_databricks::AddressRange>,
    /// The workspace hosts ReleaseTargets may name: a host (`adb-123.4.azuredatabricks.net`)
    /// or `*.` and a suffix of two or more labels (`*.azuredatabricks.net`: one or more labels
    /// under it). Repeatable, or comma-separated (also in the environment variable). A target
    /// outside the list is refused before its Secret is read or any request is sent. None
    /// given: every host is allowed.
    #[arg(
        long = "allowed-workspace-hosts",
        value_name = "PATTERN",
        env = "AGENTRELEASE_ALLOWED_WORKSPACE_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_workspace_hosts: Vec<HostPattern>,
    /// Namespaces whose Secrets the controller watches (metadata only), so a changed Secret is
    /// used at once; its RBAC must allow list and watch on Secrets there. Repeatable, or
    /// comma-separated. Elsewhere Secrets are only read by name when a target needs them (the
    /// `get` permission), and a change is used at the next check of the target (5 minutes) or
    /// reconcile of the release.
    #[arg(
        long = "secret-namespace",
        value_name = "NAMESPACE",
        env = "AGENTRELEASE_SECRET_NAMESPACES",
        value_delimiter = ','
    )]
    pub secret_namespaces: Vec<String>,
}

/// The namespaces whose Secrets a controller of `scope` (one namespace, or all) watches: those
/// of `--secret-namespace` within its scope.
pub fn secret_watch_namespaces(scope: Option<&str>, secret_namespaces: &[String]) -> Vec<String> {
    let mut out: Vec<String> = secret_namespaces
        .iter()
        .filter(|ns| scope.is_none_or(|s| s == ns.as_str()))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Metadata-only watches of the Secrets in `namespaces` (none: a stream that never yields).
fn secret_watches(
    client: &Client,
    namespaces: &[String],
) -> futures::stream::BoxStream<'static, Result<PartialObjectMeta<Secret>, watcher::Error>> {
    let mut streams: Vec<futures::stream::BoxStream<'static, _>> = namespaces
        .iter()
        .map(|ns| {
            // `PartialObjectMeta` makes the list and watch requests ask for metadata only.
            let api: Api<PartialObjectMeta<Secret>> = Api::namespaced(client.clone(), ns);
            watcher::watcher(api, watcher::Config::default())
                .default_backoff()
                .touched_objects()
                .boxed()
        })
        .collect();
    if streams.is_empty() {
        streams.push(futures::stream::pending().boxed());
    }
    futures::stream::select_all(streams).boxed()
}

/// Runs the operator until SIGTERM / Ctrl-C. `metrics` is shared with the factory's clients.
pub async fn run<F: WorkspaceFactory>(
    args: ControllerArgs,
    factory: Arc<F>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<()> {
    let config = kube::Config::infer()
        .await
        .context("connecting to Kubernetes (in-cluster config or KUBECONFIG)")?;
    let client = kube::client::ClientBuilder::try_from(config)
        .context("connecting to Kubernetes (in-cluster config or KUBECONFIG)")?
        .with_layer(&RateLimitLayer::new(args.kube_qps, args.kube_burst))
        .build();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested; finishing in-flight reconciles");
        let _ = shutdown_tx.send(true);
    });
    run_with_client(client, args, factory, metrics, shutdown_rx).await
}

/// Runs the operator with a given client until `shutdown` turns true (embedding, e2e tests).
pub async fn run_with_client<F: WorkspaceFactory>(
    client: Client,
    args: ControllerArgs,
    factory: Arc<F>,
    metrics: Arc<Metrics>,
    shutdown_rx: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if let Some(name) = &args.shard {
        shard::check(name)?;
    }
    let lease_name = shard::lease_name(&args.lease_name, args.shard.as_deref());
    let ready = Arc::new(AtomicBool::new(false));
    let http_state = HttpState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let http_shutdown = shutdown_rx.clone();
    let addr = args.metrics_addr;
    let timeline = args.ui_addr.map(|ui_addr| {
        let source = crate::ui::server::Source::Cluster {
            client: client.clone(),
            namespaces: args.namespaces.clone(),
        };
        (ui_addr, source)
    });
    let (extra, ui_server) = match timeline {
        Some((ui_addr, source)) if ui_addr == addr => {
            (Some(crate::ui::server::router(source)), None)
        }
        Some((ui_addr, source)) => {
            let (bound, serve) =
                crate::ui::server::bind(ui_addr, source, until_true(shutdown_rx.clone()))
                    .await
                    .with_context(|| format!("serving the timeline page at {ui_addr}"))?;
            tracing::info!(addr = %bound, "serving the release timeline page");
            let task = tokio::spawn(async move {
                if let Err(e) = serve.await {
                    tracing::error!(addr = %bound, error = %e, "the timeline server stopped");
                }
            });
            (None, Some(task))
        }
        None => (None, None),
    };
    let server = tokio::spawn(async move {
        if let Err(e) = http::serve(addr, http_state, extra, until_true(http_shutdown)).await {
            tracing::error!(%addr, error = %e, "the metrics and health server stopped");
        }
    });

    let identity = args
        .identity
        .clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| format!("agentrelease-{}", uuid::Uuid::new_v4()));
    let parts = Parts {
        client: client.clone(),
        factory,
        metrics: metrics.clone(),
        backoff: Arc::new(Backoff::new(
            Duration::from_secs(5),
            Duration::from_secs(300),
        )),
        settings: Settings {
            allow_cross_namespace_refs: args.allow_cross_namespace_refs,
            allowed_hosts: Arc::new(AllowedHosts::new(args.allowed_workspace_hosts.clone())),
        },
        args: args.clone(),
        identity: identity.clone(),
        ready: ready.clone(),
    };

    if !args.leader_elect {
        metrics.set_leader(true);
        run_controllers(&parts, until_true(shutdown_rx.clone())).await;
    } else {
        let namespace = args
            .lease_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let manager = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &lease_name)
            .with_namespace(&namespace)
            .with_identity(&identity)
            .with_duration(args.lease_duration)
            .with_grace(args.lease_duration.div_ceil(3).max(2))
            .build()
            .await
            .context("setting up leader election")?;
        let (mut leader_rx, lease_task) = manager.watch().await;
        // A standby replica is healthy and ready; it just does not reconcile.
        ready.store(true, Ordering::Relaxed);
        let mut shutdown = shutdown_rx.clone();
        'outer: loop {
            while !*leader_rx.borrow_and_update() {
                tokio::select! {
                    changed = leader_rx.changed() => if changed.is_err() { break 'outer },
                    _ = shutdown.changed() => if *shutdown.borrow() { break 'outer },
                }
            }
            tracing::info!(%identity, lease = %lease_name, "became the leader; reconciling");
            metrics.set_leader(true);
            let mut lost = leader_rx.clone();
            let lease_lost = async move {
                loop {
                    if lost.changed().await.is_err() || !*lost.borrow() {
                        return;
                    }
                }
            };
            // Losing the lease stops reconciling at once (in-flight reconciles are dropped);
            // a shutdown lets them finish.
            tokio::select! {
                _ = run_controllers(&parts, until_true(shutdown_rx.clone())) => {}
                _ = lease_lost => tracing::warn!(%identity, "lost the leader lease; stopped reconciling"),
            }
            metrics.set_leader(false);
            if *shutdown_rx.borrow() {
                break;
            }
        }
        drop(leader_rx);
        match lease_task.await {
            Ok(Ok(manager)) => {
                if let Err(e) = manager.release().await {
                    tracing::warn!(error = %e, "could not release the leader lease");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "leader election ended with an error"),
            Err(e) => tracing::warn!(error = %e, "leader election task failed"),
        }
    }
    server.abort();
    if let Some(task) = ui_server {
        task.abort();
    }
    Ok(())
}

struct Parts<F: WorkspaceFactory> {
    client: Client,
    factory: Arc<F>,
    metrics: Arc<Metrics>,
    backoff: Arc<Backoff>,
    settings: Settings,
    args: ControllerArgs,
    identity: String,
    ready: Arc<AtomicBool>,
}

async fn run_controllers<F: WorkspaceFactory>(
    parts: &Parts<F>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let scopes: Vec<Option<String>> = if parts.args.namespaces.is_empty() {
        vec![None]
    } else {
        parts.args.namespaces.iter().cloned().map(Some).collect()
    };
    let runs = scopes
        .into_iter()
        .map(|scope| run_controller(parts, scope, shutdown.clone()));
    futures::future::join_all(runs).await;
}

fn api_for<K>(client: &Client, scope: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn run_controller<F: WorkspaceFactory>(
    parts: &Parts<F>,
    scope: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    futures::future::join(
        run_release_controller(parts, scope.clone(), shutdown.clone()),
        run_target_controller(parts, scope, shutdown),
    )
    .await;
}

/// Checks the credentials of every ReleaseTarget and writes its status; a changed Secret is
/// checked again at once.
async fn run_target_controller<F: WorkspaceFactory>(
    parts: &Parts<F>,
    scope: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = &parts.client;
    let targets: Api<DeserializeGuard<ReleaseTarget>> = api_for(client, &scope);
    let config = watcher::Config::default();
    let secret_stream = secret_watches(
        client,
        &secret_watch_namespaces(scope.as_deref(), &parts.args.secret_namespaces),
    );
    let controller = Controller::new(targets, config)
        .with_config(ControllerConfig::default().concurrency(parts.args.concurrency));
    let store = controller.store();
    let ctx = Arc::new(TargetContext {
        client: client.clone(),
        factory: parts.factory.clone(),
        allowed_hosts: parts.settings.allowed_hosts.clone(),
    });
    controller
        .watches_stream(secret_stream, move |secret| {
            let ns = secret.namespace().unwrap_or_default();
            index::targets_of_secret(&store.state(), &ns, &secret.name_any())
                .into_iter()
                .map(|(tns, tname)| ObjectRef::new(&tname).within(&tns))
                .collect::<Vec<ObjectRef<DeserializeGuard<ReleaseTarget>>>>()
        })
        .graceful_shutdown_on(shutdown)
        .run(target_status::reconcile, target_status::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(target = %object, "target checked"),
                Err(e) => tracing::debug!(error = %e, "target check ended with an error"),
            }
        })
        .await;
}

async fn run_release_controller<F: WorkspaceFactory>(
    parts: &Parts<F>,
    scope: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = &parts.client;
    let releases: Api<DeserializeGuard<AgentRelease>> = api_for(client, &scope);
    let targets: Api<DeserializeGuard<ReleaseTarget>> = api_for(client, &scope);
    let config = watcher::Config::default();
    let release_config = match shard::release_selector(
        parts.args.selector.as_deref(),
        parts.args.shard.as_deref(),
    ) {
        Some(selector) => config.clone().labels(&selector),
        None => config.clone(),
    };

    let (target_store, target_writer) = reflector::store();
    let target_stream = reflector::reflector(
        target_writer,
        watcher::watcher(targets, config.clone()).modify(cache::trim),
    )
    .default_backoff()
    .touched_objects();
    // Metadata only, and only where `--secret-namespace` allows (the operator never lists
    // Secrets elsewhere, nor caches their contents anywhere).
    let secret_namespaces =
        secret_watch_namespaces(scope.as_deref(), &parts.args.secret_namespaces);
    let secret_stream = secret_watches(client, &secret_namespaces);

    // The cache keeps handles, not whole releases (see `handle`); a reconcile reads the object.
    let (release_store, release_writer) = reflector::store::<ReleaseHandle>();
    let release_stream = reflector::reflector(
        release_writer,
        watcher::watcher(releases, release_config).map_ok(handle::event),
    )
    .applied_objects()
    .predicate_filter(cache::wakes, Default::default());
    // Approvals: cached for the approval hold; a new one wakes the release it approves.
    let approvals: Api<DeserializeGuard<agentrelease_api::AgentReleaseApproval>> =
        api_for(client, &scope);
    let (approval_store, approval_writer) = reflector::store();
    let approval_stream = reflector::reflector(
        approval_writer,
        watcher::watcher(approvals, config.clone()).modify(cache::trim),
    )
    .default_backoff()
    .touched_objects();
    // Namespaces, as metadata: a label can require an approval of every release in one; a
    // change of their labels wakes the namespace's releases.
    let namespaces: Api<PartialObjectMeta<Namespace>> = Api::all(client.clone());
    let (namespace_store, namespace_writer) = reflector::store();
    let namespace_stream = reflector::reflector(
        namespace_writer,
        watcher::watcher(namespaces, watcher::Config::default()).modify(cache::trim),
    )
    .default_backoff()
    .applied_objects()
    .predicate_filter(kube::runtime::predicates::labels, Default::default());
    let (wake, woken) = super::wake::Wake::channel();
    let controller = Controller::for_stream(release_stream, release_store.clone())
        .with_config(ControllerConfig::default().concurrency(parts.args.concurrency));
    let by_target = release_store.clone();
    let by_secret = release_store.clone();
    let targets_for_secrets = target_store.clone();
    let controller = controller
        .watches_stream(
            target_stream,
            move |target: DeserializeGuard<ReleaseTarget>| {
                let ns = target.namespace().unwrap_or_default();
                index::releases_of_target(&by_target.state(), &ns, &target.name_any())
            },
        )
        .reconcile_on(woken)
        .watches_stream(namespace_stream, {
            let releases = release_store.clone();
            move |ns| super::namespaces::releases_in(&releases.state(), &ns)
        })
        .watches_stream(approval_stream, |approval| {
            super::approvals::release_of(&approval)
        })
        .watches_stream(secret_stream, move |secret| {
            let ns = secret.namespace().unwrap_or_default();
            let state = by_secret.state();
            index::targets_of_secret(&targets_for_secrets.state(), &ns, &secret.name_any())
                .into_iter()
                .flat_map(|(tns, tname)| index::releases_of_target(&state, &tns, &tname))
                .collect::<Vec<ObjectRef<ReleaseHandle>>>()
        })
        .graceful_shutdown_on(shutdown);

    let ready = parts.ready.clone();
    let (rs, ts, ns) = (
        release_store.clone(),
        target_store.clone(),
        namespace_store.clone(),
    );
    tokio::spawn(async move {
        if rs.wait_until_ready().await.is_ok()
            && ts.wait_until_ready().await.is_ok()
            && ns.wait_until_ready().await.is_ok()
        {
            ready.store(true, Ordering::Relaxed);
        }
    });

    // Releases deleted without a finalizer are never reconciled again: forget their phase.
    let newer_polls = Arc::new(super::approvals::NewerPolls::default());
    let polls = newer_polls.clone();
    let written = Arc::new(super::status::Written::default());
    let in_flight = written.clone();
    let (metrics, live) = (parts.metrics.clone(), release_store.clone());
    let prune = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let keys: std::collections::HashSet<String> = live
                .state()
                .iter()
                .map(|r| format!("{}/{}", r.namespace().unwrap_or_default(), r.name_any()))
                .collect();
            metrics.retain_releases(|key| keys.contains(key));
            polls.retain(|key| keys.contains(key));
            in_flight.prune(std::time::Instant::now());
        }
    });

    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "agentrelease-controller".into(),
                instance: Some(parts.identity.clone()),
            },
        ),
        factory: parts.factory.clone(),
        targets: target_store,
        releases: release_store.clone(),
        settings: parts.settings.clone(),
        metrics: parts.metrics.clone(),
        backoff: parts.backoff.clone(),
        slots: Arc::new(WorkspaceSlots::new(parts.args.workspace_concurrency)),
        approvals: approval_store,
        newer_polls,
        written,
        namespaces: namespace_store,
        wake,
    });
    tracing::info!(
        secrets = %if secret_namespaces.is_empty() {
            "read by name only".to_string()
        } else {
            format!("watched in {}", secret_namespaces.join(", "))
        },
        allowed_workspace_hosts = %if parts.settings.allowed_hosts.allows_all() {
            "all".to_string()
        } else {
            parts.settings.allowed_hosts.describe()
        },
        scope = scope.as_deref().unwrap_or("all namespaces"),
        shard = parts.args.shard.as_deref().unwrap_or("(none)"),
        "watching AgentReleases"
    );
    controller
        .run(reconciler::reconcile, reconciler::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(release = %object, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "reconcile ended with an error"),
            }
        })
        .await;
    prune.abort();
}

/// Resolves when the flag becomes true (or its sender is gone).
fn until_true(
    mut rx: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static {
    let fut = async move {
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    };
    futures::FutureExt::shared(Box::pin(fut))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ControllerArgs,
    }

    #[test]
    fn secrets_are_watched_only_in_the_named_namespaces_within_the_scope() {
        let named = vec![
            "team-b".to_string(),
            "team-a".to_string(),
            "team-a".to_string(),
        ];
        assert_eq!(
            secret_watch_namespaces(None, &named),
            vec!["team-a".to_string(), "team-b".to_string()]
        );
        assert_eq!(
            secret_watch_namespaces(Some("team-b"), &named),
            vec!["team-b".to_string()]
        );
        assert!(secret_watch_namespaces(Some("team-c"), &named).is_empty());
        assert!(secret_watch_namespaces(None, &[]).is_empty());
    }

    #[test]
    fn allowed_hosts_and_secret_namespaces_are_repeatable_or_comma_separated() {
        let cli = Cli::try_parse_from([
            "controller",
            "--allowed-workspace-hosts",
            "*.azuredatabricks.net,adb-123.4.azuredatabricks.net",
            "--allowed-workspace-hosts",
            "*.cloud.databricks.com",
            "--secret-namespace",
            "team-a,team-b",
        ])
        .expect("parse");
        let shown: Vec<String> = cli
            .args
            .allowed_workspace_hosts
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "*.azuredatabricks.net",
                "adb-123.4.azuredatabricks.net",
                "*.cloud.databricks.com"
            ]
        );
        assert_eq!(cli.args.secret_namespaces, ["team-a", "team-b"]);
        let e = Cli::try_parse_from([
            "controller",
            "--allowed-workspace-hosts",
            "https://adb-1.azuredatabricks.net",
        ])
        .expect_err("a URL is not a host pattern")
        .to_string();
        assert!(e.contains("is not a host name"), "{e}");
    }
}
