//! The release ledger: records kept in the workspace itself, so the controller, `apply` from CI
//! and a second cluster all see the same facts. One JSON record per owned object (the alias, the
//! app, the serving endpoint) under the ledger folder of the target's workspace:
//!
//! ```text
//! <ledger>/alias/<model>@<alias>.json     owner, last good release, rollback hold
//! <ledger>/app/<name>.json                owner
//! <ledger>/endpoint/<name>.json           owner
//! ```
//!
//! A record may have no owner: the owner was deleted and released it (see
//! [`super::cleanup`]), and what it kept — the last good release, another release's hold —
//! outlives it. Such an object is unclaimed; the next release to claim it keeps what it kept.
//!
//! A workspace file was chosen over tags because the three objects have no common tag API (apps
//! have none at all), and a file can be created exclusively (`overwrite=false`), which settles a
//! race between two first claims. Deciding who owns what is a pure function of the records read
//! ([`judge`]).

use serde::{Deserialize, Serialize};

use super::workspace::{DeploymentRequest, EndpointConfig, EnvEntry};

/// The default ledger folder in the workspace tree.
pub const DEFAULT_ROOT: &str = "/Workspace/Shared/agentrelease/ledger";
/// The largest ledger record read.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// A workspace path of a ledger record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LedgerPath(pub String);

impl std::fmt::Display for LedgerPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object a release owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owned {
    /// An alias of a registered model.
    Alias {
        /// The registered model.
        model: String,
        /// The alias.
        alias: String,
    },
    /// A Databricks App.
    App(String),
    /// A serving endpoint.
    Endpoint(String),
}

impl Owned {
    /// How it reads in messages.
    pub fn describe(&self) -> String {
        match self {
            Owned::Alias { model, alias } => format!("alias {model}@{alias}"),
            Owned::App(name) => format!("app {name}"),
            Owned::Endpoint(name) => format!("serving endpoint {name}"),
        }
    }

    /// Its record's path under `root`.
    pub fn path(&self, root: &str) -> LedgerPath {
        let root = root.trim_end_matches('/');
        let (kind, key) = match self {
            Owned::Alias { model, alias } => ("alias", format!("{model}@{alias}")),
            Owned::App(name) => ("app", name.clone()),
            Owned::Endpoint(name) => ("endpoint", name.clone()),
        };
        LedgerPath(format!("{root}/{kind}/{}.json", escape(&key)))
    }
}

/// The objects a release with `spec` owns while it is the current release of its agent: the
/// alias always, then the app and the serving endpoint when declared. The engine claims these,
/// and `validate` compares them across the releases of a set of files.
pub fn owned_by(spec: &agentrelease_api::AgentReleaseSpec) -> Vec<Owned> {
    let mut owned = vec![Owned::Alias {
        model: spec.model.name.clone(),
        alias: spec.model.alias.clone(),
    }];
    if let Some(app) = &spec.app {
        owned.push(Owned::App(app.name.clone()));
    }
    if let Some(e) = &spec.serving_endpoint {
        owned.push(Owned::Endpoint(e.name.clone()));
    }
    owned
}

/// Keeps `[A-Za-z0-9._@-]`, percent-encodes everything else (names are validated upstream; this
/// only guarantees one path segment).
pub(crate) fn escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Who owns an object: a release of an agent (the registered model) with its N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The agent: the registered model's name.
    pub agent: String,
    /// The release's N.
    pub n: i64,
    /// `namespace/name` of the release.
    pub release: String,
    /// The model version it releases.
    pub model_version: i64,
    /// When it claimed the object (RFC 3339).
    pub at: String,
}

impl Claim {
    /// How it reads in messages.
    pub fn describe(&self) -> String {
        format!(
            "release {} (N={}, {} version {})",
            self.release, self.n, self.agent, self.model_version
        )
    }
}

/// The app deployment of a release, as it was when the release was Ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSnapshot {
    /// The app.
    pub name: String,
    /// The deployment id.
    pub deployment_id: String,
    /// Its source code path.
    pub source_code_path: String,
    /// Its command.
    pub command: Vec<String>,
    /// Its environment, sorted (`MLFLOW_ACTIVE_MODEL_ID` included).
    pub env: Vec<EnvEntry>,
}

