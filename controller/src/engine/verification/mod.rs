//! The verification checks beyond the smoke request, one file per check: what each sends, and
//! the pure judgement of what came back; the I/O stays in the steps.

pub mod chat;
pub mod gateway;
pub mod health;
pub mod mcp;
pub mod origins;
pub mod post_check;
pub mod task;
pub mod traces;
