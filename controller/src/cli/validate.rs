//! `agentrelease validate -f PATH...`: what a GitOps repository runs in its pull-request CI.
//! Checks every AgentRelease and ReleaseTarget as strictly as the API server would, plus the rules
//! CEL cannot express; other kinds are skipped and counted.

use std::io::Write;
use std::path::PathBuf;

use agentrelease_api::validation::{self, Classified, Kind, Validator};
use agentrelease_api::{AgentRelease, ReleaseTarget};
use serde::Serialize;

use crate::manifest::{self, Document};

/// Arguments of `agentrelease validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (walked recursively for *.yaml and *.yml).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Also read the subdirectories of the given directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per problem, `file:line: Kind/name: field.path: reason`, and a summary on stderr.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// One problem, located.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LocatedProblem {
    /// The file.
    pub file: String,
    /// 1-based line (0 when the problem is about the whole file).
    pub line: u64,
    /// `Kind/name` of the object, when the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Dotted field path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(object) = &self.object {
            write!(f, "{object}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// A document of another kind that was not checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// 1-based line where the document starts.
    pub line: u64,
    /// `apiVersion/kind`, or why it is not a Kubernetes object.
    pub what: String,
}

/// The outcome of validating a set of paths.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Files read.
    pub files: usize,
    /// AgentReleases and ReleaseTargets checked.
    pub checked: usize,
    /// Every problem found.
    pub problems: Vec<LocatedProblem>,
    /// Documents of other kinds.
    pub skipped: Vec<Skipped>,
    /// The objects that passed, decoded (used by `apply` and `plan`).
    #[serde(skip)]
    pub releases: Vec<(Document, AgentRelease)>,
    /// The targets that passed, decoded.
    #[serde(skip)]
    pub targets: Vec<(Document, ReleaseTarget)>,
    /// Documents that are not Kubernetes objects (no apiVersion and kind), e.g. workspace seeds.
    #[serde(skip)]
    pub other_documents: Vec<Document>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Validates every manifest under `paths`.
pub fn validate_paths(paths: &[PathBuf], recursive: bool) -> Report {
    let validator = Validator::new();
    let mut report = Report::default();
    let mut files = Vec::new();
    for path in paths {
        match manifest::collect_files(std::slice::from_ref(path), recursive) {
            Ok(found) => files.extend(found),
            Err(e) => report.problems.push(file_problem(&e)),
        }
    }
    for file in files {
        report.files += 1;
        let docs = match manifest::load_file(&file) {
            Ok((docs, errors)) => {
                report.problems.extend(errors.iter().map(file_problem));
                docs
            }
            Err(e) => {
                report.problems.push(file_problem(&e));
                continue;
            }
        };
        for doc in docs {
            check_document(&validator, doc, &mut report);
        }
    }
    cross_check(&mut report);
    report
        .problems
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    report
}

fn file_problem(e: &manifest::ManifestError) -> LocatedProblem {
    let message = match e {
        manifest::ManifestError::Io { source, .. } => source.to_string(),
        manifest::ManifestError::TooLarge { .. } => {
            format!("file is larger than {} bytes", manifest::MAX_FILE_BYTES)
        }
        manifest::ManifestError::Yaml { message, .. } => format!("invalid YAML: {message}"),
    };
    LocatedProblem {
        file: e.path().display().to_string(),
        line: e.line(),
        object: None,
        field: String::new(),
        message,
    }
}

fn object_label(doc: &Document) -> String {
    format!(
        "{}/{}",
        doc.kind().unwrap_or("?"),
        doc.name().unwrap_or("(unnamed)")
    )
}

fn check_document(validator: &Validator, doc: Document, report: &mut Report) {
    if !doc.value.is_object() {
        report.problems.push(LocatedProblem {
            file: doc.file.display().to_string(),
            line: doc.line,
            object: None,
            field: String::new(),
            message: "a manifest must be a mapping".into(),
        });
        return;
    }
    if doc.api_version().is_none() && doc.kind().is_none() {
        report.skipped.push(Skipped {
            file: doc.file.display().to_string(),
            line: doc.line,
            what: "not a Kubernetes object (no apiVersion and kind)".into(),
        });
        report.other_documents.push(doc);
        return;
    }
    match validation::classify(&doc.value) {
        Classified::Other { api_version, kind } => {
            report.skipped.push(Skipped {
                file: doc.file.display().to_string(),
                line: doc.line,
                what: format!("{api_version}/{kind}"),
            });
        }
        Classified::OurGroupUnknown(problem) => {
            report.problems.push(locate(&doc, problem));
        }
        Classified::Ours(kind) => {
            report.checked += 1;
            let problems = validator.validate(kind, &doc.value);
            if !problems.is_empty() {
                for p in problems {
                    report.problems.push(locate(&doc, p));
                }
                return;
            }
            match kind {
                Kind::AgentRelease => match serde_json::from_value(doc.value.clone()) {
                    Ok(release) => report.releases.push((doc, release)),
                    Err(e) => report.problems.push(locate(
                        &doc,
                        validation::Problem::new("", format!("does not decode: {e}")),
                    )),
                },
                Kind::ReleaseTarget => match serde_json::from_value(doc.value.clone()) {
                    Ok(target) => report.targets.push((doc, target)),
                    Err(e) => report.problems.push(locate(
                        &doc,
                        validation::Problem::new("", format!("does not decode: {e}")),
                    )),
                },
            }
        }
    }
}

fn locate(doc: &Document, problem: validation::Problem) -> LocatedProblem {
    LocatedProblem {
        file: doc.file.display().to_string(),
        line: doc.line_of(&problem.path),
        object: Some(object_label(doc)),
        field: problem.path,
        message: problem.message,
    }
}

/// A release's target, when the same set of files declares it.
pub fn find_target<'a>(
    release: &AgentRelease,
    targets: &'a [(Document, ReleaseTarget)],
) -> Option<&'a (Document, ReleaseTarget)> {
    let release_ns = release.metadata.namespace.as_deref();
    let target_ns = release.spec.target_ref.namespace.as_deref().or(release_ns);
    targets.iter().find(|(_, t)| {
        t.metadata.name.as_deref() == Some(release.spec.target_ref.name.as_str())
            && t.metadata.namespace.as_deref() == target_ns
    })
}

fn cross_check(report: &mut Report) {
    let mut found = Vec::new();
    for (doc, release) in &report.releases {
        if let Some((_, target)) = find_target(release, &report.targets) {
            for p in validation::check_release_against_target(release, target) {
                found.push(locate(doc, p));
            }
        }
    }
    report.problems.extend(found);
}

/// Runs `agentrelease validate`; returns the exit code.
pub fn run(args: &ValidateArgs) -> i32 {
    let report = validate_paths(&args.files, args.recursive);
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Json => {
            let _ = serde_json::to_writer_pretty(&mut out, &report);
            let _ = writeln!(out);
        }
        OutputFormat::Text => {
            for p in &report.problems {
                let _ = writeln!(out, "{p}");
            }
            eprintln!("{}", summary(&report));
        }
    }
    if report.is_clean() { 0 } else { 1 }
}

fn summary(report: &Report) -> String {
    let mut line = format!(
        "{} file(s), {} AgentRelease/ReleaseTarget object(s) checked, {} problem(s)",
        report.files,
        report.checked,
        report.problems.len()
    );
    if !report.skipped.is_empty() {
        let mut kinds: Vec<&str> = report.skipped.iter().map(|s| s.what.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        line.push_str(&format!(
            "; {} other document(s) skipped ({})",
            report.skipped.len(),
            kinds.join(", ")
        ));
    }
    line
}
