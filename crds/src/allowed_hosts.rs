//! The workspace hosts a platform team allows (`--allowed-workspace-hosts`): a ReleaseTarget
//! whose `spec.host` is outside the list is refused before any request, token or Secret read.
//!
//! A pattern is a host name or address, or `*.` followed by a name of at least two labels
//! (`*.azuredatabricks.net`): the wildcard stands for one or more whole labels under that
//! suffix and matches neither the suffix itself nor anything that merely ends with its text
//! (`evilazuredatabricks.net`). Nothing else is a wildcard. Matching is on the host alone (no
//! scheme, no port), case-insensitively, after [`check_workspace_host`] has normalised
//! `spec.host` (so `HTTPS://ADB-1.AzureDatabricks.net:443/` is the host
//! `adb-1.azuredatabricks.net`); one trailing dot of a fully qualified name is ignored on both
//! sides. An empty list allows every host.

use std::fmt;
use std::str::FromStr;

use crate::host::{HostError, check_workspace_host};

/// One allowed host, or every host under a suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// Exactly this host (lower case, no trailing dot).
    Exact(String),
    /// Any host of one or more labels under this suffix (lower case, no leading `*.`).
    Under(String),
}

/// Why a text is not a [`HostPattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Empty, or only a wildcard.
    #[error(
        "an allowed workspace host must name a host, e.g. *.azuredatabricks.net (got {text:?})"
    )]
    Empty {
        /// The text as given.
        text: String,
    },
    /// A scheme, port, path, user name or other character that is not part of a host name.
    #[error(
        "{text:?} is not a host name: write the host alone (letters, digits, '-', '.'), without scheme, port or path, e.g. adb-123.4.azuredatabricks.net"
    )]
    NotAHost {
        /// The text as given.
        text: String,
    },
    /// A `*` anywhere but a leading `*.`.
    #[error(
        "{text:?}: '*' is a wildcard only as a leading '*.' (e.g. *.azuredatabricks.net), for one or more labels"
    )]
    Wildcard {
        /// The text as given.
        text: String,
    },
    /// `*.` followed by a single label (`*.net`): it would allow most of the internet.
    #[error(
        "{text:?}: a wildcard needs a suffix of at least two labels (e.g. *.cloud.databricks.com)"
    )]
    SuffixTooShort {
        /// The text as given.
        text: String,
    },
}

impl FromStr for HostPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, PatternError> {
        let given = text.to_string();
        let lowered = text.trim().to_ascii_lowercase();
        let (wildcard, name) = match lowered.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lowered.as_str()),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name == "*" {
            return Err(PatternError::Empty { text: given });
        }
        if name.contains('*') {
            return Err(PatternError::Wildcard { text: given });
        }
        let host_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
        // An IPv6 address in brackets, as the URL's host is written.
        let bracketed_v6 = !wildcard
            && name.starts_with('[')
            && name.ends_with(']')
            && name[1..name.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_ok();
        if !bracketed_v6 && (!name.chars().all(host_chars) || name.split('.').any(str::is_empty)) {
            return Err(PatternError::NotAHost { text: given });
        }
        if wildcard {
            if name.split('.').count() < 2 {
                return Err(PatternError::SuffixTooShort { text: given });
            }
            Ok(HostPattern::Under(name.to_string()))
        } else {
            Ok(HostPattern::Exact(name.to_string()))
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(name) => f.write_str(name),
            HostPattern::Under(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

impl HostPattern {
    /// Whether `host` (lower case, no trailing dot) matches.
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host == name,
            HostPattern::Under(suffix) => host
                .strip_suffix(suffix.as_str())
                .and_then(|labels| labels.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty() && !labels.ends_with('.')),
        }
    }
}

/// Why a workspace host is refused by the allow list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostNotAllowed {
    /// The host is outside the list. The message starts with the URL: callers put what names
    /// it (`spec.host`, `--host`) before it.
    #[error(
        "{host} (host {name}) is not among the workspace hosts this operator allows ({list}); nothing was sent and no credentials were read. A platform admin adds it with --allowed-workspace-hosts (the chart's allowedWorkspaceHosts)"
    )]
    Outside {
        /// The URL, with any user name and password shown as `***`.
        host: String,
        /// The host that was matched.
        name: String,
        /// The list, comma-separated.
        list: String,
    },
    /// The URL is not a usable workspace URL at all (so it cannot be matched).
    #[error("cannot be checked against the allowed workspace hosts ({list}): {source}")]
    Unusable {
        /// Why the host is not a workspace URL.
        #[source]
        source: HostError,
        /// The list, comma-separated.
        list: String,
    },
}

/// The allowed workspace hosts; empty allows every host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
}

impl AllowedHosts {
    /// The list of these patterns.
    pub fn new(patterns: impl IntoIterator<Item = HostPattern>) -> Self {
        AllowedHosts {
            patterns: patterns.into_iter().collect(),
        }
    }

