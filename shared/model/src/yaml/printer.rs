//! A YAML printer for JSON trees that writes what serde_yaml 0.9 (libyaml's emitter, block
//! style, unlimited width) writes, for the trees objects and values are made of: maps, lists,
//! null, booleans, integers and printable-ASCII strings (multi-line ones as literal blocks).
//! Anything else (a float, a non-ASCII string, a long key, a block that needs an indentation
//! or keep indicator) makes it give up, and the caller prints the tree with serde_yaml. It exists because serde_yaml's emitter was a quarter of a render's
//! instructions; the tests compare both on every rendered object and on the strings whose style
//! the rules below decide.

use serde_json::{Map, Value};

/// The document, or `None` when the tree holds something this printer leaves to serde_yaml.
pub fn print(value: &Value) -> Option<String> {
    let mut out = String::with_capacity(1024);
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, false, &mut out)?,
        Value::Array(items) if !items.is_empty() => write_list(items, 0, false, &mut out)?,
        scalar => {
            write_scalar(scalar, &mut out)?;
            out.push('\n');
        }
    }
    Some(out)
}

/// `inline`: the first entry goes on the current line (after a list's `- `).
fn write_map(map: &Map<String, Value>, indent: usize, inline: bool, out: &mut String) -> Option<()> {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline {
            push_indent(indent, out);
        }
        // libyaml writes a key longer than 128 characters as a complex key (`? key`)
        if key.len() > 128 {
            return None;
        }
        write_string(key, out)?;
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(inner, indent + 2, false, out)?;
            }
            // a list in a map is not indented
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_list(items, indent, false, out)?;
            }
            scalar => {
                out.push(' ');
                write_value(scalar, indent + 2, out)?;
            }
        }
    }
    Some(())
}

fn write_list(items: &[Value], indent: usize, inline: bool, out: &mut String) -> Option<()> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            push_indent(indent, out);
        }
        out.push_str("- ");
        match item {
            Value::Object(inner) if !inner.is_empty() => write_map(inner, indent + 2, true, out)?,
            Value::Array(inner) if !inner.is_empty() => write_list(inner, indent + 2, true, out)?,
            scalar => write_value(scalar, indent + 2, out)?,
        }
    }
    Some(())
}

/// A scalar in a map or list, and its line's end; a multi-line string as a literal block, its
/// lines at `indent`.
fn write_value(value: &Value, indent: usize, out: &mut String) -> Option<()> {
    match value {
        Value::String(s) if s.contains('\n') => write_literal(s, indent, out),
        scalar => {
            write_scalar(scalar, out)?;
            out.push('\n');
            Some(())
        }
    }
}

/// `|` (the string ends with one line break) or `|-` (with none), then its lines. `None` where
/// libyaml would choose differently: a first line that starts with a space or is empty (an
/// indentation indicator), several final line breaks (`|+`), a space before a line break or at
/// the end (double quotes), a character other than printable ASCII.
fn write_literal(s: &str, indent: usize, out: &mut String) -> Option<()> {
    let bytes = s.as_bytes();
    let printable = bytes.iter().all(|b| (0x20..0x7f).contains(b) || *b == b'\n');
    if !printable || s.starts_with([' ', '\n']) || s.ends_with("\n\n") || s.ends_with(' ') || s.contains(" \n") {
        return None;
    }
    let body = match s.strip_suffix('\n') {
        Some(body) => {
            out.push_str("|\n");
            body
        }
        None => {
            out.push_str("|-\n");
            s
        }
    };
    for line in body.split('\n') {
        if !line.is_empty() {
            push_indent(indent, out);
            out.push_str(line);
        }
        out.push('\n');
    }
    Some(())
}

fn push_indent(indent: usize, out: &mut String) {
    const SPACES: &str = "                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// A scalar, or an empty map or list (written in flow style).
fn write_scalar(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) if n.is_u64() || n.is_i64() => out.push_str(&n.to_string()),
        Value::Number(_) => return None,
        Value::String(s) => write_string(s, out)?,
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
    Some(())
}

