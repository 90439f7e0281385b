//! The chart's template-time checks against the library's: for each case both refuse with the
//! same lines, in the same order, under helm 3.17 and helm 4.1 (or both accept).

use kubectl_mlflow_model::{validate, values, yaml};
use kubectl_mlflow_test_support::helm::HELMS;
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

/// The chart's `fail` lines for `yaml` under each helm (empty when it renders).
fn chart_lines(yaml: &str) -> Vec<Vec<String>> {
    let file = temp_values_file(yaml);
    let path = file.path().to_string_lossy().into_owned();
    HELMS
        .iter()
        .map(|helm| {
            let run = helm.template(&["-f", path.as_str()]);
            if run.success {
                return Vec::new();
            }
            let lines = run.fail_lines();
            assert!(!lines.is_empty(), "{} failed without a chart message:\n{}", run.command, run.stderr);
            lines
        })
        .collect()
}

/// Asserts that chart and library agree on every case, and that each case's lines contain
/// `expected` (a case with "" expects acceptance).
pub fn assert_same_refusals(cases: &[(&str, &str)]) {
    for (yaml, expected) in cases {
        let library = library_lines(yaml);
        for (helm, chart) in HELMS.iter().zip(chart_lines(yaml)) {
            assert_eq!(chart, library, "{helm:?} and the library differ on:\n{yaml}");
        }
        if expected.is_empty() {
            assert!(library.is_empty(), "refused:\n{yaml}\n{library:#?}");
        } else {
            assert!(library.iter().any(|l| l.contains(expected)), "no line has {expected:?}:\n{yaml}\n{library:#?}");
        }
    }
}

const SLIM: &str = "image:\n  tag: v3.17.2\n";
const SQLITE: &str = "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/mlflow.db\n";

#[test]
fn the_slim_image_is_refused_for_values_that_need_an_extra() {
    let postgres_s3 =
        "mlflow:\n  backendStoreUri: postgresql://u:p@db:5432/mlflow\n  artifactsDestination: s3://bucket/mlflow\n";
    let everything = "mlflow:\n  backendStoreUri: postgresql+psycopg://u@db/m\n  registryStoreUri: MySQL+PyMySQL://u@db/r\n  defaultArtifactRoot: gs://b/p\n  artifactsDestination: wasbs://c@a.blob.core.windows.net/p\nserver:\n  value_options:\n    app_name: basic-auth\nauth:\n  databaseUri: mssql://u@db/auth\nmetrics:\n  enabled: true\n";
    let cases = [
        (format!("{SLIM}{postgres_s3}"), "mlflow.backendStoreUri: the postgresql store needs the Python module psycopg2, which the image ghcr.io/mlflow/mlflow:v3.17.2 lacks (set image.tag to v3.17.2-full"),
        (format!("{SLIM}{postgres_s3}"), "mlflow.artifactsDestination: the s3:// artifact store needs the Python module boto3"),
        (format!("{SLIM}{everything}"), "mlflow.registryStoreUri: the mysql store needs the Python module pymysql"),
        (format!("{SLIM}{everything}"), "auth.databaseUri: the mssql store needs the Python module pyodbc"),
        (format!("{SLIM}{everything}"), "server.value_options.app_name: basic auth (server.value_options.app_name: basic-auth) needs the Python module flask_wtf"),
        (format!("{SLIM}{everything}"), "metrics.enabled: metrics (--expose-prometheus) needs the Python module prometheus_flask_exporter"),
        (format!("{SLIM}{everything}"), "mlflow.defaultArtifactRoot: the gs:// artifact store needs the Python module google.cloud.storage"),
        (format!("{SLIM}{everything}"), "mlflow.artifactsDestination: the wasbs:// artifact store needs the Python module azure.storage.blob"),
        ("image:\n  tag: latest\nmlflow:\n  artifactsDestination: abfss://c@a.dfs.core.windows.net/p\n  backendStoreUri: /mlflow/store\nstorage:\n  enabled: true\n".into(), "the abfss:// artifact store needs the Python module azure.storage.filedatalake, which the image ghcr.io/mlflow/mlflow:latest lacks (set image.tag to latest-full"),
        // What needs no extra, the -full tags and other repositories pass.
        (format!("{SLIM}{SQLITE}"), ""),
        (postgres_s3.to_string(), ""),
        (format!("image:\n  tag: latest-full\n{everything}"), ""),
        (format!("image:\n  repository: registry.example.com/mlflow\n  tag: v3.17.2\n{everything}"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), *e)).collect();
    assert_same_refusals(&cases);
}

