//! Every validation rule of the CRDs, accepting and rejecting, evaluated the way the API server
//! does (structural schema, then CEL via kube's client-side evaluator on the generated schema).

use agentrelease_api::validation::{Kind, Validator};
use serde_json::{Value, json};

fn sample(file: &str) -> Value {
    let path = format!("{}/../config/samples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str::<Value>(&text).unwrap()
}

fn release() -> Value {
    sample("agentrelease.yaml")
}

fn target() -> Value {
    sample("releasetarget.yaml")
}

fn validator() -> &'static Validator {
    static VALIDATOR: std::sync::OnceLock<Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(Validator::new)
}

fn problems(kind: Kind, obj: &Value) -> Vec<String> {
    validator()
        .validate(kind, obj)
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

/// Applies `edit` to the sample release and asserts exactly the expected problem appears.
fn rejects(edit: impl FnOnce(&mut Value), expected: &str) {
    let mut obj = release();
    edit(&mut obj);
    let found = problems(Kind::AgentRelease, &obj);
    assert!(
        found.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {found:#?}"
    );
}

fn accepts(edit: impl FnOnce(&mut Value)) {
    let mut obj = release();
    edit(&mut obj);
    let found = problems(Kind::AgentRelease, &obj);
    assert!(found.is_empty(), "expected no problems, got {found:#?}");
}

fn rejects_target(edit: impl FnOnce(&mut Value), expected: &str) {
    let mut obj = target();
    edit(&mut obj);
    let found = problems(Kind::ReleaseTarget, &obj);
    assert!(
        found.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {found:#?}"
    );
}

fn accepts_target(edit: impl FnOnce(&mut Value)) {
    let mut obj = target();
    edit(&mut obj);
    let found = problems(Kind::ReleaseTarget, &obj);
    assert!(found.is_empty(), "expected no problems, got {found:#?}");
}

#[test]
fn samples_are_valid() {
    accepts(|_| {});
    accepts_target(|_| {});
}

#[test]
fn n_must_be_positive() {
    rejects(
        |o| o["spec"]["version"] = json!(0),
        "spec.version (N) must be a positive integer",
    );
    rejects(
        |o| o["spec"]["version"] = json!(-3),
        "spec.version (N) must be a positive integer",
    );
    accepts(|o| o["spec"]["version"] = json!(1));
    rejects(
        |o| o["spec"]["version"] = json!("7"),
        "must be of type integer",
    );
}

#[test]
fn model_version_must_be_positive() {
    rejects(
        |o| o["spec"]["model"]["version"] = json!(0),
        "model.version must be a positive integer",
    );
}

#[test]
fn model_name_has_one_or_three_parts() {
    accepts(|o| {
        o["spec"]["model"]["name"] = json!("skyloyalty");
        o["spec"]["servingEndpoint"]["servedEntities"][0]["entityName"] = json!("skyloyalty");
    });
    rejects(
        |o| o["spec"]["model"]["name"] = json!("main.skyloyalty"),
        "model.name must have one part",
    );
    rejects(
        |o| o["spec"]["model"]["name"] = json!("a.b.c.d"),
        "model.name must have one part",
    );
    rejects(
        |o| o["spec"]["model"]["name"] = json!("main..x"),
        "model.name must have one part",
    );
    rejects(
        |o| o["spec"]["model"]["name"] = json!("main.agents.sky loyalty"),
        "model.name must have one part",
    );
    rejects(
        |o| o["spec"]["model"]["name"] = json!("main/agents/x"),
        "model.name must have one part",
    );
    rejects(
        |o| o["spec"]["model"]["name"] = json!("main.agents.x\u{7}"),
        "model.name must have one part",
    );
}

#[test]
fn alias_follows_mlflow_rules() {
    accepts(|o| o["spec"]["model"]["alias"] = json!("prod_candidate-2"));
    rejects(
        |o| o["spec"]["model"]["alias"] = json!("champ ion"),
        "model.alias may contain only letters",
    );
    rejects(
        |o| o["spec"]["model"]["alias"] = json!("champion!"),
        "model.alias may contain only letters",
    );
    rejects(
        |o| o["spec"]["model"]["alias"] = json!("Latest"),
        "reserved by MLflow",
    );
    rejects(
        |o| o["spec"]["model"]["alias"] = json!("v12"),
        "reserved by MLflow",
    );
    accepts(|o| o["spec"]["model"]["alias"] = json!("v12b"));
}

#[test]
fn alias_defaults_to_champion() {
    accepts(|o| {
        o["spec"]["model"].as_object_mut().unwrap().remove("alias");
    });
    let mut obj = release();
    obj["spec"]["model"]
        .as_object_mut()
        .unwrap()
        .remove("alias");
    let typed: agentrelease_api::AgentRelease = serde_json::from_value(obj).unwrap();
    assert_eq!(typed.spec.model.alias, "champion");
}

#[test]
fn logged_model_id_shape_and_requirement() {
    rejects(
        |o| o["spec"]["model"]["loggedModelId"] = json!("m-XYZ"),
        "m-<32 lowercase hex digits>",
    );
    rejects(
        |o| {
            o["spec"]["model"]
                .as_object_mut()
                .unwrap()
                .remove("loggedModelId");
        },
        "spec.model.loggedModelId is required when spec.app is declared",
    );
}

#[test]
fn app_name_follows_databricks_rules() {
    accepts(|o| o["spec"]["app"]["name"] = json!("a1"));
    for bad in ["A-app", "-app", "app-", "app_name"] {
        rejects(
            |o| o["spec"]["app"]["name"] = json!(bad),
            "app.name must be 2 to 30 characters",
        );
    }
    rejects(
        |o| o["spec"]["app"]["name"] = json!("x"),
        "must be at least 2 characters",
    );
    rejects(
        |o| o["spec"]["app"]["name"] = json!("a23456789012345678901234567890x"),
        "Too long: may not be more than 30",
    );
}

#[test]
fn something_must_be_deployed() {
    rejects(
        |o| {
            let spec = o["spec"].as_object_mut().unwrap();
            spec.remove("app");
            spec.remove("servingEndpoint");
        },
        "declare at least one of spec.app and spec.servingEndpoint",
    );
}

#[test]
fn endpoint_only_release_is_valid() {
    accepts(|o| {
        let spec = o["spec"].as_object_mut().unwrap();
        spec.remove("app");
        spec.remove("verification");
        spec.insert("permissions".into(), json!([{"principal": {"type": "Group", "name": "agent-ops"}, "object": {"type": "ServingEndpoint"}, "level": "CAN_QUERY"}]));
        spec.insert("grants".into(), json!([]));
    });
}

#[test]
fn thresholds_need_a_bound_and_an_order() {
    rejects(
        |o| o["spec"]["evaluation"]["thresholds"] = json!([{"metric": "x"}]),
        "a threshold needs min, max or both",
    );
    rejects(
        |o| {
            o["spec"]["evaluation"]["thresholds"] = json!([{"metric": "x", "min": 0.9, "max": 0.1}])
        },
        "threshold min must not exceed max",
    );
    accepts(|o| {
        o["spec"]["evaluation"]["thresholds"] = json!([{"metric": "x", "min": 0.5, "max": 0.5}])
    });
    accepts(|o| {
        o["spec"]["evaluation"]["thresholds"] = json!([{"metric": "x", "min": 1, "max": 2.5}])
    });
    rejects(
        |o| {
            o["spec"]["evaluation"]["thresholds"] =
                json!([{"metric": "x", "min": 1}, {"metric": "x", "max": 3}])
        },
        "Duplicate value",
    );
}

#[test]
fn overrides_live_under_volumes() {
    accepts(|o| {
        o["spec"]["artifacts"] =
            json!({"signoffPath": "/Volumes/main/agents/signoffs/v7/decision.md"})
    });
    rejects(
        |o| o["spec"]["artifacts"] = json!({"signoffPath": "/tmp/decision.md"}),
        "spec.artifacts.signoffPath: \"/tmp/decision.md\" is refused: it is not under /Volumes/",
    );
    rejects(
        |o| o["spec"]["artifacts"] = json!({"signoffPath": "/Volumes/main/agents/../other/x.md"}),
        "is refused: it has a '.' or '..' segment",
    );
    rejects(
        |o| o["spec"]["artifacts"] = json!({"evalSummaryPath": "/Volumes/main//x.json"}),
        "spec.artifacts.evalSummaryPath: \"/Volumes/main//x.json\" is refused: it has an empty segment",
    );
    rejects(
        |o| o["spec"]["artifacts"] = json!({"promptName": "main.system_instructions"}),
        "artifacts.promptName must be a three-part",
    );
}

/// Paths the engine refused although `validate` (and the old CEL rule) let them through.
const ENGINE_ONLY_REFUSALS: [(&str, &str); 5] = [
    (
        "/Volumes/main/agents/./signoffs/v7/decision.md",
        "it has a '.' or '..' segment",
    ),
    (
        "/Volumes/main/agents/signoffs\\v7\\decision.md",
        "it contains a backslash",
    ),
    (
        "/Volumes/main/agents/signoffs/v7/decision\u{0}.md",
        "it contains a control character (such as NUL or a newline)",
    ),
    (
        "/Volumes/main/agents/signoffs/v7\n/decision.md",
        "it contains a control character (such as NUL or a newline)",
    ),
    (
        "/Volumes/main/agents/signoffs/v7/",
        "it has an empty segment ('//' or a trailing '/')",
    ),
];

#[test]
fn validate_refuses_every_path_the_engine_refuses_with_one_message() {
    for field in ["signoffPath", "evalSummaryPath"] {
        for (path, why) in ENGINE_ONLY_REFUSALS {
            let mut obj = release();
            obj["spec"]["artifacts"] = json!({ field: path });
            let found = problems(Kind::AgentRelease, &obj);
            assert_eq!(
                found,
                [format!(
                    "spec.artifacts.{field}: {path:?} is refused: {why}"
                )],
                "{path:?}"
            );
        }
    }
}

/// The CEL rule of `field` as generated into the CRD.
fn artifact_path_rule(field: &str) -> Value {
    let crd = serde_json::to_value(agentrelease_api::agent_release_crd()).unwrap();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    schema["properties"]["spec"]["properties"]["artifacts"]["properties"][field].clone()
}

#[test]
fn the_crd_rule_on_artifact_paths_agrees_with_the_rust_rule() {
    use agentrelease_api::artifact_path::{VOLUMES, check};
    let mut paths: Vec<String> = ENGINE_ONLY_REFUSALS
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    // Every short path over an alphabet of the characters that matter.
    let alphabet = ["/", ".", "a", "\\", "\n", "\u{0}", "\u{85}", "é"];
    let mut tails = vec![String::new()];
    for _ in 0..3 {
        tails = tails
            .iter()
            .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
            .collect();
        paths.extend(tails.iter().map(|t| format!("/Volumes/{t}")));
    }
    paths.extend(
        [
            "/Volumes",
            "/volumes/a",
            "Volumes/a",
            "/Volumes/...",
            "/Volumes/..a/b",
            "/Volumes/a/./b",
            "/Volumes/a/../b",
            "/Volumes/a/b/.",
            "/Volumes/a/b/..",
            "/Volumes/a\u{7f}b",
            "/Volumes/a\tb",
        ]
        .map(String::from),
    );
    let cel = kube::core::cel::Validator::new();
    for field in ["signoffPath", "evalSummaryPath"] {
        let compiled = kube::core::cel::compile_schema(&artifact_path_rule(field));
        for path in &paths {
            let cel_accepts = cel
                .validate_compiled(&compiled, &Value::String(path.clone()), None)
                .is_ok();
            let rust_accepts = check(path, VOLUMES).is_ok();
            assert_eq!(cel_accepts, rust_accepts, "{field}: {path:?}");
        }
    }
}

#[test]
fn traffic_sums_to_100_and_names_entities() {
    let two = json!([
        {"name": "a", "entityVersion": "11"},
        {"name": "b"}
    ]);
    accepts(|o| {
        o["spec"]["servingEndpoint"]["servedEntities"] = two.clone();
        o["spec"]["servingEndpoint"]["traffic"] = json!([
            {"servedEntityName": "a", "trafficPercentage": 10},
            {"servedEntityName": "b", "trafficPercentage": 90}
        ]);
    });
    rejects(
        |o| {
            o["spec"]["servingEndpoint"]["servedEntities"] = two.clone();
            o["spec"]["servingEndpoint"]["traffic"] = json!([
                {"servedEntityName": "a", "trafficPercentage": 10},
                {"servedEntityName": "b", "trafficPercentage": 80}
            ]);
        },
        "traffic percentages must sum to 100",
    );
    rejects(
        |o| {
            o["spec"]["servingEndpoint"]["traffic"] =
                json!([{"servedEntityName": "nope", "trafficPercentage": 100}]);
        },
        "every traffic route must name one of servedEntities",
    );
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"] = two.clone(),
        "with more than one served entity, declare traffic routes",
    );
}

#[test]
fn legacy_served_models_is_refused_with_guidance() {
    rejects(
        |o| {
            o["spec"]["servingEndpoint"]["servedModels"] =
                json!([{"modelName": "x", "modelVersion": "1"}])
        },
        "use servedEntities",
    );
    rejects(
        |o| o["spec"]["servingEndpoint"]["served_models"] = json!([{"model_name": "x"}]),
        "use servingEndpoint.servedEntities",
    );
}

#[test]
fn served_entity_fields() {
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"][0]["entityVersion"] = json!("0"),
        "entityVersion must be a positive integer",
    );
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"][0]["entityVersion"] = json!(12),
        "must be of type string",
    );
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"][0]["workloadSize"] = json!("Huge"),
        "Unsupported value: \"Huge\"",
    );
    rejects(
        |o| o["spec"]["servingEndpoint"]["name"] = json!("bad name"),
        "servingEndpoint.name must be 1 to 63",
    );
}

