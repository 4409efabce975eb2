//! The signoff gate's reading of `decision.md`: YAML front matter between `---` lines at the very
//! start of the file, two independent decisions, and the `state_override` escape hatch. The
//! markdown body is never read.
//!
//! Rules (strict by design):
//! - the file is UTF-8 (a BOM is tolerated, CRLF line ends are tolerated), at most
//!   [`MAX_SIGNOFF_BYTES`];
//! - line 1 is `---`; the front matter ends at the next `---` line; it is one YAML mapping,
//!   parsed with duplicate keys, merge keys, anchors, aliases and every explicit tag but
//!   `!!str`, `!!int`, `!!bool` and `!!null` refused, and tight nesting budgets
//!   ([`super::front_matter`]);
//! - `engineering_signoff.decision` and `stakeholder_signoff.decision` must each be the exact
//!   string `APPROVED` or `APPROVED_WITH_CONDITIONS` (upper case, no whitespace);
//! - a decision that is present but not approving blocks, unless `state_override` captures
//!   *both* original decisions verbatim: `state_override.engineering_signoff.decision` equals
//!   `engineering_signoff.decision` and `state_override.stakeholder_signoff.decision` equals
//!   `stakeholder_signoff.decision` (same YAML value: `Rejected` is not `REJECTED`, `APPROVED` is
//!   not `APPROVED_WITH_CONDITIONS`) — then the release passes as overridden and both captured
//!   decisions are recorded. Capturing only the rejected decision is not enough: the override has
//!   to show what each signer actually said; and it must name who approved it and why
//!   (`state_override.approved_by` and `state_override.reason`, non-empty strings);
//! - when both decisions approve, a `state_override` changes nothing: the verdict is approved and
//!   the override is neither checked nor recorded;
//! - a missing block or decision blocks, and cannot be overridden (there is nothing to capture);
//! - `model_version` (a positive integer) and `model_id` (a non-empty string) at the top level
//!   name the model the decision is about; another type is unparseable. Whether they name the
//!   released model is decided by [`super::model_binding`]; a signoff naming none is allowed.

use agentrelease_api::status::{DecisionRecord, OverrideRecord, SignoffRecord};

use super::front_matter;
use super::model_binding::ModelClaims;
use serde_json::{Map, Value};

/// The largest signoff file read.
pub const MAX_SIGNOFF_BYTES: u64 = 256 * 1024;

/// Decision values that approve.
pub const APPROVING: [&str; 2] = ["APPROVED", "APPROVED_WITH_CONDITIONS"];

/// The two decision blocks of the front matter.
pub const BLOCKS: [&str; 2] = ["engineering_signoff", "stakeholder_signoff"];

/// What the gate concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Both decisions approve.
    Approved,
    /// At least one decision does not approve, and `state_override` captures both decisions
    /// verbatim and names who approved the override and why.
    Overridden,
    /// A decision does not approve and no `state_override` captures both decisions verbatim; the
    /// text names each decision or capture at fault.
    Rejected(String),
    /// A decision block or value is missing.
    Incomplete(String),
    /// No front matter, or not YAML of the expected shape.
    Unparseable(String),
}

/// The parsed signoff: the verdict and what the status keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signoff {
    /// The gate's conclusion.
    pub verdict: Verdict,
    /// The decisions, conditions and override as read.
    pub record: SignoffRecord,
    /// The `version` the front matter declares (for the version-consistency check).
    pub version: VersionField,
    /// The model the front matter names (`model_version`, `model_id`), if any.
    pub model: ModelClaims,
}

/// A `version` field as declared in an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionField {
    /// Absent.
    Missing,
    /// An integer.
    Int(i64),
    /// Present but not an integer (shown verbatim).
    Invalid(String),
}

