//! Loading Kubernetes manifests from files and directories, keeping where each field came from
//! so problems can be reported as `file:line`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;

use agentrelease_sim::local_file::{self, LocalFileError};

/// The largest manifest file read (4 MiB). Only regular files are read: a FIFO, a device or a
/// socket is refused before it is opened.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// How deep `-R` descends below a directory it was given.
pub const MAX_DIR_DEPTH: usize = 32;

/// A failure to read or parse a file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The path names a FIFO, a device, a socket or a directory where a file was expected.
    #[error("{path}: not a regular file ({kind})")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead (`a FIFO`, `a character device`...).
        kind: &'static str,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error(
        "{path}: file is larger than {}",
        local_file::describe_bytes(MAX_FILE_BYTES)
    )]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// A directory lies more than [`MAX_DIR_DEPTH`] levels below the directory given.
    #[error("{path}: more than {MAX_DIR_DEPTH} directory levels deep; not read")]
    TooDeep {
        /// The directory not read.
        path: PathBuf,
    },
    /// The YAML does not parse.
    #[error("{path}:{line}: invalid YAML: {message}")]
    Yaml {
        /// The path.
        path: PathBuf,
        /// 1-based line of the error, 0 when unknown.
        line: u64,
        /// The parser's message.
        message: String,
    },
}

impl ManifestError {
    /// A short category for messages and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            ManifestError::Io { .. } => "io",
            ManifestError::NotRegular { .. } => "not_regular",
            ManifestError::TooLarge { .. } => "too_large",
            ManifestError::TooDeep { .. } => "too_deep",
            ManifestError::Yaml { .. } => "yaml",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ManifestError::Io { path, .. }
            | ManifestError::NotRegular { path, .. }
            | ManifestError::TooLarge { path }
            | ManifestError::TooDeep { path }
            | ManifestError::Yaml { path, .. } => path,
        }
    }

    /// The 1-based line of the error, 0 when it is about the whole file.
    pub fn line(&self) -> u64 {
        match self {
            ManifestError::Yaml { line, .. } => *line,
            _ => 0,
        }
    }

    /// What is wrong, without the path and line (which [`Self::path`] and [`Self::line`] give).
    pub fn reason(&self) -> String {
        match self {
            ManifestError::Io { source, .. } => source.to_string(),
            ManifestError::NotRegular { kind, .. } => format!("not a regular file ({kind})"),
            ManifestError::TooLarge { .. } => format!(
                "file is larger than {}",
                local_file::describe_bytes(MAX_FILE_BYTES)
            ),
            ManifestError::TooDeep { .. } => {
                format!("more than {MAX_DIR_DEPTH} directory levels deep; not read")
            }
            ManifestError::Yaml { message, .. } => format!("invalid YAML: {message}"),
        }
    }

    fn from_local(path: &Path, e: LocalFileError) -> Self {
        let path = path.to_path_buf();
        match e {
            LocalFileError::NotRegular { kind } => ManifestError::NotRegular { path, kind },
            LocalFileError::TooLarge { .. } => ManifestError::TooLarge { path },
            LocalFileError::Io(source) => ManifestError::Io { path, source },
        }
    }
}

/// One YAML document of a file, as JSON, with the line of every field.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file it came from.
    pub file: PathBuf,
    /// 1-based line where the document starts.
    pub line: u64,
    /// The document as JSON.
    pub value: Value,
    lines: HashMap<String, u64>,
}

impl Document {
    /// The line of a dotted field path (`spec.permissions[1].level`), or of its nearest
    /// ancestor present in the file (a missing field is reported where its parent is).
    pub fn line_of(&self, path: &str) -> u64 {
        let mut path = path.trim_start_matches('.').to_string();
        loop {
            if let Some(line) = self.lines.get(&path) {
                return *line;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path.truncate(cut),
                None => return self.line,
            }
        }
    }

    /// `kind`, when it is a string.
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(Value::as_str)
    }

    /// `apiVersion`, when it is a string.
    pub fn api_version(&self) -> Option<&str> {
        self.value.get("apiVersion").and_then(Value::as_str)
    }

    /// `metadata.name`, when it is a string.
    pub fn name(&self) -> Option<&str> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
    }
}

/// The YAML files named by `paths`: files as given; for directories their `*.yaml` / `*.yml`
/// entries in name order (hidden entries skipped), and with `recursive` those of subdirectories
/// too (as `kubectl apply -f DIR` and `-R`). Directory symlinks are followed, but each directory
/// is read once (judged by its canonical path), so a symlink loop ends the walk there, silently;
/// and the walk stops [`MAX_DIR_DEPTH`] levels down.
pub fn collect_files(paths: &[PathBuf], recursive: bool) -> Result<Vec<PathBuf>, ManifestError> {
    let mut walk = Walk {
        recursive,
        visited: HashSet::new(),
        out: Vec::new(),
    };
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ManifestError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk.dir(path, 0)?;
        } else {
            walk.out.push(path.clone());
        }
    }
    Ok(walk.out)
}

