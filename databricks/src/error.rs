//! Classified errors. The class comes from the API's `error_code` first, then the HTTP status —
//! never from the message text.

use std::fmt;

/// What kind of failure a call ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object does not exist.
    NotFound,
    /// The object already exists.
    AlreadyExists,
    /// A conflicting operation is in progress (`RESOURCE_CONFLICT`, `ABORTED`).
    Conflict,
    /// The principal lacks a permission.
    PermissionDenied,
    /// The request was refused as invalid.
    InvalidInput,
    /// Throttled (429).
    RateLimited,
    /// A transient server-side or connection failure.
    Transient,
    /// The credentials were refused.
    Unauthenticated,
    /// A response larger than the caller accepts.
    TooLarge,
    /// The client refused to send the request where credentials do not belong: a name that
    /// resolves only to refused addresses, an OAuth endpoint off the workspace's origin, a
    /// redirect to another origin. Nothing was sent there; retrying does not help.
    UntrustedEndpoint,
    /// The client refused to send a request to a URL off the workspace's origin (an app's
    /// URL, a custom MCP server) that the origin policy does not allow
    /// ([`agentrelease_api::origin`]). Nothing was sent there; retrying does not help.
    UntrustedOrigin,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Transient => "transient",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::UntrustedEndpoint => "untrusted_endpoint",
            ErrorKind::UntrustedOrigin => "untrusted_origin",
            ErrorKind::Other => "other",
        }
    }
}

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The class.
    pub kind: ErrorKind,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The API's `error_code`, when given.
    pub error_code: Option<String>,
    /// The API's message (never a credential).
    pub message: String,
    /// The route template of the call.
    pub route: String,
}

impl Error {
    /// The class.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A short category for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        self.kind.as_str()
    }

    /// A client-side error (no answer classified), also for a credentials source of the
    /// caller's (a [`crate::SubjectTokenSource`]).
    pub fn local(kind: ErrorKind, route: &str, message: impl Into<String>) -> Self {
        Error {
            kind,
            status: None,
            error_code: None,
            message: message.into(),
            route: route.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.status, &self.error_code) {
            (Some(s), Some(code)) => write!(f, "{} ({s} {code}): {}", self.route, self.message),
            (Some(s), None) => write!(f, "{} (HTTP {s}): {}", self.route, self.message),
            _ => write!(f, "{}: {}", self.route, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Result of a client call.
pub type Result<T> = std::result::Result<T, Error>;

/// Classifies an answer from its `error_code` (first) and HTTP status.
pub fn classify(status: u16, error_code: Option<&str>) -> ErrorKind {
    if let Some(code) = error_code {
        let by_code = match code {
            "RESOURCE_DOES_NOT_EXIST"
            | "NOT_FOUND"
            | "ENDPOINT_NOT_FOUND"
            | "FEATURE_DISABLED_OR_NOT_FOUND" => Some(ErrorKind::NotFound),
            "RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS" => Some(ErrorKind::AlreadyExists),
            "RESOURCE_CONFLICT" | "ABORTED" => Some(ErrorKind::Conflict),
            "PERMISSION_DENIED" => Some(ErrorKind::PermissionDenied),
            "UNAUTHENTICATED" => Some(ErrorKind::Unauthenticated),
            "INVALID_PARAMETER_VALUE"
            | "INVALID_STATE"
            | "BAD_REQUEST"
            | "MALFORMED_REQUEST"
            | "INVALID_REQUEST"
            | "MAX_NOTEBOOK_SIZE_EXCEEDED"
            | "DIRECTORY_NOT_EMPTY" => Some(ErrorKind::InvalidInput),
            "REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED" => Some(ErrorKind::RateLimited),
            "TEMPORARILY_UNAVAILABLE" | "DEADLINE_EXCEEDED" => Some(ErrorKind::Transient),
            _ => None,
        };
        if let Some(kind) = by_code {
            return kind;
        }
    }
    match status {
        400 | 405 | 413 | 415 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Other,
    }
}

/// Reads `(error_code, message)` from an error body: the API's JSON shape, SCIM's shape, or
/// plain text. The message is cut to a sane length.
pub fn parse_error_body(status: u16, body: &[u8]) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(body);
    let cut = |s: &str| s.chars().take(500).collect::<String>();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let code = v.get("error_code").and_then(|c| match c {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        if let Some(message) = v.get("message").and_then(|m| m.as_str()) {
            return (code, cut(message));
        }
        if let Some(detail) = v.get("detail").and_then(|m| m.as_str()) {
            return (Some(format!("SCIM_{status}")), cut(detail));
        }
        if let Some(e) = v.get("error").and_then(|m| m.as_str()) {
            let d = v
                .get("error_description")
                .and_then(|m| m.as_str())
                .unwrap_or("");
            return (code, cut(&format!("{e}: {d}")));
        }
        return (code, cut(text.trim()));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return (None, format!("HTTP {status} with no body"));
    }
    (None, cut(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_wins_over_status() {
        assert_eq!(
            classify(400, Some("RESOURCE_ALREADY_EXISTS")),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            classify(409, Some("RESOURCE_ALREADY_EXISTS")),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            classify(404, Some("RESOURCE_DOES_NOT_EXIST")),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(409, Some("RESOURCE_CONFLICT")),
            ErrorKind::Conflict
        );
        assert_eq!(
            classify(400, Some("INVALID_STATE")),
            ErrorKind::InvalidInput
        );
        assert_eq!(classify(503, None), ErrorKind::Transient);
        assert_eq!(classify(429, Some("SOMETHING_NEW")), ErrorKind::RateLimited);
        assert_eq!(classify(418, None), ErrorKind::Other);
    }

    #[test]
    fn error_bodies_of_every_shape_are_read() {
        let (c, m) = parse_error_body(
            404,
            br#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"nope"}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_str()),
            (Some("RESOURCE_DOES_NOT_EXIST"), "nope")
        );
        let (c, m) = parse_error_body(404, br#"{"detail":"missing","status":"404"}"#);
        assert_eq!((c.as_deref(), m.as_str()), (Some("SCIM_404"), "missing"));
        let (c, m) = parse_error_body(502, b"<html>bad gateway</html>");
        assert_eq!((c, m.as_str()), (None, "<html>bad gateway</html>"));
        let (_, m) = parse_error_body(404, b"");
        assert_eq!(m, "HTTP 404 with no body");
    }
}
