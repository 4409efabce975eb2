//! The chat check: the body sent to the app's OpenAI-compatible chat completions API, and the
//! judgement of its answer (a non-empty assistant message, each `expect` rule, the trace
//! request id).

use agentrelease_api::release::{ChatCheck, ChatExpect};
use serde_json::{Value, json};

/// The longest part of an answer shown in a message.
const SHOWN: usize = 160;

/// What the judgement found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatVerdict {
    /// `None` when every rule holds; else what was expected and what was seen.
    pub failure: Option<String>,
    /// The trace request id (header first, then the body).
    pub trace_request_id: Option<String>,
    /// The assistant message, shortened.
    pub shown: String,
}

/// The request body: one user message, not streamed.
pub fn request_body(check: &ChatCheck) -> String {
    json!({"messages": [{"role": "user", "content": check.prompt}], "stream": false}).to_string()
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(SHOWN).collect();
    if s.chars().count() > SHOWN {
        out.push('…');
    }
    out
}

/// The trace request id in an answer body: `databricks_output.trace.info.trace_id` (or
/// `request_id`), or a top-level `trace_id`.
fn trace_in_body(v: &Value) -> Option<String> {
    let info = v.pointer("/databricks_output/trace/info");
    info.and_then(|i| i.get("trace_id").or_else(|| i.get("request_id")))
        .or_else(|| v.get("trace_id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Resolves `$.a.b[0].c` in `v`; `None` when absent or the path is malformed.
pub fn json_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$').unwrap_or(path);
    let mut cur = v;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let (key, mut idx) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        while let Some(stripped) = idx.strip_prefix('[') {
            let end = stripped.find(']')?;
            let n: usize = stripped[..end].parse().ok()?;
            cur = cur.get(n)?;
            idx = &stripped[end + 1..];
        }
        if !idx.is_empty() {
            return None;
        }
    }
    Some(cur)
}

fn check_rule(rule: &ChatExpect, answer: &str, body: &Value) -> Result<(), String> {
    if let Some(text) = &rule.contains
        && !answer.contains(text.as_str())
    {
        return Err(format!(
            "expected the answer to contain {text:?}, saw {:?}",
            shorten(answer)
        ));
    }
    if let Some(pattern) = &rule.regex {
        let re = regex::Regex::new(pattern)
            .map_err(|e| format!("the expect regex {pattern:?} is not valid: {e}"))?;
        if !re.is_match(answer) {
            return Err(format!(
                "expected the answer to match /{pattern}/, saw {:?}",
                shorten(answer)
            ));
        }
    }
    if let Some(path) = &rule.json_path {
        let found = json_path(body, path).filter(|v| !v.is_null());
        let Some(found) = found else {
            return Err(format!("expected {path} in the answer, it is absent"));
        };
        let text = match found {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(want) = &rule.equals
            && &text != want
        {
            return Err(format!(
                "expected {path} = {want:?}, saw {:?}",
                shorten(&text)
            ));
        }
    }
    Ok(())
}

/// Judges an answer with HTTP `status` and `body`, and the trace header when sent.
pub fn judge(
    check: &ChatCheck,
    status: u16,
    body: &str,
    trace_header: Option<&str>,
) -> ChatVerdict {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let trace_request_id = trace_header
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| parsed.as_ref().and_then(trace_in_body));
    let verdict = |failure: Option<String>, shown: String| ChatVerdict {
        failure,
        trace_request_id: trace_request_id.clone(),
        shown,
    };
    if status == 401 || status == 403 {
        return verdict(
            Some(format!(
                "POST {} -> {status}: the apps proxy refused the operator's credentials; apps accept OAuth tokens only (a personal access token is refused), so give the target OAuth (service principal) credentials",
                check.path
            )),
            String::new(),
        );
    }
    if !(200..300).contains(&status) {
        return verdict(
            Some(format!(
                "POST {} -> {status}, expected 2xx: {}",
                check.path,
                shorten(body)
            )),
            String::new(),
        );
    }
    let Some(parsed) = parsed else {
        return verdict(
            Some(format!(
                "POST {} -> {status}: expected a chat completion (JSON), saw {:?}",
                check.path,
                shorten(body)
            )),
            String::new(),
        );
    };
    let answer = parsed
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or("");
    if answer.trim().is_empty() {
        return verdict(
            Some(format!(
                "POST {} -> {status}: expected a non-empty assistant message at choices[0].message.content, saw {}",
                check.path,
                parsed
                    .pointer("/choices/0/message/content")
                    .map_or("none".to_string(), |v| shorten(&v.to_string()))
            )),
            String::new(),
        );
    }
    let failure = check
        .expect
        .iter()
        .find_map(|r| check_rule(r, answer, &parsed).err())
        .map(|e| format!("POST {}: {e}", check.path));
    verdict(failure, shorten(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expect: Vec<ChatExpect>) -> ChatCheck {
        ChatCheck {
            path: "/api/chat/completions".into(),
            prompt: "hi".into(),
            expect,
        }
    }

    fn rule(
        contains: Option<&str>,
        regex: Option<&str>,
        path: Option<&str>,
        eq: Option<&str>,
    ) -> ChatExpect {
        ChatExpect {
            contains: contains.map(Into::into),
            regex: regex.map(Into::into),
            json_path: path.map(Into::into),
            equals: eq.map(Into::into),
        }
    }

    const OK: &str = r#"{"choices": [{"message": {"role": "assistant", "content": "Your tier is Gold"}, "finish_reason": "stop"}], "databricks_output": {"trace": {"info": {"trace_id": "tr-body"}}}}"#;

    #[test]
    fn a_good_answer_passes_and_the_header_wins_over_the_body() {
        let v = judge(&check(vec![]), 200, OK, Some("tr-head"));
        assert_eq!(v.failure, None);
        assert_eq!(v.trace_request_id.as_deref(), Some("tr-head"));
        let v = judge(&check(vec![]), 200, OK, None);
        assert_eq!(v.trace_request_id.as_deref(), Some("tr-body"));
    }

    #[test]
    fn each_rule_names_what_it_expected_and_saw() {
        let v = judge(
            &check(vec![rule(Some("Platinum"), None, None, None)]),
            200,
            OK,
            None,
        );
        let f = v.failure.unwrap();
        assert!(
            f.contains("\"Platinum\"") && f.contains("Your tier is Gold"),
            "{f}"
        );
        let v = judge(
            &check(vec![rule(None, Some("^Tier"), None, None)]),
            200,
            OK,
            None,
        );
        assert!(v.failure.unwrap().contains("/^Tier/"));
        let v = judge(
            &check(vec![rule(
                None,
                None,
                Some("$.choices[0].finish_reason"),
                Some("length"),
            )]),
            200,
            OK,
            None,
        );
        assert!(v.failure.unwrap().contains("saw \"stop\""));
        let v = judge(
            &check(vec![rule(
                None,
                None,
                Some("$.choices[0].finish_reason"),
                Some("stop"),
            )]),
            200,
            OK,
            None,
        );
        assert_eq!(v.failure, None);
        let v = judge(
            &check(vec![rule(None, Some("("), None, None)]),
            200,
            OK,
            None,
        );
        assert!(v.failure.unwrap().contains("not valid"));
    }

    #[test]
    fn an_empty_answer_and_a_refused_token_fail() {
        let empty = r#"{"choices": [{"message": {"role": "assistant", "content": ""}}]}"#;
        assert!(
            judge(&check(vec![]), 200, empty, None)
                .failure
                .unwrap()
                .contains("non-empty")
        );
        assert!(
            judge(&check(vec![]), 401, "", None)
                .failure
                .unwrap()
                .contains("OAuth")
        );
        assert!(
            judge(&check(vec![]), 200, "<html>", None)
                .failure
                .unwrap()
                .contains("expected a chat completion")
        );
    }
}
