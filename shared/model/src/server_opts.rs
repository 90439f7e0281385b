//! The `uvicorn_opts` and `gunicorn_opts` strings, checked as the servers MLflow starts would
//! check them: split as `mlflow server` splits them (`shlex.split`), then read with each server's
//! own option table (`servers` in `data/mlflow-server-options.json`, taken from uvicorn's click
//! command and gunicorn's argparse settings) and the rules of each option there.

use serde::Deserialize;

use crate::shlex;

/// The options of one server program.
#[derive(Debug, Deserialize)]
pub struct ServerTable {
    pub version: String,
    /// gunicorn (argparse) takes unique prefixes of long options; uvicorn (click) does not.
    #[serde(default)]
    pub abbreviations: bool,
    pub options: Vec<ServerOpt>,
}

#[derive(Debug, Deserialize)]
pub struct ServerOpt {
    pub names: Vec<String>,
    pub kind: String,
    #[serde(default, rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub choices: Vec<String>,
    pub min: Option<f64>,
    #[serde(default)]
    pub auto_int: bool,
    #[serde(default)]
    pub rules: Vec<String>,
}

impl ServerOpt {
    fn long(&self) -> &str {
        self.names.iter().find(|n| n.starts_with("--")).unwrap_or(&self.names[0])
    }

    fn has(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| r == rule)
    }
}

/// What the checks need to know of the release.
pub struct Context<'a> {
    /// `uvicorn` or `gunicorn`.
    pub server: &'a str,
    /// Whether the chart puts its TLS options into this string.
    pub tls: bool,
    /// The mount paths of the mlflow container a file may be read from.
    pub mounts: &'a [String],
}

/// One option given in the string, and its value.
struct Given<'a> {
    option: &'a ServerOpt,
    /// As the user spelled it.
    spelled: String,
    value: Option<String>,
}

/// The problems of `text` (each a sentence without the values path), empty when it is fine.
pub fn check(table: &ServerTable, text: &str, ctx: &Context) -> Vec<String> {
    let words = match shlex::split(text) {
        Ok(words) => words,
        Err(err) => {
            return vec![format!(
            "cannot be split into words as mlflow server splits it (shlex.split: {err}; close the quote or escape it)"
        )]
        }
    };
    let mut out = Vec::new();
    let given = parse(table, &words, ctx.server, &mut out);
    for g in &given {
        check_value(g, ctx, &mut out);
        for rule in &g.option.rules {
            if let Some(problem) = rule_problem(rule, g, ctx) {
                out.push(problem);
            }
        }
    }
    out
}

/// Reads the words as the server's parser does: long options with `=value` or a separate value,
/// short options with the value attached or separate, `--` ending the options.
fn parse<'t>(table: &'t ServerTable, words: &[String], server: &str, out: &mut Vec<String>) -> Vec<Given<'t>> {
    let mut given = Vec::new();
    let mut words: Vec<String> = words.to_vec();
    let mut i = 0;
    let mut options_end = false;
    while i < words.len() {
        let word = words[i].clone();
        i += 1;
        if options_end || !word.starts_with('-') || word == "-" || (table.abbreviations && is_negative_number(&word)) {
            out.push(format!(
                "\"{word}\" is not an option: mlflow server passes {server} the application itself, and another argument would break it (remove \"{word}\")"
            ));
            continue;
        }
        if word == "--" {
            options_end = true;
            continue;
        }
        let (name, attached) = split_word(&word);
        let option = match find(table, &name) {
            Ok(option) => option,
            Err(problem) => {
                out.push(problem.unwrap_or_else(|| unknown(table, server, &name)));
                continue;
            }
        };
        let spelled = name.clone();
        // argparse reads `-Rw4` as the flag -R, then -w4.
        let cluster = table.abbreviations && !word.starts_with("--") && !word.contains('=');
        if option.kind == "flag" && cluster && attached.as_deref().is_some_and(|a| !a.is_empty()) {
            given.push(Given { option, spelled, value: None });
            words.insert(i, format!("-{}", attached.unwrap_or_default()));
            continue;
        }
        if option.kind == "flag" {
            match attached {
                Some(value) if !value.is_empty() || word.contains('=') => {
                    out.push(format!("{name} of {server} is a flag and takes no value (\"{value}\")"))
                }
                _ => given.push(Given { option, spelled, value: None }),
            }
            continue;
        }
        let value = match attached {
            Some(value) => Some(value),
            None if i < words.len() && !(table.abbreviations && looks_like_option(&words[i])) => {
                i += 1;
                Some(words[i - 1].clone())
            }
            None => None,
        };
        match value {
            Some(value) => given.push(Given { option, spelled, value: Some(value) }),
            None => out.push(format!("{name} of {server} needs a value")),
        }
    }
    given
}

/// `--name=value` → (`--name`, value); `-wVALUE` → (`-w`, VALUE); `--name` → (`--name`, None).
fn split_word(word: &str) -> (String, Option<String>) {
    if word.starts_with("--") {
        return match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word.to_string(), None),
        };
    }
    let mut chars = word.char_indices().skip(2);
    match chars.next() {
        Some((at, _)) => (word[..at].to_string(), Some(word[at..].trim_start_matches('=').to_string())),
        None => (word.to_string(), None),
    }
}

