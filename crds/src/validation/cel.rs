//! Evaluating the CRD's CEL rules on untrusted input without letting the rule library crash or
//! stall the caller.
//!
//! The client-side CEL library adds integers unchecked (`list.sum()` of two huge values panics
//! with an overflow in a debug build and wraps in a release build) and walks lists of any length
//! (a rule like `traffic.all(r, servedEntities.exists(...))` is quadratic). So the rules are
//! evaluated on a copy of the object brought within the bounds its schema declares, which the
//! structural check enforces and reports on its own: integers clamped to their format (`int32`,
//! `int64`) and lists cut to `maxItems`. Within those bounds no sum the rules take can overflow
//! (at most a few dozen `int32` values) and every rule is cheap, as the API server's cost budget
//! assumes. A rule that still panics becomes a [`Problem`] at the deepest field whose rules panic,
//! instead of a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};

use kube::core::cel::{CompiledSchema, ErrorKind, ValidationError, Validator};
use serde_json::{Map, Number, Value};

use super::Problem;

/// The message of a rule the library could not evaluate.
pub const RULE_PANICKED: &str =
    "the CEL rules of this field could not be evaluated (the rule library failed on this value)";

/// What one evaluation found.
pub(super) struct Outcome {
    /// The rules that said no, and those that failed to evaluate.
    pub errors: Vec<ValidationError>,
    /// Set when the rule library panicked: the problem naming the field.
    pub panicked: Option<Problem>,
}

/// Evaluates the rules of `compiled` on `obj` brought within `schema`'s bounds.
pub(super) fn evaluate(
    cel: &Validator,
    compiled: &CompiledSchema,
    schema: &Value,
    obj: &Value,
) -> Outcome {
    let bounded = within_bounds(schema, obj);
    evaluate_unbounded(cel, compiled, &bounded)
}

/// Evaluates the rules on `obj` as it is, catching a panic of the rule library.
fn evaluate_unbounded(cel: &Validator, compiled: &CompiledSchema, obj: &Value) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| {
        cel.validate_compiled(compiled, obj, None)
    })) {
        Ok(Ok(())) => Outcome {
            errors: Vec::new(),
            panicked: None,
        },
        Ok(Err(errors)) => Outcome {
            errors: errors.into_vec(),
            panicked: None,
        },
        Err(_) => Outcome {
            errors: Vec::new(),
            panicked: Some(Problem::new(
                quietly(|| panicking_field(cel, compiled, obj, String::new())),
                RULE_PANICKED,
            )),
        },
    }
}

/// Whether evaluating the rules of `compiled` on `value` panics.
fn panics(cel: &Validator, compiled: &CompiledSchema, value: &Value) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        cel.validate_compiled(compiled, value, None)
    }))
    .is_err()
}

/// The dotted path of the deepest field under `path` whose rules panic on their own; `path`
/// itself when none of its children's do.
fn panicking_field(
    cel: &Validator,
    compiled: &CompiledSchema,
    value: &Value,
    path: String,
) -> String {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let sub = compiled
                    .properties
                    .get(key)
                    .or(compiled.additional_properties.as_deref());
                if let Some(sub) = sub
                    && panics(cel, sub, child)
                {
                    return panicking_field(cel, sub, child, join(key));
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = compiled.items.as_deref() {
                for (i, item) in items.iter().enumerate() {
                    if panics(cel, sub, item) {
                        return panicking_field(cel, sub, item, format!("{path}[{i}]"));
                    }
                }
            }
        }
        _ => {}
    }
    path
}

/// Runs `f` with the panic hook silenced: the first panic has been reported already, and the
/// search for its field re-raises it on purpose.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = f();
    std::panic::set_hook(hook);
    out
}

