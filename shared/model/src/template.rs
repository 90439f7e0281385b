//! The native side of the chart's `tpl` for `extraObjects` strings: the subset of Go templates
//! the chart documents (docs/objects.md, "Extra objects"), evaluated exactly as helm evaluates it.
//! Anything outside the subset is [`Error::Unsupported`]: the native engine refuses it, helm
//! (`--helm`) renders it.
//!
//! The subset: text, and actions `{{ X }}` (with `{{-`/`-}}` trimming) where X is
//! - `.Release.Name`, `.Release.Namespace`, `.Chart.Name`, `.Chart.AppVersion`,
//! - `.Values.a.b.c` naming a string, a boolean or a number (integers below 1000000, decimals
//!   between 0.0001 and 1000000: where Go and Rust print numbers alike),
//! - `include "mlflow.fullname" .` or `include "mlflow.serviceAccountName" .`,
//! - any of these piped to `quote` (`X | quote`, or `quote X`), for printable ASCII text.
//!
//! `$` stands for the root as `.` does.

use serde_json::Value;

/// What a template may refer to.
pub struct Scope<'a> {
    /// The chart's values as a tree (`.Values`).
    pub values: &'a Value,
    pub release_name: &'a str,
    pub release_namespace: &'a str,
    /// `include "mlflow.fullname" .`
    pub fullname: &'a str,
    /// `include "mlflow.serviceAccountName" .`
    pub service_account: &'a str,
}

/// Why a template was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Outside the native subset: helm may render it.
    Unsupported(String),
    /// Wrong for helm too (a value that is not there, an action left open).
    Invalid(String),
}

/// Evaluates a template of the subset.
pub fn evaluate(text: &str, scope: &Scope) -> Result<String, Error> {
    let mut out = String::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let before = &rest[..start];
        let after = &rest[start + 2..];
        let trim_before = after.starts_with('-') && after[1..].starts_with(is_space);
        let before = if trim_next { before.trim_start_matches(is_space) } else { before };
        out.push_str(if trim_before { before.trim_end_matches(is_space) } else { before });
        let end = after
            .find("}}")
            .ok_or_else(|| Error::Invalid("an action opened with {{ is not closed with }}".to_string()))?;
        let mut inner = &after[usize::from(trim_before)..end];
        trim_next = inner.ends_with('-') && inner[..inner.len() - 1].ends_with(is_space);
        if trim_next {
            inner = &inner[..inner.len() - 1];
        }
        out.push_str(&action(inner.trim_matches(is_space), scope)?);
        rest = &after[end + 2..];
    }
    out.push_str(if trim_next { rest.trim_start_matches(is_space) } else { rest });
    Ok(out)
}

/// Go's template whitespace.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn action(inner: &str, scope: &Scope) -> Result<String, Error> {
    if inner.starts_with("/*") {
        return Err(unsupported("a comment {{/* ... */}}"));
    }
    let mut text: Option<String> = None;
    for command in split_pipeline(inner) {
        let parts = words(command.trim())?;
        text = Some(match (parts.as_slice(), text) {
            ([], _) => return Err(Error::Invalid(format!("{{{{ {inner} }}}}: an empty command"))),
            ([word], Some(piped)) if word == "quote" => quote(&piped)?,
            ([word, arg], None) if word == "quote" => quote(&operand(arg, scope)?)?,
            ([word, name, dot], None) if word == "include" && (dot == "." || dot == "$") => include(name, scope)?,
            ([arg], None) => operand(arg, scope)?,
            _ => return Err(unsupported(&format!("{{{{ {inner} }}}}"))),
        });
    }
    text.ok_or_else(|| Error::Invalid("an empty action {{ }}".to_string()))
}

fn unsupported(what: &str) -> Error {
    Error::Unsupported(what.to_string())
}

