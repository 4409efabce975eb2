//! Property: `agentrelease validate` ends with exit 0 (clean) or 1 (problems) on any input — never
//! 101 (a panic), never a hang. Checked on a few hundred deterministic mutations of the samples:
//! values swapped for edge cases (integer limits, NaN, tags, anchors, huge strings), tokens
//! inserted, lines deleted, duplicated or re-indented, bytes flipped, files cut short.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many mutated files are checked.
const MUTATIONS: usize = 200;
/// Files per `validate` run: one run reads many files, so the test stays fast; a failing run is
/// repeated file by file to name the input at fault.
const BATCH: usize = 25;

/// SplitMix64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Values that have broken parsers and rule engines before.
const VALUES: &[&str] = &[
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "99999999999999999999999",
    "1e400",
    "-0",
    "0.5",
    ".nan",
    ".inf",
    "-.inf",
    "~",
    "null",
    "true",
    "yes",
    "0x7fffffff",
    "0o17",
    "[]",
    "{}",
    "''",
    "\"\"",
    "\"\\0\"",
    "\"\\u0085\\u2028\"",
    "\"a\\\\b\"",
    "!!binary QVBQUk9WRUQ=",
    "!!str 12",
    "!!int \"12\"",
    "!!float 1",
    "!custom x",
    "&anchor value",
    "*anchor",
    "[1, [2, [3, [4]]]]",
    "{a: {b: {c: {d: 1}}}}",
    "\"/Volumes/main/agents/./x.md\"",
    "\"/Volumes/main/agents/x/\"",
    "|\n  block\n  text",
    ">-\n  folded",
    "'unterminated",
    "\"unterminated",
    "[unclosed",
];

/// Fragments inserted anywhere.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "\n",
    "\t",
    " ",
    "#",
    "&a ",
    "*a",
    "!!",
    "? ",
    "<<: *a\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "|",
    ">",
    "%YAML 1.2\n",
    "\u{feff}",
    "\u{0}",
    "é",
];

fn char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate_once(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let line = rng.below(lines.len());
    match rng.below(9) {
        // Swap the value of every line with one key (`trafficPercentage` of each route).
        8 => {
            if let Some(colon) = lines[line].find(": ") {
                let key = lines[line][..colon + 2].trim_start().to_string();
                let value = rng.pick(VALUES);
                for l in lines.iter_mut() {
                    if let Some(at) = l.find(&key)
                        && l[..at].chars().all(|c| c == ' ' || c == '-')
                    {
                        l.truncate(at + key.len());
                        l.push_str(value);
                    }
                }
            }
        }
        // Swap the value of a `key: value` line.
        0 | 1 => {
            if let Some(colon) = lines[line].find(": ") {
                let value = rng.pick(VALUES);
                lines[line].truncate(colon + 2);
                lines[line].push_str(value);
            }
        }
        2 => {
            lines.remove(line);
        }
        3 => {
            let copy = lines[line].clone();
            lines.insert(line, copy);
        }
        4 => {
            if lines[line].starts_with("  ") && rng.below(2) == 0 {
                lines[line].drain(..2);
            } else {
                lines[line].insert_str(0, "  ");
            }
        }
        5 => {
            let at = char_boundary(text, rng.below(text.len()));
            let token = rng.pick(TOKENS);
            return format!("{}{token}{}", &text[..at], &text[at..]);
        }
        6 => {
            let at = char_boundary(text, rng.below(text.len()));
            return text[..at].to_string();
        }
        _ => {
            if let Some(colon) = lines[line].find(": ") {
                lines[line].truncate(colon + 2);
                lines[line].push_str(&"x".repeat(5_000 + rng.below(50_000)));
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

/// Runs validate on `files` in `dir`; the exit code, or None when it had to be killed.
fn exit_code(dir: &Path, files: &[String]) -> Option<i32> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .current_dir(dir)
        .arg("validate")
        .arg("-f")
        .args(files)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run agentrelease");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status.code().unwrap_or(-1));
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn validate_exits_0_or_1_on_every_mutation_of_the_samples() {
    let bases: Vec<String> = ["agentrelease.yaml", "releasetarget.yaml"]
        .iter()
        .map(|f| samples().join(f))
        .chain([samples().join("invalid/traffic-not-100.yaml")])
        .map(|p| std::fs::read_to_string(p).expect("sample"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5EED_0FA9_E72E_1E00);
    // Known reproducers first (as a fuzzer's seed corpus), then random mutations.
    let mut names = Vec::new();
    for (i, percentage) in ["2147483647", "9223372036854775807", "18446744073709551615"]
        .iter()
        .enumerate()
    {
        let text = bases[2]
            .replace(
                "trafficPercentage: 50",
                &format!("trafficPercentage: {percentage}"),
            )
            .replace(
                "trafficPercentage: 40",
                &format!("trafficPercentage: {percentage}"),
            );
        let name = format!("seed{i}.yaml");
        std::fs::write(dir.path().join(&name), text).unwrap();
        names.push(name);
    }
    for i in 0..MUTATIONS {
        let mut text = bases[rng.below(bases.len())].clone();
        for _ in 0..=rng.below(3) {
            text = mutate_once(&mut rng, &text);
        }
        let name = format!("m{i:03}.yaml");
        std::fs::write(dir.path().join(&name), text).unwrap();
        names.push(name);
    }
    let mut failures = Vec::new();
    for batch in names.chunks(BATCH) {
        if matches!(exit_code(dir.path(), batch), Some(0 | 1)) {
            continue;
        }
        for name in batch {
            let code = exit_code(dir.path(), std::slice::from_ref(name));
            if !matches!(code, Some(0 | 1)) {
                let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
                failures.push(format!(
                    "{name}: exit {code:?} (None: killed after 60 s) on:\n{text}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
