//! The flags, streams and exit codes every kubectl-mlflow binary shares (the project's CLI
//! conventions), so six binaries feel like one tool, and like kubectl and helm.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;

use crate::values::{SetKind, Source};

/// 0: success.
pub const EXIT_OK: u8 = 0;
/// 1: the operation failed (the cluster said no, a timeout, a pod failed).
pub const EXIT_FAILED: u8 = 1;
/// 2: bad usage or invalid input, caught before any write.
pub const EXIT_USAGE: u8 = 2;

/// kubectl's cluster flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Namespace of the release [default: the kubeconfig context's namespace, else "default"]
    #[arg(short = 'n', long, env = "HELM_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Kubeconfig context to use [default: the current context]
    #[arg(long, env = "HELM_KUBECONTEXT", value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<String>,
}

/// helm's values flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ValuesArgs {
    /// Values file (repeatable; later files win; "-" reads standard input)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,

    /// Set a value: a.b=c,list[0]=x,tags={a,b} (repeatable; typed like helm)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Set a value that is always a string (repeatable)
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,

    /// Set a value to the content of a file (repeatable)
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
}

impl ValuesArgs {
    /// The sources in helm's order: the files, then --set, --set-string, --set-file.
    pub fn sources(&self) -> Vec<Source> {
        let mut sources: Vec<Source> = self.values.iter().cloned().map(Source::File).collect();
        let sets = [(SetKind::Typed, &self.set), (SetKind::String, &self.set_string), (SetKind::File, &self.set_file)];
        for (kind, exprs) in sets {
            sources.extend(exprs.iter().map(|expr| Source::Set(kind, expr.clone())));
        }
        sources
    }
}

/// How messages are shown.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Show the API calls made (method, path, status)
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// No colors (also when NO_COLOR is set)
    #[arg(long)]
    pub no_color: bool,
}

/// Writes notes, warnings and errors to stderr, never stdout.
#[derive(Debug, Clone)]
pub struct Reporter {
    color: bool,
}

impl Reporter {
    pub fn new(output: &OutputArgs) -> Self {
        let color = !output.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
        Reporter { color }
    }

    fn paint(&self, code: &str, word: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{word}\x1b[0m")
        } else {
            word.to_string()
        }
    }

    pub fn note(&self, message: &str) {
        eprintln!("{}: {message}", self.paint("36", "note"));
    }

    pub fn warn(&self, message: &str) {
        eprintln!("{}: {message}", self.paint("33", "warning"));
    }

    pub fn error(&self, message: &str) {
        eprintln!("{}: {message}", self.paint("1;31", "error"));
    }

    /// Prints every problem and returns exit code 2.
    pub fn problems(&self, problems: &crate::Problems) -> ExitCode {
        for problem in problems.iter() {
            self.error(&problem.to_string());
        }
        ExitCode::from(EXIT_USAGE)
    }
}

/// Parses a Go-style duration as kubectl and helm take it: `90s`, `5m`, `1h30m`, `1.5h`, `500ms`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("\"{text}\" is not a duration (use e.g. 90s, 5m or 1h30m)");
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
    Ok(std::time::Duration::from_secs_f64(seconds))
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
        for bad in ["", "5", "5x", "m", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }
}

/// Parses a plugin's arguments; on a usage error (or `--help`/`--version`) prints clap's text and
/// returns the exit code to end with.
pub fn parse<C: clap::Parser, I, T>(args: I) -> Result<C, ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    C::try_parse_from(args).map_err(|err| {
        let _ = err.print();
        ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { EXIT_OK })
    })
}

/// Runs a plugin's async body on a small runtime (the plugins make a handful of API calls).
pub fn block_on(body: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime.block_on(body),
        Err(err) => {
            eprintln!("error: cannot start: {err}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
