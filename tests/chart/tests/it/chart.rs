//! The Helm chart under real helm 3.17 and helm 4.1: lint, rendering of every values file, the
//! deployment guide's quick start, the values schema and the template-time checks.

use kubectl_mlflow_test_support::helm::{chart_dir, Helm, Run, HELMS};
use kubectl_mlflow_test_support::values::{repo_relative, temp_values_file, values_files_and_example, yaml_objects};
use serde_json::Value;

const BACKEND_MISSING: &str = "mlflow.backendStoreUri: no backend store is set (set mlflow.backendStoreUri, or mlflow.backendStoreUriFrom to read it from a Secret)";
const ARTIFACT_ROOT_MISSING: &str = "mlflow.defaultArtifactRoot: enable_workspaces needs a default artifact root (set mlflow.defaultArtifactRoot, e.g. s3://bucket/path)";
const ALL_WORKSPACES: &str = "garbageCollection.allWorkspaces: needs workspaces (add enable_workspaces to server.flag_options, or set allWorkspaces: false)";
const TLS_SECRET: &str = "tls.secretName: TLS is enabled but no Secret is named (set tls.secretName)";
const SERVICE_MONITOR: &str = "serviceMonitor.enabled: needs metrics.enabled (set metrics.enabled: true)";
const AUTH_DATABASE: &str = "auth.databaseUri: basic auth needs a database for its users (set auth.databaseUri, or storage.enabled: true to keep it on the volume)";

fn workspaces_store(found: &str) -> String {
    format!(
        "server.flag_options: enable_workspaces needs a SQL backend store (sqlite, postgresql, mysql or mssql), not \"{found}\""
    )
}

fn bad_schedule(value: &str) -> String {
    format!("garbageCollection.schedule: \"{value}\" is not a cron schedule (five fields, e.g. \"0 2 * * 0\")")
}

fn bad_older_than(value: &str) -> String {
    format!("garbageCollection.olderThan: \"{value}\" is not a duration (use #d#h#m#s, e.g. \"30d\" or \"7d12h\")")
}

fn chart() -> String {
    chart_dir().to_string_lossy().into_owned()
}

/// `helm template mlflow ./charts -n mlflow` plus `extra`.
fn template(helm: Helm, extra: &[&str]) -> Run {
    helm.template(extra)
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} among {:?}", kinds(objects)))
}

fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{}/{}", o["kind"].as_str().unwrap_or("?"), o["metadata"]["name"].as_str().unwrap_or("?")))
        .collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"].as_array()?.iter().find(|e| e["name"] == name)
}

// ---------------------------------------------------------------------------------------------
// Lint

#[test]
fn helm_versions_are_the_supported_majors() {
    for helm in HELMS {
        let run = helm.run(["version", "--short"]);
        run.assert_success();
        assert!(run.stdout.starts_with(helm.major_prefix()), "{}: {}", run.command, run.stdout);
    }
}

/// Plain `helm lint --strict ./charts` is clean. Lint does not stop at `fail` (it logs the message
/// and goes on), so it reports exactly the problem of the defaults: no backend store.
#[test]
fn lint_strict_with_default_values_reports_only_the_missing_stores() {
    for helm in HELMS {
        let run = helm.run(["lint", "--strict", "./charts"]);
        run.assert_success();
        assert!(run.stdout.contains("1 chart(s) linted, 0 chart(s) failed"), "{}:\n{}", run.command, run.stdout);
        assert!(
            !run.stdout.contains("[WARNING]") && !run.stdout.contains("[ERROR]"),
            "{}:\n{}",
            run.command,
            run.stdout
        );
        assert_eq!(
            run.fail_lines(),
            vec![BACKEND_MISSING.to_string()],
            "{}:\n{}\n{}",
            run.command,
            run.stdout,
            run.stderr
        );
    }
}

