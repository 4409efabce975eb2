//! `agentrelease apply -f PATH...` and `agentrelease plan -f PATH...`: the engine, one-shot, from a
//! GitOps repository's CI or a laptop. The workspace is a real one (`--host` with credentials from
//! the environment) or the embedded simulator (the default), seeded from `--seed` or from a seed
//! file found among the paths.
//!
//! `--host` must name the workspace of every ReleaseTarget it serves (compared by scheme, host and
//! port); a release whose target names another workspace is refused before anything is sent,
//! unless `--override-host` is given, which is then announced on stderr and in `-o json`. Without
//! `--host` each target is told, up front, that its workspace is not the one used. Either way the
//! client sends at most the target's `spec.requestsPerSecond`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrelease_api::conditions::types;
use agentrelease_api::{AgentRelease, ConditionStatus, ReleaseTarget};
use anyhow::Context as _;
use serde::Serialize;

use crate::connection::{
    Connection, Credentials, SecretString, WorkspaceFactory, target_rate, workspace_origin,
};
use crate::engine::{self, Identity, Mode, Outcome, Requeue, SystemClock};

use super::upstream_hosts::{self, Places, UpstreamArgs, Upstreams};
use super::validate::{self, OutputFormat};
use crate::manifest::Document;

/// Where the workspace comes from (shared by `apply` and `plan`).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkspaceArgs {
    /// A real workspace URL; without it the embedded simulator is used. It must be the
    /// `spec.host` of each release's ReleaseTarget (see --override-host).
    #[arg(long, value_name = "URL", conflicts_with_all = ["sim"])]
    pub host: Option<String>,
    /// Send releases to --host even when their ReleaseTarget's `spec.host` names another
    /// workspace (announced with a WARNING per target).
    #[arg(long, requires = "host")]
    pub override_host: bool,
    /// The environment variable holding a personal access token for --host.
    #[arg(long, value_name = "VAR", default_value = "DATABRICKS_TOKEN")]
    pub token_env: String,
    /// The environment variable holding an OAuth client id (with --client-secret-env, or with
    /// --oidc-token-file for workload identity federation).
    #[arg(long, value_name = "VAR")]
    pub client_id_env: Option<String>,
    /// The environment variable holding the OAuth client secret.
    #[arg(long, value_name = "VAR", requires = "client_id_env")]
    pub client_secret_env: Option<String>,
    /// Workload identity federation: the file holding this job's OIDC token (a CI OIDC token, a
    /// ServiceAccount token), exchanged for a workspace token and read again at each refresh;
    /// with --client-id-env naming the service principal whose federation policy accepts it.
    /// `DATABRICKS_OIDC_TOKEN_FILEPATH` (or `DATABRICKS_OIDC_TOKEN_FILE`) is used when set and
    /// no other credentials flag is given.
    #[arg(long, value_name = "FILE", conflicts_with = "client_secret_env")]
    pub oidc_token_file: Option<PathBuf>,
    /// Allow an http:// --host (a simulator of your own).
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// The workspace hosts this run may reach, as the controller's flag of the same name
    /// (`*.azuredatabricks.net`, `adb-123.4.azuredatabricks.net`); repeatable or
    /// comma-separated. Every ReleaseTarget among the files, --host and each --upstream-host
    /// must be inside it, or nothing is sent. None given: every host.
    #[arg(
        long = "allowed-workspace-hosts",
        value_name = "PATTERN",
        env = "AGENTRELEASE_ALLOWED_WORKSPACE_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_workspace_hosts: Vec<agentrelease_api::allowed_hosts::HostPattern>,
    /// Use the embedded workspace simulator (the default when no --host is given).
    #[arg(long)]
    pub sim: bool,
    /// Seed the embedded simulator from this file (else from a seed file among the paths).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Simulated seconds per real second in the embedded simulator.
    #[arg(long, default_value_t = 30.0, value_name = "FACTOR")]
    pub sim_time_scale: f64,
}

/// Arguments of `agentrelease apply`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// Manifest files or directories (AgentReleases, their ReleaseTargets, optionally a workspace seed).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Also read the subdirectories of the given directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// The workspace.
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Where required stages on other workspaces are read.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// Give up on a release not Ready or blocked after this long (e.g. 90s, 15m); each release
    /// gets the whole time.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Output format: progress lines, or the final statuses as JSON.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Wait until every release is Ready or blocked (up to --timeout). `apply` always waits;
    /// the flag is accepted so CI scripts can say so.
    #[arg(long)]
    pub wait: bool,
    /// No live spinners on a terminal, only the plain lines (as when not on a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Serve the read-only release timeline page of this run at ADDR (e.g. 127.0.0.1:8081); it
    /// stays up after the releases end, until interrupted (Ctrl-C), and then apply exits with
    /// its usual code.
    #[arg(long, value_name = "ADDR")]
    pub ui: Option<std::net::SocketAddr>,
}

