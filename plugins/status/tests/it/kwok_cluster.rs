//! `kubectl mlflow status` against the test cluster (`scripts/test-cluster up`): releases of the
//! native engine, of helm with this chart and of an official-like chart; verdicts and exit codes
//! from pod states the test sets on a node it holds (it plays that node's kubelet); bad input,
//! a release mid-install, missing permissions; the `-o json` document; `--watch`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod, Secret};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::assert_refused_in_one_line;
use kubectl_mlflow_test_support::{
    cluster, plugin_bin, poll_until, repo_root, write_cri_log, ScriptedNode, TestNamespace,
};
use serde_json::{json, Value};

use crate::helpers::{
    assert_code, assert_never_shown, assert_ok, kubeconfig, plugin, plugin_with, status, status_json, stdout, text,
};

fn install(ns: &TestNamespace, args: &[&str]) {
    assert_ok(&plugin("kubectl-mlflow-install", ns.name(), &[&["--timeout", "3m"], args].concat()));
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_native_quick_start_is_healthy_and_its_document_has_every_field() {
    let ns = cluster().namespace("status-native").await;
    install(&ns, &[]);
    let out = status(&ns, &[]);
    assert_ok(&out);
    let screen = stdout(&out);
    for line in [
        "Verdict    Healthy",
        &format!("Release    mlflow in namespace {} · native (ApplySet applyset-", ns.name()),
        "applied by kubectl-mlflow/v0.1.0)",
        "MLflow 3.17.2 · image ghcr.io/mlflow/mlflow:v3.17.2-full",
        "Deployment/mlflow-mlflow: 1 of 1 replicas available",
        "backend    SQLite database /mlflow/mlflow.db (in the pod spec)",
        "registry   the backend store",
        "artifacts  /mlflow/artifacts (proxied by the server)",
        "Volume     mlflow-mlflow (10Gi): usage unknown (",
        "GC         no CronJob (garbageCollection.enabled is off)",
        "Auth       basic auth off",
        &format!("URLs       http://mlflow-mlflow.{}.svc.cluster.local:5000/ (in the cluster)", ns.name()),
    ] {
        assert!(screen.contains(line), "{line:?} not in:\n{screen}");
    }
    // KWOK runs no containers: nothing to exec into for the schema
    assert!(screen.contains("Schema     unknown ("), "{screen}");

    let (code, doc) = status_json(&ns, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_document_shape(&doc);
    assert_eq!(doc["verdict"], json!({"state": "Healthy", "reasons": []}));
    assert_eq!(doc["release"]["engine"], "native");
    assert_eq!(
        doc["stores"]["backend"]["described"],
        json!({"kind": "sqlite", "host": null, "port": null, "database": "/mlflow/mlflow.db"})
    );
    assert_eq!(doc["server"]["pods"].as_array().unwrap().len(), 1);
    assert_eq!(doc["server"]["pods"][0]["node"], kubectl_mlflow_test_support::NODE_NAME);
    assert_eq!(doc["volumes"][0]["claim"], "mlflow-mlflow");
    assert_eq!(doc["schema"]["state"], "unknown");
    // -o yaml is the same document
    let yaml = stdout(&status(&ns, &["-o", "yaml"]));
    assert!(yaml.starts_with("---\napiVersion: kubectl-mlflow.io/v1\nkind: ReleaseStatus\n"), "{yaml}");
    ns.delete().await;
}

/// Every field README documents, at every level, and no other.
fn assert_document_shape(doc: &Value) {
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> =
            v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect();
        keys.sort();
        keys
    };
    let expect = |v: &Value, expected: &[&str]| {
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(keys(v), expected, "{v:#}");
    };
    expect(
        doc,
        &[
            "apiVersion",
            "kind",
            "release",
            "verdict",
            "server",
            "events",
            "stores",
            "schema",
            "volumes",
            "gc",
            "auth",
            "urls",
            "notes",
        ],
    );
    expect(
        &doc["release"],
        &[
            "name",
            "namespace",
            "engine",
            "revision",
            "helmStatus",
            "applySet",
            "appliedBy",
            "engineNote",
            "inProgress",
            "chart",
            "mlflowVersion",
            "image",
        ],
    );
    expect(&doc["verdict"], &["state", "reasons"]);
    expect(
        &doc["server"],
        &["deployment", "replicas", "readyReplicas", "updatedReplicas", "rollout", "rolledOut", "pods"],
    );
    expect(
        &doc["server"]["pods"][0],
        &[
            "name",
            "ready",
            "containersReady",
            "status",
            "message",
            "restarts",
            "createdAt",
            "ageSeconds",
            "node",
            "lastTermination",
            "imageProblem",
        ],
    );
    expect(&doc["stores"], &["backend", "registry", "artifactsDestination", "defaultArtifactRoot", "servesArtifacts"]);
    expect(&doc["stores"]["backend"], &["described", "source", "sourceName", "sourceKey", "note"]);
    expect(&doc["stores"]["backend"]["described"], &["kind", "host", "port", "database"]);
    expect(&doc["schema"], &["state", "current", "expected", "pod", "reason"]);
    expect(
        &doc["volumes"][0],
        &[
            "claim",
            "phase",
            "capacity",
            "usedBytes",
            "availableBytes",
            "capacityBytes",
            "usedPercent",
            "warning",
            "reason",
        ],
    );
    expect(&doc["auth"], &["basicAuth", "adminUser", "database", "singleSignOn"]);
    expect(&doc["urls"], &["service", "ingress", "httpRoute", "loadBalancer"]);
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_helm_release_of_this_chart_shows_its_revision_gc_and_ingress() {
    let ns = cluster().namespace("status-helm").await;
    let helm = Helm::V4.binary().display().to_string();
    install(
        &ns,
        &[
            "--helm",
            "--helm-binary",
            &helm,
            "--set",
            "garbageCollection.enabled=true",
            "--set",
            "ingress.enabled=true",
            "--set",
            "ingress.hosts[0].host=mlflow.example.com",
            "--set",
            "ingress.hosts[0].paths[0].path=/",
            "--set",
            "ingress.hosts[0].paths[0].pathType=Prefix",
            "--set",
            "server.value_options.app_name=basic-auth",
        ],
    );
    let out = status(&ns, &[]);
    assert_ok(&out);
    let screen = stdout(&out);
    for line in [
        "· helm, revision 1 (deployed)",
        "chart mlflow-0.1.0",
        "GC         CronJob/mlflow-mlflow-gc, schedule \"0 2 * * 0\"; not run yet",
        "Auth       basic auth on, admin user admin",
        "auth db    SQLite database /mlflow/basic_auth.db (from Secret mlflow-mlflow-auth, key basic_auth.ini)",
        "http://mlflow.example.com/ (Ingress)",
    ] {
        assert!(screen.contains(line), "{line:?} not in:\n{screen}");
    }
    // a run of the CronJob, as the CronJob controller makes it (its Jobs carry no chart labels)
    cluster().kubectl_output(&["create", "job", "gc-now", "--from=cronjob/mlflow-mlflow-gc", "-n", ns.name()]).unwrap();
    let ended = poll_until(Duration::from_secs(60), || async {
        let (_, doc) = status_json(&ns, &[]);
        doc["gc"]["lastRun"]["result"] == "Succeeded"
    });
    assert!(ended.await.is_ok(), "{}", text(&status(&ns, &[])));
    let (code, doc) = status_json(&ns, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["gc"]["lastRun"]["job"], "gc-now");
    assert_eq!((doc["release"]["engine"].as_str(), doc["release"]["revision"].as_u64()), (Some("helm"), Some(1)));
    // the GC Job's pod is not a server pod
    assert_eq!(doc["server"]["pods"].as_array().unwrap().len(), 1, "{doc:#}");
    ns.delete().await;
}

/// A chart labelled as the official MLflow chart labels its objects (name and instance, no
/// component; helm's chart label), with the backend store URI in a Secret and a GC CronJob whose
/// pods carry the server's selector labels.
fn official_like_chart(dir: &std::path::Path) {
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: mlflow\nversion: 1.3.0\nappVersion: \"3.17.2\"\n")
        .unwrap();
    let labels = "app.kubernetes.io/name: mlflow\n    app.kubernetes.io/instance: {{ .Release.Name }}";
    let all_labels = format!("helm.sh/chart: mlflow-1.3.0\n    {labels}\n    app.kubernetes.io/managed-by: Helm");
    let store_env = "env:\n        - name: MLFLOW_BACKEND_STORE_URI\n          valueFrom:\n            secretKeyRef: {name: mlflow-db-secret, key: uri}";
    let objects = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ .Release.Name }}}}-mlflow\n  labels:\n    {all_labels}\nspec:\n  ports: [{{port: 5000, name: http}}]\n  selector:\n    {labels}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-mlflow\n  labels:\n    {all_labels}\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: mlflow\n      app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: mlflow\n        app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n    spec:\n      containers:\n      - name: mlflow\n        image: ghcr.io/mlflow/mlflow:v3.17.2-full\n        command: [mlflow, server, --host=0.0.0.0, --port=5000]\n        {store_env}\n        - name: MLFLOW_ARTIFACTS_DESTINATION\n          value: s3://my-bucket/mlflow\n---\n\
         apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {{{{ .Release.Name }}}}-mlflow-gc\n  labels:\n    {all_labels}\nspec:\n  schedule: \"0 2 * * 0\"\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          labels:\n            app.kubernetes.io/name: mlflow\n            app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: mlflow-gc\n            image: ghcr.io/mlflow/mlflow:v3.17.2-full\n            command: [mlflow, gc]\n"
    );
    std::fs::write(templates.join("objects.yaml"), objects).unwrap();
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_official_like_release_reads_with_its_store_from_a_secret_and_no_credentials() {
    let ns = cluster().namespace("status-official").await;
    let password = "hunter2-official";
    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "mlflow-db-secret"},
        "stringData": {"uri": format!("postgresql://mlflow:{password}@postgres:5432/mlflow")}}))
    .unwrap();
    ns.api::<Secret>().create(&PostParams::default(), &secret).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    official_like_chart(dir.path());
    let helm = Command::new(Helm::V3.binary())
        .args(["install", "mlflow"])
        .arg(dir.path())
        .args(["-n", ns.name(), "--kubeconfig", &kubeconfig(), "--wait", "--timeout", "2m"])
        .output()
        .unwrap();
    assert_ok(&helm);
    cluster().kubectl_output(&["create", "job", "gc-1", "--from=cronjob/mlflow-mlflow-gc", "-n", ns.name()]).unwrap();
    let ran = poll_until(Duration::from_secs(60), || async {
        status_json(&ns, &[]).1["gc"]["lastRun"]["result"] == "Succeeded"
    });
    assert!(ran.await.is_ok(), "{}", text(&status(&ns, &[])));
    let out = status(&ns, &[]);
    assert_ok(&out);
    assert_never_shown(&out, password);
    let screen = stdout(&out);
    for line in [
        "· helm, revision 1 (deployed)",
        "MLflow 3.17.2 · chart mlflow-1.3.0 · image ghcr.io/mlflow/mlflow:v3.17.2-full",
        "backend    PostgreSQL database mlflow on postgres:5432 (from Secret mlflow-db-secret, key uri)",
        "artifacts  s3://my-bucket/mlflow (proxied by the server)",
        "GC         CronJob/mlflow-mlflow-gc, schedule \"0 2 * * 0\"; last run Job/gc-1",
    ] {
        assert!(screen.contains(line), "{line:?} not in:\n{screen}");
    }
    let json_out = status(&ns, &["-o", "json"]);
    assert_never_shown(&json_out, password);
    let doc: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(doc["server"]["pods"].as_array().unwrap().len(), 1, "the GC pod is no server pod: {doc:#}");
    assert_eq!(doc["stores"]["backend"]["described"]["host"], "postgres");
    ns.delete().await;
}

