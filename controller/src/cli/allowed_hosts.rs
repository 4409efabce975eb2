//! `--allowed-workspace-hosts` for `apply` and `plan`: the same list a platform team gives the
//! controller, checked before anything is sent. Every ReleaseTarget among the files (by its
//! `spec.host`), `--host` and each `--upstream-host` must be inside it; otherwise the run is
//! refused with one line per host outside (exit 1), and nothing is sent anywhere.

use agentrelease_api::ReleaseTarget;
use agentrelease_api::allowed_hosts::AllowedHosts;

use crate::manifest::Document;

/// Where this run sends requests, for [`refusals`].
pub struct Destinations<'a> {
    /// Every ReleaseTarget among the files.
    pub targets: &'a [(Document, ReleaseTarget)],
    /// `--host`, when given.
    pub host: Option<&'a str>,
    /// `--upstream-host`.
    pub upstream_hosts: &'a [String],
    /// `--allow-insecure-http`.
    pub allow_insecure_http: bool,
}

/// One line per host outside the list, naming the file, the object or the flag (pure).
pub fn refusals(allowed: &AllowedHosts, to: &Destinations<'_>) -> Vec<String> {
    if allowed.allows_all() {
        return Vec::new();
    }
    let mut lines = Vec::new();
    for (doc, target) in to.targets {
        if let Err(e) = allowed.check(&target.spec.host, target.spec.allow_insecure_http) {
            lines.push(format!(
                "{}:{}: ReleaseTarget/{}: spec.host {e}",
                doc.file.display(),
                doc.line_of("spec.host"),
                target.metadata.name.as_deref().unwrap_or("(unnamed)"),
            ));
        }
    }
    let flags = to.host.map(|h| ("--host", h)).into_iter().chain(
        to.upstream_hosts
            .iter()
            .map(|h| ("--upstream-host", h.as_str())),
    );
    for (flag, url) in flags {
        if let Err(e) = allowed.check(url, to.allow_insecure_http) {
            lines.push(format!("{flag} {url}: {e}"));
        }
    }
    lines
}
