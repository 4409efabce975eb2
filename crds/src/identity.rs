//! The release identity as status shows it: one digest of everything that decides what runs in
//! production, and the parts it is made of, so a reader sees which input changed when the
//! digest did. The engine computes it (`engine::identity`); approvals name its digest.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The length of a digest, in lowercase hex digits.
pub const DIGEST_LEN: usize = 16;

/// Whether `text` has the shape of an identity digest: 16 lowercase hex digits.
pub fn is_digest(text: &str) -> bool {
    text.len() == DIGEST_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The release identity: what an approval covers, and what every gate verdict and check result
/// was decided on. Any change of a part is a new identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseIdentityRecord {
    /// The digest of all the parts below: what `kubectl agentrelease approve` writes into an
    /// AgentReleaseApproval, and what the tag `approval_<target>_identity` must carry.
    #[schemars(length(max = 64))]
    pub digest: String,
    /// The release version N.
    pub n: i64,
    /// The registered model.
    #[schemars(length(max = 512))]
    pub model: String,
    /// The model version released.
    pub model_version: i64,
    /// The MLflow logged model the version was registered from, as the workspace reports it
    /// (or as the release declares it when the workspace does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub logged_model_id: Option<String>,
    /// A digest of the signoff file's bytes.
    #[schemars(length(max = 64))]
    pub signoff: String,
    /// A digest of the eval summary's bytes.
    #[schemars(length(max = 64))]
    pub eval_summary: String,
    /// The prompt version the candidate alias points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub prompt_version: Option<String>,
    /// A digest of the release's spec, without the switches that do not change what runs
    /// (suspend, resync and full-check intervals, deletion, drift and approval policy).
    #[schemars(length(max = 64))]
    pub spec: String,
    /// A digest of the ReleaseTarget's name and spec, without its credentials reference and
    /// request rate.
    #[schemars(length(max = 64))]
    pub target: String,
}

impl ReleaseIdentityRecord {
    /// The digest's first 8 digits, as names and one-line messages show it.
    pub fn short(&self) -> &str {
        self.digest.get(..8).unwrap_or(&self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_sixteen_lowercase_hex_digits() {
        assert!(is_digest("0123456789abcdef"));
        assert!(!is_digest("0123456789ABCDEF"));
        assert!(!is_digest("0123456789abcde"));
        assert!(!is_digest("0123456789abcdefa"));
        assert!(!is_digest("0123456789abcdeg"));
    }
}