/// A string plain or in single quotes, as serde_yaml chooses; `None` for one whose style
/// depends on more than the rules here (line breaks, tabs and other control characters,
/// non-ASCII text, leading or trailing spaces).
fn write_string(s: &str, out: &mut String) -> Option<()> {
    let printable = s.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !printable || s.starts_with(' ') || s.ends_with(' ') {
        return None;
    }
    if s.is_empty() || reads_as_other_than_string(s) || !plain_allowed(s) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push_str(s);
    }
    Some(())
}

/// serde_yaml quotes a string that a YAML reader would take for null, a boolean or a number
/// (and one of digits with a leading zero, which YAML 1.1 readers take for an octal number).
fn reads_as_other_than_string(s: &str) -> bool {
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F'))
    {
        return false;
    }
    let keyword = matches!(s, "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE");
    // after a letter no number follows (float() refuses the "nan" f64 would read): keys and
    // names, most strings of an object, are not parsed as numbers four times over
    if keyword || first.is_ascii_alphabetic() {
        return keyword;
    }
    leading_zero_digits(s) || unsigned_integer(s) || negative_integer(s) || float(s)
}

/// Digits after a leading zero (and an optional sign): `0123`.
fn leading_zero_digits(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

const RADIX_PREFIXES: [(&str, u32); 3] = [("0x", 16), ("0o", 8), ("0b", 2)];

/// `+0x1F`, `0o17`, `0b101`, `42`, `+42` (as serde_yaml reads an unsigned integer).
fn unsigned_integer(s: &str) -> bool {
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    for (prefix, radix) in RADIX_PREFIXES {
        if let Some(rest) = unsigned.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return false;
            }
            if u128::from_str_radix(rest, radix).is_ok() {
                return true;
            }
        }
    }
    !unsigned.starts_with(['+', '-']) && !leading_zero_digits(s) && unsigned.parse::<u128>().is_ok()
}

/// `-0x1F`, `-0o17`, `-0b101`, `-42` (as serde_yaml reads a negative integer).
fn negative_integer(s: &str) -> bool {
    for (prefix, radix) in RADIX_PREFIXES {
        if let Some(rest) = s.strip_prefix('-').and_then(|r| r.strip_prefix(prefix)) {
            if i128::from_str_radix(&format!("-{rest}"), radix).is_ok() {
                return true;
            }
        }
    }
    !leading_zero_digits(s) && s.parse::<i128>().is_ok()
}

