//! What `apply` shows while it runs: a line per step change (always, on stdout), and on a
//! terminal a live spinner per release with its current step and elapsed time (on stderr); at
//! the end a table of the releases (release, phase, reason, duration).

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::StepReport;
use crate::plugin::history::table;
use crate::plugin::style::human_duration;

/// The spinner's frames; the last is shown when a release ends.
const TICKS: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "·"];

/// Whether to draw live progress: on a terminal (stderr), unless `--no-progress`.
pub fn live_wanted(no_progress: bool) -> bool {
    use std::io::IsTerminal;
    !no_progress && std::io::stderr().is_terminal()
}

/// The progress of a whole run.
pub struct Progress {
    multi: Option<MultiProgress>,
    text: bool,
}

impl Progress {
    /// `text`: print lines at all (not under `-o json`); `live`: draw spinners on stderr.
    pub fn new(text: bool, live: bool) -> Progress {
        let multi = (text && live)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        Progress { multi, text }
    }

    /// Prints a line above the spinners (or plainly).
    pub fn println(&self, line: &str) {
        if !self.text {
            return;
        }
        match &self.multi {
            Some(m) => m.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    /// Removes the spinners (the final table follows); plain lines from here on.
    pub fn end(&mut self) {
        if let Some(m) = self.multi.take() {
            let _ = m.clear();
        }
    }

    /// Starts one release's progress; `prefix` starts its lines (`[ns/name] ` when there are
    /// several), `key` names its spinner.
    pub fn release(&self, key: &str, prefix: String) -> ReleaseProgress<'_> {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            let style =
                ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner())
                    .tick_strings(TICKS);
            bar.set_style(style);
            bar.set_prefix(key.to_string());
            bar.set_message("starting");
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        ReleaseProgress {
            run: self,
            bar,
            prefix,
            shown: HashMap::new(),
        }
    }
}

/// One release's progress.
pub struct ReleaseProgress<'a> {
    run: &'a Progress,
    bar: Option<ProgressBar>,
    prefix: String,
    shown: HashMap<&'static str, (&'static str, String)>,
}

impl ReleaseProgress<'_> {
    /// A line of this release.
    pub fn line(&self, text: &str) {
        self.run.println(&format!("  {}{text}", self.prefix));
    }

    /// Prints the steps whose outcome or reason changed; the spinner shows the last step.
    pub fn steps(&mut self, steps: &[StepReport]) {
        for s in steps {
            let key = (s.outcome, s.reason.clone());
            if self.shown.get(s.condition) == Some(&key) {
                continue;
            }
            let mark = match s.outcome {
                "done" => "✓",
                "waiting" => "…",
                "blocked" => "✗",
                _ => "!",
            };
            self.line(&format!("{mark} {:<19} {}", s.condition, s.message));
            self.shown.insert(s.condition, key);
        }
        if let (Some(bar), Some(last)) = (&self.bar, steps.last()) {
            bar.set_message(format!(
                "{} {}: {}",
                last.condition, last.outcome, last.message
            ));
        }
    }

    /// Ends the spinner with a summary.
    pub fn finish(&self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(summary.to_string());
        }
    }
}

/// One row of the final table.
pub struct Summary {
    /// `namespace/name`.
    pub release: String,
    /// The phase.
    pub phase: String,
    /// The Ready condition's reason.
    pub reason: String,
    /// How long `apply` drove it.
    pub took: Duration,
}

/// The final table.
pub fn summary_table(rows: &[Summary]) -> String {
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.release.clone(),
                r.phase.clone(),
                r.reason.clone(),
                human_duration(r.took.as_secs() as i64),
            ]
        })
        .collect();
    table(&["RELEASE", "PHASE", "REASON", "DURATION"], &cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_table_has_a_row_per_release() {
        let t = summary_table(&[
            Summary {
                release: "agents/skyloyalty-v7".into(),
                phase: "Ready".into(),
                reason: "Released".into(),
                took: Duration::from_secs(75),
            },
            Summary {
                release: "agents/other".into(),
                phase: "Blocked".into(),
                reason: "SignoffRejected".into(),
                took: Duration::from_secs(2),
            },
        ]);
        assert_eq!(
            t,
            "RELEASE                PHASE     REASON            DURATION\n\
             agents/skyloyalty-v7   Ready     Released          1m15s\n\
             agents/other           Blocked   SignoffRejected   2s\n"
        );
    }
}
