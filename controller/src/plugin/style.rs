//! How the plugin marks things: ✓ / … / ✗ and friends, coloured only on a terminal.

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::{Condition, ConditionStatus};

/// What a line's mark says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Done.
    Done,
    /// Under way, or waiting for an earlier step.
    Waiting,
    /// Blocked or failed: needs a human or a new spec.
    Failed,
    /// Worth a look, but not blocking (an override, drift, a retried error, suspension).
    Warn,
    /// Does not apply to this release.
    Skipped,
}

impl Mark {
    /// The glyph.
    pub fn glyph(self) -> &'static str {
        match self {
            Mark::Done => "✓",
            Mark::Waiting => "…",
            Mark::Failed => "✗",
            Mark::Warn => "!",
            Mark::Skipped => "–",
        }
    }

    /// The mark of a step condition.
    pub fn of_condition(c: &Condition) -> Mark {
        if c.reason == reasons::NOT_APPLICABLE {
            return Mark::Skipped;
        }
        // These say something is off when they are True.
        if c.type_ == types::DRIFT_DETECTED || c.type_ == types::SUSPENDED {
            return match c.status {
                ConditionStatus::True => Mark::Warn,
                _ => Mark::Done,
            };
        }
        match c.status {
            ConditionStatus::True if c.reason == reasons::SIGNOFF_OVERRIDDEN => Mark::Warn,
            ConditionStatus::True => Mark::Done,
            ConditionStatus::Unknown => Mark::Waiting,
            ConditionStatus::False => match c.reason.as_str() {
                reasons::PENDING | reasons::WAITING | reasons::PROGRESSING | reasons::LOCKED => {
                    Mark::Waiting
                }
                reasons::TRANSIENT_ERROR | reasons::SUPERSEDED => Mark::Warn,
                _ => Mark::Failed,
            },
        }
    }
}

/// Whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// ANSI colours on.
    pub colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal;
        Style {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// The mark's glyph, coloured when on.
    pub fn mark(self, mark: Mark) -> String {
        self.paint(mark, mark.glyph())
    }

    /// `text` in the mark's colour, when on.
    pub fn paint(self, mark: Mark, text: &str) -> String {
        if !self.colour {
            return text.to_string();
        }
        let code = match mark {
            Mark::Done => "32",
            Mark::Waiting => "36",
            Mark::Failed => "31",
            Mark::Warn => "33",
            Mark::Skipped => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// `text` in bold, when on.
    pub fn bold(self, text: &str) -> String {
        if self.colour {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A span of time as kubectl prints ages: `45s`, `3m10s`, `2h5m`, `3d4h`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => {
            let (m, r) = (s / 60, s % 60);
            if r == 0 {
                format!("{m}m")
            } else {
                format!("{m}m{r}s")
            }
        }
        3600..86400 => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if m == 0 {
                format!("{h}h")
            } else {
                format!("{h}h{m}m")
            }
        }
        _ => {
            let (d, h) = (s / 86400, (s % 86400) / 3600);
            if h == 0 {
                format!("{d}d")
            } else {
                format!("{d}d{h}h")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectl_ages() {
        assert_eq!(human_duration(-3), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(190), "3m10s");
        assert_eq!(human_duration(7500), "2h5m");
        assert_eq!(human_duration(3 * 86400 + 4 * 3600 + 5), "3d4h");
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(Style::default().mark(Mark::Failed), "✗");
        assert_eq!(Style { colour: true }.mark(Mark::Done), "\x1b[32m✓\x1b[0m");
    }
}
