//! App health after a deployment: the app's compute and app status, and the tail of its logs
//! (read from `<app url>/logz`, the one place the platform shows them) for the condition
//! message and the Event when the app is not healthy.

/// The path of the app's log page on its URL.
pub const LOGS_PATH: &str = "/logz";
/// How many log lines go into a message.
pub const TAIL_LINES: usize = 10;
/// The longest log line kept.
const LINE_CHARS: usize = 300;

/// The last [`TAIL_LINES`] non-empty lines of a log page answer, or `None` when the answer is
/// not a plain text log (an error status, or an HTML page the real proxy serves to browsers).
pub fn tail(status: u16, body: &str) -> Option<Vec<String>> {
    if !(200..300).contains(&status) || body.trim_start().starts_with('<') {
        return None;
    }
    let lines: Vec<String> = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take(LINE_CHARS).collect())
        .collect();
    let skip = lines.len().saturating_sub(TAIL_LINES);
    Some(lines.into_iter().skip(skip).collect())
}

/// The app states that fail a verification: the app crashed or is not available, or its
/// compute failed.
pub const UNHEALTHY_APP_STATES: [&str; 3] = ["CRASHED", "UNAVAILABLE", "ERROR"];

/// Whether an app that has a successful deployment is unhealthy (pure): its compute is `ERROR`
/// or its app status one of [`UNHEALTHY_APP_STATES`]. Unknown states are not judged.
pub fn unhealthy(compute: Option<&str>, app_state: Option<&str>) -> bool {
    compute == Some("ERROR") || app_state.is_some_and(|s| UNHEALTHY_APP_STATES.contains(&s))
}

/// The sentence added to a failure message.
pub fn describe(compute: Option<&str>, app_state: Option<&str>, logs: Option<&[String]>) -> String {
    let state = format!(
        "app compute {}, app status {}",
        compute.unwrap_or("unknown"),
        app_state.unwrap_or("unknown")
    );
    match logs {
        Some(lines) if !lines.is_empty() => {
            format!("{state}; last log lines:\n{}", lines.join("\n"))
        }
        Some(_) => format!("{state}; the app's log is empty"),
        None => format!("{state}; the app's logs are not readable at {LOGS_PATH}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_of_a_text_log_only() {
        let body: String = (1..=15).map(|i| format!("line {i}\n")).collect();
        let t = tail(200, &body).expect("text");
        assert_eq!(t.len(), TAIL_LINES);
        assert_eq!(t.last().map(String::as_str), Some("line 15"));
        assert_eq!(tail(200, "<html>login</html>"), None);
        assert_eq!(tail(401, "no"), None);
    }

    #[test]
    fn crashed_unavailable_and_compute_errors_are_unhealthy() {
        assert!(unhealthy(Some("ACTIVE"), Some("CRASHED")));
        assert!(unhealthy(Some("ERROR"), Some("RUNNING")));
        assert!(unhealthy(Some("ACTIVE"), Some("UNAVAILABLE")));
        assert!(!unhealthy(Some("ACTIVE"), Some("RUNNING")));
        assert!(!unhealthy(Some("ACTIVE"), Some("DEPLOYING")));
        assert!(!unhealthy(None, None));
    }

    #[test]
    fn the_description_names_the_states_and_the_lines() {
        let d = describe(
            Some("ACTIVE"),
            Some("UNAVAILABLE"),
            Some(&["ERROR: x".to_string()]),
        );
        assert!(
            d.contains("app compute ACTIVE, app status UNAVAILABLE") && d.ends_with("ERROR: x")
        );
        assert!(describe(None, None, None).contains("not readable"));
    }
}
