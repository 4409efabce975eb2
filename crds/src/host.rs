//! Which workspace URLs a ReleaseTarget's `spec.host` may name, and which addresses a client may
//! connect to. One policy with three users: the CRD's CEL rules (written from the tables here,
//! as far as CEL can express them), `agentrelease validate` and the Databricks client builder
//! (both call [`check_workspace_host`]); the client's DNS resolver drops every answer
//! [`refused_address`] refuses.
//!
//! A workspace host is `https://<name>[:port]` and nothing else:
//! - no user name or password: they would be printed and stored in conditions (messages here
//!   show them as `***`, see [`redact_userinfo`]);
//! - no query or fragment: `https://elsewhere.example#` turns every API path into a fragment,
//!   so each request (and its credentials) goes to `elsewhere.example`; no path either;
//! - `http://` and loopback hosts (`127.0.0.0/8`, `::1`, `localhost`) only with
//!   `allowInsecureHttp`, for a local simulator;
//! - never an unspecified, link-local or cloud-metadata address (`168.63.129.16`, Azure's
//!   WireServer, included), however it is written: IPv4 in
//!   every notation the URL standard (and so every browser and the `url` crate) accepts
//!   (`2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`, `169.254.43518`), IPv6 including the
//!   IPv4-mapped (`::ffff:169.254.169.254`), IPv4-compatible and NAT64 (`64:ff9b::/96`) forms;
//!   nor the metadata service names `metadata.google.internal` and `metadata`;
//! - an IPv4 address is written as four decimal numbers, an IPv6 address without an embedded
//!   IPv4-mapped address, and the whole host in printable ASCII (an internationalised name in
//!   its `xn--` form), so what the API server's CEL sees is what the client connects to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `0.0.0.0/8` and `::`: connecting to them reaches the local machine.
    Unspecified,
    /// `127.0.0.0/8` and `::1`: allowed only with `allowInsecureHttp` (a local simulator).
    Loopback,
    /// `169.254.0.0/16` and `fe80::/10`, where cloud metadata services answer.
    LinkLocal,
    /// A cloud metadata service: `169.254.169.254` (AWS, Azure, GCP, OCI), `169.254.170.2` (AWS
    /// ECS task metadata), `fd00:ec2::254` (AWS over IPv6), `100.100.100.200` (Alibaba Cloud),
    /// `168.63.129.16` (Azure's WireServer and host metadata: a public address that answers
    /// only inside Azure).
    CloudMetadata,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Unspecified => "an unspecified address (it reaches the local machine)",
            AddressClass::Loopback => {
                "a loopback address (allowed only with allowInsecureHttp, for a local simulator)"
            }
            AddressClass::LinkLocal => {
                "a link-local address (where cloud metadata services answer)"
            }
            AddressClass::CloudMetadata => "a cloud metadata service address",
        })
    }
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `fd00::/8`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

/// Why a text is not an [`AddressRange`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// The address part is not an IP address.
    #[error("{text:?} is not an IP address or CIDR range (such as 10.0.0.0/8 or fd00::/8)")]
    Address {
        /// The text as given.
        text: String,
    },
    /// The prefix length is not a number within the address family's width.
    #[error("{text:?}: the prefix length must be a number from 0 to {max}")]
    Prefix {
        /// The text as given.
        text: String,
        /// 32 or 128.
        max: u8,
    },
}

impl AddressRange {
    const fn v4(octets: [u8; 4], prefix: u8) -> Self {
        AddressRange {
            network: IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3])),
            prefix,
        }
    }

    const fn v6(s: [u16; 8], prefix: u8) -> Self {
        AddressRange {
            network: IpAddr::V6(Ipv6Addr::new(
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
            )),
            prefix,
        }
    }

    /// The range of `prefix` leading bits of `address` (the other bits are cleared).
    pub fn new(address: IpAddr, prefix: u8) -> Result<Self, RangeError> {
        let max = width(address);
        if prefix > max {
            return Err(RangeError::Prefix {
                text: format!("{address}/{prefix}"),
                max,
            });
        }
        let network = match address {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(prefix))),
        };
        Ok(AddressRange { network, prefix })
    }

    /// The first address of the range.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in the range. Families never mix: an IPv4-mapped IPv6 address is not
    /// in an IPv4 range (callers unwrap it first, as [`address_class`] does).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                u32::from(a) & mask32(self.prefix) == u32::from(n) & mask32(self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                u128::from(a) & mask128(self.prefix) == u128::from(n) & mask128(self.prefix)
            }
            _ => false,
        }
    }
}