/// `helm lint --strict` with each values file: clean, and no `fail` message at all.
#[test]
fn lint_strict_is_clean_with_every_values_file() {
    for helm in HELMS {
        for file in values_files_and_example() {
            let run =
                helm.run(["lint".as_ref(), "--strict".as_ref(), "./charts".as_ref(), "-f".as_ref(), file.as_os_str()]);
            run.assert_success();
            assert!(
                !run.stdout.contains("[WARNING]") && !run.stdout.contains("[ERROR]"),
                "{}:\n{}",
                run.command,
                run.stdout
            );
            assert!(run.fail_lines().is_empty(), "{}: {:?}", run.command, run.fail_lines());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

#[test]
fn every_values_file_renders() {
    for helm in HELMS {
        for file in values_files_and_example() {
            let path = file.to_string_lossy().into_owned();
            let run = template(helm, &["-f", &path]);
            run.assert_success();
            let objs = yaml_objects(&run.stdout);
            find(
                &objs,
                "Deployment",
                if file.file_name().is_some_and(|n| n == "everything.yaml") { "tracking" } else { "mlflow-mlflow" },
            );
            for obj in &objs {
                if obj["kind"] != "ClusterRole" && obj["kind"] != "ClusterRoleBinding" {
                    assert_eq!(obj["metadata"]["namespace"], "mlflow", "{}: {}", repo_relative(&file), obj["kind"]);
                }
                assert_eq!(obj["metadata"]["labels"]["app.kubernetes.io/name"], "mlflow");
                assert_eq!(obj["metadata"]["labels"]["app.kubernetes.io/instance"], "mlflow");
            }
        }
    }
}

/// The quick start of MLflow's Kubernetes deployment guide, word for word, with `template` instead of `install`.
#[test]
fn the_deployment_guides_quick_start_renders_as_written() {
    for helm in HELMS {
        let run = helm.run([
            "template",
            "mlflow",
            "./charts",
            "--namespace",
            "mlflow",
            "--create-namespace",
            "--set",
            "storage.enabled=true",
            "--set",
            "mlflow.backendStoreUri=sqlite:////mlflow/mlflow.db",
            "--set",
            "mlflow.artifactsDestination=/mlflow/artifacts",
        ]);
        run.assert_success();
        let objs = yaml_objects(&run.stdout);

        let service = find(&objs, "Service", "mlflow-mlflow");
        let port = &service["spec"]["ports"][0];
        assert_eq!(port["port"], 5000);
        assert_eq!(port["name"], "http");
        assert_eq!(port["targetPort"], "http");

        let pvc = find(&objs, "PersistentVolumeClaim", "mlflow-mlflow");
        assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteOnce");

        let deployment = find(&objs, "Deployment", "mlflow-mlflow");
        assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(container["name"], "mlflow");
        assert_eq!(container["ports"][0]["containerPort"], 5000);
        assert_eq!(container["ports"][0]["name"], "http");
        assert!(strings(&container["command"]).contains(&"--port=5000"), "{}", container["command"]);
        assert_eq!(env_value(container, "MLFLOW_BACKEND_STORE_URI").unwrap()["value"], "sqlite:////mlflow/mlflow.db");
        assert_eq!(env_value(container, "MLFLOW_ARTIFACTS_DESTINATION").unwrap()["value"], "/mlflow/artifacts");
        let data = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "data").expect("data volume");
        assert_eq!(data["persistentVolumeClaim"]["claimName"], "mlflow-mlflow");
        let mount =
            container["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == "data").expect("data mount");
        assert_eq!(mount["mountPath"], "/mlflow");
        // The service selects the pods of the Deployment.
        for (k, v) in service["spec"]["selector"].as_object().unwrap() {
            assert_eq!(&deployment["spec"]["template"]["metadata"]["labels"][k], v, "selector label {k}");
        }
        // The guide's `kubectl port-forward -n mlflow svc/mlflow-mlflow 5000:5000` and the Host check.
        let hosts = env_value(container, "MLFLOW_SERVER_ALLOWED_HOSTS").unwrap()["value"].as_str().unwrap();
        assert!(hosts.split(',').any(|h| h == "localhost:*"), "{hosts}");
    }
}

/// Without a ServiceAccount of its own and no name, the pods run as the namespace's default one.
#[test]
fn existing_service_account() {
    for helm in HELMS {
        let run = template(helm, &["-f", "tests/values/quickstart.yaml", "--set", "serviceAccount.create=false"]);
        run.assert_success();
        let objs = yaml_objects(&run.stdout);
        assert!(!objs.iter().any(|o| o["kind"] == "ServiceAccount"), "{:?}", kinds(&objs));
        let deployment = find(&objs, "Deployment", "mlflow-mlflow");
        assert_eq!(deployment["spec"]["template"]["spec"]["serviceAccountName"], "default");
    }
}

/// The deployment guide's production example (`-f charts/example-mlflow-charts.yaml`).
#[test]
fn production_example_renders_postgres_s3_metrics_gc() {
    for helm in HELMS {
        let run = template(helm, &["-f", "charts/example-mlflow-charts.yaml"]);
        run.assert_success();
        let objs = yaml_objects(&run.stdout);
        let deployment = find(&objs, "Deployment", "mlflow-mlflow");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            env_value(container, "MLFLOW_BACKEND_STORE_URI").unwrap()["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "mlflow-db-secret", "key": "uri"})
        );
        assert_eq!(env_value(container, "MLFLOW_ARTIFACTS_DESTINATION").unwrap()["value"], "s3://my-bucket/mlflow");
        assert_eq!(
            env_value(container, "AWS_ACCESS_KEY_ID").unwrap()["valueFrom"]["secretKeyRef"]["name"],
            "s3-credentials"
        );
        assert_eq!(
            env_value(container, "AWS_SECRET_ACCESS_KEY").unwrap()["valueFrom"]["secretKeyRef"]["key"],
            "secret-access-key"
        );
        assert_eq!(container["resources"]["requests"]["cpu"], "500m");
        assert_eq!(container["resources"]["limits"]["memory"], "2Gi");
        assert!(strings(&container["command"]).contains(&"--expose-prometheus=/var/run/mlflow/metrics"));
        assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
        let gc = find(&objs, "CronJob", "mlflow-mlflow-gc");
        assert_eq!(gc["spec"]["schedule"], "0 2 * * 0");
        let gc_container = &gc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
        assert!(strings(&gc_container["command"]).contains(&"--older-than=30d"));
        assert!(env_value(gc_container, "AWS_ACCESS_KEY_ID").is_some());
        assert!(!objs.iter().any(|o| o["kind"] == "PersistentVolumeClaim"));
    }
}

/// `helm install --dry-run` of the chart with one values file (helm 4 needs no cluster for it).
fn install_dry_run(values: &str) -> Run {
    let chart = chart();
    let run = Helm::V4.run(["install", "mlflow", chart.as_str(), "--dry-run", "--namespace", "mlflow", "-f", values]);
    run.assert_success();
    run
}

/// NOTES.txt: the deployment guide's port-forward line, the plugin's, the Ingress URL and the SQLite warning.
/// (`helm template` does not render notes; helm 4's `install --dry-run` does without a cluster.)
#[test]
fn notes_show_how_to_reach_the_ui() {
    let run = install_dry_run("tests/values/ingress.yaml");
    let notes = run.stdout.split("NOTES:").nth(1).unwrap_or_else(|| panic!("no NOTES in\n{}", run.stdout));
    for line in [
        "kubectl port-forward -n mlflow svc/mlflow-mlflow 5000:5000",
        "kubectl mlflow portforward mlflow -n mlflow",
        "https://mlflow.example.com/",
        "WARNING: the backend store is SQLite",
    ] {
        assert!(notes.contains(line), "NOTES lack {line:?}:\n{notes}");
    }
    let run = install_dry_run("charts/example-mlflow-charts.yaml");
    assert!(!run.stdout.contains("SQLite"), "{}", run.stdout);
}

// ---------------------------------------------------------------------------------------------
// Schema

/// Wrong values refused by helm's schema check, each with the key path the message must name
/// (helm 3 writes `storage.size`, helm 4 `/storage/size`: every segment must appear).
#[test]
fn schema_rejects_wrong_values_naming_the_key() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--set-string", "replicaCount=two"], &["replicaCount"]),
        (&["--set", "replicaCount=-1"], &["replicaCount"]),
        (&["--set", "replicas=2"], &["replicas"]),
        (&["--set", "storage.sizee=20Gi"], &["storage", "sizee"]),
        (&["--set", "service.type=Headless"], &["service", "type"]),
        (&["--set", "storage.accessMode=ReadWriteSometimes"], &["storage", "accessMode"]),
        (&["--set", "image.pullPolicy=Sometimes"], &["image", "pullPolicy"]),
        (&["--set", "auth.defaultPermission=WRITE"], &["auth", "defaultPermission"]),
        (&["--set-string", "tls.enabled=yes"], &["tls", "enabled"]),
        (&["--set", "probes.liveness.periodSeconds=0"], &["liveness", "periodSeconds"]),
        (&["--set", "probes.readiness.delay=3"], &["readiness", "delay"]),
        (&["--set", "server.flag_options=enable_workspaces"], &["server", "flag_options"]),
        (&["--set", "garbageCollection.olderThan=30"], &["garbageCollection", "olderThan"]),
        (&["--set", "mlflow.backendStoreURI=sqlite:///x.db"], &["mlflow", "backendStoreURI"]),
        (&["--set", "ingress.hosts[0].hostname=mlflow.example.com"], &["hosts", "hostname"]),
        (
            &[
                "--set",
                "ingress.hosts[0].host=a",
                "--set",
                "ingress.hosts[0].paths[0].path=/",
                "--set",
                "ingress.hosts[0].paths[0].pathType=Regex",
            ],
            &["paths", "pathType"],
        ),
        (&["--set", "serviceAccount.automount=true"], &["serviceAccount", "automount"]),
        (&["--set", "env.FOO=bar"], &["env"]),
    ];
    for helm in HELMS {
        for (args, segments) in cases {
            let mut full = vec!["-f", "tests/values/quickstart.yaml"];
            full.extend_from_slice(args);
            let run = template(helm, &full);
            run.assert_failure();
            assert!(
                run.stderr.contains("values don't meet the specifications of the schema"),
                "{}: not a schema error:\n{}",
                run.command,
                run.stderr
            );
            for segment in *segments {
                assert!(
                    run.stderr.contains(segment),
                    "{}: message does not name {segment}:\n{}",
                    run.command,
                    run.stderr
                );
            }
        }
    }
}

/// The schema sticks to the keywords the core crate's own validator understands, puts a
/// description on every property, and closes every object whose keys the chart defines.
#[test]
fn schema_uses_only_the_shared_keyword_subset() {
    let text = std::fs::read_to_string(chart_dir().join("values.schema.json")).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let values: Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap()).unwrap();

    fn walk(schema: &Value, path: &str) {
        const KEYWORDS: &[&str] = &[
            "$schema",
            "title",
            "description",
            "type",
            "properties",
            "additionalProperties",
            "items",
            "enum",
            "minimum",
            "maximum",
            "required",
        ];
        const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean", "null"];
        let obj = schema.as_object().unwrap_or_else(|| panic!("{path}: schema is not an object"));
        for (k, v) in obj {
            assert!(KEYWORDS.contains(&k.as_str()), "{path}: keyword {k} is outside the shared subset");
            match k.as_str() {
                "type" => {
                    let ts: Vec<&str> = match v {
                        Value::String(s) => vec![s.as_str()],
                        Value::Array(a) => a.iter().map(|t| t.as_str().expect("type name")).collect(),
                        _ => panic!("{path}: bad type {v}"),
                    };
                    assert!(ts.iter().all(|t| TYPES.contains(t)), "{path}: bad type {v}");
                }
                "properties" => {
                    for (name, sub) in v.as_object().expect("properties") {
                        assert!(sub.get("description").is_some_and(Value::is_string), "{path}.{name}: no description");
                        walk(sub, &format!("{path}.{name}"));
                    }
                }
                "additionalProperties" => {
                    if !v.is_boolean() {
                        walk(v, &format!("{path}.*"));
                    } else {
                        assert_eq!(v, &Value::Bool(false), "{path}: additionalProperties true is the default");
                    }
                }
                "items" => walk(v, &format!("{path}[]")),
                _ => {}
            }
        }
    }
    walk(&schema, "");
    assert_eq!(schema["additionalProperties"], false);

    // Every key of values.yaml is described, and every object with defined keys is closed.
    fn cover(values: &Value, schema: &Value, path: &str) {
        if let Value::Object(map) = values {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                assert_eq!(schema["additionalProperties"], false, "{path}: object with defined keys is open");
                for (k, v) in map {
                    let sub =
                        props.get(k).unwrap_or_else(|| panic!("{path}.{k}: in values.yaml but not in the schema"));
                    cover(v, sub, &format!("{path}.{k}"));
                }
            }
        }
    }
    cover(&values, &schema, "");
    for closed in [
        "image",
        "server",
        "auth",
        "probes",
        "garbageCollection",
        "service",
        "ingress",
        "mlflow",
        "tls",
        "networkPolicy",
        "metrics",
        "serviceMonitor",
        "serviceAccount",
        "namespace_rbac",
        "cluster_rbac",
        "storage",
    ] {
        assert_eq!(schema["properties"][closed]["additionalProperties"], false, "{closed} is open");
    }
    assert_eq!(schema["properties"]["ingress"]["properties"]["hosts"]["items"]["additionalProperties"], false);
}

