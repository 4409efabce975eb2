//! The one rule for artifact paths (the signoff, the eval summary, the deployment plans): a clean
//! absolute path under a root. [`check`] is what `agentrelease validate` and the engine both
//! call; [`PATTERN`] is the same rule under [`VOLUMES`] as a regular expression, for the CRD's
//! CEL rule, so the API server refuses what the engine would refuse later.

/// The root of every Unity Catalog volume path.
pub const VOLUMES: &str = "/Volumes/";

/// [`check`] under [`VOLUMES`] as an RE2 regular expression (CEL's `matches`; the `regex` crate
/// reads it the same): segments without `/`, `\` or control characters, none of them empty, `.`
/// or `..`.
pub const PATTERN: &str = concat!(
    r"^/Volumes/",
    r"(?:(?:[^./\\\x00-\x1f\x7f-\x{9f}][^/\\\x00-\x1f\x7f-\x{9f}]*|\.[^./\\\x00-\x1f\x7f-\x{9f}][^/\\\x00-\x1f\x7f-\x{9f}]*|\.\.[^/\\\x00-\x1f\x7f-\x{9f}]+)/)*",
    r"(?:[^./\\\x00-\x1f\x7f-\x{9f}][^/\\\x00-\x1f\x7f-\x{9f}]*|\.[^./\\\x00-\x1f\x7f-\x{9f}][^/\\\x00-\x1f\x7f-\x{9f}]*|\.\.[^/\\\x00-\x1f\x7f-\x{9f}]+)$",
);

/// Why an artifact path is refused; the text reads after "is refused: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefusal {
    /// A control character: NUL, a newline, a tab, DEL, C1 controls.
    #[error("it contains a control character (such as NUL or a newline)")]
    ControlCharacter,
    /// A backslash, which some clients read as a separator.
    #[error("it contains a backslash")]
    Backslash,
    /// It does not start with `/`.
    #[error("it is not absolute")]
    NotAbsolute,
    /// `//`, or a trailing `/` (a directory, not a file).
    #[error("it has an empty segment ('//' or a trailing '/')")]
    EmptySegment,
    /// A `.` or `..` segment: the path would not name itself.
    #[error("it has a '.' or '..' segment")]
    DotSegment,
    /// Not below the root.
    #[error("it is not under {root}")]
    Outside {
        /// The root it must lie under.
        root: String,
    },
}

/// Accepts a clean absolute path strictly below `root` (which ends with `/`): no control
/// character, no backslash, no empty, `.` or `..` segment. The first rule broken is returned.
pub fn check(path: &str, root: &str) -> Result<(), PathRefusal> {
    if path.chars().any(char::is_control) {
        return Err(PathRefusal::ControlCharacter);
    }
    if path.contains('\\') {
        return Err(PathRefusal::Backslash);
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PathRefusal::NotAbsolute);
    };
    if rest.split('/').any(str::is_empty) {
        return Err(PathRefusal::EmptySegment);
    }
    if rest.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(PathRefusal::DotSegment);
    }
    if !path.starts_with(root) || path.len() == root.len() {
        return Err(PathRefusal::Outside {
            root: root.to_string(),
        });
    }
    Ok(())
}

/// `/Volumes/<catalog>/<schema>/`, the root of a target's artifacts.
pub fn target_root(catalog: &str, schema: &str) -> String {
    format!("{VOLUMES}{catalog}/{schema}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "/Volumes/main/agents/";

    #[test]
    fn accepts_clean_paths_under_the_root() {
        for good in [
            "/Volumes/main/agents/signoffs/v7/decision.md",
            "/Volumes/main/agents/x",
            "/Volumes/main/agents/.hidden/...",
            "/Volumes/main/agents/..x/a.b",
        ] {
            assert_eq!(check(good, ROOT), Ok(()), "{good}");
        }
    }

    #[test]
    fn names_the_rule_each_bad_path_breaks() {
        use PathRefusal::*;
        let outside = || Outside { root: ROOT.into() };
        for (bad, why) in [
            ("/Volumes/main/agents/../finance/x.md", DotSegment),
            ("/Volumes/main/agents/./x.md", DotSegment),
            ("/Volumes/main/agents/x/.", DotSegment),
            ("/Volumes/main/agents//x.md", EmptySegment),
            ("/Volumes/main/agents/x/", EmptySegment),
            ("/Volumes/main/agents/", EmptySegment),
            ("/Volumes/main/agents/a\\b.md", Backslash),
            ("/Volumes/main/agents/x\u{0}.md", ControlCharacter),
            ("/Volumes/main/agents/x\n.md", ControlCharacter),
            ("/Volumes/main/agents/x\u{85}.md", ControlCharacter),
            ("Volumes/main/agents/x.md", NotAbsolute),
            ("/Volumes/main/agentsx/x.md", outside()),
            ("/Volumes/other/agents/x.md", outside()),
            ("/Volumes/main/agents", outside()),
        ] {
            assert_eq!(check(bad, ROOT), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn refusals_read_after_is_refused() {
        assert_eq!(
            PathRefusal::Outside { root: ROOT.into() }.to_string(),
            "it is not under /Volumes/main/agents/"
        );
        assert_eq!(target_root("main", "agents"), ROOT);
    }
}
