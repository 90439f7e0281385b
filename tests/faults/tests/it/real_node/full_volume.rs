//! Case 7: the quick start's claim filled to 100 % (a claim of a StorageClass of its own, made
//! like the node's local-path-xfs: an XFS file system of the claim's size, expanded online,
//! scripts/test-cluster.d/addons/local-path; the node's classes are left as they are, other
//! tests share them): the server's errors reach the client; once the claim is expanded the
//! server writes again without a restart, and the SQLite store is intact (`PRAGMA
//! integrity_check`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kubectl_mlflow_fault_tests::mlflow::{client, one_try, Forward};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{figure, kubectl, real_fault_namespace, text, ONE_WORKER, RELEASE};
use kubectl_mlflow_test_support::{cluster, mlflow_python, poll_until, TestNamespace};

/// A StorageClass that allows expansion, of sized XFS volumes; deleted on drop.
struct SizedClass(String);

impl SizedClass {
    fn create(ns: &TestNamespace) -> SizedClass {
        let name = format!("kmlf-{}-xfs", ns.name());
        let manifest = format!(
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {name}\n  labels:\n    kubectl-mlflow.test/fault-case: {ns}\nprovisioner: kubectl-mlflow.test/local-path\nparameters:\n  filesystem: xfs\nallowVolumeExpansion: true\nreclaimPolicy: Delete\nvolumeBindingMode: WaitForFirstConsumer\n",
            ns = ns.name()
        );
        let file = std::env::temp_dir().join(format!("{name}.yaml"));
        std::fs::write(&file, manifest).unwrap();
        kubectl(&["apply", "-f", &file.display().to_string()]);
        std::fs::remove_file(file).ok();
        SizedClass(name)
    }
}

impl Drop for SizedClass {
    fn drop(&mut self) {
        let _ = cluster().kubectl_output(&["delete", "storageclass", &self.0, "--ignore-not-found", "--wait=false"]);
    }
}

fn sh(line: &str) -> String {
    let out = Command::new("sh").args(["-c", line]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_full_claim_is_surfaced_and_after_expansion_the_sqlite_store_is_intact() {
    let ns = real_fault_namespace("fault-full").await;
    let claim = format!("{RELEASE}-mlflow");
    let class = SizedClass::create(&ns);
    let class_value = format!("storage.storageClassName={}", class.0);
    let out = Plugin::new(
        "kubectl-mlflow-install",
        &["--timeout", "8m", "--set", ONE_WORKER, "--set", "storage.size=300Mi", "--set", &class_value],
    )
    .run(&ns);
    assert!(out.status.success(), "install: {}", text(&out));
    let forward = Forward::start(&ns, Duration::from_secs(120));
    let before = client(&forward.url, &["roundtrip", "--blob-mib", "1"]);
    let pv = kubectl(&["get", "pvc", &claim, "-n", ns.name(), "-o", "jsonpath={.spec.volumeName}"]);
    let dir = PathBuf::from(kubectl(&["get", "pv", pv.trim(), "-o", "jsonpath={.spec.local.path}"]).trim());
    let d = dir.display();
    // fill it: one preallocated file of what is free, then a few bytes more until the file system refuses
    sh(&format!("fallocate -l $(df --output=avail -B1 {d} | tail -1) {d}/kmlf-filler; dd if=/dev/zero of={d}/kmlf-filler-2 bs=4096 count=100000 2>/dev/null; true"));
    let used = sh(&format!("df --output=pcent {d} | tail -1"));
    let full = one_try(&forward.url, &["roundtrip"], 120);
    let error = full.clone().expect_err("a run with artifacts was logged on a full volume");
    kubectl(&[
        "patch",
        "pvc",
        &claim,
        "-n",
        ns.name(),
        "-p",
        "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"400Mi\"}}}}",
    ]);
    let grown = poll_until(Duration::from_secs(90), || async {
        kubectl(&["get", "pvc", &claim, "-n", ns.name(), "-o", "jsonpath={.status.capacity.storage}"]).trim() == "400Mi"
    });
    assert!(
        grown.await.is_ok(),
        "the claim was not expanded: {}",
        kubectl(&["describe", "pvc", &claim, "-n", ns.name()])
    );
    let used_after = sh(&format!("df --output=pcent {d} | tail -1"));
    let after = one_try(&forward.url, &["roundtrip"], 120);
    let seen = client(
        &forward.url,
        &["check", before["run_id"].as_str().unwrap(), "--blob-sha256", before["blob_sha256"].as_str().unwrap()],
    );
    let integrity = Command::new(mlflow_python())
        .args(["-c", "import sqlite3, sys; print(sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True).execute('PRAGMA integrity_check').fetchone()[0])"])
        .arg(dir.join("mlflow.db"))
        .output()
        .unwrap();
    let integrity = String::from_utf8_lossy(&integrity.stdout).trim().to_string();
    let restarts = kubectl(&[
        "get",
        "pods",
        "-n",
        ns.name(),
        "-l",
        "app.kubernetes.io/instance=mlflow",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[*].restartCount}",
    ]);
    figure(
        "claim filled to 100 %",
        &format!("{used} used: the client got {error:?}; expanded 300Mi → 400Mi online ({used_after} used): new run {}; the earlier run intact; PRAGMA integrity_check: {integrity}; server restarts {}", if after.is_ok() { "ok" } else { "FAILED" }, restarts.trim()),
    );
    after.unwrap_or_else(|e| panic!("after the expansion: {e}"));
    assert_eq!(seen["blob_sha256"], before["blob_sha256"]);
    assert_eq!(integrity, "ok");
    sh(&format!("rm -f {d}/kmlf-filler {d}/kmlf-filler-2"));
    drop(forward);
    ns.delete().await;
    drop(class);
}
