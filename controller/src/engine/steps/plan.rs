//! Deployment plan (`PlanRecorded`): once the gates pass for this generation, write
//! `deployment_plans/v<M>/plan.md` with M one more than the highest existing version, never
//! overwriting; a plan carrying this generation's marker is recorded instead of writing another.
//! New gate inputs within a generation (a new signoff or summary) are a new plan version.

use crate::engine::change::Change;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::ledger::{LedgerPath, Owned, PlanEntry, Record};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::plan_doc::{self, PlanInput};
use crate::engine::workspace::{CreateOutcome, Workspace, WorkspaceErrorKind};
use agentrelease_api::conditions::reasons;
use agentrelease_api::status::PlanRecord;

/// How many existing plans, newest first, are searched for this generation's marker when the
/// ledger does not name it (a crash between writing the plan and noting it).
pub const MARKER_SCAN_LIMIT: usize = 50;
/// The largest plan read while searching.
pub const MAX_PLAN_BYTES: u64 = 256 * 1024;
/// How many empty `v<M>` folders at the top of the plans volume are looked into and reused.
pub const EMPTY_PROBES: usize = 3;
/// How many times a version taken by a concurrent writer is retried with the next one.
pub const WRITE_ATTEMPTS: usize = 5;

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let generation = pass.ctx.identity.generation;
    let fingerprint = pass.artifacts.fingerprint();
    if let Some(plan) = pass
        .old
        .plan
        .clone()
        .filter(|p| p.generation == generation && p.fingerprint == fingerprint)
    {
        let message = format!("plan v{} at {}", plan.version, plan.path);
        pass.status.plan = Some(plan);
        return StepResult::done(reasons::PLAN_RECORDED, message);
    }

    let marker = pass.ctx.identity.plan_marker(&fingerprint);
    if let Some(entry) = pass
        .artifacts
        .alias_record()
        .and_then(|r| r.plan.clone())
        .filter(|p| p.marker == marker)
    {
        return record(pass, entry.version, entry.path, entry.alias_from, true).await;
    }
    let versions = match existing_versions(pass).await {
        Ok(v) => v,
        Err(result) => return result,
    };
    // Plans read by the marker scan, so the numbering below does not read them again.
    let mut present = std::collections::BTreeSet::new();
    for &version in versions.iter().rev().take(MARKER_SCAN_LIMIT) {
        let path = pass.ctx.plan_path(version);
        match pass.ws.read_file(&path, MAX_PLAN_BYTES).await {
            Ok(Some(bytes)) => {
                present.insert(version);
                if plan_doc::has_marker(&String::from_utf8_lossy(&bytes), &marker) {
                    let alias_from = alias_from_document(&String::from_utf8_lossy(&bytes));
                    return record(pass, version, path, alias_from, true).await;
                }
            }
            Ok(None) => {}
            Err(e) if e.kind == WorkspaceErrorKind::TooLarge => {}
            Err(e) => return StepResult::from_workspace(&e),
        }
    }

    let alias_from = match pass
        .ws
        .get_alias(pass.ctx.model(), &pass.ctx.spec.model.alias)
        .await
    {
        Ok(v) => v,
        Err(e) => return StepResult::from_workspace(&e),
    };
    // The promotion right after this step decides on the same read.
    pass.seen.alias = Some(alias_from);
    // Numbering counts plans, not folders: an empty `v<M>` at the top (a failed upload of an
    // older version) is filled, not skipped.
    let mut highest = versions.clone();
    let mut probes = 0;
    while let Some(&top) = highest.last() {
        if probes == EMPTY_PROBES || present.contains(&top) {
            break;
        }
        probes += 1;
        match pass
            .ws
            .read_file(&pass.ctx.plan_path(top), MAX_PLAN_BYTES)
            .await
        {
            Ok(Some(_)) => break,
            Err(e) if e.kind == WorkspaceErrorKind::TooLarge => break,
            Ok(None) => {
                highest.pop();
            }
            Err(e) => return StepResult::from_workspace(&e),
        }
    }
    let mut next = highest.last().copied().unwrap_or(0) + 1;
    for _ in 0..WRITE_ATTEMPTS {
        let path = pass.ctx.plan_path(next);
        let content = plan_doc::render(&PlanInput {
            ctx: pass.ctx,
            plan_version: next,
            alias_from,
            signoff: pass.status.signoff.as_ref(),
            approval: pass.status.approval.as_ref(),
            evaluation: &pass.status.evaluation,
            fingerprint: &fingerprint,
            model_id: pass.artifacts.model_id.as_deref(),
            written_at: pass.now(),
        });
        let note = noted(pass, next, &path, alias_from).map(|(path, record)| {
            let text = record.render();
            (path, text)
        });
        let change = Change::WritePlan {
            version: next,
            path: path.clone(),
            content,
            detail: Vec::new(),
            note,
        };
        match pass.effect(change, Cause::Progress).await {
            Ok(Effect::Applied(Applied::Written(CreateOutcome::AlreadyExists))) => {
                // Ours, when an earlier answer was lost (the upload was carried out and then
                // repeated): settled by reading it.
                match pass.ws.read_file(&path, MAX_PLAN_BYTES).await {
                    Ok(Some(bytes))
                        if plan_doc::has_marker(&String::from_utf8_lossy(&bytes), &marker) =>
                    {
                        return record(pass, next, path, alias_from, true).await;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind == WorkspaceErrorKind::TooLarge => {}
                    Err(e) => return StepResult::from_workspace(&e),
                }
                // Another writer took M: look again and take the next free version.
                match existing_versions(pass).await {
                    Ok(v) => next = next.max(v.last().copied().unwrap_or(0)) + 1,
                    Err(result) => return result,
                }
            }
            Ok(Effect::Applied(_)) => {
                if let Some((_, record)) = noted(pass, next, &path, alias_from) {
                    remember(pass, record);
                }
                return record(pass, next, path, alias_from, false).await;
            }
            Ok(Effect::Planned | Effect::Reported) => {
                return StepResult::done(
                    reasons::PLAN_RECORDED,
                    format!("would write plan v{next}"),
                );
            }
            Err(e) => return StepResult::from_workspace(&e),
        }
    }
    StepResult::Failed {
        reason: reasons::TRANSIENT_ERROR,
        message: format!(
            "every plan version tried was taken by a concurrent writer ({WRITE_ATTEMPTS} attempts)"
        ),
    }
}