// --- verdicts from pod states on a held node -------------------------------------------------

/// Two server pods on a node the test holds, both running and Ready: a database server store (no
/// volume), so that two replicas may run.
async fn two_pods_on_a_held_node(ns: &TestNamespace) -> (ScriptedNode, Vec<Pod>) {
    let node = ScriptedNode::new(ns).await;
    let mut args = vec![
        "--no-wait",
        "--set",
        "mlflow.backendStoreUri=postgresql://mlflow:hunter2@postgres:5432/mlflow",
        "--set",
        "migrations.enabled=false",
        "--set",
        "mlflow.artifactsDestination=s3://my-bucket/mlflow",
        "--set",
        "replicaCount=2",
    ];
    let sets = node.sets();
    for set in &sets {
        args.extend(["--set", set]);
    }
    assert_ok(&plugin("kubectl-mlflow-install", ns.name(), &args));
    let pods = bound_pods(ns, 2).await;
    for pod in &pods {
        set_containers(ns, pod, true, json!({"running": {"startedAt": now()}}), None, 0).await;
    }
    // the Deployment controller counts them
    let deployments = ns.api::<Deployment>();
    let available = poll_until(Duration::from_secs(60), || async {
        let status = deployments.get("mlflow-mlflow").await.unwrap().status.unwrap_or_default();
        status.available_replicas == Some(2)
    });
    assert!(available.await.is_ok(), "the Deployment never had 2 available replicas");
    (node, pods)
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// The server pods once `n` are bound to a node, sorted by name.
async fn bound_pods(ns: &TestNamespace, n: usize) -> Vec<Pod> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list =
            ns.api::<Pod>().list(&ListParams::default().labels("app.kubernetes.io/component=server")).await.unwrap();
        let mut bound: Vec<Pod> =
            list.items.into_iter().filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()).collect();
        if bound.len() == n {
            bound.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            return bound;
        }
        assert!(Instant::now() < deadline, "{} server pods bound, not {n}", bound.len());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Plays the kubelet: the pod's one container in `state` (and `last` state), Ready or not.
