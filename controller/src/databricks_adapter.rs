//! The engine's [`Workspace`] on top of the typed Databricks client, and the factory that
//! builds (and caches per connection) those clients. Reads that find nothing become `None`;
//! every other failure keeps the client's classification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrelease_databricks as dbx;
use bytes::Bytes;

use crate::connection::{ConnectError, Connection, Credentials, WorkspaceFactory};
use crate::engine::states::{
    ComputeState, ConfigUpdate, DeploymentState, EndpointReadiness, ModelVersionStatus, RunStatus,
};
use crate::engine::workspace::*;
use crate::telemetry::metrics::Metrics;

mod lookups;

fn kind(k: dbx::ErrorKind) -> WorkspaceErrorKind {
    match k {
        dbx::ErrorKind::NotFound => WorkspaceErrorKind::NotFound,
        dbx::ErrorKind::AlreadyExists => WorkspaceErrorKind::AlreadyExists,
        dbx::ErrorKind::Conflict => WorkspaceErrorKind::Conflict,
        dbx::ErrorKind::PermissionDenied => WorkspaceErrorKind::PermissionDenied,
        dbx::ErrorKind::InvalidInput => WorkspaceErrorKind::InvalidInput,
        dbx::ErrorKind::RateLimited => WorkspaceErrorKind::RateLimited,
        dbx::ErrorKind::Transient => WorkspaceErrorKind::Transient,
        dbx::ErrorKind::Unauthenticated => WorkspaceErrorKind::Unauthenticated,
        dbx::ErrorKind::TooLarge => WorkspaceErrorKind::TooLarge,
        // Nothing was sent where the credentials do not belong; the target (its host, or what
        // the host answers) needs a human, so the call is not repeated.
        dbx::ErrorKind::UntrustedEndpoint => WorkspaceErrorKind::InvalidInput,
        // A URL off the workspace's paths the origin policy refuses: nothing was sent; the
        // target's trustedOrigins (or the URL) needs a human.
        dbx::ErrorKind::UntrustedOrigin => WorkspaceErrorKind::UntrustedOrigin,
        dbx::ErrorKind::Other => WorkspaceErrorKind::Other,
    }
}

fn err(operation: &str) -> impl Fn(dbx::Error) -> WorkspaceError + '_ {
    move |e| {
        let message = match (&e.error_code, e.status) {
            (Some(code), Some(status)) => format!("{} (HTTP {status} {code})", e.message),
            (None, Some(status)) => format!("{} (HTTP {status})", e.message),
            _ => e.message.clone(),
        };
        WorkspaceError::new(kind(e.kind), operation, message)
    }
}

/// `Ok(None)` for NotFound.
fn found<T>(r: dbx::Result<T>, operation: &str) -> WsResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == dbx::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(operation)(e)),
    }
}

/// Versions asked for per page when listing a model's versions.
const LIST_PAGE: u32 = 100;

fn version_info(v: dbx::ModelVersionInfo) -> ModelVersionInfo {
    ModelVersionInfo {
        version: v.version,
        status: ModelVersionStatus::parse(&v.status),
        run_id: v.run_id,
        model_id: v.model_id,
        source: v.source,
        created_at_ms: v.created_at,
        tags: v.tags.into_iter().map(|t| (t.key, t.value)).collect(),
    }
}

/// Whether a model name is a Unity Catalog three-part name (else the workspace registry).
fn is_uc(model: &str) -> bool {
    model.split('.').count() == 3
}

/// A workspace reached through the typed client.
#[derive(Debug, Clone)]
pub struct ClientWorkspace {
    client: dbx::Client,
    /// Workspace folders this process made (or found) with `mkdirs`: a write into one of them
    /// skips the `mkdirs`; when the folder has gone since, the import's 404 makes it again.
    folders: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Plan versions handed out to the releases of this process, per plans volume.
    plans: std::sync::Arc<crate::engine::plan_numbers::PlanNumbers>,
}