fn width(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for AddressRange {
    type Err = RangeError;

    /// `10.0.0.0/8`, `fd00::/8`, or one address (`169.254.10.1`, a `/32` or `/128`).
    fn from_str(text: &str) -> Result<Self, RangeError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| RangeError::Address {
            text: text.to_string(),
        })?;
        let max = width(address);
        let prefix =
            match prefix {
                None => max,
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                    RangeError::Prefix {
                        text: text.to_string(),
                        max,
                    }
                })?,
            };
        AddressRange::new(address, prefix)
    }
}

/// Every refused range and why, most specific first (a metadata address before its link-local
/// network). Loopback is in the table; [`refused_address`] lets it pass when asked to.
const REFUSED: [(AddressRange, AddressClass); 11] = [
    (
        AddressRange::v4([169, 254, 169, 254], 32),
        AddressClass::CloudMetadata,
    ),
    (
        AddressRange::v4([169, 254, 170, 2], 32),
        AddressClass::CloudMetadata,
    ),
    (
        AddressRange::v4([100, 100, 100, 200], 32),
        AddressClass::CloudMetadata,
    ),
    (
        AddressRange::v4([168, 63, 129, 16], 32),
        AddressClass::CloudMetadata,
    ),
    (
        AddressRange::v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128),
        AddressClass::CloudMetadata,
    ),
    (AddressRange::v4([0, 0, 0, 0], 8), AddressClass::Unspecified),
    (
        AddressRange::v6([0, 0, 0, 0, 0, 0, 0, 0], 128),
        AddressClass::Unspecified,
    ),
    (
        AddressRange::v4([169, 254, 0, 0], 16),
        AddressClass::LinkLocal,
    ),
    (
        AddressRange::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        AddressClass::LinkLocal,
    ),
    (AddressRange::v4([127, 0, 0, 0], 8), AddressClass::Loopback),
    (
        AddressRange::v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        AddressClass::Loopback,
    ),
];

/// The refused ranges and why each is refused.
pub fn refused_ranges() -> &'static [(AddressRange, AddressClass)] {
    &REFUSED
}

/// The IPv6 prefixes (`/96`) that carry an IPv4 address in their last 32 bits and reach it:
/// IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible (`::/96`, deprecated) and NAT64's well-known
/// prefix (`64:ff9b::/96`).
const MAPPED: Ipv6Addr = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0);
const COMPATIBLE: Ipv6Addr = Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0);
const NAT64: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0);

/// The IPv4 address an IPv6 address reaches through one of the embeddings above. An
/// IPv4-compatible address whose IPv4 part lies in `0.0.0.0/8` (`::`, `::1` and their
/// neighbours) is taken as plain IPv6.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(v6);
    let v4 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let upper = bits & !0xffff_ffff;
    let reaches_ipv4 = upper == u128::from(MAPPED)
        || upper == u128::from(NAT64)
        || (upper == u128::from(COMPATIBLE) && v4.octets()[0] != 0);
    reaches_ipv4.then_some(v4)
}

/// Why `ip` is refused (loopback included), judged on the IPv4 address it reaches when it is an
/// IPv4-mapped, -compatible or NAT64 IPv6 address; `None` for an ordinary address.
pub fn address_class(ip: IpAddr) -> Option<AddressClass> {
    let direct = |ip: IpAddr| {
        REFUSED
            .iter()
            .find(|(range, _)| range.contains(ip))
            .map(|(_, class)| *class)
    };
    direct(ip).or_else(|| match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).and_then(|v4| direct(IpAddr::V4(v4))),
        IpAddr::V4(_) => None,
    })
}