/// A serving endpoint's config, as it was when the release was Ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSnapshot {
    /// The endpoint.
    pub name: String,
    /// Served entities and traffic.
    pub config: EndpointConfig,
}

/// The last release of the alias that became Ready, whole: what a rollback restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastGood {
    /// The release.
    pub claim: Claim,
    /// The app deployment, when the release has an app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSnapshot>,
    /// The endpoint config, when the release has an endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointSnapshot>,
    /// The last good release of the alias before this one (one level: its own `previous` is
    /// not kept): what a rollback of this release after it was Ready restores
    /// (`policy.followUpstreamRollback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<LastGood>>,
    /// The release identity that became Ready (records written before identities were kept
    /// have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

impl LastGood {
    /// `<release> N=<n> model version <v>`, as status and messages name it.
    pub fn describe(&self) -> String {
        format!(
            "{} N={} model version {}",
            self.claim.release, self.claim.n, self.claim.model_version
        )
    }

    /// The record of `self` becoming the last good release after `current` (pure): the
    /// release before it is kept as `previous` — `current` when it names another release,
    /// else what `current` kept.
    pub fn after(mut self, current: Option<&LastGood>) -> LastGood {
        self.previous = match current {
            Some(c) if c.claim.release != self.claim.release => Some(Box::new(LastGood {
                previous: None,
                ..c.clone()
            })),
            Some(c) => c.previous.clone(),
            None => None,
        };
        self
    }
}

/// A release held after a rollback: it stays held while its spec and artifacts are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// `namespace/name` of the held release.
    pub release: String,
    /// A digest of its spec when it was rolled back.
    pub spec_digest: String,
    /// A digest of its gate inputs when it was rolled back.
    pub fingerprint: String,
    /// Why.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
}

/// The ledger record of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The owner; `None` once its owner was deleted and released it (the record stays for the
    /// last good release or another release's hold it keeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Claim>,
    /// The last good release (alias records only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good: Option<LastGood>,
    /// A rollback hold (alias records only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    /// The owner's current deployment plan (alias records only): how a release finds its own
    /// plan without searching the plans other releases wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanEntry>,
    /// Whether the owner notes each plan here before writing it (records this version writes
    /// for a new owner): no `plan` then means the owner wrote none, so its plan is not searched
    /// for among the plans of other releases. Records written before said nothing (`false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announces_plans: bool,
    /// The release identity whose writes began and have not ended (alias records only), with
    /// the workspace as it found it ([`super::in_flight`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<super::in_flight::InFlight>,
}

/// A deployment plan a release wrote, by its marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// The marker in the plan's front matter (release, generation, gate inputs).
    pub marker: String,
    /// The plan's version M.
    pub version: i64,
    /// Where it is.
    pub path: String,
    /// Where the alias pointed when it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_from: Option<i64>,
    /// Noted before the plan was uploaded: the plan at `path` may not be there (the upload
    /// failed or its answer was lost) or may be another writer's. Entries written after their
    /// plan (by earlier versions) are `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

impl Record {
    /// Parses a record; `None` when it is not one (a record damaged by hand is treated as
    /// absent only by the caller's explicit choice). A record that names no owner and keeps
    /// nothing is not one either: a released record that keeps nothing is deleted, never
    /// written, so `{}` is damage, not a free object.
    pub fn parse(bytes: &[u8]) -> Option<Record> {
        serde_json::from_slice::<Record>(bytes).ok().filter(|r| {
            r.owner.is_some() || r.last_good.is_some() || r.hold.is_some() || r.in_flight.is_some()
        })
    }

    /// Whether `release` (`namespace/name`) owns the object.
    pub fn owned_by(&self, release: &str) -> bool {
        self.owner.as_ref().is_some_and(|o| o.release == release)
    }