/// The option a name means: exact, else (gunicorn's argparse) the one long option it begins.
/// `Err(Some(problem))` for a prefix of several, `Err(None)` for no option at all.
fn find<'t>(table: &'t ServerTable, name: &str) -> Result<&'t ServerOpt, Option<String>> {
    if let Some(exact) = table.options.iter().find(|o| o.names.iter().any(|n| n == name)) {
        return Ok(exact);
    }
    if !table.abbreviations || !name.starts_with("--") {
        return Err(None);
    }
    let matches: Vec<&ServerOpt> =
        table.options.iter().filter(|o| o.names.iter().any(|n| n.starts_with(name))).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(None),
        many => Err(Some(format!(
            "{name} is ambiguous: it begins {} (spell the option out)",
            many.iter().map(|o| o.long()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn unknown(table: &ServerTable, server: &str, name: &str) -> String {
    let names: Vec<&str> = table.options.iter().flat_map(|o| o.names.iter().map(String::as_str)).collect();
    let hint = crate::values::schema::nearest(name, &names)
        .map_or_else(|| format!("see `{server} --help`"), |best| format!("did you mean {best}?"));
    format!("{server} {} has no option {name} ({hint})", table.version)
}

/// argparse reads `-5` as a value, not an option, when no option looks like a number.
fn is_negative_number(word: &str) -> bool {
    word.strip_prefix('-').is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok())
}

fn looks_like_option(word: &str) -> bool {
    word.starts_with('-') && word.len() > 1 && !is_negative_number(word)
}

/// The value against the option's type.
fn check_value(g: &Given, ctx: &Context, out: &mut Vec<String>) {
    let Some(value) = &g.value else { return };
    let option = g.option;
    let name = &g.spelled;
    let server = ctx.server;
    let ok = match option.type_.as_str() {
        "int" => match python_int(value, option.auto_int) {
            None => {
                out.push(format!("{name} of {server}: \"{value}\" is not an integer"));
                return;
            }
            Some(n) => option.min.is_none_or(|min| n as f64 >= min),
        },
        "float" => value.trim().parse::<f64>().is_ok(),
        "bool" => BOOL_WORDS.contains(&value.trim().to_ascii_lowercase().as_str()),
        "choice" => option.choices.contains(value),
        _ => true,
    };
    if ok {
        return;
    }
    let expected = match option.type_.as_str() {
        "int" => format!("an integer of at least {}", option.min.unwrap_or_default()),
        "float" => "a number".to_string(),
        "bool" => "true or false".to_string(),
        _ => format!("one of {}", option.choices.join(", ")),
    };
    out.push(format!("{name} of {server}: \"{value}\" is not {expected}"));
}

/// What click's BOOL reads.
const BOOL_WORDS: [&str; 12] = ["1", "true", "t", "yes", "y", "on", "0", "false", "f", "no", "n", "off"];

/// Python's `int(text)` (or `int(text, 0)` for gunicorn's auto_int: `0x1f`, `0o17`, `017`):
/// spaces around, a sign, `_` between digits.
pub fn python_int(text: &str, auto: bool) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, digits) = match (auto, lower.get(..2)) {
        (true, Some("0x")) => (16, &digits[2..]),
        (true, Some("0o")) => (8, &digits[2..]),
        (true, Some("0b")) => (2, &digits[2..]),
        (true, _) if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    let digits = digits.strip_prefix('_').filter(|_| radix != 10).unwrap_or(digits);
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if negative { -n } else { n })
}

fn rule_problem(rule: &str, g: &Given, ctx: &Context) -> Option<String> {
    let name = &g.spelled;
    let server = ctx.server;
    let value = g.value.as_deref().unwrap_or_default();
    match rule {
        "set_by_mlflow" => {
            let key = match g.option.long() {
                "--host" => "host",
                "--port" => "port",
                "--bind" => "host and server.value_options.port",
                _ => "workers",
            };
            Some(format!(
                "{} is set by mlflow server itself after these options, so {server} would not serve as asked (set server.value_options.{key} instead)",
                g.spelled
            ))
        }
        "binds_elsewhere" => Some(format!(
            "{name} makes {server} listen elsewhere than the port the probes, the Service and port-forward use (remove it)"
        )),
        "exits" => Some(format!("{name} makes {server} exit instead of serving (remove it)")),
        "tls" if ctx.tls => {
            Some(format!("{name} is set by the chart from tls.enabled (remove it, or set tls.enabled: false)"))
        }
        "header_pair" if !value.contains(':') => {
            Some(format!("{name} of {server}: \"{value}\" is not NAME:VALUE ({server} splits it at ':')"))
        }
        "positive" if python_int(value, false).is_some_and(|n| n < 1) => Some(format!(
            "{name} of {server}: {value} would answer every request with 503, the probes' too (use 1 or more)"
        )),
        // (with TLS the chart's own file follows: the user's is refused by the tls rule)
        "file_in_container" if !(in_container(value, ctx.mounts) || ctx.tls && g.option.has("tls")) => {
            Some(format!(
                "{name} of {server}: \"{value}\" must be a file in the container, which {server} reads at start-up (mount it with extraVolumes and extraVolumeMounts and give its absolute path)"
            ))
        }
        _ => None,
    }
}

/// Whether a path lies on one of the container's volumes (the image holds no file of the user's).
pub fn in_container(path: &str, mounts: &[String]) -> bool {
    path.starts_with('/') && crate::local_paths::is_under(path, mounts)
}

#[cfg(test)]
mod tests {
    use super::python_int;

    #[test]
    fn ints_as_python_reads_them() {
        assert_eq!(python_int(" 42 ", false), Some(42));
        assert_eq!(python_int("+1_000", false), Some(1000));
        assert_eq!(python_int("-3", false), Some(-3));
        assert_eq!(python_int("1.5", false), None);
        assert_eq!(python_int("1__0", false), None);
        assert_eq!(python_int("0x1f", false), None);
        assert_eq!(python_int("0x1f", true), Some(31));
        assert_eq!(python_int("022", true), Some(18));
        assert_eq!(python_int("", false), None);
    }
}
