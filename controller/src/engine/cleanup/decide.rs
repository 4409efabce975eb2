//! What a deleted release's cleanup does, decided from the release, its status and what was
//! read (pure). See the parent module for the rules.

use agentrelease_api::AgentRelease;
use agentrelease_api::release::DeletionPolicy;

use crate::engine::ledger::{Claim, Owned, Record, owned_by};

/// A ledger record as the cleanup read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No record: nobody owns the object.
    Absent,
    /// A record.
    Record(Box<Record>),
    /// Something that is not a record this operator wrote (or larger than one can be); why.
    Damaged(String),
}

/// Whether an app or serving endpoint is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Not there (or not declared by the release).
    Absent,
    /// Being deleted already (an app answering `DELETING`).
    Going,
    /// There.
    Present,
}

/// What the cleanup read before deciding; every read comes before the first write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The ledger record of each object the release names ([`owned_by`]), in that order.
    pub records: Vec<(Owned, Found)>,
    /// The version the release's alias points at now.
    pub alias: Option<i64>,
    /// The release's app.
    pub app: Presence,
    /// The release's serving endpoint.
    pub endpoint: Presence,
}

/// Why an object stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Another release owns it (a superseding release, or any other).
    OwnedBy(Claim),
    /// The release still owns it, but a newer release of its agent owns its other objects
    /// and is taking this one over (a takeover that stopped half-way): it is left to it.
    TakenOver(Claim),
    /// No release owns it in the ledger.
    Unclaimed,
    /// Its ledger record is damaged: whose it is cannot be known.
    Damaged(String),
    /// Deletion policy `Retain`.
    Retained,
    /// The release did not create it (it adopted it).
    NotCreated,
    /// The alias points at another version than the one the release set (moved by hand).
    AliasMoved {
        /// Where it points.
        now: i64,
        /// The version the release set.
        set: i64,
    },
    /// The release never promoted its version to the alias.
    NotPromoted(i64),
    /// The release is suspended: its deletion writes nothing to the workspace.
    Suspended,
}

/// One thing the cleanup does, or one object it leaves and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Removes the alias (it points at `version`, which the release set).
    RemoveAlias {
        /// The registered model.
        model: String,
        /// The alias.
        alias: String,
        /// The version it points at.
        version: i64,
    },
    /// Deletes the app the release created.
    DeleteApp(String),
    /// Deletes the serving endpoint the release created.
    DeleteEndpoint(String),
    /// Removes the release's ledger record of the object (nothing in it outlives the release).
    DeleteRecord(Owned),
    /// Rewrites the record without an owner, keeping what outlives the release.
    ReleaseRecord(Owned, Box<Record>),
    /// Leaves the object as it is.
    Keep(Owned, Kept),
}

impl Action {
    /// Whether the action writes to the workspace.
    pub fn writes(&self) -> bool {
        !matches!(self, Action::Keep(..))
    }

    /// Whether a person should look at it (a damaged record).
    pub fn is_warning(&self) -> bool {
        matches!(self, Action::Keep(_, Kept::Damaged(_)))
    }

    /// One line for the cleanup's Event and log.
    pub fn describe(&self) -> String {
        match self {
            Action::RemoveAlias {
                model,
                alias,
                version,
            } => format!("removed {model}@{alias} (version {version})"),
            Action::DeleteApp(name) => format!("deleted app {name}"),
            Action::DeleteEndpoint(name) => format!("deleted serving endpoint {name}"),
            Action::DeleteRecord(object) => {
                format!("removed the ledger record of {}", object.describe())
            }
            Action::ReleaseRecord(object, record) => {
                let mut kept = Vec::new();
                if let Some(l) = &record.last_good {
                    kept.push(format!("last good release {}", l.describe()));
                }
                if let Some(h) = &record.hold {
                    kept.push(format!("rollback hold of {}", h.release));
                }
                format!(
                    "released {} in the ledger (keeping its {})",
                    object.describe(),
                    kept.join(" and ")
                )
            }
            Action::Keep(object, why) => format!("kept {}: {}", object.describe(), why.describe()),
        }
    }
}

