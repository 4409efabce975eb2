//! The release timeline page: read-only, server-rendered HTML (no scripts), per target the
//! releases in order with each step's outcome and time, the gates' numbers, signoff, overrides
//! and rollbacks. Served by `agentrelease controller --ui-addr` (from the releases the controller
//! watches) and by `agentrelease apply --ui` (from the releases of the run).

pub mod html;
pub mod server;
pub mod timeline;
