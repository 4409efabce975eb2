//! Where a request that carries the workspace's credentials may go when its URL is not built
//! from the workspace host: an app's URL as the Apps API answers it (the smoke request, the chat
//! and task verification, `/logz`), a custom MCP server's URL. One policy with three users: the
//! Databricks client (before every request), the engine's preflight and verification (for a
//! clear condition), `agentrelease validate`.
//!
//! A URL's origin (scheme, host, port) passes when it is
//! 1. the workspace's own origin (credentials go with the request);
//! 2. listed in the ReleaseTarget's `spec.trustedOrigins` (credentials only with
//!    `sendWorkspaceToken: true`);
//! 3. a Databricks app of this workspace (credentials go): `https://` on port 443, a host
//!    [`crate::apps_domain::app_host`] reads, whose workspace id is this workspace's (from its
//!    host, or from the workspace's own answers) and whose cloud is the host's when the host
//!    names one. When the workspace's id is not known, no app domain passes.
//!
//! Refused before anything is sent, whatever else holds: an IP address as host (any notation;
//! the workspace's own origin aside), plain http anywhere but the workspace's own origin and a
//! listed `localhost` origin (both only with `allowInsecureHttp`), a user name or password.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::apps_domain::{self, Cloud};
use crate::host::{self, HostError, check_workspace_host, redact_userinfo};

/// An origin besides the workspace's own that requests of this target may go to.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TrustedOrigin {
    /// The origin: `https://<name>[:port]`, nothing more (no path, user name, query or
    /// fragment), e.g. `https://mcp.example.com`. Never an IP address. `http://` only for a
    /// `localhost` name and only with the target's `allowInsecureHttp` (a local simulator).
    #[x_kube(validation = Rule::new(host::cel::printable_ascii()).message("trustedOrigins[].origin must be printable ASCII without spaces"))]
    #[x_kube(validation = Rule::new(host::cel::NO_USERINFO).message("trustedOrigins[].origin must not carry a user name or password"))]
    #[x_kube(validation = Rule::new(host::cel::NO_QUERY_OR_FRAGMENT).message("trustedOrigins[].origin must not have a query (?) or fragment (#)"))]
    #[x_kube(validation = Rule::new(host::cel::BARE).message("trustedOrigins[].origin must be an origin: scheme and host (and port), no path"))]
    #[x_kube(validation = Rule::new("self.startsWith('https://') || self.startsWith('http://')").message("trustedOrigins[].origin must be an https:// origin (http:// only for localhost, with allowInsecureHttp)"))]
    #[x_kube(validation = Rule::new(cel::no_ip_literal()).message("trustedOrigins[].origin must name a host, not an IP address"))]
    #[x_kube(validation = Rule::new(host::cel::refused_literals()).message("trustedOrigins[].origin must not be a link-local or cloud metadata address or name"))]
    #[schemars(length(min = 8, max = 512))]
    pub origin: String,
    /// Whether requests to this origin carry the workspace's credentials (the PAT, OAuth token
    /// or app service principal's token). Default false: the request is sent without an
    /// `Authorization` header.
    #[serde(default)]
    pub send_workspace_token: bool,
}

/// How a request to an allowed origin goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// With the workspace's credentials.
    WithToken,
    /// Without an `Authorization` header (a listed origin with `sendWorkspaceToken: false`).
    WithoutToken,
}

/// The field a refusal points the user at.
const FIELD: &str = "the ReleaseTarget's spec.trustedOrigins";

