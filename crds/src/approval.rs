//! The `AgentReleaseApproval` resource: a person's approval of one AgentRelease at one version N
//! and one model version. The admission policy shipped with the chart refuses an approval whose
//! `spec.approvedBy` is not the requesting user, so the author is the API server's own knowledge.

// Each `printcolumn(...)` repeats keys such as `type_`; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Approval of exactly one release: an approval for another N or model version does not count.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "agentops.dev",
    version = "v1alpha1",
    kind = "AgentReleaseApproval",
    plural = "agentreleaseapprovals",
    singular = "agentreleaseapproval",
    shortname = "ara",
    category = "agentops",
    namespaced,
    derive = "PartialEq",
    doc = "AgentReleaseApproval approves one AgentRelease (in the same namespace) at one version N, one model version and one release identity (status.identity.digest). It cannot be edited once created.",
    printcolumn(name = "Release", type_ = "string", json_path = ".spec.release"),
    printcolumn(name = "N", type_ = "integer", json_path = ".spec.n"),
    printcolumn(name = "Model", type_ = "string", json_path = ".spec.modelVersion"),
    printcolumn(name = "Identity", type_ = "string", json_path = ".spec.identity"),
    printcolumn(name = "ApprovedBy", type_ = "string", json_path = ".spec.approvedBy"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message("an AgentReleaseApproval cannot be changed; delete it and create a new one"))]
pub struct AgentReleaseApprovalSpec {
    /// Name of the AgentRelease being approved, in this namespace.
    #[schemars(length(min = 1, max = 253))]
    pub release: String,
    /// The release version N being approved (`spec.version.n` of the release).
    #[schemars(range(min = 1))]
    pub n: u32,
    /// The Unity Catalog model version being approved, e.g. `"3"`.
    #[schemars(length(min = 1, max = 64))]
    pub model_version: String,
    /// The Kubernetes user name of the approver. The admission policy refuses the object unless
    /// this equals the user who creates it.
    #[schemars(length(min = 1, max = 512))]
    pub approved_by: String,
    /// Why the approver approved, recorded in status, the plan document and the audit run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub comment: Option<String>,
    /// The release identity approved: the release's `status.identity.digest` (16 hex digits) as
    /// the approver saw it. The approval counts only while the release has exactly this
    /// identity, so a change to its model, artifacts, spec or target after the approval needs a
    /// new one. `kubectl agentrelease approve` fills it in; an approval without it never counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 16, max = 16))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9a-f]{16}$')").message("spec.identity must be the release's status.identity.digest: 16 lowercase hex digits"))]
    pub identity: Option<String>,
}

impl AgentReleaseApprovalSpec {
    /// Whether this approval names the release `release` at version `n` and model version
    /// `model_version` (another N or model version does not count).
    pub fn names(&self, release: &str, n: u32, model_version: &str) -> bool {
        self.release == release && self.n == n && self.model_version == model_version
    }

    /// Whether this approval covers the release `release` at version `n`, model version
    /// `model_version` and release identity `identity`: all four must be exactly the approved
    /// ones.
    pub fn covers(&self, release: &str, n: u32, model_version: &str, identity: &str) -> bool {
        self.names(release, n, model_version) && self.identity.as_deref() == Some(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    fn spec() -> AgentReleaseApprovalSpec {
        AgentReleaseApprovalSpec {
            release: "support-agent-prod".into(),
            n: 4,
            model_version: "7".into(),
            approved_by: "alice@example.com".into(),
            comment: None,
            identity: Some("0123456789abcdef".into()),
        }
    }

    #[test]
    fn covers_only_the_exact_release_n_model_version_and_identity() {
        let s = spec();
        let id = "0123456789abcdef";
        assert!(s.covers("support-agent-prod", 4, "7", id));
        assert!(!s.covers("support-agent-prod", 5, "7", id));
        assert!(!s.covers("support-agent-prod", 4, "8", id));
        assert!(!s.covers("support-agent-staging", 4, "7", id));
        assert!(!s.covers("support-agent-prod", 4, "7", "fedcba9876543210"));
        let without = AgentReleaseApprovalSpec {
            identity: None,
            ..spec()
        };
        assert!(without.names("support-agent-prod", 4, "7"));
        assert!(!without.covers("support-agent-prod", 4, "7", id));
    }

    #[test]
    fn spec_is_immutable_in_the_schema() {
        let crd = serde_json::to_string(&AgentReleaseApproval::crd()).expect("crd serializes");
        assert!(crd.contains("self == oldSelf"), "{crd}");
        assert!(crd.contains("approvedBy"), "{crd}");
    }

    #[test]
    fn spec_round_trips_in_camel_case() {
        let json = serde_json::to_value(spec()).expect("serializes");
        assert_eq!(json["modelVersion"], "7");
        assert_eq!(json["approvedBy"], "alice@example.com");
        assert!(json.get("comment").is_none());
    }
}