#[test]
fn local_stores_must_be_on_a_writable_volume_and_sqlite_has_one_writer() {
    let mount =
        "extraVolumes:\n  - name: data\n    emptyDir: {}\nextraVolumeMounts:\n  - name: data\n    mountPath: /data/\n";
    let read_only = "extraVolumes:\n  - name: data\n    emptyDir: {}\nextraVolumeMounts:\n  - name: data\n    mountPath: /data\n    readOnly: true\n";
    let auth = "server:\n  value_options:\n    app_name: basic-auth\n";
    let cases = [
        ("storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////data/mlflow.db\n".to_string(), "mlflow.backendStoreUri: \"sqlite:////data/mlflow.db\": /data/mlflow.db is on no writable volume"),
        ("storage:\n  enabled: true\nmlflow:\n  backendStoreUri: mlruns\n".into(), "\"mlruns\" is a relative path"),
        ("mlflow:\n  backendStoreUri: FILE:///srv/mlruns\n  artifactsDestination: s3://b/a\n".into(), "(set storage.enabled: true and put it under storage.mountPath"),
        ("storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/m.db\n  registryStoreUri: sqlite+pysqlite:////mlflowx/r.db?timeout=5\n".into(), "mlflow.registryStoreUri: \"sqlite+pysqlite:////mlflowx/r.db?timeout=5\": /mlflowx/r.db is on no writable volume"),
        ("storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/m.db\n  artifactsDestination: file:artifacts\n".into(), "mlflow.artifactsDestination: \"file:artifacts\": \"artifacts\" is a relative path"),
        ("mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s4://key:hunter2@host/x\n".into(), "mlflow.artifactsDestination: \"s4://key:***@host/x\": MLflow has no artifact store for the scheme \"s4\""),
        (format!("{auth}mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\nauth:\n  databaseUri: sqlite:////auth/users.db\n"), "auth.databaseUri: \"sqlite:////auth/users.db\": /auth/users.db is on no writable volume"),
        (format!("{read_only}mlflow:\n  backendStoreUri: sqlite:////data/m.db\n  artifactsDestination: s3://b/a\n"), "/data/m.db is on no writable volume"),
        ("replicaCount: 2\nstorage:\n  enabled: true\n  accessMode: ReadWriteMany\nmlflow:\n  backendStoreUri: sqlite:////mlflow/m.db\n".into(), "replicaCount: 2 replicas cannot share the SQLite database of mlflow.backendStoreUri"),
        (format!("{auth}replicaCount: 3\nstorage:\n  enabled: true\n  accessMode: ReadWriteMany\nmlflow:\n  backendStoreUri: postgresql://u@db/m\n"), "replicaCount: 3 replicas cannot share the SQLite database of auth.databaseUri"),
        // Writable places pass.
        (format!("{mount}mlflow:\n  backendStoreUri: sqlite:////data/m.db\n  artifactsDestination: /data/artifacts\n"), ""),
        ("storage:\n  enabled: true\n  mountPath: /store/\nmlflow:\n  backendStoreUri: file:///store/mlruns\n".into(), ""),
        (format!("{auth}storage:\n  enabled: true\nmlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: mlflow-artifacts:/x\n"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), *e)).collect();
    assert_same_refusals(&cases);
}