impl VersionField {
    /// Reads `version` from a JSON object.
    pub fn from_object(object: &Map<String, Value>) -> Self {
        match object.get("version") {
            None | Some(Value::Null) => VersionField::Missing,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => VersionField::Int(i),
                None => VersionField::Invalid(n.to_string()),
            },
            Some(other) => VersionField::Invalid(other.to_string()),
        }
    }

    /// How the value reads in a message.
    pub fn describe(&self) -> String {
        match self {
            VersionField::Missing => "no version".to_string(),
            VersionField::Int(i) => format!("version {i}"),
            VersionField::Invalid(raw) => format!("version {raw} (not an integer)"),
        }
    }
}

/// Reads a signoff file. Never fails: every problem is a [`Verdict`].
pub fn parse(path: &str, bytes: &[u8]) -> Signoff {
    let mut record = SignoffRecord {
        path: path.to_string(),
        ..SignoffRecord::default()
    };
    let unparseable = |record: SignoffRecord, why: String| Signoff {
        verdict: Verdict::Unparseable(why),
        record,
        version: VersionField::Missing,
        model: ModelClaims::default(),
    };
    if bytes.len() as u64 > MAX_SIGNOFF_BYTES {
        return unparseable(
            record,
            format!("the file is larger than {MAX_SIGNOFF_BYTES} bytes"),
        );
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => return unparseable(record, "the file is not UTF-8 text".into()),
    };
    let root = match front_matter::extract(text)
        .and_then(|front| front_matter::parse(&front, MAX_SIGNOFF_BYTES))
    {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => return unparseable(record, "the front matter is empty".into()),
        Ok(_) => return unparseable(record, "the front matter is not a YAML mapping".into()),
        Err(why) => return unparseable(record, why.to_string()),
    };
    let model = match ModelClaims::read(&root) {
        Ok(model) => model,
        Err(why) => return unparseable(record, format!("in the front matter, {why}")),
    };
    let version = VersionField::from_object(&root);
    record.version = match version {
        VersionField::Int(i) => Some(i),
        _ => None,
    };

    let decisions: Vec<Decision> = BLOCKS.iter().map(|b| read_decision(&root, b)).collect();
    record.engineering = decisions[0].record.clone();
    record.stakeholder = decisions[1].record.clone();

    // A missing decision is never overridable.
    let missing: Vec<String> = decisions
        .iter()
        .zip(BLOCKS)
        .filter_map(|(d, block)| d.missing.as_ref().map(|why| format!("{block}: {why}")))
        .collect();
    if !missing.is_empty() {
        return Signoff {
            verdict: Verdict::Incomplete(missing.join("; ")),
            record,
            version,
            model,
        };
    }

    // Both approve: nothing needs overriding, whatever `state_override` says.
    if decisions.iter().all(Decision::approves) {
        return Signoff {
            verdict: Verdict::Approved,
            record,
            version,
            model,
        };
    }
    let rejecting: Vec<String> = decisions
        .iter()
        .zip(BLOCKS)
        .filter(|(d, _)| !d.approves())
        .map(|(d, block)| format!("{block}.decision is {}", d.verbatim_quoted()))
        .collect();
    let override_block = match root.get("state_override") {
        None => {
            return rejected(
                record,
                version,
                model,
                format!("{} (no state_override captures it)", rejecting.join("; ")),
            );
        }
        Some(Value::Object(o)) => o,
        Some(other) => {
            return rejected(
                record,
                version,
                model,
                format!(
                    "{} (state_override is {}, not a mapping, so it captures nothing)",
                    rejecting.join("; "),
                    short(other)
                ),
            );
        }
    };

    let mut uncaptured = Vec::new();
    let mut overridden = OverrideRecord::default();
    for (decision, block) in decisions.iter().zip(BLOCKS) {
        match capture(override_block, block, decision) {
            Ok(text) => {
                if block == BLOCKS[0] {
                    overridden.engineering_decision = Some(text);
                } else {
                    overridden.stakeholder_decision = Some(text);
                }
            }
            Err(why) => uncaptured.push(why),
        }
    }
    if !uncaptured.is_empty() {
        return rejected(
            record,
            version,
            model,
            format!(
                "{}; {}; an override must capture both decisions verbatim",
                rejecting.join("; "),
                uncaptured.join("; ")
            ),
        );
    }
    let (approved_by, reason) = match (
        signed_field(override_block, "approved_by"),
        signed_field(override_block, "reason"),
    ) {
        (Ok(by), Ok(why)) => (by, why),
        (by, why) => {
            let faults: Vec<String> = [by.err(), why.err()].into_iter().flatten().collect();
            return rejected(
                record,
                version,
                model,
                format!(
                    "{}; {}; an override must name who approved it (approved_by) and why (reason)",
                    rejecting.join("; "),
                    faults.join("; ")
                ),
            );
        }
    };
    overridden.approved_by = Some(approved_by);
    overridden.reason = Some(reason);
    record.override_ = Some(overridden);
    Signoff {
        verdict: Verdict::Overridden,
        record,
        version,
        model,
    }
}

