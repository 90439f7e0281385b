//! The install command as a user runs it: rendering with --dry-run, and every kind of bad input
//! refused with exit code 2, a message naming the key or flag, and nothing on stdout.

use assert_cmd::Command;
use kubectl_mlflow_test_support::process::{assert_bad_input, offline_plugin};
use kubectl_mlflow_test_support::values::write_file;
use serde_json::Value;

fn install() -> Command {
    offline_plugin("kubectl-mlflow-install")
}

fn values_file(dir: &tempfile::TempDir, text: &str) -> String {
    write_file(dir.path(), &format!("values-{}.yaml", text.len()), text)
}

fn dry_run_json(args: &[&str]) -> Vec<Value> {
    let out = install().args(args).args(["--dry-run", "-o", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    list["items"].as_array().unwrap().clone()
}

fn find<'a>(items: &'a [Value], kind: &str) -> &'a Value {
    items.iter().find(|i| i["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn dry_run_without_flags_prints_the_quick_start() {
    let out = install().arg("--dry-run").output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no backend store given: using the quick start"), "{stderr}");
    let docs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .split("---\n")
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| serde_yaml::from_str(doc).unwrap())
        .collect();
    let name = |kind: &str| find(&docs, kind)["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(name("Deployment"), "mlflow-mlflow");
    assert_eq!(name("Service"), "mlflow-mlflow");
    assert_eq!(name("PersistentVolumeClaim"), "mlflow-mlflow");
    assert_eq!(find(&docs, "Service")["spec"]["ports"][0]["port"], 5000);
    let container = &find(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let command: Vec<&str> = container["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(&command[..4], ["mlflow", "server", "--host=0.0.0.0", "--port=5000"]);
    let env = container["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "MLFLOW_BACKEND_STORE_URI" && e["value"] == "sqlite:////mlflow/mlflow.db"));
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == "/mlflow"));
}

#[test]
fn json_output_is_a_list_and_the_namespace_flag_is_used() {
    let items = dry_run_json(&["tracking", "-n", "ml"]);
    let deployment = find(&items, "Deployment");
    assert_eq!(deployment["metadata"]["name"], "tracking-mlflow");
    assert_eq!(deployment["metadata"]["namespace"], "ml");
}

#[test]
fn the_namespace_comes_from_the_kubeconfig_context() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {}}]\ncontexts: [{name: a, context: {cluster: c, user: u, namespace: team-a}}, \
         {name: b, context: {cluster: c, user: u, namespace: team-b}}]\n",
    )
    .unwrap();
    let path = kubeconfig.display().to_string();
    let ns = |extra: &[&str]| {
        let items = dry_run_json(&[&["--kubeconfig", &path], extra].concat());
        find(&items, "Service")["metadata"]["namespace"].as_str().unwrap().to_string()
    };
    assert_eq!(ns(&[]), "team-a");
    assert_eq!(ns(&["--context", "b"]), "team-b");
    assert_eq!(ns(&["--context", "b", "-n", "x"]), "x");
}

