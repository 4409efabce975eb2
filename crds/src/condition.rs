//! The Kubernetes Condition shape (`metav1.Condition`), with the helpers that keep
//! `lastTransitionTime` stable when a condition's status does not change.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Status of a condition.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet (the step has not run, or is waiting).
    Unknown,
}

impl ConditionStatus {
    /// The status as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// One aspect of the object's state, in the shape of `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of condition in PascalCase, e.g. `Ready` or `SignoffApproved`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316))]
    pub type_: String,
    /// Status of the condition: True, False or Unknown.
    pub status: ConditionStatus,
    /// A PascalCase, machine-readable reason for the condition's last transition.
    #[schemars(length(max = 1024))]
    pub reason: String,
    /// A human-readable message with details about the transition.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub message: String,
    /// The last time the condition's status changed (RFC 3339, seconds).
    #[serde(with = "rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub last_transition_time: Timestamp,
    /// The `metadata.generation` the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// A new condition with the given fields, transitioning at `now`.
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> Self {
        Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message: message.into(),
            last_transition_time: truncate_to_seconds(now),
            observed_generation: generation,
        }
    }

    /// True when the condition's status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// Finds a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Sets `next` into `conditions`, keeping the previous `lastTransitionTime` when the status did
/// not change (the Kubernetes convention), and returns whether anything changed.
pub fn set(conditions: &mut Vec<Condition>, mut next: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == next.type_) {
        Some(existing) => {
            if existing.status == next.status {
                next.last_transition_time = existing.last_transition_time;
            }
            if *existing == next {
                false
            } else {
                *existing = next;
                true
            }
        }
        None => {
            conditions.push(next);
            true
        }
    }
}

/// Drops sub-second precision: Kubernetes times are whole seconds.
pub fn truncate_to_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// Serde for timestamps in the Kubernetes wire form `2006-01-02T15:04:05Z`.
pub mod rfc3339_seconds {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes at whole-second precision in UTC.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        let secs = super::truncate_to_seconds(*t);
        s.serialize_str(&secs.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    }

    /// Accepts any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse::<Timestamp>().map_err(serde::de::Error::custom)
    }
}

/// Serde for optional timestamps in the Kubernetes wire form.
pub mod opt_rfc3339_seconds {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes at whole-second precision in UTC.
    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339_seconds::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// Accepts any RFC 3339 timestamp, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let raw = Option::<String>::deserialize(d)?;
        raw.map(|r| r.parse::<Timestamp>().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn same_status_keeps_transition_time() {
        let mut list = vec![Condition::new(
            "Ready",
            ConditionStatus::False,
            "Pending",
            "",
            Some(1),
            at(100),
        )];
        let changed = set(
            &mut list,
            Condition::new(
                "Ready",
                ConditionStatus::False,
                "Waiting",
                "x",
                Some(1),
                at(200),
            ),
        );
        assert!(changed);
        assert_eq!(list[0].last_transition_time, at(100));
        assert_eq!(list[0].reason, "Waiting");
    }

    #[test]
    fn status_change_moves_transition_time() {
        let mut list = vec![Condition::new(
            "Ready",
            ConditionStatus::False,
            "Pending",
            "",
            Some(1),
            at(100),
        )];
        set(
            &mut list,
            Condition::new(
                "Ready",
                ConditionStatus::True,
                "Released",
                "",
                Some(1),
                at(200),
            ),
        );
        assert_eq!(list[0].last_transition_time, at(200));
    }

    #[test]
    fn identical_condition_is_no_change() {
        let c = Condition::new(
            "Ready",
            ConditionStatus::True,
            "Released",
            "",
            Some(2),
            at(5),
        );
        let mut list = vec![c.clone()];
        let mut later = c.clone();
        later.last_transition_time = at(50);
        assert!(!set(&mut list, later));
    }

    #[test]
    fn serializes_in_kubernetes_time_form() {
        let c = Condition::new(
            "Ready",
            ConditionStatus::True,
            "Released",
            "",
            None,
            "2026-11-23T10:11:12.987Z".parse().unwrap(),
        );
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["lastTransitionTime"], "2026-11-23T10:11:12Z");
        assert_eq!(json["type"], "Ready");
        assert!(json.get("observedGeneration").is_none());
    }
}
