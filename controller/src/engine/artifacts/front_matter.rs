//! The YAML front matter of a signoff: found between `---` lines at the very start of the file,
//! and read strictly. Only what reads the same in every YAML reader is accepted: untagged values
//! or the standard `!!str`, `!!int`, `!!bool` and `!!null` tags (so `!!binary QVBQUk9WRUQ=` can
//! never decode to `APPROVED`), no anchors or aliases (a capture that refers to a decision
//! through an alias is not a verbatim copy), no duplicate or merge keys, tight budgets.

use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Options, Parser, Span};

/// The most events the presentation check reads; past it the parser's own budget refuses.
const MAX_EVENTS: usize = 16_384;

/// The explicit tags a value may carry (YAML core schema suffixes).
const ALLOWED_TAGS: [&str; 4] = ["str", "int", "bool", "null"];

/// Why the front matter is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontMatterError {
    /// Line 1 is not `---`.
    #[error("the file does not start with YAML front matter (a first line of ---)")]
    NotOpened,
    /// No closing `---` line.
    #[error("the front matter is not closed by a --- line")]
    NotClosed,
    /// An anchor (`&name`) or an alias (`*name`).
    #[error(
        "anchors and aliases are not allowed in the front matter; a verbatim capture must be written out (line {line}: {token})"
    )]
    AnchorOrAlias {
        /// The file line.
        line: usize,
        /// The anchor or alias as written.
        token: String,
    },
    /// An explicit tag other than the standard string, integer, boolean and null tags.
    #[error(
        "the tag {tag} is not allowed in the front matter (line {line}): only plain values and the tags !!str, !!int, !!bool and !!null are"
    )]
    Tag {
        /// The tag as written (`!!binary`, `!approve`).
        tag: String,
        /// The file line.
        line: usize,
    },
    /// The YAML does not parse, or breaks a budget, a duplicate-key or a merge-key rule.
    #[error("the front matter is not valid YAML: {message}")]
    Yaml {
        /// The parser's message.
        message: String,
    },
}

/// The YAML between the opening `---` on line 1 and the next `---` line.
pub fn extract(text: &str) -> Result<String, FrontMatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    match lines.next() {
        Some(first) if first.trim_end() == "---" => {}
        _ => return Err(FrontMatterError::NotOpened),
    }
    let mut body = Vec::new();
    for line in lines {
        if line.trim_end() == "---" {
            return Ok(body.join("\n"));
        }
        body.push(line);
    }
    Err(FrontMatterError::NotClosed)
}

/// Parses the front matter `text` (as [`extract`] returns it) to JSON, refusing tags, anchors
/// and aliases first, then anything the strict parser refuses.
pub fn parse(text: &str, max_bytes: u64) -> Result<Value, FrontMatterError> {
    check_presentation(text)?;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 16;
    budget.max_aliases = 64;
    budget.max_anchors = 64;
    budget.max_documents = 1;
    budget.max_nodes = 4_096;
    budget.max_events = MAX_EVENTS;
    budget.max_total_scalar_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    options.reject_unsupported_tags = true;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("invalid YAML");
        // The parser suggests relaxing its options; the gate never does.
        FrontMatterError::Yaml {
            message: first
                .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
                .replace(" by configured policy", ""),
        }
    })
}

