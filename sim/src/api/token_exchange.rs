//! Workload identity federation: `POST /oidc/v1/token` with
//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693). The subject token is
//! an OIDC JWT; it is accepted when a federation policy of the service principal named by
//! `client_id` matches its issuer (`iss`), one of its audiences (`aud`) and its subject claim, and
//! it has not expired on the simulated clock (`exp`). The simulator does not verify the JWT's
//! signature (a workspace checks it against the issuer's published keys): it reads the claims
//! only, which is enough to exercise a client's exchange and a policy's matching, and must never
//! be mistaken for a security boundary. Account-wide federation (no `client_id`) is not
//! simulated: such a request is refused.

use base64::Engine;
use serde_json::Value;

use crate::world::FederationPolicy;

/// The grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type.
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Why an exchange is refused: the OAuth `error` and its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `invalid_request` or `invalid_grant`.
    pub error: &'static str,
    /// The description.
    pub description: String,
}

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        error,
        description: description.into(),
    }
}

/// How many judged exchanges the simulator remembers (oldest dropped first).
pub const EXCHANGE_LOG_CAPACITY: usize = 1000;

/// A token exchange as the simulator judged it: the claims it read from the subject token (never
/// the token itself) and the verdict, so a test can tell whose token each exchange carried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exchange {
    /// The form's `client_id`.
    pub client_id: Option<String>,
    /// The token's `iss`.
    pub issuer: Option<String>,
    /// The token's `sub`.
    pub subject: Option<String>,
    /// The token's `aud` (a string is a list of one).
    pub audiences: Vec<String>,
    /// The principal a workspace token was issued for; None when refused.
    pub principal: Option<String>,
    /// The OAuth error description of a refusal.
    pub refusal: Option<String>,
}

/// What the subject token of a form says and what `verdict` made of it.
pub fn observe(
    get: &dyn Fn(&str) -> Option<String>,
    verdict: &Result<String, Refusal>,
) -> Exchange {
    let claims = get("subject_token")
        .and_then(|t| claims(&t))
        .unwrap_or_default();
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_string);
    Exchange {
        client_id: get("client_id"),
        issuer: text("iss"),
        subject: text("sub"),
        audiences: match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        principal: verdict.as_ref().ok().cloned(),
        refusal: verdict.as_ref().err().map(|r| r.description.clone()),
    }
}

/// The principal the exchange issues a token for, judged from the form and the policies.
pub fn judge(
    get: &dyn Fn(&str) -> Option<String>,
    policies: &[FederationPolicy],
    now_ms: i64,
) -> Result<String, Refusal> {
    if get("subject_token_type").as_deref() != Some(JWT_TYPE) {
        return Err(refuse(
            "invalid_request",
            format!("subject_token_type must be {JWT_TYPE}"),
        ));
    }
    let Some(token) = get("subject_token").filter(|t| !t.is_empty()) else {
        return Err(refuse("invalid_request", "subject_token is required"));
    };
    let Some(client_id) = get("client_id").filter(|c| !c.is_empty()) else {
        return Err(refuse(
            "invalid_request",
            "client_id is required: only service principal federation is simulated",
        ));
    };
    let claims =
        claims(&token).ok_or_else(|| refuse("invalid_grant", "subject_token is not a JWT"))?;
    let now_s = now_ms / 1000;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now_s => {}
        Some(_) => return Err(refuse("invalid_grant", "subject_token has expired")),
        None => return Err(refuse("invalid_grant", "subject_token has no exp claim")),
    }
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let ours: Vec<&FederationPolicy> = policies
        .iter()
        .filter(|p| p.principal == client_id)
        .collect();
    if ours.is_empty() {
        return Err(refuse(
            "invalid_grant",
            format!("service principal {client_id} has no federation policy"),
        ));
    }
    let matched = ours.iter().any(|p| {
        p.issuer == iss
            && p.audiences.iter().any(|a| aud.contains(&a.as_str()))
            && claims.get(&p.subject_claim).and_then(Value::as_str) == Some(p.subject.as_str())
    });
    if !matched {
        return Err(refuse(
            "invalid_grant",
            format!(
                "no federation policy of service principal {client_id} matches the token's issuer, audience and subject"
            ),
        ));
    }
    Ok(client_id)
}

