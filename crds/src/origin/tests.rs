use super::*;

const AZURE: &str = "https://adb-5555213114570927.7.azuredatabricks.net";
const AWS: &str = "https://dbc-1a2b3c4d-5e6f.cloud.databricks.com";
const SIM: &str = "http://127.0.0.1:8765";

fn trusted(origin: &str, send: bool) -> TrustedOrigin {
    TrustedOrigin {
        origin: origin.into(),
        send_workspace_token: send,
    }
}

fn policy(workspace: &str, list: &[TrustedOrigin]) -> OriginPolicy {
    OriginPolicy::new(workspace, list, workspace.starts_with("http://")).expect("policy")
}

#[test]
fn the_workspace_origin_gets_the_token() {
    let p = policy(AZURE, &[]);
    assert_eq!(
        p.judge(&format!("{AZURE}/api/2.0/mcp/functions/main/agents")),
        Ok(Grant::WithToken)
    );
    assert_eq!(
        p.judge("https://ADB-5555213114570927.7.AzureDatabricks.net:443/x"),
        Ok(Grant::WithToken)
    );
    // The simulator serves its apps on its own origin, an IP address over http.
    assert_eq!(
        policy(SIM, &[]).judge("http://127.0.0.1:8765/_apps/skyloyalty-agent/"),
        Ok(Grant::WithToken)
    );
}

