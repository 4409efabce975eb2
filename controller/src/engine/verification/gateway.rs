//! The gateway check (`GatewayVerified`): after the chat call, the AI gateway's payload table
//! must hold a row whose `databricks_request_id` is the call's trace request id, and its usage
//! table must have grown past the count read just before the call. Both are read with the SQL
//! Statement Execution API on the target's warehouse; the request id goes in as a named
//! parameter, and the table names (validated three-part names) are quoted, so no text of the
//! spec or the answer becomes SQL. A statement still running after the request's wait is asked
//! for again by id on the next pass.

use agentrelease_api::names;
use agentrelease_api::status::PostCheckRecord;
use agentrelease_api::target::{CheckMode, GatewaySpec};

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::queries::{SqlParam, StatementState};
use crate::engine::verification::post_check::{self, Check, Look};
use crate::engine::workspace::Workspace;

/// The gateway's tables as the check reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// The warehouse.
    pub warehouse_id: String,
    /// The payload table, as declared.
    pub payload: String,
    /// The usage table, as declared.
    pub usage: Option<String>,
    /// How a failure counts.
    pub mode: CheckMode,
}

/// The tables the target declares, when the check applies.
pub fn tables(gateway: Option<&GatewaySpec>) -> Option<Tables> {
    let g = gateway?;
    Some(Tables {
        warehouse_id: g.warehouse_id.clone()?,
        payload: g.payload_table.clone()?,
        usage: g.usage_table.clone(),
        mode: g.mode,
    })
}

/// Whether the check applies to the release: an app, a chat check, declared tables.
pub fn applies(ctx: &crate::engine::context::ReleaseContext) -> bool {
    ctx.spec.app.is_some()
        && ctx
            .spec
            .verification
            .as_ref()
            .is_some_and(|v| v.chat.is_some())
        && tables(ctx.target.gateway.as_ref()).is_some()
}

/// `catalog.schema.table` quoted part by part (pure); a name that is not a plain three-part
/// name is refused, so it can never carry SQL.
pub fn quoted_table(name: &str) -> Result<String, String> {
    let valid = regex::Regex::new(names::SQL_TABLE_NAME)
        .map(|re| re.is_match(name))
        .unwrap_or(false);
    if !valid {
        return Err(format!(
            "{name:?} is not a three-part table name of letters, digits, '_' and '-'"
        ));
    }
    Ok(name
        .split('.')
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join("."))
}

/// The statement finding the call's payload row.
pub fn payload_match_sql(table: &str) -> String {
    format!(
        "SELECT databricks_request_id FROM {table} WHERE databricks_request_id = :request_id LIMIT 1"
    )
}

/// The statement listing the newest payload rows' request ids (what was seen instead).
pub fn payload_recent_sql(table: &str) -> String {
    format!("SELECT databricks_request_id FROM {table} ORDER BY request_time DESC LIMIT 5")
}

/// The statement counting the usage rows.
pub fn usage_count_sql(table: &str) -> String {
    format!("SELECT count(*) AS usage_count FROM {table}")
}

/// What a statement came to.
enum Rows {
    /// It succeeded with these rows.
    Done(Vec<Vec<Option<String>>>),
    /// It is still running (its id is kept in the record).
    Running,
    /// It failed: the warehouse's error, or a refusal of the request.
    Failed(String),
}

/// Runs one statement of a look, or asks for the one of the same `purpose` left running.
async fn statement<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    record: &mut PostCheckRecord,
    purpose: &str,
    warehouse_id: &str,
    sql: &str,
    params: &[SqlParam],
) -> Result<Rows, StepResult> {
    let pending = record
        .pending_statement
        .as_deref()
        .and_then(|p| p.strip_prefix(&format!("{purpose}:")))
        .map(str::to_string);
    let answer = match pending {
        Some(id) => pass.ws.get_statement(&id).await,
        None => pass.ws.execute_statement(warehouse_id, sql, params).await,
    };
    let answer = match answer {
        Ok(a) => a,
        Err(e) if e.kind.is_transient() => return Err(StepResult::from_workspace(&e)),
        Err(e) => return Ok(Rows::Failed(e.to_string())),
    };
    Ok(match answer.state {
        StatementState::Running => {
            record.pending_statement = Some(format!("{purpose}:{}", answer.id));
            Rows::Running
        }
        StatementState::Succeeded => {
            record.pending_statement = None;
            Rows::Done(answer.rows)
        }
        StatementState::Failed => {
            record.pending_statement = None;
            Rows::Failed(
                answer
                    .error
                    .unwrap_or_else(|| "the statement failed".into()),
            )
        }
    })
}