/// Refuses the first anchor, alias or disallowed tag of `text`. A syntax error ends the check:
/// the parser reports it.
fn check_presentation(text: &str) -> Result<(), FrontMatterError> {
    let mut options = Options::default();
    options.emit_anchor_events = true;
    options.emit_unresolved_aliases = true;
    let parser = Parser::new_from_str_with_options(text, options);
    // Front matter line 1 is file line 2.
    let line = |span: &Span| span.start.line() + 1;
    let anchor = |span: &Span, token: String| FrontMatterError::AnchorOrAlias {
        line: line(span),
        token,
    };
    // An anchored node is followed at once by its anchor's event, which has the name.
    let mut anchored: Option<Span> = None;
    for event in parser.take(MAX_EVENTS) {
        let Ok((event, span)) = event else {
            break;
        };
        let (anchor_id, tag) = match &event {
            Event::Anchor(_, name) => return Err(anchor(&span, format!("&{name}"))),
            _ if anchored.is_some() => break,
            Event::Scalar(_, _, anchor_id, tag) => (*anchor_id, tag.as_deref()),
            Event::SequenceStart(_, anchor_id, tag) | Event::MappingStart(_, anchor_id, tag) => {
                (*anchor_id, tag.as_deref())
            }
            Event::Alias(_) => {
                let token = span.slice(text).unwrap_or("*").to_string();
                return Err(anchor(&span, token));
            }
            Event::UnresolvedAlias(name) => return Err(anchor(&span, format!("*{name}"))),
            _ => continue,
        };
        if let Some(tag) = tag {
            let scalar = matches!(event, Event::Scalar(..));
            let standard = tag.core_suffix().is_some_and(|s| ALLOWED_TAGS.contains(&s));
            if !(scalar && standard) {
                let spelled = tag.original();
                return Err(FrontMatterError::Tag {
                    line: tag_line(text, &span, &spelled).unwrap_or_else(|| line(&span)),
                    tag: spelled,
                });
            }
        }
        if anchor_id != 0 {
            anchored = Some(span);
        }
    }
    match anchored {
        Some(span) => Err(anchor(&span, "&".to_string())),
        None => Ok(()),
    }
}

/// The file line of the tag `spelled` on the node at `span`: the node's event starts at its
/// content, which for a block collection is on the line after the tag.
fn tag_line(text: &str, span: &Span, spelled: &str) -> Option<usize> {
    let before = text.get(..span.start.byte_offset()?)?;
    let at = before.rfind(spelled)?;
    Some(before[..at].matches('\n').count() + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> FrontMatterError {
        parse(text, 1 << 20).unwrap_err()
    }

    #[test]
    fn the_standard_tags_and_plain_values_parse() {
        let v = parse(
            "a: !!str 12\nb: !!int 7\nc: !!bool true\nd: !!null ~\ne: x\nf: !<tag:yaml.org,2002:str> y\n",
            1 << 20,
        )
        .unwrap();
        assert_eq!(v["a"], "12");
        assert_eq!(v["b"], 7);
        assert_eq!(v["e"], "x");
        assert_eq!(v["f"], "y");
    }

    #[test]
    fn a_binary_tag_is_refused_by_name() {
        assert_eq!(
            refusal("engineering_signoff:\n  decision: !!binary QVBQUk9WRUQ=\n"),
            FrontMatterError::Tag {
                tag: "!!binary".into(),
                line: 3
            }
        );
    }

    #[test]
    fn local_verbatim_and_collection_tags_are_refused() {
        for (text, tag) in [
            ("a: !approve REJECTED\n", "!approve"),
            ("a: !!float 1\n", "!!float"),
            ("a: !!map {b: 1}\n", "!!map"),
            ("a: !!map\n  b: 1\n", "!!map"),
            ("a: !!seq [1]\n", "!!seq"),
            ("a: ! x\n", "!"),
        ] {
            match refusal(text) {
                FrontMatterError::Tag { tag: found, .. } => assert_eq!(found, tag, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn anchors_and_aliases_are_refused_wherever_they_are() {
        for (text, token, line) in [
            ("ok: &ok APPROVED\nb: *ok\n", "&ok", 2),
            ("a:\n  b: &blk\n    c: 1\n", "&blk", 3),
            ("a: [1, &x 2]\n", "&x", 2),
            ("a: *missing\n", "*missing", 2),
        ] {
            let err = refusal(text);
            assert_eq!(
                err,
                FrontMatterError::AnchorOrAlias {
                    line,
                    token: token.into()
                },
                "{text}"
            );
            assert!(
                err.to_string().starts_with(
                    "anchors and aliases are not allowed in the front matter; a verbatim capture must be written out"
                ),
                "{err}"
            );
        }
    }
}
