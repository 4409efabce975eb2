//! End-to-end tests of AgentRelease Operator against a real Kubernetes API server; see
//! `tests/e2e.rs` and `e2e/README.md`. Nothing here is part of the product.