/// An Ingress with no rule (and no default backend, which the chart does not render) is invalid.
#[test]
fn an_enabled_ingress_needs_a_host() {
    let cases = [
        (format!("{SQLITE}ingress:\n  enabled: true\n  hosts: null\n"), "ingress.hosts: an enabled Ingress needs at least one host (e.g. --set ingress.hosts[0].host=mlflow.example.com), or set ingress.enabled=false"),
        (format!("{SQLITE}ingress:\n  enabled: true\n  hosts: []\n"), "ingress.hosts: an enabled Ingress needs at least one host"),
        (format!("{SQLITE}ingress:\n  enabled: true\n"), ""),
        (format!("{SQLITE}ingress:\n  enabled: false\n  hosts: []\n"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), *e)).collect();
    assert_same_refusals(&cases);
}

#[test]
fn external_secrets_that_can_never_work_are_refused_alike() {
    let store = "mlflow:\n  backendStoreUriFrom:\n    secretKeyRef: {name: mlflow-db, key: uri}\n  artifactsDestination: s3://b/a\n";
    let provider = "  provider: {aws: {service: SecretsManager, region: eu-west-1}}\n";
    let data = "  data: [{secretKey: uri, remoteRef: {key: mlflow/db}}]\n";
    let cases = [
        (format!("{store}externalSecrets:\n  enabled: true\n"), "externalSecrets.provider: no provider is set"),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}"), "externalSecrets.data: nothing to fetch"),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  apiVersion: external-secrets.io\n"), "externalSecrets.apiVersion: \"external-secrets.io\" is not an External Secrets API version"),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  apiVersion: v1\n"), "is not an External Secrets API version"),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  refreshInterval: 1 hour\n"), "externalSecrets.refreshInterval: \"1 hour\" is not a duration"),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  refreshInterval: .5h\n"), "is not a duration"),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  secretName: MLflow_DB\n"), "externalSecrets.secretName: \"MLflow_DB\" is not a valid Secret name"),
        // What the operator takes passes; nothing is checked while it is off.
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  apiVersion: external-secrets.io/v1beta1\n  refreshInterval: 1h30m\n  secretName: mlflow-db\n"), ""),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  refreshInterval: \"0\"\n"), ""),
        (format!("{store}externalSecrets:\n  enabled: true\n{provider}{data}  refreshInterval: 1.5h\n"), ""),
        (format!("{store}externalSecrets:\n  enabled: false\n  apiVersion: nonsense\n  refreshInterval: soon\n"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), *e)).collect();
    assert_same_refusals(&cases);
}

/// The autoscaler needs a target it can measure, bounds in order, more than one node's worth of
/// storage and no SQLite, and a disruption budget that lets a drain evict a pod at the minimum.
#[test]
fn autoscaling_refusals() {
    let store = "mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\n";
    let requests = "resources:\n  requests:\n    cpu: 100m\n    memory: 256Mi\n";
    let on = "autoscaling:\n  enabled: true\n";
    let cases = [
        (format!("{store}{requests}{on}  minReplicas: 4\n  maxReplicas: 3\n"), "autoscaling.minReplicas: 4 is above autoscaling.maxReplicas 3 (lower it, or raise maxReplicas)"),
        (format!("{store}{requests}{on}  targetCPUUtilizationPercentage: null\n"), "autoscaling.targetCPUUtilizationPercentage: the autoscaler needs a target (set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage)"),
        (format!("{store}resources:\n  requests:\n    memory: null\n{on}  targetMemoryUtilizationPercentage: 80\n"), "autoscaling.targetMemoryUtilizationPercentage: utilization is measured against resources.requests.memory, which is not set (set it, or targetMemoryUtilizationPercentage: null)"),
        (format!("{store}resources: null\n{on}"), "autoscaling.targetCPUUtilizationPercentage: utilization is measured against resources.requests.cpu"),
        (format!("{requests}{on}storage:\n  enabled: true\nmlflow:\n  backendStoreUri: postgresql://u@db/m\n"), "autoscaling.enabled: the server pods would share the ReadWriteOnce volume of storage, which pods on other nodes cannot mount (storage.accessMode: ReadWriteMany, or autoscaling.enabled: false)"),
        (format!("{requests}{on}storage:\n  enabled: true\n  accessMode: ReadWriteMany\nmlflow:\n  backendStoreUri: sqlite:////mlflow/m.db\n"), "autoscaling.enabled: up to 5 replicas cannot share the SQLite database of mlflow.backendStoreUri: SQLite has one writer (set autoscaling.enabled: false, or use a PostgreSQL, MySQL or MSSQL database)"),
        (format!("{requests}{on}mlflow:\n  backendStoreUri: postgresql://u@db/m\n"), "autoscaling.enabled: up to 5 replicas would each keep their own /tmp/mlartifacts"),
        (format!("{store}{requests}{on}podDisruptionBudget:\n  minAvailable: 2\n"), "autoscaling.minReplicas: at 2 replicas the PodDisruptionBudget (minAvailable: 2) lets no pod be evicted, so node drains would wait forever (raise autoscaling.minReplicas, or lower podDisruptionBudget.minAvailable)"),
        (format!("{store}{requests}{on}  minReplicas: 3\npodDisruptionBudget:\n  minAvailable: \"70%\"\n"), "autoscaling.minReplicas: at 3 replicas the PodDisruptionBudget (minAvailable: \"70%\") lets no pod be evicted"),
        (format!("{store}{requests}{on}podDisruptionBudget:\n  maxUnavailable: 0\n"), "(maxUnavailable: 0) lets no pod be evicted, so node drains would wait forever (set podDisruptionBudget.maxUnavailable to 1 or more)"),
        // What the autoscaler can run passes.
        (format!("{store}{requests}{on}"), ""),
        (format!("{store}{requests}{on}  minReplicas: 3\npodDisruptionBudget:\n  minAvailable: \"60%\"\n"), ""),
        (format!("{store}{requests}{on}  minReplicas: 1\n  maxReplicas: 1\nstorage:\n  enabled: true\n  accessMode: ReadWriteMany\n"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), *e)).collect();
    assert_same_refusals(&cases);
}

