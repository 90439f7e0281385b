//! Faults on the real node's containers: a container frozen (containerd's `tasks pause`, the
//! cgroup freezer: its processes stop, its memory stays) and thawed. The object store's server
//! keeps its objects in memory, so it is frozen rather than stopped (docs/faults.md).

use std::path::PathBuf;
use std::process::Command;

use kubectl_mlflow_test_support::{cluster, TestNamespace};

use crate::kubectl;

/// containerd's `ctr`, the real node's (scripts/test-cluster's build cache).
fn ctr() -> PathBuf {
    let cache = std::env::var_os("KMLF_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/kubectl-mlflow"));
    let bin = std::fs::read_dir(cache.join("bin"))
        .expect("the cluster's binaries")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("containerd-")))
        .expect("containerd's build");
    bin.join("ctr")
}

/// The first container of the Running pod of deployment `app` (label `app=<app>`).
fn container_id(ns: &TestNamespace, app: &str) -> String {
    let id = kubectl(&[
        "get",
        "pods",
        "-n",
        ns.name(),
        "-l",
        &format!("app={app}"),
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={.items[0].status.containerStatuses[0].containerID}",
    ]);
    id.trim()
        .strip_prefix("containerd://")
        .unwrap_or_else(|| panic!("no running container of {app}: {id:?}"))
        .to_string()
}

fn task(verb: &str, id: &str) {
    let socket = cluster().kubeconfig().parent().unwrap().join("node/containerd/containerd.sock");
    let out = Command::new(ctr())
        .arg("--address")
        .arg(socket)
        .args(["-n", "k8s.io", "tasks", verb, id])
        .output()
        .expect("run ctr");
    assert!(out.status.success(), "ctr tasks {verb} {id}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Freezes the container of `app`'s pod; returns its id, to thaw it.
pub fn freeze(ns: &TestNamespace, app: &str) -> String {
    let id = container_id(ns, app);
    task("pause", &id);
    id
}

pub fn thaw(id: &str) {
    task("resume", id);
}
