//! The `get` tree's line for a long-running verification task.

use super::style::{Mark, Style};

/// The long-running task of a verification: its id (and the id it is continued as), its last
/// state, the continue calls made and the deadline.
pub fn render(t: &agentrelease_api::task::TaskRecord, passed: bool, style: Style) -> String {
    let terminal = t
        .state
        .as_deref()
        .is_some_and(crate::engine::verification::task::is_terminal);
    let mark = match (passed, terminal) {
        (true, _) => Mark::Done,
        (false, true) => Mark::Failed,
        (false, false) => Mark::Waiting,
    };
    let continued = if t.id == t.started_id {
        String::new()
    } else {
        format!(" (continued as {})", t.id)
    };
    format!(
        "{} task {}{continued} {} after {} continue call(s), deadline {}",
        style.mark(mark),
        t.started_id,
        t.state.as_deref().unwrap_or("started"),
        t.polls,
        t.deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
}

#[cfg(test)]
mod task_tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn a_running_task_shows_its_ids_state_and_deadline() {
        let at: Timestamp = "2026-12-02T10:00:00Z".parse().expect("ts");
        let t = agentrelease_api::task::TaskRecord {
            id: "task-0001-c2".into(),
            started_id: "task-0001".into(),
            started_at: at,
            deadline: at
                .checked_add(jiff::SignedDuration::from_secs(600))
                .expect("ts"),
            state: Some("RUNNING".into()),
            polls: 2,
        };
        let line = render(&t, false, Style::default());
        assert_eq!(
            line,
            format!(
                "{} task task-0001 (continued as task-0001-c2) RUNNING after 2 continue call(s), deadline 2026-12-02T10:10:00Z",
                Mark::Waiting.glyph()
            )
        );
        let failed = agentrelease_api::task::TaskRecord {
            state: Some("FAILED".into()),
            ..t
        };
        assert!(render(&failed, false, Style::default()).starts_with(Mark::Failed.glyph()));
    }
}