async fn set_containers(ns: &TestNamespace, pod: &Pod, ready: bool, state: Value, last: Option<Value>, restarts: i32) {
    let name = pod.metadata.name.clone().unwrap();
    let container = &pod.spec.as_ref().unwrap().containers[0];
    let mut status = json!({"name": container.name, "image": container.image, "imageID": "", "ready": ready,
        "restartCount": restarts, "state": state});
    if let Some(last) = last {
        status["lastState"] = last;
    }
    let ready_text = if ready { "True" } else { "False" };
    let patch = json!({"status": {"phase": "Running", "startTime": now(), "containerStatuses": [status],
        "conditions": [{"type": "Ready", "status": ready_text, "lastTransitionTime": now()},
                       {"type": "ContainersReady", "status": ready_text, "lastTransitionTime": now()}]}});
    ns.api::<Pod>().patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

/// A crash loop: waiting in CrashLoopBackOff after exiting with `code`; KWOK serves `log` (a file
/// in `dir`) as its log.
async fn crash(ns: &TestNamespace, pod: &Pod, code: i32, log: &str, dir: &std::path::Path) {
    let file = dir.join(format!("{}.log", pod.metadata.name.as_deref().unwrap()));
    write_cri_log(&file, &["starting", log]).unwrap();
    // one Logs object per pod, naming the file: a second crash of the pod rewrites the file
    let logs = cluster().kubectl_output(&[
        "get",
        "logs.kwok.x-k8s.io",
        pod.metadata.name.as_deref().unwrap(),
        "-n",
        ns.name(),
    ]);
    if logs.is_err() {
        ns.serve_pod_logs(pod.metadata.name.as_deref().unwrap(), &file).await;
    }
    let waiting = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=mlflow"}});
    let last = json!({"terminated": {"exitCode": code, "reason": "Error", "startedAt": now(), "finishedAt": now()}});
    set_containers(ns, pod, false, waiting, Some(last), 3).await;
}

async fn warning(ns: &TestNamespace, pod: &Pod, count: i32) {
    let name = pod.metadata.name.clone().unwrap();
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": format!("{name}.backoff")},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": ns.name(), "uid": pod.metadata.uid},
        "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container mlflow in pod",
        "count": count, "firstTimestamp": now(), "lastTimestamp": now(), "source": {"component": "kubelet"}
    }))
    .unwrap();
    ns.api::<Event>().create(&PostParams::default(), &event).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn pod_states_make_the_verdict_and_the_exit_code() {
    let ns = cluster().namespace("status-verdicts").await;
    let (node, pods) = two_pods_on_a_held_node(&ns).await;
    let logs = tempfile::tempdir().unwrap();
    let out = status(&ns, &[]);
    assert_code(
        &out,
        0,
        &["Verdict    Healthy", "backend    PostgreSQL database mlflow on postgres:5432 (in the pod spec)"],
    );
    assert_never_shown(&out, "hunter2");

    // one pod crash-looping: Degraded, with its exit code and last log line
    crash(&ns, &pods[1], 2, "Error: Invalid value for '--workers': 'abc' is not a valid integer.", logs.path()).await;
    warning(&ns, &pods[0], 3).await;
    warning(&ns, &pods[1], 2).await;
    let out = status(&ns, &[]);
    let b = pods[1].metadata.name.as_deref().unwrap();
    assert_code(&out, 1, &[
        &format!("Verdict    Degraded: 1 of 2 server pods Ready: pod {b} is CrashLoopBackOff, last exit 2 (Error): Error: Invalid value for '--workers': 'abc' is not a valid integer."),
        "CrashLoopBackOff  3",
        &format!("{b}: last exit 2 (Error) "),
        "error: release mlflow in namespace",
    ]);
    // the same warning of both pods is one line: 5 times, on 2 pods
    let screen = stdout(&out);
    let line = screen
        .lines()
        .find(|l| l.contains(" BackOff ") && l.contains("Back-off restarting"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(line.trim_start().starts_with('5') && line.contains("(+1 more)"), "{line}");

    // both: Failing
    crash(&ns, &pods[0], 1, "sqlalchemy.exc.OperationalError: could not translate host name \"postgres\"", logs.path())
        .await;
    let (code, doc) = status_json(&ns, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(doc["verdict"]["state"], "Failing", "{doc:#}");
    assert!(doc["verdict"]["reasons"][0].as_str().unwrap().starts_with("no server pod is Ready: pod "), "{doc:#}");

    // an OOM kill an instant ago on a pod that is Ready again, and an image that cannot be pulled
    let oom = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": now(), "finishedAt": now()}});
    set_containers(&ns, &pods[0], true, json!({"running": {"startedAt": now()}}), Some(oom), 1).await;
    let pull = json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"ghcr.io/mlflow/mlflow:v3.17.2-full\""}});
    set_containers(&ns, &pods[1], false, pull, None, 0).await;
    let (code, doc) = status_json(&ns, &[]);
    assert_eq!((code, doc["verdict"]["state"].as_str()), (Some(1), Some("Degraded")), "{doc:#}");
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("ImagePullBackOff (ghcr.io/mlflow/mlflow:v3.17.2-full)"), "{reasons}");
    assert!(reasons.contains("OOMKilled (exit 137)"), "{reasons}");
    assert_eq!(doc["server"]["pods"][1]["imageProblem"]["reason"], "ImagePullBackOff");
    node.delete(&ns).await;
    ns.delete().await;
}

