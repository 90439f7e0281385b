//! The `--helm` engine: the same release through a real helm, with the chart embedded in this
//! binary (or the same chart pulled from an OCI registry, `--chart`) and the same merged values,
//! so `helm list` shows it.

use std::path::{Path, PathBuf};
use tokio::process::Command;

use crate::problem::Problem;
use kubectl_mlflow_model::Failure;

/// The oldest helm the chart supports.
pub const MIN_HELM: (u32, u32) = (3, 8);

/// The helm to run: the one given, else the first on PATH.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf, Problem> {
    match explicit {
        Some(path) => which::which(path)
            .map_err(|_| Problem::at("", format!("--helm-binary {}: not an executable", path.display()))),
        None => which::which("helm")
            .map_err(|_| Problem::at("", "--helm: no helm on PATH (install helm 3.8 or newer, or give --helm-binary)")),
    }
}

/// Checks the helm version, returning it (`v3.17.3`).
pub async fn check_version(helm: &Path) -> Result<String, Problem> {
    let output = Command::new(helm)
        .args(["version", "--template", "{{.Version}}"])
        .output()
        .await
        .map_err(|err| Problem::at("", format!("cannot run {}: {err}", helm.display())))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let numbers: Vec<u32> =
        version.trim_start_matches('v').split(['.', '+', '-']).take(2).filter_map(|n| n.parse().ok()).collect();
    match numbers[..] {
        [major, minor] if (major, minor) >= MIN_HELM => Ok(version),
        [_, _] => Err(Problem::at(
            "",
            format!(
                "{} is helm {version}; the chart needs helm {}.{} or newer",
                helm.display(),
                MIN_HELM.0,
                MIN_HELM.1
            ),
        )),
        _ => Err(Problem::at("", format!("cannot tell the version of {} (it printed {version:?})", helm.display()))),
    }
}

pub struct HelmRun<'a> {
    pub helm: &'a Path,
    pub release: &'a str,
    pub namespace: &'a str,
    /// `--kube-context`, when the command was given one.
    pub context: Option<&'a str>,
    /// `--kubeconfig`, when the command was given one.
    pub kubeconfig: Option<&'a str>,
    pub values_yaml: &'a str,
    pub create_namespace: bool,
    pub dry_run_server: bool,
    /// A chart pulled from a registry (`--chart`) to install instead of the embedded one.
    pub chart: Option<&'a Path>,
}

/// `helm upgrade --install` of the embedded chart, or of the pulled one. Waiting is left to the
/// caller, which watches and explains failures better than `helm --wait`.
pub async fn upgrade_install(run: &HelmRun<'_>) -> Result<String, Failure> {
    let dir =
        tempfile::tempdir().map_err(|err| Failure::Failed(format!("cannot make a temporary directory: {err}")))?;
    let chart = match run.chart {
        Some(pulled) => pulled.to_path_buf(),
        None => {
            let chart = dir.path().join("mlflow");
            super::chart::extract(&chart).map_err(|err| Failure::Failed(format!("cannot write the chart: {err}")))?;
            chart
        }
    };
    let values = dir.path().join("values.yaml");
    write_private(&values, run.values_yaml)
        .map_err(|err| Failure::Failed(format!("cannot write the values: {err}")))?;
    let target = Target {
        helm: run.helm,
        release: run.release,
        namespace: run.namespace,
        context: run.context,
        kubeconfig: run.kubeconfig,
    };
    let mut cmd = target.command(&["upgrade", "--install"]);
    cmd.arg(&chart).arg("--values").arg(&values);
    if run.create_namespace {
        cmd.arg("--create-namespace");
    }
    if run.dry_run_server {
        cmd.arg("--dry-run=server");
    }
    target.output(cmd, "helm upgrade --install").await
}

/// `helm pull REFERENCE --untar` into `into` (the chart lands in `into/<chart name>`), with
/// helm's registry configuration (`helm registry login`).
pub async fn pull(
    helm: &Path,
    reference: &str,
    version: Option<&str>,
    plain_http: bool,
    into: &Path,
) -> Result<(), Failure> {
    let mut cmd = Command::new(helm);
    cmd.args(["pull", reference, "--untar", "--destination"]).arg(into);
    if let Some(version) = version {
        cmd.args(["--version", version]);
    }
    if plain_http {
        cmd.arg("--plain-http");
    }
    let output = cmd.output().await.map_err(|err| Failure::Failed(format!("cannot run {}: {err}", helm.display())))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(Failure::Failed(format!("helm pull {reference} failed: {said}{}", pull_advice(&said))));
    }
    Ok(())
}

