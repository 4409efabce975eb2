//! The origin policy as the client applies it: every request is judged by
//! [`OriginPolicy::judge`] before anything is sent, and goes with the credentials only when the
//! policy says so. The workspace's id, which ties an app domain to the workspace, comes from the
//! host or from the workspace's own answers (`x-databricks-org-id`, read from answers of the
//! workspace's origin only); when an app URL needs it and it is not known yet, the client asks
//! the workspace who it is (`GET /api/2.0/preview/scim/v2/Me`, whose answer carries it).

use std::sync::RwLock;

use agentrelease_api::origin::{Grant, OriginPolicy, Untrusted};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};

/// The header a workspace names its id in.
pub const ORG_ID_HEADER: &str = "x-databricks-org-id";

/// The policy of one client, with the workspace id it learns.
#[derive(Debug)]
pub(crate) struct Origins {
    policy: RwLock<OriginPolicy>,
}

impl Origins {
    pub(crate) fn new(policy: OriginPolicy) -> Self {
        Origins {
            policy: RwLock::new(policy),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&OriginPolicy) -> T) -> T {
        match self.policy.read() {
            Ok(p) => f(&p),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Whether `url` may be sent to, and how; a refusal as the client's error for `route`.
    pub(crate) fn judge(&self, route: &str, url: &str) -> Result<Grant> {
        self.read(|p| p.judge(url))
            .map_err(|why| refusal(route, &why))
    }

    /// Whether `url` is on the workspace's own origin (its answers may name the workspace).
    pub(crate) fn is_workspace(&self, url: &str) -> bool {
        let origin = url::Url::parse(url).map(|u| u.origin().ascii_serialization());
        self.read(|p| origin.is_ok_and(|o| o == p.workspace()))
    }

    /// Takes the workspace id from an answer of the workspace's origin, when it carries one and
    /// none is known.
    pub(crate) fn learn(&self, headers: &reqwest::header::HeaderMap) {
        if self.read(|p| p.workspace_id().is_some()) {
            return;
        }
        let Some(id) = headers.get(ORG_ID_HEADER).and_then(|v| v.to_str().ok()) else {
            return;
        };
        let mut policy = match self.policy.write() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        policy.learn_workspace_id(id.trim());
    }

    fn needs_workspace_id(&self, url: &str) -> bool {
        self.read(|p| p.needs_workspace_id(url))
    }
}

/// The error of a refused URL: its message names the origin, why, and the field to set.
pub(crate) fn refusal(route: &str, why: &Untrusted) -> Error {
    Error::local(ErrorKind::UntrustedOrigin, route, why.to_string())
}

impl Client {
    /// Whether a request to `url` (an absolute URL off the workspace's paths) may be sent, and
    /// with or without the credentials. When only the workspace's id is missing to tie an app
    /// domain to the workspace, the workspace is asked first. Nothing is sent to `url`.
    pub async fn check_origin(&self, url: &str) -> Result<Grant> {
        let route = "{origin}";
        if self.origins().needs_workspace_id(url) {
            // Its answer carries the id (the client learns it from any workspace answer).
            self.current_user().await?;
        }
        self.origins().judge(route, url)
    }
}