/// `status --watch` as a process, its stdout read line by line.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Watch {
    fn start(ns: &TestNamespace) -> Watch {
        let mut child = Command::new(plugin_bin("kubectl-mlflow-status"))
            .current_dir(repo_root())
            .env_remove("HELM_NAMESPACE")
            .args(["--kubeconfig", &kubeconfig(), "-n", ns.name(), "--watch"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Watch { child, lines, seen: String::new() }
    }

    /// Waits (60 s at most) for a line that starts with `start`; returns the lines read until it.
    fn until(&mut self, start: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut read = String::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                read.push_str(&line);
                read.push('\n');
                self.seen.push_str(&line);
                self.seen.push('\n');
                if line.starts_with(start) {
                    return read;
                }
            }
        }
        panic!("no line {start:?} within 60 s; the watch printed:\n{}", self.seen);
    }

    /// Ctrl-C; its exit code.
    fn interrupt(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("--watch did not end on Ctrl-C");
    }
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn watch_draws_again_when_a_pod_changes_and_ends_on_ctrl_c() {
    let ns = cluster().namespace("status-watch").await;
    let (node, pods) = two_pods_on_a_held_node(&ns).await;
    let logs = tempfile::tempdir().unwrap();
    let mut watch = Watch::start(&ns);
    let first = watch.until("Verdict ");
    assert!(first.contains("Verdict    Healthy"), "{first}");
    crash(&ns, &pods[1], 1, "Traceback: boom", logs.path()).await;
    let next = watch.until("Verdict    Degraded");
    assert!(next.contains("Release    mlflow"), "a whole screen is drawn again: {next}");
    // the last verdict is the exit code
    assert_eq!(watch.interrupt(), Some(1));
    node.delete(&ns).await;
    ns.delete().await;
}