/// The claims of a JWT (`header.payload.signature`, base64url), unverified.
fn claims(token: &str) -> Option<serde_json::Map<String, Value>> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// An unsigned JWT with these claims, for tests and examples (`alg: none`).
pub fn unsigned_jwt(claims: &Value) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        enc(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        enc(claims)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Vec<FederationPolicy> {
        vec![FederationPolicy {
            principal: "sp-1".into(),
            issuer: "https://issuer.example".into(),
            audiences: vec!["databricks".into()],
            subject: "system:serviceaccount:ns:sa".into(),
            subject_claim: "sub".into(),
        }]
    }

    fn form(token: String, client: Option<&str>) -> impl Fn(&str) -> Option<String> {
        let client = client.map(str::to_string);
        move |k: &str| match k {
            "subject_token" => Some(token.clone()),
            "subject_token_type" => Some(JWT_TYPE.to_string()),
            "client_id" => client.clone(),
            _ => None,
        }
    }

    fn jwt(iss: &str, aud: Value, sub: &str, exp: i64) -> String {
        unsigned_jwt(&json!({"iss": iss, "aud": aud, "sub": sub, "exp": exp}))
    }

    #[test]
    fn a_token_matching_the_policy_is_exchanged() {
        let t = jwt(
            "https://issuer.example",
            json!(["x", "databricks"]),
            "system:serviceaccount:ns:sa",
            100,
        );
        assert_eq!(
            judge(&form(t, Some("sp-1")), &policy(), 50_000),
            Ok("sp-1".into())
        );
    }

    #[test]
    fn an_exchange_is_remembered_by_its_claims_and_verdict_never_its_token() {
        let t = jwt(
            "https://issuer.example",
            json!(["x", "databricks"]),
            "system:serviceaccount:ns:sa",
            100,
        );
        let get = form(t.clone(), Some("sp-1"));
        let seen = observe(&get, &judge(&get, &policy(), 50_000));
        assert_eq!(seen.subject.as_deref(), Some("system:serviceaccount:ns:sa"));
        assert_eq!(seen.issuer.as_deref(), Some("https://issuer.example"));
        assert_eq!(
            seen.audiences,
            vec!["x".to_string(), "databricks".to_string()]
        );
        assert_eq!(seen.principal.as_deref(), Some("sp-1"));
        assert!(!format!("{seen:?}").contains(&t));
        let get = form(
            jwt("https://issuer.example", json!("other"), "s", 100),
            Some("sp-1"),
        );
        let seen = observe(&get, &judge(&get, &policy(), 50_000));
        assert_eq!(seen.principal, None);
        assert!(seen.refusal.is_some_and(|r| r.contains("matches")));
    }

    #[test]
    fn each_mismatch_is_refused() {
        let now = 50_000;
        let cases = [
            (
                jwt(
                    "https://other",
                    json!("databricks"),
                    "system:serviceaccount:ns:sa",
                    100,
                ),
                Some("sp-1"),
                "matches",
            ),
            (
                jwt(
                    "https://issuer.example",
                    json!("other"),
                    "system:serviceaccount:ns:sa",
                    100,
                ),
                Some("sp-1"),
                "matches",
            ),
            (
                jwt(
                    "https://issuer.example",
                    json!("databricks"),
                    "system:serviceaccount:ns:other",
                    100,
                ),
                Some("sp-1"),
                "matches",
            ),
            (
                jwt(
                    "https://issuer.example",
                    json!("databricks"),
                    "system:serviceaccount:ns:sa",
                    10,
                ),
                Some("sp-1"),
                "expired",
            ),
            (
                jwt(
                    "https://issuer.example",
                    json!("databricks"),
                    "system:serviceaccount:ns:sa",
                    100,
                ),
                Some("sp-2"),
                "no federation policy",
            ),
            (
                jwt(
                    "https://issuer.example",
                    json!("databricks"),
                    "system:serviceaccount:ns:sa",
                    100,
                ),
                None,
                "client_id is required",
            ),
            ("not-a-jwt".to_string(), Some("sp-1"), "not a JWT"),
        ];
        for (token, client, why) in cases {
            let e = judge(&form(token, client), &policy(), now).unwrap_err();
            assert!(e.description.contains(why), "{why}: {e:?}");
        }
    }
}