/// Why a URL may not be sent to. Every message names the origin (user name and password shown
/// as `***`), why, and what to set; nothing is sent there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// Not an absolute http(s) URL with a host.
    #[error("{url} is not an absolute http(s) URL with a host; nothing is sent")]
    NotAUrl {
        /// The URL, user name and password shown as `***`.
        url: String,
    },
    /// A user name or password in the URL.
    #[error("{url} carries a user name or password; nothing is sent there")]
    UserInfo {
        /// The URL, user name and password shown as `***`.
        url: String,
    },
    /// An IP address as host.
    #[error(
        "{origin} is an IP address; apps and MCP servers are reached by name only, so nothing is sent there (give it a DNS name and list that in {FIELD})"
    )]
    IpAddress {
        /// The refused URL's origin (scheme, host and port).
        origin: String,
    },
    /// Plain http off the workspace's origin and listed localhost origins.
    #[error(
        "{origin} is plain http; only the workspace's own origin and a localhost origin listed in {FIELD} are reached over http (with allowInsecureHttp, for a local simulator), so nothing is sent there (serve it over https)"
    )]
    InsecureHttp {
        /// The refused URL's origin (scheme, host and port).
        origin: String,
    },
    /// A Databricks app of another workspace.
    #[error(
        "{origin} is a Databricks app of workspace {app_workspace}, not of this workspace ({workspace}), so nothing is sent there (list it in {FIELD} if this workspace's credentials may go to it)"
    )]
    OtherWorkspaceApp {
        /// The refused URL's origin (scheme, host and port).
        origin: String,
        /// The app's workspace id and cloud.
        app_workspace: String,
        /// This workspace's id and cloud.
        workspace: String,
    },
    /// A Databricks Apps domain, but this workspace's id is not known.
    #[error(
        "{origin} is on a Databricks Apps domain, but this workspace's id is not known (its host does not name it and it did not answer with x-databricks-org-id), so the app cannot be tied to this workspace and nothing is sent there (list it in {FIELD})"
    )]
    UnboundApp {
        /// The refused URL's origin (scheme, host and port).
        origin: String,
    },
    /// Any other origin.
    #[error(
        "{origin} is not the workspace's origin ({workspace}), not a Databricks app of this workspace and not listed in {FIELD}, so nothing is sent there (list it there, with sendWorkspaceToken: false to send no credentials, if it is trusted)"
    )]
    Foreign {
        /// The refused URL's origin (scheme, host and port).
        origin: String,
        /// The workspace's origin, the one credentials always go to.
        workspace: String,
    },
}

/// Why a `trustedOrigins` entry is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedOriginError {
    /// It breaks a rule of [`crate::host`] (the same as `spec.host`).
    #[error("{0} (a trusted origin follows the rules of spec.host)")]
    Host(#[from] HostError),
    /// An IP address.
    #[error("{origin}: a trusted origin names a host, not an IP address")]
    IpAddress {
        /// The entry, as an origin.
        origin: String,
    },
    /// `http://` for a host other than `localhost`, or without `allowInsecureHttp`.
    #[error(
        "{origin}: a trusted origin is https:// (http:// only for localhost, with allowInsecureHttp, for a local simulator)"
    )]
    InsecureHttp {
        /// The entry, as an origin.
        origin: String,
    },
}

/// Checks a `trustedOrigins[].origin` and returns it as an origin (lower case, default port
/// left out, no trailing slash).
pub fn check_trusted_origin(
    text: &str,
    allow_insecure_http: bool,
) -> Result<String, TrustedOriginError> {
    let origin = check_workspace_host(text, allow_insecure_http)?;
    let url = url::Url::parse(&origin).map_err(|_| HostError::NotBare {
        host: redact_userinfo(text),
    })?;
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            let local = name == "localhost" || name.ends_with(".localhost");
            if url.scheme() == "http" && !(allow_insecure_http && local) {
                return Err(TrustedOriginError::InsecureHttp { origin });
            }
            Ok(origin)
        }
        _ => Err(TrustedOriginError::IpAddress { origin }),
    }
}

/// The policy of one workspace client: its origin, what its host says about it, the target's
/// trusted origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    workspace: String,
    workspace_id: Option<String>,
    cloud: Option<Cloud>,
    trusted: Vec<(String, bool)>,
}

