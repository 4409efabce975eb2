//! Whether the serving endpoint serves the model version the alias points at: an endpoint that
//! serves the release's registered model at another version while the alias moved on is a
//! mixed state (callers of the endpoint and of the alias get different models), so the release
//! is not Ready while it lasts, and says which serves what.

use super::workspace::EndpointConfig;

/// One served entity of the release's model at another version than the alias's, with the
/// share of traffic it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The served entity's name.
    pub entity: String,
    /// The version it serves.
    pub version: String,
    /// Its share of the traffic, in percent (0 when no route names it).
    pub traffic: i64,
}

/// The served entities of `model` in `config` whose version is not `alias_version` (pure).
pub fn mismatches(config: &EndpointConfig, model: &str, alias_version: i64) -> Vec<Mismatch> {
    let want = alias_version.to_string();
    config
        .served_entities
        .iter()
        .filter(|e| e.external_model.is_none() && e.entity_name == model)
        .filter(|e| e.entity_version != want)
        .map(|e| Mismatch {
            entity: e.name.clone(),
            version: e.entity_version.clone(),
            traffic: config
                .routes
                .iter()
                .filter(|r| r.served_entity_name == e.name)
                .map(|r| r.traffic_percentage)
                .sum(),
        })
        .collect()
}

/// One sentence naming which serves what.
pub fn describe(
    endpoint: &str,
    model: &str,
    alias: &str,
    alias_version: i64,
    found: &[Mismatch],
) -> String {
    let serves: Vec<String> = found
        .iter()
        .map(|m| {
            format!(
                "version {} (entity {}, {}% of traffic)",
                m.version, m.entity, m.traffic
            )
        })
        .collect();
    format!(
        "{model}@{alias} points at version {alias_version} but serving endpoint {endpoint} serves {model} {}",
        serves.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::workspace::{RouteConfig, ServedEntityConfig};

    fn entity(name: &str, model: &str, version: &str) -> ServedEntityConfig {
        ServedEntityConfig {
            name: name.into(),
            entity_name: model.into(),
            entity_version: version.into(),
            workload_size: "Small".into(),
            scale_to_zero_enabled: true,
            workload_type: None,
            environment_vars: Default::default(),
            external_model: None,
        }
    }

    #[test]
    fn only_the_release_s_model_at_another_version_is_a_mismatch() {
        let config = EndpointConfig {
            served_entities: vec![
                entity("m-11", "main.a.m", "11"),
                entity("m-12", "main.a.m", "12"),
                entity("other", "main.a.other", "3"),
            ],
            routes: vec![
                RouteConfig {
                    served_entity_name: "m-11".into(),
                    traffic_percentage: 90,
                },
                RouteConfig {
                    served_entity_name: "m-12".into(),
                    traffic_percentage: 10,
                },
            ],
        };
        let found = mismatches(&config, "main.a.m", 12);
        assert_eq!(
            found,
            vec![Mismatch {
                entity: "m-11".into(),
                version: "11".into(),
                traffic: 90
            }]
        );
        assert!(
            describe("ep", "main.a.m", "champion", 12, &found)
                .contains("serves main.a.m version 11 (entity m-11, 90% of traffic)")
        );
        assert!(mismatches(&config, "main.a.other", 3).is_empty());
    }
}