// --- bad input, a release mid-install, missing permissions -----------------------------------

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_unknown_release_or_an_empty_namespace_is_bad_input_naming_the_releases() {
    let with = cluster().namespace("status-there").await;
    let empty = cluster().namespace("status-empty").await;
    assert_ok(&plugin("kubectl-mlflow-install", with.name(), &["--no-wait"]));
    let out = status(&with, &["other"]);
    assert_refused_in_one_line(
        &out,
        &format!("release other not found in namespace {}; releases there: mlflow", with.name()),
    );
    let out = status(&empty, &[]);
    assert_refused_in_one_line(
        &out,
        &format!("release mlflow not found in namespace {}: no MLflow release there", empty.name()),
    );
    assert!(text(&out).contains(&format!("mlflow (-n {})", with.name())), "{}", text(&out));
    assert!(
        text(&out).contains("(name the release as the first argument, and its namespace with -n)"),
        "{}",
        text(&out)
    );
    with.delete().await;
    empty.delete().await;
}

/// An install left running in the background.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn install_in_background(ns: &TestNamespace, args: &[&str]) -> Running {
    let child = Command::new(plugin_bin("kubectl-mlflow-install"))
        .current_dir(repo_root())
        .env_remove("HELM_NAMESPACE")
        .args(["--kubeconfig", &kubeconfig(), "-n", ns.name(), "--timeout", "3m"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child)
}

