//! What the binary plugs into `apply`, `plan` and `controller`: the Databricks client factory and
//! the embedded workspace simulator.

use std::path::Path;
use std::sync::{Arc, Mutex};

use agentrelease_sim::{RunningSim, Seed, SimConfig, Simulator};
use anyhow::Context as _;

use crate::databricks_adapter::ClientFactory;

use super::apply::Environment;

/// The production environment: real clients, and an in-process simulator when asked for.
#[derive(Default)]
pub struct Binary {
    /// The simulator started for this run; kept alive until the process ends.
    sim: Mutex<Option<RunningSim>>,
    factory: Arc<ClientFactory>,
}

impl Environment for Binary {
    type Factory = ClientFactory;

    fn factory(&self) -> Arc<ClientFactory> {
        Arc::clone(&self.factory)
    }

    async fn start_simulator(
        &self,
        seed: Option<&Path>,
        time_scale: f64,
    ) -> anyhow::Result<(String, String)> {
        anyhow::ensure!(
            time_scale.is_finite() && time_scale > 0.0,
            "--sim-time-scale must be a positive number"
        );
        let seed = seed
            .map(|p| Seed::from_yaml_file(p).context("reading the workspace seed"))
            .transpose()?;
        let sim = Simulator::start(SimConfig {
            seed,
            time_scale,
            ..SimConfig::default()
        })
        .await?;
        let found = (sim.url(), sim.token());
        if let Ok(mut slot) = self.sim.lock() {
            *slot = Some(sim);
        }
        Ok(found)
    }

    fn is_seed(&self, path: &Path) -> bool {
        is_seed_file(path)
    }
}

/// Whether a file is a workspace seed: a single YAML mapping without `apiVersion`/`kind` that
/// has at least one of the seed's top-level sections.
pub fn is_seed_file(path: &Path) -> bool {
    const SECTIONS: [&str; 6] = [
        "catalogs",
        "experiments",
        "workspace",
        "apps",
        "registry_models",
        "serving_endpoints",
    ];
    let Ok(text) = crate::manifest::read_text(path) else {
        return false;
    };
    let Ok(value) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let Some(map) = value.as_object() else {
        return false;
    };
    !map.contains_key("apiVersion")
        && !map.contains_key("kind")
        && SECTIONS.iter().any(|k| map.contains_key(*k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_seed_is_recognised_and_manifests_are_not() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples");
        assert!(is_seed_file(&root.join("workspace-seed.yaml")));
        assert!(!is_seed_file(&root.join("agentrelease.yaml")));
        assert!(!is_seed_file(&root.join("credentials-secret.yaml")));
        assert!(!is_seed_file(&root.join("does-not-exist.yaml")));
    }
}
