//! Databricks Apps domains and the workspace an app belongs to. An app's URL names its
//! workspace: `https://<app>-<workspace-id>.aws.databricksapps.com` (AWS; older apps
//! `.cloud.databricksapps.com`), `https://<app>-<workspace-id>.<shard>.azure.databricksapps.com`
//! (Azure), `https://<app>-<workspace-id>.gcp.databricksapps.com` (GCP). A workspace's own id is
//! in its host on Azure (`adb-<id>.<shard>.azuredatabricks.net`) and GCP
//! (`<id>.<shard>.gcp.databricks.com`); on AWS (`dbc-<random>.cloud.databricks.com`, or a vanity
//! name) only the workspace's answers tell it (`x-databricks-org-id`).
//!
//! Pure parsing, no I/O: [`crate::origin`] decides with it.

use std::fmt;

/// The cloud a Databricks workspace or app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Amazon Web Services.
    Aws,
    /// Microsoft Azure.
    Azure,
    /// Google Cloud.
    Gcp,
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Aws => "AWS",
            Cloud::Azure => "Azure",
            Cloud::Gcp => "GCP",
        })
    }
}

/// What a workspace host says about the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceHost {
    /// The workspace id, when the host names it.
    pub id: Option<String>,
    /// The cloud, when the host's domain says it.
    pub cloud: Option<Cloud>,
}

/// The app a host on a Databricks Apps domain names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHost {
    /// The app's name (the host's first label without `-<workspace id>`).
    pub app: String,
    /// The id of the workspace the app belongs to.
    pub workspace_id: String,
    /// The cloud its domain names.
    pub cloud: Cloud,
}

/// The parent domain of every Databricks app.
pub const APPS_DOMAIN: &str = "databricksapps.com";

