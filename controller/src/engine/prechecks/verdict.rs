//! What the reads of the named objects come to (pure): missing objects block the release
//! (`ObjectMissing`), objects the operator may not read block it too (`PermissionDenied`), and
//! any other failure is the workspace's (a transient one is retried). Each message names the
//! object, the field that names it and what to do; nothing was written.

use agentrelease_api::conditions::reasons;

use crate::engine::pass::StepResult;
use crate::engine::workspace::{WorkspaceError, WorkspaceErrorKind};

/// One object as the preflight read it.
#[derive(Debug, Clone)]
pub struct Read {
    /// The object, described (`table main.agents.payload`).
    pub object: String,
    /// The field naming it (`ReleaseTarget prod spec.gateway.payloadTable`).
    pub field: String,
    /// Whether it exists, or why the read failed.
    pub result: Result<bool, WorkspaceError>,
}

/// The verdict; `None` when every object exists.
pub fn decide(reads: &[Read]) -> Option<StepResult> {
    let line = |r: &Read| format!("{} ({})", r.object, r.field);
    let missing: Vec<String> = reads
        .iter()
        .filter(|r| match &r.result {
            Ok(exists) => !exists,
            Err(e) => e.kind == WorkspaceErrorKind::NotFound,
        })
        .map(line)
        .collect();
    if !missing.is_empty() {
        return Some(StepResult::blocked(
            reasons::OBJECT_MISSING,
            format!(
                "the release names what does not exist: {}. Nothing was written: create each one, or fix the field that names it",
                missing.join("; ")
            ),
        ));
    }
    let denied: Vec<String> = reads
        .iter()
        .filter_map(|r| match &r.result {
            Err(e) if e.kind == WorkspaceErrorKind::PermissionDenied => {
                Some(format!("{} ({}): {}", r.object, r.field, e.message))
            }
            _ => None,
        })
        .collect();
    if !denied.is_empty() {
        return Some(StepResult::blocked(
            reasons::PERMISSION_DENIED,
            format!(
                "the operator's principal may not read {}. Nothing was written: grant it read access to each one, or fix the field that names it",
                denied.join("; ")
            ),
        ));
    }
    let (r, e) = reads.iter().find_map(|r| match &r.result {
        Err(e) => Some((r, e)),
        Ok(_) => None,
    })?;
    let retry = if e.kind.is_transient() {
        "; asking again"
    } else {
        ""
    };
    let message = format!("reading {} ({}) failed: {e}{retry}", r.object, r.field);
    Some(match StepResult::from_workspace(e) {
        StepResult::Blocked { reason, .. } => StepResult::Blocked { reason, message },
        StepResult::Failed { reason, .. } => StepResult::Failed { reason, message },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(object: &str, result: Result<bool, WorkspaceErrorKind>) -> Read {
        Read {
            object: object.into(),
            field: format!("field of {object}"),
            result: result.map_err(|k| WorkspaceError::new(k, "read", "refused")),
        }
    }

    fn parts(r: Option<StepResult>) -> (&'static str, String, bool) {
        match r {
            Some(StepResult::Blocked { reason, message }) => (reason, message, true),
            Some(StepResult::Failed { reason, message }) => (reason, message, false),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn everything_present_passes() {
        assert!(decide(&[read("schema a.b", Ok(true)), read("table a.b.c", Ok(true))]).is_none());
        assert!(decide(&[]).is_none());
    }

    #[test]
    fn missing_objects_block_naming_each_with_its_field() {
        let (reason, message, blocked) = parts(decide(&[
            read("schema a.b", Ok(false)),
            read("table a.b.c", Err(WorkspaceErrorKind::NotFound)),
            read("Genie space x", Err(WorkspaceErrorKind::PermissionDenied)),
        ]));
        assert!(blocked);
        assert_eq!(reason, reasons::OBJECT_MISSING);
        assert!(
            message.contains("schema a.b (field of schema a.b)")
                && message.contains("table a.b.c (field of table a.b.c)")
                && message.contains("Nothing was written")
                && !message.contains("Genie"),
            "{message}"
        );
    }

    #[test]
    fn an_object_the_operator_may_not_read_blocks_as_permission_denied() {
        let (reason, message, blocked) = parts(decide(&[
            read("schema a.b", Ok(true)),
            read("Genie space x", Err(WorkspaceErrorKind::PermissionDenied)),
        ]));
        assert!(blocked);
        assert_eq!(reason, reasons::PERMISSION_DENIED);
        assert!(
            message.contains("may not read Genie space x (field of Genie space x): refused"),
            "{message}"
        );
    }

    #[test]
    fn a_transient_failure_is_retried_naming_the_object() {
        let (reason, message, blocked) = parts(decide(&[
            read("schema a.b", Ok(true)),
            read("table a.b.c", Err(WorkspaceErrorKind::Transient)),
        ]));
        assert!(!blocked);
        assert_eq!(reason, reasons::TRANSIENT_ERROR);
        assert!(
            message.contains("reading table a.b.c (field of table a.b.c) failed"),
            "{message}"
        );
    }
}
