//! `kubectl agentrelease`: the kubectl plugin. The `agentrelease` binary runs it when invoked as
//! `kubectl-agentrelease` (copy or link it onto PATH under that name; `plugins/agentrelease.yaml`
//! is its krew manifest).
//!
//! Rendering is pure (a release in, text out: [`tree`], [`why`], [`history`]); [`cluster`] does
//! the I/O.

pub mod approval;
pub mod cluster;
pub mod history;
pub mod list;
pub mod style;
pub mod task_line;
pub mod tree;
pub mod why;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use agentrelease_api::conditions::types;
use clap::{Parser, Subcommand, ValueEnum};

use cluster::{Cluster, ClusterError, Connect};
use style::Style;

/// The name the binary answers to as a plugin.
pub const BINARY_NAME: &str = "kubectl-agentrelease";

/// Whether the process was started as the plugin (its file name is `kubectl-agentrelease`).
pub fn invoked_as_plugin(argv0: &std::ffi::OsStr) -> bool {
    std::path::Path::new(argv0)
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == BINARY_NAME)
}

/// Look at and steer AgentReleases.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl agentrelease",
    bin_name = "kubectl agentrelease",
    version
)]
pub struct PluginCli {
    /// The namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Every namespace (`get` without a name, `history --target`).
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// The kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The object as JSON.
    Json,
    /// The object as YAML.
    Yaml,
}

