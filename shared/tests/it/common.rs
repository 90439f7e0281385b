//! What the validation tests share: the problems `prepare` finds in `--set` expressions.

use kubectl_mlflow_core::release::{prepare, Options};
use kubectl_mlflow_core::values::SetKind;
use kubectl_mlflow_core::Source;

/// The problems of `sets` (`--set`, or `--set-string` when prefixed `s:`), one line each.
pub fn problems(sets: &[&str], quick_start: bool) -> Vec<String> {
    let sources: Vec<Source> = sets
        .iter()
        .map(|set| match set.strip_prefix("s:") {
            Some(expr) => Source::Set(SetKind::String, expr.to_string()),
            None => Source::Set(SetKind::Typed, set.to_string()),
        })
        .collect();
    match prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options { quick_start }) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(|p| p.to_string()).collect(),
    }
}
