//! AgentRelease Operator library: the release engine, the Kubernetes glue and the command-line
//! interface, shared by the controller and the one-shot CLI.

pub mod bundle;
pub mod cli;
pub mod connection;
pub mod databricks_adapter;
pub mod engine;
pub mod kube;
pub mod manifest;
pub mod plugin;
pub mod telemetry;
pub mod troubleshooting;
pub mod ui;
