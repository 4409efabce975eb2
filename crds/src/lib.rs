//! AgentRelease API types.
