//! Databricks workspace simulator.

pub mod cli;
