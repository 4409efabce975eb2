//! The call log: every request the simulated API served, in a bounded ring buffer, plus
//! per-route counters that are never truncated.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::Serialize;

/// How many calls the log keeps (oldest dropped first).
pub const CALL_LOG_CAPACITY: usize = 20_000;

/// One served request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// Sequence number (monotonic over the simulator's life).
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Request path (no query).
    pub path: String,
    /// The query string, when the request had one (e.g. the `path=` of a workspace export).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The route template that served it (e.g. `/api/2.0/apps/{name}`), or the path when none did.
    pub route: String,
    /// The answered status (0 when the connection was dropped on purpose).
    pub status: u16,
    /// How long it took.
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
    /// The authenticated principal, when any.
    pub principal: Option<String>,
    /// Simulated epoch milliseconds when it arrived.
    pub at: i64,
    /// Whether a fault rule decided the answer.
    pub faulted: bool,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl CallRecord {
    /// Whether the call could change state (anything but GET and HEAD).
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
            && !READ_ONLY_POSTS.contains(&self.route.as_str())
    }
}

/// Routes that take POST but only read (MLflow's searches carry their filter in the body).
pub const READ_ONLY_POSTS: [&str; 3] = [
    "/api/2.0/mlflow/runs/search",
    "/api/2.0/mlflow/experiments/search",
    // The simulator's statements are SELECTs only.
    "/api/2.0/sql/statements",
];

/// Counters of one route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteCounter {
    /// Calls by answered status.
    pub by_status: BTreeMap<u16, u64>,
    /// All calls.
    pub total: u64,
}

/// The log and the counters.
#[derive(Debug, Default)]
pub struct CallLog {
    records: VecDeque<CallRecord>,
    counters: BTreeMap<String, RouteCounter>,
    next_seq: u64,
}

impl CallLog {
    /// Appends a call.
    pub fn push(&mut self, mut record: CallRecord) {
        record.seq = self.next_seq;
        self.next_seq += 1;
        let counter = self
            .counters
            .entry(format!("{} {}", record.method, record.route))
            .or_default();
        counter.total += 1;
        *counter.by_status.entry(record.status).or_default() += 1;
        if self.records.len() >= CALL_LOG_CAPACITY {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    /// A copy of the kept calls, oldest first.
    pub fn records(&self) -> Vec<CallRecord> {
        self.records.iter().cloned().collect()
    }

    /// The per-route counters, keyed `"METHOD /route/template"`.
    pub fn counters(&self) -> BTreeMap<String, RouteCounter> {
        self.counters.clone()
    }

    /// Forgets the calls and counters.
    pub fn clear(&mut self) {
        self.records.clear();
        self.counters.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, status: u16) -> CallRecord {
        CallRecord {
            seq: 0,
            method: method.into(),
            path: "/api/2.0/apps/a".into(),
            query: None,
            route: "/api/2.0/apps/{name}".into(),
            status,
            duration: Duration::from_millis(1),
            principal: None,
            at: 0,
            faulted: false,
        }
    }

    #[test]
    fn the_log_is_bounded_but_counters_keep_counting() {
        let mut log = CallLog::default();
        for _ in 0..CALL_LOG_CAPACITY + 5 {
            log.push(call("GET", 200));
        }
        log.push(call("PATCH", 409));
        let records = log.records();
        assert_eq!(records.len(), CALL_LOG_CAPACITY);
        assert_eq!(
            records.last().map(|r| r.seq),
            Some(CALL_LOG_CAPACITY as u64 + 5)
        );
        let counters = log.counters();
        assert_eq!(
            counters["GET /api/2.0/apps/{name}"].total,
            CALL_LOG_CAPACITY as u64 + 5
        );
        assert_eq!(counters["PATCH /api/2.0/apps/{name}"].by_status[&409], 1);
        assert!(records.last().is_some_and(CallRecord::is_write));
    }
}