fn rejected(
    record: SignoffRecord,
    version: VersionField,
    model: ModelClaims,
    why: String,
) -> Signoff {
    Signoff {
        verdict: Verdict::Rejected(why),
        record,
        version,
        model,
    }
}

/// Checks that `state_override.<block>.decision` equals the decision as read. Returns the
/// captured text to record, or why it does not capture the decision.
fn capture(
    override_block: &Map<String, Value>,
    block: &str,
    decision: &Decision,
) -> Result<String, String> {
    let captured = match override_block.get(block) {
        None => None,
        Some(Value::Object(b)) => b.get("decision"),
        Some(other) => {
            return Err(format!(
                "state_override.{block} is {}, not a mapping with a decision",
                short(other)
            ));
        }
    };
    match (captured, &decision.value) {
        (Some(c), Some(value)) if c == value => Ok(decision.verbatim()),
        (None, _) => Err(format!("state_override.{block}.decision is missing")),
        (Some(c), _) => Err(format!(
            "state_override.{block}.decision is {} but {block}.decision is {}",
            short(c),
            decision.verbatim_quoted()
        )),
    }
}

/// `state_override.<key>` as a non-empty string, or why it is not one.
fn signed_field(override_block: &Map<String, Value>, key: &str) -> Result<String, String> {
    match override_block.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(format!("state_override.{key} is empty")),
        None | Some(Value::Null) => Err(format!("state_override.{key} is missing")),
        Some(other) => Err(format!(
            "state_override.{key} is {}, not a string",
            short(other)
        )),
    }
}

/// One decision as read.
struct Decision {
    /// The decision value, when present.
    value: Option<Value>,
    /// Why it counts as missing, when it does.
    missing: Option<String>,
    record: DecisionRecord,
}

impl Decision {
    fn approves(&self) -> bool {
        matches!(&self.value, Some(Value::String(s)) if APPROVING.contains(&s.as_str()))
    }