impl ClientWorkspace {
    /// Wraps a client.
    pub fn new(client: dbx::Client) -> Self {
        ClientWorkspace {
            client,
            folders: Default::default(),
            plans: Default::default(),
        }
    }

    fn folder_known(&self, folder: &str) -> bool {
        self.folders
            .lock()
            .map(|f| f.contains(folder))
            .unwrap_or(false)
    }

    fn remember_folder(&self, folder: &str, made: bool) {
        if let Ok(mut f) = self.folders.lock() {
            if made {
                // Bounded: a process writes into a handful of ledger and plan folders.
                if f.len() >= 4096 {
                    f.clear();
                }
                f.insert(folder.to_string());
            } else {
                f.remove(folder);
            }
        }
    }

    async fn make_folder(&self, folder: &str) -> WsResult<()> {
        self.client
            .mkdirs(folder)
            .await
            .map_err(err("create workspace folder"))?;
        self.remember_folder(folder, true);
        Ok(())
    }

    /// The client.
    pub fn client(&self) -> &dbx::Client {
        &self.client
    }
}

fn deployment(d: dbx::AppDeployment) -> DeploymentInfo {
    DeploymentInfo {
        id: d.deployment_id,
        state: DeploymentState::parse(d.status.state.as_deref().unwrap_or_default()),
        message: d.status.message,
        source_code_path: d.source_code_path,
        command: d.command,
        env: d
            .env_vars
            .into_iter()
            .map(|e| EnvEntry {
                name: e.name,
                value: e.value,
                value_from: e.value_from,
            })
            .collect(),
    }
}

fn app(a: dbx::App) -> AppInfo {
    AppInfo {
        name: a.name,
        url: a.url,
        compute_state: a.compute_status.state.as_deref().map(ComputeState::parse),
        app_state: a.app_status.state,
        service_principal_client_id: a.service_principal_client_id,
        service_principal_id: a.service_principal_id,
        active_deployment: a.active_deployment.map(deployment),
        pending_deployment: a.pending_deployment.map(deployment),
        description: a.description,
        resources: a
            .resources
            .into_iter()
            .map(|body| AppResourceInfo {
                name: body
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string(),
                body,
            })
            .collect(),
    }
}

fn app_request(def: &AppDefinition) -> dbx::AppRequest {
    dbx::AppRequest {
        name: def.name.clone(),
        description: def.description.clone(),
        resources: def
            .resources
            .iter()
            .map(|r| {
                let mut body = r.body.clone();
                if let Some(map) = body.as_object_mut() {
                    map.insert("name".into(), serde_json::json!(r.name));
                }
                body
            })
            .collect(),
    }
}

fn endpoint_input(c: &EndpointConfig) -> dbx::EndpointConfigInput {
    dbx::EndpointConfigInput {
        served_entities: c
            .served_entities
            .iter()
            .map(|e| dbx::ServedEntity {
                name: e.name.clone(),
                entity_name: e.entity_name.clone(),
                entity_version: e.entity_version.clone(),
                workload_size: e.workload_size.clone(),
                scale_to_zero_enabled: e.scale_to_zero_enabled,
                workload_type: e.workload_type.clone(),
                environment_vars: e.environment_vars.clone(),
                external_model: e.external_model.clone(),
            })
            .collect(),
        traffic_config: dbx::TrafficConfig {
            routes: c
                .routes
                .iter()
                .map(|r| dbx::Route {
                    served_entity_name: r.served_entity_name.clone(),
                    traffic_percentage: r.traffic_percentage,
                })
                .collect(),
        },
    }
}

