//! Generative parity of the chart and the model: the property test's mutants (mutants.rs: random
//! keys of `charts/values.schema.json` set to random and boundary values, wrong types, Kubernetes
//! fragments) go through `helm template` (helm 3.17 and 4.1) and through the model in-process
//! (what `kubectl-mlflow-install --dry-run` runs, without the quick start's fallback, which only
//! the plugin has). For each mutant the verdicts agree:
//! - both render: the objects are equal (renderings.rs's comparison, as chart_parity.rs);
//! - both refuse by the schema: at the same key paths (helm's JSON-schema validator words its own
//!   messages, so only the paths are compared; the model checks the user's values before the
//!   merged ones, so a key that a null removed, which helm names with the rest, may come later);
//! - both refuse by their checks: the chart's `mlflow.validate` lines equal the model's.
//!
//! What only the model refuses, by design: values its Kubernetes types cannot read (a fragment the
//! chart passes through as given; the API server refuses it later) and what the API server's own
//! rules refuse (the model's api_rules, checked before any write); for the latter the objects the
//! chart renders must still equal the model's. A chart that fails with anything but its refusal
//! lines or a schema error (a template error) is a divergence.
//!
//! Seeded: `KMLF_PROPERTY_SEED` (unset: a fixed seed; a number replays; `random` explores) and
//! `KMLF_PROPERTY_CASES` mutants per values file (default 3).

use std::collections::BTreeSet;
use std::path::Path;

use kubectl_mlflow_model::{api_rules, render, validate, values, Problems, Release, Source};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::random::{self, Rng};
use kubectl_mlflow_test_support::repo_root;
use kubectl_mlflow_test_support::values::{repo_relative, temp_values_file, values_files_and_example};
use serde_json::{json, Value};

use crate::mutants::{base_values, cases_per_file, Mutator, FIXED_SEED};
use crate::renderings::{compare, copy_dir, edit, is_helm_test, report, HELMS};

/// What one side made of a value set.
#[derive(Debug)]
enum Verdict {
    /// Rendered: the objects (helm's `helm test` pods set aside).
    Rendered(Vec<Value>),
    /// Refused by the schema, at these key paths (`a.b.0.c`).
    Schema(BTreeSet<String>),
    /// Refused by the chart's `mlflow.validate` or the model's validation: the lines.
    Refused(Vec<String>),
    /// The model only: its Kubernetes types cannot read a fragment of the values.
    Types(Vec<String>),
    /// The model only: the API server's rules refuse the objects, which are rendered anyway.
    ApiRules { objects: Vec<Value>, lines: Vec<String> },
    /// helm only: it failed otherwise (a template error).
    Broken(String),
}

/// A key path as both sides are compared: segments joined by dots, list indexes as segments.
fn key_path(path: &str) -> String {
    path.replace('[', ".").replace(']', "").trim_matches('.').to_string()
}

fn lines(problems: &Problems) -> Vec<String> {
    problems.iter().map(|p| p.to_string()).collect()
}

/// Whether a problem of [`values::resolve`] is the schema's (the rest are the Kubernetes types').
fn is_schema_message(message: &str) -> bool {
    (message.starts_with("expected ") && message.contains(", got "))
        || message.contains(" is not one of ")
        || message.contains(" than the minimum ")
        || message.contains(" than the maximum ")
        || message == "is required"
        || message.starts_with("unknown key")
}

/// Whether a key path lies inside a Kubernetes fragment: below a leaf of the schema, which
/// describes no keys there (the chart passes the fragment through as given).
fn inside_fragment(path: &str) -> bool {
    let mut node = values::schema::schema();
    for segment in key_path(path).split('.') {
        match node.get("properties").and_then(|p| p.get(segment)) {
            Some(child) => node = child,
            None => return node.get("properties").is_none(),
        }
    }
    false
}

