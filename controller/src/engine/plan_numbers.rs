//! Plan numbering shared by the releases one process drives on one workspace.
//!
//! Deployment plans are numbered `v<M>` in a plans volume that many releases may share (every
//! agent of a schema, say). Each release listing the volume and taking "highest + 1" makes
//! concurrent releases collide on the same M: each collision costs an upload refused, a read,
//! a listing and another attempt, and at a hundred releases on one volume the attempts run out.
//! The releases of one process hand the numbers out between themselves instead: the volume is
//! listed once, and each release takes the next number. Another process writing into the same
//! volume is still found out by the upload refusing a taken M (the plan is written exclusively),
//! after which the caller lists again and says what it saw.
//!
//! A number handed out and never written (a release that failed before its upload and was then
//! deleted) leaves a gap in the numbering; a release that fails and comes back takes the same
//! number again, from its ledger record.

use std::collections::HashMap;
use std::sync::Mutex;

/// How many plans volumes one process keeps numbering for (a handful in practice).
const MAX_VOLUMES: usize = 1024;

/// The highest plan version handed out or seen per plans volume.
#[derive(Debug, Default)]
pub struct PlanNumbers {
    highest: Mutex<HashMap<String, i64>>,
    /// Held by the release listing a volume nothing is known about, so the releases arriving
    /// at the same moment wait for its listing instead of each making one.
    listing: tokio::sync::Mutex<()>,
}

impl PlanNumbers {
    /// Waits for any listing under way; the caller then tries [`PlanNumbers::take`] without a
    /// listing again before listing itself, holding the guard.
    pub async fn listing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.listing.lock().await
    }

    /// Takes the next version in `dir`: one more than the highest known, where `listed` (the
    /// highest plan a listing just found) raises what is known. `None` when nothing is known
    /// about `dir` and no listing was given: the caller lists the volume first.
    pub fn take(&self, dir: &str, listed: Option<i64>) -> Option<i64> {
        let mut map = self.highest.lock().ok()?;
        let known = map.get(dir).copied();
        let highest = match (known, listed) {
            (None, None) => return None,
            (Some(k), None) => k,
            (None, Some(l)) => l,
            (Some(k), Some(l)) => k.max(l),
        };
        let next = highest.saturating_add(1);
        if map.len() >= MAX_VOLUMES && !map.contains_key(dir) {
            map.clear();
        }
        map.insert(dir.to_string(), next);
        Some(next)
    }

    /// Notes that `version` is taken in `dir` (a plan found or written), so no release of this
    /// process is handed it.
    pub fn note(&self, dir: &str, version: i64) {
        if let Ok(mut map) = self.highest.lock()
            && let Some(known) = map.get_mut(dir)
        {
            *known = (*known).max(version);
        }
    }
}

impl PlanNumbers {
    /// Gives back `version`, handed out by [`PlanNumbers::take`] and not written (a pass that
    /// only lists its changes), when no number after it was handed out since.
    pub fn give_back(&self, dir: &str, version: i64) {
        if let Ok(mut map) = self.highest.lock()
            && let Some(known) = map.get_mut(dir)
            && *known == version
        {
            *known = version - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_handed_out_once_each_after_one_listing() {
        let n = PlanNumbers::default();
        assert_eq!(
            n.take("/Volumes/a", None),
            None,
            "unknown volume: list first"
        );
        assert_eq!(n.take("/Volumes/a", Some(3)), Some(4));
        assert_eq!(n.take("/Volumes/a", None), Some(5));
        assert_eq!(n.take("/Volumes/a", None), Some(6));
        // Another volume is numbered apart.
        assert_eq!(n.take("/Volumes/b", Some(0)), Some(1));
    }

    #[test]
    fn a_listing_that_saw_more_raises_the_numbering_and_never_lowers_it() {
        let n = PlanNumbers::default();
        assert_eq!(n.take("/v", Some(2)), Some(3));
        // Another process wrote up to 9: the next one is 10.
        assert_eq!(n.take("/v", Some(9)), Some(10));
        // A stale listing does not hand out a number again.
        assert_eq!(n.take("/v", Some(1)), Some(11));
        n.note("/v", 20);
        assert_eq!(n.take("/v", None), Some(21));
        n.note("/v", 5);
        assert_eq!(n.take("/v", None), Some(22));
    }

    #[test]
    fn a_number_given_back_is_handed_out_again_only_when_it_was_the_last() {
        let n = PlanNumbers::default();
        assert_eq!(n.take("/v", Some(3)), Some(4));
        n.give_back("/v", 4);
        assert_eq!(n.take("/v", None), Some(4));
        assert_eq!(n.take("/v", None), Some(5));
        n.give_back("/v", 4);
        assert_eq!(n.take("/v", None), Some(6), "5 was handed out after 4");
    }

    #[test]
    fn a_note_about_an_unknown_volume_does_not_make_it_known() {
        let n = PlanNumbers::default();
        n.note("/v", 4);
        assert_eq!(n.take("/v", None), None);
    }
}