fn endpoint(e: dbx::ServingEndpoint) -> EndpointInfo {
    EndpointInfo {
        id: e.id,
        name: e.name,
        ready: e.state.ready.as_deref().map(EndpointReadiness::parse),
        config_update: e.state.config_update.as_deref().map(ConfigUpdate::parse),
        config_version: e.config.as_ref().and_then(|c| c.config_version),
        config: e.config.map(|c| EndpointConfig {
            served_entities: c
                .served_entities
                .into_iter()
                .map(|s| ServedEntityConfig {
                    name: s.name,
                    entity_name: s.entity_name,
                    entity_version: s.entity_version,
                    workload_size: s.workload_size,
                    scale_to_zero_enabled: s.scale_to_zero_enabled,
                    workload_type: s.workload_type,
                    environment_vars: s.environment_vars,
                    external_model: s.external_model,
                })
                .collect(),
            routes: c
                .traffic_config
                .unwrap_or_default()
                .routes
                .into_iter()
                .map(|r| RouteConfig {
                    served_entity_name: r.served_entity_name,
                    traffic_percentage: r.traffic_percentage,
                })
                .collect(),
        }),
    }
}

fn acl_target(object: &AclObject) -> (dbx::AclObjectType, &str) {
    match object {
        AclObject::ServingEndpoint(id) => (dbx::AclObjectType::ServingEndpoint, id),
        AclObject::App(name) => (dbx::AclObjectType::App, name),
        AclObject::SqlWarehouse(id) => (dbx::AclObjectType::Warehouse, id),
        AclObject::Experiment(id) => (dbx::AclObjectType::Experiment, id),
    }
}

/// How long a statement is waited on within its request (the API's `wait_timeout`).
const STATEMENT_WAIT: &str = "10s";
fn statement_answer(s: dbx::StatementResponse) -> crate::engine::queries::StatementAnswer {
    use crate::engine::queries::{StatementAnswer, StatementState};
    let error = s.status.error.map(|e| {
        format!(
            "{}: {}",
            e.error_code.unwrap_or_else(|| s.status.state.clone()),
            e.message.unwrap_or_default()
        )
    });
    StatementAnswer {
        id: s.statement_id,
        state: StatementState::parse(&s.status.state),
        error,
        rows: s.result.map(|r| r.data_array).unwrap_or_default(),
    }
}