#[test]
fn permission_levels_match_the_object() {
    rejects(
        |o| o["spec"]["permissions"][0]["level"] = json!("CAN_USE"),
        "serving endpoint permission levels are CAN_VIEW, CAN_QUERY and CAN_MANAGE",
    );
    rejects(
        |o| o["spec"]["permissions"][1]["level"] = json!("CAN_QUERY"),
        "app permission levels are CAN_USE and CAN_MANAGE",
    );
    rejects(
        |o| o["spec"]["permissions"][3]["level"] = json!("CAN_QUERY"),
        "SQL warehouse permission levels",
    );
    rejects(
        |o| o["spec"]["permissions"][3]["level"] = json!("IS_OWNER"),
        "Unsupported value: \"IS_OWNER\"",
    );
}

#[test]
fn principal_names() {
    rejects(
        |o| o["spec"]["permissions"][1]["principal"] = json!({"type": "Group"}),
        "principal.name is required",
    );
    rejects(
        |o| {
            o["spec"]["permissions"][0]["principal"] =
                json!({"type": "AppServicePrincipal", "name": "x"})
        },
        "principal.name is required, except for type AppServicePrincipal",
    );
    rejects(
        |o| o["spec"]["permissions"][3]["object"] = json!({"type": "SqlWarehouse"}),
        "a SqlWarehouse object needs its warehouse id in name",
    );
}