/// What to do about a failed pull, from helm's words.
fn pull_advice(said: &str) -> &'static str {
    let said = said.to_lowercase();
    if said.contains("unauthorized") || said.contains("401") || said.contains("denied") {
        " (log in first: helm registry login <registry>)"
    } else if said.contains("http response to https client") {
        " (the registry speaks plain HTTP: add --plain-http)"
    } else if said.contains("not found") {
        " (check the reference and --version)"
    } else {
        ""
    }
}

/// A release helm acts on, and where.
pub struct Target<'a> {
    pub helm: &'a Path,
    pub release: &'a str,
    pub namespace: &'a str,
    /// `--kube-context`, when the command was given one.
    pub context: Option<&'a str>,
    /// `--kubeconfig`, when the command was given one.
    pub kubeconfig: Option<&'a str>,
}

impl Target<'_> {
    /// `helm <verb…> <release> --namespace … [--kube-context …] [--kubeconfig …]`, with helm's own
    /// namespace and context variables removed so only the flags count.
    fn command(&self, verb: &[&str]) -> Command {
        let mut cmd = Command::new(self.helm);
        cmd.args(verb).arg(self.release).args(["--namespace", self.namespace]);
        if let Some(context) = self.context {
            cmd.args(["--kube-context", context]);
        }
        if let Some(kubeconfig) = self.kubeconfig {
            cmd.args(["--kubeconfig", kubeconfig]);
        }
        cmd.env_remove("HELM_NAMESPACE").env_remove("HELM_KUBECONTEXT");
        cmd
    }

    async fn output(&self, mut cmd: Command, what: &str) -> Result<String, Failure> {
        let output =
            cmd.output().await.map_err(|err| Failure::Failed(format!("cannot run {}: {err}", self.helm.display())))?;
        if !output.status.success() {
            return Err(Failure::Failed(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim())));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// `helm get values`: the user values helm stored for a release, as YAML (`null` when none).
pub async fn get_values(target: &Target<'_>) -> Result<String, Failure> {
    let mut cmd = target.command(&["get", "values"]);
    cmd.args(["--output", "yaml"]);
    target.output(cmd, &format!("helm get values {}", target.release)).await
}

/// `helm uninstall` of a release (objects with `helm.sh/resource-policy: keep` stay). Waiting is
/// left to the caller, which watches the objects go.
pub async fn uninstall(target: &Target<'_>, timeout: std::time::Duration) -> Result<String, Failure> {
    let mut cmd = target.command(&["uninstall"]);
    cmd.args(["--timeout", &kubectl_mlflow_model::duration::format_duration(timeout)]);
    target.output(cmd, &format!("helm uninstall {}", target.release)).await
}

/// The manifest helm stored for the release's current revision (`helm get manifest`): what
/// `helm uninstall` deletes, and where it reads `helm.sh/resource-policy` from.
pub async fn manifest(target: &Target<'_>) -> Result<String, Failure> {
    let cmd = target.command(&["get", "manifest"]);
    target.output(cmd, &format!("helm get manifest {}", target.release)).await
}

/// The values may hold credentials: only the user may read the file.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in that prints a version the way `helm version --template` does.
    fn helm_printing(version: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("helm");
        std::fs::write(&path, format!("#!/bin/sh\nprintf '%s' '{version}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, path)
    }

    #[tokio::test]
    async fn helm_older_than_3_8_is_refused() {
        let (_dir, old) = helm_printing("v3.7.2");
        let message = check_version(&old).await.unwrap_err().to_string();
        assert!(message.contains("is helm v3.7.2; the chart needs helm 3.8 or newer"), "{message}");
        let (_dir, new) = helm_printing("v4.1.4");
        assert_eq!(check_version(&new).await.unwrap(), "v4.1.4");
    }
}
