//! Fault injection: rules matched against a request's method and path that add latency, answer
//! with an error status, drop the connection, or serve a request and then drop its answer. A seeded random source makes the fractions
//! reproducible.

use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultAction {
    /// Answers with this status and error code (e.g. 500 `INTERNAL_ERROR`, 503 `TEMPORARILY_UNAVAILABLE`).
    Status {
        /// The HTTP status.
        status: u16,
        /// The `error_code`; derived from the status when absent.
        #[serde(default)]
        error_code: Option<String>,
    },
    /// Answers 429 `REQUEST_LIMIT_EXCEEDED` with a `Retry-After` header (seconds).
    RateLimit {
        /// The `Retry-After` value in seconds.
        #[serde(default = "one")]
        retry_after_secs: u64,
    },
    /// Closes the connection without an answer.
    Drop,
    /// Serves the request (its effect is committed), then closes the connection without the
    /// answer: a write whose answer is lost.
    LoseAnswer,
    /// Delays the request, then serves it normally.
    Latency {
        /// The smallest delay in milliseconds.
        min_ms: u64,
        /// The largest delay in milliseconds (equal to `min_ms` for a fixed delay).
        #[serde(default)]
        max_ms: Option<u64>,
    },
}

fn one() -> u64 {
    1
}

/// A fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The method it applies to; all methods when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// A path glob (`*` matches within a segment, `**` across segments), or a regex when it
    /// starts with `^`.
    pub path: String,
    /// The fraction of matching requests it hits, 0.0 to 1.0 (default 1.0).
    #[serde(default = "always")]
    pub probability: f64,
    /// How many times it fires before it retires itself; unlimited when absent.
    #[serde(default)]
    pub times: Option<u64>,
    /// How many matching requests it lets through before it starts to act (a kill point after
    /// the first `after` calls); none when absent.
    #[serde(default)]
    pub after: Option<u64>,
    /// What it does.
    pub action: FaultAction,
}

fn always() -> f64 {
    1.0
}

/// The longest injectable latency (ten minutes).
pub const MAX_LATENCY_MS: u64 = 600_000;

/// A rule that is not usable.
#[derive(Debug, thiserror::Error)]
#[error("invalid fault rule for path `{path}`: {reason}")]
pub struct FaultRuleError {
    /// The offending pattern.
    pub path: String,
    /// Why.
    pub reason: String,
}

#[derive(Debug)]
struct ActiveRule {
    rule: FaultRule,
    pattern: regex::Regex,
    fired: u64,
    passed: u64,
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultDecision {
    /// Serve normally.
    Pass,
    /// Wait, then serve normally.
    Delay(Duration),
    /// Answer with an error.
    Respond {
        /// The status.
        status: u16,
        /// The error code.
        error_code: String,
        /// `Retry-After` seconds, for 429.
        retry_after: Option<u64>,
    },
    /// Close the connection.
    Drop,
    /// Serve, then close the connection without the answer.
    LoseAnswer,
}

/// The active rules and their random source.
#[derive(Debug)]
pub struct FaultSet {
    rules: Vec<ActiveRule>,
    rng: StdRng,
}

impl FaultSet {
    /// An empty set whose random draws follow `seed`.
    pub fn new(seed: u64) -> Self {
        FaultSet {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Adds a rule (checked in insertion order; the first that fires decides).
    pub fn add(&mut self, rule: FaultRule) -> Result<(), FaultRuleError> {
        let pattern = compile(&rule.path).map_err(|reason| FaultRuleError {
            path: rule.path.clone(),
            reason,
        })?;
        if let FaultAction::Latency { min_ms, max_ms } = &rule.action
            && max_ms.unwrap_or(*min_ms).max(*min_ms) > MAX_LATENCY_MS
        {
            return Err(FaultRuleError {
                path: rule.path.clone(),
                reason: format!("latency above {MAX_LATENCY_MS} ms is not supported"),
            });
        }
        if !(0.0..=1.0).contains(&rule.probability) {
            return Err(FaultRuleError {
                path: rule.path.clone(),
                reason: format!("probability {} is not within 0..=1", rule.probability),
            });
        }
        self.rules.push(ActiveRule {
            rule,
            pattern,
            fired: 0,
            passed: 0,
        });
        Ok(())
    }

    /// Removes every rule and reseeds the random source.
    pub fn clear(&mut self, seed: u64) {
        self.rules.clear();
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// Whether no rule is active (the fast path).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides what happens to a request. Latency rules add up with a later decisive rule.
    pub fn decide(&mut self, method: &str, path: &str) -> (Duration, FaultDecision) {
        let mut delay = Duration::ZERO;
        for active in &mut self.rules {
            let rule = &active.rule;
            if rule
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                continue;
            }
            if rule.times.is_some_and(|t| active.fired >= t) || !active.pattern.is_match(path) {
                continue;
            }
            if rule.after.is_some_and(|a| active.passed < a) {
                active.passed += 1;
                continue;
            }
            if rule.probability < 1.0 && self.rng.random::<f64>() >= rule.probability {
                continue;
            }
            active.fired += 1;
            match &rule.action {
                FaultAction::Latency { min_ms, max_ms } => {
                    let max = max_ms.unwrap_or(*min_ms).max(*min_ms);
                    let ms = if max > *min_ms {
                        self.rng.random_range(*min_ms..=max)
                    } else {
                        *min_ms
                    };
                    delay += Duration::from_millis(ms);
                }
                FaultAction::Drop => return (delay, FaultDecision::Drop),
                FaultAction::LoseAnswer => return (delay, FaultDecision::LoseAnswer),
                FaultAction::RateLimit { retry_after_secs } => {
                    return (
                        delay,
                        FaultDecision::Respond {
                            status: 429,
                            error_code: "REQUEST_LIMIT_EXCEEDED".into(),
                            retry_after: Some(*retry_after_secs),
                        },
                    );
                }
                FaultAction::Status { status, error_code } => {
                    let code = error_code
                        .clone()
                        .unwrap_or_else(|| default_code(*status).to_string());
                    return (
                        delay,
                        FaultDecision::Respond {
                            status: *status,
                            error_code: code,
                            retry_after: None,
                        },
                    );
                }
            }
        }
        let decision = if delay.is_zero() {
            FaultDecision::Pass
        } else {
            FaultDecision::Delay(delay)
        };
        (Duration::ZERO, decision)
    }
}

/// The error code Databricks sends with a status.
pub fn default_code(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "RESOURCE_CONFLICT",
        429 => "REQUEST_LIMIT_EXCEEDED",
        501 => "NOT_IMPLEMENTED",
        503 => "TEMPORARILY_UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL_ERROR",
    }
}

/// Compiles a glob (or a `^regex`) into an anchored regex.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    compile(pattern)
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.starts_with('^') {
        return regex::Regex::new(pattern).map_err(|e| e.to_string());
    }
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, action: FaultAction) -> FaultRule {
        FaultRule {
            method: None,
            path: path.into(),
            probability: 1.0,
            times: None,
            after: None,
            action,
        }
    }