impl Kept {
    /// Why, as the Event says it.
    pub fn describe(&self) -> String {
        match self {
            Kept::OwnedBy(owner) => format!("owned by {}", owner.describe()),
            Kept::TakenOver(by) => format!(
                "{} owns this release's other objects and takes this one over",
                by.describe()
            ),
            Kept::Unclaimed => "no release owns it in the ledger".into(),
            Kept::Damaged(why) => {
                format!("its ledger record is damaged ({why}); repair or delete the record")
            }
            Kept::Retained => "deletion policy Retain".into(),
            Kept::NotCreated => "this release did not create it".into(),
            Kept::AliasMoved { now, set } => {
                format!("it points at version {now}, not version {set} this release set")
            }
            Kept::NotPromoted(version) => {
                format!("this release never promoted version {version} to it")
            }
            Kept::Suspended => {
                "the release is suspended (spec.policy.suspend); its deletion writes nothing to the workspace and its ledger records stay".into()
            }
        }
    }
}

/// What deleting `release` (`key` = `namespace/name`) does, given what was read (pure). For
/// each object, in order: its removal (when owned, created and still the release's), or why it
/// stays; then what becomes of the release's ledger record of it.
pub fn decide(release: &AgentRelease, key: &str, observed: &Observed) -> Vec<Action> {
    let spec = &release.spec;
    if spec.policy.suspend {
        return owned_by(spec)
            .into_iter()
            .map(|o| Action::Keep(o, Kept::Suspended))
            .collect();
    }
    let successor = successor(release, key, observed);
    let mut actions = Vec::new();
    for (object, found) in &observed.records {
        let record = match found {
            Found::Damaged(why) => {
                actions.push(Action::Keep(object.clone(), Kept::Damaged(why.clone())));
                continue;
            }
            Found::Absent => {
                actions.push(Action::Keep(object.clone(), Kept::Unclaimed));
                continue;
            }
            Found::Record(r) => r,
        };
        match &record.owner {
            None => {
                actions.push(Action::Keep(object.clone(), Kept::Unclaimed));
                continue;
            }
            Some(owner) if owner.release != key => {
                actions.push(Action::Keep(object.clone(), Kept::OwnedBy(owner.clone())));
                continue;
            }
            Some(_) => {}
        }
        let fate = match &successor {
            Some(by) => Fate::Keep(Kept::TakenOver(by.clone())),
            None => object_fate(release, object, observed),
        };
        let gone = match fate {
            Fate::Remove(action) => {
                actions.push(action);
                true
            }
            Fate::Gone => true,
            Fate::Keep(why) => {
                actions.push(Action::Keep(object.clone(), why));
                false
            }
        };
        actions.push(match released(record, key, gone) {
            Some(kept) => Action::ReleaseRecord(object.clone(), Box::new(kept)),
            None => Action::DeleteRecord(object.clone()),
        });
    }
    actions
}

/// A newer release of the same agent that owns one of the release's objects, if any: the
/// release is superseded, and what it still owns is being taken over.
fn successor(release: &AgentRelease, key: &str, observed: &Observed) -> Option<Claim> {
    let spec = &release.spec;
    observed.records.iter().find_map(|(_, found)| match found {
        Found::Record(r) => r
            .owner
            .clone()
            .filter(|o| o.release != key && o.agent == spec.model.name && o.n > spec.version),
        _ => None,
    })
}

/// What becomes of an object the release owns.
enum Fate {
    /// Remove it.
    Remove(Action),
    /// Already gone (or going): nothing to remove.
    Gone,
    /// It stays.
    Keep(Kept),
}

fn object_fate(release: &AgentRelease, object: &Owned, observed: &Observed) -> Fate {
    let spec = &release.spec;
    if spec.policy.deletion == DeletionPolicy::Retain {
        return Fate::Keep(Kept::Retained);
    }
    let status = release.status.clone().unwrap_or_default();
    let created = status.created.unwrap_or_default();
    match object {
        Owned::Alias { model, alias } => {
            let set = spec.model.version;
            match observed.alias {
                None => Fate::Gone,
                Some(_) if status.promoted_version != Some(set) => {
                    Fate::Keep(Kept::NotPromoted(set))
                }
                Some(now) if now == set => Fate::Remove(Action::RemoveAlias {
                    model: model.clone(),
                    alias: alias.clone(),
                    version: now,
                }),
                Some(now) => Fate::Keep(Kept::AliasMoved { now, set }),
            }
        }
        Owned::App(name) => match observed.app {
            _ if created.app.as_deref() != Some(name) => Fate::Keep(Kept::NotCreated),
            Presence::Present => Fate::Remove(Action::DeleteApp(name.clone())),
            Presence::Going | Presence::Absent => Fate::Gone,
        },
        Owned::Endpoint(name) => match observed.endpoint {
            _ if created.serving_endpoint.as_deref() != Some(name) => Fate::Keep(Kept::NotCreated),
            Presence::Present => Fate::Remove(Action::DeleteEndpoint(name.clone())),
            Presence::Going | Presence::Absent => Fate::Gone,
        },
    }
}

