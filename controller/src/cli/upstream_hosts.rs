//! Required stages on other workspaces, as `apply` and `plan` reach them: a release's
//! `spec.promotion.requires` names ReleaseTargets (same namespace) whose stage record lives in
//! their own workspace. `apply` serves one workspace (`--host`, or the embedded simulator), so
//! for a required target on another one it reads the record there — through `--upstream-host`,
//! GET only, at the upstream target's `requestsPerSecond` — and never in the release's
//! workspace. A required target whose workspace this run does not reach blocks the release with
//! `UpstreamNotReleased`, naming the target, its host and the option to pass.
//!
//! With the embedded simulator every host is the one simulated workspace, so every stage is
//! read there.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentrelease_api::{AgentRelease, ReleaseTarget};
use anyhow::Context as _;

use crate::connection::{
    Connection, Credentials, SecretString, WorkspaceFactory, target_rate, workspace_origin,
};
use crate::engine::upstream_remote::{self, Elsewhere};
use crate::engine::{self, Identity};

/// The environment variable read for the --upstream-host token when no --upstream-token-env
/// is given.
pub const DEFAULT_UPSTREAM_TOKEN_ENV: &str = "DATABRICKS_UPSTREAM_TOKEN";

/// Where the stage records of required targets on other workspaces are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpstreamArgs {
    /// The workspace of a required stage (`spec.promotion.requires`) that is not --host: its
    /// stage record is read there (GET only, never written), at that ReleaseTarget's
    /// `requestsPerSecond`. It must be the upstream ReleaseTarget's `spec.host`; repeat for
    /// each such workspace.
    #[arg(long = "upstream-host", value_name = "URL", requires = "host")]
    pub upstream_hosts: Vec<String>,
    /// The environment variable holding a personal access token for the --upstream-host
    /// workspaces. Without it: `DATABRICKS_UPSTREAM_TOKEN` when set, else the --host
    /// credentials (an OAuth service principal of the account reaches both workspaces).
    #[arg(long, value_name = "VAR", requires = "upstream_hosts")]
    pub upstream_token_env: Option<String>,
}

/// Where one required stage's record is read (decided before anything is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the workspace the release is driven on.
    Here,
    /// In the upstream target's own workspace, through this read-only connection.
    Elsewhere(Connection),
    /// Not in this run: the message says what to pass.
    Unreachable(String),
}

/// What the run reaches, for [`locate`].
pub struct Reach<'a> {
    /// `--host` as an origin; `None`: the embedded simulator (every host is that one workspace).
    pub host: Option<&'a str>,
    /// The --upstream-host origins.
    pub upstream_hosts: &'a [String],
    /// Their credentials.
    pub credentials: &'a Credentials,
    /// Whether `http://` is allowed.
    pub allow_insecure_http: bool,
    /// The targets that a release of this run is driven on (they are read where it is).
    pub driven: &'a [ReleaseTarget],
    /// Every ReleaseTarget among the files.
    pub targets: &'a [ReleaseTarget],
}

fn namespace_of(ns: Option<&str>) -> &str {
    ns.unwrap_or("default")
}

fn is(target: &ReleaseTarget, namespace: &str, name: &str) -> bool {
    target.metadata.name.as_deref() == Some(name)
        && namespace_of(target.metadata.namespace.as_deref()) == namespace
}

