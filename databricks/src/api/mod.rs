//! Typed endpoint methods of [`crate::Client`], one module per API family.

pub mod apps;
pub mod catalog;
pub mod files;
pub mod grants;
pub mod lookups;
pub mod mcp;
pub mod mlflow;
pub mod models;
pub mod permissions;
pub mod prompts;
pub mod scim;
pub mod serving;
pub mod smoke;
pub mod sql;
pub mod traces;
pub mod workspace;

pub use apps::*;
pub use catalog::*;
pub use files::*;
pub use grants::*;
pub use lookups::*;
pub use mcp::*;
pub use mlflow::*;
pub use models::*;
pub use permissions::*;
pub use prompts::*;
pub use scim::*;
pub use serving::*;
pub use smoke::*;
pub use sql::*;
pub use traces::*;
pub use workspace::*;