    #[test]
    fn globs_match_within_and_across_segments() {
        let single = compile("/api/2.0/apps/*").unwrap();
        assert!(single.is_match("/api/2.0/apps/bot"));
        assert!(!single.is_match("/api/2.0/apps/bot/deployments"));
        let deep = compile("/api/2.0/fs/**").unwrap();
        assert!(deep.is_match("/api/2.0/fs/files/Volumes/a/b/c.txt"));
        assert!(
            compile("^/api/2\\.0/apps/[a-z]+$")
                .unwrap()
                .is_match("/api/2.0/apps/x")
        );
    }

    #[test]
    fn times_retires_a_rule_and_method_filters() {
        let mut set = FaultSet::new(1);
        let mut r = rule("/x", FaultAction::Drop);
        r.times = Some(1);
        r.method = Some("POST".into());
        set.add(r).unwrap();
        assert_eq!(set.decide("GET", "/x").1, FaultDecision::Pass);
        assert_eq!(set.decide("post", "/x").1, FaultDecision::Drop);
        assert_eq!(set.decide("POST", "/x").1, FaultDecision::Pass);
    }

    #[test]
    fn the_same_seed_gives_the_same_failures() {
        let draw = |seed| {
            let mut set = FaultSet::new(seed);
            let mut r = rule(
                "/**",
                FaultAction::Status {
                    status: 503,
                    error_code: None,
                },
            );
            r.probability = 0.3;
            set.add(r).unwrap();
            (0..200)
                .map(|_| set.decide("GET", "/a") != (Duration::ZERO, FaultDecision::Pass))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..=90).contains(&hits), "{hits} of 200 at p=0.3");
    }

    #[test]
    fn latency_adds_to_a_later_decisive_rule() {
        let mut set = FaultSet::new(1);
        set.add(rule(
            "/a",
            FaultAction::Latency {
                min_ms: 20,
                max_ms: None,
            },
        ))
        .unwrap();
        set.add(rule(
            "/a",
            FaultAction::RateLimit {
                retry_after_secs: 2,
            },
        ))
        .unwrap();
        let (delay, decision) = set.decide("GET", "/a");
        assert_eq!(delay, Duration::from_millis(20));
        assert!(matches!(
            decision,
            FaultDecision::Respond {
                status: 429,
                retry_after: Some(2),
                ..
            }
        ));
        assert!(set.add(rule("^(", FaultAction::Drop)).is_err());
    }
}
