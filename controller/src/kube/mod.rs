//! The Kubernetes side: watch AgentReleases (and the ReleaseTargets and Secrets they use), run
//! the engine, write status with server-side apply, record Events, hold a finalizer, elect a
//! leader, serve metrics and health.

pub mod approvals;
pub mod backoff;
pub mod cache;
pub mod client_rate;
pub mod credentials;
pub mod deletion;
pub mod handle;
pub mod http;
pub mod index;
pub mod namespaces;
pub mod reconciler;
pub mod run;
pub mod service_account_token;
pub mod shard;
pub mod status;
pub mod target_connection;
pub mod target_status;
pub mod upstream_index;
pub mod wake;
pub mod workspace_slots;