/// A copy of `value` within the bounds `schema` declares: integers clamped to the range of their
/// `format` (`int32`, else `int64`), lists cut to `maxItems`. Everything else is kept as it is.
pub(super) fn within_bounds(schema: &Value, value: &Value) -> Value {
    match value {
        Value::Number(n) if schema.get("type").and_then(Value::as_str) == Some("integer") => {
            Value::Number(clamp_integer(schema, n))
        }
        Value::Array(items) => {
            let max = schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .and_then(|m| usize::try_from(m).ok())
                .unwrap_or(usize::MAX);
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            Value::Array(
                items
                    .iter()
                    .take(max)
                    .map(|item| within_bounds(item_schema, item))
                    .collect(),
            )
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let bounded: Map<String, Value> = map
                .iter()
                .map(|(key, child)| {
                    let child = match props.and_then(|p| p.get(key)).or(additional) {
                        Some(sub) => within_bounds(sub, child),
                        None => child.clone(),
                    };
                    (key.clone(), child)
                })
                .collect();
            Value::Object(bounded)
        }
        other => other.clone(),
    }
}

fn clamp_integer(schema: &Value, n: &Number) -> Number {
    let (min, max) = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => Number::from(i.clamp(min, max)),
        // Above i64::MAX.
        (None, Some(_)) => Number::from(max),
        // A fraction: the structural check reports the type.
        (None, None) => n.clone(),
    }
}

/// Whether a CEL error should be reported on an object the structural check already refused:
/// a rule may fail to evaluate there only because of the structural problem, so keep the rules
/// that said no.
pub(super) fn reportable(e: &ValidationError, structurally_valid: bool) -> bool {
    structurally_valid || e.kind == ErrorKind::ValidationFailure
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::cel::compile_schema;
    use serde_json::json;

    fn traffic_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "traffic": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {
                        "type": "object",
                        "properties": {
                            "pct": {"type": "integer", "format": "int32"}
                        }
                    }
                }
            },
            "x-kubernetes-validations": [
                {"rule": "self.traffic.map(r, r.pct).sum() == 100", "message": "must sum to 100"}
            ]
        })
    }

    #[test]
    fn integers_are_clamped_to_their_format_and_lists_cut_to_max_items() {
        let obj = json!({"traffic": [
            {"pct": 9_223_372_036_854_775_807_i64},
            {"pct": 18_446_744_073_709_551_615_u64},
            {"pct": -9_223_372_036_854_775_807_i64},
            {"pct": 1}
        ]});
        assert_eq!(
            within_bounds(&traffic_schema(), &obj),
            json!({"traffic": [
                {"pct": 2_147_483_647},
                {"pct": 2_147_483_647},
                {"pct": -2_147_483_648}
            ]})
        );
    }

    #[test]
    fn a_sum_that_would_overflow_is_a_rule_failure_not_a_panic() {
        let schema = traffic_schema();
        let compiled = compile_schema(&schema);
        let obj = json!({"traffic": [
            {"pct": 9_223_372_036_854_775_807_i64},
            {"pct": 9_223_372_036_854_775_807_i64}
        ]});
        let outcome = evaluate(&Validator::new(), &compiled, &schema, &obj);
        assert!(outcome.panicked.is_none());
        let messages: Vec<&str> = outcome.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["must sum to 100"]);
    }

    #[test]
    fn a_panicking_rule_becomes_a_problem_at_its_field() {
        let schema = json!({
            "type": "object",
            "properties": {"spec": traffic_schema(), "other": {"type": "string"}}
        });
        let compiled = compile_schema(&schema);
        let obj = json!({"other": "x", "spec": {"traffic": [
            {"pct": 9_223_372_036_854_775_807_i64},
            {"pct": 9_223_372_036_854_775_807_i64}
        ]}});
        // Without the bounds the library overflows; the guard names the field.
        let outcome = evaluate_unbounded(&Validator::new(), &compiled, &obj);
        if cfg!(debug_assertions) {
            assert_eq!(outcome.panicked, Some(Problem::new("spec", RULE_PANICKED)));
        } else {
            // A release build wraps instead of panicking: the rule merely says no.
            assert!(outcome.panicked.is_none());
        }
    }
}