/// Arguments of `agentrelease plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Manifest files or directories.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Also read the subdirectories of the given directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// The workspace.
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Where required stages on other workspaces are read.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    agentrelease_api::duration::parse(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 90s, 15m or 1h"))
}

/// A release with the target it will run against.
pub(crate) struct Job {
    pub(crate) release: AgentRelease,
    pub(crate) target: ReleaseTarget,
    pub(crate) identity: Identity,
    /// Set when `--override-host` sends this release away from its target's `spec.host`.
    host_override: Option<HostOverride>,
    /// Its required stages that are not read in its own workspace.
    stages: Places,
}

/// A ReleaseTarget whose `spec.host` was replaced by `--override-host` (in `-o json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct HostOverride {
    /// `ReleaseTarget/<name>`.
    target: String,
    /// The workspace the target names.
    target_host: String,
    /// The workspace the release was sent to instead.
    host: String,
}

/// The workspace the jobs run against.
pub struct Workspace<F: WorkspaceFactory> {
    /// Builds clients.
    pub factory: Arc<F>,
    /// The URL every release is sent to (for the simulator, its local URL).
    pub host: String,
    /// The credentials (for the simulator, its admin token).
    pub credentials: Credentials,
    /// Whether `host` may be `http://`.
    pub allow_insecure_http: bool,
    /// A line describing it.
    pub description: String,
    /// Whether it is the embedded simulator (polls faster).
    pub simulated: bool,
}

impl<F: WorkspaceFactory> Workspace<F> {
    /// The connection for releases of `target`: this workspace, at the target's rate.
    pub(crate) fn connection(&self, target: &agentrelease_api::ReleaseTargetSpec) -> Connection {
        Connection {
            host: self.host.clone(),
            credentials: self.credentials.clone(),
            requests_per_second: target_rate(target),
            allow_insecure_http: self.allow_insecure_http,
            trusted_origins: target.trusted_origins.clone(),
        }
    }
}

/// Environment hooks the binary provides: the client factory and the embedded simulator.
pub trait Environment {
    /// The factory type.
    type Factory: WorkspaceFactory;
    /// The factory for real and simulated workspaces.
    fn factory(&self) -> Arc<Self::Factory>;
    /// Starts the embedded simulator seeded from `seed`; returns its URL and an admin token.
    fn start_simulator(
        &self,
        seed: Option<&std::path::Path>,
        time_scale: f64,
    ) -> impl std::future::Future<Output = anyhow::Result<(String, String)>> + Send;
    /// Whether a document set read from `path` is a workspace seed.
    fn is_seed(&self, path: &std::path::Path) -> bool;
}

/// What preparing a run came to.
pub(crate) enum Prepared<F: WorkspaceFactory> {
    /// The releases to run and the workspace they run against.
    Ready(Vec<Job>, Workspace<F>),
    /// The input was refused; what was wrong is printed (exit 1).
    Refused,
}

