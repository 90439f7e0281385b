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
