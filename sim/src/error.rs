//! The error shape of the Databricks REST API (`{"error_code", "message"}`) and of SCIM
//! (`{"detail", "status", "scimType"}`), as the simulator returns them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer of the simulated API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable `error_code`.
    pub code: &'static str,
    /// The human message.
    pub message: String,
    /// Render in the SCIM error shape instead.
    pub scim: bool,
}

/// Result of a simulated API handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            scim: false,
        }
    }

    /// 404 `RESOURCE_DOES_NOT_EXIST`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
    }

    /// 400 `INVALID_PARAMETER_VALUE`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
    }

    /// 409 `RESOURCE_ALREADY_EXISTS` (apps, serving endpoints).
    pub fn conflict_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "RESOURCE_ALREADY_EXISTS", message)
    }

    /// 400 `RESOURCE_ALREADY_EXISTS` (MLflow, workspace import).
    pub fn bad_request_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS", message)
    }

    /// 409 `RESOURCE_CONFLICT` (an operation is already in progress).
    pub fn in_progress(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "RESOURCE_CONFLICT", message)
    }

    /// 400 `INVALID_STATE`.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_STATE", message)
    }

    /// 403 `PERMISSION_DENIED`.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
    }

    /// 401 `UNAUTHENTICATED`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }

    /// 404 `ENDPOINT_NOT_FOUND` for a path no API serves.
    pub fn no_api(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            format!("No API found for '{method} {path}'"),
        )
    }

    /// The same error in the SCIM shape.
    pub fn scim(mut self) -> Self {
        self.scim = true;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.scim {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "detail": self.message,
                "status": self.status.as_u16().to_string(),
            })
        } else {
            json!({"error_code": self.code, "message": self.message})
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Parses a JSON request body, answering 400 `INVALID_PARAMETER_VALUE` with the parser's reason.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}")
            .map_err(|e| ApiError::invalid(format!("Request body is required: {e}")));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("Malformed request: {e}")))
}
