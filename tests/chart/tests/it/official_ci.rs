//! What the official MLflow chart's own CI (mlflow/mlflow .github/workflows/helm.yml) needs of
//! this chart, and what came with it, the chart against the library under helm 3.17 and 4.1:
//! stores placed on the pod's /tmp are accepted with the same warnings (the chart's NOTES, the
//! install's warnings); what lies in one pod's /tmp serves neither several replicas nor the GC
//! job; what the kubelet refuses is refused alike; an empty or null metrics.path means /metrics.
//! (tests/official-chart-ci/ runs the workflow's own steps.)

use kubectl_mlflow_model::release::{prepare, Options};
use kubectl_mlflow_model::{validate, values, yaml, Object, Source};
use kubectl_mlflow_test_support::helm::{chart_dir, Helm, HELMS};
use kubectl_mlflow_test_support::values::temp_values_file;

/// The library's problems with the user's values `yaml` (merged over the defaults).
fn library_lines(yaml: &str) -> Vec<String> {
    let user = yaml::parse(yaml).expect("test values parse");
    let problems = match values::resolve(&user) {
        Ok((_, values)) => validate::check(&values),
        Err(problems) => problems,
    };
    problems.iter().map(|p| p.to_string()).collect()
}

/// The chart's `fail` lines for `yaml` under `helm` (empty when it renders).
fn chart_lines(helm: Helm, yaml: &str) -> Vec<String> {
    let file = temp_values_file(yaml);
    let chart = chart_dir().to_string_lossy().into_owned();
    let path = file.path().to_string_lossy().into_owned();
    let run = helm.run(["template", "mlflow", chart.as_str(), "-n", "mlflow", "-f", path.as_str()]);
    if run.success {
        return Vec::new();
    }
    let lines = run.fail_lines();
    assert!(!lines.is_empty(), "{} failed without a chart message:\n{}", run.command, run.stderr);
    lines
}

/// Chart and library agree on every case; each case's lines contain its expected text ("" means
/// accepted).
fn assert_same(cases: &[(&str, &str)]) {
    for (yaml, expected) in cases {
        let library = library_lines(yaml);
        for helm in HELMS {
            assert_eq!(chart_lines(helm, yaml), library, "{helm:?} and the library differ on:\n{yaml}");
        }
        if expected.is_empty() {
            assert!(library.is_empty(), "refused:\n{yaml}\n{library:#?}");
        } else {
            assert!(library.iter().any(|l| l.contains(expected)), "no line has {expected:?}:\n{yaml}\n{library:#?}");
        }
    }
}

/// The library's warnings for `yaml`, as `kubectl mlflow install` prints them.
fn library_warnings(yaml: &str) -> Vec<String> {
    let file = temp_values_file(yaml);
    let sources = [Source::File(file.path().display().to_string())];
    let prepared = prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options::default())
        .unwrap_or_else(|problems| panic!("{problems}"));
    prepared.rendered.warnings
}

/// The WARNING lines of the chart's NOTES about stores (helm 4's `install --dry-run` renders them
/// without a cluster).
fn notes_warnings(yaml: &str) -> Vec<String> {
    let file = temp_values_file(yaml);
    let chart = chart_dir().to_string_lossy().into_owned();
    let path = file.path().to_string_lossy().into_owned();
    let run = Helm::V4.run(["install", "mlflow", chart.as_str(), "--dry-run", "-n", "mlflow", "-f", path.as_str()]);
    run.assert_success();
    let notes = run.stdout.split("NOTES:").nth(1).unwrap_or_else(|| panic!("no NOTES in\n{}", run.stdout));
    notes
        .lines()
        .filter_map(|l| l.strip_prefix("WARNING: "))
        .filter(|l| l.contains("the pod's /tmp"))
        .map(str::to_string)
        .collect()
}

const TMP_SQLITE: &str = "mlflow:\n  backendStoreUri: sqlite:////tmp/mlflow.db\n";

