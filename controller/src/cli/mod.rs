//! The `agentrelease` command line.

pub mod allowed_hosts;
pub mod app_yaml_check;
pub mod apply;
pub mod crd;
pub mod environment;
pub mod import;
pub mod next;
pub mod pacing;
pub mod progress;
pub mod upstream_hosts;
pub mod validate;

use clap::{Parser, Subcommand};

/// AgentRelease Operator: gated, audited releases of GenAI agents on Databricks.
#[derive(Debug, Parser)]
#[command(name = "agentrelease", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check AgentRelease and ReleaseTarget manifests as strictly as the API server would.
    Validate(validate::ValidateArgs),
    /// Print the CustomResourceDefinitions generated from the API types.
    Crd(crd::CrdArgs),
    /// Run releases once, to Ready or blocked, against a workspace (the embedded simulator by default).
    Apply(apply::ApplyArgs),
    /// Show what `apply` would change, without writing anything.
    Plan(apply::PlanArgs),
    /// Print the manifest of the next release (N+1, the newest READY model version) to stdout;
    /// exit code 3 when there is no newer READY version.
    Next(next::NextArgs),
    /// Run the Kubernetes controller.
    Controller(crate::kube::run::ControllerArgs),
    /// Write ReleaseTargets and AgentRelease skeletons from a Databricks Asset Bundle.
    Import(import::ImportArgs),
    /// Serve a simulated Databricks workspace (no credentials, no network needed).
    Sim(agentrelease_sim::cli::SimArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate(args) => Ok(validate::run(&args)),
        Command::Crd(args) => crd::run(&args),
        Command::Import(args) => Ok(import::run(&args)),
        Command::Apply(args) => {
            crate::telemetry::logging::init(crate::telemetry::logging::LogFormat::Text, "warn");
            apply::apply(&environment::Binary::default(), &args).await
        }
        Command::Plan(args) => {
            crate::telemetry::logging::init(crate::telemetry::logging::LogFormat::Text, "warn");
            apply::plan(&environment::Binary::default(), &args).await
        }
        Command::Next(args) => {
            crate::telemetry::logging::init(crate::telemetry::logging::LogFormat::Text, "warn");
            next::run(&environment::Binary::default(), &args).await
        }
        Command::Controller(args) => {
            crate::telemetry::logging::init(crate::telemetry::logging::LogFormat::Json, "info");
            let metrics = std::sync::Arc::new(crate::telemetry::metrics::Metrics::new());
            let factory = std::sync::Arc::new(
                crate::databricks_adapter::ClientFactory::with_metrics(metrics.clone())
                    .allow_resolved_addresses(args.allow_resolved_addresses.clone()),
            );
            crate::kube::run::run(args, factory, metrics).await?;
            Ok(0)
        }
        Command::Sim(args) => {
            agentrelease_sim::cli::run(args)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_controller_takes_an_allow_list_of_resolved_addresses() {
        let cli = Cli::try_parse_from([
            "agentrelease",
            "controller",
            "--allow-resolved-address",
            "169.254.10.0/24",
            "--allow-resolved-address=fd00:ec2::254",
        ])
        .expect("parses");
        let Command::Controller(args) = cli.command else {
            panic!("not the controller: {cli:?}");
        };
        assert_eq!(
            args.allow_resolved_addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["169.254.10.0/24", "fd00:ec2::254/128"]
        );
        let e = Cli::try_parse_from([
            "agentrelease",
            "controller",
            "--allow-resolved-address",
            "metadata.google.internal",
        ])
        .expect_err("not an address");
        assert!(
            e.to_string().contains("is not an IP address or CIDR range"),
            "{e}"
        );
    }
}
