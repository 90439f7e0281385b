//! `kubectl mlflow gc` purging for real: these need the real node (`scripts/test-cluster up
//! --real`, where MLflow's pods really run) and FAIL on a KWOK node, where nothing runs. Run them
//! one at a time: `cargo test -p kubectl-mlflow-gc --test real_node -- --ignored --test-threads=1`.
//!
//! Each installs the quick start (SQLite and artifacts on the PVC), makes a run with an artifact
//! through MLflow's own client (the contract venv's, via kubectl port-forward), soft-deletes it,
//! runs the plugin and looks in the store and on the PVC (kubectl exec in the server pod).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kubectl_mlflow_test_support::{cluster, repo_root, TestNamespace};
use serde_json::Value;

/// Fails, saying how to get one, unless every node of the cluster is a real one.
async fn require_real_node(ns: &TestNamespace) {
    let nodes = Api::<Node>::all(ns.client()).list(&ListParams::default()).await.unwrap();
    let fake: Vec<_> = nodes
        .items
        .iter()
        .filter(|n| n.metadata.annotations.as_ref().and_then(|a| a.get("kwok.x-k8s.io/node")).map(String::as_str) == Some("fake"))
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    assert!(
        fake.is_empty() && !nodes.items.is_empty(),
        "this test needs the real node, but the cluster's node(s) {fake:?} are KWOK's (annotation kwok.x-k8s.io/node: fake), \
         where nothing runs: scripts/test-cluster down && scripts/test-cluster up --real"
    );
}

fn plugin(bin: &str, ns: &TestNamespace, args: &[&str]) -> Output {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let mut cmd = if bin == "kubectl-mlflow-gc" {
        Command::new(assert_cmd::cargo::cargo_bin(bin))
    } else {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["run", "-q", "-p", bin, "--"]);
        cmd
    };
    let out = cmd.current_dir(repo_root()).env_remove("HELM_NAMESPACE").args(["--kubeconfig", &kubeconfig, "-n", ns.name()]).args(args).output().unwrap();
    assert!(out.status.success(), "{bin} {args:?}:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

/// `kubectl port-forward` to the server's Service, killed on drop.
struct Forward {
    child: Child,
    url: String,
}

impl Forward {
    fn to_server(ns: &TestNamespace) -> Forward {
        let mut child = cluster()
            .kubectl()
            .args(["port-forward", "--address", "127.0.0.1", "-n", ns.name(), "svc/mlflow-mlflow", ":5000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("Forwarding from 127.0.0.1:").and_then(|r| r.split_whitespace().next()) {
                    let _ = tx.send(port.to_string());
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(60)).expect("kubectl port-forward gave no local port");
        Forward { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// tests/contract/client.py with the contract venv's MLflow, against the server.
    fn client(&self, args: &[&str]) -> Value {
        let venv = Command::new(repo_root().join("scripts/mlflow-venv")).output().unwrap();
        let venv = String::from_utf8_lossy(&venv.stdout).lines().last().unwrap_or_default().trim().to_string();
        let out = Command::new(format!("{venv}/bin/python"))
            .arg(repo_root().join("tests/contract/client.py"))
            .args(args)
            .env("MLFLOW_TRACKING_URI", &self.url)
            .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
            .output()
            .unwrap();
        assert!(out.status.success(), "client.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default()).unwrap()
    }

    fn stage(&self, run: &str, workspace: Option<&str>) -> String {
        let mut args = vec!["run-state", run];
        args.extend(workspace.iter().flat_map(|w| ["--workspace", *w]));
        self.client(&args)["stage"].as_str().unwrap().to_string()
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the run's artifact directory holds files on the PVC (seen from the server pod).
fn artifacts_on_pvc(ns: &TestNamespace, run: &Value) -> bool {
    let dir = format!("/mlflow/artifacts/{}/{}/artifacts", run["experiment_id"].as_str().unwrap(), run["run_id"].as_str().unwrap());
    let out = cluster().kubectl().args(["exec", "-n", ns.name(), "deploy/mlflow-mlflow", "--", "ls", "-A", &dir]).output().unwrap();
    out.status.success() && !out.stdout.is_empty()
}

async fn quick_start(prefix: &str, sets: &[&str]) -> (TestNamespace, Forward) {
    let ns = cluster().namespace(prefix).await;
    require_real_node(&ns).await;
    let mut args = vec!["-f", "tests/values/quickstart.yaml", "--timeout", "10m"];
    for set in sets {
        args.extend(["--set", set]);
    }
    plugin("kubectl-mlflow-install", &ns, &args);
    let forward = Forward::to_server(&ns);
    (ns, forward)
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn gc_purges_a_soft_deleted_run_and_its_artifacts_unless_it_is_younger_than_older_than() {
    let (ns, server) = quick_start("gcreal", &[]).await;
    let run = server.client(&["roundtrip", "--delete"]);
    let id = run["run_id"].as_str().unwrap();
    assert!(artifacts_on_pvc(&ns, &run), "the run's artifact is not on the PVC");

    plugin("kubectl-mlflow-gc", &ns, &["--older-than", "30d", "--timeout", "5m"]);
    assert_eq!(server.stage(id, None), "deleted", "--older-than 30d purged a run deleted just now");
    assert!(artifacts_on_pvc(&ns, &run));

    let out = plugin("kubectl-mlflow-gc", &ns, &["--timeout", "5m"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(id), "the streamed log names the purged run");
    assert_eq!(server.stage(id, None), "absent");
    assert!(!artifacts_on_pvc(&ns, &run), "the artifact directory is still on the PVC");
    drop(server);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn gc_all_workspaces_purges_a_run_in_a_second_workspace_on_sqlite() {
    let (ns, server) = quick_start("gcrealws", &["server.flag_options[0]=enable_workspaces"]).await;
    let run = server.client(&["roundtrip", "--workspace", "team-gc", "--delete"]);
    let id = run["run_id"].as_str().unwrap();
    assert_eq!(server.stage(id, Some("team-gc")), "deleted");
    plugin("kubectl-mlflow-gc", &ns, &["--all-workspaces", "--timeout", "5m"]);
    assert_eq!(server.stage(id, Some("team-gc")), "absent");
    drop(server);
    ns.delete().await;
}
