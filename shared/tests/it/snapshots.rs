//! The rendered objects of every values file of tests/values/ (the snippets of MLflow's
//! Kubernetes deployment guide and more), as YAML snapshots. A change to a manifest shows up here as a reviewable diff.

use std::path::Path;

use kubectl_mlflow_core::output::{self, Format};
use kubectl_mlflow_core::release::{prepare, Options};
use kubectl_mlflow_core::Source;
use kubectl_mlflow_test_support::values::{example_file, values_files};

fn render(file: &Path) -> (String, Vec<String>) {
    let sources = [Source::File(file.display().to_string())];
    let prepared = prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options::default())
        .unwrap_or_else(|problems| panic!("{}: {problems}", file.display()));
    (output::objects(&prepared.rendered.objects, Format::Yaml), prepared.rendered.notes)
}

#[test]
fn every_values_file_renders_as_recorded() {
    for file in values_files() {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let (yaml, notes) = render(&file);
        insta::assert_snapshot!(name.clone(), yaml);
        if !notes.is_empty() {
            insta::assert_snapshot!(format!("{name}-notes"), notes.join("\n"));
        }
    }
}

#[test]
fn the_example_of_the_chart_renders() {
    let (yaml, _) = render(&example_file());
    insta::assert_snapshot!("example-mlflow-charts", yaml);
}

#[test]
fn an_ingress_host_missing_from_allowed_hosts_is_added_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(
        &file,
        "mlflow: {backendStoreUri: sqlite:////mlflow/mlflow.db}\nstorage: {enabled: true}\n\
         server: {value_options: {allowed_hosts: other.example.com}}\n\
         ingress: {enabled: true, hosts: [{host: mlflow.example.com, paths: [{path: /, pathType: Prefix}]}]}\n",
    )
    .unwrap();
    let (yaml, notes) = render(&file);
    assert!(yaml.contains("value: other.example.com,mlflow.example.com,localhost,"), "{yaml}");
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("ingress host mlflow.example.com was missing"), "{notes:?}");
}
