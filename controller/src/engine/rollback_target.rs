//! Which release a rollback restores (pure over the ledger's alias record and the rollback in
//! status): after a failure, the ledger's last good release; after the release was Ready
//! (`policy.followUpstreamRollback`), the release before it, which the ledger keeps as the last
//! good release's `previous`; and, while a restore is resumed, the one the rollback record names.

use super::ledger::LastGood;
use super::pass::Pass;

/// The last good release to restore after a failure: the ledger's, unless it is this release
/// itself.
pub fn last_good<W, C>(pass: &Pass<'_, W, C>) -> Option<LastGood> {
    recorded(pass).filter(|l| l.claim.release != pass.ctx.identity.key())
}

/// The ledger's last good release of the alias.
pub fn recorded<W, C>(pass: &Pass<'_, W, C>) -> Option<LastGood> {
    pass.artifacts
        .alias_record()
        .and_then(|r| r.last_good.clone())
}

/// The release before this one: the ledger's last good release when it is another, else the
/// one it kept as `previous` (pure over the record).
pub fn before_this<W, C>(pass: &Pass<'_, W, C>) -> Option<LastGood> {
    previous_of(recorded(pass), &pass.ctx.identity.key())
}

/// The release before `me` given the ledger's last good release (pure).
pub fn previous_of(recorded: Option<LastGood>, me: &str) -> Option<LastGood> {
    let recorded = recorded?;
    if recorded.claim.release != me {
        return Some(recorded);
    }
    recorded
        .previous
        .map(|p| *p)
        .filter(|p| p.claim.release != me)
}

/// The release the rollback in progress restores: the one its record names (so a resumed
/// restore goes on towards the same release).
pub fn restoring<W, C>(pass: &Pass<'_, W, C>) -> Option<LastGood> {
    let wanted = pass.status.rollback.as_ref()?.restored_release.clone()?;
    let me = pass.ctx.identity.key();
    let recorded = recorded(pass)?;
    let previous = recorded.previous.clone().map(|p| *p);
    [Some(recorded), previous]
        .into_iter()
        .flatten()
        .filter(|l| l.claim.release != me)
        .find(|l| l.describe() == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::Claim;

    fn good(release: &str, n: i64, previous: Option<LastGood>) -> LastGood {
        LastGood {
            claim: Claim {
                release: release.into(),
                agent: "m".into(),
                n,
                model_version: n + 5,
                at: "2026-01-01T00:00:00Z".into(),
            },
            app: None,
            endpoint: None,
            previous: previous.map(Box::new),
            identity: None,
        }
    }

    #[test]
    fn the_release_before_this_one_is_the_ledger_s_or_its_previous() {
        let v7 = good("ns/v7", 7, None);
        assert_eq!(
            previous_of(Some(v7.clone()), "ns/v8").map(|l| l.claim.release),
            Some("ns/v7".into())
        );
        let v8 = good("ns/v8", 8, None).after(Some(&v7));
        assert_eq!(
            previous_of(Some(v8.clone()), "ns/v8").map(|l| l.claim.release),
            Some("ns/v7".into())
        );
        assert_eq!(previous_of(Some(good("ns/v8", 8, None)), "ns/v8"), None);
        assert_eq!(previous_of(None, "ns/v8"), None);
        // A new generation of v8 keeps v7 as the release before it; one level only.
        let again = good("ns/v8", 8, None).after(Some(&v8));
        assert_eq!(again.previous.as_deref().map(|l| l.claim.n), Some(7));
        let v9 = good("ns/v9", 9, None).after(Some(&v8));
        assert_eq!(v9.previous.as_deref().map(|l| l.claim.n), Some(8));
        assert!(v9.previous.as_deref().is_some_and(|l| l.previous.is_none()));
    }
}