/// The plugin's subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// A release as a tree (gates, signoff, plan, alias, deployment, verification, audit); a
    /// table of releases without NAME.
    Get {
        /// The AgentRelease.
        name: Option<String>,
        /// Redraw until the release is Ready or blocked (exit 0 Ready, 2 blocked).
        #[arg(short = 'w', long)]
        watch: bool,
        /// Print the object instead.
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<Output>,
    },
    /// What holds a release back, what it means and what to do.
    Why {
        /// The AgentRelease.
        name: String,
    },
    /// Past releases of the agent on its target (or of every agent on a target).
    History {
        /// An AgentRelease: its agent (registered model) on its target.
        #[arg(required_unless_present = "target", conflicts_with = "target")]
        name: Option<String>,
        /// A ReleaseTarget: every release on it.
        #[arg(long, value_name = "TARGET")]
        target: Option<String>,
        /// Print the rows instead.
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<Output>,
    },
    /// Approve a release's N and model version as yourself (an AgentReleaseApproval).
    Approve {
        /// The AgentRelease.
        name: String,
        /// A note kept with the approval.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Stop the release: nothing is written to the workspace until it is resumed.
    Suspend {
        /// The AgentRelease.
        name: String,
        /// Why (shown in the `Suspended` condition).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume a suspended release.
    Resume {
        /// The AgentRelease.
        name: String,
        /// Why (kept in the `agentops.dev/resume-reason` annotation).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ask the controller to reconcile now, and wait until it has.
    Reconcile {
        /// The AgentRelease.
        name: String,
        /// How long to wait for the controller (0 to not wait).
        #[arg(long, default_value = "2m", value_parser = parse_duration)]
        timeout: Duration,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    agentrelease_api::duration::parse(text)
        .or_else(|| (text == "0").then_some(Duration::ZERO))
        .ok_or_else(|| format!("{text:?} is not a duration such as 90s, 15m or 1h"))
}

/// Runs the plugin with the process's arguments; returns the exit code.
pub async fn main() -> i32 {
    let cli = PluginCli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Runs a parsed command line; returns the exit code (0 done, 2 `get --watch` ended blocked).
pub async fn run(cli: PluginCli) -> Result<i32, PluginError> {
    let cluster = Cluster::connect(&Connect {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        namespace: cli.namespace.clone(),
    })
    .await?;
    let style = Style::for_stdout();
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        PluginCommand::Get {
            name: None, output, ..
        } => {
            let releases = cluster.list(cli.all_namespaces).await?;
            match output {
                Some(o) => list::print_object(&mut stdout, &list::list_object(&releases), o)?,
                None => write!(
                    stdout,
                    "{}",
                    list::list_table(&releases, cli.all_namespaces, jiff::Timestamp::now())
                )?,
            }
            Ok(0)
        }
        PluginCommand::Get {
            name: Some(name),
            watch,
            output,
        } => {
            if let Some(o) = output {
                let release = cluster.get(&name).await?;
                list::print_object(&mut stdout, &release, o)?;
                return Ok(0);
            }
            if !watch {
                let release = cluster.get(&name).await?;
                write!(
                    stdout,
                    "{}",
                    tree::render(&release, jiff::Timestamp::now(), style)
                )?;
                return Ok(0);
            }
            watch_tree(&cluster, &name, style, &mut stdout).await
        }
        PluginCommand::Why { name } => {
            let release = cluster.get(&name).await?;
            write!(stdout, "{}", why::render(&release, style))?;
            Ok(0)
        }
        PluginCommand::History {
            name,
            target,
            output,
        } => {
            let all = cluster.list(cli.all_namespaces && target.is_some()).await?;
            let scope = match (name, target) {
                (Some(n), _) => history::Scope::SameAgentAs(n),
                (None, Some(t)) => history::Scope::Target(t),
                (None, None) => return Err(PluginError::Usage("give NAME or --target")),
            };
            let selected = history::select(&all, &scope).ok_or_else(|| match &scope {
                history::Scope::SameAgentAs(n) => PluginError::Cluster(ClusterError::NotFound {
                    namespace: cluster.namespace.clone(),
                    name: n.clone(),
                }),
                history::Scope::Target(_) => PluginError::Usage("no such target"),
            })?;
            let rows = history::rows(&selected);
            match output {
                Some(o) => list::print_object(&mut stdout, &rows, o)?,
                None => write!(stdout, "{}", history::render(&rows))?,
            }
            Ok(0)
        }
        PluginCommand::Approve { name, comment } => {
            let release = cluster.get(&name).await?;
            let user = cluster.whoami().await?;
            let approval = approval::Approval::of(&release, &user, comment)?;
            let (object, created) = cluster.approve(&approval).await?;
            let by = object.data["spec"]["approvedBy"].as_str().unwrap_or("?");
            if created {
                writeln!(
                    stdout,
                    "agentreleaseapproval/{} created: {name} N={} model version {} identity {} approved by {user}",
                    approval.name(),
                    approval.version,
                    approval.model_version,
                    approval.identity
                )?;
            } else {
                writeln!(
                    stdout,
                    "agentreleaseapproval/{} already exists (approved by {by}); nothing changed",
                    approval.name()
                )?;
            }
            Ok(0)
        }
        PluginCommand::Suspend { name, reason } => {
            cluster.suspend(&name, reason.as_deref()).await?;
            writeln!(stdout, "agentrelease/{name} suspended")?;
            Ok(0)
        }
        PluginCommand::Resume { name, reason } => {
            cluster.resume(&name, reason.as_deref()).await?;
            writeln!(stdout, "agentrelease/{name} resumed")?;
            Ok(0)
        }
        PluginCommand::Reconcile { name, timeout } => {
            let value = cluster
                .request_reconcile(&name, jiff::Timestamp::now())
                .await?;
            writeln!(stdout, "agentrelease/{name} reconcile requested at {value}")?;
            if timeout.is_zero() {
                return Ok(0);
            }
            stdout.flush()?;
            let deadline = std::time::Instant::now() + timeout;
            loop {
                let release = cluster.get(&name).await?;
                let handled = release
                    .status
                    .as_ref()
                    .and_then(|s| s.last_handled_reconcile_at.as_deref())
                    == Some(value.as_str());
                if handled {
                    let ready = release.status.as_ref().and_then(|s| {
                        agentrelease_api::condition::find(&s.conditions, types::READY)
                    });
                    writeln!(
                        stdout,
                        "agentrelease/{name} reconciled: {}",
                        ready
                            .map(|c| format!("Ready={} ({})", c.status.as_str(), c.reason))
                            .unwrap_or_else(|| "no Ready condition yet".into())
                    )?;
                    return Ok(0);
                }
                if std::time::Instant::now() > deadline {
                    writeln!(
                        stdout,
                        "the controller has not handled the request after {}; is it running?",
                        style::human_duration(timeout.as_secs() as i64)
                    )?;
                    return Ok(1);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// What the plugin reports.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(&'static str),
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    /// The object could not be encoded.
    #[error("encoding the output: {0}")]
    Encode(String),
    /// The release cannot be approved as it stands.
    #[error(transparent)]
    NotApprovable(#[from] approval::NotApprovable),
}

impl From<kube::Error> for PluginError {
    fn from(e: kube::Error) -> Self {
        PluginError::Cluster(ClusterError::Api(e))
    }
}

/// `get NAME --watch`: redraws on a terminal, prints each change otherwise; ends when the
/// release is Ready (0) or blocked (2).
async fn watch_tree(
    cluster: &Cluster,
    name: &str,
    style: Style,
    out: &mut impl Write,
) -> Result<i32, PluginError> {
    let terminal = std::io::stdout().is_terminal();
    let mut last_status = None;
    loop {
        let release = cluster.get(name).await?;
        let text = tree::render(&release, jiff::Timestamp::now(), style);
        if terminal {
            write!(out, "\x1b[H\x1b[2J{text}")?;
        } else if last_status.as_ref() != Some(&release.status) {
            writeln!(out, "{text}")?;
        }
        out.flush()?;
        last_status = Some(release.status.clone());
        if tree::settled(&release) {
            let ready = release.status.as_ref().is_some_and(|s| {
                agentrelease_api::condition::find(&s.conditions, types::READY)
                    .is_some_and(|c| c.is_true())
            });
            return Ok(if ready { 0 } else { 2 });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
