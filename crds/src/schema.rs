//! Hand-written schema fragments for fields the derive cannot describe.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A list of free-form objects (kept only so that a CEL rule can reject it with a clear message).
pub fn any_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "maxItems": 16,
        "items": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true
        }
    })
}
