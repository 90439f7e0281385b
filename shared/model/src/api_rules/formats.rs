//! The string formats the API server checks (apimachinery's `validation` package), as predicates.

use crate::names::{is_dns1123_label, is_dns1123_subdomain};

/// RFC 1035 label: an RFC 1123 label that starts with a letter (Service names).
pub fn is_dns1035_label(name: &str) -> bool {
    is_dns1123_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())
}

/// The name part of a qualified name: ≤ 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
fn is_qualified_name_part(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain.
pub fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => !prefix.is_empty() && is_dns1123_subdomain(prefix) && is_qualified_name_part(name),
        None => is_qualified_name_part(key),
    }
}

/// A label value: empty, or a qualified name's name part.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_qualified_name_part(value)
}

/// An environment variable name every supported Kubernetes takes: letters, digits, '_', '-', '.',
/// not starting with a digit (1.30+ relaxes this; 1.23 does not).
pub fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A key of a ConfigMap or Secret: alphanumerics, '-', '_', '.', at most 253.
pub fn is_config_map_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// IANA service name (a named port): ≤ 15 lowercase alphanumerics and '-', at least one letter, no
/// '--', no '-' at either end.
pub fn is_port_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.chars().any(|c| c.is_ascii_lowercase())
        && !name.contains("--")
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A name usable as a path segment (RBAC objects): not `.` or `..`, no `/` or `%`.
pub fn is_path_segment_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%'])
}

/// A relative path that stays below its base: not absolute, no `..` element.
pub fn is_descending_path(path: &str) -> bool {
    !path.starts_with('/') && !path.split('/').any(|part| part == "..")
}

/// `N%`, as maxSurge and maxUnavailable take percentages.
pub fn percent(text: &str) -> Option<i64> {
    text.strip_suffix('%').and_then(|n| n.parse::<i64>().ok())
}

/// The value of a Kubernetes quantity (`500m`, `1Gi`, `1e3`), as the API server parses it;
/// `None` when it does not parse.
pub fn quantity(text: &str) -> Option<f64> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    if number.is_empty() || number.matches('.').count() > 1 || !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let value: f64 = number.parse().ok().or_else(|| format!("{number}0").parse().ok())?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let digits = exponent.strip_prefix(['e', 'E'])?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            10f64.powi(digits.parse::<i32>().ok()?)
        }
    };
    Some(sign * value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_the_api_server_parses_them() {
        for (text, value) in [
            ("1", 1.0),
            ("500m", 0.5),
            ("1Gi", 1073741824.0),
            ("1e3", 1000.0),
            ("1.5", 1.5),
            ("+2k", 2000.0),
            ("-1", -1.0),
            (".5", 0.5),
        ] {
            assert_eq!(quantity(text), Some(value), "{text}");
        }
        for bad in ["", "lots", "1GB", "Gi", "1..2", "1e", "1e+", "1 Gi", "1gi", "."] {
            assert_eq!(quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_and_keys() {
        assert!(is_qualified_name("app.kubernetes.io/name") && is_qualified_name("tier") && is_qualified_name("A_b.c"));
        assert!(
            !is_qualified_name("/x")
                && !is_qualified_name("a/b/c")
                && !is_qualified_name("-a")
                && !is_qualified_name("")
        );
        assert!(is_label_value("") && !is_label_value("a b"));
        assert!(
            is_env_name("MY_VAR")
                && is_env_name("a.b-c")
                && !is_env_name("1A")
                && !is_env_name("A=B")
                && !is_env_name("")
        );
        assert!(
            is_port_name("http") && !is_port_name("80") && !is_port_name("a--b") && !is_port_name("metrics-endpoint-x")
        );
        assert!(is_dns1035_label("mlflow") && !is_dns1035_label("1-mlflow"));
        assert!(is_descending_path("a/b") && !is_descending_path("/a") && !is_descending_path("a/../b"));
    }
}