/// Loads and validates the manifests and decides the workspace.
pub(crate) async fn prepare<E: Environment>(
    env: &E,
    files: &[PathBuf],
    recursive: bool,
    args: &WorkspaceArgs,
    upstream: &UpstreamArgs,
    output: OutputFormat,
) -> anyhow::Result<Prepared<E::Factory>> {
    let report = validate::validate_paths(files, recursive);
    if !report.is_clean() {
        for p in &report.problems {
            eprintln!("{p}");
        }
        eprintln!("{} problem(s); nothing was applied", report.problems.len());
        return Ok(Prepared::Refused);
    }
    if report.releases.is_empty() {
        eprintln!("no AgentRelease found in the given paths");
        return Ok(Prepared::Refused);
    }

    let mut jobs = Vec::new();
    // Each target once, in the order the releases name them.
    let mut targets: Vec<(&Document, &ReleaseTarget)> = Vec::new();
    for (doc, release) in &report.releases {
        let Some((target_doc, target)) = validate::find_target(release, &report.targets) else {
            eprintln!(
                "{}:{}: AgentRelease/{}: spec.targetRef: ReleaseTarget {} is not among the given files",
                doc.file.display(),
                doc.line_of("spec.targetRef"),
                release.metadata.name.as_deref().unwrap_or(""),
                release.spec.target_ref.name
            );
            return Ok(Prepared::Refused);
        };
        if !targets.iter().any(|(_, t)| same_object(t, target)) {
            targets.push((target_doc, target));
        }
        jobs.push(Job {
            identity: cli_identity(release),
            release: release.clone(),
            target: target.clone(),
            host_override: None,
            stages: Places::default(),
        });
    }

    let allowed = agentrelease_api::allowed_hosts::AllowedHosts::new(
        args.allowed_workspace_hosts.iter().cloned(),
    );
    let outside = super::allowed_hosts::refusals(
        &allowed,
        &super::allowed_hosts::Destinations {
            targets: &report.targets,
            host: args.host.as_deref(),
            upstream_hosts: &upstream.upstream_hosts,
            allow_insecure_http: args.allow_insecure_http,
        },
    );
    if !outside.is_empty() {
        for line in &outside {
            eprintln!("{line}");
        }
        eprintln!("nothing was sent: the hosts above are outside --allowed-workspace-hosts");
        return Ok(Prepared::Refused);
    }

    let workspace = match &args.host {
        Some(host) => {
            let origin = workspace_origin(host).context("--host")?;
            // Every target is checked before anything is sent anywhere.
            let mut refused = Vec::new();
            let mut overrides = Vec::new();
            for (doc, target) in &targets {
                if let Some(o) = host_override(target, host, &origin) {
                    if args.override_host {
                        overrides.push(o);
                        continue;
                    }
                    refused.push(format!(
                        "{}:{}: {}: spec.host is {} but --host is {host}; refusing to send this \
                         target's releases elsewhere (pass --override-host to do it anyway)",
                        doc.file.display(),
                        doc.line_of("spec.host"),
                        target_label(target),
                        target.spec.host
                    ));
                }
            }
            if !refused.is_empty() {
                for line in &refused {
                    eprintln!("{line}");
                }
                eprintln!("nothing was sent to {host}");
                return Ok(Prepared::Refused);
            }
            for o in &overrides {
                eprintln!(
                    "WARNING: {}: spec.host {} is overridden by --host {}",
                    o.target, o.target_host, o.host
                );
            }
            for job in &mut jobs {
                job.host_override = host_override(&job.target, host, &origin);
            }
            let credentials = credentials_from_env(args)?;
            let upstream_origins = upstream_hosts::origins(upstream)?;
            let upstream_credentials = if upstream_origins.is_empty() {
                credentials.clone()
            } else {
                upstream_hosts::credentials(upstream, &credentials)?
            };
            let driven: Vec<ReleaseTarget> = targets.iter().map(|(_, t)| (*t).clone()).collect();
            let all: Vec<ReleaseTarget> = report.targets.iter().map(|(_, t)| t.clone()).collect();
            let reach = upstream_hosts::Reach {
                host: Some(&origin),
                upstream_hosts: &upstream_origins,
                credentials: &upstream_credentials,
                allow_insecure_http: args.allow_insecure_http,
                driven: &driven,
                targets: &all,
            };
            for job in &mut jobs {
                job.stages = upstream_hosts::places(&job.release, &job.identity, &reach);
            }
            Workspace {
                factory: env.factory(),
                host: origin,
                credentials,
                allow_insecure_http: args.allow_insecure_http,
                description: format!("workspace {host}"),
                simulated: false,
            }
        }
        None => {
            let seed = match &args.seed {
                Some(seed) => Some(seed.clone()),
                None => {
                    let mut seeds: Vec<PathBuf> = report
                        .other_documents
                        .iter()
                        .map(|d| d.file.clone())
                        .filter(|f| env.is_seed(f))
                        .collect();
                    seeds.sort();
                    seeds.dedup();
                    if seeds.len() > 1 {
                        anyhow::bail!(
                            "more than one workspace seed among the paths ({}); pick one with --seed",
                            seeds
                                .iter()
                                .map(|s| s.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    seeds.pop()
                }
            };
            let (url, token) = env
                .start_simulator(seed.as_deref(), args.sim_time_scale)
                .await
                .context("starting the embedded workspace simulator")?;
            let description = match &seed {
                Some(s) => format!(
                    "embedded workspace simulator at {url}, seeded from {}",
                    s.display()
                ),
                None => format!("embedded workspace simulator at {url} (empty)"),
            };
            // The simulator's URL is picked when it starts, so no target names it: say which
            // workspace each target would have reached, and how to reach it.
            for (_, target) in &targets {
                let insecure = if target.spec.host.trim().starts_with("http://") {
                    " and --allow-insecure-http"
                } else {
                    ""
                };
                eprintln!(
                    "{} names {}; using the embedded workspace simulator (no --host given). Pass \
                     --host {}{insecure} with credentials in {} to release to it.",
                    target_label(target),
                    target.spec.host,
                    target.spec.host,
                    args.token_env
                );
            }
            if seed.is_none() {
                eprintln!(
                    "the simulated workspace is empty (no --seed given and no workspace seed among \
                     the paths), so the gates will report missing artifacts (evaluation summary, \
                     signoff, model version)"
                );
            }
            Workspace {
                factory: env.factory(),
                host: url,
                credentials: Credentials::Token(SecretString::new(token)),
                allow_insecure_http: true,
                description,
                simulated: true,
            }
        }
    };
    if output == OutputFormat::Text {
        println!("using the {}", workspace.description);
    }
    Ok(Prepared::Ready(jobs, workspace))
}

/// `ReleaseTarget/<name>`, as `validate` names objects.
fn target_label(target: &ReleaseTarget) -> String {
    format!(
        "ReleaseTarget/{}",
        target.metadata.name.as_deref().unwrap_or("(unnamed)")
    )
}

fn same_object(a: &ReleaseTarget, b: &ReleaseTarget) -> bool {
    a.metadata.name == b.metadata.name && a.metadata.namespace == b.metadata.namespace
}

/// What sending `target`'s releases to `host` (whose [`workspace_origin`] is `origin`) overrides,
/// when its `spec.host` names another workspace.
fn host_override(target: &ReleaseTarget, host: &str, origin: &str) -> Option<HostOverride> {
    (!same_workspace(&target.spec.host, origin)).then(|| HostOverride {
        target: target_label(target),
        target_host: target.spec.host.clone(),
        host: host.to_string(),
    })
}

/// Whether a target's `spec.host` names the workspace of `origin` (a [`workspace_origin`]).
pub(crate) fn same_workspace(target_host: &str, origin: &str) -> bool {
    match workspace_origin(target_host) {
        Ok(target_origin) => target_origin == origin,
        // Validation refuses such a host; compare the text rather than guess.
        Err(_) => target_host
            .trim()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(origin),
    }
}

fn credentials_from_env(args: &WorkspaceArgs) -> anyhow::Result<Credentials> {
    let read = |var: &str| -> anyhow::Result<String> {
        let value =
            std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
        let value = value.trim().to_string();
        anyhow::ensure!(!value.is_empty(), "environment variable {var} is empty");
        Ok(value)
    };
    let federated = args.oidc_token_file.clone().or_else(|| {
        (args.client_secret_env.is_none() && std::env::var_os(&args.token_env).is_none())
            .then(|| {
                [
                    "DATABRICKS_OIDC_TOKEN_FILEPATH",
                    "DATABRICKS_OIDC_TOKEN_FILE",
                ]
                .iter()
                .find_map(|v| std::env::var_os(v).filter(|p| !p.is_empty()))
                .map(PathBuf::from)
            })
            .flatten()
    });
    if let Some(token_file) = federated {
        let client_id = match &args.client_id_env {
            Some(var) => Some(read(var)?),
            None => std::env::var("DATABRICKS_CLIENT_ID")
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        };
        // The CLI's user is the process owner: the file they name is theirs to send.
        return Ok(Credentials::WorkloadIdentity {
            client_id,
            subject: agentrelease_databricks::SubjectToken::file(token_file),
        });
    }
    match (&args.client_id_env, &args.client_secret_env) {
        (Some(id), Some(secret)) => Ok(Credentials::OAuthM2M {
            client_id: read(id)?,
            client_secret: SecretString::new(read(secret)?),
        }),
        (Some(_), None) => anyhow::bail!(
            "--client-id-env needs --client-secret-env (OAuth M2M) or --oidc-token-file (workload identity federation)"
        ),
        _ => Ok(Credentials::Token(SecretString::new(read(
            &args.token_env,
        )?))),
    }
}

/// A stable identity for a manifest outside a cluster: repeated runs of the same spec recognise
/// their own plan and audit run; a changed spec is a new generation.
fn cli_identity(release: &AgentRelease) -> Identity {
    let namespace = release
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let name = release.metadata.name.clone().unwrap_or_default();
    let spec = serde_json::to_string(&release.spec).unwrap_or_default();
    let digest = crate::engine::fingerprint::digest(&[&spec]);
    let generation = digest
        .get(..12)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .unwrap_or(1)
        .max(1);
    Identity {
        uid: format!("manifest:{namespace}/{name}"),
        generation,
        namespace,
        name,
    }
}

/// The target as the engine sees it: pointed at the workspace actually used.
pub(crate) fn target_for(
    job: &Job,
    workspace: &Workspace<impl WorkspaceFactory>,
) -> agentrelease_api::ReleaseTargetSpec {
    let mut spec = job.target.spec.clone();
    spec.host = workspace.host.clone();
    spec.allow_insecure_http = workspace.allow_insecure_http;
    spec
}

/// A client for each job (one per distinct connection, cached by the factory), made before any
/// release runs so that a bad connection fails first.
fn connect_all<F: WorkspaceFactory>(
    jobs: Vec<Job>,
    workspace: &Workspace<F>,
) -> anyhow::Result<Vec<Connected<F::Ws>>> {
    jobs.into_iter()
        .map(|job| {
            let ws = workspace
                .factory
                .connect(&workspace.connection(&job.target.spec))?;
            let upstreams = job.stages.connect(&*workspace.factory)?;
            Ok((job, ws, upstreams))
        })
        .collect()
}

/// A job with its client and the clients of its required stages on other workspaces.
type Connected<W> = (Job, Arc<W>, Upstreams<W>);

/// Final state of one release, for `-o json`.
#[derive(Debug, Serialize)]
struct Final {
    namespace: String,
    name: String,
    ready: bool,
    blocked: bool,
    phase: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    /// Set when `--override-host` sent the release away from its target's workspace.
    host_override: Option<HostOverride>,
    status: agentrelease_api::AgentReleaseStatus,
}

/// Runs `agentrelease apply`; returns the exit code.
pub async fn apply<E: Environment>(env: &E, args: &ApplyArgs) -> anyhow::Result<i32> {
    let (jobs, workspace) = match prepare(
        env,
        &args.files,
        args.recursive,
        &args.workspace,
        &args.upstream,
        args.output,
    )
    .await?
    {
        Prepared::Ready(jobs, workspace) => (jobs, workspace),
        Prepared::Refused => return Ok(1),
    };
    let jobs = connect_all(jobs, &workspace)?;
    let text = args.output == OutputFormat::Text;
    let mut progress =
        super::progress::Progress::new(text, super::progress::live_wanted(args.no_progress));
    // What the timeline page shows: each release as its last pass left it.
    let shared = Arc::new(std::sync::RwLock::new(
        jobs.iter()
            .map(|(job, _, _)| page_copy(job))
            .collect::<Vec<_>>(),
    ));
    let (ui_stop, ui_task) = match args.ui {
        Some(addr) => {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let (bound, serve) = crate::ui::server::bind(
                addr,
                crate::ui::server::Source::Run(shared.clone()),
                async move {
                    let _ = rx.await;
                },
            )
            .await
            .with_context(|| format!("--ui {addr}"))?;
            eprintln!("the release timeline page is at http://{bound}/");
            (Some(tx), Some(tokio::spawn(serve)))
        }
        None => (None, None),
    };
    let mut finals = Vec::new();
    let mut summaries = Vec::new();
    let mut exit = 0;
    // Releases progress side by side: none waits while another could move. Each connection
    // keeps its target's rate limit, so a busy workspace slows only its own releases.
    let several = jobs.len() > 1;
    // A release that requires another stage waits for that stage's release in the same run.
    let stages = std::sync::RwLock::new(
        jobs.iter()
            .map(|(job, _, _)| stage_key(&job.release, &job.release.spec.target_ref.name))
            .collect::<std::collections::BTreeSet<_>>(),
    );
    let stages = &stages;
    let drives = jobs
        .into_iter()
        .enumerate()
        .map(|(index, (job, ws, upstreams))| {
            let target = target_for(&job, &workspace);
            drive(
                job,
                (ws, upstreams),
                target,
                Drive {
                    timeout: args.timeout,
                    simulated: workspace.simulated,
                    several,
                },
                &progress,
                Page {
                    shared: &shared,
                    index,
                },
                stages,
            )
        });
    let driven = futures::future::join_all(drives).await;
    progress.end();
    for (job, outcome, took) in driven {
        let label = if several {
            format!("{}: ", job.identity.key())
        } else {
            String::new()
        };
        let ready_cond =
            agentrelease_api::condition::find(&outcome.status.conditions, types::READY).cloned();
        let ready = outcome.is_ready();
        let blocked = outcome.needs_human();
        if text {
            match (&ready_cond, ready, blocked) {
                (_, true, _) => println!(
                    "  {label}Ready: {}",
                    ready_cond
                        .as_ref()
                        .map(|c| c.message.clone())
                        .unwrap_or_default()
                ),
                (Some(c), false, true) => {
                    println!("  {label}Blocked ({}): {}", c.reason, c.message)
                }
                (Some(c), _, _) => println!(
                    "  {label}Not ready after {:?} ({}): {}",
                    args.timeout, c.reason, c.message
                ),
                (None, _, _) => println!("  {label}Not ready"),
            }
        }
        exit = match (ready, blocked) {
            (true, _) => exit,
            (false, true) => exit.max(2),
            (false, false) => 1.max(if exit == 2 { 2 } else { 1 }),
        };
        summaries.push(super::progress::Summary {
            release: job.identity.key(),
            phase: outcome
                .status
                .phase
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "-".into()),
            reason: ready_cond
                .as_ref()
                .map(|c| c.reason.clone())
                .unwrap_or_else(|| "-".into()),
            took,
        });
        finals.push(Final {
            namespace: job.identity.namespace.clone(),
            name: job.identity.name.clone(),
            ready,
            blocked,
            phase: outcome.status.phase.map(|p| p.as_str().to_string()),
            reason: ready_cond.as_ref().map(|c| c.reason.clone()),
            message: ready_cond.as_ref().map(|c| c.message.clone()),
            host_override: job.host_override.clone(),
            status: outcome.status.clone(),
        });
    }
    if text {
        println!(
            "\n{}",
            super::progress::summary_table(&summaries).trim_end()
        );
    }
    if args.output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"workspace": workspace.description, "releases": finals})
            )?
        );
    }
    if let (Some(stop), Some(task)) = (ui_stop, ui_task) {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        eprintln!("the releases have ended; the timeline page stays up until interrupted (Ctrl-C)");
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(exit)
}

