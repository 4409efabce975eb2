//! The workspace tree (`/api/2.0/workspace/...`): get-status, list, mkdirs, import, export,
//! delete. `/Workspace/x` and `/x` name the same object.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::{Query, empty, field, ok, opt_field};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::shared::SharedState;
use crate::world::{World, WsObject, workspace_key};

fn key(path: &str) -> ApiResult<String> {
    workspace_key(path).ok_or_else(|| {
        ApiError::invalid(format!(
            "Path ({path}) doesn't start with '/' or is not normalized"
        ))
    })
}

fn missing(path: &str) -> ApiError {
    ApiError::not_found(format!("Path ({path}) doesn't exist."))
}

fn object_json(path: &str, obj: &WsObject) -> Value {
    match obj {
        WsObject::Directory { id } => {
            json!({"object_type": "DIRECTORY", "path": path, "object_id": id, "resource_id": id.to_string()})
        }
        WsObject::File {
            id,
            content,
            modified_ms,
        } => json!({
            "object_type": "FILE", "path": path, "object_id": id, "resource_id": id.to_string(),
            "size": content.len(), "created_at": modified_ms, "modified_at": modified_ms,
        }),
    }
}

/// Creates a folder and its parents; refuses when a file sits on the way.
pub fn mkdirs_in(world: &mut World, key: &str) -> ApiResult<()> {
    let mut prefix = String::new();
    for seg in key.split('/').filter(|s| !s.is_empty()) {
        prefix.push('/');
        prefix.push_str(seg);
        match world.workspace.get(&prefix) {
            Some(WsObject::Directory { .. }) => {}
            Some(WsObject::File { .. }) => {
                return Err(ApiError::bad_request_exists(format!(
                    "Cannot create directory {key}: {prefix} is a file"
                )));
            }
            None => {
                let id = i64::try_from(world.next_number()).unwrap_or(0) + 1_000_000;
                world
                    .workspace
                    .insert(prefix.clone(), WsObject::Directory { id });
            }
        }
    }
    Ok(())
}

/// Writes a file (creating parents), replacing one only when `overwrite`.
pub fn write_file_in(
    world: &mut World,
    key: &str,
    content: Bytes,
    overwrite: bool,
) -> ApiResult<()> {
    let parent = key.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    if !parent.is_empty() {
        mkdirs_in(world, parent)?;
    }
    match world.workspace.get(key) {
        Some(WsObject::Directory { .. }) => {
            return Err(ApiError::bad_request_exists(format!(
                "{key} is a directory"
            )));
        }
        Some(WsObject::File { .. }) if !overwrite => {
            return Err(ApiError::bad_request_exists(format!(
                "Node named '{}' already exists",
                key.rsplit('/').next().unwrap_or(key)
            )));
        }
        _ => {}
    }
    let id = i64::try_from(world.next_number()).unwrap_or(0) + 1_000_000;
    let now = world.now();
    world.workspace.insert(
        key.to_string(),
        WsObject::File {
            id,
            content,
            modified_ms: now,
        },
    );
    Ok(())
}

/// `GET /api/2.0/workspace/get-status?path=`.
pub async fn get_status(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let path = q.required("path")?;
    let k = key(path)?;
    let world = s.world();
    let obj = world.workspace.get(&k).ok_or_else(|| missing(path))?;
    Ok(ok(object_json(path, obj)))
}

/// `GET /api/2.0/workspace/list?path=`.
pub async fn list(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let path = q.required("path")?;
    let k = key(path)?;
    let world = s.world();
    match world.workspace.get(&k) {
        Some(WsObject::Directory { .. }) => {}
        Some(_) => return Err(ApiError::invalid(format!("{path} is not a directory"))),
        None => return Err(missing(path)),
    }
    let prefix = if k == "/" {
        "/".to_string()
    } else {
        format!("{k}/")
    };
    let display_prefix = path.trim_end_matches('/');
    let objects: Vec<Value> = world
        .workspace
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter(|(p, _)| !p[prefix.len()..].contains('/'))
        .map(|(p, o)| object_json(&format!("{display_prefix}/{}", &p[prefix.len()..]), o))
        .collect();
    Ok(ok(json!({"objects": objects})))
}

/// `POST /api/2.0/workspace/mkdirs`.
pub async fn mkdirs(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let k = key(field(&body, "path")?)?;
    mkdirs_in(&mut s.world(), &k)?;
    Ok(empty())
}

