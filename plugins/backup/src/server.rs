//! What a release's server says about its stores, read from its Deployment's server container
//! (command line and environment) as `mlflow server` reads them: the tracking store, the
//! artifact root the runs' URIs start with and where those artifacts lie, and basic auth.
//! Values read from a Secret stay references (`$(NAME)`), expanded by the kubelet in the Job.

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use kubectl_mlflow_core::cluster::lookup::Found;
use kubectl_mlflow_core::identity::SERVER_CONTAINER;

/// A setting of the server: a literal value, or a reference to one of its env variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Literal(String),
    Env(String),
}

impl Setting {
    /// The value an env variable of the Job takes: the literal, or `$(NAME)` for the kubelet.
    pub fn env_value(&self) -> String {
        match self {
            Setting::Literal(value) => value.clone(),
            Setting::Env(name) => format!("$({name})"),
        }
    }

    fn literal(&self) -> Option<&str> {
        match self {
            Setting::Literal(value) => Some(value),
            Setting::Env(_) => None,
        }
    }
}

/// The stores of a release's server.
#[derive(Debug, Clone)]
pub struct Stores {
    pub deployment: String,
    pub container: Container,
    pub pod: PodSpec,
    pub tracking: Setting,
    /// What the runs' artifact URIs start with (`mlflow-artifacts:` when the server proxies).
    pub artifact_root: Setting,
    /// Where those artifacts lie: a path on a volume or an object-store URI.
    pub artifact_location: Setting,
    pub basic_auth: bool,
    /// The labels that select the server pods (the Deployment's selector).
    pub selector: String,
}

impl Stores {
    /// The env variables the worker reads (`KMLF_*`), after the server's own.
    pub fn worker_env(&self) -> Vec<EnvVar> {
        let var = |name: &str, value: String| EnvVar { name: name.into(), value: Some(value), value_from: None };
        vec![
            var("KMLF_STORE_URI", self.tracking.env_value()),
            var("KMLF_ARTIFACT_ROOT", self.artifact_root.env_value()),
            var("KMLF_ARTIFACT_LOCATION", self.artifact_location.env_value()),
            var("KMLF_AUTH", if self.basic_auth { "1" } else { "0" }.into()),
        ]
    }

    /// The claim mounted where `path` lies, if any.
    pub fn claim_of(&self, path: &str) -> Option<String> {
        let mounts = self.container.volume_mounts.iter().flatten();
        let mount = mounts
            .filter(|m| path == m.mount_path || path.starts_with(&format!("{}/", m.mount_path.trim_end_matches('/'))))
            .max_by_key(|m| m.mount_path.len())?;
        let volumes = self.pod.volumes.iter().flatten();
        let volume = volumes.into_iter().find(|v| v.name == mount.name)?;
        volume.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone())
    }

    /// The tracking store's SQLite file, when the URI is written out.
    pub fn sqlite_path(&self) -> Option<String> {
        let uri = self.tracking.literal()?;
        uri.strip_prefix("sqlite:///").map(|p| p.split('?').next().unwrap_or_default().to_string())
    }

    /// The artifact directory on a volume, when written out.
    pub fn artifact_dir(&self) -> Option<String> {
        let location = self.artifact_location.literal()?;
        let location = location.strip_prefix("file://").unwrap_or(location);
        location.starts_with('/').then(|| location.to_string())
    }
}

/// Reads the stores of the release's server; `Err` says why they cannot be backed up.
pub fn stores(found: &Found) -> Result<Stores, String> {
    let deployment = found.deployment.metadata.name.clone().unwrap_or_default();
    let pod = found
        .deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .ok_or(format!("Deployment/{deployment} has no pod template"))?;
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == SERVER_CONTAINER)
        .or(pod.containers.first())
        .cloned()
        .ok_or(format!("Deployment/{deployment} has no container"))?;
    let line = Line::of(&container);
    let tracking = line.setting("backend-store-uri", "MLFLOW_BACKEND_STORE_URI").ok_or(format!(
        "Deployment/{deployment} names no backend store (--backend-store-uri or MLFLOW_BACKEND_STORE_URI): \
         the server keeps its runs on its own file system, which backup cannot read"
    ))?;
    if let Some(uri) = tracking.literal() {
        check_database(uri, &deployment)?;
    }
    let serving = !line.flag("no-serve-artifacts");
    let destination = line
        .setting("artifacts-destination", "MLFLOW_ARTIFACTS_DESTINATION")
        .unwrap_or(Setting::Literal("./mlartifacts".into()));
    let (artifact_root, artifact_location) = match line.setting("default-artifact-root", "MLFLOW_DEFAULT_ARTIFACT_ROOT")
    {
        Some(root) if !root.literal().is_some_and(|r| r.starts_with("mlflow-artifacts:")) => (root.clone(), root),
        Some(_) => (Setting::Literal("mlflow-artifacts:".into()), destination),
        None if serving => (Setting::Literal("mlflow-artifacts:".into()), destination),
        None => (Setting::Literal("./mlruns".into()), Setting::Literal("./mlruns".into())),
    };
    let basic_auth = line.value("app-name").as_deref() == Some("basic-auth");
    let labels = found.deployment.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    let selector = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    Ok(Stores { deployment, container, pod, tracking, artifact_root, artifact_location, basic_auth, selector })
}