#[test]
fn stores_on_the_pods_tmp_are_accepted_with_the_same_warnings() {
    let cases = [
        // the official CI's lint and e2e values
        TMP_SQLITE.to_string(),
        format!("{TMP_SQLITE}  artifactsDestination: /tmp/mlartifacts\nfullnameOverride: mlflow\n"),
        "mlflow:\n  backendStoreUri: FILE:///tmp/mlruns\n  registryStoreUri: sqlite:////tmp/registry.db\n  artifactsDestination: file:///tmp/a\n".into(),
        format!("{TMP_SQLITE}storage:\n  enabled: true\n  mountPath: /data\nserver:\n  value_options:\n    app_name: basic-auth\nauth:\n  databaseUri: sqlite:////tmp/auth.db\n"),
        // a volume under /tmp keeps its data: no warning
        "mlflow:\n  backendStoreUri: sqlite:////tmp/data/m.db\n  artifactsDestination: /tmp/data/a\nextraVolumes:\n  - {name: data, emptyDir: {}}\nextraVolumeMounts:\n  - {name: data, mountPath: /tmp/data}\n".into(),
        // no warning either with a bucket
        "mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\n".into(),
    ];
    let expected_counts = [2, 2, 3, 2, 0, 0];
    for (yaml, count) in cases.iter().zip(expected_counts) {
        assert_same(&[(yaml.as_str(), "")]);
        let warnings = library_warnings(yaml);
        assert_eq!(warnings.len(), count, "{yaml}\n{warnings:#?}");
        assert_eq!(notes_warnings(yaml), warnings, "the chart's NOTES and the install's warnings differ on:\n{yaml}");
        for warning in &warnings {
            assert!(warning.contains("the data is lost when the pod restarts (to keep"), "{warning}");
        }
    }
    assert_eq!(
        library_warnings(TMP_SQLITE),
        [
            "mlflow.backendStoreUri: \"sqlite:////tmp/mlflow.db\": /tmp/mlflow.db is on the pod's /tmp, an emptyDir: the data is lost when the pod restarts (to keep it, set storage.enabled: true and put it under storage.mountPath, e.g. sqlite:////mlflow/mlflow.db)",
            "mlflow.artifactsDestination: not set, so the server keeps artifacts in /tmp/mlartifacts, on the pod's /tmp, an emptyDir: the data is lost when the pod restarts (to keep them, set storage.enabled: true (they then go to /mlflow/artifacts), or set mlflow.artifactsDestination to a bucket, e.g. s3://bucket/path)",
        ]
    );
}

#[test]
fn the_server_keeps_artifacts_in_tmp_when_no_artifact_store_is_named() {
    for helm in HELMS {
        let chart = chart_dir().to_string_lossy().into_owned();
        let run = helm.run([
            "template",
            "mlflow",
            chart.as_str(),
            "--set",
            "mlflow.backendStoreUri=postgresql://u@db/m",
            "--show-only",
            "templates/deployment.yaml",
        ]);
        run.assert_success();
        assert!(
            run.stdout.contains("- name: MLFLOW_ARTIFACTS_DESTINATION\n              value: \"/tmp/mlartifacts\""),
            "{}",
            run.stdout
        );
    }
    let user = yaml::parse("mlflow:\n  backendStoreUri: postgresql://u@db/m\n").unwrap();
    let (_, values) = values::resolve(&user).unwrap();
    assert_eq!(kubectl_mlflow_model::local_paths::artifacts_destination(&values).as_deref(), Some("/tmp/mlartifacts"));
}

