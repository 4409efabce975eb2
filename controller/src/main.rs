//! The `agentrelease` binary.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // TLS for the Databricks and Kubernetes clients; a second install (never here) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Copied or linked onto PATH as `kubectl-agentrelease`, the binary is the kubectl plugin.
    if std::env::args_os()
        .next()
        .is_some_and(|argv0| agentrelease::plugin::invoked_as_plugin(&argv0))
    {
        let code = agentrelease::plugin::main().await;
        return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = agentrelease::cli::Cli::parse();
    match agentrelease::cli::run(cli).await {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(1)
        }
    }
}
