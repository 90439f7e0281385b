//! `kubectl mlflow check` on the test cluster's control plane with its KWOK node: finding the
//! release (as the official chart labels it: name and instance, no component), and what stops a
//! check before its first byte (no release, no Ready pod, no permission to port-forward). KWOK's
//! PortForward objects lead a pod's port to a listener of the test: a fake MLflow
//! ([`fake_mlflow`]) shows the step failures a real server cannot be made to show, and KWOK's
//! Logs objects give the pod the log the failure quotes. Every run has a timeout. The tests with
//! a fake run on two worker threads: it answers while the test waits for the check.

mod fake_mlflow;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::PostParams;
use kubectl_mlflow_test_support::{bound_pod, cluster, poll_until, write_cri_log, TestNamespace};
use serde_json::{json, Value};

use crate::run::{self, assert_exit, check, stderr, stdout, text, Running};
use fake_mlflow::{FakeMlflow, Faults, EXPERIMENT, RUN};

const RELEASE_LABELS: &str = "app.kubernetes.io/name=mlflow,app.kubernetes.io/instance=mlflow";
const END: Duration = Duration::from_secs(60);

/// A server Deployment of release `release` labelled as the official chart labels it, with
/// `pod_spec` merged into its pod template's spec.
fn deployment(release: &str, pod_spec: Value) -> Deployment {
    let labels = json!({"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": release});
    let mut spec = json!({"containers": [{"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v3.17.2",
        "command": ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"],
        "ports": [{"name": "http", "containerPort": 5000}]}]});
    spec.as_object_mut().unwrap().extend(pod_spec.as_object().cloned().unwrap_or_default());
    serde_json::from_value(json!({
        "metadata": {"name": format!("{release}-mlflow"), "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": spec}}
    }))
    .unwrap()
}

async fn create(ns: &TestNamespace, deployment: &Deployment) {
    ns.api::<Deployment>().create(&PostParams::default(), deployment).await.unwrap();
}

/// A release `mlflow` whose one pod is Ready and forwards its port 5000 to `fake`; its log says
/// what the server would (a store URI with a password among it).
async fn release_served_by(prefix: &str, fake: &FakeMlflow, dir: &tempfile::TempDir) -> (TestNamespace, String) {
    let ns = cluster().namespace(prefix).await;
    create(&ns, &deployment("mlflow", json!({}))).await;
    let pod = bound_pod(&ns, RELEASE_LABELS).await.metadata.name.unwrap();
    ns.forward_pod_port(&pod, 5000, fake.addr).await;
    let log = dir.path().join("mlflow.log");
    write_cri_log(
        &log,
        &[
            "INFO mlflow.server: starting on postgresql://mlflow:pg-password-123@db:5432/mlflow",
            "ERROR mlflow.server: the artifact repository answered oddly",
        ],
    )
    .unwrap();
    ns.serve_pod_logs(&pod, &log).await;
    wait_ready(&ns).await;
    (ns, pod)
}

