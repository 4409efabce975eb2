//! Workload identity federation: the request the Databricks SDKs send to trade an OIDC token (a
//! Kubernetes ServiceAccount token, a CI job's OIDC token) for a workspace token — an RFC 8693
//! token exchange at the workspace's token endpoint (`/oidc/v1/token`, found by the same OIDC
//! discovery, and checked by the same rules, as OAuth machine-to-machine):
//!
//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`,
//! `subject_token=<the JWT>`, `subject_token_type=urn:ietf:params:oauth:token-type:jwt`,
//! `scope=all-apis`, and `client_id=<application id>` for a service principal's federation policy
//! (left out for account-wide federation). No client secret and no Basic header. The token file is
//! read at every exchange (tokens are short-lived and rotated), regular files only, at most
//! [`MAX_TOKEN_BYTES`].

use std::io::Read;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretString;

/// The RFC 8693 grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type of an OIDC JWT.
pub const SUBJECT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The largest token file read (a JWT is a few KiB).
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;

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
