//! A bounded, deterministic fuzzer over the readers of untrusted documents: the signoff front
//! matter, the evaluation summary and the manifest reader. Every document of the committed
//! corpora (`tests/signoff-corpus`, `tests/eval-corpus`, `config/samples`) is mutated many times
//! — bytes flipped, cut, repeated, YAML and JSON syntax spliced in — and each reader must answer
//! with a verdict or an error, never a panic, and within a time that does not grow with the
//! mutation. The seed is fixed, so a failure reproduces; `FUZZ_ITERATIONS` runs longer.

use std::path::{Path, PathBuf};

use agentrelease::engine::artifacts::{eval_summary, signoff};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that exercise the parsers' edges.
const SPLICES: [&[u8]; 18] = [
    b"---\n",
    b"\n---\n",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!!binary ",
    b"!!python/object ",
    b"{",
    b"}",
    b"[",
    b"\"",
    b"\\u0000",
    b"1e999",
    b"NaN",
    b"\xef\xbb\xbf",
    b"\r\n",
    b": ",
    b"  - ",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let cut = rng.below(out.len());
                out.truncate(cut);
            }
            2 => {
                let at = rng.below(out.len() + 1);
                let splice = SPLICES[rng.below(SPLICES.len())];
                out.splice(at..at, splice.iter().copied());
            }
            3 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(64)).min(out.len());
                let chunk = out[start..end].to_vec();
                for _ in 0..rng.below(8) {
                    out.extend_from_slice(&chunk);
                }
            }
            4 if !out.is_empty() => {
                let i = rng.below(out.len());
                out.remove(i);
            }
            _ => {
                let depth = rng.below(200);
                out.extend(std::iter::repeat_n(b'[', depth));
            }
        }
    }
    out
}

fn corpus(dir: &str, extensions: &[&str]) -> Vec<Vec<u8>> {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut docs: Vec<Vec<u8>> = std::fs::read_dir(&root)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "no corpus in {dir}");
    docs
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn the_signoff_reader_never_panics() {
    let docs = corpus("tests/signoff-corpus", &["md"]);
    let mut rng = Rng(0x5eed_0001);
    for i in 0..iterations() {
        let input = mutate(&mut rng, &docs[i % docs.len()]);
        let parsed = std::panic::catch_unwind(|| signoff::parse("decision.md", &input));
        assert!(
            parsed.is_ok(),
            "the signoff reader panicked on: {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn the_summary_reader_never_panics() {
    let docs = corpus("tests/eval-corpus", &["json"]);
    let mut rng = Rng(0x5eed_0002);
    for i in 0..iterations() {
        let input = mutate(&mut rng, &docs[i % docs.len()]);
        let parsed = std::panic::catch_unwind(|| eval_summary::parse(&input).is_ok());
        assert!(
            parsed.is_ok(),
            "the summary reader panicked on: {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn the_manifest_reader_never_panics() {
    let docs = corpus("config/samples", &["yaml"]);
    let mut rng = Rng(0x5eed_0003);
    for i in 0..iterations() / 3 {
        let input = mutate(&mut rng, &docs[i % docs.len()]);
        let text = String::from_utf8_lossy(&input).into_owned();
        let parsed = std::panic::catch_unwind(|| {
            agentrelease::manifest::parse_documents(Path::new("fuzzed.yaml"), &text)
                .1
                .len()
        });
        assert!(parsed.is_ok(), "the manifest reader panicked on: {text:?}");
    }
}
