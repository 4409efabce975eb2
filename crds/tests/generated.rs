//! The committed CRD YAML is generated from the types; this fails when someone changes the types
//! without regenerating (`agentrelease crd --output-dir <dir>` for each directory below).

use std::path::Path;

/// Every directory that carries a committed copy of the CRDs.
const COPIES: [&str; 3] = ["crds/yaml", "config/crd/bases", "charts/agentrelease/crds"];

#[test]
fn committed_crds_match_the_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stale = Vec::new();
    for dir in COPIES {
        for crd in agentrelease_api::crds() {
            let path = root.join(dir).join(agentrelease_api::crd_file_name(&crd));
            let expected = agentrelease_api::crd_yaml(&crd).unwrap();
            match std::fs::read_to_string(&path) {
                Ok(actual) if actual == expected => {}
                Ok(_) => stale.push(format!("{} differs from the types", path.display())),
                Err(e) => stale.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(
        stale.is_empty(),
        "regenerate with `cargo run -- crd --output-dir <dir>`:\n{}",
        stale.join("\n")
    );
}

#[test]
fn crds_are_structural_and_complete() {
    for crd in agentrelease_api::crds() {
        let version = &crd.spec.versions[0];
        assert!(version.served && version.storage);
        // An AgentReleaseApproval is a record written once; it has no status.
        let has_status = crd.spec.names.kind != "AgentReleaseApproval";
        assert_eq!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            has_status,
            "status subresource of {}",
            crd.spec.names.kind
        );
        let schema = serde_json::to_value(
            version
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        let mut missing = Vec::new();
        check_descriptions(&schema["properties"]["spec"], "spec", &mut missing);
        assert!(
            missing.is_empty(),
            "fields without a description (kubectl explain): {missing:#?}"
        );
        // No $ref, anyOf or oneOf: the API server wants a structural schema.
        let text = schema.to_string();
        for forbidden in ["\"$ref\"", "\"anyOf\"", "\"oneOf\"", "\"allOf\""] {
            assert!(
                !text.contains(forbidden),
                "{} contains {forbidden}",
                crd.spec.names.kind
            );
        }
    }
}

fn check_descriptions(schema: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
    if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
        for (name, sub) in props {
            let child = format!("{path}.{name}");
            if sub
                .get("description")
                .and_then(|d| d.as_str())
                .is_none_or(str::is_empty)
            {
                missing.push(child.clone());
            }
            check_descriptions(sub, &child, missing);
        }
    }
    if let Some(items) = schema.get("items") {
        check_descriptions(items, &format!("{path}[]"), missing);
    }
}

#[test]
fn printer_columns_for_kubectl_get() {
    let crd = agentrelease_api::agent_release_crd();
    let names: Vec<_> = crd.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .filter(|c| c.priority.unwrap_or(0) == 0)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Target", "N", "Model", "Version", "Alias", "Phase", "Ready", "Age"
        ]
    );
    assert_eq!(
        crd.spec.names.short_names.as_deref(),
        Some(&["ar".to_string()][..])
    );
    assert_eq!(
        crd.spec.names.categories.as_deref(),
        Some(&["agentops".to_string()][..])
    );
}
