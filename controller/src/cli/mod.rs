//! The `agentrelease` command line.

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
    /// Serve a simulated Databricks workspace (no credentials, no network needed).
    Sim(agentrelease_sim::cli::SimArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Sim(args) => {
            agentrelease_sim::cli::run(args)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(0)
        }
    }
}
