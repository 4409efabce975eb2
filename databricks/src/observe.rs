//! Per-attempt observation for metrics.

use std::time::Duration;

use crate::error::ErrorKind;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Success,
    /// A classified error answer.
    Error(ErrorKind),
    /// No answer: the connection failed or timed out.
    ConnectionError,
}

impl Outcome {
    /// A short label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error(kind) => kind.as_str(),
            Outcome::ConnectionError => "connection_error",
        }
    }
}

/// One attempt of a call.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// The route template (e.g. `/api/2.0/apps/{name}`).
    pub route: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// How it ended.
    pub outcome: Outcome,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// How long it took.
    pub duration: Duration,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Receives every attempt (implemented by the operator's metrics).
pub trait Observer: Send + Sync {
    /// Called once per attempt.
    fn observe(&self, attempt: &Attempt<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn observe(&self, _attempt: &Attempt<'_>) {}
}
