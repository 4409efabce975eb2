//! The SQL Statement Execution API (`/api/2.0/sql/statements`) over the simulated AI gateway's
//! tables. The simulator runs one statement shape, which covers what the operator and the
//! conformance suite send:
//!
//! `SELECT <*|count(*) [AS alias]|col, ...> FROM <catalog.schema.table>
//!  [WHERE <col> = <:param|'literal'>] [ORDER BY <col> [ASC|DESC]] [LIMIT <n>]`
//!
//! Table names may be backtick-quoted per part. Anything else fails the statement (state
//! `FAILED`, as a warehouse reports a SQL error), so a client never gets an answer the real
//! warehouse would not give. Results are inline `JSON_ARRAY` (every value a string or null).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{field, ok};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::gateway::Row;
use crate::shared::SharedState;
use crate::world::World;

/// A parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Select {
    /// `None`: `count(*)` with its alias.
    columns: Option<Vec<String>>,
    count_alias: String,
    table: String,
    filter: Option<(String, String)>,
    order: Option<(String, bool)>,
    limit: Option<usize>,
}

fn statement_re() -> Option<regex::Regex> {
    regex::Regex::new(
        r"(?is)^\s*SELECT\s+(?P<cols>.+?)\s+FROM\s+(?P<table>[`A-Za-z0-9_.-]+)(?:\s+WHERE\s+(?P<wcol>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<wval>:[A-Za-z_][A-Za-z0-9_]*|'[^']*'))?(?:\s+ORDER\s+BY\s+(?P<ocol>[A-Za-z_][A-Za-z0-9_]*)(?:\s+(?P<odir>ASC|DESC))?)?(?:\s+LIMIT\s+(?P<limit>[0-9]+))?\s*;?\s*$",
    )
    .ok()
}

/// Parses the statement, binding `:name` parameters; `Err` is the SQL error.
fn parse(sql: &str, params: &[(String, String)]) -> Result<Select, SqlError> {
    let syntax = || {
        (
            "PARSE_SYNTAX_ERROR",
            "the simulator runs SELECT <columns|count(*)> FROM <table> [WHERE col = :param] [ORDER BY col] [LIMIT n] only".to_string(),
        )
    };
    let caps = statement_re()
        .and_then(|re| re.captures(sql))
        .ok_or_else(syntax)?;
    let cols = caps.name("cols").map_or("", |m| m.as_str()).trim();
    let count = regex::Regex::new(r"(?i)^count\(\s*\*\s*\)(?:\s+AS\s+([A-Za-z_][A-Za-z0-9_]*))?$")
        .ok()
        .and_then(|re| {
            re.captures(cols)
                .map(|c| c.get(1).map_or("count(1)", |m| m.as_str()).to_string())
        });
    let columns = match &count {
        Some(_) => None,
        None if cols == "*" => Some(Vec::new()),
        None => {
            let list: Vec<String> = cols.split(',').map(|c| c.trim().to_string()).collect();
            if list
                .iter()
                .any(|c| c.is_empty() || !c.chars().all(|x| x.is_ascii_alphanumeric() || x == '_'))
            {
                return Err(syntax());
            }
            Some(list)
        }
    };
    let filter = match (caps.name("wcol"), caps.name("wval")) {
        (Some(c), Some(v)) => {
            let raw = v.as_str();
            let value = match raw.strip_prefix(':') {
                Some(name) => params
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        (
                            "UNBOUND_SQL_PARAMETER",
                            format!("Found the unbound parameter: {name}."),
                        )
                    })?,
                None => raw.trim_matches('\'').to_string(),
            };
            Some((c.as_str().to_string(), value))
        }
        _ => None,
    };
    Ok(Select {
        columns,
        count_alias: count.unwrap_or_default(),
        table: caps
            .name("table")
            .map_or("", |m| m.as_str())
            .replace('`', ""),
        filter,
        order: caps.name("ocol").map(|c| {
            (
                c.as_str().to_string(),
                caps.name("odir")
                    .is_some_and(|d| d.as_str().eq_ignore_ascii_case("DESC")),
            )
        }),
        limit: caps.name("limit").and_then(|l| l.as_str().parse().ok()),
    })
}

fn cell(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => json!(s),
        Some(other) => json!(other.to_string()),
    }
}

/// A SQL error: its class and message.
type SqlError = (&'static str, String);

/// A result: column names and rows.
type Table = (Vec<String>, Vec<Vec<Value>>);

/// Runs a parsed statement on the world's tables: `(columns, rows)` or the SQL error.
fn run(world: &World, q: &Select) -> Result<Table, SqlError> {
    let empty: Vec<Row> = Vec::new();
    let (all_columns, rows): (Vec<&str>, &[Row]) = match world.observability.table(&q.table) {
        Some((cols, rows)) => (cols.to_vec(), rows),
        None if world
            .tables
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&q.table)) =>
        {
            (Vec::new(), &empty)
        }
        None => {
            return Err((
                "TABLE_OR_VIEW_NOT_FOUND",
                format!("The table or view `{}` cannot be found.", q.table),
            ));
        }
    };
    let known = |c: &str| all_columns.is_empty() || all_columns.contains(&c);
    for c in q
        .columns
        .iter()
        .flatten()
        .chain(q.filter.iter().map(|(c, _)| c))
        .chain(q.order.iter().map(|(c, _)| c))
    {
        if !known(c) {
            return Err((
                "UNRESOLVED_COLUMN",
                format!("A column with name `{c}` cannot be resolved."),
            ));
        }
    }
    let mut selected: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            q.filter
                .as_ref()
                .is_none_or(|(c, v)| cell(r.get(c.as_str())) == json!(v))
        })
        .collect();
    if let Some((col, desc)) = &q.order {
        selected.sort_by(|a, b| {
            let key = |r: &Row| cell(r.get(col.as_str())).to_string();
            key(a).cmp(&key(b))
        });
        if *desc {
            selected.reverse();
        }
    }
    if let Some(n) = q.limit {
        selected.truncate(n);
    }
    match &q.columns {
        None => Ok((
            vec![q.count_alias.clone()],
            vec![vec![json!(selected.len().to_string())]],
        )),
        Some(cols) => {
            let cols: Vec<String> = if cols.is_empty() {
                all_columns.iter().map(|c| c.to_string()).collect()
            } else {
                cols.clone()
            };
            let data = selected
                .iter()
                .map(|r| cols.iter().map(|c| cell(r.get(c.as_str()))).collect())
                .collect();
            Ok((cols, data))
        }
    }
}

