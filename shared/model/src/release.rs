//! From command-line input to a rendered release: the one path every engine shares, so that bad
//! input is refused, with every problem, before anything touches a cluster.

use std::io::Read;

use crate::problem::{Problem, Problems};
use crate::render::{render, Object, Release, Rendered};
use crate::validate::Valid;
use crate::values::{self, Source};
use crate::{names, validate};

/// A release ready to be applied or printed.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub release: Release,
    /// The user's values (the sources merged, before the defaults): what an upgrade reuses.
    pub user_values: serde_json::Value,
    pub values: Valid,
    pub rendered: Rendered,
}

/// Options of [`prepare`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Fall back to the quick start (SQLite on a volume) when no backend store is given.
    pub quick_start: bool,
}

/// Loads, merges, validates and renders. Notes for the user are in `rendered.notes`.
pub fn prepare(
    release: &str,
    namespace: &str,
    sources: &[Source],
    stdin: &mut dyn Read,
    options: &Options,
) -> Result<Prepared, Problems> {
    let mut problems = Problems::default();
    if let Some(message) = names::check_release_name(release) {
        problems.push(Problem::at("", format!("release name {message}")));
    }
    if !names::is_dns1123_label(namespace) {
        problems.push(Problem::at("", format!("namespace \"{namespace}\" is not a valid namespace name")));
    }
    let (mut user, parts) = match values::load_user_parts(sources, stdin) {
        Ok(loaded) => loaded,
        Err(found) => {
            problems.extend(found);
            return Err(problems);
        }
    };
    let mut notes = Vec::new();
    if options.quick_start {
        notes.extend(values::apply_quick_start(&mut user));
    }
    let values = match values::resolve(&user) {
        Ok((_, values)) => values,
        Err(found) => {
            problems.extend(found);
            return Err(problems);
        }
    };
    let release = Release { name: release.to_string(), namespace: namespace.to_string() };
    let values = match validate::validated(values) {
        Ok(values) if problems.is_empty() => values,
        Ok(_) => return Err(problems),
        Err(found) => {
            problems.extend(values::origin::name_files(found, &parts));
            return Err(problems);
        }
    };
    let mut rendered = render(&values, &release);
    let extra_problems = extra_object_problems(&rendered, namespace);
    if !extra_problems.is_empty() {
        return Err(values::origin::name_files(extra_problems, &parts));
    }
    rendered.helm_only = values::origin::name_files(std::mem::take(&mut rendered.helm_only), &parts);
    let refused = crate::api_rules::check(&values, &rendered);
    if !refused.is_empty() {
        return Err(refused);
    }
    notes.append(&mut rendered.notes);
    rendered.notes = notes;
    Ok(Prepared { release, user_values: user, values, rendered })
}

/// What the templates of `extraObjects` made that helm would refuse too, and extra objects that
/// would replace the chart's or each other.
fn extra_object_problems(rendered: &Rendered, namespace: &str) -> Problems {
    let mut problems = rendered.extra_problems.clone();
    let chart: Vec<&Object> = rendered.objects.iter().filter(|o| !matches!(o, Object::Extra(_))).collect();
    problems.extend(crate::render::extra::duplicates(&rendered.extras(), &chart, namespace));
    problems
}