// ---------------------------------------------------------------------------------------------
// Template-time checks

const BUDGET_BOTH: &str =
    "podDisruptionBudget.maxUnavailable: may not be set with podDisruptionBudget.minAvailable (keep one of them)";
const ROUTE_PARENT: &str =
    "httpRoute.parentRefs: the HTTPRoute needs a Gateway to attach to (e.g. [{name: shared-gateway, namespace: gateway-system}])";
const QUICKSTART: &str = "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/mlflow.db\n  artifactsDestination: /mlflow/artifacts\n";
const POSTGRES_FROM_SECRET: &str =
    "mlflow:\n  backendStoreUriFrom:\n    secretKeyRef: {name: mlflow-db-secret, key: uri}\n  artifactsDestination: s3://b/a\n";

/// Renders `yaml` and returns the chart's `fail` lines (empty when it rendered).
fn fail_lines(helm: Helm, yaml: &str) -> Vec<String> {
    let file = temp_values_file(yaml);
    let path = file.path().to_string_lossy().into_owned();
    let run = template(helm, &["-f", &path]);
    if run.success {
        return Vec::new();
    }
    let lines = run.fail_lines();
    assert!(!lines.is_empty(), "{} failed without a chart message:\n{}", run.command, run.stderr);
    lines
}

#[test]
fn each_invalid_combination_fails_with_its_message() {
    let cases: Vec<(String, Vec<String>)> = vec![
        ("{}".into(), vec![BACKEND_MISSING.into()]),
        (
            "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: file:///mlflow/mlruns\n  defaultArtifactRoot: s3://b/p\nserver:\n  flag_options: [enable_workspaces]\n".into(),
            vec![workspaces_store("file")],
        ),
        (
            "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: /mlflow/mlruns\n  defaultArtifactRoot: s3://b/p\nserver:\n  flag_options: [--enable-workspaces]\n".into(),
            vec![workspaces_store("/mlflow/mlruns")],
        ),
        (format!("{POSTGRES_FROM_SECRET}server:\n  flag_options: [enable_workspaces]\n"), vec![ARTIFACT_ROOT_MISSING.into()]),
        (format!("{POSTGRES_FROM_SECRET}garbageCollection:\n  enabled: true\n  allWorkspaces: true\n"), vec![ALL_WORKSPACES.into()]),
        (format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  schedule: \"0 2 * *\"\n"), vec![bad_schedule("0 2 * *")]),
        (format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  schedule: \"@fortnightly\"\n"), vec![bad_schedule("@fortnightly")]),
        (format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  olderThan: \"30 days\"\n"), vec![bad_older_than("30 days")]),
        (format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  olderThan: \"30\"\n"), vec![bad_older_than("30")]),
        (format!("{QUICKSTART}tls:\n  enabled: true\n  secretName: \"\"\n"), vec![TLS_SECRET.into()]),
        (format!("{QUICKSTART}serviceMonitor:\n  enabled: true\n"), vec![SERVICE_MONITOR.into()]),
        (format!("{POSTGRES_FROM_SECRET}server:\n  value_options:\n    app_name: basic-auth\n"), vec![AUTH_DATABASE.into()]),
        (format!("{POSTGRES_FROM_SECRET}podDisruptionBudget:\n  minAvailable: 1\n  maxUnavailable: 50%\n"), vec![BUDGET_BOTH.into()]),
        (format!("{POSTGRES_FROM_SECRET}httpRoute:\n  enabled: true\n  hostnames: [mlflow.example.com]\n"), vec![ROUTE_PARENT.into()]),
    ];
    for helm in HELMS {
        for (yaml, expected) in &cases {
            assert_eq!(&fail_lines(helm, yaml), expected, "{helm:?} with values:\n{yaml}");
        }
    }
}

