//! Sharding releases across controller replicas by a label, as Flux and Kargo shard: a replica
//! started with `--shard NAME` reconciles only the releases labelled
//! `agentops.dev/shard=NAME` and elects its leader on a Lease of its own, so each shard has
//! exactly one active replica. Moving a release's label hands it over: the old shard's watch
//! drops it, the new shard's picks it up, and the workspace lock of the engine keeps a pass
//! still in flight on the old shard from writing alongside the new one.

/// The label that assigns a release to a shard.
pub const SHARD_LABEL: &str = "agentops.dev/shard";

/// Why a shard name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not a valid label value.
    #[error(
        "--shard {0:?} is not a label value: 1 to 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit"
    )]
    NotALabelValue(String),
}

impl ShardError {
    /// A short category for logs.
    pub fn category(&self) -> &'static str {
        "shard"
    }
}

/// Checks that `shard` can be a label value.
pub fn check(shard: &str) -> Result<(), ShardError> {
    let ok = !shard.is_empty()
        && shard.len() <= 63
        && shard
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && shard.starts_with(|c: char| c.is_ascii_alphanumeric())
        && shard.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ShardError::NotALabelValue(shard.to_string()))
    }
}

/// The label selector of the releases this replica reconciles: the `--selector` given, and the
/// shard's label when there is a shard.
pub fn release_selector(selector: Option<&str>, shard: Option<&str>) -> Option<String> {
    let selector = selector.map(str::trim).filter(|s| !s.is_empty());
    match (selector, shard) {
        (None, None) => None,
        (Some(s), None) => Some(s.to_string()),
        (None, Some(shard)) => Some(format!("{SHARD_LABEL}={shard}")),
        (Some(s), Some(shard)) => Some(format!("{s},{SHARD_LABEL}={shard}")),
    }
}

/// The leader Lease of this replica: one per shard.
pub fn lease_name(base: &str, shard: Option<&str>) -> String {
    match shard {
        Some(shard) => format!("{base}-{}", shard.to_ascii_lowercase().replace('_', "-")),
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_narrows_the_selector() {
        assert_eq!(release_selector(None, None), None);
        assert_eq!(
            release_selector(None, Some("a")),
            Some("agentops.dev/shard=a".into())
        );
        assert_eq!(
            release_selector(Some("team=x"), Some("a")),
            Some("team=x,agentops.dev/shard=a".into())
        );
        assert_eq!(
            release_selector(Some("!agentops.dev/shard"), None),
            Some("!agentops.dev/shard".into())
        );
        assert_eq!(release_selector(Some("  "), None), None);
    }

    #[test]
    fn each_shard_has_its_lease() {
        assert_eq!(
            lease_name("agentrelease-controller", None),
            "agentrelease-controller"
        );
        assert_eq!(
            lease_name("agentrelease-controller", Some("Eu_1")),
            "agentrelease-controller-eu-1"
        );
    }

    #[test]
    fn shard_names_are_label_values() {
        for ok in ["a", "eu-1", "shard.2", "A_b"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "a/b", &"x".repeat(64)] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
