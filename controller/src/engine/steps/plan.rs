//! Deployment plan (`PlanRecorded`): once the gates pass for this generation, write
//! `deployment_plans/v<M>/plan.md` with M one more than the highest existing version, never
//! overwriting; a plan carrying this generation's marker is recorded instead of writing another.
//! New gate inputs within a generation (a new signoff or summary) are a new plan version.
//!
//! The alias's ledger record notes the plan (marker, M, path) before the upload, so a release
//! finds its own plan from one read, never by searching the plans other releases wrote; a
//! noted M whose upload failed or lost its answer is tried again. The releases of one process
//! share the numbering ([`crate::engine::plan_numbers`]), so a hundred releases writing into
//! one plans volume do not collide; another writer's M is found out by the exclusive upload.

use crate::engine::change::Change;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::ledger::{LedgerPath, Owned, PlanEntry, Record};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::plan_doc::{self, PlanInput};
use crate::engine::workspace::{CreateOutcome, Workspace, WorkspaceErrorKind};
use agentrelease_api::conditions::reasons;
use agentrelease_api::status::PlanRecord;
use crate::engine::steps::StepInfo;

/// How many existing plans, newest first, are searched for this generation's marker when the
/// ledger does not name it (a crash between writing the plan and noting it).
pub const MARKER_SCAN_LIMIT: usize = 50;
/// The largest plan read while searching.
pub const MAX_PLAN_BYTES: u64 = 256 * 1024;
/// How many empty `v<M>` folders at the top of the plans volume are looked into and reused.
pub const EMPTY_PROBES: usize = 3;
/// How many times a version taken by a concurrent writer is retried with the next one.
pub const WRITE_ATTEMPTS: usize = 5;

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "plan",
    condition: agentrelease_api::conditions::types::PLAN_RECORDED,
    phase: agentrelease_api::conditions::Phase::Promoting,
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let generation = pass.ctx.identity.generation;
    // A plan is written for one release identity: a change to any of its inputs (the spec,
    // the signoff, the target...) is a new plan.
    let fingerprint = plan_identity(pass);
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
    let ledger = pass.artifacts.alias_record().cloned();
    let noted_entry = ledger
        .as_ref()
        .and_then(|r| r.plan.clone())
        .filter(|p| p.marker == marker);
    // Noted after its upload (by earlier versions): it is there. Noted before its upload:
    // read first, as a run without status (`apply` from CI) finds it there after every
    // successful release, and upload only when it is missing.
    if let Some(entry) = noted_entry.as_ref() {
        let there = !entry.pending
            || match pass.ws.read_file(&entry.path, MAX_PLAN_BYTES).await {
                Ok(Some(bytes)) => plan_doc::has_marker(&String::from_utf8_lossy(&bytes), &marker),
                Ok(None) => false,
                Err(e) if e.kind == WorkspaceErrorKind::TooLarge => false,
                Err(e) => return StepResult::from_workspace(&e),
            };
        if there {
            note_taken(pass, entry.version);
            let (version, path, alias_from) = (entry.version, entry.path.clone(), entry.alias_from);
            return record(pass, version, path, alias_from, true).await;
        }
    }
    // Plans read by the marker scan, so the numbering below does not read them again.
    let mut present = std::collections::BTreeSet::new();
    let mut listed = None;
    if noted_entry.is_none() && !ledger.as_ref().is_some_and(|r| r.announces_plans) {
        // A record that does not announce its plans may have lost the note of one written
        // just before a crash: search the newest plans for this generation's marker.
        let versions = match existing_versions(pass).await {
            Ok(v) => v,
            Err(result) => return result,
        };
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
        listed = Some(versions);
    }

    // Read once per pass: the claim read it when it noted the release in flight.
    let alias_from = match pass.seen.alias {
        Some(v) => v,
        None => match pass
            .ws
            .get_alias(pass.ctx.model(), &pass.ctx.spec.model.alias)
            .await
        {
            Ok(v) => v,
            Err(e) => return StepResult::from_workspace(&e),
        },
    };
    // The promotion right after this step decides on the same read.
    pass.seen.alias = Some(alias_from);
    // The version noted last time is tried again (its upload failed or never went out);
    // otherwise the next free one.
    let mut next = match noted_entry.as_ref() {
        Some(entry) => entry.version,
        None => match first_free(pass, listed, &present).await {
            Ok(v) => v,
            Err(result) => return result,
        },
    };
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
        let noted = noted(pass, next, &path, alias_from);
        let note = noted
            .as_ref()
            .map(|(path, record)| (path.clone(), record.render()));
        let change = Change::WritePlan {
            version: next,
            path: path.clone(),
            content,
            detail: Vec::new(),
            note,
        };
        let outcome = pass.effect(change, Cause::Progress).await;
        if let (Ok(Effect::Applied(_)), Some((_, record))) = (&outcome, noted) {
            // The note went out before the upload, whatever the upload answered.
            remember(pass, record);
        }
        match outcome {
            Ok(Effect::Applied(Applied::Written(CreateOutcome::AlreadyExists))) => {
                // Ours, when an earlier answer was lost (the upload was carried out and then
                // repeated): settled by reading it.
                match pass.ws.read_file(&path, MAX_PLAN_BYTES).await {
                    Ok(Some(bytes))
                        if plan_doc::has_marker(&String::from_utf8_lossy(&bytes), &marker) =>
                    {
                        note_taken(pass, next);
                        return record(pass, next, path, alias_from, true).await;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind == WorkspaceErrorKind::TooLarge => {}
                    Err(e) => return StepResult::from_workspace(&e),
                }
                // Another writer took M: look again and take the next free version.
                match existing_versions(pass).await {
                    Ok(v) => {
                        let seen = next.max(v.last().copied().unwrap_or(0));
                        next = take(pass, Some(seen)).unwrap_or(seen + 1);
                    }
                    Err(result) => return result,
                }
            }
            Ok(Effect::Applied(_)) => {
                note_taken(pass, next);
                return record(pass, next, path, alias_from, false).await;
            }
            Ok(Effect::Planned | Effect::Reported) => {
                if let Some(numbers) = pass.ws.plan_numbers() {
                    numbers.give_back(&pass.ctx.plans_dir, next);
                }
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

/// The first free plan version: handed out by this process's numbering when it knows the
/// volume, otherwise one more than the highest plan a listing finds (an empty `v<M>` at the
/// top, a failed upload of an older version, is filled, not skipped).
async fn first_free<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    listed: Option<Vec<i64>>,
    present: &std::collections::BTreeSet<i64>,
) -> Result<i64, StepResult> {
    if listed.is_none()
        && let Some(next) = take(pass, None)
    {
        return Ok(next);
    }
    // Releases arriving together list the volume once: the others wait, then take a number.
    let _listing = match pass.ws.plan_numbers() {
        Some(numbers) if listed.is_none() => {
            let guard = numbers.listing().await;
            if let Some(next) = take(pass, None) {
                return Ok(next);
            }
            Some(guard)
        }
        _ => None,
    };
    let mut highest = match listed {
        Some(v) => v,
        None => existing_versions(pass).await?,
    };
    // Numbering counts plans, not folders.
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
            Err(e) => return Err(StepResult::from_workspace(&e)),
        }
    }
    let top = highest.last().copied().unwrap_or(0);
    Ok(take(pass, Some(top)).unwrap_or(top + 1))
}