/// The core crate's other checks, mirrored by the chart in the same order and wording.
#[test]
fn the_core_crates_other_checks_are_mirrored() {
    let yaml = r#"
fullnameOverride: Bad_Name
mlflow:
  backendStoreUri: "sqlite:////mlflow/mlflow.db"
server:
  value_options:
    app_name: basic-auth
    port: 70000
    workers: [1]
  flag_options: ["", "--x=1", "a b"]
  staticPrefix: mlflow
garbageCollection:
  enabled: true
  schedule: "60 * * * *"
metrics:
  enabled: true
  path: metrics
storage:
  enabled: true
  size: 10GB
  mountPath: data
  accessMode: ReadWriteOncePod
auth:
  adminUsername: ""
  adminPasswordFrom: null
serviceAccount:
  name: "Bad SA"
tls:
  enabled: true
  secretName: Bad.Secret
ingress:
  enabled: true
  hosts:
    - host: bad_host
      paths: []
    - host: "*.example.com"
      paths: []
env:
  - name: MLFLOW_PORT
    value: "1"
  - name: A
    value: "1"
  - name: A
    value: "2"
"#;
    let expected: Vec<String> = [
        "garbageCollection.schedule: \"60 * * * *\" is not a cron schedule (five fields, e.g. \"0 2 * * 0\")",
        "garbageCollection.enabled: the GC job mounts the volume while the server has it, which storage.accessMode ReadWriteOncePod forbids (use ReadWriteOnce)",
        "server.value_options.workers: expected a string, number or boolean (a flag takes one value)",
        "server.value_options.port: 70000 is not a port (use a number from 1 to 65535)",
        "server.flag_options[0]: \"\" is not a bare flag name (put options with a value in server.value_options)",
        "server.flag_options[1]: \"--x=1\" is not a bare flag name (put options with a value in server.value_options)",
        "server.flag_options[2]: \"a b\" is not a bare flag name (put options with a value in server.value_options)",
        "server.staticPrefix: \"mlflow\" must start with / (e.g. /mlflow)",
        "metrics.path: \"metrics\": MLflow serves its metrics at /metrics only, under a static prefix too (set metrics.path: /metrics)",
        "storage.size: \"10GB\" is not a storage size (use a Kubernetes quantity, e.g. 10Gi)",
        "storage.mountPath: \"data\" is not an absolute path (e.g. /mlflow)",
        "auth.adminUsername: basic auth needs an admin user name (e.g. admin)",
        "fullnameOverride: \"Bad_Name\" is not a valid name (lowercase letters, digits and '-', at most 63 characters)",
        "serviceAccount.name: \"Bad SA\" is not a valid ServiceAccount name",
        "tls.secretName: \"Bad.Secret\" is not a valid Secret name",
        "ingress.hosts[0].host: \"bad_host\" is not a DNS host name (e.g. mlflow.example.com)",
        "env[0].name: MLFLOW_PORT is set by the chart from its values (use the mlflow.*, server.* or auth.* keys instead)",
        "env[2].name: A is given twice (keep one)",
        "mlflow.backendStoreUri: \"sqlite:////mlflow/mlflow.db\": /mlflow/mlflow.db is on no writable volume: the container's root is read-only and /tmp is lost on restart (put it under storage.mountPath data, or under the mountPath of a writable extraVolumeMounts entry)",
    ]
    .map(String::from)
    .to_vec();
    for helm in HELMS {
        assert_eq!(fail_lines(helm, yaml), expected, "{helm:?}");
    }
}