/// The record of an object once its owner `key` is deleted (pure): `None` when nothing in it
/// outlives the owner (the record is removed), else the record without an owner. Its plan note
/// and its own hold go; another release's hold stays; the last good release stays when it names
/// another release, and when it names the owner only while the object stays (`gone` false): a
/// rollback must not bring back what the deletion removed.
pub fn released(record: &Record, key: &str, gone: bool) -> Option<Record> {
    let last_good = record
        .last_good
        .clone()
        .filter(|l| l.claim.release != key || !gone);
    let hold = record.hold.clone().filter(|h| h.release != key);
    // The deleted release's own identity in flight goes with it; another's stays.
    let in_flight = record.in_flight.clone().filter(|f| f.release != key);
    if last_good.is_none() && hold.is_none() && in_flight.is_none() {
        return None;
    }
    Some(Record {
        owner: None,
        last_good,
        hold,
        plan: None,
        announces_plans: false,
        in_flight,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::{Hold, LastGood, PlanEntry};
    use agentrelease_api::status::CreatedObjects;
    use agentrelease_api::{AgentReleaseSpec, AgentReleaseStatus};

    const ME: &str = "ns/v7";

    fn release(policy: DeletionPolicy, created: bool) -> AgentRelease {
        let spec: AgentReleaseSpec = serde_json::from_value(serde_json::json!({
            "targetRef": {"name": "prod"},
            "version": 7,
            "model": {"name": "m", "version": 12, "alias": "champion"},
            "app": {"name": "app", "sourceCodePath": "/Workspace/a"},
            "servingEndpoint": {"name": "ep", "servedEntities": [{"name": "m-12"}]},
            "policy": {"deletion": format!("{policy:?}")},
        }))
        .expect("spec");
        let mut r = AgentRelease::new("v7", spec);
        r.status = Some(AgentReleaseStatus {
            promoted_version: Some(12),
            created: created.then(|| CreatedObjects {
                app: Some("app".into()),
                serving_endpoint: Some("ep".into()),
                experiment: None,
            }),
            ..AgentReleaseStatus::default()
        });
        r
    }

    fn claim(n: i64, release: &str) -> Claim {
        Claim {
            agent: "m".into(),
            n,
            release: release.into(),
            model_version: 12,
            at: "t".into(),
        }
    }

    fn last_good(release: &str) -> LastGood {
        LastGood {
            claim: claim(7, release),
            app: None,
            endpoint: None,
            previous: None,
            identity: None,
        }
    }

    fn hold(release: &str) -> Hold {
        Hold {
            release: release.into(),
            spec_digest: "d".into(),
            fingerprint: "f".into(),
            reason: "failed".into(),
            at: "t".into(),
        }
    }

    fn record(owner: &str) -> Record {
        Record {
            owner: Some(claim(if owner == ME { 7 } else { 8 }, owner)),
            last_good: None,
            hold: None,
            plan: None,
            announces_plans: true,
            in_flight: None,
        }
    }

    fn alias() -> Owned {
        Owned::Alias {
            model: "m".into(),
            alias: "champion".into(),
        }
    }

    fn app() -> Owned {
        Owned::App("app".into())
    }

    fn endpoint() -> Owned {
        Owned::Endpoint("ep".into())
    }

    /// Every record as `found`, the alias at 12, app and endpoint there.
    fn observed(found: impl Fn(&Owned) -> Found) -> Observed {
        Observed {
            records: [alias(), app(), endpoint()]
                .into_iter()
                .map(|o| {
                    let f = found(&o);
                    (o, f)
                })
                .collect(),
            alias: Some(12),
            app: Presence::Present,
            endpoint: Presence::Present,
        }
    }

    fn writes(actions: &[Action]) -> Vec<&Action> {
        actions.iter().filter(|a| a.writes()).collect()
    }

    #[test]
    fn the_owner_removes_what_it_created_and_its_records() {
        let actions = decide(
            &release(DeletionPolicy::Delete, true),
            ME,
            &observed(|_| Found::Record(Box::new(record(ME)))),
        );
        assert_eq!(
            actions,
            vec![
                Action::RemoveAlias {
                    model: "m".into(),
                    alias: "champion".into(),
                    version: 12
                },
                Action::DeleteRecord(alias()),
                Action::DeleteApp("app".into()),
                Action::DeleteRecord(app()),
                Action::DeleteEndpoint("ep".into()),
                Action::DeleteRecord(endpoint()),
            ],
            "each object before its record"
        );
    }

    #[test]
    fn a_superseded_release_touches_nothing_its_successor_owns_and_says_so() {
        let actions = decide(
            &release(DeletionPolicy::Delete, true),
            ME,
            &observed(|_| Found::Record(Box::new(record("ns/v8")))),
        );
        assert!(writes(&actions).is_empty(), "{actions:?}");
        assert_eq!(actions.len(), 3);
        let lines: Vec<String> = actions.iter().map(Action::describe).collect();
        assert!(
            lines[1].starts_with("kept app app: owned by release ns/v8"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_takeover_that_stopped_half_way_is_left_to_the_successor() {
        let actions = decide(
            &release(DeletionPolicy::Delete, true),
            ME,
            &observed(|o| match o {
                Owned::Endpoint(_) => Found::Record(Box::new(record(ME))),
                _ => Found::Record(Box::new(record("ns/v8"))),
            }),
        );
        assert!(
            !actions.contains(&Action::DeleteEndpoint("ep".into())),
            "{actions:?}"
        );
        assert!(matches!(
            &actions[2],
            Action::Keep(_, Kept::TakenOver(c)) if c.release == "ns/v8"
        ));
        assert_eq!(
            actions[3],
            Action::DeleteRecord(endpoint()),
            "given back, so v8 claims it"
        );
    }

    #[test]
    fn another_owner_unclaimed_and_released_records_are_left_alone() {
        let released = Record {
            owner: None,
            last_good: Some(last_good(ME)),
            ..record(ME)
        };
        let actions = decide(
            &release(DeletionPolicy::Delete, true),
            ME,
            &observed(|o| match o {
                Owned::Alias { .. } => Found::Record(Box::new(released.clone())),
                Owned::App(_) => Found::Absent,
                Owned::Endpoint(_) => Found::Record(Box::new(Record {
                    owner: Some(Claim {
                        agent: "other.model".into(),
                        ..claim(1, "ns/other")
                    }),
                    ..record("ns/other")
                })),
            }),
        );
        assert!(writes(&actions).is_empty(), "{actions:?}");
        assert_eq!(
            actions[..2],
            [
                Action::Keep(alias(), Kept::Unclaimed),
                Action::Keep(app(), Kept::Unclaimed)
            ]
        );
        assert!(
            matches!(&actions[2], Action::Keep(_, Kept::OwnedBy(c)) if c.release == "ns/other")
        );
    }

    #[test]
    fn a_damaged_record_keeps_its_object_and_is_a_warning() {
        let actions = decide(
            &release(DeletionPolicy::Delete, true),
            ME,
            &observed(|o| match o {
                Owned::App(_) => Found::Damaged("/l/app/app.json is not a record".into()),
                _ => Found::Record(Box::new(record(ME))),
            }),
        );
        assert!(!actions.contains(&Action::DeleteApp("app".into())));
        assert!(!actions.contains(&Action::DeleteRecord(app())));
        let warned: Vec<_> = actions.iter().filter(|a| a.is_warning()).collect();
        assert_eq!(warned.len(), 1, "{actions:?}");
        assert!(warned[0].describe().contains("repair or delete"));
        assert!(actions.contains(&Action::DeleteEndpoint("ep".into())));
    }

    #[test]
    fn retain_keeps_every_object_and_gives_the_records_back() {
        let alias_record = Record {
            last_good: Some(last_good(ME)),
            plan: Some(PlanEntry {
                marker: "uid/1/x".into(),
                version: 3,
                path: "/Volumes/c/s/deployment_plans/v3/plan.md".into(),
                alias_from: Some(11),
                pending: false,
            }),
            ..record(ME)
        };
        let actions = decide(
            &release(DeletionPolicy::Retain, true),
            ME,
            &observed(|o| match o {
                Owned::Alias { .. } => Found::Record(Box::new(alias_record.clone())),
                _ => Found::Record(Box::new(record(ME))),
            }),
        );
        let released = Record {
            owner: None,
            last_good: Some(last_good(ME)),
            hold: None,
            plan: None,
            announces_plans: false,
            in_flight: None,
        };
        assert_eq!(
            actions,
            vec![
                Action::Keep(alias(), Kept::Retained),
                Action::ReleaseRecord(alias(), Box::new(released)),
                Action::Keep(app(), Kept::Retained),
                Action::DeleteRecord(app()),
                Action::Keep(endpoint(), Kept::Retained),
                Action::DeleteRecord(endpoint()),
            ],
            "the alias still serves the release: its last good record stays for rollbacks"
        );
    }

    #[test]
    fn a_suspended_release_writes_nothing_and_keeps_its_records() {
        let mut r = release(DeletionPolicy::Delete, true);
        r.spec.policy.suspend = true;
        let actions = decide(&r, ME, &observed(|_| Found::Record(Box::new(record(ME)))));
        assert_eq!(actions.len(), 3);
        assert!(
            actions
                .iter()
                .all(|a| matches!(a, Action::Keep(_, Kept::Suspended))),
            "{actions:?}"
        );
    }

    #[test]
    fn an_alias_moved_by_hand_stays_and_adopted_objects_stay() {
        let mut seen = observed(|_| Found::Record(Box::new(record(ME))));
        seen.alias = Some(13);
        let actions = decide(&release(DeletionPolicy::Delete, false), ME, &seen);
        assert_eq!(
            actions,
            vec![
                Action::Keep(alias(), Kept::AliasMoved { now: 13, set: 12 }),
                Action::DeleteRecord(alias()),
                Action::Keep(app(), Kept::NotCreated),
                Action::DeleteRecord(app()),
                Action::Keep(endpoint(), Kept::NotCreated),
                Action::DeleteRecord(endpoint()),
            ]
        );
        let mut never = release(DeletionPolicy::Delete, true);
        if let Some(s) = never.status.as_mut() {
            s.promoted_version = None;
        }
        seen.alias = Some(12);
        assert_eq!(
            decide(&never, ME, &seen)[0],
            Action::Keep(alias(), Kept::NotPromoted(12)),
            "an alias this release never set is not its to remove"
        );
    }

    #[test]
    fn a_second_run_removes_nothing_already_gone() {
        let mut seen = observed(|_| Found::Record(Box::new(record(ME))));
        seen.alias = None;
        seen.app = Presence::Going;
        seen.endpoint = Presence::Absent;
        let actions = decide(&release(DeletionPolicy::Delete, true), ME, &seen);
        assert_eq!(
            actions,
            vec![
                Action::DeleteRecord(alias()),
                Action::DeleteRecord(app()),
                Action::DeleteRecord(endpoint()),
            ]
        );
        // The records already removed too: nothing left to write.
        let after = observed(|_| Found::Absent);
        assert!(writes(&decide(&release(DeletionPolicy::Delete, true), ME, &after)).is_empty());
    }

    #[test]
    fn what_outlives_the_owner_in_its_alias_record() {
        let full = Record {
            last_good: Some(last_good("ns/v6")),
            hold: Some(hold("ns/v8")),
            ..record(ME)
        };
        let kept = released(&full, ME, true).expect("kept");
        assert_eq!(kept.owner, None);
        assert_eq!(
            kept.last_good, full.last_good,
            "another release's last good stays"
        );
        assert_eq!(kept.hold, full.hold, "another release stays held");
        assert_eq!(kept.plan, None);

        let own = Record {
            last_good: Some(last_good(ME)),
            hold: Some(hold(ME)),
            ..record(ME)
        };
        assert_eq!(
            released(&own, ME, true),
            None,
            "its own hold goes; its own last good goes with its alias"
        );
        assert_eq!(
            released(&own, ME, false).and_then(|r| r.last_good),
            Some(last_good(ME)),
            "its own last good stays while its alias does"
        );
        assert_eq!(released(&record(ME), ME, false), None);
    }
}