/// The model's verdict, phase by phase as `prepare` runs them (without the quick start).
fn model_verdict(yaml: &str) -> Verdict {
    let sources = [Source::Text { name: "mutant".into(), yaml: yaml.into() }];
    let user = match values::load_user_values(&sources, &mut std::io::empty()) {
        Ok(user) => user,
        Err(problems) => return Verdict::Schema(problems.iter().map(|p| key_path(&p.path)).collect()),
    };
    let resolved = match values::resolve(&user) {
        Ok((_, resolved)) => resolved,
        Err(problems) if problems.iter().all(|p| is_schema_message(&p.message)) => {
            return Verdict::Schema(problems.iter().map(|p| key_path(&p.path)).collect())
        }
        Err(problems) if problems.iter().all(|p| inside_fragment(&p.path)) => return Verdict::Types(lines(&problems)),
        Err(problems) => return Verdict::Refused(lines(&problems)),
    };
    let valid = match validate::validated(resolved) {
        Ok(valid) => valid,
        Err(problems) => return Verdict::Refused(lines(&problems)),
    };
    let mut rendered = render(&valid, &Release { name: "mlflow".into(), namespace: "mlflow".into() });
    // what the engine generates (helm's randAlphaNum): a value of its length
    for generated in rendered.generated.clone() {
        rendered.fill(&generated, &"x".repeat(generated.length));
    }
    let objects = rendered.objects.iter().map(|o| o.to_json()).collect();
    let refused = api_rules::check(&valid, &rendered);
    if refused.is_empty() {
        Verdict::Rendered(objects)
    } else {
        Verdict::ApiRules { objects, lines: lines(&refused) }
    }
}

/// helm's verdict on the values file `file` with the chart `chart`.
fn helm_verdict(helm: Helm, chart: &Path, file: &Path) -> Verdict {
    let run = helm.template_chart(chart, &["-f", &file.to_string_lossy()]);
    if run.success {
        let objects = kubectl_mlflow_test_support::values::yaml_objects(&run.stdout);
        return Verdict::Rendered(objects.into_iter().filter(|o| !is_helm_test(o)).collect());
    }
    if run.stderr.contains("values don't meet the specifications of the schema") {
        return Verdict::Schema(schema_paths(&run.stderr));
    }
    match run.fail_lines() {
        found if found.is_empty() => Verdict::Broken(run.stderr.trim().to_string()),
        found => Verdict::Refused(found),
    }
}

/// The key paths of helm's schema errors: helm 3's `- a.b: message` (gojsonschema) and helm 4's
/// `- at '/a/b': message` (santhosh-tekuri/jsonschema), an unknown key's path ending in the key.
fn schema_paths(stderr: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for line in stderr.lines() {
        let Some(item) = line.trim_start().strip_prefix("- ") else { continue };
        let (path, message) = match item.strip_prefix("at '") {
            Some(rest) => {
                let Some((pointer, message)) = rest.split_once("': ") else { continue };
                let segments: Vec<String> =
                    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
                (segments.join("."), message)
            }
            None => {
                let Some((path, message)) = item.split_once(": ") else { continue };
                (if path == "(root)" { String::new() } else { path.to_string() }, message)
            }
        };
        if message == "validation failed" {
            continue; // helm 4's parent of the nested errors below it
        }
        let keys = named_keys(message);
        if keys.is_empty() {
            paths.insert(path.clone());
        }
        for key in keys {
            paths.insert(if path.is_empty() { key } else { format!("{path}.{key}") });
        }
    }
    paths
}

/// The keys a schema message names below its path: unknown (additional) and missing properties.
fn named_keys(message: &str) -> Vec<String> {
    if let Some(rest) = message.strip_prefix("Additional property ") {
        return rest.strip_suffix(" is not allowed").map(|k| vec![k.to_string()]).unwrap_or_default();
    }
    if let Some(key) = message.strip_suffix(" is required") {
        return vec![key.to_string()];
    }
    for (prefix, suffix) in [
        ("additional properties ", " not allowed"),
        ("additional property ", " not allowed"),
        ("missing properties ", ""),
        ("missing property ", ""),
    ] {
        if let Some(rest) = message.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)) {
            return rest.split(", ").map(|k| k.trim_matches('\'').to_string()).collect();
        }
    }
    Vec::new()
}