/// How `apply` drives one release.
#[derive(Debug, Clone, Copy)]
struct Drive {
    timeout: Duration,
    simulated: bool,
    several: bool,
}

/// Where a release's passes are published for the timeline page.
struct Page<'a> {
    shared: &'a std::sync::RwLock<Vec<AgentRelease>>,
    index: usize,
}

/// The release as the timeline page shows it (namespace filled in, as `apply` names it).
fn page_copy(job: &Job) -> AgentRelease {
    let mut r = job.release.clone();
    r.metadata.namespace = Some(job.identity.namespace.clone());
    r
}

/// Passes over one release until it is Ready, blocked, or its deadline passes; returns how long
/// it took.
async fn drive<W: engine::Workspace>(
    job: Job,
    ws: (Arc<W>, Upstreams<W>),
    target: agentrelease_api::ReleaseTargetSpec,
    how: Drive,
    progress: &super::progress::Progress,
    page: Page<'_>,
    stages: &std::sync::RwLock<std::collections::BTreeSet<String>>,
) -> (Job, Outcome, Duration) {
    let (job, outcome, took) = drive_one(job, ws, target, how, progress, page, stages).await;
    if let Ok(mut running) = stages.write() {
        running.remove(&stage_key(&job.release, &job.release.spec.target_ref.name));
    }
    (job, outcome, took)
}