#[test]
fn what_one_pods_tmp_holds_serves_neither_replicas_nor_the_gc_job() {
    let cases = [
        ("replicaCount: 2\nmlflow:\n  backendStoreUri: postgresql://u@db/m\n", "replicaCount: 2 replicas would each keep their own /tmp/mlartifacts (mlflow.artifactsDestination) in their own /tmp"),
        ("replicaCount: 2\nmlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: /tmp/a\n", "replicaCount: 2 replicas would each keep their own /tmp/a (mlflow.artifactsDestination)"),
        ("replicaCount: 3\nmlflow:\n  backendStoreUri: /tmp/mlruns\n  artifactsDestination: s3://b/a\n", "replicaCount: 3 replicas would each keep their own /tmp/mlruns (mlflow.backendStoreUri)"),
        (&format!("{TMP_SQLITE}garbageCollection:\n  enabled: true\n"), "garbageCollection.enabled: the GC job runs in a pod of its own and cannot reach the backend store /tmp/mlflow.db in the server pod's /tmp"),
        ("replicaCount: 2\nmlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\ngarbageCollection:\n  enabled: true\n", ""),
    ];
    assert_same(&cases);
}

#[test]
fn what_the_kubelet_refuses_is_refused_alike() {
    let cases = [
        (&format!("{TMP_SQLITE}podSecurityContext:\n  runAsUser: null\n")[..], "podSecurityContext.runAsNonRoot: true, but no runAsUser is set and the image ghcr.io/mlflow/mlflow:v3.17.2-full runs as root (MLflow's images set no USER): the kubelet would refuse to start the mlflow container (and the GC and migration containers) (\"container has runAsNonRoot and image will run as root\") (set podSecurityContext.runAsUser, e.g. 1000, or runAsNonRoot: false)"),
        (&format!("{TMP_SQLITE}securityContext:\n  runAsUser: 0\n"), "securityContext.runAsUser: 0 (root) with podSecurityContext.runAsNonRoot: true: the kubelet would refuse to start the mlflow container"),
        (&format!("{TMP_SQLITE}podSecurityContext:\n  runAsUser: 0\nextraContainers:\n  - {{name: side, image: busybox}}\n"), "podSecurityContext.runAsUser: 0 (root) with podSecurityContext.runAsNonRoot: true"),
        (&format!("{TMP_SQLITE}extraContainers:\n  - {{name: side, image: \"ghcr.io/mlflow/mlflow@sha256:0123\", securityContext: {{runAsUser: null, runAsNonRoot: true}}}}\npodSecurityContext:\n  runAsUser: null\n  runAsNonRoot: false\n"), "extraContainers[0].securityContext.runAsNonRoot: true, but no runAsUser is set and the image ghcr.io/mlflow/mlflow@sha256:0123 runs as root"),
        (&format!("{TMP_SQLITE}extraInitContainers:\n  - {{name: init, image: busybox, securityContext: {{runAsUser: 0}}}}\n"), "extraInitContainers[0].securityContext.runAsUser: 0 (root) with podSecurityContext.runAsNonRoot: true: the kubelet would refuse to start the init container"),
        // another image's user is not known; OpenShift assigns the user; runAsNonRoot off
        (&format!("{TMP_SQLITE}image:\n  repository: registry.example.com/mlflow\npodSecurityContext:\n  runAsUser: null\n"), ""),
        (&format!("{TMP_SQLITE}openshift: true\n"), ""),
        (&format!("{TMP_SQLITE}podSecurityContext:\n  runAsUser: null\n  runAsNonRoot: false\n"), ""),
    ];
    assert_same(&cases);
}

#[test]
fn a_static_prefix_with_braces_is_refused_alike() {
    assert_same(&[(
        &format!("{TMP_SQLITE}server:\n  staticPrefix: /ml{{x}}\n"),
        "server.staticPrefix: \"/ml{x}\" may not hold '{' or '}': mlflow server refuses it (remove them)",
    )]);
}

/// The ServiceMonitor's path of the library's rendering.
fn library_metrics_path(sets: &[&str]) -> String {
    let sources: Vec<Source> =
        ["mlflow.backendStoreUri=sqlite:////tmp/mlflow.db", "metrics.enabled=true", "serviceMonitor.enabled=true"]
            .iter()
            .chain(sets)
            .map(|s| Source::Set(values::SetKind::Typed, s.to_string()))
            .collect();
    let prepared = prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options::default())
        .unwrap_or_else(|p| panic!("{p}"));
    let monitor = prepared.rendered.objects.iter().find_map(|o| match o {
        Object::ServiceMonitor(m) => Some(m.data["spec"]["endpoints"][0]["path"].clone()),
        _ => None,
    });
    monitor.expect("a ServiceMonitor").as_str().unwrap().to_string()
}

