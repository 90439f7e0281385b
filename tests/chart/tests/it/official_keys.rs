//! Every value key of the official MLflow chart (tests/values/official-chart-keys.txt) is a key of
//! ours: set to the official default, and where that default is empty or false to a sample of the
//! same type that switches it on, it passes our schema and validation, and both renderings render
//! it (the native renderer, and the chart under helm 4.1). A key ours deliberately refuses or
//! means otherwise would go to `DIFFERENT`, with the reason.

use kubectl_mlflow_model::{render, validate, values, yaml, Release};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::repo_root;
use kubectl_mlflow_test_support::values::temp_values_file;
use serde_json::{Map, Value};

/// Keys of the official chart that ours refuses or means otherwise, with the reason. None today.
const DIFFERENT: &[(&str, &str)] = &[];

/// What every case starts from: a store that needs no volume.
const BASE: &str =
    "mlflow: {backendStoreUri: \"postgresql://u@db:5432/mlflow\", artifactsDestination: \"s3://bucket/mlflow\"}";

/// What replaces a key of `BASE` that a case empties: the store given the other way.
const INSTEAD: &[(&str, &str)] = &[
    ("mlflow.backendStoreUri", "mlflow: {backendStoreUriFrom: {secretKeyRef: {name: db, key: uri}}}"),
    ("mlflow.artifactsDestination", "mlflow: {defaultArtifactRoot: \"s3://bucket/runs\"}"),
];

/// For each key whose official default is empty or false: values that set it (with what it
/// needs to be valid), merged over `BASE`.
const SAMPLES: &[(&str, &str)] = &[
    ("image.tag", "image: {tag: v3.17.2-full}"),
    ("imagePullSecrets", "imagePullSecrets: [{name: regcred}]"),
    ("fullnameOverride", "fullnameOverride: tracking"),
    ("deploymentStrategy", "deploymentStrategy: {type: Recreate}"),
    ("server.flag_options", "server: {flag_options: [serve_artifacts]}"),
    ("server.staticPrefix", "server: {staticPrefix: /mlflow}"),
    ("garbageCollection.enabled", "garbageCollection: {enabled: true}"),
    (
        "garbageCollection.allWorkspaces",
        "{garbageCollection: {enabled: true, allWorkspaces: true}, server: {flag_options: [enable_workspaces]}, mlflow: {defaultArtifactRoot: \"s3://bucket/runs\"}}",
    ),
    ("garbageCollection.extraVolumes", "garbageCollection: {enabled: true, extraVolumes: [{name: ca, configMap: {name: ca}}]}"),
    (
        "garbageCollection.extraVolumeMounts",
        "garbageCollection: {enabled: true, extraVolumes: [{name: ca, configMap: {name: ca}}], extraVolumeMounts: [{name: ca, mountPath: /ca}]}",
    ),
    ("service.annotations", "service: {annotations: {example.com/team: ml}}"),
    ("ingress.enabled", "ingress: {enabled: true}"),
    ("ingress.className", "ingress: {enabled: true, className: nginx}"),
    ("ingress.annotations", "ingress: {enabled: true, annotations: {nginx.ingress.kubernetes.io/proxy-body-size: \"0\"}}"),
    ("ingress.tls", "ingress: {enabled: true, tls: [{hosts: [mlflow.local], secretName: mlflow-ingress-tls}]}"),
    ("mlflow.backendStoreUri", "mlflow: {backendStoreUri: \"postgresql://u:p@other:5432/mlflow\"}"),
    ("mlflow.backendStoreUriFrom", "mlflow: {backendStoreUri: \"\", backendStoreUriFrom: {secretKeyRef: {name: db, key: uri}}}"),
    ("mlflow.registryStoreUri", "mlflow: {registryStoreUri: \"postgresql://u@db:5432/registry\"}"),
    ("mlflow.registryStoreUriFrom", "mlflow: {registryStoreUriFrom: {secretKeyRef: {name: registry, key: uri}}}"),
    ("mlflow.defaultArtifactRoot", "mlflow: {defaultArtifactRoot: \"s3://bucket/runs\"}"),
    ("mlflow.artifactsDestination", "mlflow: {artifactsDestination: \"gs://bucket/mlflow\"}"),
    ("env", "env: [{name: EXTRA, value: \"1\"}]"),
    ("envFrom", "envFrom: [{secretRef: {name: extra}}]"),
    ("extraVolumes", "extraVolumes: [{name: data, emptyDir: {}}]"),
    ("extraVolumeMounts", "{extraVolumes: [{name: data, emptyDir: {}}], extraVolumeMounts: [{name: data, mountPath: /data}]}"),
    ("extraInitContainers", "extraInitContainers: [{name: init, image: busybox, command: [\"true\"]}]"),
    ("extraContainers", "extraContainers: [{name: sidecar, image: busybox}]"),
    ("tls.enabled", "tls: {enabled: true}"),
    (
        "externalSecrets.enabled",
        "externalSecrets: {enabled: true, provider: {vault: {server: \"https://vault:8200\"}}, data: [{secretKey: uri, remoteRef: {key: mlflow/db}}]}",
    ),
    ("externalSecrets.provider", "externalSecrets: {provider: {gcpsm: {projectID: p}}}"),
    ("externalSecrets.secretName", "externalSecrets: {secretName: mlflow-db}"),
    ("externalSecrets.template", "externalSecrets: {template: {engineVersion: v2, data: {uri: \"{{ .uri }}\"}}}"),
    ("externalSecrets.data", "externalSecrets: {data: [{secretKey: uri, remoteRef: {key: mlflow/db}}]}"),
    ("networkPolicy.enabled", "networkPolicy: {enabled: true}"),
    (
        "networkPolicy.additionalEgressRules",
        "networkPolicy: {enabled: true, additionalEgressRules: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 8200, protocol: TCP}]}]}",
    ),
    ("metrics.enabled", "metrics: {enabled: true}"),
    ("serviceMonitor.enabled", "{serviceMonitor: {enabled: true}, metrics: {enabled: true}}"),
    ("serviceMonitor.tlsConfig", "{serviceMonitor: {enabled: true, tlsConfig: {insecureSkipVerify: true}}, metrics: {enabled: true}, tls: {enabled: true}}"),
    ("securityContext.allowPrivilegeEscalation", "securityContext: {allowPrivilegeEscalation: true}"),
    ("serviceAccount.name", "serviceAccount: {name: mlflow-sa}"),
    ("serviceAccount.annotations", "serviceAccount: {annotations: {eks.amazonaws.com/role-arn: \"arn:aws:iam::123456789012:role/mlflow\"}}"),
    ("serviceAccount.automountServiceAccountToken", "serviceAccount: {automountServiceAccountToken: true}"),
    ("namespace_rbac.extraRules", "namespace_rbac: {extraRules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]}"),
    ("cluster_rbac.extraRules", "cluster_rbac: {extraRules: [{apiGroups: [\"\"], resources: [nodes], verbs: [get]}]}"),
    ("storage.enabled", "storage: {enabled: true}"),
    ("storage.storageClassName", "storage: {enabled: true, storageClassName: standard}"),
    ("resources", "resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: 500m, memory: 512Mi}}"),
    ("podAnnotations", "podAnnotations: {prometheus.io/scrape: \"true\"}"),
    ("podLabels", "podLabels: {team: ml}"),
    ("nodeSelector", "nodeSelector: {kubernetes.io/os: linux}"),
    ("tolerations", "tolerations: [{key: dedicated, operator: Equal, value: ml, effect: NoSchedule}]"),
    (
        "affinity",
        "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}}}",
    ),
];

