//! Client-side validation of AgentRelease and ReleaseTarget manifests, as strict as the API
//! server: the structural OpenAPI schema of the generated CRD (types, required fields, enums,
//! bounds, unknown fields as with `kubectl --validate=strict`), its CEL rules evaluated with
//! kube's client-side CEL on the same schema (on a copy within the schema's bounds, so no input
//! crashes or stalls the rule library: see `cel`), and the rules CEL cannot express.
//!
//! Problems carry a dotted field path (`spec.model.alias`, `spec.permissions[1].level`) so a
//! caller holding source positions can point at the line.

mod cel;
mod semantic;
mod structural;

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::cel::{CompiledSchema, Validator as CelValidator, compile_schema};
use serde_json::Value;

use crate::{AgentRelease, ReleaseTarget};

pub use semantic::check_release_against_target;

/// The message for the legacy serving shape, wherever it appears.
pub const LEGACY_SERVED_MODELS: &str = "served_models is the legacy Databricks serving shape and is not supported: use servingEndpoint.servedEntities (entityName, entityVersion)";

/// A problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Dotted path of the offending field (`spec.model.alias`); empty for the whole object.
    pub path: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The kinds of this API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `AgentRelease`.
    AgentRelease,
    /// `ReleaseTarget`.
    ReleaseTarget,
}

impl Kind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AgentRelease => "AgentRelease",
            Kind::ReleaseTarget => "ReleaseTarget",
        }
    }
}

/// What an object is, judged from `apiVersion` and `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// One of this API's kinds at the served version.
    Ours(Kind),
    /// This API's group, but an unknown kind or version: always a problem.
    OurGroupUnknown(Problem),
    /// Something else (a Secret, a Deployment): not validated here.
    Other {
        /// `apiVersion` as written.
        api_version: String,
        /// `kind` as written.
        kind: String,
    },
}

/// Classifies a manifest by `apiVersion` and `kind`.
pub fn classify(obj: &Value) -> Classified {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let group = api_version.split('/').next().unwrap_or("");
    if group != crate::GROUP {
        return Classified::Other {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        };
    }
    if api_version != crate::API_VERSION {
        return Classified::OurGroupUnknown(Problem::new(
            "apiVersion",
            format!(
                "unsupported version {api_version:?}: this operator serves {}",
                crate::API_VERSION
            ),
        ));
    }
    match kind {
        "AgentRelease" => Classified::Ours(Kind::AgentRelease),
        "ReleaseTarget" => Classified::Ours(Kind::ReleaseTarget),
        other => Classified::OurGroupUnknown(Problem::new(
            "kind",
            format!(
                "unknown kind {other:?} in {}: expected AgentRelease or ReleaseTarget",
                crate::GROUP
            ),
        )),
    }
}

/// Validates manifests of this API. Build it once; it holds the compiled CEL rules.
pub struct Validator {
    release: Compiled,
    target: Compiled,
    cel: CelValidator,
}

struct Compiled {
    schema: Value,
    cel: CompiledSchema,
}

impl Compiled {
    fn from_crd(crd: &CustomResourceDefinition) -> Self {
        let schema = crd
            .spec
            .versions
            .first()
            .and_then(|v| v.schema.as_ref())
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or(Value::Null);
        let cel = compile_schema(&schema);
        Compiled { schema, cel }
    }
}

impl Default for Validator {
    fn default() -> Self {
        Self::new()
    }
}

impl Validator {
    /// Compiles the schemas and rules of both CRDs.
    pub fn new() -> Self {
        Validator {
            release: Compiled::from_crd(&crate::agent_release_crd()),
            target: Compiled::from_crd(&crate::release_target_crd()),
            cel: CelValidator::new(),
        }
    }

    /// The openAPIV3Schema of a kind, as served.
    pub fn schema(&self, kind: Kind) -> &Value {
        match kind {
            Kind::AgentRelease => &self.release.schema,
            Kind::ReleaseTarget => &self.target.schema,
        }
    }

    /// Every problem of one object of this API: structure, CEL rules, and the rules CEL cannot
    /// express. An empty list means the API server would accept it.
    pub fn validate(&self, kind: Kind, obj: &Value) -> Vec<Problem> {
        let compiled = match kind {
            Kind::AgentRelease => &self.release,
            Kind::ReleaseTarget => &self.target,
        };
        let mut problems = structural::check(&compiled.schema, obj);
        let structurally_valid = problems.is_empty();
        let outcome = cel::evaluate(&self.cel, &compiled.cel, &compiled.schema, obj);
        let mut rule_problems: Vec<Problem> = outcome
            .errors
            .into_iter()
            .filter(|e| cel::reportable(e, structurally_valid))
            .map(|e| Problem::new(e.field_path, e.message))
            .chain(outcome.panicked)
            .collect();
        if !structurally_valid {
            // The typed checks assume a structurally valid object, as they do on the server.
            problems.append(&mut rule_problems);
            dedup(&mut problems);
            return problems;
        }
        let mut typed = Vec::new();
        match kind {
            Kind::AgentRelease => match serde_json::from_value::<AgentRelease>(obj.clone()) {
                Ok(release) => semantic::check_release(&release, &mut typed),
                Err(e) => typed.push(Problem::new("", format!("does not decode: {e}"))),
            },
            Kind::ReleaseTarget => match serde_json::from_value::<ReleaseTarget>(obj.clone()) {
                Ok(target) => semantic::check_target(&target, &mut typed),
                Err(e) => typed.push(Problem::new("", format!("does not decode: {e}"))),
            },
        }
        // Where a typed check speaks for a field (an artifact path: which rule it breaks), the
        // CEL rule's fixed message on that field says less; keep one line per problem.
        rule_problems.retain(|r| !typed.iter().any(|t| t.path == r.path));
        problems.append(&mut rule_problems);
        problems.append(&mut typed);
        dedup(&mut problems);
        problems
    }
}

fn dedup(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert((p.path.clone(), p.message.clone())));
}