#[test]
fn apps_of_this_workspace_get_the_token_and_others_nothing() {
    let p = policy(AZURE, &[]);
    assert_eq!(
        p.judge("https://file2edi-5555213114570927.7.azure.databricksapps.com/invocations"),
        Ok(Grant::WithToken)
    );
    let e = p
        .judge("https://file2edi-1111111111111111.7.azure.databricksapps.com/")
        .unwrap_err();
    assert!(
        matches!(&e, Untrusted::OtherWorkspaceApp { app_workspace, .. } if app_workspace == "1111111111111111 on Azure"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("not of this workspace (5555213114570927 on Azure)"),
        "{e}"
    );
    // The same id on another cloud's domain is not this workspace's app.
    assert!(matches!(
        p.judge("https://file2edi-5555213114570927.aws.databricksapps.com/"),
        Err(Untrusted::OtherWorkspaceApp { .. })
    ));
    // Apps are https on the default port only.
    for url in [
        "http://file2edi-5555213114570927.7.azure.databricksapps.com/",
        "https://file2edi-5555213114570927.7.azure.databricksapps.com:8443/",
        "https://x.file2edi-5555213114570927.7.azure.databricksapps.com/",
    ] {
        assert!(p.judge(url).is_err(), "{url}");
    }
}

#[test]
fn an_aws_app_is_bound_once_the_workspace_has_said_its_id() {
    let mut p = policy(AWS, &[]);
    let app = "https://agent-1444828305810485.aws.databricksapps.com/";
    assert!(p.needs_workspace_id(app));
    let e = p.judge(app).unwrap_err();
    assert!(matches!(e, Untrusted::UnboundApp { .. }), "{e}");
    assert!(e.to_string().contains("spec.trustedOrigins"), "{e}");
    assert!(p.learn_workspace_id("1444828305810485"));
    assert!(!p.needs_workspace_id(app));
    assert_eq!(p.judge(app), Ok(Grant::WithToken));
    assert!(matches!(
        p.judge("https://agent-999.aws.databricksapps.com/"),
        Err(Untrusted::OtherWorkspaceApp { .. })
    ));
    // A host that names its id keeps it, whatever an answer says.
    let mut azure = policy(AZURE, &[]);
    azure.learn_workspace_id("42");
    assert_eq!(azure.workspace_id(), Some("5555213114570927"));
    // Not an id: ignored.
    let mut aws = policy(AWS, &[]);
    assert!(!aws.learn_workspace_id("12ab"));
    // An id learned first stays.
    assert!(aws.learn_workspace_id("1"));
    aws.learn_workspace_id("2");
    assert_eq!(aws.workspace_id(), Some("1"));
}

#[test]
fn other_origins_plain_http_and_addresses_get_nothing() {
    let p = policy(AZURE, &[]);
    for (url, want) in [
        ("https://evil.example/mcp", "Foreign"),
        (
            "https://adb-5555213114570927.7.azuredatabricks.net.evil.example/",
            "Foreign",
        ),
        (
            "https://adb-5555213114570927.7.azuredatabricks.net:8443/",
            "Foreign",
        ),
        (
            "http://adb-5555213114570927.7.azuredatabricks.net/",
            "InsecureHttp",
        ),
        ("http://evil.example/", "InsecureHttp"),
        ("https://0.0.0.0/", "IpAddress"),
        ("http://0.0.0.0:8080/logz", "IpAddress"),
        ("https://168.63.129.16/", "IpAddress"),
        ("https://2852039166/", "IpAddress"),
        ("https://[::1]/", "IpAddress"),
        ("https://10.1.2.3/", "IpAddress"),
        ("https://user:s3cr3t@evil.example/", "UserInfo"),
        ("/api/2.0/mcp/functions/main/agents", "NotAUrl"),
        ("ftp://evil.example/", "NotAUrl"),
    ] {
        let e = p.judge(url).expect_err(url);
        let kind = format!("{e:?}");
        assert!(kind.starts_with(want), "{url}: {kind}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(e.to_string().contains("nothing is sent"), "{e}");
    }
    let e = p.judge("https://evil.example:444/mcp").unwrap_err();
    assert_eq!(
        e.to_string(),
        "https://evil.example:444 is not the workspace's origin (https://adb-5555213114570927.7.azuredatabricks.net), not a Databricks app of this workspace and not listed in the ReleaseTarget's spec.trustedOrigins, so nothing is sent there (list it there, with sendWorkspaceToken: false to send no credentials, if it is trusted)"
    );
}

#[test]
fn listed_origins_pass_with_or_without_the_token() {
    let p = policy(
        AZURE,
        &[
            trusted("https://MCP.example.com:443/", true),
            trusted("https://tools.example.com:8443", false),
        ],
    );
    assert_eq!(p.judge("https://mcp.example.com/mcp"), Ok(Grant::WithToken));
    assert_eq!(
        p.judge("https://tools.example.com:8443/mcp"),
        Ok(Grant::WithoutToken)
    );
    // Another port or scheme of a listed host is another origin.
    assert!(p.judge("https://tools.example.com/mcp").is_err());
    assert!(p.judge("http://mcp.example.com/mcp").is_err());
    // On a simulator target, a listed localhost origin over http.
    let sim = policy(SIM, &[trusted("http://localhost:9000", false)]);
    assert_eq!(
        sim.judge("http://localhost:9000/x"),
        Ok(Grant::WithoutToken)
    );
    assert!(matches!(
        sim.judge("http://127.0.0.1:9000/x"),
        Err(Untrusted::IpAddress { .. })
    ));
}

#[test]
fn trusted_origins_follow_the_host_rules() {
    assert_eq!(
        check_trusted_origin("https://MCP.Example.com:443/", false).as_deref(),
        Ok("https://mcp.example.com")
    );
    for (text, insecure) in [
        ("https://10.1.2.3", false),
        ("https://[2001:db8::1]", false),
        ("http://127.0.0.1:9000", true),
        ("https://168.63.129.16", false),
    ] {
        assert!(
            matches!(
                check_trusted_origin(text, insecure),
                Err(TrustedOriginError::IpAddress { .. } | TrustedOriginError::Host(_))
            ),
            "{text}"
        );
    }
    for (text, insecure) in [
        ("http://mcp.example.com", true),
        ("http://mcp.example.com", false),
        ("http://localhost:9000", false),
    ] {
        assert!(check_trusted_origin(text, insecure).is_err(), "{text}");
    }
    assert!(check_trusted_origin("http://localhost:9000", true).is_ok());
    for text in [
        "https://mcp.example.com/mcp",
        "https://user:pw@mcp.example.com",
        "https://metadata.google.internal",
        "https://mcp.example.com?x",
    ] {
        assert!(
            matches!(
                check_trusted_origin(text, false),
                Err(TrustedOriginError::Host(_))
            ),
            "{text}"
        );
    }
    assert!(
        OriginPolicy::new(AZURE, &[trusted("https://10.0.0.1", true)], false).is_err(),
        "a policy is not built from a refused entry"
    );
}

#[test]
fn the_ip_literal_rule_refuses_the_notations_people_write() {
    let rule = cel::no_ip_literal();
    let start = rule.find('\'').map(|i| i + 1).unwrap_or(0);
    let end = rule.rfind('\'').unwrap_or(rule.len());
    let pattern = rule[start..end].replace("\\\\", "\\");
    let re = regex::Regex::new(&pattern).expect("regex");
    for ip in [
        "https://10.1.2.3",
        "https://10.1.2.3:8443/",
        "https://0.0.0.0",
        "https://2852039166",
        "https://0xa9fea9fe",
        "https://0xA9.0xfe.0251.254",
        "https://169.254.43518",
        "https://[::1]:443",
        "https://[2001:db8::1]",
        "http://127.0.0.1:9000",
    ] {
        assert!(re.is_match(&ip.to_ascii_lowercase()), "{ip}");
    }
    for name in [
        "https://mcp.example.com",
        "https://1e100.net",
        "https://app-123.aws.databricksapps.com",
        "http://localhost:9000",
        "https://0x.example.com",
    ] {
        assert!(!re.is_match(name), "{name}");
    }
}
