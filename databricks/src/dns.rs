//! The client's DNS resolver: the system resolver (`getaddrinfo`, on tokio's blocking pool) minus
//! every address [`refused_address`] refuses — unspecified, link-local and cloud metadata
//! addresses, and loopback unless the client allows insecure http. A host written as an IP
//! address is never resolved (the connector takes it as is); [`check_workspace_host`] judges
//! those when the client is built. A name is checked again at every connection, so a record that
//! changes to `169.254.169.254` after the client was built is refused too.
//!
//! Private deployments that really reach the workspace through such an address (a proxy on a
//! link-local address, a name that resolves to loopback) list it with
//! [`ClientBuilder::allow_resolved_addresses`](crate::ClientBuilder::allow_resolved_addresses);
//! listed addresses are kept whatever their class.
//!
//! [`check_workspace_host`]: agentrelease_api::host::check_workspace_host

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use agentrelease_api::host::{AddressClass, AddressRange, refused_address};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Looks a name up: the system resolver, or a test's own table.
pub(crate) type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> + Send + Sync,
>;

/// The system resolver.
fn system_lookup() -> Lookup {
    Arc::new(|name: String| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// A name that resolved only to addresses the client does not connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name} resolves only to addresses the client does not connect to: {}; if this workspace is really reached there, allow the addresses explicitly",
    list(.refused)
)]
pub struct RefusedAddresses {
    /// The name looked up.
    pub name: String,
    /// Each address dropped, and why.
    pub refused: Vec<(IpAddr, AddressClass)>,
}

fn list(refused: &[(IpAddr, AddressClass)]) -> String {
    refused
        .iter()
        .map(|(ip, class)| format!("{ip} ({class})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which resolved addresses are kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressPolicy {
    /// Loopback passes (a client for a local simulator).
    pub allow_loopback: bool,
    /// Kept whatever their class.
    pub allowed: Vec<AddressRange>,
}

impl AddressPolicy {
    /// The addresses of `found` a client may connect to, in their order; an error naming the
    /// dropped ones when none is left.
    pub(crate) fn filter(
        &self,
        name: &str,
        found: Vec<IpAddr>,
    ) -> Result<Vec<IpAddr>, RefusedAddresses> {
        let mut kept = Vec::with_capacity(found.len());
        let mut refused = Vec::new();
        for ip in found {
            let listed = self
                .allowed
                .iter()
                .any(|r| r.contains(ip) || r.contains(ip.to_canonical()));
            match refused_address(ip, self.allow_loopback) {
                Some(class) if !listed => {
                    tracing::warn!(name, %ip, %class, "dropping a resolved address");
                    refused.push((ip, class));
                }
                _ => kept.push(ip),
            }
        }
        if kept.is_empty() && !refused.is_empty() {
            return Err(RefusedAddresses {
                name: name.to_string(),
                refused,
            });
        }
        Ok(kept)
    }
}

/// The resolver the client's HTTP stack uses.
pub(crate) struct GuardedResolver {
    lookup: Lookup,
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    /// Resolves with `lookup` (the system resolver when `None`) and keeps what `policy` keeps.
    pub(crate) fn new(policy: AddressPolicy, lookup: Option<Lookup>) -> Self {
        GuardedResolver {
            lookup: lookup.unwrap_or_else(system_lookup),
            policy: Arc::new(policy),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_string();
        let lookup = Arc::clone(&self.lookup);
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let found = lookup(name.clone()).await?;
            let kept = policy.filter(&name, found)?;
            // Port 0 is replaced by the URL's port.
            let addrs: Addrs = Box::new(kept.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The [`RefusedAddresses`] behind a failed request, if that is why it failed.
pub(crate) fn refused_in(e: &reqwest::Error) -> Option<&RefusedAddresses> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<RefusedAddresses>() {
            return Some(r);
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn refused_answers_are_dropped_and_the_rest_kept_in_order() {
        let policy = AddressPolicy::default();
        assert_eq!(
            policy.filter(
                "adb-1.azuredatabricks.net",
                ips(&["169.254.169.254", "10.0.0.7", "fe80::1", "2001:db8::7"])
            ),
            Ok(ips(&["10.0.0.7", "2001:db8::7"]))
        );
        let e = policy
            .filter(
                "evil.example",
                ips(&["169.254.169.254", "::ffff:169.254.169.254", "127.0.0.1"]),
            )
            .expect_err("nothing left");
        assert_eq!(
            e.refused.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            vec![
                AddressClass::CloudMetadata,
                AddressClass::CloudMetadata,
                AddressClass::Loopback
            ]
        );
        assert!(
            e.to_string()
                .contains("169.254.169.254 (a cloud metadata service address)"),
            "{e}"
        );
    }

    #[test]
    fn azure_wireserver_answers_are_dropped() {
        let policy = AddressPolicy {
            allow_loopback: true,
            ..AddressPolicy::default()
        };
        let e = policy
            .filter(
                "app.example",
                ips(&["168.63.129.16", "::ffff:168.63.129.16"]),
            )
            .expect_err("nothing left");
        assert!(
            e.refused
                .iter()
                .all(|(_, c)| *c == AddressClass::CloudMetadata),
            "{e}"
        );
        assert_eq!(
            policy.filter("app.example", ips(&["168.63.129.16", "10.0.0.9"])),
            Ok(ips(&["10.0.0.9"]))
        );
    }

    #[test]
    fn loopback_passes_for_a_simulator_client() {
        let policy = AddressPolicy {
            allow_loopback: true,
            ..AddressPolicy::default()
        };
        assert_eq!(
            policy.filter("localhost", ips(&["127.0.0.1", "::1"])),
            Ok(ips(&["127.0.0.1", "::1"]))
        );
        assert!(policy.filter("x", ips(&["169.254.1.1"])).is_err());
    }

    #[test]
    fn listed_addresses_are_kept_whatever_their_class() {
        let policy = AddressPolicy {
            allow_loopback: false,
            allowed: vec!["169.254.10.0/24".parse().unwrap()],
        };
        assert_eq!(
            policy.filter(
                "proxy.internal",
                ips(&["169.254.10.5", "::ffff:169.254.10.6", "169.254.169.254"])
            ),
            Ok(ips(&["169.254.10.5", "::ffff:169.254.10.6"]))
        );
    }
}
