//! Durations as kubectl and helm take them on the command line (`--timeout 5m`), and their
//! shortest spelling in messages.

/// Parses a Go-style duration as kubectl and helm take it: `90s`, `5m`, `1h30m`, `1.5h`, `500ms`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("\"{text}\" is not a duration (use e.g. 90s, 5m or 1h30m)");
    let too_long = || format!("\"{text}\" is too long a duration (use e.g. 90s, 5m or 1h30m)");
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut rest = text;
    let mut seconds = 0f64;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let (number, tail) = rest.split_at(split);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        seconds += value * scale;
        rest = tail;
    }
    if text.is_empty() {
        return Err(bad());
    }
    // Go's limit (kubectl's and helm's): what fits in an int64 of nanoseconds, about 292 years.
    if seconds > i64::MAX as f64 / 1e9 {
        return Err(too_long());
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| too_long())
}

/// The shortest Go-style spelling of a duration: `5m`, `1m30s`, `45s`.
pub fn format_duration(duration: std::time::Duration) -> String {
    let total = duration.as_secs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["", "5", "5x", "m", "-1s", "-5m", "five minutes", "99999999999999999999h", "1e400s", "300y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }
}
