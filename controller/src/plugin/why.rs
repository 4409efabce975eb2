//! `kubectl agentrelease why NAME`: the condition that holds the release back, what it means
//! and what to do, from the troubleshooting table. Pure: the release in, text out.

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::{AgentRelease, Condition, ConditionStatus};

use super::style::{Mark, Style};
use crate::engine::steps::condition_order;
use crate::troubleshooting::{self, Entry};

/// What holds a release back.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Ready: nothing does.
    Ready {
        /// The Ready condition.
        ready: Condition,
    },
    /// No status yet: the controller has not looked at the release.
    NotReconciled,
    /// This condition does.
    Held {
        /// The condition at fault.
        condition: Condition,
        /// The phase.
        phase: String,
        /// Its row of the troubleshooting table, when it has one.
        entry: Option<&'static Entry>,
    },
}

/// Decides what holds `release` back.
pub fn verdict(release: &AgentRelease) -> Verdict {
    let Some(status) = release.status.as_ref().filter(|s| !s.conditions.is_empty()) else {
        return Verdict::NotReconciled;
    };
    let find = |t: &str| agentrelease_api::condition::find(&status.conditions, t);
    let phase = status
        .phase
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "Pending".into());
    let held = |c: &Condition| Verdict::Held {
        condition: c.clone(),
        phase: phase.clone(),
        entry: troubleshooting::lookup(&c.reason),
    };
    // A suspended release keeps the Ready it had; what holds it back is the suspension.
    if let Some(s) = find(types::SUSPENDED).filter(|c| c.is_true()) {
        return held(s);
    }
    if let Some(ready) = find(types::READY).filter(|c| c.is_true()) {
        return Verdict::Ready {
            ready: ready.clone(),
        };
    }
    let ready_reason = find(types::READY).map(|c| c.reason.clone());
    // The steps in order, then any condition this version does not know by name.
    let ordered = condition_order()
        .iter()
        .filter_map(|t| find(t))
        .chain(status.conditions.iter().filter(|c| {
            !condition_order().contains(&c.type_.as_str())
                && ![
                    types::READY,
                    types::RECONCILING,
                    types::STALLED,
                    types::SUSPENDED,
                    types::DRIFT_DETECTED,
                ]
                .contains(&c.type_.as_str())
        }))
        .filter(|c| c.status != ConditionStatus::True && c.reason != reasons::NOT_APPLICABLE);
    let not_done: Vec<&Condition> = ordered.collect();
    // The step whose reason the Ready condition carries, else the first that is not just
    // waiting for an earlier one, else the first not done.
    let chosen = not_done
        .iter()
        .find(|c| Some(&c.reason) == ready_reason.as_ref())
        .or_else(|| not_done.iter().find(|c| c.reason != reasons::PENDING))
        .or_else(|| not_done.first())
        .copied()
        .or_else(|| find(types::READY));
    match chosen {
        Some(c) => held(c),
        None => Verdict::NotReconciled,
    }
}

/// The verdict as text.
pub fn render(release: &AgentRelease, style: Style) -> String {
    let name = release.metadata.name.as_deref().unwrap_or("(unnamed)");
    match verdict(release) {
        Verdict::Ready { ready } => {
            let mut out = format!(
                "{} {name} is Ready ({}): nothing holds it back.\n",
                style.mark(Mark::Done),
                ready.reason
            );
            if !ready.message.is_empty() {
                out.push_str(&format!("  {}\n", ready.message));
            }
            out
        }
        Verdict::NotReconciled => format!(
            "{} {name} has no status yet: the controller has not reconciled it. Check that the \
             controller runs and watches this namespace.\n",
            style.mark(Mark::Waiting)
        ),
        Verdict::Held {
            condition,
            phase,
            entry,
        } => {
            let mark = Mark::of_condition(&condition);
            let mut out = format!(
                "{} {name} is {phase}: {} is {} ({})\n",
                style.mark(mark),
                condition.type_,
                condition.status.as_str(),
                style.paint(mark, &condition.reason)
            );
            if !condition.message.is_empty() {
                out.push_str(&format!("  {}\n", condition.message));
            }
            out.push('\n');
            match entry {
                Some(e) => {
                    out.push_str(&format!(
                        "What it means: {}\n",
                        troubleshooting::plain(e.meaning)
                    ));
                    out.push_str(&format!(
                        "What to do:    {}\n",
                        troubleshooting::plain(e.action)
                    ));
                }
                None => out.push_str(&format!(
                    "The troubleshooting table has no entry for {}; the message above is all \
                     the controller says.\n",
                    condition.reason
                )),
            }
            out
        }
    }
}