/// `autoscaling.behavior` is passed through, but a key the API type lacks (a misspelt one) is
/// refused by the chart's schema under both helms as by the library, not rendered by one and
/// refused by the other.
#[test]
fn a_misspelt_autoscaling_behavior_key_is_refused_alike() {
    let values = "mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\n\
        autoscaling:\n  enabled: true\n  behavior:\n    scaleDown:\n      stabilizationWindowSecond: 15\n";
    assert_eq!(
        library_lines(values),
        ["autoscaling.behavior.scaleDown.stabilizationWindowSecond: unknown key (did you mean autoscaling.behavior.scaleDown.stabilizationWindowSeconds?)"]
    );
    let file = temp_values_file(values);
    let path = file.path().to_string_lossy().into_owned();
    for helm in HELMS {
        let run = helm.template(&["-f", path.as_str()]);
        run.assert_failure();
        assert!(
            run.stderr.contains("stabilizationWindowSecond"),
            "{} does not name the key:\n{}",
            run.command,
            run.stderr
        );
    }
    let policies =
        values.replace("stabilizationWindowSecond: 15", "policies: [{type: Pods, value: 1, periodSecond: 60}]");
    let lines = library_lines(&policies);
    assert!(
        lines.iter().any(|l| l.starts_with("autoscaling.behavior.scaleDown.policies[0].periodSecond: unknown key")),
        "{lines:?}"
    );
    let spelt = values.replace("stabilizationWindowSecond:", "stabilizationWindowSeconds:");
    assert_eq!(library_lines(&spelt), Vec::<String>::new());
}