/// Why a client must not connect to `ip`, or `None` when it may. Loopback passes only when
/// `allow_loopback` (a client built for a local simulator).
pub fn refused_address(ip: IpAddr, allow_loopback: bool) -> Option<AddressClass> {
    address_class(ip).filter(|class| !(allow_loopback && *class == AddressClass::Loopback))
}

/// Host names of cloud metadata services (GCP's; `metadata` is what its search domain makes of
/// the short name). Refused in any case, with or without a trailing dot.
pub const METADATA_HOST_NAMES: [&str; 2] = ["metadata.google.internal", "metadata"];

/// Why a text is not a usable workspace host. Every message shows the host with any user name
/// and password replaced by `***`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// A character outside printable ASCII (a space, a control or non-ASCII character).
    #[error(
        "{host}: a workspace host is printable ASCII without spaces (write an internationalised name in its xn-- form)"
    )]
    NotAscii {
        /// The host, redacted.
        host: String,
    },
    /// A user name or password (`user:password@host`).
    #[error(
        "{host}: a workspace host carries no user name or password; credentials belong in the ReleaseTarget's Secret"
    )]
    UserInfo {
        /// The host, redacted.
        host: String,
    },
    /// A query (`?`) or fragment (`#`).
    #[error(
        "{host}: a workspace host has no query (?) or fragment (#); either would send the API's requests to what precedes it"
    )]
    QueryOrFragment {
        /// The host, redacted.
        host: String,
    },
    /// Not a URL.
    #[error("{host} is not a URL: {reason}")]
    NotAUrl {
        /// The host, redacted.
        host: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A scheme other than `https` (and `http`).
    #[error("{host}: unsupported scheme {scheme}; a workspace host is an https:// URL")]
    Scheme {
        /// The host, redacted.
        host: String,
        /// The scheme.
        scheme: String,
    },
    /// `http://` without `allowInsecureHttp`.
    #[error("{host}: plain http is refused; set allowInsecureHttp only for a local simulator")]
    InsecureHttp {
        /// The host, redacted.
        host: String,
    },
    /// More than scheme, host and port (a path, a percent-escape, a backslash, no host).
    #[error(
        "{host} is not a bare workspace URL: give scheme and host (and port), no path, e.g. https://adb-1234567890123456.7.azuredatabricks.net"
    )]
    NotBare {
        /// The host, redacted.
        host: String,
    },
    /// An address (however written) a client must not connect to.
    #[error("{host} is {address}, {class}")]
    Address {
        /// The host, redacted.
        host: String,
        /// The address it names (the IPv4 address of an IPv4-mapped one).
        address: IpAddr,
        /// Why it is refused.
        class: AddressClass,
    },
    /// An IPv4 address in a notation other than four decimal numbers.
    #[error(
        "{host} is {address} written another way; write an IPv4 address as four decimal numbers"
    )]
    Ipv4Notation {
        /// The host, redacted.
        host: String,
        /// The address it names.
        address: Ipv4Addr,
    },
    /// An IPv4-mapped IPv6 address.
    #[error("{host} is an IPv4-mapped IPv6 address; write the IPv4 address {address} instead")]
    MappedIpv6 {
        /// The host, redacted.
        host: String,
        /// The IPv4 address inside.
        address: Ipv4Addr,
    },
    /// The name of a cloud metadata service.
    #[error("{host} names {name}, a cloud metadata service")]
    MetadataName {
        /// The host, redacted.
        host: String,
        /// The name.
        name: String,
    },
    /// `localhost` or a name under it, without `allowInsecureHttp`.
    #[error(
        "{host} names {name}, the local machine (allowed only with allowInsecureHttp, for a local simulator)"
    )]
    LoopbackName {
        /// The host, redacted.
        host: String,
        /// The name.
        name: String,
    },
}

