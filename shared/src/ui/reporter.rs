//! Notes, warnings and errors, on stderr (never stdout), colored on a terminal.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::args::OutputArgs;
use kubectl_mlflow_model::failure::{EXIT_FAILED, EXIT_USAGE};
use kubectl_mlflow_model::Failure;

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

    /// Prints a failure once, as the binaries' edge does: every input problem (exit 2), or the
    /// one message of a failed operation (exit 1).
    pub fn failure(&self, failure: &Failure) -> ExitCode {
        match failure {
            Failure::Input(problems) => self.problems(problems),
            Failure::Failed(message) => {
                self.error(message);
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}
