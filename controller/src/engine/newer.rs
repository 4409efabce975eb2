//! New model versions noticed: READY versions of the release's registered model newer than the
//! declared one, reported in `status.newerVersions` with an Event `NewModelVersion` once per
//! version. The spec is never edited (Git owns it); `agentrelease next` prints the manifest of
//! the next release. One list call per poll, plus two directory reads for the next N's
//! artifacts when there is a newer version; the caller decides when a poll is due.

use agentrelease_api::conditions::reasons;
use agentrelease_api::promotion_status::NewerVersion;

use super::context::ReleaseContext;
use super::pass::{Event, EventType};
use super::states::ModelVersionStatus;
use super::workspace::{ModelVersionInfo, Workspace, WsResult};

/// How many versions one poll reads at most (ten pages of 100; the listing's order is not
/// relied on, so a model with more versions than this may hide its newest ones).
pub const MAX_LISTED: usize = 1000;
/// How many newer versions status lists (the newest ones).
pub const MAX_REPORTED: usize = 10;

/// The signoff and eval summary paths of release N+1, following the release's naming: the
/// contract's default paths, or an override with its `v<N>` segment moved to `v<N+1>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPaths {
    /// N+1.
    pub n: i64,
    /// The signoff of N+1.
    pub signoff: String,
    /// The eval summary of N+1.
    pub eval_summary: String,
    /// Whether the release overrides the artifact paths (the next manifest carries them too).
    pub overridden: bool,
}

/// The artifact paths of the next release (pure).
pub fn next_paths(ctx: &ReleaseContext) -> NextPaths {
    let n = ctx.n();
    let next = n + 1;
    let from = format!("/v{n}/");
    let to = format!("/v{next}/");
    let bump = |path: &str| path.replacen(&from, &to, 1);
    let overrides = ctx.spec.artifacts.clone().unwrap_or_default();
    NextPaths {
        n: next,
        signoff: bump(&ctx.signoff_path),
        eval_summary: bump(&ctx.eval_summary_path),
        overridden: overrides.signoff_path.is_some() || overrides.eval_summary_path.is_some(),
    }
}

/// The READY versions newer than `declared`, oldest first, the newest `MAX_REPORTED` (pure).
pub fn newer_ready(declared: i64, versions: &[ModelVersionInfo]) -> Vec<ModelVersionInfo> {
    let mut newer: Vec<ModelVersionInfo> = versions
        .iter()
        .filter(|v| v.version > declared && v.status == ModelVersionStatus::Ready)
        .cloned()
        .collect();
    newer.sort_by_key(|v| v.version);
    newer.dedup_by_key(|v| v.version);
    let skip = newer.len().saturating_sub(MAX_REPORTED);
    newer.into_iter().skip(skip).collect()
}

/// The Events for versions not reported before (pure): one per new version.
pub fn announcements(model: &str, old: &[NewerVersion], new: &[NewerVersion]) -> Vec<Event> {
    new.iter()
        .filter(|v| !old.iter().any(|o| o.version == v.version))
        .map(|v| Event {
            type_: EventType::Normal,
            reason: reasons::NEW_MODEL_VERSION.to_string(),
            message: format!(
                "{model} version {} is READY{} (newer than the released version); `agentrelease next` prints the next release's manifest; the next N's signoff {} and eval summary {}",
                v.version,
                v.created_at
                    .as_deref()
                    .map(|t| format!(", registered {t}"))
                    .unwrap_or_default(),
                found(v.next_signoff_found),
                found(v.next_eval_summary_found),
            ),
        })
        .collect()
}

fn found(yes: bool) -> &'static str {
    if yes { "exist" } else { "do not exist yet" }
}

/// Whether a volume file exists, by listing its folder (no download).
pub async fn file_exists<W: Workspace>(ws: &W, path: &str) -> WsResult<bool> {
    let Some((dir, name)) = path.rsplit_once('/') else {
        return Ok(false);
    };
    Ok(ws
        .list_directory(dir)
        .await?
        .is_some_and(|entries| entries.iter().any(|e| e.name == name && !e.is_directory)))
}

/// Reads the model's versions and the next N's artifacts; `None` when the model does not exist.
pub async fn poll<W: Workspace>(
    ws: &W,
    ctx: &ReleaseContext,
) -> WsResult<Option<Vec<NewerVersion>>> {
    let Some(versions) = ws.list_model_versions(ctx.model(), MAX_LISTED).await? else {
        return Ok(None);
    };
    let newer = newer_ready(ctx.spec.model.version, &versions);
    if newer.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let next = next_paths(ctx);
    let signoff = file_exists(ws, &next.signoff).await?;
    let summary = file_exists(ws, &next.eval_summary).await?;
    Ok(Some(
        newer
            .into_iter()
            .map(|v| NewerVersion {
                version: v.version,
                created_at: v
                    .created_at_ms
                    .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                logged_model_id: v.model_id,
                next_signoff_found: signoff,
                next_eval_summary_found: summary,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn mv(version: i64, status: ModelVersionStatus) -> ModelVersionInfo {
        ModelVersionInfo {
            version,
            status,
            run_id: None,
            model_id: Some(format!("m-{version}")),
            source: None,
            created_at_ms: Some(0),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn only_ready_versions_above_the_declared_one_count_oldest_first() {
        let versions = [
            mv(14, ModelVersionStatus::Ready),
            mv(13, ModelVersionStatus::PendingRegistration),
            mv(12, ModelVersionStatus::Ready),
            mv(11, ModelVersionStatus::Ready),
            mv(15, ModelVersionStatus::Ready),
        ];
        let newer: Vec<i64> = newer_ready(12, &versions)
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(newer, vec![14, 15]);
    }

    #[test]
    fn the_list_is_bounded_to_the_newest() {
        let versions: Vec<_> = (1..=40).map(|v| mv(v, ModelVersionStatus::Ready)).collect();
        let newer = newer_ready(1, &versions);
        assert_eq!(newer.len(), MAX_REPORTED);
        assert_eq!(newer.last().map(|v| v.version), Some(40));
    }

    fn nv(version: i64) -> NewerVersion {
        NewerVersion {
            version,
            created_at: None,
            logged_model_id: None,
            next_signoff_found: false,
            next_eval_summary_found: true,
        }
    }

    #[test]
    fn a_version_is_announced_once() {
        let events = announcements("m", &[], &[nv(13)]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "NewModelVersion");
        assert!(events[0].message.contains("m version 13"));
        assert!(announcements("m", &[nv(13)], &[nv(13)]).is_empty());
        assert_eq!(announcements("m", &[nv(13)], &[nv(13), nv(14)]).len(), 1);
    }
}
