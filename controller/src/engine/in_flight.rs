//! The release identity in flight: before the first write of an identity that is not the alias's
//! last good one, the ledger's alias record names it, with the workspace as the release found it
//! (the alias, the app's deployment, the endpoint's config). It is cleared when that identity
//! becomes the last good release, or when it is rolled back.
//!
//! A pass that finds another identity in flight — the same release edited mid-way, or an older
//! release a newer one takes over — knows the workspace may be half-way between two releases. It
//! first puts the workspace back (to the last good release, or, with none, as the unfinished one
//! found it), says so, and only then starts its own identity. A first release that fails goes
//! back to what it found the same way.

use serde::{Deserialize, Serialize};

use super::ledger::{AppSnapshot, EndpointSnapshot, LastGood, Record};

/// An identity whose writes began and have not ended (Ready or rolled back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// `namespace/name` of the release.
    pub release: String,
    /// The release identity's digest.
    pub identity: String,
    /// Its N.
    pub n: i64,
    /// The model version it moves the alias to.
    pub model_version: i64,
    /// When its first write was about to be made (RFC 3339).
    pub since: String,
    /// The workspace before its first write.
    pub before: Before,
}

impl InFlight {
    /// How messages name it: `<release> N=<n> model version <v> (identity <digest>)`.
    pub fn describe(&self) -> String {
        format!(
            "{} N={} model version {} (identity {})",
            self.release, self.n, self.model_version, self.identity
        )
    }
}

/// The alias, the app and the endpoint as a release found them before its first write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    /// The version the alias pointed at (`None`: it did not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<i64>,
    /// Whether the app existed.
    #[serde(default)]
    pub app_existed: bool,
    /// The app's active deployment (`None`: no app, or an app that never ran a deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSnapshot>,
    /// Whether the serving endpoint existed.
    #[serde(default)]
    pub endpoint_existed: bool,
    /// The endpoint's config (`None`: no endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointSnapshot>,
}

/// Where a restore puts the workspace back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The last good release of the alias, whole.
    LastGood(Box<LastGood>),
    /// As an unfinished (or failed first) release found it.
    AsFound(Box<Before>),
}

impl Target {
    /// How messages name it.
    pub fn describe(&self) -> String {
        match self {
            Target::LastGood(l) => format!("the last good release {}", l.describe()),
            Target::AsFound(_) => "the workspace as it was before the release".into(),
        }
    }

    /// The alias version to go back to (`None`: remove the alias).
    pub fn alias(&self) -> Option<i64> {
        match self {
            Target::LastGood(l) => Some(l.claim.model_version),
            Target::AsFound(b) => b.alias,
        }
    }

    /// The app deployment to go back to.
    pub fn app(&self) -> Option<&AppSnapshot> {
        match self {
            Target::LastGood(l) => l.app.as_ref(),
            Target::AsFound(b) => b.app.as_ref(),
        }
    }

    /// The endpoint config to go back to.
    pub fn endpoint(&self) -> Option<&EndpointSnapshot> {
        match self {
            Target::LastGood(l) => l.endpoint.as_ref(),
            Target::AsFound(b) => b.endpoint.as_ref(),
        }
    }
}

/// Whether a pass of `identity` must note itself in flight before its first write (pure): not
/// when the alias record already names it in flight, nor when it is the last good release
/// (a converged release writes nothing).
pub fn needs_noting(record: Option<&Record>, identity: &str) -> bool {
    let Some(record) = record else {
        return true;
    };
    let in_flight = record.in_flight.as_ref().map(|f| f.identity.as_str());
    let last_good = record
        .last_good
        .as_ref()
        .and_then(|l| l.identity.as_deref());
    in_flight != Some(identity) && last_good != Some(identity)
}

/// Another identity left in flight on the alias (pure): `Some` when the record names one that
/// is not `identity` and did not become the last good release.
pub fn unfinished<'a>(record: Option<&'a Record>, identity: &str) -> Option<&'a InFlight> {
    let record = record?;
    let f = record.in_flight.as_ref()?;
    let finished = record
        .last_good
        .as_ref()
        .and_then(|l| l.identity.as_deref())
        == Some(f.identity.as_str());
    (f.identity != identity && !finished).then_some(f)
}

/// What to put back after the unfinished identity `f` (pure): the last good release, unless
/// it is `f`'s own release at another identity... which is still the last good one: any last
/// good release is a whole, verified state; with none, as `f` found the workspace.
pub fn target_after(record: Option<&Record>, f: &InFlight) -> Target {
    match record.and_then(|r| r.last_good.clone()) {
        Some(l) => Target::LastGood(Box::new(l)),
        None => Target::AsFound(Box::new(f.before.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::Claim;

    fn claim(release: &str) -> Claim {
        Claim {
            agent: "m".into(),
            n: 7,
            release: release.into(),
            model_version: 12,
            at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn in_flight(identity: &str, alias: Option<i64>) -> InFlight {
        InFlight {
            release: "ns/v7".into(),
            identity: identity.into(),
            n: 7,
            model_version: 12,
            since: "2026-01-01T00:00:00Z".into(),
            before: Before {
                alias,
                ..Before::default()
            },
        }
    }

    fn good(identity: &str) -> LastGood {
        LastGood {
            claim: claim("ns/v6"),
            app: None,
            endpoint: None,
            previous: None,
            identity: Some(identity.into()),
        }
    }

    fn record(in_flight: Option<InFlight>, last_good: Option<LastGood>) -> Record {
        Record {
            owner: Some(claim("ns/v7")),
            last_good,
            hold: None,
            plan: None,
            announces_plans: true,
            in_flight,
        }
    }

    #[test]
    fn an_identity_is_noted_once_and_never_when_it_is_the_last_good_one() {
        assert!(needs_noting(None, "a"));
        assert!(needs_noting(Some(&record(None, None)), "a"));
        assert!(!needs_noting(
            Some(&record(Some(in_flight("a", None)), None)),
            "a"
        ));
        assert!(needs_noting(
            Some(&record(Some(in_flight("b", None)), None)),
            "a"
        ));
        assert!(!needs_noting(Some(&record(None, Some(good("a")))), "a"));
    }

    #[test]
    fn another_identity_in_flight_is_unfinished_unless_it_became_the_last_good_one() {
        let r = record(Some(in_flight("b", Some(11))), None);
        assert_eq!(
            unfinished(Some(&r), "a").map(|f| f.identity.as_str()),
            Some("b")
        );
        assert!(unfinished(Some(&r), "b").is_none());
        let done = record(Some(in_flight("b", Some(11))), Some(good("b")));
        assert!(unfinished(Some(&done), "a").is_none());
        assert!(unfinished(None, "a").is_none());
    }

    #[test]
    fn the_last_good_release_is_restored_when_there_is_one_else_what_was_found() {
        let f = in_flight("b", Some(11));
        let with = record(Some(f.clone()), Some(good("x")));
        assert!(matches!(target_after(Some(&with), &f), Target::LastGood(_)));
        let without = record(Some(f.clone()), None);
        let t = target_after(Some(&without), &f);
        assert_eq!(t.alias(), Some(11));
        assert!(matches!(t, Target::AsFound(_)));
        let nothing_before = in_flight("b", None);
        assert_eq!(target_after(None, &nothing_before).alias(), None);
    }
}