/// Where the record of the required target `name` of a release in `namespace` is read (pure).
pub fn locate(namespace: &str, name: &str, reach: &Reach<'_>) -> Place {
    let Some(host) = reach.host else {
        return Place::Here;
    };
    if reach.driven.iter().any(|t| is(t, namespace, name)) {
        return Place::Here;
    }
    let Some(target) = reach.targets.iter().find(|t| is(t, namespace, name)) else {
        return Place::Unreachable(format!(
            "the required ReleaseTarget {namespace}/{name} is not among the given files, so its \
             workspace is not known and its stage record is not read; add it with -f (and pass \
             --upstream-host with its spec.host when that is not --host)"
        ));
    };
    if super::apply::same_workspace(&target.spec.host, host) {
        return Place::Here;
    }
    match reach
        .upstream_hosts
        .iter()
        .find(|u| super::apply::same_workspace(&target.spec.host, u))
    {
        Some(origin) => Place::Elsewhere(Connection {
            host: origin.clone(),
            credentials: reach.credentials.clone(),
            requests_per_second: target_rate(&target.spec),
            allow_insecure_http: reach.allow_insecure_http,
            trusted_origins: target.spec.trusted_origins.clone(),
        }),
        None => Place::Unreachable(format!(
            "the required ReleaseTarget {namespace}/{name} is on workspace {} (its spec.host), \
             which this run does not read (--host is {host}); pass --upstream-host {} with a \
             token in {DEFAULT_UPSTREAM_TOKEN_ENV} (or --upstream-token-env) to read its stage \
             record there",
            target.spec.host,
            target.spec.host.trim()
        )),
    }
}

/// The --upstream-host origins, checked.
pub fn origins(args: &UpstreamArgs) -> anyhow::Result<Vec<String>> {
    args.upstream_hosts
        .iter()
        .map(|h| workspace_origin(h).with_context(|| format!("--upstream-host {h}")))
        .collect()
}

/// The credentials for the --upstream-host workspaces (`main`: the --host credentials).
pub fn credentials(args: &UpstreamArgs, main: &Credentials) -> anyhow::Result<Credentials> {
    let var = match &args.upstream_token_env {
        Some(var) => var.clone(),
        None if std::env::var_os(DEFAULT_UPSTREAM_TOKEN_ENV).is_some() => {
            DEFAULT_UPSTREAM_TOKEN_ENV.to_string()
        }
        None => return Ok(main.clone()),
    };
    let value =
        std::env::var(&var).with_context(|| format!("environment variable {var} is not set"))?;
    let value = value.trim().to_string();
    anyhow::ensure!(!value.is_empty(), "environment variable {var} is empty");
    Ok(Credentials::Token(SecretString::new(value)))
}

/// The places of the required stages of `release` (pure).
pub fn places(release: &AgentRelease, identity: &Identity, reach: &Reach<'_>) -> Places {
    Places(
        release
            .spec
            .requirements()
            .iter()
            .map(|r| {
                (
                    r.target_ref.clone(),
                    locate(&identity.namespace, &r.target_ref, reach),
                )
            })
            .filter(|(_, p)| *p != Place::Here)
            .collect(),
    )
}

/// The required stages of one release that are not read in its own workspace, by target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places(pub BTreeMap<String, Place>);

/// A required stage of one release, connected.
enum Source<W> {
    Read { host: String, ws: Arc<W> },
    Unreachable(String),
}

/// The required stages of one release on other workspaces, with their clients.
pub struct Upstreams<W>(BTreeMap<String, Source<W>>);

impl<W> Default for Upstreams<W> {
    fn default() -> Self {
        Upstreams(BTreeMap::new())
    }
}

impl Places {
    /// Connects each stage elsewhere (clients are cached by the factory).
    pub fn connect<F: WorkspaceFactory>(&self, factory: &F) -> anyhow::Result<Upstreams<F::Ws>> {
        let mut out = BTreeMap::new();
        for (target, place) in &self.0 {
            let source = match place {
                Place::Here => continue,
                Place::Elsewhere(connection) => Source::Read {
                    host: connection.host.clone(),
                    ws: factory.connect(connection)?,
                },
                Place::Unreachable(m) => Source::Unreachable(m.clone()),
            };
            out.insert(target.clone(), source);
        }
        Ok(Upstreams(out))
    }
}

