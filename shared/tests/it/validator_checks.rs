//! Every check of the values validator tripped on the Rust side, each alone with its exact
//! message (the chart mirrors them; tests/chart checks the mirror). Deleting a check fails here.

use kubectl_mlflow_test_support::values;

/// A valid PostgreSQL + S3 base the cases add to.
const PG: [&str; 2] = ["mlflow.backendStoreUri=postgresql://u@db/m", "mlflow.artifactsDestination=s3://b/a"];

/// The problems of the base plus `sets`.
fn problems(sets: &[&str]) -> Vec<String> {
    values::problems(&[&PG[..], sets].concat(), false)
}

fn refused(sets: &[&str], expected: &str) {
    assert_eq!(problems(sets), vec![expected.to_string()], "{sets:?}");
}

#[test]
fn the_base_is_valid() {
    assert_eq!(problems(&[]), Vec::<String>::new());
}

#[test]
fn bare_flag_names() {
    refused(
        &["s:server.flag_options[0]="],
        "server.flag_options[0]: \"\" is not a bare flag name (put options with a value in server.value_options)",
    );
    refused(&["server.flag_options[0]=--workers=2"], "server.flag_options[0]: \"--workers=2\" is not a bare flag name (put options with a value in server.value_options)");
    refused(&["server.flag_options[0]=dev --x"], "server.flag_options[0]: \"dev --x\" is not a bare flag name (put options with a value in server.value_options)");
}

#[test]
fn value_options_take_one_scalar() {
    refused(
        &["server.value_options.workers={1,2}"],
        "server.value_options.workers: expected a string, number or boolean (a flag takes one value)",
    );
    refused(
        &["server.value_options.workers.a=1"],
        "server.value_options.workers: expected a string, number or boolean (a flag takes one value)",
    );
}

#[test]
fn ports() {
    refused(
        &["server.value_options.port=70000"],
        "server.value_options.port: 70000 is not a port (use a number from 1 to 65535)",
    );
    refused(
        &["server.value_options.port=0"],
        "server.value_options.port: 0 is not a port (use a number from 1 to 65535)",
    );
    refused(
        &["s:server.value_options.port=http"],
        "server.value_options.port: \"http\" is not a port (use a number from 1 to 65535)",
    );
}

#[test]
fn paths_that_must_start_with_a_slash() {
    refused(&["server.staticPrefix=mlflow"], "server.staticPrefix: \"mlflow\" must start with / (e.g. /mlflow)");
    refused(
        &["metrics.enabled=true", "metrics.path=metrics"],
        "metrics.path: \"metrics\": MLflow serves its metrics at /metrics only, under a static prefix too (set metrics.path: /metrics)",
    );
    refused(
        &["metrics.enabled=true", "metrics.path=/prom"],
        "metrics.path: \"/prom\": MLflow serves its metrics at /metrics only, under a static prefix too (set metrics.path: /metrics)",
    );
    refused(
        &["storage.enabled=true", "storage.mountPath=data"],
        "storage.mountPath: \"data\" is not an absolute path (e.g. /mlflow)",
    );
}

#[test]
fn storage_sizes() {
    refused(
        &["storage.enabled=true", "storage.size=10GB"],
        "storage.size: \"10GB\" is not a storage size (use a Kubernetes quantity, e.g. 10Gi)",
    );
    refused(
        &["storage.enabled=true", "s:storage.size=0"],
        "storage.size: \"0\" is not a storage size (use a Kubernetes quantity, e.g. 10Gi)",
    );
}

#[test]
fn basic_auth_needs_its_parts() {
    let auth = "server.value_options.app_name=basic-auth";
    refused(
        &[auth, "storage.enabled=true", "auth.adminUsername="],
        "auth.adminUsername: basic auth needs an admin user name (e.g. admin)",
    );
    refused(&[auth], "auth.databaseUri: basic auth needs a database for its users (set auth.databaseUri, or storage.enabled: true to keep it on the volume)");
    refused(&[auth, "auth.databaseUri=postgres://u:hunter2@db/auth"], "auth.databaseUri: \"postgres://u:***@db/auth\": SQLAlchemy does not know the scheme \"postgres\" (write postgresql:// instead)");
}

#[test]
fn object_names() {
    refused(
        &["fullnameOverride=Bad_Name"],
        "fullnameOverride: \"Bad_Name\" is not a valid name (lowercase letters, digits and '-', at most 63 characters)",
    );
    refused(&["serviceAccount.name=Bad SA"], "serviceAccount.name: \"Bad SA\" is not a valid ServiceAccount name");
    refused(
        &["tls.enabled=true", "tls.secretName=Bad.Secret"],
        "tls.secretName: \"Bad.Secret\" is not a valid Secret name",
    );
    refused(
        &["tls.enabled=true", "tls.secretName="],
        "tls.secretName: TLS is enabled but no Secret is named (set tls.secretName)",
    );
    refused(
        &["ingress.enabled=true", "ingress.hosts[0].host=bad_host"],
        "ingress.hosts[0].host: \"bad_host\" is not a DNS host name (e.g. mlflow.example.com)",
    );
}

#[test]
fn env_names() {
    refused(&["env[0].name=MLFLOW_PORT", "s:env[0].value=1"], "env[0].name: MLFLOW_PORT is set by the chart from its values (use the mlflow.*, server.* or auth.* keys instead)");
    refused(
        &["env[0].name=A", "s:env[0].value=1", "env[1].name=A", "s:env[1].value=2"],
        "env[1].name: A is given twice (keep one)",
    );
}

#[test]
fn monitoring_and_gc() {
    refused(
        &["serviceMonitor.enabled=true"],
        "serviceMonitor.enabled: needs metrics.enabled (set metrics.enabled: true)",
    );
    refused(&["garbageCollection.allWorkspaces=true"], "garbageCollection.allWorkspaces: needs workspaces (add enable_workspaces to server.flag_options, or set allWorkspaces: false)");
    refused(
        &["garbageCollection.enabled=true", "garbageCollection.schedule=weekly"],
        "garbageCollection.schedule: \"weekly\" is not a cron schedule (five fields, e.g. \"0 2 * * 0\")",
    );
    refused(
        &["garbageCollection.enabled=true", "garbageCollection.olderThan=1w"],
        "garbageCollection.olderThan: \"1w\" is not a duration (use #d#h#m#s, e.g. \"30d\" or \"7d12h\")",
    );
    refused(
        &["garbageCollection.enabled=true", "storage.enabled=true", "storage.accessMode=ReadWriteOncePod"],
        "garbageCollection.enabled: the GC job mounts the volume while the server has it, which storage.accessMode ReadWriteOncePod forbids (use ReadWriteOnce)",
    );
}

#[test]
fn workspaces_need_a_default_artifact_root() {
    refused(&["server.flag_options={enable_workspaces}"], "mlflow.defaultArtifactRoot: enable_workspaces needs a default artifact root (set mlflow.defaultArtifactRoot, e.g. s3://bucket/path)");
}
