//! The `include:` globs of a bundle: `*` and `?` within one path segment, `**` across segments,
//! `[abc]` classes; matched against the files under the bundle root, in name order (as Go's
//! `filepath.Glob` the bundle CLI uses, plus `**`). Hidden directories are not entered. A pattern
//! may not leave the bundle root (`..`, an absolute path).

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::manifest::MAX_DIR_DEPTH;

/// True when `pattern` has glob characters.
pub fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The files under `root` that `pattern` (relative to `root`) matches, sorted.
pub fn expand(root: &Path, pattern: &str) -> io::Result<Vec<PathBuf>> {
    let rel = Path::new(pattern);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("include {pattern:?} leaves the bundle root"),
        ));
    }
    let segments: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if !has_magic(pattern) {
        let file = root.join(segments.join("/"));
        return Ok(if file.is_file() {
            vec![file]
        } else {
            Vec::new()
        });
    }
    let mut out = Vec::new();
    walk(root, &segments, 0, &mut out)?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, segments: &[&str], depth: usize, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(());
    };
    if depth > MAX_DIR_DEPTH {
        return Ok(());
    }
    if *first == "**" {
        // Zero segments...
        walk(dir, rest, depth, out)?;
        // ...or one more directory level, keeping `**`.
        for entry in entries(dir)? {
            if entry.is_dir() && !hidden(&entry) {
                walk(&entry, segments, depth + 1, out)?;
            }
        }
        return Ok(());
    }
    for entry in entries(dir)? {
        let Some(name) = entry.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !segment_matches(first, name) || (hidden(&entry) && !first.starts_with('.')) {
            continue;
        }
        if rest.is_empty() {
            if entry.is_file() {
                out.push(entry);
            }
        } else if entry.is_dir() {
            walk(&entry, rest, depth + 1, out)?;
        }
    }
    Ok(())
}

fn entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    list.sort();
    Ok(list)
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Whether one path segment matches one pattern segment (`*`, `?`, `[...]`, literals).
pub fn segment_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_at(&p, &n)
}

fn matches_at(p: &[char], n: &[char]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => (0..=n.len()).any(|i| matches_at(rest, &n[i..])),
        Some(('?', rest)) => !n.is_empty() && matches_at(rest, &n[1..]),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().position(|c| *c == ']') else {
                return n.first() == Some(&'[') && matches_at(rest, &n[1..]);
            };
            let Some(c) = n.first() else {
                return false;
            };
            let (negate, class) = match rest[..close].split_first() {
                Some(('^' | '!', class)) => (true, class),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && matches_at(&rest[close + 1..], &n[1..])
        }
        Some((lit, rest)) => n.first() == Some(lit) && matches_at(rest, &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_match_like_filepath_match() {
        assert!(segment_matches("*.yml", "app.yml"));
        assert!(!segment_matches("*.yml", "app.yaml"));
        assert!(segment_matches("t?.yml", "t1.yml"));
        assert!(segment_matches("[ab]*.yml", "b.yml"));
        assert!(!segment_matches("[!ab]*.yml", "b.yml"));
        assert!(segment_matches("[a-c].yml", "b.yml"));
    }

    #[test]
    fn double_star_spans_directories_and_hidden_ones_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        for f in [
            "resources/a.yml",
            "resources/deep/b.yml",
            ".hidden/c.yml",
            "d.yml",
        ] {
            let p = root.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "{}").unwrap();
        }
        let names = |pattern: &str| -> Vec<String> {
            expand(root.path(), pattern)
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(root.path()).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(names("resources/*.yml"), ["resources/a.yml"]);
        assert_eq!(
            names("**/*.yml"),
            ["d.yml", "resources/a.yml", "resources/deep/b.yml"]
        );
        assert_eq!(names("d.yml"), ["d.yml"]);
        assert!(expand(root.path(), "../x.yml").is_err());
    }
}
