//! Values the tool refuses before any write, given as a user would: exit 2, nothing on stdout,
//! the file (for -f), the key path, what is wrong and the fix on stderr.

use kubectl_mlflow_test_support::process::{assert_bad_input, offline_plugin};
use kubectl_mlflow_test_support::values::write_file;

fn refused_file(yaml: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "my-values.yaml", yaml);
    let out = offline_plugin("kubectl-mlflow-install").args(["-f", &path, "--dry-run"]).output().unwrap();
    assert_bad_input(&out, yaml, &[&format!("{path}: {expected}")]);
}

#[test]
fn the_slim_image_with_postgres_and_s3() {
    let yaml = "image:\n  tag: v3.17.2\nmlflow:\n  backendStoreUri: postgresql://mlflow@postgres:5432/mlflow\n  artifactsDestination: s3://bucket/mlflow\n";
    refused_file(yaml, "mlflow.backendStoreUri: the postgresql store needs the Python module psycopg2, which the image ghcr.io/mlflow/mlflow:v3.17.2 lacks (set image.tag to v3.17.2-full");
    refused_file(yaml, "mlflow.artifactsDestination: the s3:// artifact store needs the Python module boto3");
}

#[test]
fn stores_that_cannot_run() {
    refused_file("mlflow:\n  backendStoreUri: postgres://u:hunter2@db/m\n  artifactsDestination: s3://b/a\n", "mlflow.backendStoreUri: \"postgres://u:***@db/m\": SQLAlchemy does not know the scheme \"postgres\" (write postgresql:// instead)");
    refused_file(
        "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////data/mlflow.db\n",
        "mlflow.backendStoreUri: \"sqlite:////data/mlflow.db\": /data/mlflow.db is on no writable volume",
    );
    refused_file(
        "replicaCount: 2\nstorage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/mlflow.db\n",
        "replicaCount: 2 replicas cannot share the SQLite database of mlflow.backendStoreUri",
    );
}

#[test]
fn server_options_mlflow_does_not_have() {
    refused_file(
        "server:\n  value_options:\n    worker: 2\n",
        "server.value_options.worker: mlflow server 3.17.2 has no option --worker (did you mean workers?)",
    );
    refused_file(
        "server:\n  flag_options: [serve-artifact]\n",
        "server.flag_options[0]: mlflow server 3.17.2 has no option --serve-artifact (did you mean serve_artifacts?)",
    );
}

#[test]
fn checks_of_the_merged_values_name_the_file() {
    refused_file(
        "storage:\n  size: 10GB\n",
        "storage.size: \"10GB\" is not a storage size (use a Kubernetes quantity, e.g. 10Gi)",
    );
    refused_file(
        "env:\n  - name: A\n    value: \"1\"\n  - name: A\n    value: \"2\"\n",
        "env[1].name: A is given twice (keep one)",
    );
}

#[test]
fn extra_objects_that_make_no_object() {
    let needs = "(an extra object needs apiVersion, kind and metadata.name, each a string)";
    refused_file(
        "extraObjects:\n  - {kind: ConfigMap, metadata: {name: x}}\n",
        &format!("extraObjects[0]: no apiVersion {needs}"),
    );
    refused_file(
        "extraObjects:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {labels: {a: b}}}\n",
        &format!("extraObjects[0]: no metadata.name {needs}"),
    );
    refused_file(
        "extraObjects:\n  - \"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: {{ .Values.imag.tag }}}\"\n",
        "extraObjects[0]: the template cannot be rendered: .Values.imag is not a value of the chart",
    );
    refused_file(
        "extraObjects:\n  - \"apiVersion: v1\\nmetadata: {name: {{ .Release.Name }}}\"\n",
        &format!("extraObjects[0]: the template made no kind {needs}"),
    );
    let twice = "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: twice}}\n";
    refused_file(
        &format!("extraObjects:\n{twice}{twice}"),
        "extraObjects[1]: ConfigMap/twice is given twice (also at extraObjects[0]; keep one)",
    );
    refused_file(
        "extraObjects:\n  - {apiVersion: v1, kind: Service, metadata: {name: mlflow-mlflow}}\n",
        "extraObjects[0]: Service/mlflow-mlflow is an object the chart renders already",
    );
}

#[test]
fn extra_object_templates_beyond_the_native_subset_are_left_to_helm() {
    let yaml =
        "extraObjects:\n  - \"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: {{ .Release.Name | upper }}}\"\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "my-values.yaml", yaml);
    let out = offline_plugin("kubectl-mlflow-install").args(["-f", &path, "--dry-run"]).output().unwrap();
    assert_bad_input(
        &out,
        yaml,
        &[
            &format!("{path}: extraObjects[0]: {{{{ .Release.Name | upper }}}} is beyond the templates the native engine evaluates"),
            "install with --helm, which renders it, or write the object as a map",
        ],
    );
}