/// The auth database's URI from a Secret, the server's /tmp and the migration Job's wait.
#[test]
fn auth_database_from_a_secret_tmp_and_the_wait() {
    let store = "mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\n";
    let auth = "server:\n  value_options:\n    app_name: basic-auth\n";
    let from = "auth:\n  databaseUriFrom:\n    secretKeyRef: {name: auth-db, key: uri}\n";
    let cases = [
        (format!("{store}{auth}{from}  databaseUri: postgresql://u@db/auth\n"), "auth.databaseUriFrom: may not be set with auth.databaseUri (keep one of them)"),
        (format!("{store}{auth}{from}"), ""),
        // Found by the generative parity test: the chart rendered a user database that is no URL.
        (format!("{store}{auth}auth:\n  databaseUri: u:hunter2@db/m\n"), "auth.databaseUri: \"u:***@db/m\": not a database URL (use DIALECT://"),
        (format!("{store}{auth}auth:\n  databaseUri: a b\n"), "auth.databaseUri: \"a b\": not a database URL"),
        // Without basic auth the reference is unused, like databaseUri.
        (format!("{store}{from}  databaseUri: postgresql://u@db/auth\n"), ""),
        (format!("{store}tmp:\n  sizeLimit: 2GB\n"), "tmp.sizeLimit: \"2GB\" is not a size (use a Kubernetes quantity, e.g. 2Gi)"),
        (format!("{store}tmp:\n  ephemeral:\n    size: big\n"), "tmp.ephemeral.size: \"big\" is not a size (use a Kubernetes quantity, e.g. 20Gi)"),
        (format!("{store}tmp:\n  sizeLimit: 1Gi\n  ephemeral:\n    size: 20Gi\n"), "tmp.ephemeral.size: an ephemeral volume replaces the emptyDir: it may not be set with tmp.sizeLimit or tmp.medium (keep one of them)"),
        (format!("{store}tmp:\n  ephemeral:\n    storageClassName: fast\n"), "tmp.ephemeral.storageClassName: names the class of an ephemeral volume, which needs a size (set tmp.ephemeral.size, e.g. 20Gi)"),
        (format!("{store}tmp:\n  sizeLimit: 512Mi\n  medium: Memory\n"), ""),
        (format!("{store}tmp:\n  ephemeral:\n    size: 20Gi\n    storageClassName: fast\n"), ""),
        (format!("{store}migrations:\n  waitTimeout: 5 minutes\n"), "migrations.waitTimeout: \"5 minutes\" is not a duration (e.g. 4m, 90s or 1h30m; 0 not to wait)"),
        (format!("{store}migrations:\n  waitTimeout: \"\"\n"), "migrations.waitTimeout: \"\" is not a duration"),
        // Found by the generative parity test: an env entry without a name was rendered by both.
        (format!("{store}env:\n  - value: no name\n"), "env[0].name: no name (every env entry needs one)"),
        (format!("{store}migrations:\n  waitTimeout: 1.5m\n"), ""),
        (format!("{store}migrations:\n  waitTimeout: 1h30m\n"), ""),
        (format!("{store}migrations:\n  waitTimeout: \"0\"\n"), ""),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), *e)).collect();
    assert_same_refusals(&cases);
}

/// Extra objects given as maps need apiVersion, kind and metadata.name (strings are checked once
/// templated: natively by `prepare`, by helm when it parses the manifest).
#[test]
fn extra_objects_given_as_maps() {
    let store = "mlflow:\n  backendStoreUri: postgresql://u@db/m\n  artifactsDestination: s3://b/a\n";
    let needs = "(an extra object needs apiVersion, kind and metadata.name, each a string)";
    let cases = [
        (format!("{store}extraObjects:\n  - {{kind: ConfigMap, metadata: {{name: x}}}}\n"), format!("extraObjects[0]: no apiVersion {needs}")),
        (format!("{store}extraObjects:\n  - {{apiVersion: v1, metadata: {{name: 3}}}}\n"), format!("extraObjects[0]: no kind {needs}")),
        (format!("{store}extraObjects:\n  - {{apiVersion: v1, kind: ConfigMap, metadata: {{name: 3}}}}\n"), format!("extraObjects[0]: no metadata.name {needs}")),
        (format!("{store}extraObjects:\n  - {{apiVersion: v1, kind: ConfigMap, metadata: {{name: ok}}}}\n  - {{data: {{}}}}\n"), format!("extraObjects[1]: no metadata.name {needs}")),
        (format!("{store}extraObjects:\n  - {{apiVersion: v1, kind: ConfigMap, metadata: {{name: ok}}}}\n  - \"{{apiVersion: v1, kind: ConfigMap, metadata: {{name: {{{{ .Release.Name }}}}-x}}}}\"\n"), String::new()),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(y, e)| (y.as_str(), e.as_str())).collect();
    assert_same_refusals(&cases);
}