impl OriginPolicy {
    /// The policy for the workspace at `workspace_origin` (as [`check_workspace_host`] returns
    /// it) with the target's `trusted` origins, checked with the target's
    /// `allow_insecure_http`; an entry that breaks the rules is an error.
    pub fn new(
        workspace_origin: &str,
        trusted: &[TrustedOrigin],
        allow_insecure_http: bool,
    ) -> Result<Self, TrustedOriginError> {
        let host = url::Url::parse(workspace_origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let named = apps_domain::workspace_host(&host);
        let trusted = trusted
            .iter()
            .map(|t| {
                check_trusted_origin(&t.origin, allow_insecure_http)
                    .map(|o| (o, t.send_workspace_token))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OriginPolicy {
            workspace: workspace_origin.trim_end_matches('/').to_string(),
            workspace_id: named.id,
            cloud: named.cloud,
            trusted,
        })
    }

    /// The workspace's origin (scheme, host in lower case, port).
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The workspace's id, when known.
    pub fn workspace_id(&self) -> Option<&str> {
        self.workspace_id.as_deref()
    }

    /// Takes the id the workspace answered with (`x-databricks-org-id`) when none is known
    /// yet; an id the host names, or one learned before, is never replaced. Whether the id is
    /// now known.
    pub fn learn_workspace_id(&mut self, id: &str) -> bool {
        if self.workspace_id.is_none() && apps_domain::is_workspace_id(id) {
            self.workspace_id = Some(id.to_string());
        }
        self.workspace_id.is_some()
    }

    /// Whether `url` would be an app of this workspace if its id were known (a lookup of the
    /// id is worth it).
    pub fn needs_workspace_id(&self, url: &str) -> bool {
        self.workspace_id.is_none() && matches!(self.judge(url), Err(Untrusted::UnboundApp { .. }))
    }

    /// Whether a request to `url` may be sent, and with or without credentials.
    pub fn judge(&self, url: &str) -> Result<Grant, Untrusted> {
        let shown = redact_userinfo(url);
        let parsed = url::Url::parse(url).map_err(|_| Untrusted::NotAUrl { url: shown.clone() })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(Untrusted::NotAUrl { url: shown });
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Untrusted::UserInfo { url: shown });
        }
        let origin = parsed.origin().ascii_serialization();
        if origin == self.workspace {
            return Ok(Grant::WithToken);
        }
        let name = match parsed.host() {
            Some(url::Host::Domain(name)) => name,
            _ => return Err(Untrusted::IpAddress { origin }),
        };
        if let Some((_, send)) = self.trusted.iter().find(|(o, _)| *o == origin) {
            return Ok(if *send {
                Grant::WithToken
            } else {
                Grant::WithoutToken
            });
        }
        if parsed.scheme() != "https" {
            return Err(Untrusted::InsecureHttp { origin });
        }
        let app = apps_domain::app_host(name).filter(|_| parsed.port().is_none());
        let Some(app) = app else {
            return Err(Untrusted::Foreign {
                origin,
                workspace: self.workspace.clone(),
            });
        };
        let Some(id) = self.workspace_id.as_deref() else {
            return Err(Untrusted::UnboundApp { origin });
        };
        if app.workspace_id == id && self.cloud.is_none_or(|c| c == app.cloud) {
            return Ok(Grant::WithToken);
        }
        Err(Untrusted::OtherWorkspaceApp {
            origin,
            app_workspace: format!("{} on {}", app.workspace_id, app.cloud),
            workspace: match self.cloud {
                Some(c) => format!("{id} on {c}"),
                None => id.to_string(),
            },
        })
    }
}

/// The CEL rules of `trustedOrigins` beside those of [`crate::host::cel`].
pub mod cel {
    use crate::rules::cel_str;

    /// The host is not an IP literal: `[...]` (IPv6) or a host of digits, dots and hex
    /// notations (every IPv4 notation the URL standard accepts).
    pub fn no_ip_literal() -> String {
        format!(
            "!self.lowerAscii().matches({})",
            cel_str(
                r"^[a-z][a-z0-9+.-]*://(\[.*|(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*)(:[0-9]*)?/?$"
            )
        )
    }

    /// On the target: `http://` only for `localhost` names, only with `allowInsecureHttp`; a
    /// `localhost` name only with `allowInsecureHttp`.
    pub fn http_only_for_local() -> String {
        let local = r"^https?://([^/:]*\.)?localhost\.?(:[0-9]+)?/?$";
        format!(
            "!has(self.trustedOrigins) || self.trustedOrigins.all(o, (o.origin.startsWith('https://') && !o.origin.lowerAscii().matches({local})) || (self.allowInsecureHttp && o.origin.lowerAscii().matches({local})))",
            local = cel_str(local)
        )
    }

    /// Each origin once.
    pub const UNIQUE: &str = "self.all(a, self.exists_one(b, b.origin == a.origin))";
}

#[cfg(test)]
mod tests;