#[test]
fn values_merge_in_helm_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = values_file(
        &dir,
        "replicaCount: 2\nstorage: {enabled: true, size: 1Gi}\nmlflow: {backendStoreUri: \"postgresql://db/m\"}\n",
    );
    let second = values_file(&dir, "replicaCount: 3\n");
    let items =
        dry_run_json(&["-f", &first, "-f", &second, "--set", "storage.size=5Gi", "--set-string", "podLabels.tier=1"]);
    assert_eq!(find(&items, "Deployment")["spec"]["replicas"], 3);
    assert_eq!(find(&items, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"], "5Gi");
    assert_eq!(find(&items, "Deployment")["spec"]["template"]["metadata"]["labels"]["tier"], "1");
}

#[test]
fn values_from_stdin() {
    let out = install()
        .args(["-f", "-", "--dry-run", "-o", "json"])
        .write_stdin("mlflow:\n  backendStoreUri: postgresql://db/mlflow\n  artifactsDestination: s3://bucket/mlflow\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!list["items"].as_array().unwrap().iter().any(|i| i["kind"] == "PersistentVolumeClaim"));
}

/// Runs with bad input and checks the contract: exit 2, nothing on stdout, each expected text on stderr.
fn refuses(args: &[&str], stdin: &str, expected: &[&str]) {
    let out = install().args(args).arg("--dry-run").write_stdin(stdin).output().unwrap();
    assert_bad_input(&out, &format!("args {args:?}"), expected);
}

#[test]
fn bad_yaml_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = values_file(&dir, "storage:\n  enabled: true\n size: 1Gi\n");
    refuses(&["-f", &file], "", &[&file, "line 3", "not valid YAML"]);
    refuses(&["-f", "-"], "a: [1, 2\n", &["<stdin>", "not valid YAML"]);
}

#[test]
fn a_missing_file_is_named() {
    refuses(&["-f", "/nonexistent/values.yaml"], "", &["/nonexistent/values.yaml: cannot read the file"]);
    refuses(
        &["--set-file", "auth.databaseUri=/nonexistent/uri"],
        "",
        &["--set-file auth.databaseUri=/nonexistent/uri", "cannot read /nonexistent/uri"],
    );
}

#[test]
fn unknown_keys_suggest_the_nearest() {
    let dir = tempfile::tempdir().unwrap();
    let file = values_file(&dir, "storage:\n  sizee: 1Gi\n");
    refuses(&["-f", &file], "", &[&format!("{file}: storage.sizee: unknown key (did you mean storage.size?)")]);
    refuses(&["--set", "replicas=2"], "", &["--set replicas=2: replicas: unknown key (did you mean replicaCount?)"]);
    refuses(
        &["--set", "ingress.hosts[0].hots=a"],
        "",
        &["ingress.hosts[0].hots: unknown key (did you mean ingress.hosts[0].host?)"],
    );
}

#[test]
fn misspelt_kubernetes_fields_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = values_file(&dir, "env:\n  - name: A\n    valueFromm: {secretKeyRef: {name: s, key: k}}\n");
    refuses(&["-f", &file], "", &["env[0].valueFromm: unknown field"]);
}

#[test]
fn wrong_types_and_enums_are_named() {
    refuses(&["--set", "replicaCount=two"], "", &["replicaCount: expected an integer, got string \"two\""]);
    refuses(&["--set", "tls.enabled=yes"], "", &["tls.enabled: expected a boolean"]);
    refuses(&["--set", "service.type=Cluster"], "", &["service.type", "is not one of"]);
    refuses(&["--set", "storage.accessMode=ReadWrite"], "", &["storage.accessMode", "is not one of"]);
    refuses(&["--set", "replicaCount=-1"], "", &["replicaCount", "minimum"]);
}

#[test]
fn bad_set_syntax_is_named() {
    refuses(&["--set", "a..b=1"], "", &["--set a..b=1", "empty key"]);
    refuses(&["--set", "storage.enabled"], "", &["--set storage.enabled", "has no value"]);
    refuses(&["--set", "ingress.hosts[x].host=a"], "", &["not a number"]);
    refuses(&["--set", "server.flag_options={a,b"], "", &["not closed"]);
}

#[test]
fn mlflow_combinations_it_refuses() {
    refuses(
        &[
            "--set",
            "mlflow.backendStoreUri=/mlflow/store",
            "--set",
            "server.flag_options={enable_workspaces}",
            "--set",
            "mlflow.defaultArtifactRoot=s3://b/p",
        ],
        "",
        &["server.flag_options: enable_workspaces needs a SQL backend store"],
    );
    refuses(
        &["--set", "mlflow.backendStoreUri=postgresql://db/m", "--set", "server.flag_options={enable_workspaces}"],
        "",
        &["mlflow.defaultArtifactRoot: enable_workspaces needs a default artifact root"],
    );
    refuses(
        &["--set", "garbageCollection.allWorkspaces=true"],
        "",
        &["garbageCollection.allWorkspaces: needs workspaces"],
    );
    refuses(
        &["--set", "server.value_options.app_name=basic-auth", "--set", "mlflow.backendStoreUri=postgresql://db/m"],
        "",
        &["auth.databaseUri: basic auth needs a database for its users"],
    );
    refuses(&["--set", "serviceMonitor.enabled=true"], "", &["serviceMonitor.enabled: needs metrics.enabled"]);
    refuses(
        &["--set", "tls.enabled=true", "--set", "tls.secretName="],
        "",
        &["tls.secretName: TLS is enabled but no Secret is named"],
    );
}