/// The key of a release as a stage of its agent: namespace, target, agent, N, model version.
fn stage_key(release: &AgentRelease, target: &str) -> String {
    format!(
        "{}/{target}/{}/{}/{}",
        release.metadata.namespace.as_deref().unwrap_or("default"),
        release.spec.model.name,
        release.spec.version,
        release.spec.model.version
    )
}

/// The required stages of `release` whose release is still being driven in this run.
fn pending_stages(
    release: &AgentRelease,
    stages: &std::sync::RwLock<std::collections::BTreeSet<String>>,
) -> std::collections::BTreeSet<String> {
    let running = match stages.read() {
        Ok(r) => r.clone(),
        Err(_) => return Default::default(),
    };
    release
        .spec
        .requirements()
        .iter()
        .filter(|r| running.contains(&stage_key(release, &r.target_ref)))
        .map(|r| r.target_ref.clone())
        .collect()
}

async fn drive_one<W: engine::Workspace>(
    mut job: Job,
    (ws, upstreams): (Arc<W>, Upstreams<W>),
    target: agentrelease_api::ReleaseTargetSpec,
    how: Drive,
    progress: &super::progress::Progress,
    page: Page<'_>,
    stages: &std::sync::RwLock<std::collections::BTreeSet<String>>,
) -> (Job, Outcome, Duration) {
    let key = job.identity.key();
    let prefix = if how.several {
        format!("[{key}] ")
    } else {
        String::new()
    };
    progress.println(&format!(
        "\n{prefix}{key} (N={}, {} version {} @{}, target {})",
        job.release.spec.version,
        job.release.spec.model.name,
        job.release.spec.model.version,
        job.release.spec.model.alias,
        job.release.spec.target_ref.name
    ));
    let mut shown = progress.release(&key, prefix);
    let started = Instant::now();
    // Each release gets the whole --timeout, and its own backoff.
    let deadline = started + how.timeout;
    let mut pacing = super::pacing::Pacing::new(how.simulated);
    loop {
        let upstream = engine::upstream::UpstreamSource::Workspace {
            pending: pending_stages(&job.release, stages),
            elsewhere: upstreams.read(&job.release, &job.identity).await,
        };
        // The pass reports its steps as it goes (it may wait inside itself a while).
        let live = std::sync::Mutex::new(&mut shown);
        let observe = |step: &engine::StepReport| {
            if let Ok(mut shown) = live.lock() {
                shown.steps(std::slice::from_ref(step));
            }
        };
        let outcome = engine::reconcile_with(
            &job.release,
            &target,
            job.identity.clone(),
            &*ws,
            &SystemClock,
            Mode::Apply,
            &engine::Inputs {
                waiting: Some(engine::Waiting {
                    wait: super::pacing::inline_wait(how.simulated),
                    observe: &observe,
                }),
                upstream,
                declared_target: Some(&job.target.spec),
                ..Default::default()
            },
        )
        .await;
        for e in &outcome.events {
            if e.reason == "DriftCorrected" || e.reason == "DriftDetected" {
                shown.line(&format!("! {}: {}", e.reason, e.message));
            }
        }
        job.release.status = Some(outcome.status.clone());
        if let Ok(mut all) = page.shared.write()
            && let Some(slot) = all.get_mut(page.index)
        {
            *slot = page_copy(&job);
        }
        let phase = outcome
            .status
            .phase
            .map(|p| p.as_str())
            .unwrap_or("Pending");
        if outcome.is_ready() || outcome.needs_human() {
            shown.finish(&format!(
                "{} {phase}",
                if outcome.is_ready() { "✓" } else { "✗" }
            ));
            return (job, outcome, started.elapsed());
        }
        let wait = pacing.next(super::pacing::Progress::of(&outcome), outcome.requeue);
        if Instant::now() + wait > deadline {
            shown.finish(&format!("… {phase}, not ready after {:?}", how.timeout));
            return (job, outcome, started.elapsed());
        }
        tokio::time::sleep(wait).await;
    }
}