/// Escapes a value for an MLflow search filter string literal.
fn filter_literal(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

impl Workspace for ClientWorkspace {
    fn plan_numbers(&self) -> Option<&crate::engine::plan_numbers::PlanNumbers> {
        Some(&self.plans)
    }

    async fn read_file(&self, path: &str, max_bytes: u64) -> WsResult<Option<Bytes>> {
        found(
            self.client.download_file(path, max_bytes).await,
            "read file",
        )
    }

    async fn list_directory(&self, path: &str) -> WsResult<Option<Vec<DirEntry>>> {
        let entries = found(self.client.list_directory(path).await, "list directory")?;
        Ok(entries.map(|list| {
            list.into_iter()
                .map(|e| {
                    let name = if e.name.is_empty() {
                        e.path
                            .trim_end_matches('/')
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    } else {
                        e.name
                    };
                    DirEntry {
                        name,
                        is_directory: e.is_directory,
                    }
                })
                .collect()
        }))
    }

    async fn create_directory(&self, path: &str) -> WsResult<()> {
        self.client
            .create_directory(path)
            .await
            .map_err(err("create directory"))
    }

    async fn create_file(&self, path: &str, content: Bytes) -> WsResult<CreateOutcome> {
        match self.client.upload_file(path, &content, false).await {
            Ok(()) => Ok(CreateOutcome::Created),
            // With overwrite=false the Files API answers 409 when the file exists.
            Err(e) if e.kind == dbx::ErrorKind::AlreadyExists || e.status == Some(409) => {
                Ok(CreateOutcome::AlreadyExists)
            }
            Err(e) => Err(err("write file")(e)),
        }
    }

    async fn get_model_version(
        &self,
        model: &str,
        version: i64,
    ) -> WsResult<Option<ModelVersionInfo>> {
        let r = if is_uc(model) {
            self.client.get_model_version(model, version).await
        } else {
            self.client.registry_get_version(model, version).await
        };
        Ok(found(r, "get model version")?.map(version_info))
    }

    async fn list_model_versions(
        &self,
        model: &str,
        limit: usize,
    ) -> WsResult<Option<Vec<ModelVersionInfo>>> {
        if !is_uc(model) {
            return Ok(Some(Vec::new()));
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = found(
                self.client
                    .list_model_versions(model, LIST_PAGE, token.as_deref())
                    .await,
                "list model versions",
            )?;
            let Some(page) = page else {
                return Ok(None);
            };
            out.extend(page.model_versions.into_iter().map(version_info));
            token = page.next_page_token.filter(|t| !t.is_empty());
            if token.is_none() || out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(Some(out))
    }

    async fn get_alias(&self, model: &str, alias: &str) -> WsResult<Option<i64>> {
        let r = if is_uc(model) {
            self.client.get_model_version_by_alias(model, alias).await
        } else {
            self.client.registry_get_by_alias(model, alias).await
        };
        Ok(found(r, "get alias")?.map(|v| v.version))
    }

    async fn set_alias(&self, model: &str, alias: &str, version: i64) -> WsResult<()> {
        if is_uc(model) {
            self.client
                .set_model_alias(model, alias, version)
                .await
                .map(|_| ())
                .map_err(err("set alias"))
        } else {
            self.client
                .registry_set_alias(model, alias, version)
                .await
                .map_err(err("set alias"))
        }
    }

    async fn delete_alias(&self, model: &str, alias: &str) -> WsResult<()> {
        let r = if is_uc(model) {
            self.client.delete_model_alias(model, alias).await
        } else {
            self.client.registry_delete_alias(model, alias).await
        };
        found(r, "delete alias").map(|_| ())
    }

    async fn get_prompt_alias(&self, prompt: &str, alias: &str) -> WsResult<Option<String>> {
        Ok(found(
            self.client.get_prompt_version_by_alias(prompt, alias).await,
            "get prompt alias",
        )?
        .map(|p| p.version))
    }

    async fn get_run(&self, run_id: &str) -> WsResult<Option<RunFacts>> {
        let run = found(self.client.get_run(run_id).await, "get run")?;
        Ok(run.map(|r| RunFacts {
            experiment_id: r.info.experiment_id,
            run_name: r.info.run_name,
            model_inputs: r
                .inputs
                .model_inputs
                .into_iter()
                .map(|m| m.model_id)
                .filter(|id| !id.is_empty())
                .collect(),
            inputs: r
                .inputs
                .dataset_inputs
                .into_iter()
                .map(|d| DatasetInputInfo {
                    context: d
                        .tags
                        .iter()
                        .find(|t| t.key == "mlflow.data.context")
                        .map(|t| t.value.clone()),
                    name: d.dataset.name,
                    digest: d.dataset.digest,
                    source_type: d.dataset.source_type,
                    source: d.dataset.source,
                })
                .collect(),
        }))
    }

    async fn get_experiment(&self, path: &str) -> WsResult<Option<ExperimentInfo>> {
        let e = found(
            self.client.get_experiment_by_name(path).await,
            "get experiment",
        )?;
        Ok(e.map(|e| ExperimentInfo {
            active: e.lifecycle_stage.is_empty() || e.lifecycle_stage == "active",
            id: e.experiment_id,
        }))
    }

    async fn get_experiment_by_id(&self, id: &str) -> WsResult<Option<ExperimentInfo>> {
        let e = found(self.client.get_experiment_by_id(id).await, "get experiment")?;
        Ok(e.map(|e| ExperimentInfo {
            active: e.lifecycle_stage.is_empty() || e.lifecycle_stage == "active",
            id: e.experiment_id,
        }))
    }

    async fn create_experiment(&self, path: &str) -> WsResult<String> {
        self.client
            .create_experiment(path)
            .await
            .map_err(err("create experiment"))
    }

    async fn find_runs_by_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> WsResult<Vec<RunInfo>> {
        let filter = format!(
            "tags.`{}` = '{}'",
            key.replace('`', ""),
            filter_literal(value)
        );
        let runs = self
            .client
            .search_runs(&[experiment_id], &filter, 100)
            .await
            .map_err(err("search runs"))?;
        Ok(runs
            .into_iter()
            .map(|r| RunInfo {
                run_id: r.info.run_id,
                name: r.info.run_name,
                status: RunStatus::parse(&r.info.status),
            })
            .collect())
    }

    async fn create_run(
        &self,
        experiment_id: &str,
        name: &str,
        start_ms: i64,
        tags: &[(String, String)],
    ) -> WsResult<String> {
        let tags: Vec<dbx::Tag> = tags
            .iter()
            .map(|(k, v)| dbx::Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let run = self
            .client
            .create_run(experiment_id, name, start_ms, &tags)
            .await
            .map_err(err("create run"))?;
        Ok(run.info.run_id)
    }

    async fn end_run(&self, run_id: &str, status: &str, end_ms: i64) -> WsResult<()> {
        self.client
            .update_run(run_id, status, end_ms)
            .await
            .map_err(err("end run"))
    }

    async fn get_app(&self, name: &str) -> WsResult<Option<AppInfo>> {
        Ok(found(self.client.get_app(name).await, "get app")?.map(app))
    }

    async fn create_app(&self, def: &AppDefinition) -> WsResult<AppInfo> {
        self.client
            .create_app(&app_request(def), false)
            .await
            .map(app)
            .map_err(err("create app"))
    }

    async fn update_app(&self, def: &AppDefinition) -> WsResult<AppInfo> {
        self.client
            .update_app(&app_request(def))
            .await
            .map(app)
            .map_err(err("update app"))
    }

    async fn start_app(&self, name: &str) -> WsResult<()> {
        self.client
            .start_app(name)
            .await
            .map(|_| ())
            .map_err(err("start app"))
    }

    async fn stop_app(&self, name: &str) -> WsResult<()> {
        self.client
            .stop_app(name)
            .await
            .map(|_| ())
            .map_err(err("stop app"))
    }

    async fn delete_app(&self, name: &str) -> WsResult<()> {
        found(self.client.delete_app(name).await, "delete app").map(|_| ())
    }

    async fn create_deployment(
        &self,
        app_name: &str,
        request: &DeploymentRequest,
    ) -> WsResult<DeploymentInfo> {
        let req = dbx::DeploymentRequest {
            source_code_path: request.source_code_path.clone(),
            mode: "SNAPSHOT".into(),
            command: request.command.clone(),
            env_vars: request
                .env
                .iter()
                .map(|e| dbx::EnvVar {
                    name: e.name.clone(),
                    value: e.value.clone(),
                    value_from: e.value_from.clone(),
                })
                .collect(),
        };
        self.client
            .create_deployment(app_name, &req)
            .await
            .map(deployment)
            .map_err(err("create deployment"))
    }

    async fn get_deployment(&self, app_name: &str, id: &str) -> WsResult<Option<DeploymentInfo>> {
        Ok(found(
            self.client.get_deployment(app_name, id).await,
            "get deployment",
        )?
        .map(deployment))
    }

    async fn get_endpoint(&self, name: &str) -> WsResult<Option<EndpointInfo>> {
        Ok(found(self.client.get_endpoint(name).await, "get serving endpoint")?.map(endpoint))
    }

    async fn create_endpoint(&self, name: &str, config: &EndpointConfig) -> WsResult<EndpointInfo> {
        self.client
            .create_endpoint(name, &endpoint_input(config))
            .await
            .map(endpoint)
            .map_err(err("create serving endpoint"))
    }

    async fn update_endpoint_config(
        &self,
        name: &str,
        config: &EndpointConfig,
    ) -> WsResult<EndpointInfo> {
        self.client
            .update_endpoint_config(name, &endpoint_input(config))
            .await
            .map(endpoint)
            .map_err(err("update serving endpoint"))
    }

    async fn delete_endpoint(&self, name: &str) -> WsResult<()> {
        found(
            self.client.delete_endpoint(name).await,
            "delete serving endpoint",
        )
        .map(|_| ())
    }

    async fn get_permissions(&self, object: &AclObject) -> WsResult<Vec<AclEntry>> {
        let (t, id) = acl_target(object);
        let acl = self
            .client
            .get_permissions(t, id)
            .await
            .map_err(err("get permissions"))?;
        Ok(acl
            .access_control_list
            .into_iter()
            .filter_map(|e| {
                let principal = match (e.user_name, e.group_name, e.service_principal_name) {
                    (Some(u), _, _) => Principal::User(u),
                    (_, Some(g), _) => Principal::Group(g),
                    (_, _, Some(s)) => Principal::ServicePrincipal(s),
                    _ => return None,
                };
                let levels: Vec<String> = e
                    .all_permissions
                    .into_iter()
                    .filter(|p| !p.inherited)
                    .map(|p| p.permission_level)
                    .collect();
                (!levels.is_empty()).then_some(AclEntry { principal, levels })
            })
            .collect())
    }

    async fn update_permissions(
        &self,
        object: &AclObject,
        entries: &[(Principal, String)],
    ) -> WsResult<()> {
        let (t, id) = acl_target(object);
        let list: Vec<dbx::AccessControlRequest> = entries
            .iter()
            .map(|(p, level)| {
                let mut r = dbx::AccessControlRequest {
                    user_name: None,
                    group_name: None,
                    service_principal_name: None,
                    permission_level: level.clone(),
                };
                match p {
                    Principal::User(n) => r.user_name = Some(n.clone()),
                    Principal::Group(n) => r.group_name = Some(n.clone()),
                    Principal::ServicePrincipal(n) => r.service_principal_name = Some(n.clone()),
                }
                r
            })
            .collect();
        self.client
            .update_permissions(t, id, &list)
            .await
            .map(|_| ())
            .map_err(err("update permissions"))
    }

    async fn get_grants(
        &self,
        securable_type: &str,
        full_name: &str,
    ) -> WsResult<Vec<PrivilegeAssignment>> {
        let list = self
            .client
            .get_grants(securable_type, full_name)
            .await
            .map_err(err("get grants"))?;
        Ok(list
            .into_iter()
            .map(|a| PrivilegeAssignment {
                principal: a.principal,
                privileges: a.privileges,
            })
            .collect())
    }

    async fn add_grants(
        &self,
        securable_type: &str,
        full_name: &str,
        changes: &[PrivilegeAssignment],
    ) -> WsResult<()> {
        let changes: Vec<dbx::PermissionsChange> = changes
            .iter()
            .map(|c| dbx::PermissionsChange {
                principal: c.principal.clone(),
                add: c.privileges.clone(),
                remove: Vec::new(),
            })
            .collect();
        self.client
            .update_grants(securable_type, full_name, &changes)
            .await
            .map_err(err("update grants"))
    }

    async fn read_workspace_file(&self, path: &str, max_bytes: u64) -> WsResult<Option<Bytes>> {
        found(
            self.client.export_file(path, max_bytes).await,
            "read workspace file",
        )
    }

    async fn write_workspace_file(
        &self,
        path: &str,
        content: Bytes,
        overwrite: bool,
    ) -> WsResult<CreateOutcome> {
        let folder = path
            .rsplit_once('/')
            .map(|(folder, _)| folder)
            .filter(|f| !f.is_empty());
        let known = folder.is_none_or(|f| self.folder_known(f));
        if let Some(folder) = folder
            && !known
        {
            self.make_folder(folder).await?;
        }
        let mut result = self.client.import_file(path, &content, overwrite).await;
        if let Some(folder) = folder
            && known
            && matches!(&result, Err(e) if e.kind == dbx::ErrorKind::NotFound)
        {
            // The folder went away since this process made it.
            self.remember_folder(folder, false);
            self.make_folder(folder).await?;
            result = self.client.import_file(path, &content, overwrite).await;
        }
        match result {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(e) if !overwrite && e.kind == dbx::ErrorKind::AlreadyExists => {
                Ok(CreateOutcome::AlreadyExists)
            }
            Err(e) => Err(err("write workspace file")(e)),
        }
    }

    async fn delete_workspace_file(&self, path: &str) -> WsResult<()> {
        match self.client.delete_object(path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind == dbx::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(err("delete workspace file")(e)),
        }
    }

    async fn exists(&self, object: &Lookup) -> WsResult<bool> {
        lookups::exists(&self.client, object).await
    }

    async fn current_principal(&self) -> WsResult<String> {
        self.client
            .current_user()
            .await
            .map(|me| me.user_name)
            .map_err(err("check credentials"))
    }

    async fn check_origin(&self, url: &str) -> WsResult<()> {
        self.client
            .check_origin(url)
            .await
            .map(|_| ())
            .map_err(err("check origin"))
    }

    async fn smoke_request(
        &self,
        url: &str,
        path: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> WsResult<SmokeResponse> {
        let a = self
            .client
            .smoke_request(url, path, body, timeout)
            .await
            .map_err(err("smoke request"))?;
        Ok(SmokeResponse {
            status: a.status,
            body: a.body,
            trace_header: a.trace_header,
            latency_ms: u64::try_from(a.latency.as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn mcp_request(
        &self,
        server: &str,
        method: &str,
        params: serde_json::Value,
        session: &McpSession,
        timeout: Duration,
    ) -> WsResult<McpReply> {
        let session = dbx::McpSession {
            id: session.id.clone(),
            protocol_version: session.protocol_version.clone(),
        };
        let answer = self
            .client
            .mcp_request(server, method, params, &session, timeout)
            .await
            .map_err(err("MCP request"))?;
        Ok(McpReply {
            result: answer.result.map_err(|e| RpcFailure {
                code: e.code,
                message: e.message,
            }),
            session_id: answer.session_id,
        })
    }

    async fn execute_statement(
        &self,
        warehouse_id: &str,
        statement: &str,
        params: &[crate::engine::queries::SqlParam],
    ) -> WsResult<crate::engine::queries::StatementAnswer> {
        let params: Vec<dbx::StatementParameter> = params
            .iter()
            .map(|p| dbx::StatementParameter {
                name: p.name.clone(),
                value: p.value.clone(),
                type_: "STRING".into(),
            })
            .collect();
        self.client
            .execute_statement(warehouse_id, statement, &params, STATEMENT_WAIT)
            .await
            .map(statement_answer)
            .map_err(err("execute statement"))
    }

    async fn get_statement(
        &self,
        statement_id: &str,
    ) -> WsResult<crate::engine::queries::StatementAnswer> {
        self.client
            .get_statement(statement_id)
            .await
            .map(statement_answer)
            .map_err(err("get statement"))
    }

    async fn get_trace(
        &self,
        request_id: &str,
    ) -> WsResult<Option<crate::engine::queries::TraceSummary>> {
        let trace = found(self.client.get_trace_info(request_id).await, "get trace")?;
        Ok(trace.map(|t| {
            let model_id = t
                .request_metadata
                .iter()
                .chain(t.tags.iter())
                .find(|m| m.key == "mlflow.modelId")
                .map(|m| m.value.clone())
                .filter(|v| !v.is_empty());
            crate::engine::queries::TraceSummary {
                request_id: t.request_id,
                experiment_id: t.experiment_id,
                model_id,
            }
        }))
    }
}

/// Feeds every client attempt into the operator's metrics.
struct MetricsObserver(Arc<Metrics>);

impl dbx::Observer for MetricsObserver {
    fn observe(&self, a: &dbx::Attempt<'_>) {
        self.0
            .databricks_call(a.route, a.method, a.outcome.as_str(), a.duration);
    }
}

/// Builds clients and caches one per connection (a rotated Secret makes a new one).
#[derive(Default)]
pub struct ClientFactory {
    metrics: Option<Arc<Metrics>>,
    allowed_addresses: Vec<dbx::AddressRange>,
    request_timeout: Option<std::time::Duration>,
    cache: Mutex<HashMap<String, Arc<ClientWorkspace>>>,
}

impl ClientFactory {
    /// A factory whose clients report to `metrics`.
    pub fn with_metrics(metrics: Arc<Metrics>) -> Self {
        ClientFactory {
            metrics: Some(metrics),
            ..ClientFactory::default()
        }
    }

    /// Addresses workspace names may resolve to although clients drop them otherwise (see
    /// [`dbx::ClientBuilder::allow_resolved_addresses`]).
    pub fn allow_resolved_addresses(
        mut self,
        ranges: impl IntoIterator<Item = dbx::AddressRange>,
    ) -> Self {
        self.allowed_addresses.extend(ranges);
        self
    }

    /// How long one request may take before it fails (the client's default otherwise).
    pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
}

impl WorkspaceFactory for ClientFactory {
    type Ws = ClientWorkspace;

    fn connect(&self, connection: &Connection) -> Result<Arc<ClientWorkspace>, ConnectError> {
        let key = connection.cache_key();
        if let Ok(cache) = self.cache.lock()
            && let Some(ws) = cache.get(&key)
        {
            return Ok(Arc::clone(ws));
        }
        let credentials = match &connection.credentials {
            Credentials::Token(t) => dbx::Credentials::Pat(t.clone()),
            Credentials::OAuthM2M {
                client_id,
                client_secret,
            } => dbx::Credentials::OAuthM2M {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            },
            Credentials::WorkloadIdentity { client_id, subject } => {
                dbx::Credentials::WorkloadIdentity {
                    client_id: client_id.clone(),
                    subject: subject.clone(),
                }
            }
        };
        let mut builder = dbx::Client::builder(&connection.host)
            .credentials(credentials)
            .rate_limit(connection.requests_per_second)
            .allow_insecure_http(connection.allow_insecure_http)
            .trusted_origins(connection.trusted_origins.iter().cloned())
            .allow_resolved_addresses(self.allowed_addresses.iter().copied());
        if let Some(timeout) = self.request_timeout {
            builder = builder.request_timeout(timeout);
        }
        if let Some(m) = &self.metrics {
            builder = builder.observer(Arc::new(MetricsObserver(Arc::clone(m))));
        }
        let client = builder.build().map_err(|e| ConnectError {
            host: agentrelease_api::host::redact_userinfo(&connection.host),
            message: e.to_string(),
        })?;
        let ws = Arc::new(ClientWorkspace::new(client));
        if let Ok(mut cache) = self.cache.lock() {
            // A rotated credential leaves its old entry; keep the cache small.
            if cache.len() > 256 {
                cache.clear();
            }
            cache.insert(key, Arc::clone(&ws));
        }
        Ok(ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::SecretString;

    /// A target's host lands in its conditions when the connection fails: a password written
    /// into it must not.
    #[test]
    fn a_host_with_a_password_is_refused_without_showing_it() {
        let connection = Connection {
            host: "https://alice:s3cr3t@adb-1.7.azuredatabricks.net".into(),
            credentials: Credentials::Token(SecretString::new("dapi-token")),
            requests_per_second: 5,
            allow_insecure_http: false,
            trusted_origins: Vec::new(),
        };
        let message = match ClientFactory::default().connect(&connection) {
            Ok(_) => panic!("a host with a user name and password was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains("carries no user name or password"),
            "{message}"
        );
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(!message.contains("alice"), "{message}");
    }
}