/// `text` with any user name and password replaced by `***`: everything between `://` (or the
/// start) and the last `@`. A workspace host never contains `@` otherwise, so this errs on the
/// side of hiding too much (`https://user:pa/ss@host` shows as `https://***@host`).
pub fn redact_userinfo(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_string();
    };
    let start = text
        .find("://")
        .map(|i| i + 3)
        .filter(|s| *s <= at)
        .unwrap_or(0);
    format!("{}***@{}", &text[..start], &text[at + 1..])
}

/// Checks a workspace URL against the rules of this module and returns its origin: scheme, host
/// in lower case and port (left out when it is the scheme's default), no trailing slash, e.g.
/// `https://adb-1.7.azuredatabricks.net`. The text is taken as written: no scheme is assumed and
/// no whitespace trimmed. `allow_insecure_http` lets `http://` and loopback hosts pass.
pub fn check_workspace_host(text: &str, allow_insecure_http: bool) -> Result<String, HostError> {
    let host = redact_userinfo(text);
    if !text.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(HostError::NotAscii { host });
    }
    if text.contains('@') {
        return Err(HostError::UserInfo { host });
    }
    if text.contains('?') || text.contains('#') {
        return Err(HostError::QueryOrFragment { host });
    }
    let url = url::Url::parse(text).map_err(|e| HostError::NotAUrl {
        host: host.clone(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http => {}
        "http" => return Err(HostError::InsecureHttp { host }),
        other => {
            return Err(HostError::Scheme {
                scheme: other.to_string(),
                host,
            });
        }
    }
    // What follows `scheme://`, as written: the URL parser would quietly drop `/.`, decode `%2e`
    // or read `\` as `/`, where the API server's CEL refuses them.
    let rest = text.split_once("://").map_or("", |(_, rest)| rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() || authority.contains(['%', '\\']) || !matches!(path, "" | "/") {
        return Err(HostError::NotBare { host });
    }
    let written = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(name, _port)| name),
    }
    .to_ascii_lowercase();
    match url.host() {
        None => return Err(HostError::NotBare { host }),
        Some(url::Host::Ipv4(v4)) => {
            if let Some(class) = refused_address(IpAddr::V4(v4), allow_insecure_http) {
                return Err(HostError::Address {
                    host,
                    address: IpAddr::V4(v4),
                    class,
                });
            }
            if written != v4.to_string() {
                return Err(HostError::Ipv4Notation { host, address: v4 });
            }
        }
        Some(url::Host::Ipv6(v6)) => {
            let mapped = v6.to_ipv4_mapped();
            if let Some(class) = refused_address(IpAddr::V6(v6), allow_insecure_http) {
                return Err(HostError::Address {
                    host,
                    address: mapped.map_or(IpAddr::V6(v6), IpAddr::V4),
                    class,
                });
            }
            if let Some(address) = mapped {
                return Err(HostError::MappedIpv6 { host, address });
            }
        }
        Some(url::Host::Domain(name)) => {
            let bare = name.strip_suffix('.').unwrap_or(name);
            if METADATA_HOST_NAMES.contains(&bare) {
                return Err(HostError::MetadataName {
                    name: bare.to_string(),
                    host,
                });
            }
            if !allow_insecure_http && (bare == "localhost" || bare.ends_with(".localhost")) {
                return Err(HostError::LoopbackName {
                    name: bare.to_string(),
                    host,
                });
            }
        }
    }
    Ok(url.origin().ascii_serialization())
}

/// The CEL rules of `spec.host` that mirror [`check_workspace_host`], each with its message.
/// CEL sees the host as the API server's URL parser does (Go's, which does not rewrite numeric
/// IPv4 notations), so the rules refuse every notation other than the canonical one.
pub mod cel {
    /// Printable ASCII, no spaces.
    pub fn printable_ascii() -> String {
        crate::rules::self_matches("^[!-~]*$")
    }

    /// No user name or password.
    pub const NO_USERINFO: &str = "!self.contains('@')";

    /// No query, no fragment.
    pub const NO_QUERY_OR_FRAGMENT: &str = "!self.contains('?') && !self.contains('#')";