fn first_number(rows: &[Vec<Option<String>>]) -> Option<i64> {
    rows.first()?.first()?.as_deref()?.trim().parse().ok()
}

/// Counts the usage rows just before the chat call, so the check can see them grow. Called by
/// the verification step before it sends the chat call; does nothing unless a usage table is
/// declared.
pub async fn before_chat<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
) -> Result<(), StepResult> {
    let Some(t) = tables(pass.ctx.target.gateway.as_ref()) else {
        return Ok(());
    };
    let Some(usage) = t.usage.as_deref() else {
        return Ok(());
    };
    if pass.effects.planning() || !applies(pass.ctx) {
        return Ok(());
    }
    let deployment_id = pass.status.deployment_id.clone().unwrap_or_default();
    let mut record = post_check::record(pass, Check::Gateway, &deployment_id, None);
    record.usage_before = match quoted_table(usage) {
        Err(_) => None,
        Ok(table) => {
            match statement(
                pass,
                &mut record,
                "baseline",
                &t.warehouse_id,
                &usage_count_sql(&table),
                &[],
            )
            .await?
            {
                Rows::Done(rows) => first_number(&rows),
                Rows::Running => {
                    // Asked for by id on the next pass.
                    pass.status.gateway_check = Some(record);
                    return Err(StepResult::waiting(
                        agentrelease_api::conditions::reasons::WAITING,
                        format!("counting the rows of {usage} before the chat call"),
                        post_check::POLL_EVERY,
                    ));
                }
                // The check itself reports the failing statement.
                Rows::Failed(_) => None,
            }
        }
    };
    record.pending_statement = None;
    record.trace_request_id = None;
    record.started_at = None;
    record.passed = None;
    record.last_result = None;
    pass.status.gateway_check = Some(record);
    Ok(())
}

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let Some(t) = tables(pass.ctx.target.gateway.as_ref()).filter(|_| applies(pass.ctx)) else {
        return StepResult::NotApplicable;
    };
    let deployment_id = pass.status.deployment_id.clone().unwrap_or_default();
    let identity = pass.identity_digest();
    let trace = pass
        .status
        .verification
        .as_ref()
        .filter(|v| v.is_for(&deployment_id, identity.as_deref()) && v.passed)
        .and_then(|v| v.chat.as_ref())
        .and_then(|c| c.trace_request_id.clone());
    if pass.effects.planning() {
        return StepResult::done(
            agentrelease_api::conditions::reasons::GATEWAY_VERIFIED,
            format!("would look for the chat call's row in {}", t.payload),
        );
    }
    let mut record = post_check::record(pass, Check::Gateway, &deployment_id, trace.as_deref());
    if let Some(done) = post_check::concluded(Check::Gateway, t.mode, &record) {
        return done;
    }
    let look = match look(pass, &t, &mut record, trace.as_deref()).await {
        Ok(look) => look,
        Err(stop) => return stop,
    };
    let verdict = post_check::decide(look, post_check::elapsed(&record, pass.now()));
    post_check::conclude(pass, Check::Gateway, t.mode, record, verdict).await
}