#[test]
fn an_empty_or_null_metrics_path_means_metrics() {
    for set in ["metrics.path=", "metrics.path=null", "metrics.path=/metrics"] {
        for helm in HELMS {
            let chart = chart_dir().to_string_lossy().into_owned();
            let run = helm.run([
                "template",
                "mlflow",
                chart.as_str(),
                "--set",
                "mlflow.backendStoreUri=sqlite:////tmp/mlflow.db",
                "--set",
                "metrics.enabled=true",
                "--set",
                "serviceMonitor.enabled=true",
                "--set",
                set,
                "--show-only",
                "templates/servicemonitor.yaml",
            ]);
            run.assert_success();
            assert!(run.stdout.contains("\n      path: /metrics\n"), "{}:\n{}", run.command, run.stdout);
        }
        assert_eq!(library_metrics_path(&[set]), "/metrics", "{set}");
    }
    let schema: serde_json::Value = serde_json::from_str(values::schema::SCHEMA_JSON).unwrap();
    assert_eq!(schema["properties"]["metrics"]["properties"]["path"]["type"], serde_json::json!(["string", "null"]));
}

/// The mlflow container's command as the library renders it for `sets`.
fn library_command(sets: &[&str]) -> Vec<String> {
    let sources: Vec<Source> = sets.iter().map(|s| Source::Set(values::SetKind::Typed, s.to_string())).collect();
    let prepared = prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options::default())
        .unwrap_or_else(|p| panic!("{p}"));
    let deployment = prepared.rendered.objects.iter().find_map(|o| match o {
        Object::Deployment(d) => Some(d.clone()),
        _ => None,
    });
    deployment.unwrap().spec.unwrap().template.spec.unwrap().containers[0].command.clone().unwrap()
}

/// The same, as the chart renders it under `helm`.
fn chart_command(helm: Helm, sets: &[&str]) -> Vec<String> {
    let chart = chart_dir().to_string_lossy().into_owned();
    let mut args =
        vec!["template", "mlflow", chart.as_str(), "-n", "mlflow", "--show-only", "templates/deployment.yaml"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let run = helm.run(args);
    run.assert_success();
    let deployment: serde_json::Value = serde_yaml::from_str(&run.stdout).unwrap();
    let command = &deployment["spec"]["template"]["spec"]["containers"][0]["command"];
    command.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

/// TLS merged into the user's server option renders alike: into uvicorn_opts, into gunicorn_opts
/// (as gunicorn's own options), or alone.
#[test]
fn tls_merges_into_the_users_server_option_alike() {
    let store = "mlflow.backendStoreUri=sqlite:////tmp/mlflow.db";
    let cases: [(&[&str], &str); 4] = [
        (&[store, "tls.enabled=true", "server.value_options.uvicorn_opts=--timeout-keep-alive 7"], "--uvicorn-opts=--timeout-keep-alive 7 --ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt"),
        (&[store, "tls.enabled=true", "server.value_options.gunicorn_opts=--timeout 60"], "--gunicorn-opts=--timeout 60 --keyfile=/etc/mlflow/tls/tls.key --certfile=/etc/mlflow/tls/tls.crt"),
        (&[store, "tls.enabled=true", "server.staticPrefix=/ml"], "--uvicorn-opts=--ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt"),
        (&[store, "server.value_options.uvicorn_opts=--timeout-keep-alive 7"], "--uvicorn-opts=--timeout-keep-alive 7"),
    ];
    for (sets, expected) in cases {
        let library = library_command(sets);
        assert_eq!(
            library.iter().filter(|a| a.ends_with("-opts") || a.contains("-opts=")).collect::<Vec<_>>(),
            [expected],
            "{sets:?}"
        );
        for helm in HELMS {
            assert_eq!(chart_command(helm, sets), library, "{helm:?} and the library differ on {sets:?}");
        }
    }
}