async fn wait_ready(ns: &TestNamespace) {
    let pods = ns.api::<k8s_openapi::api::core::v1::Pod>();
    let ready = poll_until(Duration::from_secs(90), || async {
        let list = pods.list(&Default::default()).await.unwrap();
        list.items.iter().any(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await;
    assert!(ready.is_ok(), "the release's pod never became Ready");
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_unknown_release_is_refused_naming_the_releases_there() {
    let ns = cluster().namespace("check-unknown").await;
    create(&ns, &deployment("other", json!({}))).await;
    let out = check(ns.name(), &["nope"]);
    assert_exit(&out, 2);
    assert!(stdout(&out).is_empty(), "{}", text(&out));
    let expected = format!("error: release nope not found in namespace {}; releases there: other", ns.name());
    assert!(stderr(&out).contains(&expected), "{}", text(&out));
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_namespace_without_a_release_is_refused() {
    let ns = cluster().namespace("check-empty").await;
    let out = check(ns.name(), &[]);
    assert_exit(&out, 2);
    let expected = format!("error: release mlflow not found in namespace {}: no MLflow release there", ns.name());
    assert!(stderr(&out).contains(&expected), "{}", text(&out));
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn without_a_ready_pod_it_fails_naming_the_pods_states() {
    let ns = cluster().namespace("check-unready").await;
    create(&ns, &deployment("mlflow", json!({"nodeSelector": {"kubernetes.io/hostname": "no-such-node"}}))).await;
    let pods = ns.api::<k8s_openapi::api::core::v1::Pod>();
    poll_until(Duration::from_secs(60), || async { !pods.list(&Default::default()).await.unwrap().items.is_empty() })
        .await
        .expect("the Deployment's pod");
    let out = check(ns.name(), &[]);
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty(), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: no Ready server pod of release mlflow in namespace {} to check; pods: mlflow-mlflow-",
            ns.name()
        )),
        "{err}"
    );
    assert!(err.contains("Pending"), "{err}");
    ns.delete().await;
}

/// A kubeconfig for a ServiceAccount that may read the release (Deployments, Services, CronJobs,
/// pods, Secrets) but not port-forward.
fn kubeconfig_without_port_forward(ns: &TestNamespace, dir: &tempfile::TempDir) -> String {
    let name = ns.name();
    let rbac = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: reader, namespace: {name}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: reader, namespace: {name}}}\n\
         rules: [{{apiGroups: ['', apps, batch], resources: [deployments, services, cronjobs, pods, pods/log, secrets], verbs: [get, list, watch]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: reader, namespace: {name}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}\n\
         subjects: [{{kind: ServiceAccount, name: reader, namespace: {name}}}]\n"
    );
    let file = dir.path().join("rbac.yaml");
    std::fs::write(&file, rbac).unwrap();
    cluster().kubectl_output(&["apply", "-f", file.to_str().unwrap()]).unwrap();
    let token = cluster().kubectl_output(&["create", "token", "reader", "-n", name]).unwrap();
    let admin: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(cluster().kubeconfig()).unwrap()).unwrap();
    let mut reader = admin.clone();
    reader["users"] = serde_yaml::from_str(&format!("[{{name: reader, user: {{token: {}}}}}]", token.trim())).unwrap();
    for context in reader["contexts"].as_sequence_mut().unwrap() {
        context["context"]["user"] = "reader".into();
    }
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&reader).unwrap()).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn without_the_permission_to_port_forward_it_fails_saying_which() {
    let fake = FakeMlflow::start(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (ns, pod) = release_served_by("check-rbac", &fake, &dir).await;
    let kubeconfig = kubeconfig_without_port_forward(&ns, &dir);
    let out = run::command_with(&kubeconfig, ns.name(), &[]).output().unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("step \"health\" failed: GET /health: the port-forward to pod {pod} port 5000 failed: ")),
        "{err}"
    );
    assert!(err.contains("forbidden"), "{err}");
    assert!(err.contains(&format!("kubectl auth can-i create pods/portforward -n {}", ns.name())), "{err}");
    assert!(stdout(&out).contains("FAIL health"), "{}", text(&out));
    assert!(fake.requests().is_empty(), "a request reached the server: {:?}", fake.requests());
    ns.delete().await;
}

