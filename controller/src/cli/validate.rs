//! `agentrelease validate -f PATH...`: what a GitOps repository runs in its pull-request CI.
//! Checks every AgentRelease and ReleaseTarget as strictly as the API server would, plus the rules
//! CEL cannot express, plus what the files say together: an object declared twice, and releases
//! that would fight over an alias, app or serving endpoint of one workspace (judged as the
//! engine's ledger judges them); other kinds are skipped and counted.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::io::Write;
use std::path::PathBuf;

use agentrelease_api::validation::{self, Classified, Kind, Validator};
use agentrelease_api::{AgentRelease, ReleaseTarget};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::connection::workspace_origin;
use crate::engine::ledger::{self, Claim, Owned, Verdict};
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
    /// Warnings, which do not change the exit code: an app's `app.yaml` that duplicates or
    /// contradicts the release's `command` or `env`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<LocatedProblem>,
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
    duplicate_check(&mut report);
    ownership_check(&mut report);
    report.warnings =
        crate::cli::app_yaml_check::warnings(&report.releases, &report.other_documents);
    report
        .problems
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    report
}

fn file_problem(e: &manifest::ManifestError) -> LocatedProblem {
    LocatedProblem {
        file: e.path().display().to_string(),
        line: e.line(),
        object: None,
        field: String::new(),
        message: e.reason(),
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

/// The namespace an object without `metadata.namespace` lands in, as `apply` assumes.
const DEFAULT_NAMESPACE: &str = "default";

/// `namespace/name` of an object, with the namespace `apply` gives it when the file has none.
fn object_key(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE),
        meta.name.as_deref().unwrap_or("")
    )
}

/// An AgentRelease or ReleaseTarget declared again under the same namespace and name: the cluster
/// keeps one object per name, so one of the two declarations would be lost. Reported once, at
/// the later declaration.
fn duplicate_check(report: &mut Report) {
    let declared = report
        .releases
        .iter()
        .map(|(doc, r)| ("AgentRelease", doc, object_key(&r.metadata)))
        .chain(
            report
                .targets
                .iter()
                .map(|(doc, t)| ("ReleaseTarget", doc, object_key(&t.metadata))),
        );
    let mut first: BTreeMap<(&str, String), &Document> = BTreeMap::new();
    let mut found = Vec::new();
    for (kind, doc, key) in declared {
        match first.entry((kind, key)) {
            Entry::Vacant(slot) => {
                slot.insert(doc);
            }
            Entry::Occupied(earlier) => {
                let earlier = earlier.get();
                if same_document(earlier, doc) {
                    // The same file given twice (`-f dir -f dir/x.yaml`): one declaration.
                    continue;
                }
                found.push(LocatedProblem {
                    file: doc.file.display().to_string(),
                    line: doc.line_of("metadata.name"),
                    object: Some(object_label(doc)),
                    field: "metadata.name".into(),
                    message: format!(
                        "Duplicate value: also declared at {}:{}; one namespace and name is one object, so only one of the two would be applied",
                        earlier.file.display(),
                        earlier.line_of("metadata.name")
                    ),
                });
            }
        }
    }
    report.problems.extend(found);
}

/// True when `a` and `b` are one document of one file, read twice.
fn same_document(a: &Document, b: &Document) -> bool {
    let canonical =
        |d: &Document| std::fs::canonicalize(&d.file).unwrap_or_else(|_| d.file.clone());
    a.line == b.line && canonical(a) == canonical(b)
}

/// The workspace whose ledger records who owns a release's objects, as far as the files tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WorkspaceKey {
    /// The origin of the `spec.host` of the release's ReleaseTarget: two targets naming one host
    /// share one workspace, and so one ledger.
    Host(String),
    /// The release's `targetRef` (`namespace/name`), when that target is not among the files.
    TargetRef(String),
}

/// A release as the ownership check sees it: the claim the engine would record for it, where,
/// and on what.
struct Contender<'a> {
    doc: &'a Document,
    /// `AgentRelease/name`.
    label: String,
    claim: Claim,
    workspace: WorkspaceKey,
    /// The target as it reads in messages: its name, or `namespace/name` when a namespace is set.
    target: String,
    owned: Vec<Owned>,
}

impl Contender<'_> {
    fn new<'a>(
        doc: &'a Document,
        release: &AgentRelease,
        targets: &[(Document, ReleaseTarget)],
    ) -> Contender<'a> {
        let release_ns = release.metadata.namespace.as_deref();
        let (workspace, target) = match find_target(release, targets) {
            Some((_, t)) => {
                let host = workspace_origin(&t.spec.host).unwrap_or_else(|_| {
                    // Validation refuses such a host; compare the text rather than guess.
                    t.spec
                        .host
                        .trim()
                        .trim_end_matches('/')
                        .to_ascii_lowercase()
                });
                (
                    WorkspaceKey::Host(host),
                    target_label(
                        t.metadata.namespace.as_deref(),
                        &release.spec.target_ref.name,
                    ),
                )
            }
            None => {
                let ns = release.spec.target_ref.namespace.as_deref().or(release_ns);
                let name = &release.spec.target_ref.name;
                (
                    WorkspaceKey::TargetRef(format!("{}/{name}", ns.unwrap_or(DEFAULT_NAMESPACE))),
                    target_label(ns, name),
                )
            }
        };
        Contender {
            doc,
            label: object_label(doc),
            claim: Claim {
                agent: release.spec.model.name.clone(),
                n: release.spec.version,
                release: object_key(&release.metadata),
                model_version: release.spec.model.version,
                at: String::new(),
            },
            workspace,
            target,
            owned: ledger::owned_by(&release.spec),
        }
    }

    /// `file:line` of `field` in this release's manifest.
    fn at(&self, field: &str) -> String {
        format!("{}:{}", self.doc.file.display(), self.doc.line_of(field))
    }
}