#[test]
fn app_references_need_an_app() {
    rejects(
        |o| {
            let spec = o["spec"].as_object_mut().unwrap();
            spec.remove("app");
            spec.remove("verification");
            spec.insert("grants".into(), json!([]));
        },
        "permissions refer to the release's app",
    );
    rejects(
        |o| {
            let spec = o["spec"].as_object_mut().unwrap();
            spec.remove("app");
            spec.remove("verification");
            spec.insert("permissions".into(), json!([]));
        },
        "grants to the AppServicePrincipal need spec.app",
    );
    rejects(
        |o| {
            let spec = o["spec"].as_object_mut().unwrap();
            spec.remove("app");
            spec.insert("permissions".into(), json!([]));
            spec.insert("grants".into(), json!([]));
        },
        "verification sends a smoke request to the app",
    );
    rejects(
        |o| {
            let spec = o["spec"].as_object_mut().unwrap();
            spec.remove("servingEndpoint");
            spec["app"]["resources"] = json!([{"name": "warehouse", "sqlWarehouse": {"id": "4b9e2a1c7d3f5e60", "permission": "CAN_USE"}}]);
        },
        "a ServingEndpoint permission without object.name refers to the release's endpoint",
    );
}

#[test]
fn grants_fit_their_securable() {
    rejects(
        |o| o["spec"]["grants"][2]["securableType"] = json!("MODEL"),
        "Unsupported value: \"MODEL\"",
    );
    rejects(
        |o| o["spec"]["grants"][2]["privileges"] = json!(["SELECT"]),
        "a privilege does not apply to this securable type",
    );
    rejects(
        |o| o["spec"]["grants"][0]["fullName"] = json!("main.agents"),
        "a CATALOG grant's fullName is the catalog name",
    );
    rejects(
        |o| o["spec"]["grants"][1]["fullName"] = json!("main"),
        "a SCHEMA grant's fullName is catalog.schema",
    );
    rejects(
        |o| o["spec"]["grants"][2]["fullName"] = json!("main.agents"),
        "a TABLE, VOLUME or FUNCTION grant's fullName is catalog.schema.name",
    );
    rejects(
        |o| o["spec"]["grants"][2]["privileges"] = json!(["EXECUTE", "EXECUTE"]),
        "Duplicate value",
    );
    rejects(
        |o| o["spec"]["grants"][2]["privileges"] = json!([]),
        "must have at least 1 item",
    );
    accepts(|o| o["spec"]["grants"][2]["privileges"] = json!(["EXECUTE", "APPLY_TAG"]));
}

