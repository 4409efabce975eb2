//! The verification checks that run after the smoke request, one file per check: what each
//! sends, and the pure judgement of what came back.

pub mod mcp;