/// How the two verdicts on one value set compare: `None` when they agree, else what differs.
fn divergence(helm: &Verdict, model: &Verdict, tally: &mut Tally) -> Option<String> {
    match (helm, model) {
        (Verdict::Rendered(h), Verdict::Rendered(m)) => {
            tally.rendered += 1;
            objects_differ(h, m)
        }
        (Verdict::Rendered(h), Verdict::ApiRules { objects, .. }) => {
            tally.api_rules += 1;
            objects_differ(h, objects)
        }
        (Verdict::Rendered(_), Verdict::Types(_)) => {
            tally.types += 1;
            None
        }
        // The model checks each source before the merged values: a key a null removed from the
        // defaults is named once the source's own problems are fixed; helm names all at once.
        (Verdict::Schema(h), Verdict::Schema(m)) if m.is_subset(h) && !m.is_empty() => {
            tally.schema += 1;
            None
        }
        (Verdict::Refused(h), Verdict::Refused(m)) if h == m => {
            tally.refused += 1;
            None
        }
        (Verdict::Schema(h), Verdict::Schema(m)) => {
            Some(format!("the schema refuses at other keys:\n  helm:  {h:?}\n  model: {m:?}"))
        }
        (Verdict::Refused(h), Verdict::Refused(m)) => Some(format!(
            "the refusal lines differ:\n  helm:\n    {}\n  model:\n    {}",
            h.join("\n    "),
            m.join("\n    ")
        )),
        (h, m) => Some(format!("the verdicts differ:\n  helm:  {}\n  model: {}", summary(h), summary(m))),
    }
}

fn objects_differ(helm: &[Value], model: &[Value]) -> Option<String> {
    let diffs = compare(helm, model);
    (!diffs.is_empty()).then(|| {
        let context: Vec<(String, _)> = diffs.into_iter().map(|d| ("objects".to_string(), d)).collect();
        format!("both render, the objects differ:\n{}", report(&context))
    })
}

fn summary(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Rendered(objects) => format!("renders {} objects", objects.len()),
        Verdict::Schema(paths) => format!("the schema refuses at {paths:?}"),
        Verdict::Refused(lines) => format!("refuses:\n    {}", lines.join("\n    ")),
        Verdict::Types(lines) => format!("its Kubernetes types refuse:\n    {}", lines.join("\n    ")),
        Verdict::ApiRules { lines, .. } => format!("the API server's rules refuse:\n    {}", lines.join("\n    ")),
        Verdict::Broken(stderr) => format!("fails without a refusal line: {stderr}"),
    }
}

/// How many value sets each way of agreeing covered.
#[derive(Debug, Default)]
struct Tally {
    rendered: usize,
    schema: usize,
    refused: usize,
    /// Rendered by helm, refused by the model's Kubernetes types.
    types: usize,
    /// Rendered by both, refused by the model's copy of the API server's rules.
    api_rules: usize,
}