#[test]
fn env_rules() {
    rejects(
        |o| o["spec"]["app"]["env"][0]["name"] = json!("MLFLOW_ACTIVE_MODEL_ID"),
        "this variable is set by the operator",
    );
    rejects(
        |o| o["spec"]["app"]["env"][0]["name"] = json!("1BAD"),
        "env name must be letters",
    );
    rejects(
        |o| {
            o["spec"]["app"]["env"][0] =
                json!({"name": "X", "value": "a", "valueFrom": "warehouse"})
        },
        "exactly one of value and valueFrom",
    );
    rejects(
        |o| o["spec"]["app"]["env"][1]["valueFrom"] = json!("nope"),
        "every env valueFrom must name one of app.resources",
    );
    rejects(
        |o| o["spec"]["app"]["resources"][0] = json!({"name": "warehouse"}),
        "an app resource sets exactly one of",
    );
}

#[test]
fn policy_rules() {
    rejects(
        |o| o["spec"]["policy"]["resyncInterval"] = json!("5 minutes"),
        "policy.resyncInterval must be a duration",
    );
    rejects(
        |o| o["spec"]["policy"]["resyncInterval"] = json!("1s"),
        "policy.resyncInterval must be between 10s and 24h",
    );
    rejects(
        |o| o["spec"]["policy"]["resyncInterval"] = json!("25h"),
        "policy.resyncInterval must be between 10s and 24h",
    );
    accepts(|o| o["spec"]["policy"]["resyncInterval"] = json!("1h30m"));
    rejects(
        |o| o["spec"]["policy"]["drift"] = json!("Ignore"),
        "Unsupported value: \"Ignore\"",
    );
    rejects(
        |o| o["spec"]["policy"]["deletion"] = json!("Orphan"),
        "Unsupported value: \"Orphan\"",
    );
}

#[test]
fn verification_rules() {
    rejects(
        |o| o["spec"]["verification"]["path"] = json!("invocations"),
        "verification.path must start with '/'",
    );
    rejects(
        |o| o["spec"]["verification"]["timeoutSeconds"] = json!(0),
        "verification.timeoutSeconds must be between 1 and 600",
    );
}

#[test]
fn target_ref_name() {
    rejects(
        |o| o["spec"]["targetRef"]["name"] = json!("Prod"),
        "targetRef.name must be a Kubernetes object name",
    );
}

#[test]
fn unknown_fields_are_errors() {
    rejects(
        |o| o["spec"]["model"]["alais"] = json!("x"),
        "spec.model.alais: unknown field",
    );
    rejects(
        |o| o["spec"]["extra"] = json!(1),
        "spec.extra: unknown field",
    );
}

#[test]
fn duplicate_permissions_and_grants() {
    rejects(
        |o| {
            let p = o["spec"]["permissions"][1].clone();
            let mut q = p.clone();
            q["level"] = json!("CAN_MANAGE");
            o["spec"]["permissions"].as_array_mut().unwrap().push(q);
        },
        "already sets this principal's level on this object",
    );
    rejects(
        |o| {
            let g = o["spec"]["grants"][2].clone();
            o["spec"]["grants"].as_array_mut().unwrap().push(g);
        },
        "merge the privileges into one entry",
    );
}

#[test]
fn target_host_rules() {
    rejects_target(
        |o| o["spec"]["host"] = json!("http://127.0.0.1:8765"),
        "plain http is refused",
    );
    accepts_target(|o| {
        o["spec"]["host"] = json!("http://127.0.0.1:8765");
        o["spec"]["allowInsecureHttp"] = json!(true);
    });
    rejects_target(
        |o| o["spec"]["host"] = json!("https://adb-1.azuredatabricks.net/some/path"),
        "path",
    );
    rejects_target(
        |o| o["spec"]["host"] = json!("not a url at all"),
        "spec.host",
    );
}

/// Hosts that would send requests (and credentials) somewhere other than a workspace.
const BAD_HOSTS: [&str; 27] = [
    "https://alice:s3cr3t@adb-1.azuredatabricks.net",
    "https://adb-1.azuredatabricks.net@evil.example",
    "https://evil.example#.azuredatabricks.net",
    "https://evil.example?.azuredatabricks.net",
    "https://adb-1.azuredatabricks.net/%2e",
    "https://169.254.169.254",
    "https://169.254.169.254.",
    "https://2852039166",
    "https://0xa9fea9fe",
    "https://0251.0376.0251.0376",
    "https://169.254.43518",
    "https://[::ffff:169.254.169.254]",
    "https://[::ffff:a9fe:a9fe]",
    "https://[::169.254.169.254]",
    "https://[64:ff9b::a9fe:a9fe]",
    "https://[fe80::1]",
    "https://[fd00:ec2::254]",
    "https://100.100.100.200",
    "https://168.63.129.16",
    "https://168.63.129.16.:443",
    "https://[::ffff:168.63.129.16]",
    "https://0.0.0.0",
    "https://[::]",
    "https://metadata.google.internal",
    "https://METADATA.google.internal.",
    "https://metadata",
    "https://127.0.0.1",
];