    /// Whether every host is allowed (no list was given).
    pub fn allows_all(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns, comma-separated, as messages show them.
    pub fn describe(&self) -> String {
        self.patterns
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks a workspace URL (a `spec.host`, `--host`): its host must match a pattern. The URL
    /// is normalised by the host rules first (with `allow_insecure_http` as the target has it);
    /// one those rules refuse is refused here too. Pure: no DNS lookup.
    pub fn check(&self, url: &str, allow_insecure_http: bool) -> Result<(), HostNotAllowed> {
        if self.allows_all() {
            return Ok(());
        }
        let origin = check_workspace_host(url.trim(), allow_insecure_http).map_err(|source| {
            HostNotAllowed::Unusable {
                source,
                list: self.describe(),
            }
        })?;
        let name = host_of(&origin);
        if self.patterns.iter().any(|p| p.matches(&name)) {
            return Ok(());
        }
        Err(HostNotAllowed::Outside {
            host: crate::host::redact_userinfo(url.trim()),
            name,
            list: self.describe(),
        })
    }
}

/// The host of an origin (`https://adb-1.x.net:8443` → `adb-1.x.net`), lower case, without one
/// trailing dot.
fn host_of(origin: &str) -> String {
    let host = url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    host.strip_suffix('.').map(str::to_string).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> AllowedHosts {
        AllowedHosts::new(patterns.iter().map(|p| p.parse().expect(p)))
    }

    #[test]
    fn a_wildcard_covers_one_or_more_labels_under_its_suffix_and_nothing_else() {
        let l = list(&["*.azuredatabricks.net", "adb-123.4.azuredatabricks.example"]);
        for allowed in [
            "https://adb-1.azuredatabricks.net",
            "https://adb-1.7.azuredatabricks.net",
            "HTTPS://ADB-1.7.AzureDatabricks.NET:443/",
            "https://adb-1.7.azuredatabricks.net.",
            "https://adb-1.7.azuredatabricks.net:8443",
            "https://adb-123.4.azuredatabricks.example",
        ] {
            assert_eq!(l.check(allowed, false), Ok(()), "{allowed}");
        }
        for refused in [
            "https://azuredatabricks.net",
            "https://evilazuredatabricks.net",
            "https://azuredatabricks.net.evil.example",
            "https://adb-1.azuredatabricks.network",
            "https://x.adb-123.4.azuredatabricks.example",
            "https://evil.example",
            "https://10.0.0.1",
        ] {
            let e = l.check(refused, false).expect_err(refused).to_string();
            assert!(e.contains("--allowed-workspace-hosts"), "{e}");
            assert!(e.contains("*.azuredatabricks.net"), "{e}");
        }
    }

    #[test]
    fn the_message_names_the_host_the_list_and_the_flag_and_hides_credentials() {
        let e = list(&["*.cloud.databricks.com"])
            .check("https://evil.example", false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("https://evil.example (host evil.example) is not among"),
            "{e}"
        );
        assert!(e.contains("(*.cloud.databricks.com)"), "{e}");
        let e = list(&["*.cloud.databricks.com"])
            .check("https://me:s3cr3t@evil.example", false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn an_empty_list_allows_every_host() {
        assert_eq!(
            AllowedHosts::default().check("https://anything.example", false),
            Ok(())
        );
    }

    #[test]
    fn a_host_the_host_rules_refuse_is_refused() {
        let l = list(&["*.azuredatabricks.net"]);
        assert!(matches!(
            l.check("http://adb-1.azuredatabricks.net", false),
            Err(HostNotAllowed::Unusable { .. })
        ));
        assert_eq!(l.check("http://adb-1.azuredatabricks.net", true), Ok(()));
    }

    #[test]
    fn patterns_are_host_names_with_at_most_a_leading_wildcard() {
        assert_eq!(
            "*.Cloud.Databricks.com.".parse(),
            Ok(HostPattern::Under("cloud.databricks.com".into()))
        );
        assert_eq!(
            "127.0.0.1".parse(),
            Ok(HostPattern::Exact("127.0.0.1".into()))
        );
        assert_eq!("[::1]".parse(), Ok(HostPattern::Exact("[::1]".into())));
        for (bad, why) in [
            ("", "must name a host"),
            ("*", "must name a host"),
            ("*.", "must name a host"),
            ("*.net", "at least two labels"),
            ("adb-*.azuredatabricks.net", "wildcard only as a leading"),
            ("*.*.azuredatabricks.net", "wildcard only as a leading"),
            ("https://adb-1.azuredatabricks.net", "is not a host name"),
            ("adb-1.azuredatabricks.net:443", "is not a host name"),
            ("adb-1..azuredatabricks.net", "is not a host name"),
            ("adb-1.azuredatabricks.net/x", "is not a host name"),
        ] {
            let e = bad.parse::<HostPattern>().expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn an_address_matches_only_as_written_exactly() {
        let l = list(&["127.0.0.1", "[::1]"]);
        assert_eq!(l.check("http://127.0.0.1:8765", true), Ok(()));
        assert_eq!(l.check("http://[::1]:8765", true), Ok(()));
        assert!(l.check("http://127.0.0.2:8765", true).is_err());
    }
}