/// `POST /api/2.0/workspace/import`: the JSON form (base64 `content`) or the multipart form the
/// SDK's `workspace.upload` sends (fields `path`, `format`, `language`, `overwrite`, file `content`).
pub async fn import(State(s): State<SharedState>, req: Request) -> ApiResult<Response> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let form = if multipart {
        let mut parts = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::invalid(format!("Malformed multipart request: {e}")))?;
        let mut form = ImportForm::default();
        while let Some(field) = parts
            .next_field()
            .await
            .map_err(|e| ApiError::invalid(format!("Malformed multipart request: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let data = field
                .bytes()
                .await
                .map_err(|e| ApiError::invalid(format!("Malformed multipart field {name}: {e}")))?;
            let text = || String::from_utf8_lossy(&data).into_owned();
            match name.as_str() {
                "path" => form.path = Some(text()),
                "format" => form.format = Some(text()),
                "language" => form.language = Some(text()),
                "overwrite" => form.overwrite = text().eq_ignore_ascii_case("true"),
                "content" => form.content = data.to_vec(),
                _ => {}
            }
        }
        form
    } else {
        let bytes = Bytes::from_request(req, &())
            .await
            .map_err(|e| ApiError::invalid(format!("Unreadable request body: {e}")))?;
        let body: Value = parse_body(&bytes)?;
        let content = opt_field(&body, "content")?.unwrap_or("");
        ImportForm {
            path: opt_field(&body, "path")?.map(str::to_string),
            format: opt_field(&body, "format")?.map(str::to_string),
            language: opt_field(&body, "language")?.map(str::to_string),
            overwrite: body
                .get("overwrite")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            content: base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|e| ApiError::invalid(format!("content is not valid base64: {e}")))?,
        }
    };
    let path = form
        .path
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required field: path"))?;
    let k = key(&path)?;
    let format = form.format.unwrap_or_else(|| "SOURCE".to_string());
    if ![
        "AUTO",
        "SOURCE",
        "HTML",
        "JUPYTER",
        "DBC",
        "R_MARKDOWN",
        "RAW",
    ]
    .contains(&format.as_str())
    {
        return Err(ApiError::invalid(format!("Invalid format '{format}'")));
    }
    if format == "SOURCE" && form.language.is_none() {
        return Err(ApiError::invalid(
            "The language is required when importing with format SOURCE; use AUTO for files",
        ));
    }
    if form.content.len() > 10 * 1024 * 1024 {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "MAX_NOTEBOOK_SIZE_EXCEEDED",
            "File size imported exceeds the maximum of 10 MB",
        ));
    }
    let mut world = s.world();
    let parent = k.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    if !parent.is_empty()
        && !matches!(
            world.workspace.get(parent),
            Some(WsObject::Directory { .. })
        )
    {
        return Err(ApiError::not_found(format!(
            "The parent folder ({parent}) does not exist."
        )));
    }
    write_file_in(&mut world, &k, Bytes::from(form.content), form.overwrite)?;
    Ok(empty())
}

/// The fields of an import, from either form.
#[derive(Debug, Default)]
struct ImportForm {
    path: Option<String>,
    format: Option<String>,
    language: Option<String>,
    overwrite: bool,
    content: Vec<u8>,
}

/// `GET /api/2.0/workspace/export?path=&direct_download=`.
pub async fn export(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let path = q.required("path")?;
    let direct = q.flag("direct_download")?.unwrap_or(false);
    let k = key(path)?;
    let world = s.world();
    let content = match world.workspace.get(&k) {
        Some(WsObject::File { content, .. }) => content.clone(),
        Some(_) => return Err(ApiError::invalid(format!("{path} is a directory"))),
        None => return Err(missing(path)),
    };
    if direct {
        return Ok((
            [(header::CONTENT_TYPE, "application/octet-stream")],
            content,
        )
            .into_response());
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&content);
    Ok(ok(json!({"content": encoded, "file_type": "FILE"})))
}

/// `POST /api/2.0/workspace/delete`.
pub async fn delete(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let path = field(&body, "path")?;
    let k = key(path)?;
    let recursive = body
        .get("recursive")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut world = s.world();
    if !world.workspace.contains_key(&k) {
        return Err(missing(path));
    }
    let prefix = format!("{k}/");
    let children: Vec<String> = world
        .workspace
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .map(|(p, _)| p.clone())
        .collect();
    if !children.is_empty() && !recursive {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "DIRECTORY_NOT_EMPTY",
            format!("Folder ({path}) is not empty"),
        ));
    }
    for c in children {
        world.workspace.remove(&c);
    }
    world.workspace.remove(&k);
    Ok(empty())
}