#[test]
fn target_hosts_that_lead_elsewhere_are_refused() {
    for host in BAD_HOSTS {
        rejects_target(|o| o["spec"]["host"] = json!(host), "spec.host");
        // With allowInsecureHttp only loopback passes.
        let mut obj = target();
        obj["spec"]["host"] = json!(host);
        obj["spec"]["allowInsecureHttp"] = json!(true);
        let found = problems(Kind::ReleaseTarget, &obj);
        assert_eq!(
            found.is_empty(),
            host == "https://127.0.0.1",
            "{host}: {found:#?}"
        );
    }
    for host in [
        "https://127.0.0.1:8443",
        "https://[::1]",
        "https://localhost",
        "https://api.localhost",
    ] {
        rejects_target(
            |o| o["spec"]["host"] = json!(host),
            "(allowed only with allowInsecureHttp, for a local simulator)",
        );
        accepts_target(|o| {
            o["spec"]["host"] = json!(host);
            o["spec"]["allowInsecureHttp"] = json!(true);
        });
    }
    for host in [
        "https://dbc-1a2b3c4d-5e6f.cloud.databricks.com",
        "https://1234567890123456.7.gcp.databricks.com:443/",
        "https://10.20.30.40",
        "https://[2001:db8::10]",
        "https://metadata.example.com",
    ] {
        accepts_target(|o| o["spec"]["host"] = json!(host));
    }
    let mut obj = target();
    obj["spec"]["host"] = json!("https://alice:s3cr3t@adb-1.azuredatabricks.net");
    let found = problems(Kind::ReleaseTarget, &obj);
    assert!(
        found
            .iter()
            .any(|p| p.contains("carries no user name or password")),
        "{found:#?}"
    );
    assert!(!found.iter().any(|p| p.contains("s3cr3t")), "{found:#?}");
}

/// The API server refuses each bad host by its CEL rules alone (no Rust-side check there).
#[test]
fn cel_alone_refuses_every_bad_host() {
    use kube::core::cel::{Validator as Cel, compile_schema};
    let compiled = compile_schema(validator().schema(Kind::ReleaseTarget));
    let cel = Cel::new();
    for host in BAD_HOSTS {
        let mut obj = target();
        obj["spec"]["host"] = json!(host);
        let errors = cel
            .validate_compiled(&compiled, &obj, None)
            .err()
            .map(|e| e.into_vec())
            .unwrap_or_default();
        assert!(
            errors.iter().any(|e| e.field_path == "spec.host"),
            "{host}: {errors:#?}"
        );
    }
}

#[test]
fn target_names_and_bounds() {
    rejects_target(
        |o| o["spec"]["catalog"] = json!("main.agents"),
        "spec.catalog must be one Unity Catalog name",
    );
    rejects_target(
        |o| o["spec"]["schema"] = json!("a b"),
        "spec.schema must be one Unity Catalog name",
    );
    rejects_target(
        |o| o["spec"]["volumes"]["signoffs"] = json!("a/b"),
        "volume names are one Unity Catalog name",
    );
    rejects_target(
        |o| o["spec"]["appEnvironment"] = json!("Production"),
        "spec.appEnvironment must be a lowercase word",
    );
    rejects_target(
        |o| o["spec"]["experiments"]["deployment"] = json!("Shared/x"),
        "experiment paths are absolute",
    );
    rejects_target(
        |o| o["spec"]["experiments"]["deployment"] = json!("/Shared/../x"),
        "may not contain '..'",
    );
    rejects_target(
        |o| o["spec"]["requestsPerSecond"] = json!(0),
        "spec.requestsPerSecond must be between 1 and 1000",
    );
    rejects_target(
        |o| o["spec"]["credentials"]["type"] = json!("Basic"),
        "Unsupported value: \"Basic\"",
    );
    rejects_target(
        |o| o["spec"]["gateway"]["llmBaseUrl"] = json!("ftp://example.com"),
        "gateway URLs must be http(s) URLs",
    );
    rejects_target(
        |o| {
            o["spec"].as_object_mut().unwrap().remove("experiments");
        },
        "spec.experiments: Required value",
    );
}

#[test]
fn overrides_must_stay_in_the_target_schema() {
    let mut obj = release();
    obj["spec"]["artifacts"] =
        json!({"signoffPath": "/Volumes/other/agents/signoffs/v7/decision.md"});
    let release: agentrelease_api::AgentRelease = serde_json::from_value(obj).unwrap();
    let target: agentrelease_api::ReleaseTarget = serde_json::from_value(target()).unwrap();
    let found = agentrelease_api::validation::check_release_against_target(&release, &target);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "\"/Volumes/other/agents/signoffs/v7/decision.md\" is refused: it is not under /Volumes/main/agents/"
    );
}

