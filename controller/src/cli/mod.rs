//! The `agentrelease` command line.

pub mod crd;
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
    /// Serve a simulated Databricks workspace (no credentials, no network needed).
    Sim(agentrelease_sim::cli::SimArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate(args) => Ok(validate::run(&args)),
        Command::Crd(args) => crd::run(&args),
        Command::Sim(args) => {
            agentrelease_sim::cli::run(args)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(0)
        }
    }
}
