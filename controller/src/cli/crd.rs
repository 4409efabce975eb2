//! `agentrelease crd`: print (or write) the CustomResourceDefinitions generated from the types.

use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `agentrelease crd`.
#[derive(Debug, Clone, clap::Args)]
pub struct CrdArgs {
    /// Write one file per CRD (`<plural>.<group>.yaml`) into this directory instead of printing
    /// both to stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

/// Runs `agentrelease crd`.
pub fn run(args: &CrdArgs) -> anyhow::Result<i32> {
    match &args.output_dir {
        None => {
            print!("{}", agentrelease_api::crds_yaml()?);
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for crd in agentrelease_api::crds() {
                let path = dir.join(agentrelease_api::crd_file_name(&crd));
                std::fs::write(&path, agentrelease_api::crd_yaml(&crd)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(0)
}