/// Every rule compiles, uses only `self`, and stays within the API server's cost budget with
/// the schema's bounds (the server refuses a CRD whose rules it cannot bound).
#[test]
fn every_rule_compiles_and_is_bounded() {
    use kube::core::cel::{
        CompiledSchema, ScopeContext, WarningKind, analyze_rule, compile_schema,
    };

    fn visit(node: &CompiledSchema, path: &str, count: &mut usize, problems: &mut Vec<String>) {
        for result in &node.validations {
            match result {
                Ok(compiled) => {
                    *count += 1;
                    let rule = &compiled.rule.rule;
                    for w in analyze_rule(rule, node, ScopeContext::CrdValidation) {
                        // The scope analysis counts comprehension variables (`all(p, ...)`) as
                        // free; they are bound by the rule itself.
                        let bound = w.kind == WarningKind::WrongScope
                            && w.message
                                .split('\'')
                                .nth(1)
                                .is_some_and(|var| rule.contains(&format!("({var}, ")));
                        if !bound {
                            problems.push(format!("{path}: {rule}: {}", w.message));
                        }
                    }
                }
                Err(e) => problems.push(format!("{path}: does not compile: {e:?}")),
            }
        }
        for (name, child) in &node.properties {
            visit(child, &format!("{path}.{name}"), count, problems);
        }
        if let Some(items) = &node.items {
            visit(items, &format!("{path}[]"), count, problems);
        }
        if let Some(extra) = &node.additional_properties {
            visit(extra, &format!("{path}{{}}"), count, problems);
        }
    }

    let mut count = 0;
    let mut problems = Vec::new();
    for kind in [Kind::AgentRelease, Kind::ReleaseTarget] {
        let compiled = compile_schema(validator().schema(kind));
        visit(&compiled, kind.as_str(), &mut count, &mut problems);
    }
    assert!(
        count >= 45,
        "expected the CRDs to carry their rules, found {count}"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn promotion_rules() {
    accepts(|o| {
        o["spec"]["promotion"] = json!({"requires": [{"targetRef": "staging", "soak": "1h30m"}]})
    });
    accepts(|o| o["spec"]["promotion"] = json!({"requires": [{"targetRef": "staging"}]}));
    accepts(|o| o["spec"]["policy"]["followUpstreamRollback"] = json!(true));
    rejects(
        |o| o["spec"]["promotion"] = json!({"requires": [{"targetRef": "prod", "soak": "1h"}]}),
        "a release cannot require itself",
    );
    rejects(
        |o| o["spec"]["promotion"] = json!({"requires": [{"targetRef": "Staging"}]}),
        "promotion.requires[].targetRef must be a Kubernetes object name",
    );
    rejects(
        |o| {
            o["spec"]["promotion"] =
                json!({"requires": [{"targetRef": "staging", "soak": "1 hour"}]})
        },
        "promotion.requires[].soak must be a duration",
    );
    rejects(
        |o| {
            o["spec"]["promotion"] = json!({"requires": [{"targetRef": "staging", "soak": "721h"}]})
        },
        "promotion.requires[].soak must be at most 720h",
    );
    rejects(
        |o| {
            o["spec"]["promotion"] = json!({"requires": [
                {"targetRef": "staging", "soak": "1h"}, {"targetRef": "staging", "soak": "2h"}]})
        },
        "Duplicate value",
    );
    rejects(
        |o| {
            o["spec"]["promotion"] = json!({"requires": [
                {"targetRef": "a"}, {"targetRef": "b"}, {"targetRef": "c"}, {"targetRef": "d"}, {"targetRef": "e"}]})
        },
        "must have at most 4 items",
    );
}

#[test]
fn mcp_server_urls_are_managed_paths_or_https() {
    for ok in [
        "/api/2.0/mcp/functions/main/agents",
        "/api/2.0/mcp/vector-search/main/agents",
        "/api/2.0/mcp/functions/main/agents/lookup_member_tier",
        "/api/2.0/mcp/vector-search/main/agents/faq_index",
        "/api/2.0/mcp/genie/01f0aa11bb22",
        "https://mcp-tools-123.aws.databricksapps.com/mcp",
    ] {
        accepts(|o| o["spec"]["verification"]["mcpServers"][0]["url"] = json!(ok));
    }
    for bad in [
        "/api/2.0/mcp/functions/main",
        "/api/2.0/mcp/functions/main/agents/f/extra",
        "/api/2.0/mcp/vector-search/main/agents/",
        "/api/2.0/mcp/genie/a/b",
        "/api/2.0/mcp/other/x/y",
        "http://mcp.example/mcp",
    ] {
        rejects(
            |o| o["spec"]["verification"]["mcpServers"][0]["url"] = json!(bad),
            "mcpServers[].url must be a managed MCP path",
        );
    }
}

#[test]
fn task_mode_and_its_deadline() {
    accepts(|o| {
        o["spec"]["verification"]["mode"] = json!("task");
        o["spec"]["verification"]["deadline"] = json!("15m");
        o["spec"]["verification"]["task"] = json!({"path": "/api/tasks", "expectOutput": "done"});
    });
    rejects(
        |o| o["spec"]["verification"]["mode"] = json!("Batch"),
        "Unsupported value: \"Batch\"",
    );
    rejects(
        |o| o["spec"]["verification"]["deadline"] = json!("5s"),
        "verification.deadline must be between 10s and 24h",
    );
    rejects(
        |o| o["spec"]["verification"]["deadline"] = json!("ten minutes"),
        "verification.deadline must be a duration",
    );
    rejects(
        |o| o["spec"]["verification"]["task"] = json!({"path": "api/tasks"}),
        "verification.task.path must start with '/'",
    );
}

#[test]
fn app_credentials_name_each_app_once() {
    accepts_target(|o| {
        o["spec"]["appCredentials"] =
            json!([{"app": "skyloyalty-agent", "secretName": "skyloyalty-agent-sp"}]);
    });
    rejects_target(
        |o| {
            o["spec"]["appCredentials"] = json!([
                {"app": "a1", "secretName": "s1"},
                {"app": "a1", "secretName": "s2"}
            ]);
        },
        "spec.appCredentials lists each app once",
    );
    rejects_target(
        |o| o["spec"]["appCredentials"] = json!([{"app": "a1", "secretName": "Bad_Name"}]),
        "appCredentials[].secretName must be a Kubernetes object name",
    );
}

#[test]
fn gateway_tables_are_plain_three_part_names_with_a_warehouse() {
    accepts_target(|o| o["spec"]["gateway"]["mode"] = json!("advisory"));
    rejects_target(
        |o| o["spec"]["gateway"]["payloadTable"] = json!("main.agents.t`; DROP TABLE x"),
        "gateway tables must be three-part Unity Catalog names",
    );
    rejects_target(
        |o| o["spec"]["gateway"]["usageTable"] = json!("main.usage"),
        "gateway tables must be three-part Unity Catalog names",
    );
    rejects_target(
        |o| {
            o["spec"]["gateway"]
                .as_object_mut()
                .unwrap()
                .remove("warehouseId");
        },
        "gateway.payloadTable needs gateway.warehouseId",
    );
    rejects_target(
        |o| {
            o["spec"]["gateway"]
                .as_object_mut()
                .unwrap()
                .remove("payloadTable");
        },
        "gateway.usageTable is checked together with gateway.payloadTable",
    );
    rejects_target(
        |o| o["spec"]["gateway"]["mode"] = json!("sometimes"),
        "mode",
    );
}

#[test]
fn the_tracing_experiment_is_an_id() {
    accepts_target(|o| o["spec"]["tracing"]["experimentId"] = json!("3000000000000005"));
    rejects_target(
        |o| o["spec"]["tracing"]["experimentId"] = json!("/Shared/x"),
        "tracing.experimentId must be an MLflow experiment id",
    );
}

#[test]
fn an_external_model_takes_no_entity_and_no_literal_key() {
    let external = json!({"name": "gpt", "externalModel": {"name": "gpt-4o", "provider": "openai", "task": "llm/v1/chat", "config": {"openai_api_key": "{{secrets/gw/openai}}"}}});
    accepts(|o| o["spec"]["servingEndpoint"]["servedEntities"] = json!([external.clone()]));
    let mut literal = external.clone();
    literal["externalModel"]["config"]["openai_api_key"] = json!("sk-live");
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"] = json!([literal]),
        "must be secret references",
    );
    let mut mixed = external.clone();
    mixed["entityName"] = json!("main.agents.skyloyalty");
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"] = json!([mixed]),
        "an externalModel served entity takes no entityName",
    );
    let mut task = external;
    task["externalModel"]["task"] = json!("chat");
    rejects(
        |o| o["spec"]["servingEndpoint"]["servedEntities"] = json!([task]),
        "externalModel.task must be",
    );
}