/// A directory walk in progress.
struct Walk {
    recursive: bool,
    /// Canonical paths of the directories read.
    visited: HashSet<PathBuf>,
    out: Vec<PathBuf>,
}

impl Walk {
    fn dir(&mut self, dir: &Path, depth: usize) -> Result<(), ManifestError> {
        let io = |source| ManifestError::Io {
            path: dir.to_path_buf(),
            source,
        };
        if !self.visited.insert(std::fs::canonicalize(dir).map_err(io)?) {
            return Ok(());
        }
        if depth > MAX_DIR_DEPTH {
            return Err(ManifestError::TooDeep {
                path: dir.to_path_buf(),
            });
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        entries.sort();
        let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|p| p.is_dir());
        for file in files {
            if matches!(
                file.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                self.out.push(file);
            }
        }
        if self.recursive {
            for sub in dirs {
                self.dir(&sub, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// Reads a file and parses every YAML document in it (empty documents are skipped). A file that
/// cannot be read — missing, not a regular file, larger than [`MAX_FILE_BYTES`], not UTF-8 — is
/// an error; a document that does not parse is returned among the errors beside the documents
/// that do.
pub fn load_file(path: &Path) -> Result<(Vec<Document>, Vec<ManifestError>), ManifestError> {
    let text = read_text(path)?;
    Ok(parse_documents(path, &text))
}

/// The text of a manifest file, read as [`load_file`] reads it.
pub fn read_text(path: &Path) -> Result<String, ManifestError> {
    local_file::read_to_string(path, MAX_FILE_BYTES).map_err(|e| ManifestError::from_local(path, e))
}

/// Parses every YAML document of `text` (as if read from `path`). Each document is parsed on
/// its own, so a syntax error in one is reported without hiding the others: the documents that
/// parse come back with the errors of those that do not.
pub fn parse_str(path: &Path, text: &str) -> Result<Vec<Document>, ManifestError> {
    let (docs, mut errors) = parse_documents(path, text);
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(errors.remove(0))
    }
}

/// Parses every YAML document of `text`, returning those that parse and an error for each one
/// that does not.
pub fn parse_documents(path: &Path, text: &str) -> (Vec<Document>, Vec<ManifestError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (offset, chunk) in split_documents(text) {
        match parse_one(path, chunk, offset) {
            Ok(Some(doc)) => docs.push(doc),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (docs, errors)
}

/// Splits a YAML stream at its document markers (`---` or `...` at the start of a line, which
/// end a document wherever they appear), returning each chunk with the number of lines before it.
fn split_documents(text: &str) -> Vec<(u64, &str)> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0u64;
    let mut pos = 0usize;
    for (line_no, line) in (0u64..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = |m: &str| {
            bare == m
                || bare
                    .strip_prefix(m)
                    .is_some_and(|rest| rest.starts_with([' ', '\t']))
        };
        if is_marker("---") || is_marker("...") {
            chunks.push((start_line, &text[start..pos]));
            // Content after `--- ` on the same line belongs to the next document; keep the line
            // (blanked marker) so line numbers stay right.
            start = pos;
            start_line = line_no;
        }
        pos += line.len();
    }
    chunks.push((start_line, &text[start..]));
    chunks
        .into_iter()
        .map(|(l, c)| (l, strip_marker(c)))
        .collect()
}

fn strip_marker(chunk: &str) -> &str {
    for m in ["---", "..."] {
        if let Some(rest) = chunk.strip_prefix(m)
            && (rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']))
        {
            // Keep the newline count identical: replace the marker by nothing on its line.
            return rest;
        }
    }
    chunk
}

fn parse_one(path: &Path, chunk: &str, offset: u64) -> Result<Option<Document>, ManifestError> {
    if chunk.trim().is_empty()
        || chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    let node: Spanned<Node> =
        serde_saphyr::from_str(chunk).map_err(|e| yaml_error(path, &e, offset))?;
    if matches!(node.value, Node::Null) {
        return Ok(None);
    }
    let mut lines = HashMap::new();
    let value =
        to_json(node, "", offset, &mut lines).map_err(|(line, message)| ManifestError::Yaml {
            path: path.to_path_buf(),
            line,
            message,
        })?;
    let start = lines.get("").copied().unwrap_or(offset + 1);
    Ok(Some(Document {
        file: path.to_path_buf(),
        line: start,
        value,
        lines,
    }))
}

fn yaml_error(path: &Path, e: &serde_saphyr::Error, offset: u64) -> ManifestError {
    let line = e.location().map(|l| l.line() + offset).unwrap_or(0);
    // The parser's display may include a source snippet and its own position; keep the reason.
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML");
    let message = match first.strip_prefix("error: line ") {
        Some(rest) => rest.split_once(": ").map(|(_, m)| m).unwrap_or(rest),
        None => first,
    }
    .to_string();
    ManifestError::Yaml {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// A YAML node with the positions of its children.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        u64::try_from(v)
            .map(Node::UInt)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

type ConvertError = (u64, String);

fn to_json(
    node: Spanned<Node>,
    path: &str,
    offset: u64,
    lines: &mut HashMap<String, u64>,
) -> Result<Value, ConvertError> {
    let line = node.referenced.line() + offset;
    lines.entry(path.to_string()).or_insert(line);
    Ok(match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::Number(i.into()),
        Node::UInt(u) => Value::Number(u.into()),
        Node::Float(f) => match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None => {
                return Err((
                    line,
                    format!("{}: {f} is not a finite number", display_path(path)),
                ));
            }
        },
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.push(to_json(item, &format!("{path}[{i}]"), offset, lines)?);
            }
            Value::Array(out)
        }
        Node::Map(entries) => {
            let mut out = Map::new();
            for (key, value) in entries {
                let key_line = key.referenced.line() + offset;
                let name = match key.value {
                    Node::Str(s) => s,
                    Node::Int(i) => i.to_string(),
                    Node::UInt(u) => u.to_string(),
                    Node::Bool(b) => b.to_string(),
                    Node::Float(f) => f.to_string(),
                    Node::Null => "null".to_string(),
                    Node::Seq(_) | Node::Map(_) => {
                        return Err((
                            key_line,
                            format!("{}: mapping keys must be scalars", display_path(path)),
                        ));
                    }
                };
                let child = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                lines.insert(child.clone(), key_line);
                let converted = to_json(value, &child, offset, lines)?;
                // The key's line is more useful than the value's for a nested mapping.
                lines.insert(child, key_line);
                out.insert(name, converted);
            }
            Value::Object(out)
        }
    })
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(document)" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_lines_of_fields_and_items() {
        let text = "\
apiVersion: v1
kind: X
spec:
  model:
    alias: champion
  list:
    - a: 1
    - a: 2
";
        let docs = parse_str(Path::new("f.yaml"), text).unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d.line_of("spec.model.alias"), 5);
        assert_eq!(d.line_of("spec.list[1].a"), 8);
        assert_eq!(d.line_of("spec.model.missing"), 4);
        assert_eq!(d.line_of("nothing.here"), 1);
    }

    #[test]
    fn multi_document_lines_are_file_lines() {
        let text = "a: 1\n---\n\n---\nkind: B\nspec:\n  x: 1\n";
        let docs = parse_str(Path::new("f.yaml"), text).unwrap();
        assert_eq!(docs.len(), 2, "the empty document is skipped");
        assert_eq!(docs[1].line_of("spec.x"), 7);
    }

    #[test]
    fn a_broken_document_does_not_hide_the_others() {
        let text = "kind: A\n---\nb: [1, 2\n---\nkind: C\nspec:\n  x: 1\n";
        let (docs, errors) = parse_documents(Path::new("f.yaml"), text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line_of("spec.x"), 7);
        assert_eq!(errors.len(), 1);
        assert!(
            matches!(errors[0], ManifestError::Yaml { line, .. } if line >= 3),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn marker_with_content_and_block_scalars() {
        let text = "a: |\n  text\n  more\n--- \nb: 2\n";
        let docs = parse_str(Path::new("f.yaml"), text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value["a"], "text\nmore\n");
        assert_eq!(docs[1].line_of("b"), 5);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse_str(Path::new("f.yaml"), "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(
            matches!(err, ManifestError::Yaml { line, .. } if line >= 2),
            "{err}"
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_str(Path::new("f.yaml"), "a: 1\na: 2\n").unwrap_err();
        assert!(matches!(err, ManifestError::Yaml { line: 2, .. }), "{err}");
    }

    #[test]
    fn the_walk_stops_below_the_depth_limit() {
        let root = tempfile::tempdir().unwrap();
        let mut deep = root.path().to_path_buf();
        for i in 0..=MAX_DIR_DEPTH {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        let err = collect_files(&[root.path().to_path_buf()], true).unwrap_err();
        assert!(
            matches!(&err, ManifestError::TooDeep { path } if *path == deep),
            "{err}"
        );
        assert_eq!(err.reason(), "more than 32 directory levels deep; not read");
        assert!(collect_files(&[root.path().join("d0")], true).is_ok());
    }

    #[test]
    fn bom_is_tolerated() {
        let docs = parse_str(Path::new("f.yaml"), "\u{feff}a: 1\n").unwrap();
        assert_eq!(docs[0].value["a"], 1);
    }
}
