//! A mocked Kubernetes API server (tower-test) holding objects in several namespaces: Secrets,
//! ServiceAccounts (whose TokenRequests it answers with unsigned JWTs naming the ServiceAccount
//! and the audiences asked for), AgentReleases (read, finalizer and status patches) and
//! ReleaseTarget status patches. It records every request, so a test can assert what the
//! controller read, minted and wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use agentrelease_sim::api::token_exchange::unsigned_jwt;
use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// The issuer of the tokens this fake mints.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The JSON body (Null when none).
    pub body: Value,
}

/// A token the fake minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// `<namespace>/<serviceaccount>`.
    pub service_account: String,
    /// The audiences asked for.
    pub audiences: Vec<String>,
    /// The lifetime asked for.
    pub expiration_seconds: Option<i64>,
    /// The JWT.
    pub token: String,
}

/// The fake's objects and log.
#[derive(Default)]
pub struct State {
    /// Secrets by `(namespace, name)`.
    pub secrets: BTreeMap<(String, String), Value>,
    /// Namespaces whose Secrets the controller may not read (403).
    pub forbidden_secret_namespaces: BTreeSet<String>,
    /// ServiceAccounts by `(namespace, name)`.
    pub service_accounts: BTreeSet<(String, String)>,
    /// AgentReleases by `(namespace, name)`.
    pub releases: BTreeMap<(String, String), Value>,
    /// ReleaseTargets by `(namespace, name)` (answered to a status patch).
    pub targets: BTreeMap<(String, String), Value>,
    /// Every request, in order.
    pub seen: Vec<Seen>,
    /// Every token minted, in order.
    pub minted: Vec<Minted>,
}

/// A handle on the fake.
#[derive(Clone)]
pub struct FakeKube {
    state: Arc<Mutex<State>>,
}

fn status(code: u16, reason: &str) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code, "message": reason});
    respond(&body, code)
}

fn respond(v: &Value, code: u16) -> Response<Body> {
    Response::builder()
        .status(code)
        .body(Body::from(serde_json::to_vec(v).unwrap_or_default()))
        .expect("response")
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

impl FakeKube {
    /// Starts the fake; returns it and a client talking to it.
    pub fn start() -> (FakeKube, Client) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = FakeKube {
            state: Arc::new(Mutex::new(State::default())),
        };
        tokio::spawn(serve(handle, fake.state.clone()));
        (fake, Client::new(service, "default"))
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("lock"))
    }

    /// Stores a Secret with these string values.
    pub fn put_secret(&self, ns: &str, name: &str, pairs: &[(&str, &str)]) {
        let data: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(base64(v))))
            .collect();
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "data": data});
        self.with(|s| {
            s.secrets.insert((ns.into(), name.into()), secret);
        });
    }

    /// Stores a ServiceAccount.
    pub fn put_service_account(&self, ns: &str, name: &str) {
        self.with(|s| {
            s.service_accounts.insert((ns.into(), name.into()));
        });
    }

    /// Stores an AgentRelease.
    pub fn put_release(&self, release: Value) {
        let ns = release["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let name = release["metadata"]["name"].as_str().unwrap_or_default();
        let key = (ns.to_string(), name.to_string());
        self.with(|s| {
            s.releases.insert(key, release);
        });
    }

    /// Stores a ReleaseTarget.
    pub fn put_target(&self, target: &agentrelease_api::ReleaseTarget) {
        let v = serde_json::to_value(target).expect("target");
        let ns = v["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.with(|s| {
            s.targets.insert((ns, name), v);
        });
    }

    /// The stored release.
    pub fn release(&self, ns: &str, name: &str) -> Value {
        self.with(|s| s.releases[&(ns.to_string(), name.to_string())].clone())
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    /// Every token minted so far.
    pub fn minted(&self) -> Vec<Minted> {
        self.with(|s| s.minted.clone())
    }

    /// The last status written for a ReleaseTarget.
    pub fn target_status(&self, ns: &str, name: &str) -> Option<Value> {
        let path =
            format!("/apis/agentops.dev/v1alpha1/namespaces/{ns}/releasetargets/{name}/status");
        self.seen()
            .into_iter()
            .rev()
            .find(|s| s.path == path && s.method == "PATCH")
            .map(|s| s.body["status"].clone())
    }
}

/// The segments of a path.
fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

async fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    state: Arc<Mutex<State>>,
) {
    while let Some((req, send)) = handle.next_request().await {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut s = state.lock().expect("lock");
        s.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        let response = match (method.as_str(), segments(&path).as_slice()) {
            ("GET", ["api", "v1", "namespaces", ns, "secrets", name]) => {
                if s.forbidden_secret_namespaces.contains(*ns) {
                    status(403, "Forbidden")
                } else {
                    match s.secrets.get(&(ns.to_string(), name.to_string())) {
                        Some(v) => respond(v, 200),
                        None => status(404, "NotFound"),
                    }
                }
            }
            (
                "POST",
                [
                    "api",
                    "v1",
                    "namespaces",
                    ns,
                    "serviceaccounts",
                    name,
                    "token",
                ],
            ) => {
                if s.service_accounts
                    .contains(&(ns.to_string(), name.to_string()))
                {
                    let audiences: Vec<String> = body["spec"]["audiences"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect();
                    let token = unsigned_jwt(&json!({
                        "iss": ISSUER,
                        "sub": format!("system:serviceaccount:{ns}:{name}"),
                        "aud": audiences,
                        "exp": 4_102_444_800i64,
                    }));
                    s.minted.push(Minted {
                        service_account: format!("{ns}/{name}"),
                        audiences: audiences.clone(),
                        expiration_seconds: body["spec"]["expirationSeconds"].as_i64(),
                        token: token.clone(),
                    });
                    let mut answer = body.clone();
                    answer["status"] =
                        json!({"token": token, "expirationTimestamp": "2100-01-01T00:00:00Z"});
                    respond(&answer, 201)
                } else {
                    status(404, "NotFound")
                }
            }
            (
                m,
                [
                    "apis",
                    "agentops.dev",
                    "v1alpha1",
                    "namespaces",
                    ns,
                    "agentreleases",
                    name,
                    rest @ ..,
                ],
            ) => {
                let key = (ns.to_string(), name.to_string());
                match (m, rest, s.releases.get_mut(&key)) {
                    (_, _, None) => status(404, "NotFound"),
                    ("GET", [], Some(r)) => respond(r, 200),
                    ("PATCH", ["status"], Some(r)) => {
                        r["status"] = body["status"].clone();
                        respond(r, 200)
                    }
                    ("PATCH", [], Some(r)) => {
                        for op in body.as_array().into_iter().flatten() {
                            if op["path"] == "/metadata/finalizers" && op["op"] == "add" {
                                r["metadata"]["finalizers"] = op["value"].clone();
                            }
                        }
                        respond(r, 200)
                    }
                    _ => status(404, "NotFound"),
                }
            }
            (
                "PATCH",
                [
                    "apis",
                    "agentops.dev",
                    "v1alpha1",
                    "namespaces",
                    ns,
                    "releasetargets",
                    name,
                    "status",
                ],
            ) => match s.targets.get(&(ns.to_string(), name.to_string())) {
                Some(t) => {
                    let mut t = t.clone();
                    t["status"] = body["status"].clone();
                    respond(&t, 200)
                }
                None => status(404, "NotFound"),
            },
            (_, p) if p.contains(&"events") => {
                respond(&body, if method == "POST" { 201 } else { 200 })
            }
            _ => status(404, "NotFound"),
        };
        drop(s);
        send.send_response(response);
    }
}
