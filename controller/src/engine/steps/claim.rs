//! Ownership claim (`OwnershipClaimed`): the first write of a release. The release records itself
//! as the owner of its alias, app and endpoint in the workspace's release ledger — a new record
//! is created exclusively, an older release's record is taken over (keeping the last good
//! release it names) — so the controller, `apply` and a second cluster agree on one owner. A
//! claim that loses a race is settled by reading the ledger again on the next pass.

use agentrelease_api::conditions::reasons;

use crate::engine::change::Change;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::in_flight::{self, InFlight};
use crate::engine::ledger::{self, Claim, Owned, Record, Verdict};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::recover;
use crate::engine::workspace::{CreateOutcome, Workspace};
use crate::engine::steps::{Lock, StepInfo};

/// What one object's record needs (pure): `None` when it already names this release, holds no
/// stale hold of it, and already names `in_flight` (given for the alias record only, when this
/// identity is to be noted in flight before its first write).
pub fn decide(
    root: &str,
    object: &Owned,
    record: Option<&Record>,
    me: &Claim,
    in_flight: Option<&InFlight>,
) -> Option<Change> {
    let path = object.path(root);
    let noted = |r: Option<&Record>| {
        in_flight
            .cloned()
            .or_else(|| r.and_then(|r| r.in_flight.clone()))
    };
    match ledger::judge(me, record.and_then(|r| r.owner.as_ref())) {
        // A record its deleted owner released keeps its last good release and another
        // release's hold: the claim keeps them too (replacing it; the release lock keeps out
        // a second writer). No record: created exclusively, which settles two first claims.
        Verdict::Unclaimed => Some(Change::WriteLedger {
            path,
            content: Record {
                owner: Some(me.clone()),
                last_good: record.and_then(|r| r.last_good.clone()),
                hold: record
                    .and_then(|r| r.hold.clone())
                    .filter(|h| h.release != me.release),
                plan: None,
                announces_plans: true,
                in_flight: noted(record),
            }
            .render(),
            replace: record.is_some(),
            summary: format!("claim {} for {}", object.describe(), me.describe()),
        }),
        Verdict::Supersedes(owner) => Some(Change::WriteLedger {
            path,
            content: Record {
                owner: Some(me.clone()),
                last_good: record.and_then(|r| r.last_good.clone()),
                hold: None,
                plan: None,
                announces_plans: true,
                in_flight: noted(record),
            }
            .render(),
            replace: true,
            summary: format!(
                "take over {} from {} (superseded by N={})",
                object.describe(),
                owner.describe(),
                me.n
            ),
        }),
        Verdict::Ours => {
            let record = record?;
            // A hold of this release that no longer matches was lifted by the preflight.
            let stale_hold = record
                .hold
                .as_ref()
                .is_some_and(|h| h.release == me.release);
            let note = in_flight.is_some_and(|f| record.in_flight.as_ref() != Some(f));
            (stale_hold || note).then(|| Change::WriteLedger {
                path,
                content: Record {
                    owner: record.owner.clone(),
                    last_good: record.last_good.clone(),
                    hold: None,
                    plan: record.plan.clone(),
                    announces_plans: record.announces_plans,
                    in_flight: noted(Some(record)),
                }
                .render(),
                replace: true,
                summary: match (note, in_flight) {
                    (true, Some(f)) => format!(
                        "note identity {} of {} in flight on {}",
                        f.identity,
                        me.release,
                        object.describe()
                    ),
                    _ => format!(
                        "lift the rollback hold of {} on {}",
                        me.release,
                        object.describe()
                    ),
                },
            })
        }
        // The preflight stops the pass on these; nothing to write.
        Verdict::SupersededBy(_) | Verdict::Conflict(_) => None,
    }
}

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "ownership",
    condition: agentrelease_api::conditions::types::OWNERSHIP_CLAIMED,
    phase: agentrelease_api::conditions::Phase::Promoting,
    lock: Lock::Always,
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let me = pass.ctx.claim(pass.now());
    let root = pass.ctx.ledger_root().to_string();
    let identity = pass.identity_digest();
    // Another identity left unfinished on the alias: the workspace goes back first.
    let recovered = match recover::unfinished(pass, identity.as_deref()).await {
        Ok(r) => r,
        Err(stop) => return stop,
    };
    // This identity is noted in flight, with the workspace as it is, before its first write.
    let note = match identity.as_deref() {
        Some(id)
            if recovered.is_some()
                || in_flight::needs_noting(pass.artifacts.alias_record(), id) =>
        {
            match recover::note(pass, id, recovered.as_ref()).await {
                Ok(f) => Some(f),
                Err(stop) => return stop,
            }
        }
        _ => None,
    };
    let records = pass.artifacts.ledger.clone();
    let mut claimed = Vec::new();
    for (object, record) in &records {
        let in_flight = note.as_ref().filter(|_| recover::carries_in_flight(object));
        let Some(change) = decide(&root, object, record.as_ref(), &me, in_flight) else {
            claimed.push(object.describe());
            continue;
        };
        // The release taken over is told at once (the controller looks at it now, so it leaves
        // Ready within seconds rather than at its next resync).
        if let Some(owner) = record
            .as_ref()
            .and_then(|r| r.owner.as_ref())
            .filter(|o| matches!(ledger::judge(&me, Some(o)), Verdict::Supersedes(_)))
            && !pass.superseded.contains(&owner.release)
        {
            pass.superseded.push(owner.release.clone());
        }
        match pass.effect(change, Cause::Progress).await {
            Ok(Effect::Applied(Applied::Written(CreateOutcome::AlreadyExists))) => {
                return StepResult::Failed {
                    reason: reasons::TRANSIENT_ERROR,
                    message: format!(
                        "{} was claimed by someone else at the same moment; the ledger is read again",
                        object.describe()
                    ),
                };
            }
            Ok(_) => claimed.push(object.describe()),
            Err(e) => return StepResult::from_workspace(&e),
        }
    }
    // The records as they now stand, for the steps after this one (last good, hold).
    pass.artifacts.ledger = records
        .into_iter()
        .map(|(object, record)| {
            let mine = record.as_ref().filter(|r| r.owned_by(&me.release));
            let plan = mine.and_then(|r| r.plan.clone());
            // A record this step just wrote announces its plans; one it kept says what it said.
            let announces_plans = mine.is_none_or(|r| r.announces_plans);
            let in_flight = if recover::carries_in_flight(&object) {
                note.clone()
                    .or_else(|| record.as_ref().and_then(|r| r.in_flight.clone()))
            } else {
                None
            };
            let record = Some(Record {
                owner: Some(me.clone()),
                last_good: record.as_ref().and_then(|r| r.last_good.clone()),
                hold: None,
                plan,
                announces_plans,
                in_flight,
            });
            (object, record)
        })
        .collect();
    let mut message = format!("owned by {}: {}", me.release, claimed.join(", "));
    if let Some(r) = &recovered {
        message.push_str(&format!("; {}", r.describe()));
    }
    StepResult::done(reasons::OWNED, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::Hold;

    fn claim(n: i64, release: &str) -> Claim {
        Claim {
            agent: "m".into(),
            n,
            release: release.into(),
            model_version: 1,
            at: "t".into(),
        }
    }

    fn alias() -> Owned {
        Owned::Alias {
            model: "m".into(),
            alias: "champion".into(),
        }
    }

    #[test]
    fn an_owned_object_needs_no_write() {
        let me = claim(7, "ns/v7");
        let record = Record {
            owner: Some(me.clone()),
            last_good: None,
            hold: None,
            plan: None,
            announces_plans: false,
            in_flight: None,
        };
        assert_eq!(decide("/l", &alias(), Some(&record), &me, None), None);
    }

    #[test]
    fn a_new_claim_never_replaces_and_a_takeover_keeps_the_last_good_release() {
        let me = claim(7, "ns/v7");
        match decide("/l", &alias(), None, &me, None) {
            Some(Change::WriteLedger { replace, .. }) => assert!(!replace),
            other => panic!("{other:?}"),
        }
        let older = Record {
            owner: Some(claim(6, "ns/v6")),
            last_good: Some(ledger::LastGood {
                claim: claim(6, "ns/v6"),
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
        match decide("/l", &alias(), Some(&older), &me, None) {
            Some(Change::WriteLedger {
                replace, content, ..
            }) => {
                assert!(replace);
                let r = Record::parse(content.as_bytes()).expect("record");
                assert_eq!(r.owner, Some(me.clone()));
                assert_eq!(r.last_good, older.last_good);
                assert!(
                    r.announces_plans,
                    "a new owner notes its plans before writing them"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_released_record_is_claimed_keeping_its_last_good_release_and_another_release_s_hold() {
        let me = claim(7, "ns/v7again");
        let hold = |release: &str| Hold {
            release: release.into(),
            spec_digest: "d".into(),
            fingerprint: "f".into(),
            reason: "failed".into(),
            at: "t".into(),
        };
        let released = Record {
            owner: None,
            last_good: Some(ledger::LastGood {
                claim: claim(7, "ns/v7"),
                app: None,
                endpoint: None,
                previous: None,
                identity: None,
            }),
            hold: Some(hold("ns/v8")),
            plan: None,
            announces_plans: false,
            in_flight: None,
        };
        match decide("/l", &alias(), Some(&released), &me, None) {
            Some(Change::WriteLedger {
                replace, content, ..
            }) => {
                assert!(replace, "the released record is there to replace");
                let r = Record::parse(content.as_bytes()).expect("record");
                assert_eq!(r.owner, Some(me.clone()));
                assert_eq!(r.last_good, released.last_good);
                assert_eq!(r.hold, released.hold, "v8 stays held");
            }
            other => panic!("{other:?}"),
        }
        let mine = Record {
            hold: Some(hold("ns/v7again")),
            ..released
        };
        match decide("/l", &alias(), Some(&mine), &me, None) {
            Some(Change::WriteLedger { content, .. }) => {
                let r = Record::parse(content.as_bytes()).expect("record");
                assert_eq!(
                    r.hold, None,
                    "its own stale hold was lifted by the preflight"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stale_hold_of_this_release_is_lifted() {
        let me = claim(7, "ns/v7");
        let held = Record {
            owner: Some(me.clone()),
            last_good: None,
            hold: Some(Hold {
                release: "ns/v7".into(),
                spec_digest: "old".into(),
                fingerprint: "old".into(),
                reason: "failed".into(),
                at: "t".into(),
            }),
            plan: None,
            announces_plans: false,
            in_flight: None,
        };
        assert!(decide("/l", &alias(), Some(&held), &me, None).is_some());
    }
}