/// Every problem at once, one per line, in one run.
#[test]
fn all_problems_are_reported_together() {
    let yaml = "server:\n  flag_options: [enable_workspaces]\n  value_options:\n    app_name: basic-auth\n\
                garbageCollection:\n  enabled: true\n  schedule: \"weekly\"\n  olderThan: \"1w\"\n\
                tls:\n  enabled: true\n  secretName: \"\"\nserviceMonitor:\n  enabled: true\n";
    for helm in HELMS {
        assert_eq!(
            fail_lines(helm, yaml),
            vec![
                BACKEND_MISSING.to_string(),
                ARTIFACT_ROOT_MISSING.to_string(),
                bad_schedule("weekly"),
                bad_older_than("1w"),
                TLS_SECRET.to_string(),
                SERVICE_MONITOR.to_string(),
                AUTH_DATABASE.to_string(),
            ],
            "{helm:?}"
        );
    }
}

/// Valid neighbours of the invalid combinations render.
#[test]
fn valid_edge_cases_render() {
    let cases = [
        format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  schedule: \"@weekly\"\n  olderThan: \"1.5h\"\n"),
        format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  schedule: \"*/15 0-6 1,15 * MON-FRI\"\n  olderThan: \"7d12h30m10s\"\n"),
        "mlflow:\n  backendStoreUri: postgresql+psycopg2://u:p@db:5432/mlflow\n  defaultArtifactRoot: s3://b/p\nserver:\n  flag_options: [enable_workspaces]\n".into(),
        "mlflow:\n  backendStoreUri: mysql+pymysql://u:p@db/mlflow\n  defaultArtifactRoot: s3://b/p\nserver:\n  flag_options: [enable_workspaces]\n".into(),
        format!("{POSTGRES_FROM_SECRET}  defaultArtifactRoot: gs://b/p\nserver:\n  flag_options: [enable_workspaces]\ngarbageCollection:\n  enabled: true\n  allWorkspaces: true\n"),
        format!("{POSTGRES_FROM_SECRET}garbageCollection:\n  enabled: false\n  schedule: nonsense\n  olderThan: forever\n"),
        format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  schedule: \"0 0 1,15 * mon-fri\"\n"),
        format!("{QUICKSTART}garbageCollection:\n  enabled: true\n  schedule: \"5 4 ? * *\"\n"),
        format!("{POSTGRES_FROM_SECRET}storage:\n  enabled: true\n  size: 1.5Ti\n  mountPath: /data/\n"),
        format!("{QUICKSTART}fullnameOverride: tracking-1\ningress:\n  enabled: true\n  hosts:\n    - host: \"*.example.com\"\n      paths: []\n"),
        format!("{POSTGRES_FROM_SECRET}server:\n  value_options:\n    app_name: basic-auth\nauth:\n  databaseUri: postgresql://u@db/mlflow\n"),
        format!("{QUICKSTART}server:\n  value_options:\n    app_name: basic-auth\n"),
        format!("{QUICKSTART}metrics:\n  enabled: true\nserviceMonitor:\n  enabled: true\ntls:\n  enabled: true\n"),
    ];
    for helm in HELMS {
        for yaml in &cases {
            assert_eq!(fail_lines(helm, yaml), Vec::<String>::new(), "{helm:?} with values:\n{yaml}");
        }
    }
}