/// A database-server release whose migration Job's pod waits on the held node: the install stops
/// there, before the Deployment.
fn held_migration(node: &ScriptedNode) -> Vec<String> {
    let mut args = vec![
        "--set".to_string(),
        "mlflow.backendStoreUri=postgresql://mlflow:hunter2@postgres:5432/mlflow".to_string(),
    ];
    args.extend(["--set".into(), "mlflow.artifactsDestination=s3://my-bucket/mlflow".into()]);
    for set in node.sets() {
        args.extend(["--set".to_string(), set]);
    }
    args
}

async fn migration_job_exists(ns: &TestNamespace) {
    let api = ns.api::<k8s_openapi::api::batch::v1::Job>();
    let made = poll_until(Duration::from_secs(60), || async {
        api.get_opt("mlflow-mlflow-migrate").await.ok().flatten().is_some()
    });
    assert!(made.await.is_ok(), "no migration Job");
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_release_mid_install_says_so_with_exit_code_1() {
    let ns = cluster().namespace("status-installing").await;
    let node = ScriptedNode::new(&ns).await;
    let args = held_migration(&node);
    let running = install_in_background(&ns, &args.iter().map(String::as_str).collect::<Vec<_>>());
    migration_job_exists(&ns).await;
    let out = status(&ns, &[]);
    assert_code(
        &out,
        1,
        &[
            &format!("release mlflow in namespace {} is being installed", ns.name()),
            "the native engine has recorded it (Secret/kubectl-mlflow.release.mlflow)",
            "its migration Job/mlflow-mlflow-migrate is running (mlflow db upgrade)",
            "its server Deployment does not exist yet",
        ],
    );
    assert!(out.stdout.is_empty(), "{}", text(&out));
    assert_never_shown(&out, "hunter2");
    drop(running);

    // the same through helm: its pre-install hook holds the revision pending
    let helm_ns = cluster().namespace("status-installing-helm").await;
    let helm_node = ScriptedNode::new(&helm_ns).await;
    let mut args = held_migration(&helm_node);
    args.extend(["--helm".into(), "--helm-binary".into(), Helm::V4.binary().display().to_string()]);
    let running = install_in_background(&helm_ns, &args.iter().map(String::as_str).collect::<Vec<_>>());
    migration_job_exists(&helm_ns).await;
    let out = status(&helm_ns, &[]);
    assert_code(
        &out,
        1,
        &[
            "is being installed",
            "helm has revision 1 (pending-install)",
            "its migration Job/mlflow-mlflow-migrate is running",
        ],
    );
    drop(running);
    node.delete(&ns).await;
    helm_node.delete(&helm_ns).await;
    ns.delete().await;
    helm_ns.delete().await;
}

/// A kubeconfig of the ServiceAccount `account` of `ns` (a token from the TokenRequest API), on
/// the test cluster's server.
fn kubeconfig_of(ns: &TestNamespace, account: &str, dir: &std::path::Path) -> String {
    let token = cluster().kubectl_output(&["create", "token", account, "-n", ns.name()]).unwrap();
    let admin: Value = serde_json::from_str(
        &cluster().kubectl_output(&["config", "view", "--raw", "--minify", "-o", "json"]).unwrap(),
    )
    .unwrap();
    let server = &admin["clusters"][0]["cluster"];
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": server}],
        "users": [{"name": account, "user": {"token": token.trim()}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": account, "namespace": ns.name()}}],
        "current-context": "test"
    });
    let path = dir.join(format!("{account}.kubeconfig"));
    std::fs::write(&path, config.to_string()).unwrap();
    path.display().to_string()
}

/// A ServiceAccount with a Role of `rules`, bound in `ns`.
fn account_with(ns: &TestNamespace, account: &str, rules: Value) {
    let objects = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": account}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": account},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns.name()}]}
    ]});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rbac.json");
    std::fs::write(&file, objects.to_string()).unwrap();
    cluster().kubectl_output(&["apply", "-n", ns.name(), "-f", &file.display().to_string()]).unwrap();
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn without_rights_on_pods_or_events_it_says_what_it_needs() {
    let ns = cluster().namespace("status-rbac").await;
    install(&ns, &[]);
    let lookup = json!([
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["services", "persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": ["get", "list", "watch"]}
    ]);
    account_with(&ns, "no-pods", lookup.clone());
    let mut with_pods = lookup.as_array().unwrap().clone();
    with_pods.push(json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}));
    account_with(&ns, "no-events", Value::Array(with_pods.clone()));
    with_pods.push(json!({"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]}));
    account_with(&ns, "no-secrets", Value::Array(with_pods));
    let dir = tempfile::tempdir().unwrap();
    let needs = "(kubectl mlflow status needs get, list and watch on pods and events in the release's namespace";

    let out = plugin_with("kubectl-mlflow-status", &kubeconfig_of(&ns, "no-pods", dir.path()), ns.name(), &[]);
    assert_code(&out, 1, &[&format!("error: cannot list pods in namespace {}: ", ns.name()), "forbidden", needs]);
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let out = plugin_with("kubectl-mlflow-status", &kubeconfig_of(&ns, "no-events", dir.path()), ns.name(), &[]);
    assert_code(&out, 1, &[&format!("error: cannot list events in namespace {}: ", ns.name()), needs]);

    // pods and events are enough: what else it cannot read is named, not fatal
    let out = plugin_with("kubectl-mlflow-status", &kubeconfig_of(&ns, "no-secrets", dir.path()), ns.name(), &[]);
    assert_code(
        &out,
        0,
        &[
            "Verdict    Healthy",
            "engine unknown (cannot read Secret/kubectl-mlflow.release.mlflow: ",
            "cannot list Ingresses: ",
        ],
    );
    ns.delete().await;
}