    /// The JSON document.
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

/// What a release may do with an object, given its ledger record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nobody owns it: claim it.
    Unclaimed,
    /// This release owns it.
    Ours,
    /// An older release of the same agent owns it: take it over.
    Supersedes(Claim),
    /// A newer release of the same agent owns it: this release stands down.
    SupersededBy(Claim),
    /// Another release with the same N, or a release of another agent, owns it.
    Conflict(Claim),
}

/// Decides what `me` may do with an object owned by `owner` (pure).
///
/// The same release (namespace/name) is always itself, whatever its N; a higher N of the same
/// agent supersedes a lower one; the same N twice, or another agent, is a conflict.
pub fn judge(me: &Claim, owner: Option<&Claim>) -> Verdict {
    let Some(owner) = owner else {
        return Verdict::Unclaimed;
    };
    if owner.release == me.release {
        return Verdict::Ours;
    }
    if owner.agent != me.agent {
        return Verdict::Conflict(owner.clone());
    }
    match owner.n.cmp(&me.n) {
        std::cmp::Ordering::Less => Verdict::Supersedes(owner.clone()),
        std::cmp::Ordering::Greater => Verdict::SupersededBy(owner.clone()),
        std::cmp::Ordering::Equal => Verdict::Conflict(owner.clone()),
    }
}

impl AppSnapshot {
    /// The request that deploys it again.
    pub fn request(&self) -> DeploymentRequest {
        let mut env = self.env.clone();
        env.sort();
        DeploymentRequest {
            source_code_path: self.source_code_path.clone(),
            command: self.command.clone(),
            env,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(agent: &str, n: i64, release: &str) -> Claim {
        Claim {
            agent: agent.into(),
            n,
            release: release.into(),
            model_version: 1,
            at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn higher_n_supersedes_same_n_conflicts_other_agent_conflicts() {
        let me = claim("m", 7, "ns/v7");
        assert_eq!(judge(&me, None), Verdict::Unclaimed);
        assert_eq!(judge(&me, Some(&claim("m", 3, "ns/v7"))), Verdict::Ours);
        assert!(matches!(
            judge(&me, Some(&claim("m", 6, "ns/v6"))),
            Verdict::Supersedes(_)
        ));
        assert!(matches!(
            judge(&me, Some(&claim("m", 8, "ns/v8"))),
            Verdict::SupersededBy(_)
        ));
        assert!(matches!(
            judge(&me, Some(&claim("m", 7, "ns/other"))),
            Verdict::Conflict(_)
        ));
        assert!(matches!(
            judge(&me, Some(&claim("other.model", 1, "ns/x"))),
            Verdict::Conflict(_)
        ));
    }

    #[test]
    fn paths_are_one_segment_per_key() {
        let alias = Owned::Alias {
            model: "main.agents.bot".into(),
            alias: "champion".into(),
        };
        assert_eq!(
            alias.path("/Workspace/Shared/l/").0,
            "/Workspace/Shared/l/alias/main.agents.bot@champion.json"
        );
        assert_eq!(
            Owned::App("a/../b".into()).path("/r").0,
            "/r/app/a%2F..%2Fb.json"
        );
    }

    #[test]
    fn records_round_trip_and_garbage_is_not_a_record() {
        let r = Record {
            owner: Some(claim("m", 7, "ns/v7")),
            last_good: None,
            hold: None,
            plan: None,
            announces_plans: true,
            in_flight: None,
        };
        assert_eq!(Record::parse(r.render().as_bytes()), Some(r));
        assert_eq!(Record::parse(b"not json"), None);
        assert_eq!(Record::parse(b"{}"), None, "an empty object is damage");
        let released = Record {
            owner: None,
            last_good: Some(LastGood {
                claim: claim("m", 7, "ns/v7"),
                app: None,
                endpoint: None,
                previous: None,
                identity: None,
            }),
            hold: None,
            plan: None,
            announces_plans: false,
            in_flight: None,
        };
        let text = released.render();
        assert!(!text.contains("owner"), "{text}");
        assert_eq!(Record::parse(text.as_bytes()), Some(released));
    }
}