/// The commands of a pipeline: split at `|` outside string literals.
fn split_pipeline(inner: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '|' if !quoted => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

/// The words of a command; a string literal is one word, kept with its quotes.
fn words(command: &str) -> Result<Vec<String>, Error> {
    let (mut words, mut word, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in command.chars() {
        match c {
            _ if escaped => {
                word.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                word.push(c);
                escaped = true;
            }
            '"' => {
                word.push(c);
                quoted = !quoted;
            }
            c if is_space(c) && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if quoted {
        return Err(Error::Invalid(format!("{command}: a string is not closed with \"")));
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

fn include(name: &str, scope: &Scope) -> Result<String, Error> {
    match name {
        "\"mlflow.fullname\"" => Ok(scope.fullname.to_string()),
        "\"mlflow.serviceAccountName\"" => Ok(scope.service_account.to_string()),
        _ => Err(unsupported(&format!("include {name}"))),
    }
}

/// The text of a field: `.Release.Name`, `.Values.a.b`.
fn operand(word: &str, scope: &Scope) -> Result<String, Error> {
    let field = word.strip_prefix('$').unwrap_or(word);
    let Some(path) = field.strip_prefix('.').filter(|p| !p.is_empty()) else {
        return Err(unsupported(word));
    };
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return Err(unsupported(word));
    }
    match segments.as_slice() {
        ["Release", "Name"] => Ok(scope.release_name.to_string()),
        ["Release", "Namespace"] => Ok(scope.release_namespace.to_string()),
        ["Chart", "Name"] => Ok(crate::names::CHART_NAME.to_string()),
        ["Chart", "AppVersion"] => Ok(crate::versions::APP_VERSION.to_string()),
        ["Values", keys @ ..] if !keys.is_empty() => value_text(field, lookup(scope.values, keys)?),
        _ => Err(unsupported(word)),
    }
}

fn lookup<'v>(values: &'v Value, keys: &[&str]) -> Result<&'v Value, Error> {
    let mut node = values;
    for (i, key) in keys.iter().enumerate() {
        node = node.get(key).ok_or_else(|| {
            let at = keys[..=i].join(".");
            Error::Invalid(format!(
                ".Values.{at} is not a value of the chart (check its spelling: charts/values.yaml lists every value)"
            ))
        })?;
    }
    Ok(node)
}

/// A value as Go's `{{ }}` prints it, where Go and Rust agree.
fn value_text(field: &str, value: &Value) -> Result<String, Error> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => number_text(n).ok_or_else(|| {
            unsupported(&format!("{field} = {n}: a number printed the way only Go prints it (quote it in the values)"))
        }),
        Value::Null => Err(Error::Invalid(format!("{field} is not set (null): give it a value"))),
        Value::Object(_) | Value::Array(_) => Err(unsupported(&format!(
            "{field} is a map or a list (the native engine prints strings, numbers and booleans)"
        ))),
    }
}

/// Helm reads values files into float64s, which Go prints as `1e+06` from a million on.
fn number_text(n: &serde_json::Number) -> Option<String> {
    let x = n.as_f64()?;
    if x.fract() == 0.0 && x.abs() < 1e6 {
        return Some(format!("{}", x as i64));
    }
    (x.abs() >= 1e-4 && x.abs() < 1e6).then(|| format!("{x}"))
}

/// sprig's `quote` (Go's `%q`) for printable ASCII text and the escapes Go writes alike.
fn quote(text: &str) -> Result<String, Error> {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            _ => return Err(unsupported("quote of text beyond printable ASCII")),
        }
    }
    out.push('"');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str) -> Result<String, Error> {
        let values = json!({"image": {"tag": "v1", "n": 5000, "big": 1000000, "half": 0.5, "on": true,
            "none": null, "map": {"a": 1}}});
        let scope = Scope {
            values: &values,
            release_name: "rel",
            release_namespace: "ns",
            fullname: "rel-mlflow",
            service_account: "rel-mlflow",
        };
        evaluate(text, &scope)
    }

    #[test]
    fn the_subset() {
        assert_eq!(eval("name: {{ .Release.Name }}-x").unwrap(), "name: rel-x");
        assert_eq!(eval("{{ $.Release.Namespace }}").unwrap(), "ns");
        assert_eq!(eval("{{ include \"mlflow.fullname\" . }}").unwrap(), "rel-mlflow");
        assert_eq!(eval("{{ .Values.image.tag | quote }}").unwrap(), "\"v1\"");
        assert_eq!(eval("{{ quote .Values.image.n }}").unwrap(), "\"5000\"");
        assert_eq!(eval("{{ .Values.image.half }} {{ .Values.image.on }}").unwrap(), "0.5 true");
        assert_eq!(eval("{{ .Chart.AppVersion }}").unwrap(), crate::versions::APP_VERSION);
    }

    #[test]
    fn trimming_as_go_does() {
        assert_eq!(eval("a  {{- .Release.Name -}}\n  b").unwrap(), "arelb");
        assert_eq!(eval("a {{ .Release.Name }} b").unwrap(), "a rel b");
        // `{{-3}}` is not a trim marker: it is outside the subset anyway.
        assert!(matches!(eval("{{-3}}"), Err(Error::Unsupported(_))));
    }

    #[test]
    fn outside_the_subset() {
        for text in [
            "{{ toYaml .Values.image }}",
            "{{ .Values.image.map }}",
            "{{ .Values.image.big }}",
            "{{ include \"mlflow.labels\" . }}",
            "{{ if .Values.image.on }}x{{ end }}",
            "{{/* a comment */}}",
            "{{ .Values.image.tag | upper }}",
        ] {
            assert!(matches!(eval(text), Err(Error::Unsupported(_))), "{text}");
        }
    }

    #[test]
    fn wrong_for_helm_too() {
        assert_eq!(
            eval("{{ .Values.image.tga }}"),
            Err(Error::Invalid(".Values.image.tga is not a value of the chart (check its spelling: charts/values.yaml lists every value)".into()))
        );
        assert!(matches!(eval("{{ .Values.nope.tag }}"), Err(Error::Invalid(_))));
        assert!(matches!(eval("{{ .Values.image.none }}"), Err(Error::Invalid(_))));
        assert!(matches!(eval("{{ .Release.Name "), Err(Error::Invalid(_))));
    }
}
