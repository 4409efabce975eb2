//! Whether an artifact is about the model version being released (pure).
//!
//! An evaluation is evidence only for the model it evaluated. The eval summary binds itself to
//! the released model by at least one of:
//! - `model_version`: equal to `spec.model.version`;
//! - `model_id`: equal to the release's logged model (the model version's own);
//! - `run_id`: an MLflow run whose model inputs (`inputs.model_inputs[].model_id`) include the
//!   release's logged model.
//!
//! Strict reading: every binding the summary declares must hold (a summary naming version 12
//! and a run that evaluated version 10's model is about neither for sure); a run without model
//! inputs, or one that does not exist, names no model and binds nothing; a summary that names no
//! model at all is unbound and blocks too.
//!
//! The signoff is a human decision about N; it may name the model (`model_version` or
//! `model_id` at the top level of its front matter) and then must name the released one, but a
//! signoff that names none is allowed.

use serde_json::{Map, Value};

/// The model an artifact says it is about (both absent when it says nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelClaims {
    /// `model_version`: a version of the release's registered model.
    pub model_version: Option<i64>,
    /// `model_id`: a logged model id (`m-...`).
    pub model_id: Option<String>,
}

impl ModelClaims {
    /// Reads `model_version` (a positive integer) and `model_id` (a non-empty string) from the
    /// top level of an artifact; `null` counts as absent. The error names the field and what it
    /// holds instead.
    pub fn read(root: &Map<String, Value>) -> Result<Self, String> {
        let model_version = match root.get("model_version") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_i64().filter(|v| *v >= 1) {
                Some(v) => Some(v),
                None => {
                    return Err(format!("\"model_version\" is {n}, not a positive integer"));
                }
            },
            Some(other) => {
                return Err(format!(
                    "\"model_version\" is {}, not a positive integer",
                    short(other)
                ));
            }
        };
        let model_id = match root.get("model_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(other) => {
                return Err(format!(
                    "\"model_id\" is {}, not a non-empty string",
                    short(other)
                ));
            }
        };
        Ok(ModelClaims {
            model_version,
            model_id,
        })
    }

    /// Whether the artifact names a model itself (a run it names may still do).
    pub fn is_empty(&self) -> bool {
        self.model_version.is_none() && self.model_id.is_none()
    }
}

/// The released model, as bindings are checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released<'a> {
    /// The registered model's name.
    pub model: &'a str,
    /// `spec.model.version`.
    pub version: i64,
    /// The release's logged model: the model version's own, else `spec.model.loggedModelId`;
    /// `None` when neither names one.
    pub model_id: Option<&'a str>,
}

impl Released<'_> {
    fn describe(&self) -> String {
        format!("{} version {}", self.model, self.version)
    }
}

/// What the summary's evaluation run says about the model it evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEvidence<'a> {
    /// The summary names no run.
    NotNamed,
    /// The named run does not exist.
    Missing(&'a str),
    /// The named run and the logged models it took as inputs (maybe none).
    Models(&'a str, &'a [String]),
}

impl RunEvidence<'_> {
    /// Whether checking it needs the release's logged model id.
    fn names_models(&self) -> bool {
        matches!(self, RunEvidence::Models(_, models) if !models.is_empty())
    }
}

/// Whether the summary's bindings need the release's logged model id (then the model version
/// is read); a `model_version` alone is checked against the spec.
pub fn needs_model_id(claims: &ModelClaims, run: &RunEvidence<'_>) -> bool {
    claims.model_id.is_some() || run.names_models()
}

/// The binding verdict of an eval summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Every binding declared holds; one phrase per binding.
    Bound(Vec<String>),
    /// A binding names another model; one phrase per mismatch, naming what the summary names
    /// and what is released.
    Mismatch(Vec<String>),
    /// Nothing names a model; the phrase says what to declare.
    Unbound(String),
}

