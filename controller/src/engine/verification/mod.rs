//! The verification checks beyond the smoke request, one file per check. Each check is a pure
//! judgement of what the app answered; the I/O stays in the verify step.

pub mod chat;
pub mod health;
