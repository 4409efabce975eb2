//! Status records of the approval hold and of newer model versions (`status.approval`,
//! `status.newerVersions`).

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an approval came from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ApprovalSource {
    /// An `AgentReleaseApproval` object in the release's namespace (its author is checked by
    /// the admission policy).
    AgentReleaseApproval,
    /// The tag `approval_<target name>=Approved` on the Unity Catalog model version (the
    /// workspace's own permissions decide who may set it).
    ModelVersionTag,
}

impl ApprovalSource {
    /// The source as it appears in status, the plan and the audit run.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalSource::AgentReleaseApproval => "AgentReleaseApproval",
            ApprovalSource::ModelVersionTag => "ModelVersionTag",
        }
    }
}

/// The approval the release was released under (`spec.policy.approval: Required`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    /// Where the approval came from.
    pub source: ApprovalSource,
    /// Who approved: the AgentReleaseApproval's `spec.approvedBy`, or for a model version tag
    /// the value of the tag `approval_<target>_by` when the workspace carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub approved_by: Option<String>,
    /// When: the approval object's creation time, or when the tag was first seen.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub approved_at: Timestamp,
    /// The approver's comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub comment: Option<String>,
    /// The AgentReleaseApproval's name, or the tag key.
    #[schemars(length(max = 253))]
    pub reference: String,
    /// The release version N approved.
    pub n: i64,
    /// The model version approved.
    pub model_version: i64,
    /// The release identity approved (`status.identity.digest` when it was approved): any
    /// change to the release's inputs after the approval needs a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub identity: Option<String>,
}

/// A version of the release's registered model newer than the declared one and READY. The
/// controller reports it; it never edits spec (`agentrelease next` prints the next manifest).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewerVersion {
    /// The model version.
    pub version: i64,
    /// When the version was registered, when the workspace says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub created_at: Option<String>,
    /// The MLflow logged model id the version was registered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub logged_model_id: Option<String>,
    /// Whether the signoff of the next release (N+1) exists in the artifacts location.
    #[serde(default)]
    pub next_signoff_found: bool,
    /// Whether the eval summary of the next release (N+1) exists in the artifacts location.
    #[serde(default)]
    pub next_eval_summary_found: bool,
}
