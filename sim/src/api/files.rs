//! The Files API for Unity Catalog volumes (`/api/2.0/fs/files{path}`,
//! `/api/2.0/fs/directories{path}`). Paths live under an existing volume; a missing volume is 404.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Query, empty, ok};
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;
use crate::world::{StoredFile, World, split_volume_path};

/// Where a path lies: its full path, the volume, and the path within the volume.
struct Located {
    full: String,
    rel: String,
}

fn locate(world: &World, raw: &str) -> ApiResult<Located> {
    let full = format!("/{}", raw.trim_start_matches('/'));
    let full = full.trim_end_matches('/').to_string();
    let (volume, rel) = split_volume_path(&full).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid path '{full}': expected /Volumes/<catalog>/<schema>/<volume>/..."
        ))
    })?;
    if !world.volumes.contains(&volume) {
        return Err(ApiError::not_found(format!(
            "The volume '{volume}' does not exist."
        )));
    }
    Ok(Located { full, rel })
}

fn is_dir(world: &World, loc: &Located) -> bool {
    loc.rel.is_empty() || world.dirs.contains(&loc.full)
}

fn http_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

fn file_headers(resp: &mut Response, file: &StoredFile) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&file.content.len().to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(file.modified_ms)) {
        h.insert(header::LAST_MODIFIED, v);
    }
}

/// `GET /api/2.0/fs/files{path}` (HEAD is served by the same handler without a body).
pub async fn download(
    State(s): State<SharedState>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    let loc = locate(&world, &path)?;
    let file = world.files.get(&loc.full).ok_or_else(|| {
        if is_dir(&world, &loc) {
            ApiError::invalid(format!("'{}' is a directory", loc.full))
        } else {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("The file '{}' does not exist.", loc.full),
            )
        }
    })?;
    let mut resp = file.content.clone().into_response();
    file_headers(&mut resp, file);
    Ok(resp)
}

/// `PUT /api/2.0/fs/files{path}?overwrite=`: raw bytes; `overwrite=false` on an existing file is 409.
pub async fn upload(
    State(s): State<SharedState>,
    Path(path): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let overwrite = q.flag("overwrite")?.unwrap_or(true);
    let mut world = s.world();
    let loc = locate(&world, &path)?;
    if loc.rel.is_empty() || world.dirs.contains(&loc.full) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            format!("'{}' is a directory", loc.full),
        ));
    }
    if world.files.contains_key(&loc.full) && !overwrite {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            format!("The file '{}' already exists.", loc.full),
        ));
    }
    // Parents are created implicitly, as the real service does; a file on the way is refused.
    let mut parents = Vec::new();
    let mut cur = loc.full.as_str();
    while let Some((parent, _)) = cur.rsplit_once('/') {
        match split_volume_path(parent) {
            Some((_, rel)) if !rel.is_empty() => {
                if world.files.contains_key(parent) {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "ALREADY_EXISTS",
                        format!("'{parent}' is a file, not a directory"),
                    ));
                }
                parents.push(parent.to_string());
                cur = parent;
            }
            _ => break,
        }
    }
    world.dirs.extend(parents);
    let now = world.now();
    world.files.insert(
        loc.full,
        StoredFile {
            content: body,
            modified_ms: now,
        },
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/2.0/fs/files{path}`.
pub async fn delete_file(
    State(s): State<SharedState>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let mut world = s.world();
    let loc = locate(&world, &path)?;
    if world.files.remove(&loc.full).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The file '{}' does not exist.", loc.full),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/2.0/fs/directories{path}?page_size=&page_token=`.
pub async fn list_directory(
    State(s): State<SharedState>,
    Path(path): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let size = q.number("page_size")?.unwrap_or(1000).clamp(1, 1000) as usize;
    let world = s.world();
    let loc = locate(&world, &path)?;
    if !is_dir(&world, &loc) {
        return Err(if world.files.contains_key(&loc.full) {
            ApiError::invalid(format!("'{}' is not a directory", loc.full))
        } else {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("The directory '{}' does not exist.", loc.full),
            )
        });
    }
    let prefix = format!("{}/", loc.full);
    let direct = |p: &String| p.starts_with(&prefix) && !p[prefix.len()..].contains('/');
    let mut entries: Vec<(String, Value)> = world
        .dirs
        .range(prefix.clone()..)
        .take_while(|p| p.starts_with(&prefix))
        .filter(|p| direct(p))
        .map(|p| {
            let name = p[prefix.len()..].to_string();
            (
                name.clone(),
                json!({"path": format!("{p}/"), "name": name, "is_directory": true}),
            )
        })
        .collect();
    entries.extend(
        world
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| direct(p))
            .map(|(p, f)| {
                let name = p[prefix.len()..].to_string();
                (
                    name.clone(),
                    json!({"path": p, "name": name, "is_directory": false,
                    "file_size": f.content.len(), "last_modified": f.modified_ms}),
                )
            }),
    );
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let all: Vec<Value> = entries.into_iter().map(|(_, v)| v).collect();
    let (items, next) = super::page(&all, q.get("page_token"), size)?;
    let mut v = json!({"contents": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

/// `PUT /api/2.0/fs/directories{path}`: mkdir -p; 409 when a file is in the way.
pub async fn create_directory(
    State(s): State<SharedState>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let mut world = s.world();
    let loc = locate(&world, &path)?;
    let mut cur = loc.full.clone();
    let mut created = Vec::new();
    loop {
        match split_volume_path(&cur) {
            Some((_, rel)) if !rel.is_empty() => {
                if world.files.contains_key(&cur) {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "ALREADY_EXISTS",
                        format!("'{cur}' is a file"),
                    ));
                }
                created.push(cur.clone());
                match cur.rsplit_once('/') {
                    Some((parent, _)) => cur = parent.to_string(),
                    None => break,
                }
            }
            _ => break,
        }
    }
    world.dirs.extend(created);
    Ok(empty())
}

/// `HEAD /api/2.0/fs/directories{path}`.
pub async fn directory_exists(
    State(s): State<SharedState>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    let loc = locate(&world, &path)?;
    if is_dir(&world, &loc) {
        Ok(StatusCode::OK.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The directory does not exist.",
        ))
    }
}

/// `DELETE /api/2.0/fs/directories{path}`: only empty directories.
pub async fn delete_directory(
    State(s): State<SharedState>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let mut world = s.world();
    let loc = locate(&world, &path)?;
    if !world.dirs.contains(&loc.full) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The directory does not exist.",
        ));
    }
    let prefix = format!("{}/", loc.full);
    let busy = world
        .files
        .range(prefix.clone()..)
        .next()
        .is_some_and(|(p, _)| p.starts_with(&prefix))
        || world
            .dirs
            .range(prefix.clone()..)
            .next()
            .is_some_and(|p| p.starts_with(&prefix));
    if busy {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "FILES_API_DIRECTORY_IS_NOT_EMPTY",
            format!("The directory '{}' is not empty.", loc.full),
        ));
    }
    world.dirs.remove(&loc.full);
    Ok(StatusCode::NO_CONTENT.into_response())
}