impl<W: engine::Workspace> Upstreams<W> {
    /// Reads the stage records of `release` on the other workspaces (one GET each), for the
    /// pass about to run.
    pub async fn read(
        &self,
        release: &AgentRelease,
        identity: &Identity,
    ) -> BTreeMap<String, Elsewhere> {
        let mut out = BTreeMap::new();
        for (target, source) in &self.0 {
            let seen = match source {
                Source::Read { host, ws } => {
                    upstream_remote::read(
                        &**ws,
                        host,
                        &identity.namespace,
                        target,
                        &release.spec.model.name,
                        release.spec.version,
                    )
                    .await
                }
                Source::Unreachable(m) => Elsewhere::Unreachable(m.clone()),
            };
            out.insert(target.clone(), seen);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, host: &str, rate: i32) -> ReleaseTarget {
        let text = include_str!("../../../config/samples/releasetarget-staging.yaml");
        let mut t: ReleaseTarget = serde_saphyr::from_str(text).expect("sample");
        t.metadata.name = Some(name.into());
        t.spec.host = host.into();
        t.spec.requests_per_second = rate;
        t
    }

    const PROD: &str = "https://adb-1.7.azuredatabricks.net";
    const STG: &str = "https://adb-2.7.azuredatabricks.net";

    fn reach<'a>(
        host: Option<&'a str>,
        ups: &'a [String],
        creds: &'a Credentials,
        driven: &'a [ReleaseTarget],
        targets: &'a [ReleaseTarget],
    ) -> Reach<'a> {
        Reach {
            host,
            upstream_hosts: ups,
            credentials: creds,
            allow_insecure_http: false,
            driven,
            targets,
        }
    }

    #[test]
    fn a_stage_on_another_workspace_is_read_there_at_its_rate() {
        let creds = Credentials::Token(SecretString::new("t"));
        let targets = [target("prod", PROD, 15), target("staging", STG, 4)];
        let ups = [STG.to_string()];
        let place = locate(
            "default",
            "staging",
            &reach(Some(PROD), &ups, &creds, &targets[..1], &targets),
        );
        match place {
            Place::Elsewhere(c) => {
                assert_eq!(c.host, STG);
                assert_eq!(c.requests_per_second, 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stage_this_run_does_not_reach_is_unreachable_and_says_what_to_pass() {
        let creds = Credentials::Token(SecretString::new("t"));
        let targets = [target("prod", PROD, 15), target("staging", STG, 4)];
        match locate(
            "default",
            "staging",
            &reach(Some(PROD), &[], &creds, &targets[..1], &targets),
        ) {
            Place::Unreachable(m) => {
                assert!(m.contains("default/staging"), "{m}");
                assert!(m.contains(&format!("--upstream-host {STG}")), "{m}");
            }
            other => panic!("{other:?}"),
        }
        match locate(
            "default",
            "staging",
            &reach(Some(PROD), &[], &creds, &targets[..1], &targets[..1]),
        ) {
            Place::Unreachable(m) => assert!(m.contains("not among the given files"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Another namespace's target of the same name is not the upstream.
        let mut elsewhere = target("staging", PROD, 4);
        elsewhere.metadata.namespace = Some("other".into());
        assert!(matches!(
            locate(
                "default",
                "staging",
                &reach(Some(PROD), &[], &creds, &[], &[elsewhere])
            ),
            Place::Unreachable(_)
        ));
    }

    #[test]
    fn the_same_workspace_the_simulator_and_a_driven_stage_are_read_here() {
        let creds = Credentials::Token(SecretString::new("t"));
        let same = [
            target("prod", PROD, 15),
            target("staging", &format!("{PROD}/"), 4),
        ];
        assert_eq!(
            locate(
                "default",
                "staging",
                &reach(Some(PROD), &[], &creds, &[], &same)
            ),
            Place::Here
        );
        let other = [target("prod", PROD, 15), target("staging", STG, 4)];
        assert_eq!(
            locate("default", "staging", &reach(None, &[], &creds, &[], &[])),
            Place::Here,
            "the embedded simulator is every workspace"
        );
        assert_eq!(
            locate(
                "default",
                "staging",
                &reach(Some(PROD), &[], &creds, &other, &other)
            ),
            Place::Here,
            "a stage driven in this run is read where it is driven"
        );
    }
}
