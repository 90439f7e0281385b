//! What Artifact Hub reads: the `artifacthub.io/*` annotations of `charts/Chart.yaml` (images,
//! license, links, changes) and the repository's `artifacthub-repo.yml`; the images listed are
//! the ones the chart really runs, as helm 4.1 renders every values file.

use std::collections::BTreeSet;

use kubectl_mlflow_test_support::helm::{chart_dir, Helm};
use kubectl_mlflow_test_support::repo_root;
use kubectl_mlflow_test_support::values::values_files;
use serde_yaml::{Mapping, Value};

fn chart_yaml() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap()).unwrap()
}

/// An annotation whose value is YAML in a string, parsed.
fn yaml_annotation(chart: &Value, key: &str) -> Value {
    let text = chart["annotations"][key].as_str().unwrap_or_else(|| panic!("Chart.yaml has no annotation {key}"));
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("annotation {key} is not YAML: {e}\n{text}"))
}

fn list_of_maps(value: &Value, what: &str) -> Vec<Mapping> {
    let items = value.as_sequence().unwrap_or_else(|| panic!("{what} is not a list: {value:?}"));
    assert!(!items.is_empty(), "{what} is empty");
    items.iter().map(|i| i.as_mapping().unwrap_or_else(|| panic!("{what}: {i:?} is not a map")).clone()).collect()
}

fn string<'a>(map: &'a Mapping, key: &str, what: &str) -> &'a str {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| panic!("{what}: no {key} in {map:?}"))
}

/// Cargo.toml's `workspace.package` key (the one source of the license and repository).
fn workspace_package(key: &str) -> String {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let section = toml.split("[workspace.package]").nth(1).expect("Cargo.toml has [workspace.package]");
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| {
            l.strip_prefix(key)?.trim_start().strip_prefix('=').map(|v| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no {key} in [workspace.package]"))
}

/// Every container image of a helm 4.1 rendering (test hooks included), with the values files that
/// set `image` or `oidc.image` left out: those are the user's, not the chart's.
fn rendered_images() -> BTreeSet<String> {
    let chart = chart_dir().to_string_lossy().into_owned();
    let mut images = BTreeSet::new();
    for file in values_files() {
        let values: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if !values["image"].is_null() || !values["oidc"]["image"].is_null() {
            continue;
        }
        let path = file.to_string_lossy().into_owned();
        let run = Helm::V4.run(["template", "mlflow", chart.as_str(), "-f", path.as_str()]);
        run.assert_success();
        for line in run.stdout.lines() {
            if let Some(image) = line.trim_start().trim_start_matches("- ").strip_prefix("image: ") {
                images.insert(image.trim_matches('"').to_string());
            }
        }
    }
    images
}

#[test]
fn the_images_annotation_lists_exactly_the_images_the_chart_runs() {
    let listed = list_of_maps(&yaml_annotation(&chart_yaml(), "artifacthub.io/images"), "artifacthub.io/images");
    let listed: BTreeSet<String> =
        listed.iter().map(|i| string(i, "image", "artifacthub.io/images").to_string()).collect();
    let rendered = rendered_images();
    assert!(!rendered.is_empty(), "no image found in the renderings");
    assert_eq!(
        listed, rendered,
        "Chart.yaml's artifacthub.io/images must list the images the chart renders with its default image values \
         (update the annotation with appVersion)"
    );
    for image in &listed {
        assert!(!image.ends_with(":latest") && image.contains(':'), "{image}: Artifact Hub scans tagged images only");
    }
}

#[test]
fn license_links_changes_and_category_are_what_artifact_hub_reads() {
    let chart = chart_yaml();
    let annotations = chart["annotations"].as_mapping().expect("Chart.yaml has annotations");
    for (key, value) in annotations {
        assert!(value.is_string(), "annotation {key:?} must be a string (helm keeps only strings): {value:?}");
    }
    assert_eq!(chart["annotations"]["artifacthub.io/license"].as_str(), Some(workspace_package("license").as_str()));
    let license = std::fs::read_to_string(repo_root().join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"), "LICENSE is not Apache-2.0");
    // one of Artifact Hub's categories
    assert_eq!(chart["annotations"]["artifacthub.io/category"].as_str(), Some("ai-machine-learning"));

    let links = list_of_maps(&yaml_annotation(&chart, "artifacthub.io/links"), "artifacthub.io/links");
    let urls: Vec<&str> = links.iter().map(|l| string(l, "url", "artifacthub.io/links")).collect();
    for link in &links {
        string(link, "name", "artifacthub.io/links");
    }
    assert!(urls.iter().all(|u| u.starts_with("https://")), "links must be https URLs: {urls:?}");
    assert!(urls.contains(&"https://mlflow.org/docs/latest/self-hosting/kubernetes-helm/"), "{urls:?}");
    let repository = workspace_package("repository");
    assert!(
        urls.contains(&repository.as_str()),
        "the links name the repository of Cargo.toml ({repository}): {urls:?}"
    );

    const KINDS: [&str; 6] = ["added", "changed", "deprecated", "removed", "fixed", "security"];
    for change in list_of_maps(&yaml_annotation(&chart, "artifacthub.io/changes"), "artifacthub.io/changes") {
        let kind = string(&change, "kind", "artifacthub.io/changes");
        assert!(KINDS.contains(&kind), "artifacthub.io/changes: kind {kind} is not one of {KINDS:?}");
        string(&change, "description", "artifacthub.io/changes");
    }
}

/// Artifact Hub refuses a metadata file that is empty or whose repositoryID is not a UUID; it knows
/// repositoryID, owners and ignore.
#[test]
fn artifacthub_repo_yml_is_valid_repository_metadata() {
    let path = repo_root().join("artifacthub-repo.yml");
    let text = std::fs::read_to_string(&path).expect("artifacthub-repo.yml at the repository's root");
    let metadata: Value = serde_yaml::from_str(&text).unwrap();
    let metadata =
        metadata.as_mapping().expect("artifacthub-repo.yml must be a map (Artifact Hub refuses an empty file)");
    for key in metadata.keys() {
        let key = key.as_str().unwrap_or_default();
        assert!(["repositoryID", "owners", "ignore"].contains(&key), "artifacthub-repo.yml: unknown key {key}");
    }
    if let Some(id) = metadata.get("repositoryID").and_then(Value::as_str) {
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert!(
            groups == [8, 4, 4, 4, 12] && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
            "repositoryID {id} is not a UUID"
        );
    }
    for owner in metadata.get("owners").and_then(Value::as_sequence).into_iter().flatten() {
        let owner = owner.as_mapping().expect("an owner is a map");
        string(owner, "name", "owners");
        assert!(string(owner, "email", "owners").contains('@'), "owners: {owner:?}");
    }
}