fn succeeded(id: &str, columns: &[String], rows: Vec<Vec<Value>>) -> Value {
    let n = rows.len();
    json!({
        "statement_id": id,
        "status": {"state": "SUCCEEDED"},
        "manifest": {
            "format": "JSON_ARRAY",
            "schema": {
                "column_count": columns.len(),
                "columns": columns.iter().enumerate().map(|(i, c)| json!({
                    "name": c, "position": i, "type_name": "STRING", "type_text": "STRING"
                })).collect::<Vec<_>>(),
            },
            "total_row_count": n,
            "total_chunk_count": 1,
            "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": n}],
            "truncated": false,
        },
        "result": {"chunk_index": 0, "row_offset": 0, "row_count": n, "data_array": rows},
    })
}

fn failed(id: &str, code: &str, message: &str) -> Value {
    json!({
        "statement_id": id,
        "status": {"state": "FAILED", "error": {"error_code": "BAD_REQUEST", "message": format!("[{code}] {message}")}},
    })
}

/// `wait_timeout`: `0s` or 5 to 50 seconds, as the API allows.
fn check_wait(body: &Value) -> ApiResult<()> {
    let Some(w) = body.get("wait_timeout").and_then(Value::as_str) else {
        return Ok(());
    };
    let secs = w.strip_suffix('s').and_then(|n| n.parse::<u64>().ok());
    match secs {
        Some(0) | Some(5..=50) => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "wait_timeout must be 0s or between 5s and 50s, got '{w}'"
        ))),
    }
}

/// `POST /api/2.0/sql/statements`.
pub async fn execute(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let warehouse = field(&body, "warehouse_id")?.to_string();
    let sql = field(&body, "statement")?.to_string();
    check_wait(&body)?;
    let params: Vec<(String, String)> = match body.get("parameters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|p| {
                let name = field(p, "name")?.to_string();
                let value = p
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                Ok((name, value))
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(ApiError::invalid("parameters must be a list")),
    };
    let mut world = s.world();
    if !world.warehouses.contains_key(&warehouse) {
        return Err(ApiError::not_found(format!(
            "Warehouse {warehouse} does not exist."
        )));
    }
    let id = format!("01ef{}", world.next_hex().get(4..).unwrap_or_default());
    let answer = match parse(&sql, &params).and_then(|q| run(&world, &q)) {
        Ok((cols, rows)) => succeeded(&id, &cols, rows),
        Err((code, message)) => failed(&id, code, &message),
    };
    world
        .observability
        .statements
        .insert(id.clone(), answer.clone());
    if world.observability.hold_statements > 0 {
        world.observability.hold_statements -= 1;
        world.observability.held.insert(id.clone(), 1);
        return Ok(ok(
            json!({"statement_id": id, "status": {"state": "PENDING"}}),
        ));
    }
    Ok(ok(answer))
}

/// `GET /api/2.0/sql/statements/{statement_id}`.
pub async fn get(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let mut world = s.world();
    let Some(answer) = world.observability.statements.get(&id).cloned() else {
        return Err(ApiError::not_found(format!(
            "Statement {id} does not exist."
        )));
    };
    if let Some(left) = world.observability.held.get_mut(&id) {
        if *left > 0 {
            *left -= 1;
            return Ok(ok(
                json!({"statement_id": id, "status": {"state": "RUNNING"}}),
            ));
        }
        world.observability.held.remove(&id);
    }
    Ok(ok(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supported_shape_parses_and_binds_parameters() {
        let q = parse(
            "SELECT databricks_request_id FROM `main`.`gw`.`payload` WHERE databricks_request_id = :request_id LIMIT 1",
            &[("request_id".into(), "tr-1".into())],
        )
        .unwrap();
        assert_eq!(q.table, "main.gw.payload");
        assert_eq!(
            q.filter,
            Some(("databricks_request_id".into(), "tr-1".into()))
        );
        assert_eq!(q.limit, Some(1));
        let q = parse("select count(*) as n from a.b.c", &[]).unwrap();
        assert_eq!((q.columns, q.count_alias.as_str()), (None, "n"));
    }

    #[test]
    fn other_sql_and_unbound_parameters_fail() {
        assert_eq!(
            parse("DROP TABLE a.b.c", &[]).unwrap_err().0,
            "PARSE_SYNTAX_ERROR"
        );
        assert_eq!(
            parse("SELECT x FROM a.b.c WHERE x = :y", &[])
                .unwrap_err()
                .0,
            "UNBOUND_SQL_PARAMETER"
        );
        assert_eq!(
            parse("SELECT x FROM a.b.c; DELETE FROM a.b.c", &[])
                .unwrap_err()
                .0,
            "PARSE_SYNTAX_ERROR"
        );
    }
}
