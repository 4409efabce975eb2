//! `agentrelease import bundle [DIR|databricks.yml]`: writes a ReleaseTarget per bundle target
//! and an AgentRelease skeleton per app and target, lists what it could not carry over, and
//! reports unknown bundle keys as `databricks bundle validate` does. Exit 0 when the manifests
//! were written (unmapped parts and unknown keys are warnings), 1 when the bundle cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle::{self, variables};

/// Arguments of `agentrelease import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What to import.
    #[command(subcommand)]
    pub source: ImportSource,
}

/// What `import` reads.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ImportSource {
    /// A Databricks Asset Bundle: its targets become ReleaseTargets, its apps AgentReleases.
    Bundle(BundleArgs),
}

/// Arguments of `agentrelease import bundle`.
#[derive(Debug, Clone, clap::Args)]
pub struct BundleArgs {
    /// The bundle's directory or root file (`databricks.yml`); the current directory by default.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Import this bundle target only; every target when omitted.
    #[arg(short = 't', long)]
    pub target: Option<String>,
    /// A variable value, as `databricks bundle --var`: `name=value` (repeatable). Beats
    /// `BUNDLE_VAR_<name>`, the target's value and the default.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Write one file per manifest into this directory (created when missing); without it the
    /// manifests are printed to stdout as one YAML stream.
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Replace files that already exist in the output directory.
    #[arg(long)]
    pub overwrite: bool,
    /// How the report is printed: text on stderr, or one JSON document on stdout (then
    /// `--output-dir` is required).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = crate::cli::validate::OutputFormat::Text)]
    pub output: crate::cli::validate::OutputFormat,
}

/// The JSON report of `import bundle -o json`.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    targets: &'a [String],
    written: Vec<String>,
    unmapped: &'a [bundle::Unmapped],
    unknown_fields: Vec<String>,
}

/// Runs `agentrelease import`; returns the exit code.
pub fn run(args: &ImportArgs) -> i32 {
    let ImportSource::Bundle(args) = &args.source;
    match run_bundle(args) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

fn run_bundle(args: &BundleArgs) -> Result<(), String> {
    let json = args.output == crate::cli::validate::OutputFormat::Json;
    if json && args.output_dir.is_none() {
        return Err(
            "-o json prints the report on stdout: give --output-dir for the manifests".into(),
        );
    }
    let mut overrides = variables::Overrides::default();
    for flag in &args.vars {
        overrides
            .flags
            .push(variables::parse_flag(flag).map_err(|e| e.to_string())?);
    }
    for (k, v) in std::env::vars() {
        if let Some(name) = k.strip_prefix("BUNDLE_VAR_") {
            overrides.environment.insert(name.to_string(), v);
        }
    }
    let import = bundle::import(&bundle::Request {
        path: &args.path,
        target: args.target.as_deref(),
        overrides: &overrides,
        output_dir: args.output_dir.as_deref(),
    })
    .map_err(|e| e.to_string())?;

    let mut written = Vec::new();
    match &args.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for m in &import.manifests {
                let path = dir.join(&m.file_name);
                write_new(&path, &m.to_yaml(), args.overwrite)?;
                written.push(path.display().to_string());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            for (i, m) in import.manifests.iter().enumerate() {
                if i > 0 {
                    let _ = writeln!(out, "---");
                }
                let _ = write!(out, "{}", m.to_yaml());
            }
        }
    }
    if json {
        let report = JsonReport {
            targets: &import.targets,
            written,
            unmapped: &import.unmapped,
            unknown_fields: import
                .unknown_fields
                .iter()
                .map(ToString::to_string)
                .collect(),
        };
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &report);
        let _ = writeln!(out);
        return Ok(());
    }
    for u in &import.unknown_fields {
        eprintln!("Warning: {u}");
    }
    for u in &import.unmapped {
        eprintln!(
            "not imported: target {}: {}: {}",
            u.target, u.field, u.reason
        );
    }
    for w in &written {
        eprintln!("wrote {w}");
    }
    eprintln!(
        "imported target(s) {}: {} manifest(s), {} part(s) not imported, {} unknown field(s); fill in the TODOs, then run `agentrelease validate -f {}`",
        import.targets.join(", "),
        import.manifests.len(),
        import.unmapped.len(),
        import.unknown_fields.len(),
        args.output_dir
            .as_deref()
            .unwrap_or(Path::new("FILE"))
            .display()
    );
    Ok(())
}

fn write_new(path: &Path, text: &str, overwrite: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{}: already exists (give --overwrite to replace it)",
                path.display()
            )
        } else {
            format!("{}: {e}", path.display())
        }
    })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}
