//! `agentrelease sim`: serve a simulated workspace.

/// Arguments of `agentrelease sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {}

/// Runs the simulator until interrupted.
pub async fn run(_args: SimArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("the simulator is not built yet".into())
}