    /// Scheme, host and port only.
    pub const BARE: &str = "!self.contains('%') && !self.contains('\\\\') && isURL(self) && url(self).getHostname() != '' && url(self).getEscapedPath() in ['', '/'] && url(self).getQuery().size() == 0";

    /// The literal forms of refused hosts, matched on the URL itself. The API server bounds a
    /// rule's cost by the length of the strings it walks, and it cannot bound the host name
    /// that `url()` returns: so these rules read `self` (at most 512 bytes), and cover the
    /// notations people write. [`check_workspace_host`] (in `validate`, the client and the
    /// controller) refuses every other notation before any request is sent.
    const HOST_START: &str = r"^[a-z][a-z0-9+.-]*://";

    /// Link-local and cloud metadata addresses and names, and numeric hosts not written as four
    /// decimal numbers (`2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`, `169.254.43518`).
    pub fn refused_literals() -> String {
        let forms = [
            r"169\.254\.[0-9.]*",
            r"100\.100\.100\.200\.?",
            r"168\.63\.129\.16\.?",
            r"0\.[0-9.]*",
            r"\[(fe[89ab][0-9a-f]*:|::ffff:|::[0-9a-f]*[.:]|64:ff9b:|fd00:ec2:|::\])[^\]]*\]?",
            r"metadata(\.google\.internal)?\.?",
            r"0x[0-9a-f]*\.?",
            r"[0-9]+\.?",
            r"[0-9]+\.[0-9]+\.?",
            r"[0-9]+\.[0-9]+\.[0-9]+\.?",
            r"([0-9]+\.)*0[0-9]+(\.[0-9]+)*\.?",
        ]
        .join("|");
        let pattern = format!("{HOST_START}({forms})(:[0-9]+)?/?$");
        format!(
            "!self.lowerAscii().matches({})",
            crate::rules::cel_str(&pattern)
        )
    }

    /// The regular expression of [`refused_literals`], as the API server runs it (for tests).
    #[cfg(test)]
    pub(crate) fn refused_pattern() -> String {
        let rule = refused_literals();
        let start = rule.find('\'').map(|i| i + 1).unwrap_or(0);
        let end = rule.rfind('\'').unwrap_or(rule.len());
        rule[start..end].replace("\\\\", "\\")
    }

