//! A typed Databricks REST client for the release engine: PAT or OAuth M2M auth (tokens cached
//! and refreshed), retries with backoff honouring `Retry-After`, a client-side rate limit,
//! errors classified from `error_code` and status, and an observer called on every attempt.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use agentrelease_databricks::{Client, Credentials, SecretString};
//! let client = Client::builder("https://adb-123.azuredatabricks.net")
//!     .credentials(Credentials::Pat(SecretString::new("dapi...")))
//!     .rate_limit(15)
//!     .build()?;
//! let version = client.get_model_version_by_alias("main.agents.bot", "champion").await?;
//! # let _ = version; Ok(()) }
//! ```

pub mod api;
mod auth;
pub mod client;
pub mod dns;
pub mod error;
pub mod federation;
pub mod observe;
mod origins;
pub mod rate;
pub mod retry;
pub mod secret;

pub use agentrelease_api::host::AddressRange;
pub use agentrelease_api::origin::{Grant, TrustedOrigin, Untrusted};
pub use api::*;
pub use auth::{ACCOUNT_HOSTS, EndpointRefusal, check_oauth_endpoint};
pub use client::{BuildError, Client, ClientBuilder, encode_path, encode_segment};
pub use dns::RefusedAddresses;
pub use error::{Error, ErrorKind, Result};
pub use federation::{SubjectToken, SubjectTokenSource, TokenFile};
pub use observe::{Attempt, NoopObserver, Observer, Outcome};
pub use origins::ORG_ID_HEADER;
pub use retry::RetryPolicy;
pub use secret::{Credentials, SecretString};