#[test]
fn strings_that_must_parse() {
    refuses(
        &["--set", "garbageCollection.enabled=true", "--set", "garbageCollection.schedule=0 2 * *"],
        "",
        &["garbageCollection.schedule: \"0 2 * *\" is not a cron schedule"],
    );
    refuses(
        &["--set", "garbageCollection.enabled=true", "--set", "garbageCollection.olderThan=30days"],
        "",
        &["garbageCollection.olderThan: \"30days\" is not a duration"],
    );
    refuses(&["--set", "storage.size=ten"], "", &["storage.size: \"ten\" is not a storage size"]);
    refuses(&["--set", "server.value_options.port=70000"], "", &["server.value_options.port: 70000 is not a port"]);
    refuses(&["--set", "fullnameOverride=Bad_Name"], "", &["fullnameOverride: \"Bad_Name\" is not a valid name"]);
    refuses(
        &["--set", "ingress.enabled=true", "--set", "ingress.hosts[0].host=Bad_Host"],
        "",
        &["ingress.hosts[0].host: \"Bad_Host\" is not a DNS host name"],
    );
    refuses(&["My_Release"], "", &["release name \"My_Release\" is not a valid release name"]);
}

#[test]
fn variables_the_chart_owns_are_refused_in_env() {
    refuses(
        &["--set", "env[0].name=MLFLOW_SERVER_ALLOWED_HOSTS", "--set", "env[0].value=*"],
        "",
        &["env[0].name: MLFLOW_SERVER_ALLOWED_HOSTS is set by the chart"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let out = install()
        .args([
            "--set",
            "storage.size=ten",
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "garbageCollection.allWorkspaces=true",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.matches("error: ").count(), 3, "{stderr}");
}

#[test]
fn bad_flags_are_usage_errors() {
    refuses(&["-o", "xml"], "", &["invalid value 'xml'"]);
    refuses(&["--no-such-flag"], "", &["--no-such-flag"]);
    refuses(&["--kubeconfig", "/nonexistent/kubeconfig"], "", &["--kubeconfig /nonexistent/kubeconfig"]);
}

#[test]
fn help_is_as_recorded() {
    let out = install().arg("--help").output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

/// Like `refuses`, without `--dry-run`: input problems found before any cluster is contacted.
fn refuses_install(args: &[&str], expected: &[&str]) {
    let out = install().args(args).output().unwrap();
    assert_bad_input(&out, &format!("args {args:?}"), expected);
}

#[test]
fn install_flags_are_checked_before_any_cluster_is_contacted() {
    refuses_install(&["--timeout", "5 minutes"], &["--timeout", "is not a duration"]);
    refuses_install(&["--helm-binary", "/usr/bin/helm"], &["--helm"]);
    refuses_install(&["--reuse-values", "--dry-run"], &["--reuse-values"]);
    refuses_install(&[], &["no kubeconfig found"]);
    refuses_install(
        &["--helm", "--helm-binary", "/nonexistent/helm"],
        &["--helm-binary /nonexistent/helm: not an executable"],
    );
}

/// What the API server would refuse in the rendered objects, refused before any cluster call:
/// each case gives `--set` arguments, the values path, and a piece of the fix.
const REFUSED_BY_THE_API_RULES: &[(&[&str], &str, &str)] = &[
    (&["resources.limits.memory=lots"], "resources.limits.memory: \"lots\" is not a quantity", "512Mi"),
    (&["resources.requests.memory=-1Gi"], "resources.requests.memory: \"-1Gi\" is negative", "use 0 or more"),
    (&["resources.requests.cpu=2", "resources.limits.cpu=1"], "resources.requests.cpu: the request is above the limit", "request at most the limit"),
    (&["resources.limits.gpu=1"], "resources.limits.gpu: \"gpu\" is not a resource name", "nvidia.com/gpu"),
    (&["env[0].value=x"], "env[0].name: no name", "every env entry needs one"),
    (&["env[0].name=1A", "env[0].value=x"], "env[0].name: \"1A\" is not a valid environment variable name", "not starting with a digit"),
    (&["env[0].name=A", "env[0].value=x", "env[1].name=A", "env[1].value=y"], "env[1].name: A is given twice", "keep one"),
    (&["env[0].name=A", "env[0].valueFrom.secretKeyRef.key=k"], "env[0].valueFrom.secretKeyRef.name: no Secret named", "set name"),
    (&["env[0].name=A", "env[0].valueFrom.configMapKeyRef.name=Bad_Map", "env[0].valueFrom.configMapKeyRef.key=k"], "env[0].valueFrom.configMapKeyRef.name: \"Bad_Map\" is not a valid ConfigMap name", "lowercase letters"),
    (&["env[0].name=A", "env[0].value=x", "env[0].valueFrom.fieldRef.fieldPath=metadata.name"], "env[0].valueFrom: value and valueFrom are both set", "keep one"),
    (&["deploymentStrategy.type=Rolling"], "deploymentStrategy.type: \"Rolling\" is not one of Recreate, RollingUpdate", "use one of them"),
    (&["deploymentStrategy.type=Recreate", "deploymentStrategy.rollingUpdate.maxSurge=1"], "deploymentStrategy.rollingUpdate: may not be set with type Recreate", "remove rollingUpdate"),
    (&["deploymentStrategy.type=RollingUpdate", "deploymentStrategy.rollingUpdate.maxSurge=0", "deploymentStrategy.rollingUpdate.maxUnavailable=0"], "deploymentStrategy.rollingUpdate.maxUnavailable: may not be 0 when maxSurge is 0", "above 0"),
    (&["storage.mountPath=/tmp"], "storage.mountPath: /tmp is mounted twice", "use another path"),
    (&["podSecurityContext.runAsUser=-1"], "podSecurityContext.runAsUser: -1 is not a user or group id", "10001"),
    (&["securityContext.runAsUser=-1"], "securityContext.runAsUser: -1 is not a user or group id", "10001"),
    (&["podSecurityContext.fsGroup=-2"], "podSecurityContext.fsGroup: -2 is not a user or group id", "0 to 2147483647"),
    (&["securityContext.privileged=true"], "securityContext.allowPrivilegeEscalation: cannot be false with privileged: true", "drop one"),
    (&["securityContext.seccompProfile.type=Custom"], "securityContext.seccompProfile.type: \"Custom\" is not one of", "use one of them"),
    (&["extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=/x"], "extraVolumeMounts[0].name: no volume \"x\" in the pod", "add it to the volumes"),
    (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.medium=", "extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=rel"], "extraVolumeMounts[0].mountPath: \"rel\" is not an absolute path", "e.g. /rel"),
    (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.medium=", "extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=/mlflow"], "extraVolumeMounts[0].mountPath: /mlflow is mounted twice", "use another path"),
    (&["extraVolumes[0].name=cache"], "extraVolumes[0]: no volume type", "emptyDir: {}"),
    (&["extraVolumes[0].name=tmp", "extraVolumes[0].emptyDir.medium="], "extraVolumes[0].name: volume \"tmp\" is defined twice", "rename one"),
    (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.sizeLimit=big"], "extraVolumes[0].emptyDir.sizeLimit: \"big\" is not a quantity", "2Gi"),
    (&["extraVolumes[0].name=x", "extraVolumes[0].secret.secretName=s", "extraVolumes[0].secret.defaultMode=1000"], "extraVolumes[0].secret.defaultMode: 1000 is not a file mode", "0440"),
    (&["extraContainers[0].name=side"], "extraContainers[0].image: no image", "set the container's image"),
    (&["extraContainers[0].name=mlflow", "extraContainers[0].image=busybox"], "extraContainers[0].name: container \"mlflow\" is defined twice", "rename one"),
    (&["extraContainers[0].name=Side", "extraContainers[0].image=busybox"], "extraContainers[0].name: \"Side\" is not a valid container name", "lowercase letters"),
    (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].ports[0].containerPort=70000"], "extraContainers[0].ports[0].containerPort: 70000 is not a port", "1 to 65535"),
    (&["extraInitContainers[0].name=init"], "extraInitContainers[0].image: no image", "set the container's image"),
    (&["tolerations[0].operator=Maybe"], "tolerations[0].operator: \"Maybe\" is not one of Equal, Exists", "use one of them"),
    (&["tolerations[0].key=k", "tolerations[0].effect=NoRun"], "tolerations[0].effect: \"NoRun\" is not one of", "use one of them"),
    (&["tolerations[0].key=k", "tolerations[0].operator=Exists", "tolerations[0].value=v"], "tolerations[0].value: must be empty with operator Exists", "remove the value"),
    (&["affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=0", "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=kubernetes.io/hostname"], "preferredDuringSchedulingIgnoredDuringExecution[0].weight: 0 is not a weight", "1 to 100"),
    (&["nodeSelector.bad key=x"], "nodeSelector.bad key: is not a valid label key", "at most 63"),
    (&["podLabels.tier=a b"], "podLabels.tier: \"a b\" is not a valid label value", "starting and ending with a letter or digit"),
    (&["podAnnotations.bad key=x"], "podAnnotations.bad key: is not a valid annotation key", "optionally after a DNS prefix"),
    (&["imagePullSecrets[0].name="], "imagePullSecrets[0].name: no name", "name the Secret"),
    (&["envFrom[0].prefix=X_"], "envFrom[0]: give exactly one of configMapRef and secretRef", "exactly one"),
    (&["storage.storageClassName=Fast_SSD"], "storage.storageClassName: \"Fast_SSD\" is not a valid StorageClass name", "StorageClass"),
    (&["networkPolicy.enabled=true", "networkPolicy.additionalEgressRules[0].to[0].ipBlock.cidr=10.0.0.0"], "networkPolicy.additionalEgressRules[0].to[0].ipBlock.cidr: \"10.0.0.0\" is not a CIDR", "10.0.0.0/8"),
    (&["namespace_rbac.extraRules[0].verbs={get}", "namespace_rbac.extraRules[0].nonResourceURLs={/metrics}"], "namespace_rbac.extraRules[0].nonResourceURLs: a namespaced Role cannot grant non-resource URLs", "use cluster_rbac"),
    (&["ingress.enabled=true", "ingress.hosts[0].host=mlflow.example.com", "ingress.hosts[0].paths[0].path=mlflow", "ingress.hosts[0].paths[0].pathType=Prefix"], "ingress.hosts[0].paths[0].path: \"mlflow\" must start with /", "e.g. /mlflow"),
    (&["garbageCollection.enabled=true", "garbageCollection.resources.limits.memory=much"], "garbageCollection.resources.limits.memory: \"much\" is not a quantity", "512Mi"),
    (&["fullnameOverride=1-mlflow"], "fullnameOverride: \"1-mlflow\" is not a valid name", "change the release name or fullnameOverride"),
];

#[test]
fn what_the_api_server_would_refuse_is_refused_first_with_the_values_path_and_the_fix() {
    assert!(REFUSED_BY_THE_API_RULES.len() >= 45);
    for (sets, path, fix) in REFUSED_BY_THE_API_RULES {
        let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
        refuses(&args, "", &[path, fix]);
    }
}

/// Without --dry-run, against an API server that does not exist: refused before any call.
#[test]
fn bad_fragments_are_refused_before_any_cluster_call() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {}}]\ncontexts: [{name: a, context: {cluster: c, user: u, namespace: ns}}]\n",
    )
    .unwrap();
    let path = kubeconfig.display().to_string();
    for (sets, expected, _) in &REFUSED_BY_THE_API_RULES[..5] {
        let mut args = vec!["--kubeconfig", path.as_str()];
        args.extend(sets.iter().flat_map(|s| ["--set", *s]));
        let out = install().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected) && !stderr.contains("cannot reach"), "{stderr}");
    }
}
