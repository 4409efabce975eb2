//! Workload identity federation: the request the Databricks SDKs send to trade an OIDC token (a
//! Kubernetes ServiceAccount token, a CI job's OIDC token) for a workspace token — an RFC 8693
//! token exchange at the workspace's token endpoint (`/oidc/v1/token`, found by the same OIDC
//! discovery, and checked by the same rules, as OAuth machine-to-machine):
//!
//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`,
//! `subject_token=<the JWT>`, `subject_token_type=urn:ietf:params:oauth:token-type:jwt`,
//! `scope=all-apis`, and `client_id=<application id>` for a service principal's federation policy
//! (left out for account-wide federation). No client secret and no Basic header.
//!
//! Where the JWT comes from is the caller's choice, a [`SubjectToken`]: the controller mints one
//! per exchange for the target's own ServiceAccount (the TokenRequest API), the one-shot CLI reads
//! the file its user names ([`TokenFile`]: read at every exchange, regular files only, at most
//! [`MAX_TOKEN_BYTES`]). The client itself never decides to read a file.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretString;

/// The RFC 8693 grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type of an OIDC JWT.
pub const SUBJECT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The largest token file read (a JWT is a few KiB).
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// Where the subject tokens of one client's exchanges come from.
pub trait SubjectTokenSource: Send + Sync {
    /// A token for one exchange (asked for each time the workspace token is renewed). A failure
    /// is an error of the client's kinds (`Unauthenticated` when no token can be had,
    /// `Transient` when asking again may help) and its message never carries a token.
    fn subject_token<'a>(&'a self, route: &'a str) -> BoxFuture<'a, Result<SecretString>>;

    /// Whom the tokens speak for, for messages, `Debug` and cache keys (never a token): two
    /// sources with the same identity are the same credentials.
    fn identity(&self) -> String;
}

/// A shared [`SubjectTokenSource`]: clones of a client's credentials ask the same source.
#[derive(Clone)]
pub struct SubjectToken(Arc<dyn SubjectTokenSource>);

impl SubjectToken {
    /// Wraps a source.
    pub fn new(source: impl SubjectTokenSource + 'static) -> Self {
        SubjectToken(Arc::new(source))
    }

    /// The token in a file the process owner named ([`TokenFile`]).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SubjectToken::new(TokenFile { path: path.into() })
    }

    /// A token for one exchange.
    pub async fn fetch(&self, route: &str) -> Result<SecretString> {
        self.0.subject_token(route).await
    }

    /// Whom the tokens speak for (see [`SubjectTokenSource::identity`]).
    pub fn identity(&self) -> String {
        self.0.identity()
    }
}

impl PartialEq for SubjectToken {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.identity() == other.identity()
    }
}

impl Eq for SubjectToken {}

impl fmt::Debug for SubjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SubjectToken")
            .field(&self.identity())
            .finish()
    }
}

/// The OIDC token in a file, read again at every exchange (a CI job's token, a projected token
/// the process owner mounted): for the one-shot CLI, whose user names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFile {
    /// The file.
    pub path: PathBuf,
}

impl SubjectTokenSource for TokenFile {
    fn subject_token<'a>(&'a self, route: &'a str) -> BoxFuture<'a, Result<SecretString>> {
        Box::pin(async move { read_subject_token(&self.path, route) })
    }

    fn identity(&self) -> String {
        format!("the OIDC token file {}", self.path.display())
    }
}

/// The form body of the exchange.
pub fn exchange_form(client_id: Option<&str>, subject_token: &SecretString) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", GRANT_TYPE)
        .append_pair("subject_token", subject_token.expose())
        .append_pair("subject_token_type", SUBJECT_TOKEN_TYPE)
        .append_pair("scope", "all-apis");
    if let Some(id) = client_id {
        form.append_pair("client_id", id);
    }
    form.finish()
}

/// The OIDC token in `path`, trimmed: a regular file of at most [`MAX_TOKEN_BYTES`], not empty.
/// Failures are `Unauthenticated` and name the file (never its content).
pub fn read_subject_token(path: &Path, route: &str) -> Result<SecretString> {
    let fail = |why: String| {
        Error::local(
            ErrorKind::Unauthenticated,
            route,
            format!("the OIDC token file {}: {why}", path.display()),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut text = String::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > MAX_TOKEN_BYTES {
        return Err(fail(format!("larger than {} KiB", MAX_TOKEN_BYTES / 1024)));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(fail("empty".into()));
    }
    Ok(SecretString::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_the_sdks_token_exchange() {
        let form = exchange_form(Some("app-1"), &SecretString::new("a.b+c"));
        assert_eq!(
            form,
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=a.b%2Bc&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&scope=all-apis&client_id=app-1"
        );
        assert!(!exchange_form(None, &SecretString::new("t")).contains("client_id"));
    }

    #[test]
    fn the_token_file_must_be_a_small_regular_non_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  jwt.value.sig\n").unwrap();
        assert_eq!(
            read_subject_token(&file, "r").unwrap().expose(),
            "jwt.value.sig"
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(
            read_subject_token(&file, "r")
                .unwrap_err()
                .message
                .contains("empty")
        );
        let e = read_subject_token(dir.path(), "r").unwrap_err();
        assert!(e.message.contains("not a regular file"), "{}", e.message);
        assert_eq!(e.kind, ErrorKind::Unauthenticated);
        let e = read_subject_token(&dir.path().join("missing"), "r").unwrap_err();
        assert!(e.message.contains("missing"), "{}", e.message);
    }
}