/// Every value set of `cases` through both helms with `chart` and the model: the divergences,
/// each with its value set.
fn divergences(chart: &Path, cases: &[(String, Value)], tally: &mut Tally) -> Vec<String> {
    let mut found = Vec::new();
    for (label, values) in cases {
        // As JSON (which is YAML): every string quoted, so that helm's YAML 1.1 (where a plain `y`
        // is true) and the model's YAML 1.2 read the same values.
        let json = serde_json::to_string_pretty(values).expect("values serialize");
        let file = temp_values_file(&json);
        let model = model_verdict(&json);
        let verdicts: Vec<Verdict> = std::thread::scope(|scope| {
            let runs: Vec<_> =
                HELMS.iter().map(|(_, helm)| scope.spawn(|| helm_verdict(*helm, chart, file.path()))).collect();
            runs.into_iter().map(|run| run.join().expect("helm run")).collect()
        });
        for ((name, _), helm) in HELMS.iter().zip(&verdicts) {
            if let Some(what) = divergence(helm, &model, tally) {
                let yaml = serde_yaml::to_string(values).expect("values serialize");
                found.push(format!("{name}, {label}: {what}\n  values:\n{}", indent(&yaml)));
            }
        }
    }
    found
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// The mutants of every values file (and the chart's production example), `per_file` each.
fn mutants(seed: u64, per_file: usize) -> Vec<(String, Value)> {
    let mutator = Mutator::from_chart_schema();
    let mut rng = Rng::new(seed);
    let mut cases = Vec::new();
    for file in values_files_and_example() {
        let base = base_values(&file);
        for i in 0..per_file {
            cases.push((format!("{} mutant {i}", repo_relative(&file)), mutator.mutate(&base, &mut rng)));
        }
    }
    cases
}

#[test]
fn the_chart_and_the_model_agree_on_mutated_values() {
    let seed = random::seed("generative parity", "KMLF_PROPERTY_SEED", FIXED_SEED);
    let per_file = cases_per_file(3);
    let cases = mutants(seed, per_file);
    let mut tally = Tally::default();
    let found = divergences(&repo_root().join("charts"), &cases, &mut tally);
    eprintln!("generative parity: {} value sets ({per_file} per values file), both helms: {tally:?}", cases.len());
    assert!(
        found.is_empty(),
        "seed {seed}: the chart and the model differ on {} of {} helm runs:\n\n{}",
        found.len(),
        cases.len() * HELMS.len(),
        found.join("\n")
    );
    assert!(tally.rendered > 0 && tally.schema + tally.refused > 0, "the mutants exercised too little: {tally:?}");
}

/// A one-sided change of the chart (an env var of the Deployment renamed, the wording of a refusal
/// changed, a check dropped) fails the same comparison, at what changed.
#[test]
fn a_one_sided_change_of_the_chart_is_a_divergence() {
    let root = repo_root();
    let dir = tempfile::tempdir().expect("temp dir");
    let changed = dir.path().join("charts");
    copy_dir(&root.join("charts"), &changed);
    edit(
        &changed.join("templates/deployment.yaml"),
        "- name: MLFLOW_SERVER_ENABLE_JOB_EXECUTION",
        "- name: MLFLOW_SERVER_ENABLE_JOBS",
    );
    edit(&changed.join("templates/_helpers.tpl"), "no backend store is set (set", "no backend store (set");
    let quickstart = base_values(&root.join("tests/values/quickstart.yaml"));
    let cases = vec![("quickstart".to_string(), quickstart), ("no values".to_string(), json!({}))];

    let mut tally = Tally::default();
    assert_eq!(divergences(&root.join("charts"), &cases, &mut tally), Vec::<String>::new(), "the chart as it is");
    let found = divergences(&changed, &cases, &mut tally);
    assert_eq!(found.len(), 4, "{}", found.join("\n"));
    for (name, _) in HELMS {
        let quick = format!("{name}, quickstart: both render, the objects differ:");
        let renamed = found.iter().any(|f| f.starts_with(&quick) && f.contains("MLFLOW_SERVER_ENABLE_JOBS"));
        assert!(renamed, "the renamed env var is not caught by {name}:\n{}", found.join("\n"));
        let empty = format!("{name}, no values: the refusal lines differ:");
        let reworded = found.iter().any(|f| f.starts_with(&empty) && f.contains("no backend store (set"));
        assert!(reworded, "the reworded refusal is not caught by {name}:\n{}", found.join("\n"));
    }
}

#[test]
fn helms_schema_errors_name_key_paths() {
    let helm3 = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nmlflow:\n- (root): Additional property foo is not allowed\n- storage: Additional property sizee is not allowed\n- env.0: name is required\n- replicaCount: Invalid type. Expected: integer, given: string\n";
    let helm4 = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nmlflow:\n- at '/storage': validation failed\n  - at '/storage': additional properties 'sizee' not allowed\n- at '/replicaCount': got string, want integer\n- at '': additional properties 'foo' not allowed\n- at '/env/0': missing property 'name'\n";
    let expected: BTreeSet<String> =
        ["foo", "storage.sizee", "env.0.name", "replicaCount"].iter().map(|s| s.to_string()).collect();
    assert_eq!(schema_paths(helm3), expected);
    assert_eq!(schema_paths(helm4), expected);
    assert_eq!(key_path("env[0].name"), "env.0.name");
    assert!(is_schema_message("expected a string, got number 1"));
    assert!(!is_schema_message("expected string \"x\" where the value should be i32"));
}
