//! Durations in Go's notation (`30s`, `5m`, `1h30m`), as Kubernetes tools write them.

use std::time::Duration;

/// Parses a Go-style duration made of `<digits><unit>` parts with units `ms`, `s`, `m`, `h`.
/// Returns `None` for anything else (fractions, signs, spaces, other units, overflow).
pub fn parse(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let (number, tail) = rest.split_at(digits);
        let value: u64 = number.parse().ok()?;
        let (unit_ms, tail) = if let Some(t) = tail.strip_prefix("ms") {
            (1, t)
        } else if let Some(t) = tail.strip_prefix('s') {
            (1_000, t)
        } else if let Some(t) = tail.strip_prefix('m') {
            (60_000, t)
        } else if let Some(t) = tail.strip_prefix('h') {
            (3_600_000, t)
        } else {
            return None;
        };
        total_ms = total_ms.checked_add(value.checked_mul(unit_ms)?)?;
        rest = tail;
    }
    Some(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "5",
            "m",
            "1.5m",
            "-5m",
            "5 m",
            "5d",
            "99999999999999999999h",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
