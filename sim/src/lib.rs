//! Databricks workspace simulator.
