//! Who requires the approval hold of a release: the release itself (`spec.policy.approval`),
//! its ReleaseTarget (`spec.approval`), or its namespace (the label `agentops.dev/approval:
//! required`). Any one of them is enough, so an editor of a release cannot turn off a hold its
//! target or namespace requires; the namespace label is the one the `edit` role cannot change.

use agentrelease_api::release::ApprovalPolicy;

use crate::engine::context::ReleaseContext;

/// The namespace label that requires an approval of every release in the namespace.
pub const NAMESPACE_LABEL: &str = "agentops.dev/approval";
/// The value of [`NAMESPACE_LABEL`] that requires it.
pub const NAMESPACE_LABEL_REQUIRED: &str = "required";

/// Who requires the approval hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredBy {
    /// The namespace's label `agentops.dev/approval: required`.
    Namespace,
    /// The ReleaseTarget's `spec.approval: Required`.
    Target,
    /// The release's `spec.policy.approval: Required`.
    Release,
}

impl RequiredBy {
    /// Where the requirement is set, as messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            RequiredBy::Namespace => "the namespace label agentops.dev/approval=required",
            RequiredBy::Target => "the ReleaseTarget's spec.approval",
            RequiredBy::Release => "spec.policy.approval",
        }
    }
}

/// Whether namespace labels require the approval hold (pure).
pub fn namespace_requires(labels: Option<&std::collections::BTreeMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(NAMESPACE_LABEL))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(NAMESPACE_LABEL_REQUIRED))
}

/// Who requires the hold of the release in `ctx`, the one hardest to change first; `None`: no
/// approval is needed.
pub fn required_by(ctx: &ReleaseContext) -> Option<RequiredBy> {
    if ctx.namespace_requires_approval {
        Some(RequiredBy::Namespace)
    } else if ctx.target.approval == ApprovalPolicy::Required {
        Some(RequiredBy::Target)
    } else if ctx.spec.policy.approval == ApprovalPolicy::Required {
        Some(RequiredBy::Release)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn only_the_required_value_of_the_label_requires() {
        let labels = |v: &str| BTreeMap::from([(NAMESPACE_LABEL.to_string(), v.to_string())]);
        assert!(namespace_requires(Some(&labels("required"))));
        assert!(namespace_requires(Some(&labels(" Required "))));
        assert!(!namespace_requires(Some(&labels("optional"))));
        assert!(!namespace_requires(Some(&BTreeMap::new())));
        assert!(!namespace_requires(None));
    }
}