    fn verbatim(&self) -> String {
        match &self.value {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }

    fn verbatim_quoted(&self) -> String {
        self.value.as_ref().map(short).unwrap_or_default()
    }
}

fn read_decision(root: &Map<String, Value>, block: &str) -> Decision {
    let mut record = DecisionRecord::default();
    let Some(raw) = root.get(block) else {
        return Decision {
            value: None,
            missing: Some("the block is missing".into()),
            record,
        };
    };
    let Some(map) = raw.as_object() else {
        return Decision {
            value: None,
            missing: Some(format!(
                "must be a mapping with a decision, found {}",
                short(raw)
            )),
            record,
        };
    };
    record.approver = text_field(map, &["approver", "approved_by", "by", "name"]);
    record.date = text_field(map, &["date", "approved_at", "signed_at"]);
    record.conditions = conditions_text(map.get("conditions"));
    match map.get("decision") {
        None | Some(Value::Null) => Decision {
            value: None,
            missing: Some("the decision is missing".into()),
            record,
        },
        Some(Value::String(s)) if s.is_empty() => Decision {
            value: None,
            missing: Some("the decision is empty".into()),
            record,
        },
        Some(value) => {
            record.decision = Some(match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            Decision {
                value: Some(value.clone()),
                missing: None,
                record,
            }
        }
    }
}

fn text_field(map: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match map.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn conditions_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.trim().to_string(),
                    other => other.to_string(),
                })
                .filter(|s| !s.is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(front: &str) -> Vec<u8> {
        format!("---\n{front}---\n# Decision\n\nBody text.\n").into_bytes()
    }

    #[test]
    fn both_approved() {
        let s = parse(
            "p",
            &doc(
                "version: 7\nengineering_signoff:\n  decision: APPROVED\n  approver: a@x\nstakeholder_signoff:\n  decision: APPROVED_WITH_CONDITIONS\n  conditions: [monitor latency]\n",
            ),
        );
        assert_eq!(s.verdict, Verdict::Approved);
        assert_eq!(s.version, VersionField::Int(7));
        assert_eq!(s.record.engineering.approver.as_deref(), Some("a@x"));
        assert_eq!(
            s.record.stakeholder.conditions.as_deref(),
            Some("monitor latency")
        );
    }

    const REJECTED_AND_APPROVED: &str =
        "engineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\n";

    fn rejected_because(front: &str) -> String {
        match parse("p", &doc(front)).verdict {
            Verdict::Rejected(why) => why,
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[test]
    fn override_capturing_both_decisions_passes_and_records_both() {
        let front = format!(
            "{REJECTED_AND_APPROVED}state_override:\n  engineering_signoff:\n    decision: REJECTED\n  stakeholder_signoff:\n    decision: APPROVED\n  reason: hotfix\n  approved_by: cto@x\n"
        );
        let s = parse("p", &doc(&front));
        assert_eq!(s.verdict, Verdict::Overridden);
        let o = s.record.override_.unwrap();
        assert_eq!(o.engineering_decision.as_deref(), Some("REJECTED"));
        assert_eq!(o.stakeholder_decision.as_deref(), Some("APPROVED"));
        assert_eq!(o.reason.as_deref(), Some("hotfix"));
        assert_eq!(o.approved_by.as_deref(), Some("cto@x"));
    }

    #[test]
    fn override_capturing_only_the_rejected_decision_blocks() {
        let why = rejected_because(&format!(
            "{REJECTED_AND_APPROVED}state_override:\n  engineering_signoff:\n    decision: REJECTED\n  reason: hotfix\n"
        ));
        assert!(
            why.contains(
                "state_override.stakeholder_signoff.decision is missing; an override must capture both decisions verbatim"
            ),
            "{why}"
        );
        assert!(
            why.contains("engineering_signoff.decision is \"REJECTED\""),
            "{why}"
        );
        assert!(!why.contains("state_override.engineering_signoff"), "{why}");
    }

    #[test]
    fn override_capturing_the_approved_decision_in_another_case_blocks() {
        let why = rejected_because(&format!(
            "{REJECTED_AND_APPROVED}state_override:\n  engineering_signoff:\n    decision: REJECTED\n  stakeholder_signoff:\n    decision: approved\n"
        ));
        assert!(
            why.contains(
                "state_override.stakeholder_signoff.decision is \"approved\" but stakeholder_signoff.decision is \"APPROVED\""
            ),
            "{why}"
        );
    }

    #[test]
    fn override_capturing_the_rejected_decision_in_another_case_blocks() {
        let why = rejected_because(&format!(
            "{REJECTED_AND_APPROVED}state_override:\n  engineering_signoff:\n    decision: rejected\n  stakeholder_signoff:\n    decision: APPROVED\n"
        ));
        assert!(
            why.contains("state_override.engineering_signoff.decision is \"rejected\" but engineering_signoff.decision is \"REJECTED\""),
            "{why}"
        );
    }

    #[test]
    fn without_override_the_rejection_is_named() {
        let why = rejected_because(REJECTED_AND_APPROVED);
        assert_eq!(
            why,
            "engineering_signoff.decision is \"REJECTED\" (no state_override captures it)"
        );
    }

    #[test]
    fn override_of_two_approving_decisions_changes_nothing() {
        let s = parse(
            "p",
            &doc(
                "engineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\nstate_override:\n  engineering_signoff:\n    decision: REJECTED\n",
            ),
        );
        assert_eq!(s.verdict, Verdict::Approved);
        assert_eq!(s.record.override_, None);
    }

    #[test]
    fn missing_decision_is_incomplete_even_with_override() {
        let s = parse(
            "p",
            &doc(
                "engineering_signoff:\n  approver: a\nstakeholder_signoff:\n  decision: APPROVED\nstate_override:\n  engineering_signoff:\n    decision: null\n",
            ),
        );
        assert!(
            matches!(s.verdict, Verdict::Incomplete(_)),
            "{:?}",
            s.verdict
        );
    }

    fn unparseable_because(front: &str) -> String {
        match parse("p", &doc(front)).verdict {
            Verdict::Unparseable(why) => why,
            other => panic!("expected Unparseable, got {other:?}"),
        }
    }

    #[test]
    fn a_binary_tag_does_not_decode_to_approved() {
        let why = unparseable_because(
            "engineering_signoff:\n  decision: !!binary QVBQUk9WRUQ=\nstakeholder_signoff:\n  decision: APPROVED\n",
        );
        assert_eq!(
            why,
            "the tag !!binary is not allowed in the front matter (line 3): only plain values and the tags !!str, !!int, !!bool and !!null are"
        );
    }

    #[test]
    fn a_capture_through_an_alias_is_not_verbatim() {
        let why = unparseable_because(
            "engineering_signoff:\n  decision: &eng REJECTED\nstakeholder_signoff:\n  decision: APPROVED\nstate_override:\n  engineering_signoff:\n    decision: *eng\n  stakeholder_signoff:\n    decision: APPROVED\n  approved_by: cto@x\n  reason: hotfix\n",
        );
        assert_eq!(
            why,
            "anchors and aliases are not allowed in the front matter; a verbatim capture must be written out (line 3: &eng)"
        );
    }

    const CAPTURED_BOTH: &str = "state_override:\n  engineering_signoff:\n    decision: REJECTED\n  stakeholder_signoff:\n    decision: APPROVED\n";

    #[test]
    fn an_override_must_name_who_approved_it_and_why() {
        for (extra, fault) in [
            (
                "  reason: hotfix\n",
                "state_override.approved_by is missing",
            ),
            ("  approved_by: cto@x\n", "state_override.reason is missing"),
            (
                "  approved_by: ' '\n  reason: hotfix\n",
                "state_override.approved_by is empty",
            ),
            (
                "  approved_by: cto@x\n  reason: 42\n",
                "state_override.reason is 42, not a string",
            ),
            (
                "",
                "state_override.approved_by is missing; state_override.reason is missing",
            ),
        ] {
            let why = rejected_because(&format!("{REJECTED_AND_APPROVED}{CAPTURED_BOTH}{extra}"));
            assert_eq!(
                why,
                format!(
                    "engineering_signoff.decision is \"REJECTED\"; {fault}; an override must name who approved it (approved_by) and why (reason)"
                )
            );
        }
    }

    #[test]
    fn approver_aliases_do_not_sign_an_override() {
        let why = rejected_because(&format!(
            "{REJECTED_AND_APPROVED}{CAPTURED_BOTH}  approver: cto@x\n  justification: hotfix\n"
        ));
        assert!(
            why.contains("state_override.approved_by is missing; state_override.reason is missing"),
            "{why}"
        );
    }

    #[test]
    fn the_model_named_is_kept_and_one_of_another_type_is_unparseable() {
        let s = parse(
            "p",
            &doc(
                "model_version: 12\nmodel_id: m-1\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n",
            ),
        );
        assert_eq!(s.verdict, Verdict::Approved);
        assert_eq!(s.model.model_version, Some(12));
        assert_eq!(s.model.model_id.as_deref(), Some("m-1"));
        let why = unparseable_because(
            "model_version: twelve\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n",
        );
        assert_eq!(
            why,
            "in the front matter, \"model_version\" is \"twelve\", not a positive integer"
        );
    }

    #[test]
    fn no_front_matter() {
        assert!(matches!(
            parse("p", b"# Decision\nengineering_signoff: APPROVED\n").verdict,
            Verdict::Unparseable(_)
        ));
    }
}