/// Bytes that come back changed fail the download, naming the first byte that differs, quoting
/// the pod's log (its password masked); the cleanup still deletes what the check made, and
/// `-o json` holds every step and the failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn changed_bytes_fail_the_download_and_the_cleanup_still_runs() {
    let fake = FakeMlflow::start(Faults { corrupt_at: Some(70_000), ..Faults::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let (ns, pod) = release_served_by("check-corrupt", &fake, &dir).await;
    let out = check(ns.name(), &["--artifact-size", "100KiB", "-o", "json"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    let artifact = format!("{EXPERIMENT}/{RUN}/artifacts/kubectl-mlflow-check.bin");
    let expected = format!(
        "error: step \"download artifact\" failed: GET /api/2.0/mlflow-artifacts/artifacts/{artifact}: \
         the downloaded bytes differ from the uploaded ones from byte 70000 on"
    );
    assert!(err.contains(&expected), "{err}");
    assert!(err.contains(&format!("the last 2 lines of pod {pod}'s log (container mlflow):")), "{err}");
    assert!(err.contains("postgresql://mlflow:***@db:5432/mlflow"), "{err}");
    assert!(!err.contains("pg-password-123"), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["failure"]["step"], "download artifact");
    assert_eq!(doc["failure"]["podLog"].as_array().unwrap().len(), 2);
    let steps: Vec<(String, String)> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["result"].as_str().unwrap().to_string()))
        .collect();
    let expect = |names: &[(&str, &str)]| names.iter().map(|(n, r)| (n.to_string(), r.to_string())).collect::<Vec<_>>();
    assert_eq!(
        steps,
        expect(&[
            ("health", "passed"),
            ("version", "passed"),
            ("create experiment", "passed"),
            ("create run", "passed"),
            ("log param, metric, tag", "passed"),
            ("upload artifact", "passed"),
            ("download artifact", "failed"),
            ("delete run", "passed"),
            ("delete experiment", "passed"),
            ("delete artifacts", "passed"),
        ])
    );
    let requests = fake.requests();
    for cleaned in [
        format!("DELETE /api/2.0/mlflow-artifacts/artifacts/{EXPERIMENT}"),
        "POST /api/2.0/mlflow/runs/delete".to_string(),
        "POST /api/2.0/mlflow/experiments/delete".to_string(),
    ] {
        assert!(requests.contains(&cleaned), "{cleaned} not among {requests:?}");
    }
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_answer_that_never_comes_fails_the_step_after_the_timeout() {
    let fake = FakeMlflow::start(Faults { hang_on: vec!["/version"], ..Faults::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let (ns, _) = release_served_by("check-hang", &fake, &dir).await;
    let out = check(ns.name(), &["--timeout", "2s"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("error: step \"version\" failed: GET /version: no answer within 2s (--timeout)"), "{err}");
    let lines = stdout(&out);
    assert!(lines.starts_with("ok   health"), "{lines}");
    assert!(lines.contains("FAIL version"), "{lines}");
    assert!(lines.contains("failed at step \"version\""), "{lines}");
    // nothing was made: nothing to clean
    assert!(!fake.requests().iter().any(|r| r.contains("delete")), "{:?}", fake.requests());
    // -o yaml: the steps as progress on stderr, the document on stdout
    let out = check(ns.name(), &["--timeout", "2s", "-o", "yaml"]);
    assert_exit(&out, 1);
    let doc: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(doc["passed"], serde_yaml::Value::Bool(false));
    assert_eq!(doc["failure"]["step"].as_str(), Some("version"));
    assert!(stderr(&out).contains("FAIL version"), "{}", text(&out));
    ns.delete().await;
}

/// Ctrl-C while a step waits: the cleanup deletes the run and the experiment made so far; a
/// second Ctrl-C while the cleanup waits stops it, naming what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn ctrl_c_cleans_up_and_a_second_ctrl_c_stops_the_cleanup() {
    let fake = FakeMlflow::start(Faults { hang_on: vec!["/runs/log-batch"], ..Faults::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let (ns, _) = release_served_by("check-ctrl-c", &fake, &dir).await;
    let mut check = Running::start(ns.name(), &[]);
    check.wait_stdout("ok   create run", END);
    std::thread::sleep(Duration::from_millis(300));
    check.interrupt();
    assert_eq!(check.wait(END), Some(1), "{}\n{}", check.stdout(), check.stderr());
    let (out, err) = (check.stdout(), check.stderr());
    assert!(out.contains("stop log param, metric, tag"), "{out}");
    assert!(out.contains("ok   delete run (cleanup)"), "{out}");
    assert!(out.contains("ok   delete experiment (cleanup)"), "{out}");
    assert!(err.contains("error: interrupted: the check stopped, and deleted what it had made"), "{err}");
    assert!(fake.requests().contains(&"POST /api/2.0/mlflow/experiments/delete".to_string()), "{:?}", fake.requests());
    ns.delete().await;

    let fake =
        FakeMlflow::start(Faults { hang_on: vec!["/runs/log-batch", "/runs/delete"], ..Faults::default() }).await;
    let (ns, _) = release_served_by("check-ctrl-c-twice", &fake, &dir).await;
    let mut check = Running::start(ns.name(), &[]);
    check.wait_stdout("ok   create run", END);
    std::thread::sleep(Duration::from_millis(300));
    check.interrupt();
    check.wait_stdout("stop log param, metric, tag", END);
    poll_until(END, || async { fake.requests().iter().any(|r| r.ends_with("/runs/delete")) }).await.unwrap();
    check.interrupt();
    assert_eq!(check.wait(END), Some(1), "{}\n{}", check.stdout(), check.stderr());
    let err = check.stderr();
    assert!(
        err.contains(
            "error: interrupted twice: the cleanup stopped; left in the server: experiment kubectl-mlflow-check-"
        ),
        "{err}"
    );
    assert!(err.contains(&format!("(id {EXPERIMENT}), run {RUN} (delete the experiment in MLflow's UI")), "{err}");
    ns.delete().await;
}

/// `kubectl mlflow check | head -1`: the reader gone, the steps and the cleanup still run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_reader_gone_from_stdout_does_not_stop_the_cleanup() {
    let fake = FakeMlflow::start(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (ns, _) = release_served_by("check-head", &fake, &dir).await;
    let mut child = run::command(ns.name(), &[]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let requests = fake.requests();
    assert!(requests.contains(&"POST /api/2.0/mlflow/experiments/delete".to_string()), "{requests:?}");
    ns.delete().await;
}