/// On a cluster that serves route.openshift.io/v1 (helm's --api-versions stands for it) or with
/// `openshift: true`, no pod fixes runAsUser, runAsGroup or fsGroup; elsewhere they stay.
#[test]
fn openshift_leaves_the_ids_to_the_restricted_scc() {
    let postgres = temp_values_file(&format!("{POSTGRES_FROM_SECRET}garbageCollection:\n  enabled: true\n"));
    let path = postgres.path().to_string_lossy().into_owned();
    for helm in HELMS {
        for (extra, openshift) in [
            (vec![], false),
            (vec!["--api-versions", "route.openshift.io/v1"], true),
            (vec!["--set", "openshift=true"], true),
        ] {
            let mut args = vec!["-f", path.as_str()];
            args.extend(extra.iter().copied());
            let run = template(helm, &args);
            run.assert_success();
            let rendered = yaml_objects(&run.stdout);
            let pods: Vec<&Value> = rendered
                .iter()
                .filter_map(|o| match o["kind"].as_str() {
                    Some("Deployment") | Some("Job") => o.pointer("/spec/template/spec"),
                    Some("CronJob") => o.pointer("/spec/jobTemplate/spec/template/spec"),
                    Some("Pod") => o.get("spec"),
                    _ => None,
                })
                .collect();
            assert_eq!(pods.len(), 4, "{}: deployment, migration job, gc cronjob, test pod", run.command);
            for pod in pods {
                let context = &pod["securityContext"];
                assert_eq!(context["runAsNonRoot"], Value::Bool(true), "{}", run.command);
                for id in ["runAsUser", "runAsGroup", "fsGroup"] {
                    assert_eq!(context.get(id).is_none(), openshift, "{}: {id} in {context}", run.command);
                }
            }
        }
    }
}
