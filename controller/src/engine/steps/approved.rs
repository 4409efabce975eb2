//! Approval hold (`Approved`): after every gate and check passed and before the first write (the
//! ownership claim), the release waits — phase `AwaitingApproval`, nothing written — until an
//! approval covers exactly this release's identity (`status.identity`: N, model version, logged
//! model, signoff, eval summary, prompt version, spec and target). Two sources count:
//!
//! - an `AgentReleaseApproval` in the release's namespace naming the release, N, model version
//!   and identity digest (the controller caches them; its author is checked by the admission
//!   policy);
//! - the tags `approval_<target name>=Approved` and `approval_<target name>_identity=<digest>`
//!   on the model version, as Databricks deployment jobs do, so the workspace's permissions
//!   decide who may approve (read from the model version the preflight already read; an
//!   optional `approval_<target name>_by` tag names the approver).
//!
//! Who requires the hold is [`super::approval_rule`]'s decision. An approval of another N, model
//! version or identity does not count, and the waiting message says so. Once recorded in
//! `status.approval`, an approval stands for that identity: deleting the object after the
//! release does not undo it, and any change to the release's inputs voids it.

use std::collections::BTreeMap;

use agentrelease_api::AgentReleaseApprovalSpec;
use agentrelease_api::conditions::reasons;
use agentrelease_api::promotion_status::{ApprovalRecord, ApprovalSource};
use jiff::Timestamp;

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::Workspace;
use crate::engine::steps::StepInfo;

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

