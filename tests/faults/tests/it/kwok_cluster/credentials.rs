//! Case 9: the installer's credentials lose a verb, or stop being accepted, between the
//! preflight and the apply (the install is stopped with SIGSTOP at its first write while the
//! permission goes): the install fails with a message naming the verb and what was and was not
//! written, and the same command converges once the permission is back.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kubectl_mlflow_fault_tests::release::{converged, Expected, Others};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{fault_namespace, figure, kubectl, text, ONE_WORKER};
use kubectl_mlflow_test_support::audit::{Filter, Nth, Stage};
use kubectl_mlflow_test_support::{cluster, poll_until, TestNamespace};

const VERBS: &str = "[get, list, watch, create, update, patch, delete]";

/// The installer's Role (everything in the namespace, Deployments with `deployment_verbs`), its
/// binding, and a ClusterRole for the preflight's cluster-wide reads.
fn rbac(ns: &TestNamespace, deployment_verbs: &str) -> String {
    let n = ns.name();
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: installer, namespace: {n}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: installer, namespace: {n}}}\nrules:\n\
         - {{apiGroups: [\"\", batch, networking.k8s.io, monitoring.coreos.com, policy, coordination.k8s.io], resources: [\"*\"], verbs: {VERBS}}}\n\
         - {{apiGroups: [apps], resources: [deployments], verbs: {deployment_verbs}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: installer, namespace: {n}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: installer}}\n\
         subjects: [{{kind: ServiceAccount, name: installer, namespace: {n}}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: kmlf-fault-{n}}}\nrules:\n\
         - {{apiGroups: [\"\"], resources: [namespaces], verbs: [get]}}\n\
         - {{apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list]}}\n\
         - {{apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [get, list]}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: kmlf-fault-{n}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kmlf-fault-{n}}}\n\
         subjects: [{{kind: ServiceAccount, name: installer, namespace: {n}}}]\n"
    )
}

fn apply(manifest: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), manifest).unwrap();
    kubectl(&["apply", "-f", &file.path().display().to_string()]);
}

/// A kubeconfig of the installer's token (an hour) for the cluster.
fn installer_kubeconfig(ns: &TestNamespace) -> PathBuf {
    let token = kubectl(&["create", "token", "installer", "-n", ns.name(), "--duration", "1h"]);
    let server = kubectl(&["config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]);
    let ca = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.certificate-authority-data}",
    ]);
    let path = std::env::temp_dir().join(format!("{}-installer.kubeconfig", ns.name()));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: {server}, certificate-authority-data: {ca}}}\n\
             users:\n- name: installer\n  user: {{token: {}}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: installer, namespace: {}}}\ncurrent-context: c\n",
            token.trim(),
            ns.name()
        ),
    )
    .unwrap();
    path
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Starts the install as the installer, stops it at its first write, runs `revoke`, waits until
/// `revoked` holds, lets it go on; returns its output. `None` when the stop came too late: the
/// Deployment's write had already reached the API server (the plugin's writes follow each other
/// within milliseconds, and the audit log is read from outside), so the case shows nothing.
async fn install_losing(
    ns: &TestNamespace,
    install: &Plugin,
    revoke: impl FnOnce(),
    revoked: impl Fn(&std::path::Path) -> bool,
) -> Option<std::process::Output> {
    let kubeconfig = installer_kubeconfig(ns);
    let log = cluster().audit_log().unwrap();
    let from = log.end();
    let mut child = install.command_as(ns, &kubeconfig).spawn().unwrap();
    let pid = child.id();
    let filter = Filter::plugins_in(ns.name());
    // stopping as the first write arrives leaves the most writes to go
    let nth = Nth { from, filter: &filter, n: 1, stage: Stage::Received, limit: Duration::from_secs(180) };
    let first = log.on_nth_write(&nth, || false, || signal(pid, "STOP"));
    assert!(first.is_some(), "the install never wrote");
    // a request sent just before the stop is logged a moment later
    tokio::time::sleep(Duration::from_millis(500)).await;
    if log.writes_at(from, &filter, Stage::Received).iter().any(|w| w.resource == "deployments") {
        signal(pid, "CONT");
        child.kill().ok();
        child.wait().ok();
        std::fs::remove_file(kubeconfig).ok();
        return None;
    }
    revoke();
    let gone = poll_until(Duration::from_secs(30), || async { revoked(&kubeconfig) });
    assert!(gone.await.is_ok(), "the permission did not go");
    signal(pid, "CONT");
    let out = child.wait_with_output().unwrap();
    std::fs::remove_file(kubeconfig).ok();
    Some(out)
}

