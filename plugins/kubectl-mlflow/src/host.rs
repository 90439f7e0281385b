//! Who runs the binary: kubectl (or a user) as `kubectl-mlflow`, or helm as its `mlflow` plugin.
//! That decides the name usage shows and, under helm, the engine of install.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The name of the helm plugin (plugins/helm/plugin.yaml), which helm passes as HELM_PLUGIN_NAME.
const HELM_PLUGIN: &str = "mlflow";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// How the user calls it: `kubectl mlflow`, `helm mlflow`, or the file's name.
    pub prog: String,
    /// Under helm: the helm binary that runs us (HELM_BIN), for install's helm engine.
    pub helm: Option<OsString>,
}

impl Host {
    pub fn detect(argv0: &OsStr, env: impl Fn(&str) -> Option<OsString>) -> Host {
        if env("HELM_PLUGIN_NAME").as_deref() == Some(OsStr::new(HELM_PLUGIN)) {
            let helm = env("HELM_BIN").unwrap_or_else(|| "helm".into());
            return Host { prog: format!("helm {HELM_PLUGIN}"), helm: Some(helm) };
        }
        Host { prog: prog_name(argv0), helm: None }
    }
}

/// kubectl's plugin naming backwards: `kubectl-mlflow` is `kubectl mlflow` (a dash separates
/// words, an underscore stands for a dash); any other file name stays as it is.
fn prog_name(argv0: &OsStr) -> String {
    let file = Path::new(argv0).file_name().unwrap_or(argv0).to_string_lossy();
    let file = file.strip_suffix(".exe").unwrap_or(&file);
    match file.strip_prefix("kubectl-") {
        Some(words) if !words.is_empty() => format!("kubectl {}", words.replace('-', " ").replace('_', "-")),
        _ => file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(argv0: &str, vars: &[(&str, &str)]) -> Host {
        Host::detect(OsStr::new(argv0), |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into()))
    }

    #[test]
    fn kubectl_runs_the_plugin_by_its_path() {
        assert_eq!(detect("/home/u/.krew/bin/kubectl-mlflow", &[]).prog, "kubectl mlflow");
        assert_eq!(detect("kubectl-mlflow-install", &[]).prog, "kubectl mlflow install");
        assert_eq!(detect("kubectl-my_tool", &[]).prog, "kubectl my-tool");
        assert_eq!(detect("./mlflowctl", &[]).prog, "mlflowctl");
    }

    #[test]
    fn helm_runs_its_plugin_with_its_own_binary() {
        let host = detect("/p/kubectl-mlflow", &[("HELM_PLUGIN_NAME", "mlflow"), ("HELM_BIN", "/opt/helm4/helm")]);
        assert_eq!(host, Host { prog: "helm mlflow".into(), helm: Some("/opt/helm4/helm".into()) });
        // another helm plugin calling us is not helm calling us
        assert_eq!(detect("kubectl-mlflow", &[("HELM_PLUGIN_NAME", "diff")]).helm, None);
    }
}
