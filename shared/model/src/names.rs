//! Names of the release and its objects.

use crate::values::Values;

/// The chart this crate renders like: its name makes `<release>-mlflow`.
pub const CHART_NAME: &str = "mlflow";

/// Helm refuses release names longer than this.
pub const MAX_RELEASE_NAME: usize = 53;

/// The full name of every object: `fullnameOverride`, else `<release>-mlflow`, cut to 63.
pub fn fullname(values: &Values, release: &str) -> String {
    let name = if values.fullname_override.is_empty() {
        format!("{release}-{CHART_NAME}")
    } else {
        values.fullname_override.clone()
    };
    truncate(&name, 63)
}

/// Cuts to `max` characters without a trailing `-`, as helm's `trunc | trimSuffix "-"`.
pub fn truncate(name: &str, max: usize) -> String {
    let cut: String = name.chars().take(max).collect();
    cut.trim_end_matches('-').to_string()
}

/// The ServiceAccount the pods run as.
pub fn service_account(values: &Values, release: &str) -> String {
    if !values.service_account.name.is_empty() {
        values.service_account.name.clone()
    } else if values.service_account.create {
        fullname(values, release)
    } else {
        "default".to_string()
    }
}

/// RFC 1123 label: lowercase alphanumerics and '-', starting and ending alphanumeric, ≤ 63.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// RFC 1123 subdomain: labels joined by '.', ≤ 253.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

/// Problems with a release name, as helm checks it.
pub fn check_release_name(release: &str) -> Option<String> {
    if !is_dns1123_label(release) || release.len() > MAX_RELEASE_NAME {
        Some(format!(
            "\"{release}\" is not a valid release name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most {MAX_RELEASE_NAME} characters)"
        ))
    } else {
        None
    }
}
