//! Faults in the test cluster itself: one component restarted (`scripts/test-cluster restart`),
//! and the API server's audit log.

use std::process::{Command, Stdio};

use crate::audit::AuditLog;
use crate::{repo_root, Cluster};

impl Cluster {
    /// SIGKILLs one component of the running cluster (`kube-apiserver`, `containerd`, `kubelet`,
    /// …), starts it again `down_for_secs` later with the same flags and waits until it serves
    /// (`scripts/test-cluster restart`). The cluster is the one of this kubeconfig: its state
    /// dir is the kubeconfig's directory; the other ports come from the environment, as they
    /// did for `up`.
    pub fn restart(&self, component: &str, down_for_secs: u32) -> Result<(), String> {
        let dir = self.kubeconfig().parent().ok_or("the kubeconfig has no directory")?;
        let mut cmd = Command::new(repo_root().join("scripts/test-cluster"));
        cmd.args(["restart", component, "--down-for", &down_for_secs.to_string()]);
        if std::env::var_os("KMLF_CLUSTER_DIR").is_none() {
            cmd.env("KMLF_CLUSTER_DIR", dir);
        }
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("run scripts/test-cluster: {e}"))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!(
                "scripts/test-cluster restart {component} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
    }

    /// The API server's audit log, when the cluster was started with `up --audit-policy`.
    pub fn audit_log(&self) -> Option<AuditLog> {
        AuditLog::beside(self.kubeconfig())
    }
}