/// The alias's ledger record noting this plan; `None` when it already does (or there is no
/// record, which only `plan` sees before the claim is written).
fn noted<W, C: Clock>(
    pass: &Pass<'_, W, C>,
    version: i64,
    path: &str,
    alias_from: Option<i64>,
) -> Option<(LedgerPath, Record)> {
    let entry = PlanEntry {
        marker: pass.ctx.identity.plan_marker(&pass.artifacts.fingerprint()),
        version,
        path: path.to_string(),
        alias_from,
    };
    let current = pass.artifacts.alias_record()?.clone();
    if current.plan.as_ref() == Some(&entry) {
        return None;
    }
    let object = Owned::Alias {
        model: pass.ctx.model().to_string(),
        alias: pass.ctx.spec.model.alias.clone(),
    };
    Some((
        object.path(pass.ctx.ledger_root()),
        Record {
            plan: Some(entry),
            ..current
        },
    ))
}

/// Keeps the updated alias record for the later steps of the pass.
fn remember<W, C>(pass: &mut Pass<'_, W, C>, record: Record) {
    if let Some((_, slot)) = pass
        .artifacts
        .ledger
        .iter_mut()
        .find(|(o, _)| matches!(o, Owned::Alias { .. }))
    {
        *slot = Some(record);
    }
}

/// Records the plan in status; a plan found by its marker (not written in this pass) is noted
/// in the ledger when it is not yet — where the release finds it again without searching other
/// releases' plans.
async fn record<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    version: i64,
    path: String,
    alias_from: Option<i64>,
    found: bool,
) -> StepResult {
    if found && let Some((ledger_path, updated)) = noted(pass, version, &path, alias_from) {
        let change = Change::WriteLedger {
            path: ledger_path,
            content: updated.render(),
            replace: true,
            summary: format!("note plan v{version} in the release ledger"),
        };
        if let Err(e) = pass.effect(change, Cause::Progress).await {
            return StepResult::from_workspace(&e);
        }
        remember(pass, updated);
    }
    let message = if found {
        format!("plan v{version} at {path} (found by its marker)")
    } else {
        format!("plan v{version} written at {path}")
    };
    pass.status.plan = Some(PlanRecord {
        path,
        version,
        generation: pass.ctx.identity.generation,
        fingerprint: pass.artifacts.fingerprint(),
        alias_from,
    });
    StepResult::done(reasons::PLAN_RECORDED, message)
}

/// Existing plan versions (`v<M>` directories), ascending.
async fn existing_versions<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
) -> Result<Vec<i64>, StepResult> {
    let entries = match pass.ws.list_directory(&pass.ctx.plans_dir).await {
        Ok(Some(entries)) => entries,
        Ok(None) => Vec::new(),
        Err(e) => return Err(StepResult::from_workspace(&e)),
    };
    let mut versions: Vec<i64> = entries
        .iter()
        .filter(|e| e.is_directory)
        .filter_map(|e| parse_version_dir(&e.name))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    Ok(versions)
}

/// `v12` → 12; anything else (`v`, `v01x`, `V3`, `v-1`) → None.
pub fn parse_version_dir(name: &str) -> Option<i64> {
    let digits = name.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|v: &i64| *v >= 1)
}

fn alias_from_document(doc: &str) -> Option<i64> {
    doc.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.trim_end().strip_prefix("alias_from: "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_directories() {
        assert_eq!(parse_version_dir("v12"), Some(12));
        for bad in ["v", "V3", "v1a", "v-1", "12", "v0", "v99999999999999999999"] {
            assert_eq!(parse_version_dir(bad), None, "{bad}");
        }
    }

    #[test]
    fn alias_from_is_read_back() {
        assert_eq!(alias_from_document("---\nalias_from: 11\n---\n"), Some(11));
        assert_eq!(alias_from_document("---\nalias_from: null\n---\n"), None);
    }
}