/// MLflow's database stores; a file store is refused.
fn check_database(uri: &str, deployment: &str) -> Result<(), String> {
    let scheme = uri.split(':').next().unwrap_or_default().split('+').next().unwrap_or_default();
    if ["sqlite", "postgresql", "postgres", "mysql", "mssql"].contains(&scheme) && uri.contains("://") {
        return Ok(());
    }
    Err(format!(
        "Deployment/{deployment} keeps its runs in a file store ({}), not a database: backup copies database stores \
         (SQLite, PostgreSQL, MySQL, MSSQL); move it to one first (mlflow migrate-filestore, or kubectl cp the directory)",
        if uri.contains("://") { scheme.to_string() } else { "a directory".into() }
    ))
}

/// The server container's command line and environment.
struct Line<'a> {
    args: Vec<&'a str>,
    env: &'a [EnvVar],
}

impl<'a> Line<'a> {
    fn of(container: &'a Container) -> Line<'a> {
        let args = container.command.iter().chain(container.args.iter()).flatten().map(String::as_str).collect();
        Line { args, env: container.env.as_deref().unwrap_or_default() }
    }

    /// `--name=value` or `--name value`.
    fn value(&self, name: &str) -> Option<String> {
        let flag = format!("--{name}");
        let mut found = None;
        for (i, arg) in self.args.iter().enumerate() {
            if let Some(value) = arg.strip_prefix(&format!("{flag}=")) {
                found = Some(value.to_string());
            } else if *arg == flag {
                found = self.args.get(i + 1).map(|v| v.to_string());
            }
        }
        found
    }

    fn flag(&self, name: &str) -> bool {
        self.args.iter().any(|a| *a == format!("--{name}"))
    }

    /// The option on the command line, else the env variable (a literal, or a reference to it).
    fn setting(&self, option: &str, env: &str) -> Option<Setting> {
        if let Some(value) = self.value(option).filter(|v| !v.is_empty()) {
            return Some(Setting::Literal(value));
        }
        let var = self.env.iter().rev().find(|e| e.name == env)?;
        match (&var.value, &var.value_from) {
            (_, Some(_)) => Some(Setting::Env(env.into())),
            (Some(value), None) if !value.is_empty() => Some(Setting::Literal(value.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(command: &[&str], env: &[(&str, &str)]) -> Container {
        Container {
            name: SERVER_CONTAINER.into(),
            command: Some(command.iter().map(|s| s.to_string()).collect()),
            env: Some(
                env.iter()
                    .map(|(k, v)| EnvVar { name: k.to_string(), value: Some(v.to_string()), value_from: None })
                    .collect(),
            ),
            ..Container::default()
        }
    }

    fn found(container: Container) -> Found {
        let deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "mlflow-mlflow"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [container]}}}
        }))
        .unwrap();
        Found { deployment, service: None, cron_job: None }
    }

    #[test]
    fn a_proxying_server_keeps_its_artifacts_at_the_destination() {
        let c = container(
            &["mlflow", "server", "--app-name=basic-auth"],
            &[
                ("MLFLOW_BACKEND_STORE_URI", "sqlite:////mlflow/mlflow.db"),
                ("MLFLOW_ARTIFACTS_DESTINATION", "/mlflow/artifacts"),
            ],
        );
        let stores = stores(&found(c)).unwrap();
        assert_eq!(stores.artifact_root, Setting::Literal("mlflow-artifacts:".into()));
        assert_eq!(stores.artifact_dir().as_deref(), Some("/mlflow/artifacts"));
        assert_eq!(stores.sqlite_path().as_deref(), Some("/mlflow/mlflow.db"));
        assert!(stores.basic_auth);
    }

    #[test]
    fn a_default_root_elsewhere_is_both_root_and_location() {
        let c = container(
            &["mlflow", "server", "--backend-store-uri", "postgresql://db/m", "--default-artifact-root=s3://b/p"],
            &[],
        );
        let stores = stores(&found(c)).unwrap();
        assert_eq!(stores.artifact_root, Setting::Literal("s3://b/p".into()));
        assert_eq!(stores.artifact_location, Setting::Literal("s3://b/p".into()));
        assert!(!stores.basic_auth);
    }

    #[test]
    fn a_file_store_or_none_is_refused() {
        let none = stores(&found(container(&["mlflow", "server"], &[]))).unwrap_err();
        assert!(none.contains("names no backend store"), "{none}");
        let file = stores(&found(container(&["mlflow", "server", "--backend-store-uri=/mlflow/mlruns"], &[])));
        assert!(file.unwrap_err().contains("file store"));
    }
}
