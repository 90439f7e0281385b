//! What the API server would refuse, found locally: one validator over every rendered, typed
//! object (the user's Kubernetes fragments — env, volumes, containers, tolerations, affinity,
//! security contexts, probes, resources — included), run once after rendering and before any
//! cluster call. Each finding names the object and field, and is mapped back to the values path
//! that made it where one did ([`origin`]).
//!
//! The rules follow Kubernetes' own validation (`pkg/apis/core/validation` and friends) for the
//! versions the chart supports; a few are stricter where a server would accept what cannot run
//! (a relative mount path, two env entries of one name).

pub mod formats;
mod kinds;
pub mod origin;
mod pod;

use crate::problem::{Problem, Problems};
use crate::render::{Object, Rendered};
use crate::values::Values;

/// One rule an object breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `Deployment/mlflow-mlflow`.
    pub object: String,
    /// The field in the object, as the API server names it: `spec.template.spec.containers[0].image`.
    pub field: String,
    /// What is wrong and, in parentheses, the fix.
    pub message: String,
}

/// Collects the findings of one object.
pub(crate) struct Out<'a> {
    object: String,
    findings: &'a mut Vec<Finding>,
}

impl Out<'_> {
    pub(crate) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding { object: self.object.clone(), field: field.into(), message: message.into() });
    }
}

/// `path.key`.
pub(crate) fn at(path: &str, key: &str) -> String {
    crate::problem::join(path, key)
}

/// `path[i]`.
pub(crate) fn nth(path: &str, i: usize) -> String {
    crate::problem::index(path, i)
}

/// Every rule each object breaks.
pub fn findings(objects: &[Object]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in objects {
        let mut out = Out { object: object.describe(), findings: &mut findings };
        kinds::check(object, &mut out);
    }
    findings
}

/// The findings as input problems, at the values path that made each field where one did (a
/// value used by two objects, like `env`, is reported once).
pub fn check(values: &Values, rendered: &Rendered) -> Problems {
    let mut problems = Problems::default();
    let mut seen = std::collections::BTreeSet::new();
    for finding in findings(&rendered.objects) {
        let object = rendered.objects.iter().find(|o| o.describe() == finding.object);
        let problem = match object.and_then(|o| origin::values_path(o, &finding.field, values)) {
            Some(path) => Problem::at(
                path,
                format!("{}; the API server would refuse {} at {}", finding.message, finding.object, finding.field),
            ),
            None => Problem::at("", format!("{} {}: {}", finding.object, finding.field, finding.message)),
        };
        if seen.insert((problem.path.clone(), finding.message)) {
            problems.push(problem);
        }
    }
    problems
}
