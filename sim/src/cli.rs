//! `agentrelease sim`: serve a simulated workspace until interrupted.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::{Seed, SimConfig, Simulator};

/// Arguments of `agentrelease sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// A seed file (YAML) with the initial workspace state.
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// An extra valid personal access token (repeatable).
    #[arg(long = "token")]
    pub tokens: Vec<String>,
    /// Simulated seconds per real second (e.g. 10 makes a 30 s deployment take 3 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

/// Why the simulator command failed.
#[derive(Debug, thiserror::Error)]
pub enum SimCliError {
    /// The seed is not usable.
    #[error(transparent)]
    Seed(#[from] crate::SeedError),
    /// The simulator did not start.
    #[error(transparent)]
    Start(#[from] crate::SimError),
    /// The time scale is not a positive number.
    #[error("--time-scale must be a positive number, got {0}")]
    TimeScale(f64),
}

impl SimCliError {
    /// A short category.
    pub fn category(&self) -> &'static str {
        match self {
            SimCliError::Seed(_) => "seed",
            SimCliError::Start(_) => "start",
            SimCliError::TimeScale(_) => "usage",
        }
    }
}

/// Runs the simulator until Ctrl-C or SIGTERM, printing `listening on <url>` once bound.
pub async fn run(args: SimArgs) -> Result<(), SimCliError> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err(SimCliError::TimeScale(args.time_scale));
    }
    let seed = args.seed.as_deref().map(Seed::from_yaml_file).transpose()?;
    let sim = Simulator::start(SimConfig {
        addr: SocketAddr::new(args.host, args.port),
        seed,
        tokens: args.tokens,
        time_scale: args.time_scale,
        ..SimConfig::default()
    })
    .await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", sim.url());
        let _ = out.flush();
    }
    eprintln!(
        "admin token: {} (send as 'Authorization: Bearer <token>')",
        sim.token()
    );
    shutdown_signal().await;
    sim.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