/// `(path, official default)` of every line of the key list.
fn official_keys() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(repo_root().join("tests/values/official-chart-keys.txt")).expect("the key list");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (path, default) = line.split_once('\t').unwrap_or_else(|| panic!("no tab in {line:?}"));
            (
                path.to_string(),
                serde_json::from_str(default).unwrap_or_else(|e| panic!("{path}: default is not JSON ({e})")),
            )
        })
        .collect()
}

fn is_empty_or_false(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// `over` merged into `base`, maps key by key.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// The values document that sets `path` (dotted) to `value`.
fn at_path(path: &str, value: &Value) -> Value {
    path.rsplit('.').fold(value.clone(), |inner, key| Value::Object(Map::from_iter([(key.to_string(), inner)])))
}

/// Problems of the native side (schema, validation) with `doc`, or none once it rendered.
fn native_problems(doc: &Value) -> Option<String> {
    let (_, values) = match values::resolve(doc) {
        Ok(resolved) => resolved,
        Err(problems) => return Some(problems.to_string()),
    };
    let valid = match validate::validated(values) {
        Ok(valid) => valid,
        Err(problems) => return Some(problems.to_string()),
    };
    let rendered = render(&valid, &Release { name: "mlflow".into(), namespace: "mlflow".into() });
    rendered.objects.is_empty().then(|| "rendered no object".into())
}

/// helm 4.1's error with `doc`, or none once the chart rendered.
fn chart_problems(doc: &Value) -> Option<String> {
    let file = temp_values_file(&serde_json::to_string(doc).expect("JSON"));
    let path = file.path().to_string_lossy().into_owned();
    let run = Helm::V4.template(&["-f", path.as_str()]);
    (!run.success).then_some(run.stderr)
}

#[test]
fn every_key_of_the_official_chart_is_accepted_and_renders() {
    let keys = official_keys();
    assert!(keys.len() >= 90, "the key list holds only {} keys", keys.len());
    let base: Value = yaml::parse(BASE).expect("base values");
    let mut failures = Vec::new();
    let mut cases = 0;
    for (path, default) in &keys {
        if DIFFERENT.iter().any(|(key, _)| key == path) {
            continue;
        }
        let mut docs = vec![("the official default", at_path(path, default))];
        if is_empty_or_false(default) {
            let (_, sample) = SAMPLES
                .iter()
                .find(|(key, _)| key == path)
                .unwrap_or_else(|| panic!("no sample for {path}, whose official default is {default}"));
            docs.push(("a sample", yaml::parse(sample).unwrap_or_else(|e| panic!("sample of {path}: {e}"))));
        }
        for (what, over) in docs {
            let mut doc = base.clone();
            if let Some((_, instead)) = INSTEAD.iter().find(|(key, _)| key == path) {
                merge(&mut doc, &yaml::parse(instead).expect("replacement values"));
            }
            merge(&mut doc, &over);
            cases += 1;
            for (side, problem) in [("ours", native_problems(&doc)), ("the chart", chart_problems(&doc))] {
                if let Some(problem) = problem {
                    failures.push(format!("{path} ({what}: {over}) refused by {side}:\n{problem}"));
                }
            }
        }
    }
    assert!(cases > keys.len(), "only {cases} cases");
    assert!(failures.is_empty(), "{} of the official chart's keys fail:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn every_sample_and_exception_names_an_official_key() {
    let keys: Vec<String> = official_keys().into_iter().map(|(path, _)| path).collect();
    for (path, _) in SAMPLES.iter().chain(DIFFERENT).chain(INSTEAD) {
        assert!(keys.iter().any(|k| k == path), "{path} is not in tests/values/official-chart-keys.txt");
    }
}