/// Decides whether an eval summary is bound to the released model.
pub fn summary(claims: &ModelClaims, run: &RunEvidence<'_>, released: &Released<'_>) -> Binding {
    let mut bound = Vec::new();
    let mut mismatches = Vec::new();
    if let Some(v) = claims.model_version {
        if v == released.version {
            bound.push(format!("model_version {v}"));
        } else {
            mismatches.push(format!(
                "names model_version {v}, but the release is {}",
                released.describe()
            ));
        }
    }
    if let Some(id) = &claims.model_id {
        match model_id(id, released) {
            Ok(()) => bound.push(format!("model_id {id}")),
            Err(why) => mismatches.push(why),
        }
    }
    if let RunEvidence::Models(run_id, models) = run
        && !models.is_empty()
    {
        match released.model_id {
            Some(own) if models.iter().any(|m| m == own) => {
                bound.push(format!("run {run_id} evaluated {own}"));
            }
            Some(own) => mismatches.push(format!(
                "names run_id {run_id}, whose run evaluated logged model {}, not the release's {own} ({})",
                models.join(", "),
                released.describe()
            )),
            None => mismatches.push(format!(
                "names run_id {run_id}, whose run evaluated logged model {}, but {} carries no logged model id to compare with",
                models.join(", "),
                released.describe()
            )),
        }
    }
    if !mismatches.is_empty() {
        return Binding::Mismatch(mismatches);
    }
    if !bound.is_empty() {
        return Binding::Bound(bound);
    }
    let mut why = format!(
        "names no model it evaluated; declare \"model_version\": {}",
        released.version
    );
    match released.model_id {
        Some(own) => why.push_str(&format!(
            ", \"model_id\": \"{own}\", or a \"run_id\" whose run logged {own} as a model input"
        )),
        None => why.push_str(", or \"model_id\" (the release's logged model)"),
    }
    match run {
        RunEvidence::NotNamed => {}
        RunEvidence::Missing(run_id) => {
            why.push_str(&format!(" (its run_id {run_id} names no existing run)"));
        }
        RunEvidence::Models(run_id, _) => {
            why.push_str(&format!(" (its run {run_id} logged no model input)"));
        }
    }
    Binding::Unbound(why)
}

/// Whether a signoff naming a model names the released one: `Err` with one phrase per
/// mismatch; a signoff naming none passes (it is a decision about N).
pub fn signoff(claims: &ModelClaims, released: &Released<'_>) -> Result<(), Vec<String>> {
    let mut mismatches = Vec::new();
    if let Some(v) = claims.model_version.filter(|v| *v != released.version) {
        mismatches.push(format!(
            "names model_version {v}, but the release is {}",
            released.describe()
        ));
    }
    if let Some(Err(why)) = claims.model_id.as_deref().map(|id| model_id(id, released)) {
        mismatches.push(why);
    }
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(mismatches)
    }
}