fn target_label(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The manifest field that names an owned object.
fn owned_field(object: &Owned) -> &'static str {
    match object {
        Owned::Alias { .. } => "spec.model.alias",
        Owned::App(_) => "spec.app.name",
        Owned::Endpoint(_) => "spec.servingEndpoint.name",
    }
}

fn owned_kind(object: &Owned) -> &'static str {
    match object {
        Owned::Alias { .. } => "alias",
        Owned::App(_) => "app",
        Owned::Endpoint(_) => "serving endpoint",
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(objects: &[&Owned]) -> String {
    let described: Vec<String> = objects.iter().map(|o| o.describe()).collect();
    match described.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Releases in the files that the engine would refuse once the other one owns a shared alias,
/// app or serving endpoint of the same workspace: the same N of one agent twice, or two agents on
/// one object. A higher N of the same agent supersedes the lower one and is not a problem. One
/// problem per conflicting release; a release declared twice counts once (the duplicate is
/// reported on its own).
fn ownership_check(report: &mut Report) {
    let mut contenders: Vec<Contender<'_>> = Vec::new();
    for (doc, release) in &report.releases {
        let contender = Contender::new(doc, release, &report.targets);
        if !contenders
            .iter()
            .any(|c| c.claim.release == contender.claim.release)
        {
            contenders.push(contender);
        }
    }
    let mut found = Vec::new();
    for me in &contenders {
        let conflicts: Vec<(&Contender<'_>, Vec<&Owned>)> = contenders
            .iter()
            .filter(|other| other.workspace == me.workspace)
            // The verdict depends on the two claims only, not on which object they share.
            .filter(|other| {
                matches!(
                    ledger::judge(&me.claim, Some(&other.claim)),
                    Verdict::Conflict(_)
                )
            })
            .filter_map(|other| {
                let shared: Vec<&Owned> = me
                    .owned
                    .iter()
                    .filter(|o| other.owned.contains(o))
                    .collect();
                (!shared.is_empty()).then_some((other, shared))
            })
            .collect();
        if let Some(problem) = conflict_problem(me, &conflicts) {
            found.push(problem);
        }
    }
    report.problems.extend(found);
}

/// The one problem of `me`: the first release it conflicts with in full, the others after it.
fn conflict_problem(
    me: &Contender<'_>,
    conflicts: &[(&Contender<'_>, Vec<&Owned>)],
) -> Option<LocatedProblem> {
    let ((other, objects), rest) = conflicts.split_first()?;
    let first_object = objects.first()?;
    let place = if other.target == me.target {
        format!("of target {}", me.target)
    } else {
        format!(
            "of target {} (the same workspace as target {})",
            me.target, other.target
        )
    };
    let (field, mut message) = if other.claim.agent == me.claim.agent {
        let field = "spec.version";
        let message = format!(
            "N={} is also released by {} ({}) on {} {place}; two releases with the same N cannot own one {} (OwnershipConflict)",
            me.claim.n,
            other.label,
            other.at(field),
            and_list(objects),
            owned_kind(first_object)
        );
        (field, message)
    } else {
        let field = owned_field(first_object);
        let message = format!(
            "{} ({}), a release of agent {}, also claims {} {place}; whichever is applied second finds {} owned by a release of another agent (OwnershipConflict)",
            other.label,
            other.at(field),
            other.claim.agent,
            and_list(objects),
            if objects.len() == 1 { "it" } else { "them" }
        );
        (field, message)
    };
    for (other, objects) in rest {
        let (why, other_field) = if other.claim.agent == me.claim.agent {
            ("the same N", "spec.version")
        } else {
            (
                "another agent",
                objects.first().map_or("", |o| owned_field(o)),
            )
        };
        message.push_str(&format!(
            "; also {} ({}) on {} ({why})",
            other.label,
            other.at(other_field),
            and_list(objects)
        ));
    }
    Some(LocatedProblem {
        file: me.doc.file.display().to_string(),
        line: me.doc.line_of(field),
        object: Some(me.label.clone()),
        field: field.to_string(),
        message,
    })
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
            for w in &report.warnings {
                eprintln!("warning: {w}");
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
    if !report.warnings.is_empty() {
        line.push_str(&format!(", {} warning(s)", report.warnings.len()));
    }
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