#[test]
fn a_database_resource_is_one_kind_of_app_resource() {
    accepts(|o| {
        o["spec"]["app"]["resources"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "db", "database": {"instanceName": "lakebase", "databaseName": "agent", "permission": "CAN_CONNECT_AND_CREATE"}}))
    });
    rejects(
        |o| {
            o["spec"]["app"]["resources"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "db", "database": {"instanceName": "lakebase", "databaseName": "agent", "permission": "CAN_CONNECT_AND_CREATE"}, "secret": {"scope": "s", "key": "k", "permission": "READ"}}))
        },
        "an app resource sets exactly one of",
    );
}

/// The CEL rules of the AgentReleaseApproval CRD on `spec` (the whole object's rules included).
fn approval_rule_errors(spec: Value) -> Vec<String> {
    use kube::core::cel::{Validator as Cel, compile_schema};
    let crd = agentrelease_api::agent_release_approval_crd();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .map(|s| serde_json::to_value(s).unwrap())
        .unwrap();
    let compiled = compile_schema(&schema);
    let obj = json!({
        "apiVersion": "agentops.dev/v1alpha1",
        "kind": "AgentReleaseApproval",
        "metadata": {"name": "a", "namespace": "agents"},
        "spec": spec,
    });
    match Cel::new().validate_compiled(&compiled, &obj, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_vec().into_iter().map(|e| e.message).collect(),
    }
}

#[test]
fn an_approval_names_the_identity_it_approves_as_sixteen_hex_digits() {
    let spec = |identity: Value| {
        json!({"release": "skyloyalty-v7", "n": 7, "modelVersion": "12",
               "approvedBy": "alice", "identity": identity})
    };
    assert!(approval_rule_errors(spec(json!("0123456789abcdef"))).is_empty());
    for bad in ["0123456789ABCDEF", "0123456789abcdeg", "01234567 9abcdef"] {
        let errors = approval_rule_errors(spec(json!(bad)));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("spec.identity must be the release's status.identity.digest")),
            "{bad}: {errors:?}"
        );
    }
}

#[test]
fn workload_identity_names_a_service_account_and_only_it_does() {
    accepts_target(|o| {
        o["spec"]["credentials"]["type"] = json!("WorkloadIdentity");
        o["spec"]["credentials"]["serviceAccountName"] = json!("skyloyalty-deployer");
    });
    rejects_target(
        |o| o["spec"]["credentials"]["type"] = json!("WorkloadIdentity"),
        "credentials.serviceAccountName is required with type WorkloadIdentity",
    );
    rejects_target(
        |o| o["spec"]["credentials"]["serviceAccountName"] = json!("skyloyalty-deployer"),
        "credentials.serviceAccountName is only used with type WorkloadIdentity",
    );
    rejects_target(
        |o| {
            o["spec"]["credentials"]["type"] = json!("Token");
            o["spec"]["credentials"]["serviceAccountName"] = json!("skyloyalty-deployer");
        },
        "credentials.serviceAccountName is only used with type WorkloadIdentity",
    );
    for path in [
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "../token",
        "Deployer",
    ] {
        rejects_target(
            |o| {
                o["spec"]["credentials"]["type"] = json!("WorkloadIdentity");
                o["spec"]["credentials"]["serviceAccountName"] = json!(path);
            },
            "credentials.serviceAccountName must be a Kubernetes object name",
        );
    }
}

