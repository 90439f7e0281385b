//! Refusals on the KWOK control plane (`scripts/test-cluster up`): what needs no bytes to flow.
//! Each is refused with exit code 2 before anything is written: no Job is made.

use std::process::Output;

use k8s_openapi::api::batch::v1::Job;
use kube::api::ListParams;
use kubectl_mlflow_test_support::{cluster, plugin, TestNamespace};

/// The plugin `name` on `ns` as the user of `kubeconfig`.
fn run_as(name: &str, ns: &TestNamespace, kubeconfig: &str, args: &[&str]) -> Output {
    plugin(name).args(["--kubeconfig", kubeconfig, "-n", ns.name()]).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn install(ns: &TestNamespace, args: &[&str]) {
    let out = ns.run("kubectl-mlflow-install", &[&["--no-wait"], args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
}

async fn no_jobs(ns: &TestNamespace) {
    let jobs = ns.api::<Job>().list(&ListParams::default()).await.unwrap();
    assert!(
        jobs.items.is_empty(),
        "a refused run made Jobs: {:?}",
        jobs.items.iter().map(|j| j.metadata.name.clone()).collect::<Vec<_>>()
    );
}

/// A kubeconfig for a ServiceAccount of `ns` that may only read there.
fn read_only_kubeconfig(ns: &TestNamespace, dir: &tempfile::TempDir) -> String {
    let name = ns.name();
    let rbac = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: reader, namespace: {name}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: reader, namespace: {name}}}\n\
         rules: [{{apiGroups: ['*'], resources: ['*'], verbs: [get, list, watch]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: reader, namespace: {name}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}\n\
         subjects: [{{kind: ServiceAccount, name: reader, namespace: {name}}}]\n"
    );
    let file = dir.path().join("rbac.yaml");
    std::fs::write(&file, rbac).unwrap();
    cluster().kubectl_output(&["apply", "-f", file.to_str().unwrap()]).unwrap();
    let token = cluster().kubectl_output(&["create", "token", "reader", "-n", name]).unwrap();
    // kubectl prints the kubeconfig as JSON, itself a valid kubeconfig
    let admin = cluster().kubectl_output(&["config", "view", "--raw", "-o", "json"]).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&admin).unwrap();
    config["users"] = serde_json::json!([{"name": "reader", "user": {"token": token.trim()}}]);
    for context in config["contexts"].as_array_mut().unwrap() {
        context["context"]["user"] = "reader".into();
    }
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    path.display().to_string()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn without_rbac_for_jobs_and_exec_both_are_refused_naming_each_permission() {
    let ns = cluster().namespace("backup-rbac").await;
    install(&ns, &["-f", "tests/values/quickstart.yaml"]);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = read_only_kubeconfig(&ns, &dir);
    let archive = dir.path().join("good.tar.gz");
    super::archive::write(&archive, &[("tracking.db", b"SQLite format 3\0")], "3.17.2");
    let target = dir.path().join("out.tar.gz");
    let runs = [
        ("kubectl-mlflow-backup", vec!["-o", target.to_str().unwrap()]),
        ("kubectl-mlflow-restore", vec![archive.to_str().unwrap()]),
    ];
    for (bin, args) in runs {
        let out = run_as(bin, &ns, &kubeconfig, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bin}: {err}");
        for permission in ["create jobs.batch", "delete jobs.batch", "create pods --subresource=exec"] {
            let line = format!("you may not {permission} in namespace {}", ns.name());
            assert!(err.contains(&line), "{bin}: {line} missing: {err}");
        }
        assert!(!err.contains("you may not list pods"), "{bin}: {err}");
    }
    assert!(!target.exists(), "a refused backup left a file");
    no_jobs(&ns).await;
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_missing_release_or_a_file_store_is_refused() {
    let ns = cluster().namespace("backup-input").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.tar");
    let out = ns.run("kubectl-mlflow-backup", &["-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("release mlflow not found in namespace"), "{}", stderr(&out));
    install(
        &ns,
        &[
            "--set",
            "storage.enabled=true",
            "--set",
            "mlflow.backendStoreUri=/mlflow/mlruns",
            "--set",
            "env[0].name=MLFLOW_ALLOW_FILE_STORE",
            "--set-string",
            "env[0].value=true",
        ],
    );
    let out = ns.run("kubectl-mlflow-backup", &["-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("keeps its runs in a file store"), "{}", stderr(&out));
    no_jobs(&ns).await;
    ns.delete().await;
}

/// The SQLite copy before a new image: a Job runs (and is removed once it succeeded) when an
/// upgrade changes the image of a SQLite release, before the Deployment changes; not otherwise.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_new_image_on_a_sqlite_store_runs_the_copy_job_first_and_a_rerun_does_not() {
    let ns = cluster().namespace("sqlite-copy").await;
    install(&ns, &["-f", "tests/values/quickstart.yaml"]);
    let job = "Job/mlflow-mlflow-sqlite-upgrade";
    let upgrade =
        ns.run("kubectl-mlflow-install", &["-f", "tests/values/quickstart.yaml", "--set", "image.tag=v3.17.3-full"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    assert!(stderr(&upgrade).contains(&format!("waiting for {job}")), "{}", stderr(&upgrade));
    let image = cluster()
        .kubectl_output(&[
            "get",
            "deploy/mlflow-mlflow",
            "-n",
            ns.name(),
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .unwrap();
    assert_eq!(image, "ghcr.io/mlflow/mlflow:v3.17.3-full");
    no_jobs(&ns).await;
    let rerun =
        ns.run("kubectl-mlflow-install", &["-f", "tests/values/quickstart.yaml", "--set", "image.tag=v3.17.3-full"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(!stderr(&rerun).contains(job), "a rerun with the same image ran the copy: {}", stderr(&rerun));
    ns.delete().await;
}