/// Workspace ids are decimal numbers of at most this many digits.
const MAX_ID_DIGITS: usize = 20;

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_ID_DIGITS && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` can be a workspace id (the value of `x-databricks-org-id`).
pub fn is_workspace_id(text: &str) -> bool {
    is_id(text)
}

/// What a workspace host (a lower-case name, no port) says: the id and cloud of
/// `adb-<id>.<shard>.azuredatabricks.net` (and Azure's sovereign clouds
/// `.databricks.azure.cn`, `.databricks.azure.us`), `<id>.<shard>.gcp.databricks.com`, the cloud
/// of `*.cloud.databricks.com`; nothing for any other name.
pub fn workspace_host(host: &str) -> WorkspaceHost {
    let labels: Vec<&str> = host.split('.').collect();
    let azure_suffix = [
        "azuredatabricks.net",
        "databricks.azure.cn",
        "databricks.azure.us",
    ]
    .iter()
    .any(|s| host.ends_with(&format!(".{s}")));
    if azure_suffix {
        let id = labels
            .first()
            .and_then(|l| l.strip_prefix("adb-"))
            .filter(|id| is_id(id))
            .filter(|_| labels.get(1).is_some_and(|shard| is_id(shard)))
            .map(str::to_string);
        return WorkspaceHost {
            id,
            cloud: Some(Cloud::Azure),
        };
    }
    if host.ends_with(".gcp.databricks.com") {
        let id = match labels.as_slice() {
            [id, shard, "gcp", "databricks", "com"] if is_id(id) && is_id(shard) => {
                Some((*id).to_string())
            }
            _ => None,
        };
        return WorkspaceHost {
            id,
            cloud: Some(Cloud::Gcp),
        };
    }
    if host.ends_with(".cloud.databricks.com") {
        return WorkspaceHost {
            id: None,
            cloud: Some(Cloud::Aws),
        };
    }
    WorkspaceHost::default()
}

/// The app a host names when it is on a Databricks Apps domain: `<app>-<id>.aws`, `.cloud`,
/// `.gcp` or `.<shard>.azure` under [`APPS_DOMAIN`] (a shard, digits, is also accepted before
/// `aws`, `cloud` and `gcp`). `None` for any other host, a trailing dot included.
pub fn app_host(host: &str) -> Option<AppHost> {
    let rest = host.strip_suffix(APPS_DOMAIN)?.strip_suffix('.')?;
    let labels: Vec<&str> = rest.split('.').collect();
    let (first, cloud_label, shard) = match labels.as_slice() {
        [first, cloud] => (*first, *cloud, None),
        [first, shard, cloud] => (*first, *cloud, Some(*shard)),
        _ => return None,
    };
    if shard.is_some_and(|s| !is_id(s)) {
        return None;
    }
    let cloud = match (cloud_label, shard) {
        ("aws" | "cloud", _) => Cloud::Aws,
        ("gcp", _) => Cloud::Gcp,
        ("azure", Some(_)) => Cloud::Azure,
        _ => return None,
    };
    let (app, id) = first.rsplit_once('-')?;
    let app_ok = (1..=63).contains(&app.len())
        && app
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !app.starts_with('-');
    (app_ok && is_id(id)).then(|| AppHost {
        app: app.to_string(),
        workspace_id: id.to_string(),
        cloud,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_and_gcp_hosts_name_their_workspace_id() {
        assert_eq!(
            workspace_host("adb-5555213114570927.7.azuredatabricks.net"),
            WorkspaceHost {
                id: Some("5555213114570927".into()),
                cloud: Some(Cloud::Azure)
            }
        );
        assert_eq!(
            workspace_host("adb-123.4.databricks.azure.cn")
                .id
                .as_deref(),
            Some("123")
        );
        assert_eq!(
            workspace_host("1262935113136277.7.gcp.databricks.com"),
            WorkspaceHost {
                id: Some("1262935113136277".into()),
                cloud: Some(Cloud::Gcp)
            }
        );
        assert_eq!(
            workspace_host("dbc-1a2b3c4d-5e6f.cloud.databricks.com"),
            WorkspaceHost {
                id: None,
                cloud: Some(Cloud::Aws)
            }
        );
        for other in [
            "westus.azuredatabricks.net",
            "adb-12x.7.azuredatabricks.net",
            "adb-1.7.azuredatabricks.net.evil.example",
            "databricks.example.com",
            "127.0.0.1",
        ] {
            assert_eq!(
                workspace_host(other).id,
                None,
                "{other} names no workspace id"
            );
        }
        assert_eq!(workspace_host("databricks.example.com").cloud, None);
    }

    #[test]
    fn app_hosts_name_their_app_workspace_and_cloud() {
        for (host, app, id, cloud) in [
            (
                "file2edi-5555213114570927.7.azure.databricksapps.com",
                "file2edi",
                "5555213114570927",
                Cloud::Azure,
            ),
            (
                "mining-demo-app-1444828305810485.aws.databricksapps.com",
                "mining-demo-app",
                "1444828305810485",
                Cloud::Aws,
            ),
            (
                "chat-app-123.cloud.databricksapps.com",
                "chat-app",
                "123",
                Cloud::Aws,
            ),
            (
                "github-mcp-server-1262935113136277.gcp.databricksapps.com",
                "github-mcp-server",
                "1262935113136277",
                Cloud::Gcp,
            ),
        ] {
            assert_eq!(
                app_host(host),
                Some(AppHost {
                    app: app.into(),
                    workspace_id: id.into(),
                    cloud
                }),
                "{host}"
            );
        }
    }

    #[test]
    fn other_hosts_are_not_apps() {
        for host in [
            "databricksapps.com",
            "evildatabricksapps.com",
            "app-1.aws.evildatabricksapps.com",
            "app-1.aws.databricksapps.com.",
            "app-1.aws.databricksapps.com.evil.example",
            "app.aws.databricksapps.com",
            "app-.aws.databricksapps.com",
            "-1.aws.databricksapps.com",
            "app-1.azure.databricksapps.com",
            "app-1.x.azure.databricksapps.com",
            "app-1.elsewhere.databricksapps.com",
            "a.app-1.aws.databricksapps.com.x",
            "app-1.7.8.azure.databricksapps.com",
            "app-123456789012345678901.aws.databricksapps.com",
        ] {
            assert_eq!(app_host(host), None, "{host}");
        }
    }
}