fn model_id(id: &str, released: &Released<'_>) -> Result<(), String> {
    match released.model_id {
        Some(own) if own == id => Ok(()),
        Some(own) => Err(format!(
            "names model_id {id}, but the release's logged model is {own} ({})",
            released.describe()
        )),
        None => Err(format!(
            "names model_id {id}, but {} carries no logged model id (and spec.model.loggedModelId is not set) to compare with",
            released.describe()
        )),
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V10: &str = "m-10";
    const V12: &str = "m-12";

    fn released(model_id: Option<&str>) -> Released<'_> {
        Released {
            model: "main.agents.m",
            version: 10,
            model_id,
        }
    }

    fn claims(json: &str) -> Result<ModelClaims, String> {
        match serde_json::from_str::<Value>(json).expect("json") {
            Value::Object(m) => ModelClaims::read(&m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn claims_must_be_a_positive_integer_and_a_string() {
        assert_eq!(
            claims(r#"{"model_version": 12, "model_id": "m-1"}"#),
            Ok(ModelClaims {
                model_version: Some(12),
                model_id: Some("m-1".into())
            })
        );
        assert_eq!(
            claims(r#"{"model_version": null}"#),
            Ok(ModelClaims::default())
        );
        for (bad, why) in [
            (r#"{"model_version": "12"}"#, "\"model_version\" is \"12\""),
            (r#"{"model_version": 12.5}"#, "\"model_version\" is 12.5"),
            (r#"{"model_version": 0}"#, "not a positive integer"),
            (
                r#"{"model_id": 5}"#,
                "\"model_id\" is 5, not a non-empty string",
            ),
            (r#"{"model_id": " "}"#, "not a non-empty string"),
        ] {
            let err = claims(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_summary_of_another_model_version_names_both() {
        let c = claims(r#"{"model_version": 12}"#).expect("claims");
        let Binding::Mismatch(why) = summary(&c, &RunEvidence::NotNamed, &released(Some(V10)))
        else {
            panic!("expected a mismatch")
        };
        assert_eq!(
            why,
            vec!["names model_version 12, but the release is main.agents.m version 10"]
        );
    }

    #[test]
    fn each_binding_alone_binds() {
        let r = released(Some(V10));
        let by_version = claims(r#"{"model_version": 10}"#).expect("claims");
        assert!(matches!(
            summary(&by_version, &RunEvidence::NotNamed, &r),
            Binding::Bound(_)
        ));
        let by_id = claims(r#"{"model_id": "m-10"}"#).expect("claims");
        assert!(matches!(
            summary(&by_id, &RunEvidence::NotNamed, &r),
            Binding::Bound(_)
        ));
        let models = vec![V12.to_string(), V10.to_string()];
        assert_eq!(
            summary(
                &ModelClaims::default(),
                &RunEvidence::Models("r1", &models),
                &r
            ),
            Binding::Bound(vec!["run r1 evaluated m-10".into()])
        );
    }

    #[test]
    fn every_declared_binding_must_hold() {
        let r = released(Some(V10));
        let c = claims(r#"{"model_version": 10, "model_id": "m-12"}"#).expect("claims");
        let Binding::Mismatch(why) = summary(&c, &RunEvidence::NotNamed, &r) else {
            panic!("expected a mismatch")
        };
        assert_eq!(
            why,
            vec![
                "names model_id m-12, but the release's logged model is m-10 (main.agents.m version 10)"
            ]
        );
        let models = vec![V12.to_string()];
        let by_version = claims(r#"{"model_version": 10}"#).expect("claims");
        let Binding::Mismatch(why) = summary(&by_version, &RunEvidence::Models("r1", &models), &r)
        else {
            panic!("expected a mismatch")
        };
        assert!(
            why[0].contains(
                "run_id r1, whose run evaluated logged model m-12, not the release's m-10"
            ),
            "{why:?}"
        );
    }

    #[test]
    fn a_summary_naming_nothing_is_unbound_and_says_what_to_declare() {
        let r = released(Some(V10));
        let none = ModelClaims::default();
        let Binding::Unbound(why) = summary(&none, &RunEvidence::NotNamed, &r) else {
            panic!("expected unbound")
        };
        assert!(
            why.contains("\"model_version\": 10") && why.contains("\"model_id\": \"m-10\""),
            "{why}"
        );
        let Binding::Unbound(why) = summary(&none, &RunEvidence::Models("r1", &[]), &r) else {
            panic!("expected unbound")
        };
        assert!(why.contains("its run r1 logged no model input"), "{why}");
        let Binding::Unbound(why) = summary(&none, &RunEvidence::Missing("r9"), &r) else {
            panic!("expected unbound")
        };
        assert!(why.contains("run_id r9 names no existing run"), "{why}");
    }

    #[test]
    fn a_model_id_cannot_bind_a_version_without_one() {
        let c = claims(r#"{"model_id": "m-10"}"#).expect("claims");
        let Binding::Mismatch(why) = summary(&c, &RunEvidence::NotNamed, &released(None)) else {
            panic!("expected a mismatch")
        };
        assert!(why[0].contains("carries no logged model id"), "{why:?}");
    }

    #[test]
    fn only_model_ids_and_model_inputs_need_the_model_version() {
        let models = vec![V12.to_string()];
        assert!(!needs_model_id(
            &claims(r#"{"model_version": 10}"#).expect("claims"),
            &RunEvidence::Models("r1", &[])
        ));
        assert!(needs_model_id(
            &ModelClaims::default(),
            &RunEvidence::Models("r1", &models)
        ));
        assert!(needs_model_id(
            &claims(r#"{"model_id": "m-1"}"#).expect("claims"),
            &RunEvidence::NotNamed
        ));
    }

    #[test]
    fn a_signoff_naming_no_model_passes_and_one_naming_another_blocks() {
        let r = released(Some(V10));
        assert_eq!(signoff(&ModelClaims::default(), &r), Ok(()));
        assert_eq!(
            signoff(&claims(r#"{"model_version": 10}"#).expect("claims"), &r),
            Ok(())
        );
        let why = signoff(
            &claims(r#"{"model_version": 12, "model_id": "m-12"}"#).expect("claims"),
            &r,
        )
        .unwrap_err();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("model_version 12") && why[0].contains("version 10"));
    }
}