/// `1.5`, `1e3`, `.inf`, `-.Inf`, `.NaN` (as serde_yaml reads a float).
fn float(s: &str) -> bool {
    let unsigned = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return false,
        Some(rest) => rest,
        None => s,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Whether libyaml's emitter may write this string plain in block context (for a printable
/// single-line string without leading or trailing spaces): not when it starts like a document
/// marker or with an indicator, nor when it holds `: ` or ` #`.
fn plain_allowed(s: &str) -> bool {
    let bytes = s.as_bytes();
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    // what follows a character: a space, or the end of the string, counts as whitespace
    let spaced = |i: usize| bytes.get(i + 1).is_none_or(|b| *b == b' ');
    match bytes[0] {
        b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
        | b'`' => return false,
        b'?' | b':' | b'-' if spaced(0) => return false,
        _ => {}
    }
    (1..bytes.len()).all(|i| match bytes[i] {
        b':' => !spaced(i),
        b'#' => bytes[i - 1] != b' ',
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// Strings whose style each rule decides, printed by both.
    const STRINGS: &[&str] = &[
        "",
        "a",
        "mlflow",
        "1Gi",
        "500m",
        "0",
        "00",
        "0123",
        "-0123",
        "+0123",
        "42",
        "+42",
        "-42",
        "-",
        "+",
        ".",
        "~",
        "null",
        "Null",
        "NULL",
        "nUll",
        "true",
        "True",
        "TRUE",
        "tRue",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "false",
        "False",
        "FALSE",
        "0x1F",
        "0x",
        "0x-1",
        "+0x1F",
        "-0x1F",
        "0o17",
        "0o8",
        "-0o17",
        "0b101",
        "0b2",
        "-0b101",
        "1.5",
        "1e3",
        "1E3",
        "1e",
        "1_000",
        ".5",
        "5.",
        "-.5",
        "+.5",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "-.inf",
        "-.Inf",
        ".nan",
        ".NaN",
        ".NAN",
        "nan",
        "NaN",
        "name",
        "fsGroup",
        "TCP",
        "inf",
        "infinity",
        "-inf",
        "+-1",
        "++1",
        "1-2",
        "2026-12-05",
        "12:30",
        "1:2:3",
        "340282366920938463463374607431768211456",
        "-170141183460469231731687303715884105729",
        "99999999999999999999999999999999999999999999999",
        "---",
        "--- a",
        "...",
        "... a",
        "--",
        "-a",
        "- a",
        "?",
        "?a",
        "? a",
        ":",
        ":a",
        ": a",
        "a:",
        "a:b",
        "a: b",
        "a :b",
        "#",
        "#a",
        "a#b",
        "a #b",
        "a# b",
        ",a",
        "a,b",
        "[a",
        "a[b",
        "]",
        "{a",
        "a{b",
        "}",
        "&a",
        "a&b",
        "*a",
        "a*b",
        "!a",
        "a!b",
        "|a",
        "a|b",
        ">a",
        "a>b",
        "'a",
        "a'b",
        "it's",
        "\"a",
        "a\"b",
        "%a",
        "a%b",
        "@a",
        "a@b",
        "`a",
        "a`b",
        "a b",
        "a  b",
        "http://x:5000/a?b=c&d",
        "sqlite:////mlflow/mlflow.db",
        "s3://bucket/path",
        "${VAR}",
        "$(VAR)",
        "a=b",
        "key=value,other",
        "--backend-store-uri",
        "-Dx",
        "*",
        "a\\b",
        "C:\\x",
        "x:",
        "http:",
        "/health",
    ];

    #[test]
    fn strings_print_as_serde_yaml_prints_them() {
        for s in STRINGS {
            for value in [json!({ "k": s }), json!({ *s: "v" }), json!([s]), json!(s)] {
                assert_eq!(super::print(&value).as_deref(), Some(super::super::to_string(&value).as_str()), "{s:?}");
            }
        }
    }

    #[test]
    fn layouts_print_as_serde_yaml_prints_them() {
        let tree = json!({
            "a": {"b": {"c": 1, "d": [1, 2, {"e": "f", "g": [[], {}, [3, [4, 5]], {"h": null}]}]}},
            "empty": {}, "none": [], "null": null, "yes": true, "no": false, "n": -7, "big": u64::MAX,
            "list": [{"x": {"y": [{"z": 1}]}}, [{"p": 1, "q": 2}], [[1]]],
        });
        for value in [tree.clone(), json!([tree]), json!({}), json!([]), json!(null), json!(3)] {
            assert_eq!(super::print(&value).as_deref(), Some(super::super::to_string(&value).as_str()));
        }
    }

    #[test]
    fn blocks_print_as_serde_yaml_prints_them() {
        let blocks = [
            "a\nb",
            "a\nb\n",
            "line one\n  indented\n\nafter a blank line\n",
            "a\n\n\nb",
            "[x]\nk = v\n",
            "#!/bin/sh\nset -e\n",
            "- a\n- b",
            "a: b\nc: d\n",
            "'q'\n\"d\"\n",
            "x\n#c\n",
        ];
        for s in blocks {
            let tree = json!({"top": s, "nested": {"deeper": {"k": s}}, "list": [s, {"k": s}, [s]]});
            assert_eq!(super::print(&tree).as_deref(), Some(super::super::to_string(&tree).as_str()), "{s:?}");
        }
    }

    #[test]
    fn what_it_leaves_to_serde_yaml() {
        let long = "k".repeat(129);
        let left = [
            json!(1.5),
            json!("tab\there"),
            json!(" lead"),
            json!("trail "),
            json!("é"),
            json!({ long: 1 }),
            json!(" a\nb"),
            json!("\na"),
            json!("a\n\n"),
            json!("a \nb"),
            json!("a\nb "),
            json!("a\r\nb"),
            json!({"a\nb": 1}),
        ];
        for value in left {
            assert_eq!(super::print(&json!({ "k": value })), None, "{value}");
            assert!(!super::super::print(&value).is_empty());
        }
    }
}