/// Whether the API server still accepts the credentials of `kubeconfig`.
fn accepted(kubeconfig: &std::path::Path) -> bool {
    let out = cluster().kubectl().arg("--kubeconfig").arg(kubeconfig).args(["auth", "whoami"]).output().unwrap();
    out.status.success()
}

fn can_i(ns: &TestNamespace, verb: &str, resource: &str) -> bool {
    let out = cluster()
        .kubectl()
        .args([
            "auth",
            "can-i",
            verb,
            resource,
            "-n",
            ns.name(),
            "--as",
            &format!("system:serviceaccount:{}:installer", ns.name()),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "yes"
}

/// Runs `case` in a fresh namespace until its stop lands before the Deployment's write (three
/// tries; on a loaded machine the first may come too late).
async fn in_time(prefix: &str, case: impl AsyncFn(&TestNamespace) -> Option<()>) {
    for attempt in 1..=3 {
        let ns = fault_namespace(prefix).await;
        let shown = case(&ns).await.is_some();
        kubectl(&["delete", "clusterrole,clusterrolebinding", &format!("kmlf-fault-{}", ns.name())]);
        ns.delete().await;
        if shown {
            return;
        }
        eprintln!("attempt {attempt}: the stop came after the Deployment's write; again in a new namespace");
    }
    panic!("three times the stop came after the Deployment's write");
}

#[tokio::test]
#[ignore = "needs the test cluster with an audit log: scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml"]
async fn a_verb_lost_between_preflight_and_apply_is_named_with_what_was_written() {
    in_time("fault-verb", async |ns| {
        apply(&rbac(ns, VERBS));
        let install = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]);
        let out = install_losing(
            ns,
            &install,
            || apply(&rbac(ns, "[get, list, watch, create, update, delete]")),
            |_| !can_i(ns, "patch", "deployments.apps"),
        )
        .await?;
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        for needle in ["patch", "deployments", "written", "not written", "Deployment/mlflow-mlflow"] {
            assert!(stderr.contains(needle), "the failure does not say {needle:?}: {stderr}");
        }
        apply(&rbac(ns, VERBS));
        let rerun = install_as_installer(ns, &install);
        assert!(rerun.status.success(), "the rerun with the verb back: {}", text(&rerun));
        converged(ns, &Expected::of(&install, ns), &Others::default()).unwrap_or_else(|e| panic!("{e}"));
        figure(
            "a verb lost between preflight and apply",
            &format!("exit 1: {}; rerun converged", first_error(&stderr)),
        );
        Some(())
    })
    .await;
}

#[tokio::test]
#[ignore = "needs the test cluster with an audit log: scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml"]
async fn credentials_revoked_between_preflight_and_apply_are_named_with_what_was_written() {
    in_time("fault-creds", async |ns| {
        apply(&rbac(ns, VERBS));
        let install = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]);
        // deleting the ServiceAccount invalidates its tokens: the next request gets 401
        let revoke = || {
            kubectl(&["delete", "serviceaccount", "installer", "-n", ns.name()]);
        };
        let out = install_losing(ns, &install, revoke, |kubeconfig| !accepted(kubeconfig)).await?;
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        for needle in ["credentials", "written", "not written"] {
            assert!(stderr.contains(needle), "the failure does not say {needle:?}: {stderr}");
        }
        apply(&rbac(ns, VERBS));
        let rerun = install_as_installer(ns, &install);
        assert!(rerun.status.success(), "the rerun with new credentials: {}", text(&rerun));
        converged(ns, &Expected::of(&install, ns), &Others::default()).unwrap_or_else(|e| panic!("{e}"));
        figure(
            "credentials revoked between preflight and apply",
            &format!("exit 1: {}; rerun with new credentials converged", first_error(&stderr)),
        );
        Some(())
    })
    .await;
}

fn install_as_installer(ns: &TestNamespace, install: &Plugin) -> std::process::Output {
    let kubeconfig = installer_kubeconfig(ns);
    let out = install.command_as(ns, &kubeconfig).output().unwrap();
    std::fs::remove_file(kubeconfig).ok();
    out
}

fn first_error(stderr: &str) -> String {
    stderr.lines().find(|l| l.starts_with("error")).unwrap_or_default().chars().take(300).collect()
}
