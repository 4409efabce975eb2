//! A Databricks workspace simulator: an in-memory, stateful HTTP server that speaks the REST API
//! the release engine uses (real paths, bodies, enums, error shapes and status codes), with test
//! controls under `/_sim/`. It backs `agentrelease sim`, the default workspace of
//! `agentrelease apply`, and the test suites.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get, post, put};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod api;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod control;
pub mod error;
pub mod faults;
pub mod gateway;
pub mod local_file;
pub mod seed;
pub mod server;
pub mod shared;
pub mod world;

pub use api::tasks::{TaskOutcome, TaskScript};
pub use calls::{CALL_LOG_CAPACITY, CallRecord, READ_ONLY_POSTS, RouteCounter};
pub use control::{ControlError, SimControl};
pub use faults::{FaultAction, FaultRule};
pub use seed::{Seed, SeedError};
pub use world::{SmokeReply, Timings};

use crate::shared::{Shared, SharedState};

/// The largest request body the simulator reads (uploads, imports).
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The admin token every simulator accepts unless configured otherwise.
pub const DEFAULT_ADMIN_TOKEN: &str = "dapi-sim-admin";

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen (port 0 picks a free port).
    pub addr: SocketAddr,
    /// The initial state.
    pub seed: Option<Seed>,
    /// Extra valid admin tokens.
    pub tokens: Vec<String>,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// The always-valid admin token.
    pub admin_token: String,
    /// Seed of the fault injection random source.
    pub fault_seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: None,
            tokens: Vec::new(),
            time_scale: 1.0,
            admin_token: DEFAULT_ADMIN_TOKEN.to_string(),
            fault_seed: 42,
        }
    }
}

/// Why a simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The seed is not usable.
    #[error(transparent)]
    Seed(#[from] SeedError),
}

impl SimError {
    /// A short category.
    pub fn category(&self) -> &'static str {
        match self {
            SimError::Bind { .. } => "bind",
            SimError::Seed(_) => "seed",
        }
    }
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds, seeds and starts serving in the background.
    pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.addr,
            source,
        })?;
        let url = format!("http://{addr}");
        let mut world = world::World::new(clock::SimClock::new(config.time_scale), url.clone());
        if let Some(seed) = &config.seed {
            seed.apply(&mut world)?;
        }
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            calls: Mutex::new(calls::CallLog::default()),
            faults: Mutex::new(faults::FaultSet::new(config.fault_seed)),
            admin_token: config.admin_token.clone(),
            fault_seed: config.fault_seed,
            initial_seed: config.seed.clone(),
            extra_tokens: config.tokens.clone(),
        });
        let router = router(Arc::clone(&shared));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(
            listener,
            Arc::clone(&shared),
            router,
            stopped,
        ));
        Ok(RunningSim {
            url,
            addr,
            token: config.admin_token,
            control: shared.control(),
            stop,
            task: Some(task),
        })
    }
}

/// A simulator serving in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningSim {
    url: String,
    addr: SocketAddr,
    token: String,
    control: SimControl,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// The base URL, e.g. `http://127.0.0.1:43117` (no trailing slash).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An always-valid admin token.
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// In-process controls.
    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The full router: the API, the app URLs, OAuth, and the controls.