#[test]
fn trusted_origins_are_https_origins_of_names() {
    let set = |o: &mut Value, list: Value| o["spec"]["trustedOrigins"] = list;
    accepts_target(|o| {
        set(
            o,
            json!([
                {"origin": "https://mcp.example.com", "sendWorkspaceToken": true},
                {"origin": "https://tools.example.com:8443"}
            ]),
        )
    });
    for (origin, expected) in [
        ("https://mcp.example.com/mcp", "no path"),
        (
            "https://user:pw@mcp.example.com",
            "carries no user name or password",
        ),
        (
            "https://mcp.example.com#x",
            "has no query (?) or fragment (#)",
        ),
        ("ftp://mcp.example.com", "unsupported scheme ftp"),
        (
            "https://10.1.2.3",
            "spec.trustedOrigins[0].origin: https://10.1.2.3: a trusted origin names a host, not an IP address",
        ),
        (
            "https://[2001:db8::1]:443",
            "a trusted origin names a host, not an IP address",
        ),
        (
            "https://0xa9fea9fe",
            "is 169.254.169.254, a cloud metadata service address",
        ),
        (
            "https://metadata.google.internal",
            "names metadata.google.internal, a cloud metadata service",
        ),
        (
            "http://mcp.example.com",
            "spec.trustedOrigins: http:// and localhost origins only with allowInsecureHttp",
        ),
        (
            "http://localhost:9000",
            "spec.trustedOrigins: http:// and localhost origins only with allowInsecureHttp",
        ),
        (
            "https://localhost:9000",
            "spec.trustedOrigins: http:// and localhost origins only with allowInsecureHttp",
        ),
    ] {
        rejects_target(|o| set(o, json!([{ "origin": origin }])), expected);
    }
    rejects_target(
        |o| {
            set(
                o,
                json!([{"origin": "https://a.example"}, {"origin": "https://a.example"}]),
            )
        },
        "spec.trustedOrigins lists each origin once",
    );
    rejects_target(
        |o| {
            set(
                o,
                json!(
                    (0..21)
                        .map(|i| json!({"origin": format!("https://m{i}.example")}))
                        .collect::<Vec<_>>()
                ),
            )
        },
        "spec.trustedOrigins: Too many",
    );
    // A local simulator target may list a localhost origin over http, never an address.
    let insecure = |o: &mut Value, origin: &str| {
        o["spec"]["host"] = json!("http://127.0.0.1:8765");
        o["spec"]["allowInsecureHttp"] = json!(true);
        set(o, json!([{ "origin": origin }]));
    };
    accepts_target(|o| insecure(o, "http://localhost:9000"));
    accepts_target(|o| insecure(o, "https://mcp.example.com"));
    rejects_target(
        |o| insecure(o, "http://mcp.example.com"),
        "spec.trustedOrigins: http:// and localhost origins only with allowInsecureHttp, and http:// only for localhost",
    );
    rejects_target(
        |o| insecure(o, "http://127.0.0.1:9000"),
        "a trusted origin names a host, not an IP address",
    );
}

/// The API server refuses each bad trusted origin by its CEL rules alone.
#[test]
fn cel_alone_refuses_every_bad_trusted_origin() {
    use kube::core::cel::{Validator as Cel, compile_schema};
    let compiled = compile_schema(validator().schema(Kind::ReleaseTarget));
    let cel = Cel::new();
    for origin in [
        "https://10.1.2.3",
        "https://0.0.0.0",
        "https://168.63.129.16",
        "https://2852039166",
        "https://[::1]",
        "http://mcp.example.com",
        "https://localhost",
        "https://mcp.example.com/path",
        "https://mcp.example.com@evil.example",
    ] {
        let mut obj = target();
        obj["spec"]["trustedOrigins"] = json!([{ "origin": origin }]);
        let errors = cel
            .validate_compiled(&compiled, &obj, None)
            .err()
            .map(|e| e.into_vec())
            .unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e.field_path.starts_with("spec.trustedOrigins")),
            "{origin}: {errors:#?}"
        );
    }
}

#[test]
fn a_custom_mcp_server_must_be_on_an_origin_the_target_trusts() {
    let check = |url: &str, trusted: Value| {
        let mut obj = release();
        obj["spec"]["verification"]["mcpServers"][0]["url"] = json!(url);
        let mut t = target();
        t["spec"]["trustedOrigins"] = trusted;
        let release: agentrelease_api::AgentRelease = serde_json::from_value(obj).unwrap();
        let target: agentrelease_api::ReleaseTarget = serde_json::from_value(t).unwrap();
        agentrelease_api::validation::check_release_against_target(&release, &target)
    };
    let found = check("https://mcp.example.com/mcp", json!([]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, "spec.verification.mcpServers[0].url");
    assert!(
        found[0]
            .message
            .contains("https://mcp.example.com is not the workspace's origin")
            && found[0].message.contains("spec.trustedOrigins"),
        "{}",
        found[0].message
    );
    assert!(
        check(
            "https://mcp.example.com/mcp",
            json!([{"origin": "https://mcp.example.com"}])
        )
        .is_empty()
    );
    // The workspace's own origin, and an app of this workspace (the sample's host names its id).
    assert!(
        check(
            "https://adb-1234567890123456.7.azuredatabricks.net/api/2.0/mcp/external/x",
            json!([])
        )
        .is_empty()
    );
    assert!(
        check(
            "https://tools-1234567890123456.7.azure.databricksapps.com/mcp",
            json!([])
        )
        .is_empty()
    );
    let other = check("https://tools-99.7.azure.databricksapps.com/mcp", json!([]));
    assert!(
        other[0]
            .message
            .contains("a Databricks app of workspace 99"),
        "{other:?}"
    );
    let ip = check("https://0.0.0.0/mcp", json!([]));
    assert!(ip[0].message.contains("is an IP address"), "{ip:?}");
}