/// One release's plan, for `-o json`.
#[derive(Debug, Serialize)]
struct PlanOutput {
    namespace: String,
    name: String,
    blocked: Option<String>,
    /// Set when the release waits for an upstream stage (`spec.promotion.requires`) that this
    /// set of files releases first: `apply` would release that stage, then make `changes`.
    waiting: Option<String>,
    /// Set when `spec.policy.approval: Required` and no approval covers the release yet: the
    /// hold's message; the changes with `after_approval` would follow the approval.
    awaiting_approval: Option<String>,
    /// Set when `--override-host` planned against another workspace than the target's.
    host_override: Option<HostOverride>,
    changes: Vec<engine::PlannedChange>,
}

/// Runs `agentrelease plan`; returns the exit code (0 planned, 2 a gate blocks, 1 errors).
pub async fn plan<E: Environment>(env: &E, args: &PlanArgs) -> anyhow::Result<i32> {
    let (jobs, workspace) = match prepare(
        env,
        &args.files,
        args.recursive,
        &args.workspace,
        &args.upstream,
        args.output,
    )
    .await?
    {
        Prepared::Ready(jobs, workspace) => (jobs, workspace),
        Prepared::Refused => return Ok(1),
    };
    let jobs = connect_all(jobs, &workspace)?;
    let mut exit = 0;
    let mut outputs = Vec::new();
    // `apply` would release a required stage of the same set first.
    let stages = std::sync::RwLock::new(
        jobs.iter()
            .map(|(job, _, _)| stage_key(&job.release, &job.release.spec.target_ref.name))
            .collect::<std::collections::BTreeSet<_>>(),
    );
    for (job, ws, upstreams) in jobs {
        let target = target_for(&job, &workspace);
        let elsewhere = upstreams.read(&job.release, &job.identity).await;
        let outcome = engine::reconcile_with(
            &job.release,
            &target,
            job.identity.clone(),
            &*ws,
            &SystemClock,
            Mode::Plan,
            &engine::Inputs {
                upstream: engine::upstream::UpstreamSource::Workspace {
                    pending: pending_stages(&job.release, &stages),
                    elsewhere,
                },
                declared_target: Some(&job.target.spec),
                ..Default::default()
            },
        )
        .await;
        let waiting =
            agentrelease_api::condition::find(&outcome.status.conditions, types::UPSTREAM_VERIFIED)
                // `plan` goes on past a wait, so the condition says "would wait" with the reason.
                .filter(|c| {
                    !outcome.needs_human()
                        && [
                            agentrelease_api::conditions::reasons::UPSTREAM_NOT_RELEASED,
                            agentrelease_api::conditions::reasons::UPSTREAM_SOAKING,
                        ]
                        .contains(&c.reason.as_str())
                })
                .map(|c| format!("{}: {}", c.reason, c.message));
        // `plan` goes on past an approval hold; the changes after it are marked.
        let awaiting_approval =
            agentrelease_api::condition::find(&outcome.status.conditions, types::APPROVED)
                .filter(|c| {
                    c.reason == agentrelease_api::conditions::reasons::AWAITING_APPROVAL
                        && outcome.status.phase
                            == Some(agentrelease_api::conditions::Phase::AwaitingApproval)
                })
                .map(|c| c.message.clone());
        let blocked = if awaiting_approval.is_some() {
            None
        } else if outcome.needs_human() || outcome.requeue == Requeue::Backoff {
            agentrelease_api::condition::find(&outcome.status.conditions, types::READY)
                .filter(|c| c.status == ConditionStatus::False)
                .map(|c| format!("{}: {}", c.reason, c.message))
        } else {
            None
        };
        if blocked.is_some() {
            exit = 2;
        }
        if args.output == OutputFormat::Text {
            println!(
                "\n{} (N={}, {} version {} @{})",
                job.identity.key(),
                job.release.spec.version,
                job.release.spec.model.name,
                job.release.spec.model.version,
                job.release.spec.model.alias
            );
            if let Some(w) = &waiting {
                println!("  waits for its upstream stage first (apply releases it before): {w}");
            }
            if let Some(a) = &awaiting_approval {
                println!(
                    "  waits for approval (apply writes nothing before it); the changes marked \
                     (after approval) follow it: {a}"
                );
            }
            if let Some(b) = &blocked {
                println!("  blocked, nothing would change: {b}");
            } else if outcome.changes.is_empty() {
                println!("  no changes: the workspace matches the release");
            } else {
                for c in &outcome.changes {
                    let mark = if c.after_approval {
                        " (after approval)"
                    } else {
                        ""
                    };
                    println!("  {:<12} {}{mark}", c.step, c.summary);
                    for d in &c.details {
                        println!("  {:<12}   {d}", "");
                    }
                }
                println!("  {} change(s)", outcome.changes.len());
            }
        }
        outputs.push(PlanOutput {
            namespace: job.identity.namespace.clone(),
            name: job.identity.name.clone(),
            blocked,
            waiting,
            awaiting_approval,
            host_override: job.host_override.clone(),
            changes: outcome.changes,
        });
    }
    if args.output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"workspace": workspace.description, "releases": outputs})
            )?
        );
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::databricks_adapter::ClientFactory;

    fn sample_target() -> ReleaseTarget {
        let text = include_str!("../../../config/samples/releasetarget.yaml");
        serde_saphyr::from_str(text).expect("the sample target")
    }

    #[test]
    fn each_target_is_reached_at_its_own_rate() {
        let workspace = Workspace {
            factory: Arc::new(ClientFactory::default()),
            host: "https://adb-1.7.azuredatabricks.net".into(),
            credentials: Credentials::Token(SecretString::new("t")),
            allow_insecure_http: false,
            description: String::new(),
            simulated: false,
        };
        let mut target = sample_target();
        assert_eq!(workspace.connection(&target.spec).requests_per_second, 15);
        target.spec.requests_per_second = 4;
        let connection = workspace.connection(&target.spec);
        assert_eq!(connection.requests_per_second, 4);
        assert_eq!(connection.host, workspace.host);
    }

    #[test]
    fn a_target_matches_host_however_either_is_written() {
        let origin = workspace_origin("https://ADB-1234567890123456.7.azuredatabricks.net/")
            .expect("a bare URL");
        assert!(same_workspace(&sample_target().spec.host, &origin));
        assert!(!same_workspace(
            "http://adb-1234567890123456.7.azuredatabricks.net",
            &origin
        ));
    }
}