fn router(shared: SharedState) -> Router {
    use api::*;
    let uc = "/api/2.1/unity-catalog";
    let prompts_base = "/api/2.0/mlflow/unity-catalog/prompts";
    Router::new()
        // Unity Catalog catalogs, schemas, volumes
        .route(&format!("{uc}/catalogs"), get(catalog::list_catalogs))
        .route(
            &format!("{uc}/catalogs/{{name}}"),
            get(catalog::get_catalog),
        )
        .route(&format!("{uc}/schemas"), get(catalog::list_schemas))
        .route(
            &format!("{uc}/schemas/{{full_name}}"),
            get(catalog::get_schema),
        )
        .route(
            &format!("{uc}/tables/{{full_name}}"),
            get(catalog::get_table),
        )
        .route(
            &format!("{uc}/functions/{{name}}"),
            get(catalog::get_function),
        )
        .route(&format!("{uc}/volumes"), get(catalog::list_volumes))
        .route(
            &format!("{uc}/volumes/{{full_name}}"),
            get(catalog::get_volume),
        )
        // Unity Catalog models
        .route(&format!("{uc}/models"), get(catalog::list_models))
        .route(
            &format!("{uc}/models/{{full_name}}"),
            get(uc_models::get_model),
        )
        .route(
            &format!("{uc}/models/{{full_name}}/versions"),
            get(uc_models::list_versions),
        )
        .route(
            &format!("{uc}/models/{{full_name}}/versions/{{version}}"),
            get(uc_models::get_version),
        )
        .route(
            &format!("{uc}/models/{{full_name}}/aliases/{{alias}}"),
            get(uc_models::get_by_alias)
                .put(uc_models::set_alias)
                .delete(uc_models::delete_alias),
        )
        // grants
        .route(
            &format!("{uc}/permissions/{{securable_type}}/{{full_name}}"),
            get(grants::get).patch(grants::update),
        )
        .route(
            &format!("{uc}/effective-permissions/{{securable_type}}/{{full_name}}"),
            get(grants::get_effective),
        )
        // workspace registry
        .route(
            "/api/2.0/mlflow/registered-models/get",
            get(registry::get_model),
        )
        .route(
            "/api/2.0/mlflow/model-versions/get",
            get(registry::get_version),
        )
        .route(
            "/api/2.0/mlflow/registered-models/alias",
            get(registry::get_by_alias)
                .post(registry::set_alias)
                .delete(registry::delete_alias),
        )
        // prompts
        .route(
            &format!("{prompts_base}/{{name}}"),
            get(prompts::get_prompt),
        )
        .route(
            &format!("{prompts_base}/{{name}}/versions/{{version}}"),
            get(prompts::get_version),
        )
        .route(
            &format!("{prompts_base}/{{name}}/versions/by-alias/{{alias}}"),
            get(prompts::get_by_alias),
        )
        .route(
            &format!("{prompts_base}/{{name}}/aliases/{{alias}}"),
            post(prompts::set_alias).delete(prompts::delete_alias),
        )
        // MLflow tracking
        .route(
            "/api/2.0/mlflow/experiments/get-by-name",
            get(mlflow::get_experiment_by_name),
        )
        .route(
            "/api/2.0/mlflow/experiments/get",
            get(mlflow::get_experiment),
        )
        .route(
            "/api/2.0/mlflow/experiments/create",
            post(mlflow::create_experiment),
        )
        .route("/api/2.0/mlflow/runs/create", post(mlflow::create_run))
        .route("/api/2.0/mlflow/runs/update", post(mlflow::update_run))
        .route("/api/2.0/mlflow/runs/get", get(mlflow::get_run))
        .route("/api/2.0/mlflow/runs/search", post(mlflow::search_runs))
        .route("/api/2.0/mlflow/runs/set-tag", post(mlflow::set_tag))
        .route("/api/2.0/mlflow/runs/log-batch", post(mlflow::log_batch))
        .route("/api/2.0/mlflow/runs/log-inputs", post(mlflow::log_inputs))
        .route("/api/2.0/mlflow/runs/log-metric", post(mlflow::log_metric))
        .route(
            "/api/2.0/mlflow/runs/log-parameter",
            post(mlflow::log_param),
        )
        .route(
            "/api/2.0/mlflow/experiments/search",
            post(mlflow::search_experiments),
        )
        .route(
            "/api/2.0/mlflow/logged-models",
            post(mlflow::create_logged_model),
        )
        .route(
            "/api/2.0/mlflow/logged-models/{model_id}",
            get(mlflow::get_logged_model),
        )
        // Apps
        .route("/api/2.0/apps", get(apps::list).post(apps::create))
        .route(
            "/api/2.0/apps/{name}",
            get(apps::get).patch(apps::update).delete(apps::delete),
        )
        .route("/api/2.0/apps/{name}/start", post(apps::start))
        .route("/api/2.0/apps/{name}/stop", post(apps::stop))
        .route(
            "/api/2.0/apps/{name}/update",
            get(apps::get_update).post(apps::create_update),
        )
        .route(
            "/api/2.0/apps/{name}/deployments",
            get(apps::list_deployments).post(apps::create_deployment),
        )
        .route(
            "/api/2.0/apps/{name}/deployments/{deployment_id}",
            get(apps::get_deployment),
        )
        // workspace tree
        .route("/api/2.0/workspace/get-status", get(workspace::get_status))
        .route("/api/2.0/workspace/list", get(workspace::list))
        .route("/api/2.0/workspace/mkdirs", post(workspace::mkdirs))
        .route("/api/2.0/workspace/import", post(workspace::import))
        .route("/api/2.0/workspace/export", get(workspace::export))
        .route("/api/2.0/workspace/delete", post(workspace::delete))
        // Files API
        .route(
            "/api/2.0/fs/files/{*path}",
            get(files::download)
                .put(files::upload)
                .delete(files::delete_file),
        )
        .route(
            "/api/2.0/fs/directories/{*path}",
            get(files::list_directory)
                .put(files::create_directory)
                .head(files::directory_exists)
                .delete(files::delete_directory),
        )
        // permissions
        .route(
            "/api/2.0/permissions/{*path}",
            get(permissions::get)
                .put(permissions::set)
                .patch(permissions::update),
        )
        // serving
        .route(
            "/api/2.0/serving-endpoints",
            get(serving::list).post(serving::create),
        )
        .route(
            "/api/2.0/serving-endpoints/{name}",
            get(serving::get).delete(serving::delete),
        )
        .route(
            "/api/2.0/serving-endpoints/{name}/config",
            put(serving::update_config),
        )
        .route(
            "/api/2.0/serving-endpoints/{name}/invocations",
            post(serving::invocations),
        )
        .route(
            "/serving-endpoints/{name}/invocations",
            post(serving::invocations),
        )
        // managed MCP servers
        .route(
            "/api/2.0/mcp/functions/{catalog}/{schema}",
            post(mcp::functions),
        )
        .route(
            "/api/2.0/mcp/vector-search/{catalog}/{schema}",
            post(mcp::vector_search),
        )
        .route(
            "/api/2.0/mcp/functions/{catalog}/{schema}/{function}",
            post(mcp::function),
        )
        .route(
            "/api/2.0/mcp/vector-search/{catalog}/{schema}/{index}",
            post(mcp::vector_index),
        )
        .route("/api/2.0/mcp/genie/{space_id}", post(mcp::genie))
        // the objects behind managed MCP servers and app resources
        .route(
            "/api/2.0/vector-search/indexes/{index_name}",
            get(api::vector_search::get_index),
        )
        .route(
            "/api/2.0/genie/spaces/{space_id}",
            get(api::genie::get_space),
        )
        .route("/api/2.0/secrets/list", get(api::secrets::list))
        .route(
            "/api/2.0/database/instances/{name}",
            get(api::database::get_instance),
        )
        // SQL statements over the AI gateway's tables
        .route("/api/2.0/sql/statements", post(api::sql::execute))
        .route("/api/2.0/sql/statements/{statement_id}", get(api::sql::get))
        // MLflow traces
        .route("/api/2.0/mlflow/traces", get(api::traces::search))
        .route(
            "/api/2.0/mlflow/traces/{request_id}/info",
            get(api::traces::info),
        )
        // warehouses
        .route("/api/2.0/sql/warehouses", get(warehouses::list))
        .route("/api/2.0/sql/warehouses/{id}", get(warehouses::get))
        // SCIM
        .route(
            "/api/2.0/preview/scim/v2/ServicePrincipals",
            get(scim::list_service_principals),
        )
        .route(
            "/api/2.0/preview/scim/v2/ServicePrincipals/{id}",
            get(scim::get_service_principal),
        )
        .route("/api/2.0/preview/scim/v2/Me", get(scim::me))
        // OAuth
        .route("/.well-known/databricks-config", get(oauth::host_metadata))
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(oauth::discovery),
        )
        .route("/oidc/v1/token", post(oauth::token))
        // app URLs
        .route("/_apps/{name}", any(smoke::answer))
        .route("/_apps/{name}/{*rest}", any(smoke::answer))
        .merge(control::routes())
        // Volume files may be large; the real single-shot limit is far higher than axum's default.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            server::api_middleware,
        ))
        .with_state(shared)
}
