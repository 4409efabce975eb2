//! The evaluation gate's reading of `summary.json` and its comparison with the declared
//! thresholds.
//!
//! Expected shape (documented in the README):
//! `{"version": N, "model_version": V, "model_id": "m-...", "run_id": "<mlflow run id>",
//! "metrics": {"<metric>": <number>, ...}}`; the model fields bind the summary to the model it
//! evaluated ([`super::model_binding`]).
//! Strict: the file is one JSON object of at most [`MAX_SUMMARY_BYTES`]; duplicate keys anywhere
//! are refused (a later `"safety": 0.99` must not silently replace an earlier `0.1`); a metric
//! must be a JSON number (a string `"0.9"` or a boolean is not a number).

use std::collections::HashSet;
use std::fmt;

use agentrelease_api::release::Threshold;
use agentrelease_api::status::MetricResult;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::model_binding::ModelClaims;
use super::signoff::VersionField;

/// The largest summary read.
pub const MAX_SUMMARY_BYTES: u64 = 1024 * 1024;

/// A parsed summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The declared version.
    pub version: VersionField,
    /// The evaluation run, when declared.
    pub run_id: Option<String>,
    /// The model the summary says it evaluated (`model_version`, `model_id`).
    pub model: ModelClaims,
    /// The metrics object.
    pub metrics: Map<String, Value>,
}

/// Why a summary could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SummaryError(pub String);

/// Parses a summary file.
pub fn parse(bytes: &[u8]) -> Result<Summary, SummaryError> {
    if bytes.len() as u64 > MAX_SUMMARY_BYTES {
        return Err(SummaryError(format!(
            "the summary is larger than {MAX_SUMMARY_BYTES} bytes"
        )));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut de)
        .map_err(|e| SummaryError(format!("not valid JSON: {e}")))?;
    de.end()
        .map_err(|e| SummaryError(format!("not valid JSON: {e}")))?;
    let Value::Object(root) = value else {
        return Err(SummaryError("the summary is not a JSON object".into()));
    };
    let metrics = match root.get("metrics") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(SummaryError("\"metrics\" is not an object".into())),
        None => return Err(SummaryError("the summary has no \"metrics\" object".into())),
    };
    let run_id = match root.get("run_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(SummaryError("\"run_id\" is not a non-empty string".into())),
    };
    let model = ModelClaims::read(&root).map_err(SummaryError)?;
    Ok(Summary {
        version: VersionField::from_object(&root),
        run_id,
        model,
        metrics,
    })
}

/// Compares every threshold with the summary; the result lists each metric with its verdict.
pub fn compare(summary: &Summary, thresholds: &[Threshold]) -> Vec<MetricResult> {
    thresholds
        .iter()
        .map(|t| {
            let raw = summary.metrics.get(&t.metric);
            let observed = raw.and_then(Value::as_f64).filter(|v| v.is_finite());
            let reason = match (raw, observed) {
                (None, _) | (Some(Value::Null), _) => Some("missing from the summary".to_string()),
                (Some(other), None) => Some(format!("not a number: {other}")),
                (Some(_), Some(v)) => {
                    if let Some(min) = t.min.filter(|min| v < *min) {
                        Some(format!("{v} is below the minimum {min}"))
                    } else {
                        t.max
                            .filter(|max| v > *max)
                            .map(|max| format!("{v} is above the maximum {max}"))
                    }
                }
            };
            MetricResult {
                metric: t.metric.clone(),
                observed,
                min: t.min,
                max: t.max,
                passed: reason.is_none(),
                reason,
            }
        })
        .collect()
}

/// A JSON value whose objects may not repeat a key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let value = map.next_value_seed(StrictValue)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(metric: &str, min: Option<f64>, max: Option<f64>) -> Threshold {
        Threshold {
            metric: metric.into(),
            min,
            max,
            max_regression: None,
        }
    }

    #[test]
    fn compares_bounds_inclusively() {
        let s = parse(br#"{"version": 7, "metrics": {"a": 0.8, "b": 2000, "c": 0.5}}"#).unwrap();
        let r = compare(
            &s,
            &[
                t("a", Some(0.8), None),
                t("b", None, Some(1999.0)),
                t("c", Some(0.5), Some(0.5)),
            ],
        );
        assert!(r[0].passed);
        assert!(!r[1].passed);
        assert_eq!(
            r[1].reason.as_deref(),
            Some("2000 is above the maximum 1999")
        );
        assert!(r[2].passed);
        assert_eq!(s.version, VersionField::Int(7));
    }

    #[test]
    fn missing_and_non_numeric_metrics_fail() {
        let s = parse(br#"{"metrics": {"a": "0.9", "b": true, "c": null}}"#).unwrap();
        let r = compare(
            &s,
            &[
                t("a", Some(0.1), None),
                t("b", Some(0.1), None),
                t("c", Some(0.1), None),
                t("d", Some(0.1), None),
            ],
        );
        assert!(r.iter().all(|m| !m.passed));
        assert_eq!(r[0].reason.as_deref(), Some("not a number: \"0.9\""));
        assert_eq!(r[3].reason.as_deref(), Some("missing from the summary"));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse(br#"{"metrics": {"safety": 0.1, "safety": 0.99}}"#).unwrap_err();
        assert!(err.0.contains("duplicate key \"safety\""), "{err}");
    }

    #[test]
    fn shape_errors() {
        assert!(parse(b"[1]").is_err());
        assert!(parse(br#"{"metrics": [1]}"#).is_err());
        assert!(parse(br#"{"version": 7}"#).is_err());
        assert!(parse(b"{\"metrics\": {}} trailing").is_err());
        assert!(parse(br#"{"metrics": {}, "run_id": 5}"#).is_err());
        assert!(parse(br#"{"metrics": {}, "model_version": "12"}"#).is_err());
        assert!(parse(br#"{"metrics": {}, "model_id": 12}"#).is_err());
    }
}
