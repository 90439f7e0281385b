//! Reading what the flags give: a secret value as `VALUE`, `@FILE` or `-` (standard input), or a
//! file as `FILE` or `-`. Problems are collected, never printed with a value in them.

use std::io::Read;

use kubectl_mlflow_core::{Problem, Problems};

/// Reads inputs and collects their problems; standard input can be read by one flag only.
#[derive(Debug, Default)]
pub struct Inputs {
    stdin_taken_by: Option<String>,
    pub problems: Problems,
}

impl Inputs {
    /// A text value of `flag`: the value itself, the content of `@FILE` or of standard input
    /// (`-`), without its final line break. `None` when it cannot be read or is empty.
    pub fn value(&mut self, flag: &str, given: &str) -> Option<String> {
        let text = if given == "-" {
            self.stdin(flag).and_then(|bytes| self.utf8(flag, "standard input", bytes))
        } else if let Some(path) = given.strip_prefix('@') {
            self.read_file(flag, path).and_then(|bytes| self.utf8(flag, path, bytes))
        } else {
            Some(given.to_string())
        }?;
        let text = strip_line_break(&text).to_string();
        if text.trim().is_empty() {
            self.problem(flag, "is empty (give the value, @FILE or - for standard input)");
            return None;
        }
        Some(text)
    }

    /// The bytes of a file flag: `FILE` (or `@FILE`) or `-` for standard input.
    pub fn file(&mut self, flag: &str, given: &str) -> Option<Vec<u8>> {
        let bytes = if given == "-" {
            self.stdin(flag)
        } else {
            self.read_file(flag, given.strip_prefix('@').unwrap_or(given))
        }?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            self.problem(flag, &format!("{given} is empty"));
            return None;
        }
        Some(bytes)
    }

    /// Records a problem with a flag: `--flag: message`.
    pub fn problem(&mut self, flag: &str, message: &str) {
        self.problems.push(Problem::at("", format!("{flag}: {message}")));
    }

    fn stdin(&mut self, flag: &str) -> Option<Vec<u8>> {
        if let Some(first) = &self.stdin_taken_by {
            let message = format!("standard input is already read by {first} (give this value as VALUE or @FILE)");
            self.problem(flag, &message);
            return None;
        }
        self.stdin_taken_by = Some(flag.to_string());
        let mut bytes = Vec::new();
        match std::io::stdin().read_to_end(&mut bytes) {
            Ok(_) => Some(bytes),
            Err(err) => {
                self.problem(flag, &format!("cannot read standard input: {err}"));
                None
            }
        }
    }

    fn read_file(&mut self, flag: &str, path: &str) -> Option<Vec<u8>> {
        match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(err) => {
                self.problem(flag, &format!("cannot read {path}: {err}"));
                None
            }
        }
    }

    fn utf8(&mut self, flag: &str, source: &str, bytes: Vec<u8>) -> Option<String> {
        match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                self.problem(flag, &format!("{source} is not UTF-8 text"));
                None
            }
        }
    }
}

fn strip_line_break(text: &str) -> &str {
    text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n')).unwrap_or(text)
}