/// The next version from the process's numbering (see [`crate::engine::plan_numbers`]);
/// `None` when the workspace keeps none, or for a pass that only lists its changes and
/// knows nothing yet.
fn take<W: Workspace, C>(pass: &Pass<'_, W, C>, listed: Option<i64>) -> Option<i64> {
    pass.ws
        .plan_numbers()
        .and_then(|n| n.take(&pass.ctx.plans_dir, listed))
}

/// Tells the process's numbering that `version` is taken.
fn note_taken<W: Workspace, C>(pass: &Pass<'_, W, C>, version: i64) {
    if let Some(n) = pass.ws.plan_numbers() {
        n.note(&pass.ctx.plans_dir, version);
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
        marker: pass.ctx.identity.plan_marker(&plan_identity(pass)),
        version,
        path: path.to_string(),
        alias_from,
        pending: true,
    };
    let current = pass.artifacts.alias_record()?.clone();
    // Noted already, before its upload or (by an earlier version) after it.
    if current.plan.as_ref().is_some_and(|p| {
        p.marker == entry.marker
            && p.version == version
            && p.path == entry.path
            && p.alias_from == alias_from
    }) {
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
            announces_plans: true,
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
        fingerprint: plan_identity(pass),
        alias_from,
    });
    StepResult::done(reasons::PLAN_RECORDED, message)
}

/// What a plan is written for: the release identity (the gate fingerprint where the identity is
/// not known, which only a pass stopped before the gates sees).
fn plan_identity<W, C: Clock>(pass: &Pass<'_, W, C>) -> String {
    pass.identity_digest()
        .unwrap_or_else(|| pass.artifacts.fingerprint())
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
