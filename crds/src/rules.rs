//! Helpers that write CEL rule text from the shared naming rules, so a pattern is spelled once.

/// Quotes `text` as a CEL single-quoted string literal (backslashes and quotes escaped).
pub fn cel_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The CEL expression `self.matches('<regex>')`.
pub fn self_matches(regex: &str) -> String {
    format!("self.matches({})", cel_str(regex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslashes_and_quotes() {
        assert_eq!(cel_str(r"a\sb'c"), r"'a\\sb\'c'");
        assert_eq!(self_matches("^x$"), "self.matches('^x$')");
    }
}