/// The tag naming the identity a tag approval is for: `approval_<target name>_identity`.
pub fn identity_tag_key(target: &str) -> String {
    format!("approval_{target}_identity")
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
    /// The release identity's digest (`status.identity.digest`).
    pub identity: &'a str,
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
        identity,
    } = subject;
    let mv = model_version.to_string();
    let covers =
        |a: &KubeApproval| u32::try_from(n).is_ok_and(|n| a.spec.covers(release, n, &mv, identity));
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
            identity: Some(identity.to_string()),
        });
    }
    let key = tag_key(target);
    let identity_key = identity_tag_key(target);
    let tag = tags.get(&key).map(|v| v.trim());
    let tagged_identity = tags.get(&identity_key).map(|v| v.trim());
    let tag_approves = tag.is_some_and(|v| v.eq_ignore_ascii_case(APPROVED_VALUE));
    if tag_approves && tagged_identity == Some(identity) {
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
            identity: Some(identity.to_string()),
        });
    }
    if let Some(p) = previous.filter(|p| {
        p.n == n && p.model_version == model_version && p.identity.as_deref() == Some(identity)
    }) {
        return Decision::Approved(p.clone());
    }

    let mut message = format!(
        "waiting for an approval of {release} N={n} model version {model_version} identity {identity}: an AgentReleaseApproval (kubectl agentrelease approve {release}) or the tags {key}={APPROVED_VALUE} and {identity_key}={identity} on {model} version {model_version}"
    );
    let mut not_counted: Vec<String> = approvals
        .unwrap_or_default()
        .iter()
        .filter(|a| a.spec.release == release)
        .map(|a| {
            let same = i64::from(a.spec.n) == n && a.spec.model_version == mv;
            match (same, a.spec.identity.as_deref()) {
                (true, Some(other)) => {
                    format!("{} approves identity {other}, not {identity}", a.name)
                }
                (true, None) => format!("{} names no release identity", a.name),
                (false, _) => format!(
                    "{} approves N={} model version {}",
                    a.name, a.spec.n, a.spec.model_version
                ),
            }
        })
        .collect();
    if let Some(value) = tag.filter(|v| !v.is_empty()) {
        if !tag_approves {
            not_counted.push(format!("the tag {key} is {value:?}, not {APPROVED_VALUE}"));
        } else {
            match tagged_identity {
                Some(other) => not_counted.push(format!(
                    "the tag {identity_key} is {other:?}, not this identity"
                )),
                None => not_counted.push(format!(
                    "the tag {key}={APPROVED_VALUE} has no {identity_key} tag naming the identity it approves"
                )),
            }
        }
    }
    if let Some(p) = previous.filter(|p| p.n == n && p.model_version == model_version) {
        not_counted.push(format!(
            "the approval recorded earlier ({}) was for identity {}: the release changed since",
            p.reference,
            p.identity.as_deref().unwrap_or("(none)")
        ));
    }
    if !not_counted.is_empty() {
        message.push_str(&format!(
            "; not counted (an approval covers exactly one release identity): {}",
            not_counted.join("; ")
        ));
    }
    if approvals.is_none() {
        message.push_str(
            "; this run reads only the model version tags (AgentReleaseApproval objects are read by the controller)",
        );
    }
    Decision::Awaiting(message)
}

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "approval",
    condition: agentrelease_api::conditions::types::APPROVED,
    phase: agentrelease_api::conditions::Phase::AwaitingApproval,
    hold: true,
    applies: |ctx| super::approval_rule::required_by(ctx).is_some(),
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let ctx = pass.ctx;
    let Some(identity) = super::super::identity::of(ctx, &pass.artifacts) else {
        pass.status.approval = None;
        return StepResult::blocked(
            reasons::AWAITING_APPROVAL,
            "the release identity is not known yet (the signoff and eval summary were not read in this pass), so no approval can cover it",
        );
    };
    let subject = Subject {
        release: &ctx.identity.name,
        n: ctx.n(),
        model: ctx.model(),
        model_version: ctx.spec.model.version,
        target: &ctx.spec.target_ref.name,
        identity: &identity.digest,
    };
    let decision = decide(
        subject,
        pass.approvals,
        &pass.artifacts.model_version_tags,
        pass.old.approval.as_ref(),
        pass.now(),
    );
    let required_by = super::approval_rule::required_by(ctx)
        .map(|r| r.describe())
        .unwrap_or("spec.policy.approval");
    match decision {
        Decision::Approved(record) => {
            let message = describe(&record);
            pass.status.approval = Some(record);
            StepResult::done(reasons::APPROVED, message)
        }
        Decision::Awaiting(message) => {
            pass.status.approval = None;
            StepResult::blocked(
                reasons::AWAITING_APPROVAL,
                format!("{message} (required by {required_by})"),
            )
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
    if let Some(identity) = &record.identity {
        out.push_str(&format!(" identity {identity}"));
    }
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
            identity: ID,
        }
    }

    const ID: &str = "0123456789abcdef";

    fn approval_tags(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::from([
            ("approval_prod".to_string(), "Approved".to_string()),
            ("approval_prod_identity".to_string(), ID.to_string()),
        ]);
        for (k, v) in extra {
            tags.insert(k.to_string(), v.to_string());
        }
        tags
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
                identity: Some(ID.into()),
            },
            created_at: Some("2026-01-02T03:04:05Z".parse().unwrap()),
        }
    }

    fn now() -> Timestamp {
        "2026-01-02T04:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_approval_of_exactly_this_identity_approves_with_its_author() {
        let approvals = [approval("a1", 7, "12")];
        match decide(subject(), Some(&approvals), &BTreeMap::new(), None, now()) {
            Decision::Approved(r) => {
                assert_eq!(r.source, ApprovalSource::AgentReleaseApproval);
                assert_eq!(r.approved_by.as_deref(), Some("alice@example.com"));
                assert_eq!(r.comment.as_deref(), Some("staging looked good"));
                assert_eq!(r.approved_at.to_string(), "2026-01-02T03:04:05Z");
                assert_eq!((r.n, r.model_version), (7, 12));
                assert_eq!(r.identity.as_deref(), Some(ID));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_n_model_version_or_identity_does_not_count_and_the_message_says_so() {
        let mut other_identity = approval("edited", 7, "12");
        other_identity.spec.identity = Some("fedcba9876543210".into());
        let mut no_identity = approval("old-style", 7, "12");
        no_identity.spec.identity = None;
        let approvals = [
            approval("old-n", 6, "12"),
            approval("other-mv", 7, "11"),
            other_identity,
            no_identity,
        ];
        match decide(subject(), Some(&approvals), &BTreeMap::new(), None, now()) {
            Decision::Awaiting(m) => {
                assert!(m.contains("old-n approves N=6 model version 12"), "{m}");
                assert!(m.contains("other-mv approves N=7 model version 11"), "{m}");
                assert!(
                    m.contains("edited approves identity fedcba9876543210, not 0123456789abcdef"),
                    "{m}"
                );
                assert!(m.contains("old-style names no release identity"), "{m}");
                assert!(m.contains("not counted"), "{m}");
                assert!(
                    m.contains(
                        "approval_prod=Approved and approval_prod_identity=0123456789abcdef"
                    ),
                    "{m}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_model_version_tags_approve_this_identity_and_name_the_approver() {
        let tags = approval_tags(&[("approval_prod_by", "bob@example.com")]);
        match decide(subject(), None, &tags, None, now()) {
            Decision::Approved(r) => {
                assert_eq!(r.source, ApprovalSource::ModelVersionTag);
                assert_eq!(r.approved_by.as_deref(), Some("bob@example.com"));
                assert_eq!(r.reference, "approval_prod");
                assert_eq!(r.approved_at, now());
                assert_eq!(r.identity.as_deref(), Some(ID));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_approved_tag_without_this_identity_does_not_approve() {
        let mut tags = approval_tags(&[]);
        tags.remove("approval_prod_identity");
        match decide(subject(), None, &tags, None, now()) {
            Decision::Awaiting(m) => assert!(
                m.contains("has no approval_prod_identity tag naming the identity"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        let tags = approval_tags(&[("approval_prod_identity", "fedcba9876543210")]);
        match decide(subject(), None, &tags, None, now()) {
            Decision::Awaiting(m) => assert!(
                m.contains("approval_prod_identity is \"fedcba9876543210\", not this identity"),
                "{m}"
            ),
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
        let tags = approval_tags(&[("approval_prod", "Rejected")]);
        match decide(subject(), None, &tags, None, now()) {
            Decision::Awaiting(m) => {
                assert!(m.contains("approval_prod is \"Rejected\""), "{m}");
                assert!(m.contains("read by the controller"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_recorded_approval_keeps_its_time_and_stands_for_the_same_identity_only() {
        let tags = approval_tags(&[]);
        let first = match decide(subject(), None, &tags, None, now()) {
            Decision::Approved(r) => r,
            other => panic!("{other:?}"),
        };
        let later: Timestamp = "2026-01-02T05:00:00Z".parse().unwrap();
        assert_eq!(
            decide(subject(), None, &tags, Some(&first), later),
            Decision::Approved(first.clone())
        );
        // The tags removed after the release: the recorded approval stands.
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
        // So does any change of the release's inputs (a new identity), and the message says why.
        let edited = Subject {
            identity: "fedcba9876543210",
            ..subject()
        };
        match decide(edited, None, &BTreeMap::new(), Some(&first), later) {
            Decision::Awaiting(m) => assert!(
                m.contains("recorded earlier (approval_prod) was for identity 0123456789abcdef"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
