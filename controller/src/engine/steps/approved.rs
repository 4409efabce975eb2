//! Approval hold (`Approved`), for `spec.policy.approval: Required`: after every gate and check
//! passed and before the first write (the ownership claim), the release waits — phase
//! `AwaitingApproval`, nothing written — until an approval covers exactly this release, its N and
//! its model version. Two sources count:
//!
//! - an `AgentReleaseApproval` in the release's namespace (the controller caches them; its
//!   author is checked by the admission policy);
//! - the tag `approval_<target name>=Approved` on the model version, as Databricks deployment
//!   jobs do, so the workspace's permissions decide who may approve (read from the model version
//!   the preflight already read; an optional `approval_<target name>_by` tag names the approver).
//!
//! An approval for another N or model version does not count, and the waiting message says so.
//! Once recorded in `status.approval`, an approval stands for that N and model version: deleting
//! the object after the release does not undo it.

use std::collections::BTreeMap;

use agentrelease_api::AgentReleaseApprovalSpec;
use agentrelease_api::conditions::reasons;
use agentrelease_api::promotion_status::{ApprovalRecord, ApprovalSource};
use jiff::Timestamp;

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::Workspace;

/// The tag value that approves.
pub const APPROVED_VALUE: &str = "Approved";

/// An `AgentReleaseApproval` as read from the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeApproval {
    /// The object's name.
    pub name: String,
    /// Its spec.
    pub spec: AgentReleaseApprovalSpec,
    /// Its creation time (the approval time).
    pub created_at: Option<Timestamp>,
}

/// The approval tag key for a target: `approval_<target name>`.
pub fn tag_key(target: &str) -> String {
    format!("approval_{target}")
}

/// What the step is deciding about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The release's name.
    pub release: &'a str,
    /// N.
    pub n: i64,
    /// The model's name.
    pub model: &'a str,
    /// The model version.
    pub model_version: i64,
    /// The ReleaseTarget's name (the tag is `approval_<target>`).
    pub target: &'a str,
}

/// The outcome of the decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// An approval covers the release.
    Approved(ApprovalRecord),
    /// No approval covers it; the message says how to approve and what did not count.
    Awaiting(String),
}

/// Decides from the approvals read (pure). `approvals` is `None` where the runner cannot read
/// AgentReleaseApproval objects (`apply` without a cluster); `previous` is the recorded
/// approval of an earlier pass.
pub fn decide(
    subject: Subject<'_>,
    approvals: Option<&[KubeApproval]>,
    tags: &BTreeMap<String, String>,
    previous: Option<&ApprovalRecord>,
    now: Timestamp,
) -> Decision {
    let Subject {
        release,
        n,
        model,
        model_version,
        target,
    } = subject;
    let mv = model_version.to_string();
    let covers = |a: &KubeApproval| u32::try_from(n).is_ok_and(|n| a.spec.covers(release, n, &mv));
    let mut covering: Vec<&KubeApproval> = approvals
        .unwrap_or_default()
        .iter()
        .filter(|a| covers(a))
        .collect();
    covering.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    if let Some(a) = covering.first() {
        let approved_at = match previous {
            Some(p)
                if p.source == ApprovalSource::AgentReleaseApproval && p.reference == a.name =>
            {
                p.approved_at
            }
            _ => a.created_at.unwrap_or(now),
        };
        return Decision::Approved(ApprovalRecord {
            source: ApprovalSource::AgentReleaseApproval,
            approved_by: Some(a.spec.approved_by.clone()),
            approved_at: agentrelease_api::condition::truncate_to_seconds(approved_at),
            comment: a.spec.comment.clone(),
            reference: a.name.clone(),
            n,
            model_version,
        });
    }
    let key = tag_key(target);
    let tag = tags.get(&key).map(|v| v.trim());
    if tag.is_some_and(|v| v.eq_ignore_ascii_case(APPROVED_VALUE)) {
        let approved_at = match previous {
            Some(p) if p.source == ApprovalSource::ModelVersionTag && p.reference == key => {
                p.approved_at
            }
            _ => now,
        };
        return Decision::Approved(ApprovalRecord {
            source: ApprovalSource::ModelVersionTag,
            approved_by: tags
                .get(&format!("{key}_by"))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            approved_at: agentrelease_api::condition::truncate_to_seconds(approved_at),
            comment: None,
            reference: key,
            n,
            model_version,
        });
    }
    if let Some(p) = previous.filter(|p| p.n == n && p.model_version == model_version) {
        return Decision::Approved(p.clone());
    }

    let mut message = format!(
        "waiting for an approval of {release} N={n} model version {model_version}: an AgentReleaseApproval (kubectl agentrelease approve {release}) or the tag {key}={APPROVED_VALUE} on {model} version {model_version}"
    );
    let mut not_counted: Vec<String> = approvals
        .unwrap_or_default()
        .iter()
        .filter(|a| a.spec.release == release)
        .map(|a| {
            format!(
                "{} approves N={} model version {}",
                a.name, a.spec.n, a.spec.model_version
            )
        })
        .collect();
    if let Some(value) = tag.filter(|v| !v.is_empty()) {
        not_counted.push(format!("the tag {key} is {value:?}, not {APPROVED_VALUE}"));
    }
    if !not_counted.is_empty() {
        message.push_str(&format!(
            "; not counted (an approval covers exactly one N and model version): {}",
            not_counted.join("; ")
        ));
    }
    if approvals.is_none() {
        message.push_str(
            "; this run reads only the model version tag (AgentReleaseApproval objects are read by the controller)",
        );
    }
    Decision::Awaiting(message)
}

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let ctx = pass.ctx;
    let subject = Subject {
        release: &ctx.identity.name,
        n: ctx.n(),
        model: ctx.model(),
        model_version: ctx.spec.model.version,
        target: &ctx.spec.target_ref.name,
    };
    let decision = decide(
        subject,
        pass.approvals,
        &pass.artifacts.model_version_tags,
        pass.old.approval.as_ref(),
        pass.now(),
    );
    match decision {
        Decision::Approved(record) => {
            let message = describe(&record);
            pass.status.approval = Some(record);
            StepResult::done(reasons::APPROVED, message)
        }
        Decision::Awaiting(message) => {
            pass.status.approval = None;
            StepResult::blocked(reasons::AWAITING_APPROVAL, message)
        }
    }
}

