//! Pure decisions of the evaluation gate beyond the thresholds: regression against the summary
//! of the release owning the alias, and the checks on the evaluation run.

use agentrelease_api::release::{EvaluationRunChecks, Threshold};
use serde_json::Value;

use super::eval_summary::Summary;
use crate::engine::workspace::RunFacts;

/// The prefix of an evaluation run's name; the rest is `YYYYMMDD_HHMMSS`.
pub const RUN_NAME_PREFIX: &str = "eval_pre_deploy_";

/// One metric that worsened by more than its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// The metric.
    pub metric: String,
    /// Its value in this release's summary.
    pub now: f64,
    /// Its value in the summary of the release owning the alias.
    pub before: f64,
    /// The declared `maxRegression`.
    pub limit: f64,
}

impl Regression {
    /// How it reads in the condition message.
    pub fn describe(&self) -> String {
        format!(
            "{}: now {}, before {}, worsened by {} (limit {})",
            self.metric,
            self.now,
            self.before,
            round((self.now - self.before).abs()),
            self.limit
        )
    }
}

fn round(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

fn metric(summary: &Summary, name: &str) -> Option<f64> {
    summary
        .metrics
        .get(name)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
}

/// The metrics that worsened by more than their `maxRegression`. A metric with `min` is higher
/// is better; one with only `max` is lower is better. A metric absent from the earlier summary is
/// not compared (there is nothing to regress from).
pub fn regressions(now: &Summary, before: &Summary, thresholds: &[Threshold]) -> Vec<Regression> {
    thresholds
        .iter()
        .filter_map(|t| {
            let limit = t.max_regression?;
            let (n, b) = (metric(now, &t.metric)?, metric(before, &t.metric)?);
            let higher_is_better = t.min.is_some() || t.max.is_none();
            let worsening = if higher_is_better { b - n } else { n - b };
            (round(worsening) > limit).then(|| Regression {
                metric: t.metric.clone(),
                now: n,
                before: b,
                limit,
            })
        })
        .collect()
}

/// Whether `name` is `eval_pre_deploy_YYYYMMDD_HHMMSS` with a real date and time.
pub fn is_pre_deploy_run_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(RUN_NAME_PREFIX) else {
        return false;
    };
    let b = rest.as_bytes();
    if b.len() != 15 || b[8] != b'_' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &rest[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = (
        digits(0..4),
        digits(4..6),
        digits(6..8),
        digits(9..11),
        digits(11..13),
        digits(13..15),
    ) else {
        return false;
    };
    jiff::civil::Date::new(y as i16, mo as i8, d as i8).is_ok() && h < 24 && mi < 60 && s < 60
}

/// Whether a dataset input's source is a Unity Catalog table: kind `delta` or `uc_table`, and a
/// source naming a three-part table (when a source is given).
fn is_table_source(source_type: Option<&str>, source: Option<&str>) -> Result<(), String> {
    let kind = source_type.unwrap_or("");
    if !matches!(kind, "delta" | "uc_table" | "unity_catalog") {
        return Err(format!(
            "source_type {}",
            if kind.is_empty() { "(none)" } else { kind }
        ));
    }
    let Some(source) = source else {
        return Ok(());
    };
    let table = serde_json::from_str::<Value>(source).ok().and_then(|v| {
        v.get("table_name")
            .or_else(|| v.get("delta_table_name"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    match table {
        Some(t) if t.split('.').count() == 3 && t.split('.').all(|p| !p.is_empty()) => Ok(()),
        Some(t) => Err(format!(
            "{kind} source table {t:?} (not catalog.schema.table)"
        )),
        None => Err(format!("{kind} source {source} (no table_name)")),
    }
}

/// Checks the run against `checks`; the error names what was expected and what was seen.
pub fn check_run(
    run_id: &str,
    run: &RunFacts,
    checks: &EvaluationRunChecks,
    experiment: Option<(&str, &str)>,
    context: &str,
) -> Result<(), String> {
    if checks.require_evaluation_experiment {
        match experiment {
            Some((path, id)) if id == run.experiment_id => {
                let _ = path;
            }
            Some((path, id)) => {
                return Err(format!(
                    "the evaluation run {run_id} is in experiment {}, expected the target's evaluation experiment {path} ({id})",
                    run.experiment_id
                ));
            }
            None => {
                return Err(format!(
                    "the evaluation run {run_id} is in experiment {}, expected the target's evaluation experiment, which does not exist",
                    run.experiment_id
                ));
            }
        }
    }
    if checks.require_run_name && !is_pre_deploy_run_name(&run.run_name) {
        return Err(format!(
            "the evaluation run {run_id} is named {:?}, expected {RUN_NAME_PREFIX}YYYYMMDD_HHMMSS",
            run.run_name
        ));
    }
    if checks.require_table_dataset {
        let tagged: Vec<_> = run
            .inputs
            .iter()
            .filter(|i| i.context.as_deref() == Some(context))
            .collect();
        if tagged.is_empty() {
            return Err(format!(
                "the evaluation run {run_id} logged no dataset with context {context}, expected a Unity Catalog table"
            ));
        }
        for input in tagged {
            if let Err(seen) =
                is_table_source(input.source_type.as_deref(), input.source.as_deref())
            {
                return Err(format!(
                    "the evaluation dataset {} of run {run_id} has {seen}, expected a Unity Catalog table (source_type delta)",
                    input.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_need_a_real_date_and_time() {
        assert!(is_pre_deploy_run_name("eval_pre_deploy_20261201_093000"));
        assert!(!is_pre_deploy_run_name("eval_pre_deploy_20261301_093000"));
        assert!(!is_pre_deploy_run_name("eval_pre_deploy_20261201_253000"));
        assert!(!is_pre_deploy_run_name("eval_pre_deploy_2026121_093000"));
        assert!(!is_pre_deploy_run_name("eval_v7"));
        assert!(!is_pre_deploy_run_name("eval_pre_deploy_2026120a_093000"));
    }

    #[test]
    fn table_sources_are_accepted_and_files_refused() {
        assert!(is_table_source(Some("delta"), Some(r#"{"table_name": "main.a.b"}"#)).is_ok());
        assert!(is_table_source(Some("delta"), None).is_ok());
        assert!(is_table_source(Some("local"), Some(r#"{"uri": "/tmp/x.csv"}"#)).is_err());
        assert!(is_table_source(Some("delta"), Some(r#"{"table_name": "b"}"#)).is_err());
        assert!(is_table_source(None, None).is_err());
    }

    fn summary(v: f64) -> Summary {
        super::super::eval_summary::parse(
            format!(r#"{{"version": 1, "metrics": {{"m": {v}, "lat": {v}}}}}"#).as_bytes(),
        )
        .expect("summary")
    }

    #[test]
    fn regression_direction_follows_the_bound() {
        let hi = Threshold {
            metric: "m".into(),
            min: Some(0.5),
            max: None,
            max_regression: Some(0.02),
        };
        let lo = Threshold {
            metric: "lat".into(),
            min: None,
            max: Some(10.0),
            max_regression: Some(0.02),
        };
        assert!(regressions(&summary(0.9), &summary(0.92), std::slice::from_ref(&hi)).is_empty());
        let r = regressions(&summary(0.8), &summary(0.9), &[hi]);
        assert_eq!(r.len(), 1);
        assert!(
            r[0].describe().contains("now 0.8, before 0.9"),
            "{}",
            r[0].describe()
        );
        assert_eq!(regressions(&summary(0.9), &summary(0.8), &[lo]).len(), 1);
    }
}
