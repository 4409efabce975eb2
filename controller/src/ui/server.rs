//! Serves the timeline page (GET only; nothing on the page or the server writes anything).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use agentrelease_api::AgentRelease;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kube::{Api, Client};

use super::html::escape;

/// Where the page's releases come from.
#[derive(Clone)]
pub enum Source {
    /// The cluster: the AgentReleases of the namespaces the controller watches (all when empty),
    /// read with the controller's own client (so its RBAC bounds what is shown).
    Cluster {
        /// The client.
        client: Client,
        /// The watched namespaces.
        namespaces: Vec<String>,
    },
    /// The releases of an `apply` run, as its passes leave them.
    Run(Arc<RwLock<Vec<AgentRelease>>>),
}

/// Why the page could not be built.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// Listing the releases failed.
    #[error("listing AgentReleases: {0}")]
    List(#[from] kube::Error),
}

impl Source {
    async fn releases(&self) -> Result<Vec<AgentRelease>, UiError> {
        match self {
            Source::Cluster { client, namespaces } => {
                if namespaces.is_empty() {
                    let api: Api<AgentRelease> = Api::all(client.clone());
                    return Ok(api.list(&Default::default()).await?.items);
                }
                let mut all = Vec::new();
                for ns in namespaces {
                    let api: Api<AgentRelease> = Api::namespaced(client.clone(), ns);
                    all.extend(api.list(&Default::default()).await?.items);
                }
                Ok(all)
            }
            Source::Run(shared) => Ok(shared.read().map(|r| r.clone()).unwrap_or_default()),
        }
    }

    fn description(&self) -> String {
        match self {
            Source::Cluster { namespaces, .. } if namespaces.is_empty() => {
                "the cluster (all namespaces)".into()
            }
            Source::Cluster { namespaces, .. } => {
                format!("the cluster (namespaces {})", namespaces.join(", "))
            }
            Source::Run(_) => "this apply run".into(),
        }
    }
}

/// The page's routes: `/` and `/timeline`.
pub fn router(source: Source) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/timeline", get(page))
        .with_state(source)
}

async fn page(State(source): State<Source>) -> impl IntoResponse {
    let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    match source.releases().await {
        Ok(releases) => (
            StatusCode::OK,
            html,
            super::timeline::render(&releases, jiff::Timestamp::now(), &source.description()),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            html,
            format!(
                "<!DOCTYPE html><html><body><h1>AgentRelease timeline</h1><p>{}</p></body></html>",
                escape(&e.to_string())
            ),
        ),
    }
}

/// Binds `addr`; the page is served by the returned future until `shutdown` resolves.
pub async fn bind(
    addr: SocketAddr,
    source: Source,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let serve = async move {
        axum::serve(listener, router(source))
            .with_graceful_shutdown(shutdown)
            .await
    };
    Ok((local, serve))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_page_is_read_only() {
        let shared = Arc::new(RwLock::new(Vec::new()));
        let (addr, serve) = bind(
            "127.0.0.1:0".parse().expect("addr"),
            Source::Run(shared),
            std::future::pending(),
        )
        .await
        .expect("bind");
        let task = tokio::spawn(serve);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let got = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .expect("get");
        assert_eq!(got.status(), 200);
        assert!(
            got.text()
                .await
                .expect("body")
                .contains("No AgentReleases.")
        );
        let post = client
            .post(format!("http://{addr}/"))
            .send()
            .await
            .expect("post");
        assert_eq!(post.status(), 405);
        task.abort();
    }
}