/// One line about an approval (condition message, plan document).
pub fn describe(record: &ApprovalRecord) -> String {
    let by = record.approved_by.as_deref().unwrap_or("(not named)");
    let mut out = format!(
        "approved by {by} at {} via {} {} for N={} model version {}",
        record.approved_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        record.source.as_str(),
        record.reference,
        record.n,
        record.model_version
    );
    if let Some(comment) = &record.comment {
        out.push_str(&format!(": {comment}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject<'static> {
        Subject {
            release: "skyloyalty-v7",
            n: 7,
            model: "main.agents.skyloyalty",
            model_version: 12,
            target: "prod",
        }
    }

    fn approval(name: &str, n: u32, mv: &str) -> KubeApproval {
        KubeApproval {
            name: name.into(),
            spec: AgentReleaseApprovalSpec {
                release: "skyloyalty-v7".into(),
                n,
                model_version: mv.into(),
                approved_by: "alice@example.com".into(),
                comment: Some("staging looked good".into()),
            },
            created_at: Some("2026-01-02T03:04:05Z".parse().unwrap()),
        }
    }

    fn now() -> Timestamp {
        "2026-01-02T04:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_approval_of_exactly_this_n_and_model_version_approves_with_its_author() {
        let approvals = [approval("a1", 7, "12")];
        match decide(subject(), Some(&approvals), &BTreeMap::new(), None, now()) {
            Decision::Approved(r) => {
                assert_eq!(r.source, ApprovalSource::AgentReleaseApproval);
                assert_eq!(r.approved_by.as_deref(), Some("alice@example.com"));
                assert_eq!(r.comment.as_deref(), Some("staging looked good"));
                assert_eq!(r.approved_at.to_string(), "2026-01-02T03:04:05Z");
                assert_eq!((r.n, r.model_version), (7, 12));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_n_or_model_version_does_not_count_and_the_message_says_so() {
        let approvals = [approval("old-n", 6, "12"), approval("other-mv", 7, "11")];
        match decide(subject(), Some(&approvals), &BTreeMap::new(), None, now()) {
            Decision::Awaiting(m) => {
                assert!(m.contains("old-n approves N=6 model version 12"), "{m}");
                assert!(m.contains("other-mv approves N=7 model version 11"), "{m}");
                assert!(m.contains("not counted"), "{m}");
                assert!(m.contains("approval_prod=Approved"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_model_version_tag_approves_and_names_the_approver_when_tagged() {
        let mut tags = BTreeMap::new();
        tags.insert("approval_prod".to_string(), "Approved".to_string());
        tags.insert(
            "approval_prod_by".to_string(),
            "bob@example.com".to_string(),
        );
        match decide(subject(), None, &tags, None, now()) {
            Decision::Approved(r) => {
                assert_eq!(r.source, ApprovalSource::ModelVersionTag);
                assert_eq!(r.approved_by.as_deref(), Some("bob@example.com"));
                assert_eq!(r.reference, "approval_prod");
                assert_eq!(r.approved_at, now());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_tag_for_another_target_or_another_value_does_not_approve() {
        let mut tags = BTreeMap::new();
        tags.insert("approval_staging".to_string(), "Approved".to_string());
        assert!(matches!(
            decide(subject(), Some(&[]), &tags, None, now()),
            Decision::Awaiting(_)
        ));
        tags.insert("approval_prod".to_string(), "Rejected".to_string());
        match decide(subject(), None, &tags, None, now()) {
            Decision::Awaiting(m) => {
                assert!(m.contains("approval_prod is \"Rejected\""), "{m}");
                assert!(m.contains("read by the controller"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_recorded_approval_keeps_its_time_and_stands_for_the_same_n_and_version_only() {
        let mut tags = BTreeMap::new();
        tags.insert("approval_prod".to_string(), "Approved".to_string());
        let first = match decide(subject(), None, &tags, None, now()) {
            Decision::Approved(r) => r,
            other => panic!("{other:?}"),
        };
        let later: Timestamp = "2026-01-02T05:00:00Z".parse().unwrap();
        assert_eq!(
            decide(subject(), None, &tags, Some(&first), later),
            Decision::Approved(first.clone())
        );
        // The tag removed after the release: the recorded approval stands.
        assert_eq!(
            decide(subject(), None, &BTreeMap::new(), Some(&first), later),
            Decision::Approved(first.clone())
        );
        // A new N needs a new approval.
        let next = Subject { n: 8, ..subject() };
        assert!(matches!(
            decide(next, None, &BTreeMap::new(), Some(&first), later),
            Decision::Awaiting(_)
        ));
    }
}