/// One look at the tables.
async fn look<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    t: &Tables,
    record: &mut PostCheckRecord,
    trace: Option<&str>,
) -> Result<Look, StepResult> {
    let Some(trace) = trace else {
        return Ok(Look::Wrong(
            "the chat call returned no trace request id (x-mlflow-trace-id header or databricks_output.trace.info.trace_id), so no payload row can be matched to it".into(),
        ));
    };
    let payload = match quoted_table(&t.payload) {
        Ok(q) => q,
        Err(e) => return Ok(Look::Wrong(format!("gateway.payloadTable {e}"))),
    };
    let param = [SqlParam {
        name: "request_id".into(),
        value: trace.to_string(),
    }];
    let wh = &t.warehouse_id;
    let mut missing = Vec::new();
    let mut found = Vec::new();
    match statement(
        pass,
        record,
        "payload",
        wh,
        &payload_match_sql(&payload),
        &param,
    )
    .await?
    {
        Rows::Failed(e) => {
            return Ok(Look::Wrong(format!(
                "the query of the payload table {} failed: {e}",
                t.payload
            )));
        }
        Rows::Running => missing.push(format!("the query of {} is still running", t.payload)),
        Rows::Done(rows) if !rows.is_empty() => {
            found.push(format!("{} has the row of request {trace}", t.payload))
        }
        Rows::Done(_) => {
            let seen = match statement(
                pass,
                record,
                "recent",
                wh,
                &payload_recent_sql(&payload),
                &[],
            )
            .await?
            {
                Rows::Done(rows) if rows.is_empty() => "no rows".to_string(),
                Rows::Done(rows) => format!(
                    "the newest rows carry [{}]",
                    rows.iter()
                        .map(|r| r
                            .first()
                            .cloned()
                            .flatten()
                            .unwrap_or_else(|| "null".into()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Rows::Running | Rows::Failed(_) => "no readable rows".to_string(),
            };
            missing.push(format!(
                "expected a row in {} with databricks_request_id = {trace}, saw {seen}",
                t.payload
            ));
        }
    }
    if let Some(usage_name) = &t.usage {
        let usage = match quoted_table(usage_name) {
            Ok(q) => q,
            Err(e) => return Ok(Look::Wrong(format!("gateway.usageTable {e}"))),
        };
        match statement(pass, record, "usage", wh, &usage_count_sql(&usage), &[]).await? {
            Rows::Failed(e) => {
                return Ok(Look::Wrong(format!(
                    "the query of the usage table {usage_name} failed: {e}"
                )));
            }
            Rows::Running => missing.push(format!("the query of {usage_name} is still running")),
            Rows::Done(rows) => match (record.usage_before, first_number(&rows)) {
                (_, None) => {
                    return Ok(Look::Wrong(format!(
                        "the row count of {usage_name} is not a number"
                    )));
                }
                (None, Some(now)) => found.push(format!(
                    "{usage_name} has {now} rows (not compared: no count before the call)"
                )),
                (Some(before), Some(now)) if now > before => {
                    found.push(format!("{usage_name} rows {before} -> {now}"))
                }
                (Some(before), Some(now)) => missing.push(format!(
                    "expected the rows of {usage_name} to grow past {before} after the chat call, saw {now}"
                )),
            },
        }
    }
    Ok(if missing.is_empty() {
        Look::Found(found.join("; "))
    } else {
        Look::Missing(missing.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_quoted_and_anything_else_refused() {
        assert_eq!(
            quoted_table("main.gateway.payload").as_deref(),
            Ok("`main`.`gateway`.`payload`")
        );
        assert!(quoted_table("main.gateway").is_err());
        assert!(quoted_table("main.gw.t`; DROP TABLE x; --").is_err());
        assert!(quoted_table("a.b.c d").is_err());
    }

    #[test]
    fn the_request_id_is_a_parameter_never_text() {
        let sql = payload_match_sql("`a`.`b`.`c`");
        assert!(sql.contains(":request_id"), "{sql}");
        assert!(!sql.contains("tr-"), "{sql}");
    }

    #[test]
    fn counts_are_read_from_the_first_cell() {
        assert_eq!(first_number(&[vec![Some("12".into())]]), Some(12));
        assert_eq!(first_number(&[vec![None]]), None);
        assert_eq!(first_number(&[]), None);
    }
}