    /// On the spec: no loopback address or `localhost` name without `allowInsecureHttp`.
    pub fn loopback_needs_insecure_http() -> String {
        let pattern = format!(
            r"{HOST_START}(127\.[0-9.]*|\[(0*:)*0*1\]|\[::ffff:127\.[^\]]*\]|([^/:]*\.)?localhost\.?)(:[0-9]+)?/?$"
        );
        format!(
            "self.allowInsecureHttp || !self.host.lowerAscii().matches({})",
            crate::rules::cel_str(&pattern)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> HostError {
        match check_workspace_host(text, false) {
            Err(e) => e,
            Ok(origin) => panic!("{text} was accepted as {origin}"),
        }
    }

    #[test]
    fn workspace_urls_pass_as_their_origin() {
        for (text, origin) in [
            (
                "https://adb-1234567890123456.7.azuredatabricks.net",
                "https://adb-1234567890123456.7.azuredatabricks.net",
            ),
            (
                "https://ADB-1.7.AzureDatabricks.net:443/",
                "https://adb-1.7.azuredatabricks.net",
            ),
            (
                "https://dbc-1a2b.cloud.databricks.com:8443",
                "https://dbc-1a2b.cloud.databricks.com:8443",
            ),
            ("https://10.1.2.3", "https://10.1.2.3"),
            ("https://[2001:db8::1]", "https://[2001:db8::1]"),
            ("https://[64:ff9b::a01:203]", "https://[64:ff9b::a01:203]"),
        ] {
            assert_eq!(
                check_workspace_host(text, false).as_deref(),
                Ok(origin),
                "{text}"
            );
        }
    }

    #[test]
    fn http_and_loopback_need_allow_insecure_http() {
        for text in [
            "http://adb-1.7.azuredatabricks.net",
            "http://127.0.0.1:8765",
        ] {
            assert!(
                matches!(refused(text), HostError::InsecureHttp { .. }),
                "{text}"
            );
        }
        for text in [
            "https://127.0.0.1",
            "https://127.1.2.3:8443",
            "https://[::1]",
            "https://[::ffff:127.0.0.1]",
            "https://localhost:8443",
            "https://api.localhost.",
        ] {
            let e = refused(text);
            assert!(
                matches!(
                    e,
                    HostError::Address {
                        class: AddressClass::Loopback,
                        ..
                    } | HostError::LoopbackName { .. }
                ),
                "{text}: {e}"
            );
            assert!(e.to_string().contains("allowInsecureHttp"), "{e}");
        }
        for (text, origin) in [
            ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
            ("http://[::1]:8765/", "http://[::1]:8765"),
            ("http://localhost:8765", "http://localhost:8765"),
        ] {
            assert_eq!(
                check_workspace_host(text, true).as_deref(),
                Ok(origin),
                "{text}"
            );
        }
    }

    #[test]
    fn link_local_and_metadata_addresses_are_refused_in_every_ipv4_notation() {
        for text in [
            "https://169.254.169.254",
            "https://169.254.169.254.",
            "https://2852039166",
            "https://0xa9fea9fe",
            "https://0XA9FEA9FE:443",
            "https://0251.0376.0251.0376",
            "https://0xa9.0xfe.0xa9.0xfe",
            "https://169.254.43518",
            "https://169.16689662",
            "https://0251.254.169.254",
        ] {
            let e = refused(text);
            assert_eq!(
                e,
                HostError::Address {
                    host: text.to_string(),
                    address: IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
                    class: AddressClass::CloudMetadata,
                },
                "{text}"
            );
            assert!(
                e.to_string()
                    .contains("is 169.254.169.254, a cloud metadata"),
                "{e}"
            );
        }
        assert!(matches!(
            refused("https://169.254.1.1"),
            HostError::Address {
                class: AddressClass::LinkLocal,
                ..
            }
        ));
        assert!(matches!(
            refused("https://100.100.100.200"),
            HostError::Address {
                class: AddressClass::CloudMetadata,
                ..
            }
        ));
        // Azure's WireServer (host metadata, agent channel), in the notations people write.
        for text in [
            "https://168.63.129.16",
            "https://168.63.129.16.:443/",
            "https://2822734096",
            "https://0xa83f8110",
            "https://0250.077.0201.020",
            "https://[::ffff:168.63.129.16]",
            "https://[::ffff:a83f:8110]",
        ] {
            match refused(text) {
                HostError::Address { address, class, .. } => {
                    assert_eq!(class, AddressClass::CloudMetadata, "{text}");
                    assert_eq!(
                        address,
                        IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
                        "{text}"
                    );
                }
                other => panic!("{text}: {other}"),
            }
        }
        assert!(matches!(
            refused("https://[64:ff9b::a83f:8110]"),
            HostError::Address {
                class: AddressClass::CloudMetadata,
                ..
            }
        ));
        for text in [
            "https://0.0.0.0",
            "https://0",
            "https://0x0",
            "https://0.1.2.3",
        ] {
            assert!(
                matches!(
                    refused(text),
                    HostError::Address {
                        class: AddressClass::Unspecified,
                        ..
                    }
                ),
                "{text}"
            );
        }
        // An address that would pass, written another way, is refused for its notation: the
        // API server's CEL cannot read such a notation.
        assert_eq!(
            refused("https://0x0a010203"),
            HostError::Ipv4Notation {
                host: "https://0x0a010203".into(),
                address: Ipv4Addr::new(10, 1, 2, 3),
            }
        );
        assert!(matches!(
            refused("https://010.1.2.3"),
            HostError::Ipv4Notation { .. }
        ));
    }

    #[test]
    fn link_local_and_metadata_addresses_are_refused_in_every_ipv6_form() {
        for (text, class) in [
            (
                "https://[::ffff:169.254.169.254]",
                AddressClass::CloudMetadata,
            ),
            ("https://[::ffff:a9fe:a9fe]", AddressClass::CloudMetadata),
            (
                "https://[0:0:0:0:0:ffff:a9fe:a9fe]:443",
                AddressClass::CloudMetadata,
            ),
            ("https://[::169.254.169.254]", AddressClass::CloudMetadata),
            (
                "https://[64:ff9b::169.254.169.254]",
                AddressClass::CloudMetadata,
            ),
            ("https://[fd00:ec2::254]", AddressClass::CloudMetadata),
            ("https://[fe80::1]", AddressClass::LinkLocal),
            ("https://[febf:ffff::1]", AddressClass::LinkLocal),
            ("https://[::ffff:169.254.1.1]", AddressClass::LinkLocal),
            ("https://[::]", AddressClass::Unspecified),
            ("https://[::ffff:0.0.0.0]", AddressClass::Unspecified),
        ] {
            match refused(text) {
                HostError::Address { class: c, .. } => assert_eq!(c, class, "{text}"),
                other => panic!("{text}: {other}"),
            }
        }
        assert_eq!(
            refused("https://[::ffff:10.1.2.3]"),
            HostError::MappedIpv6 {
                host: "https://[::ffff:10.1.2.3]".into(),
                address: Ipv4Addr::new(10, 1, 2, 3),
            }
        );
        assert!(matches!(
            refused("https://[fe80::1%25eth0]"),
            HostError::NotBare { .. } | HostError::NotAUrl { .. }
        ));
    }

    /// The API server sees hosts as written (kube's client-side CEL rewrites numeric IPv4
    /// notations first), so the literal rule is checked on the URLs themselves.
    #[test]
    fn the_literal_rule_refuses_the_notations_people_write() {
        let refused = regex::Regex::new(&cel::refused_pattern()).unwrap();
        for url in [
            "https://2852039166",
            "https://0xa9fea9fe",
            "https://0251.0376.0251.0376",
            "https://169.254.43518",
            "https://169.254.169.254.",
            "https://169.254.169.254:443/",
            "https://010.1.2.3",
            "https://[fe80::1]",
            "https://[::ffff:169.254.169.254]",
            "https://[::169.254.169.254]",
            "https://[64:ff9b::a9fe:a9fe]",
            "https://[fd00:ec2::254]",
            "https://100.100.100.200",
            "https://168.63.129.16",
            "https://168.63.129.16.:80",
            "https://2822734096",
            "https://[::ffff:168.63.129.16]",
            "https://0.0.0.0",
            "https://[::]",
            "https://metadata.google.internal.",
            "https://metadata",
        ] {
            assert!(refused.is_match(url), "{url}");
        }
        for url in [
            "https://adb-1.7.azuredatabricks.net",
            "https://1e100.net",
            "https://10.20.30.40",
            "https://[2001:db8::10]",
            "https://metadata.example.com",
            "https://1234567890123456.7.gcp.databricks.com:443/",
        ] {
            assert!(!refused.is_match(url), "{url}");
        }
    }

    #[test]
    fn metadata_service_names_are_refused() {
        for text in [
            "https://metadata.google.internal",
            "https://METADATA.Google.Internal.",
            "https://metadata",
            "https://metadata:443",
        ] {
            assert!(
                matches!(refused(text), HostError::MetadataName { .. }),
                "{text}"
            );
        }
        for text in [
            // Full-width letters that a URL parser folds into `metadata`.
            "https://\u{ff4d}etadata.google.internal",
            "https://adb-1 .azuredatabricks.net",
        ] {
            assert!(
                matches!(refused(text), HostError::NotAscii { .. }),
                "{text}"
            );
        }
        assert!(check_workspace_host("https://metadata.example.com", false).is_ok());
    }

    #[test]
    fn userinfo_is_refused_and_never_shown() {
        for text in [
            "https://alice:s3cr3t@adb-1.azuredatabricks.net",
            "https://s3cr3t@adb-1.azuredatabricks.net",
            "https://alice:s3/cr3t@adb-1.azuredatabricks.net",
            "https://@adb-1.azuredatabricks.net",
            "https://adb-1.azuredatabricks.net@evil.example",
        ] {
            let e = refused(text);
            assert!(matches!(e, HostError::UserInfo { .. }), "{text}: {e}");
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("s3"), "{shown}");
            assert!(!shown.contains("alice"), "{shown}");
        }
        assert_eq!(
            redact_userinfo("https://user:pw@adb-1"),
            "https://***@adb-1"
        );
        assert_eq!(redact_userinfo("user:pw@adb-1"), "***@adb-1");
        assert_eq!(redact_userinfo("https://adb-1"), "https://adb-1");
        // Whatever else is wrong, the message hides the secret.
        let e = refused("https://user:s3cr3t@adb-1.azuredatabricks.net/api#x");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn anything_but_scheme_host_and_port_is_refused() {
        for text in [
            "https://evil.example#.azuredatabricks.net",
            "https://evil.example#",
            "https://adb-1.azuredatabricks.net?o=1",
            "https://evil.example?",
        ] {
            assert!(
                matches!(refused(text), HostError::QueryOrFragment { .. }),
                "{text}"
            );
        }
        for text in [
            "https://adb-1.azuredatabricks.net/api/2.0",
            "https://adb-1.azuredatabricks.net//",
            "https://adb-1.azuredatabricks.net/.",
            "https://adb-1.azuredatabricks.net/%2e",
            "https://adb-1.azuredatabricks.net\\",
            "https://%31%36%39.254.169.254",
            "https:///adb-1",
        ] {
            assert!(matches!(refused(text), HostError::NotBare { .. }), "{text}");
        }
        assert!(matches!(
            refused("adb-1.azuredatabricks.net"),
            HostError::NotAUrl { .. }
        ));
        assert!(matches!(
            refused("ftp://adb-1.azuredatabricks.net"),
            HostError::Scheme { .. }
        ));
    }

    #[test]
    fn ranges_parse_print_and_contain() {
        let r: AddressRange = "169.254.10.7/24".parse().unwrap();
        assert_eq!(r.to_string(), "169.254.10.0/24");
        assert!(r.contains("169.254.10.200".parse().unwrap()));
        assert!(!r.contains("169.254.11.1".parse().unwrap()));
        assert!(!r.contains("::ffff:169.254.10.1".parse().unwrap()));
        let one: AddressRange = "fd00:ec2::254".parse().unwrap();
        assert_eq!(one.prefix(), 128);
        assert!(
            "0.0.0.0/0"
                .parse::<AddressRange>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(matches!(
            "10.0.0.0/33".parse::<AddressRange>(),
            Err(RangeError::Prefix { max: 32, .. })
        ));
        assert!(matches!(
            "metadata/32".parse::<AddressRange>(),
            Err(RangeError::Address { .. })
        ));
    }

    #[test]
    fn resolved_addresses_are_judged_like_written_ones() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            refused_address(ip("169.254.169.254"), true),
            Some(AddressClass::CloudMetadata)
        );
        assert_eq!(refused_address(ip("127.0.0.1"), true), None);
        assert_eq!(
            refused_address(ip("127.0.0.1"), false),
            Some(AddressClass::Loopback)
        );
        assert_eq!(refused_address(ip("::1"), true), None);
        assert_eq!(
            refused_address(ip("168.63.129.16"), true),
            Some(AddressClass::CloudMetadata)
        );
        assert_eq!(refused_address(ip("168.63.129.17"), false), None);
        assert_eq!(refused_address(ip("10.0.0.1"), false), None);
        assert_eq!(refused_address(ip("2001:db8::1"), false), None);
        assert_eq!(
            refused_address(ip("::ffff:169.254.169.254"), false),
            Some(AddressClass::CloudMetadata)
        );
    }
}
