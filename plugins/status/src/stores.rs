//! Where the release keeps its data, read from the server container's command line and
//! environment (a value, or a Secret or ConfigMap key it names): the backend and registry stores,
//! the artifact locations, basic auth with its database, and the single sign-on in front of the
//! server (its oauth2-proxy container's command line). URIs are described — kind, host,
//! database — never shown: credentials stay out of every output.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use kubectl_mlflow_core::identity::SERVER_CONTAINER;
use kubectl_mlflow_core::oidc;
use kubectl_mlflow_core::stores::{describe, location};

use crate::document::{Auth, SignIn, Store, Stores};

/// A Secret or a ConfigMap the stores are read from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Secret(String),
    ConfigMap(String),
}

/// The data of each source read, or why it could not be.
pub type Sources = BTreeMap<Source, Result<BTreeMap<String, String>, String>>;

/// MLflow's own default of the auth database, relative to the server's working directory.
const DEFAULT_AUTH_DATABASE: &str = "sqlite:///basic_auth.db";

/// The server container and its pod.
pub struct Server<'a> {
    pod: &'a PodSpec,
    container: &'a Container,
}

impl<'a> Server<'a> {
    pub fn of(deployment: &'a Deployment) -> Option<Server<'a>> {
        let pod = deployment.spec.as_ref()?.template.spec.as_ref()?;
        let container = pod.containers.iter().find(|c| c.name == SERVER_CONTAINER).or(pod.containers.first())?;
        Some(Server { pod, container })
    }

    pub fn container_name(&self) -> &str {
        &self.container.name
    }

    fn words(&self) -> Vec<&str> {
        self.container
            .command
            .iter()
            .flatten()
            .chain(self.container.args.iter().flatten())
            .map(String::as_str)
            .collect()
    }

    /// The value of `--flag=value` or `--flag value` on the command line.
    pub fn argument(&self, flag: &str) -> Option<String> {
        let words = self.words();
        words.iter().enumerate().find_map(|(i, word)| match word.strip_prefix(flag) {
            Some(value) if value.starts_with('=') => Some(value[1..].to_string()),
            Some("") => words.get(i + 1).map(|v| v.to_string()),
            _ => None,
        })
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.words().contains(&flag)
    }

    /// The last entry of that name (as the kubelet takes it).
    fn env(&self, name: &str) -> Option<&EnvVar> {
        self.container.env.iter().flatten().rev().find(|e| e.name == name)
    }

    /// The Secrets and ConfigMaps the stores and the auth configuration come from.
    pub fn sources(&self) -> BTreeSet<Source> {
        let mut sources = BTreeSet::new();
        for var in STORE_VARS {
            if let Some(from) = self.env(var).and_then(|e| e.value_from.as_ref()) {
                sources.extend(from.secret_key_ref.as_ref().map(|r| Source::Secret(r.name.clone())));
                sources.extend(from.config_map_key_ref.as_ref().map(|r| Source::ConfigMap(r.name.clone())));
            }
        }
        for from in self.container.env_from.iter().flatten() {
            sources.extend(from.secret_ref.as_ref().map(|r| Source::Secret(r.name.clone())));
            sources.extend(from.config_map_ref.as_ref().map(|r| Source::ConfigMap(r.name.clone())));
        }
        sources.extend(self.auth_file().map(|(source, _)| source));
        sources
    }

    /// Where `MLFLOW_AUTH_CONFIG_PATH` points: the volume's Secret or ConfigMap and its key.
    fn auth_file(&self) -> Option<(Source, String)> {
        let path = self.env("MLFLOW_AUTH_CONFIG_PATH")?.value.clone()?;
        let mount = self.container.volume_mounts.iter().flatten().find(|m| {
            path.strip_prefix(m.mount_path.trim_end_matches('/')).is_some_and(|rest| rest.starts_with('/'))
        })?;
        let file = path[mount.mount_path.trim_end_matches('/').len() + 1..].to_string();
        let volume = self.pod.volumes.iter().flatten().find(|v| v.name == mount.name)?;
        if let Some(secret) = &volume.secret {
            let key = secret.items.iter().flatten().find(|i| i.path == file).map_or(file.clone(), |i| i.key.clone());
            return Some((Source::Secret(secret.secret_name.clone()?), key));
        }
        let config_map = volume.config_map.as_ref()?;
        let key = config_map.items.iter().flatten().find(|i| i.path == file).map_or(file.clone(), |i| i.key.clone());
        Some((Source::ConfigMap(config_map.name.clone()), key))
    }
}

const STORE_VARS: [&str; 4] = [
    "MLFLOW_BACKEND_STORE_URI",
    "MLFLOW_REGISTRY_STORE_URI",
    "MLFLOW_ARTIFACTS_DESTINATION",
    "MLFLOW_DEFAULT_ARTIFACT_ROOT",
];

/// A URI as the server gets it, and where from.
struct Resolved {
    text: Option<String>,
    source: &'static str,
    name: Option<String>,
    key: Option<String>,
    note: Option<String>,
}

impl Resolved {
    fn plain(text: String, source: &'static str) -> Resolved {
        Resolved { text: Some(text), source, name: None, key: None, note: None }
    }

    fn store(self) -> Store {
        Store {
            described: self.text.as_deref().map(describe),
            source: self.source.into(),
            source_name: self.name,
            source_key: self.key,
            note: self.note,
        }
    }
}

/// The command-line flag wins over its variable, as `mlflow server` takes them.
fn resolve(server: &Server, sources: &Sources, flag: &str, var: &str) -> Option<Resolved> {
    if let Some(value) = server.argument(flag) {
        return Some(Resolved::plain(value, "argument"));
    }
    let Some(env) = server.env(var) else { return from_env_from(server, sources, var) };
    if let Some(value) = &env.value {
        return Some(Resolved::plain(value.clone(), "value"));
    }
    let from = env.value_from.as_ref()?;
    let (source, label, key) = match (&from.secret_key_ref, &from.config_map_key_ref) {
        (Some(r), _) => (Source::Secret(r.name.clone()), "secret", r.key.clone()),
        (None, Some(r)) => (Source::ConfigMap(r.name.clone()), "configMap", r.key.clone()),
        _ => {
            let note = Some("from a field of the pod: not read".to_string());
            return Some(Resolved { text: None, source: "field", name: None, key: None, note });
        }
    };
    Some(read(sources, &source, label, &key))
}

/// A variable that only an `envFrom` source can hold.
fn from_env_from(server: &Server, sources: &Sources, var: &str) -> Option<Resolved> {
    for from in server.container.env_from.iter().flatten() {
        let prefixed = var.strip_prefix(from.prefix.as_deref().unwrap_or_default())?;
        let (source, label) = match (&from.secret_ref, &from.config_map_ref) {
            (Some(r), _) => (Source::Secret(r.name.clone()), "secret"),
            (None, Some(r)) => (Source::ConfigMap(r.name.clone()), "configMap"),
            _ => continue,
        };
        if let Some(Ok(data)) = sources.get(&source) {
            if data.contains_key(prefixed) {
                return Some(read(sources, &source, label, prefixed));
            }
        }
    }
    None
}

fn read(sources: &Sources, source: &Source, label: &'static str, key: &str) -> Resolved {
    let name = match source {
        Source::Secret(name) | Source::ConfigMap(name) => name.clone(),
    };
    let (text, note) = match sources.get(source) {
        Some(Ok(data)) => match data.get(key) {
            Some(text) => (Some(text.trim().to_string()), None),
            None => (None, Some(format!("the key {key} is not there"))),
        },
        Some(Err(why)) => (None, Some(why.clone())),
        None => (None, Some("not read".into())),
    };
    Resolved { text, source: label, name: Some(name), key: Some(key.into()), note }
}

pub fn stores(server: &Server, sources: &Sources) -> Stores {
    let text = |flag, var| resolve(server, sources, flag, var).and_then(|r| r.text).map(|t| location(&t));
    let backend = resolve(server, sources, "--backend-store-uri", "MLFLOW_BACKEND_STORE_URI").map(Resolved::store);
    let registry = resolve(server, sources, "--registry-store-uri", "MLFLOW_REGISTRY_STORE_URI").map(Resolved::store);
    Stores {
        backend,
        registry,
        artifacts_destination: text("--artifacts-destination", "MLFLOW_ARTIFACTS_DESTINATION"),
        default_artifact_root: text("--default-artifact-root", "MLFLOW_DEFAULT_ARTIFACT_ROOT"),
        serves_artifacts: !server.has_flag("--no-serve-artifacts"),
    }
}

pub fn auth(server: &Server, sources: &Sources) -> Auth {
    let single_sign_on = sign_in(server.pod);
    let on = server.argument("--app-name").as_deref() == Some("basic-auth");
    if !on {
        return Auth { basic_auth: false, admin_user: None, database: None, single_sign_on };
    }
    let ini = server.auth_file().map(|(source, key)| {
        let label = if matches!(source, Source::Secret(_)) { "secret" } else { "configMap" };
        read(sources, &source, label, &key)
    });
    let setting = |name: &str| ini.as_ref().and_then(|r| r.text.as_deref()).and_then(|text| ini_value(text, name));
    let admin_user =
        server.env("MLFLOW_AUTH_ADMIN_USERNAME").and_then(|e| e.value.clone()).or_else(|| setting("admin_username"));
    let uri = setting("database_uri").unwrap_or_else(|| DEFAULT_AUTH_DATABASE.into());
    let database = match ini {
        Some(file) if file.text.is_some() => Resolved { text: Some(uri), ..file }.store(),
        Some(file) => file.store(),
        None => Store {
            note: Some("MLflow's default, relative to the server's working directory".into()),
            ..Resolved::plain(DEFAULT_AUTH_DATABASE.into(), "default").store()
        },
    };
    Auth {
        basic_auth: true,
        admin_user: Some(admin_user.unwrap_or_else(|| "admin".into())),
        database: Some(database),
        single_sign_on,
    }
}

/// The sign-in in front of the server: its oauth2-proxy container's issuer and who it admits.
fn sign_in(pod: &PodSpec) -> Option<SignIn> {
    let proxy = pod.containers.iter().find(|c| c.name == oidc::CONTAINER)?;
    let words: Vec<&str> = proxy.command.iter().chain(proxy.args.iter()).flatten().map(String::as_str).collect();
    let all = |flag: &str| -> Vec<String> {
        let prefix = format!("{flag}=");
        words.iter().filter_map(|w| w.strip_prefix(prefix.as_str())).map(str::to_string).collect()
    };
    Some(SignIn {
        issuer: all("--oidc-issuer-url").pop().unwrap_or_default(),
        email_domains: all("--email-domain"),
        allowed_groups: all("--allowed-group"),
    })
}

/// `name = value` of an ini file's `[mlflow]` section.
fn ini_value(text: &str, name: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[mlflow]";
        } else if let Some((key, value)) = line.split_once('=').filter(|_| in_section) {
            if key.trim() == name {
                return Some(value.trim().to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(container: serde_json::Value, volumes: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({"spec": {"selector": {}, "template": {"spec": {
            "containers": [container], "volumes": volumes
        }}}}))
        .unwrap()
    }

    #[test]
    fn a_uri_from_a_secret_is_described_without_credentials() {
        let d = deployment(
            json!({"name": "mlflow", "command": ["mlflow", "server", "--port=5000"],
                   "env": [{"name": "MLFLOW_BACKEND_STORE_URI", "valueFrom": {"secretKeyRef": {"name": "mlflow-db-secret", "key": "uri"}}},
                           {"name": "MLFLOW_ARTIFACTS_DESTINATION", "value": "s3://bucket/mlflow"}]}),
            json!([]),
        );
        let server = Server::of(&d).unwrap();
        assert_eq!(server.sources(), BTreeSet::from([Source::Secret("mlflow-db-secret".into())]));
        let data =
            BTreeMap::from([("uri".to_string(), "postgresql://mlflow:hunter2@postgres:5432/mlflow\n".to_string())]);
        let sources = Sources::from([(Source::Secret("mlflow-db-secret".into()), Ok(data))]);
        let stores = stores(&server, &sources);
        let backend = stores.backend.unwrap();
        assert_eq!(backend.described.unwrap().to_string(), "PostgreSQL database mlflow on postgres:5432");
        assert_eq!((backend.source.as_str(), backend.source_name.as_deref()), ("secret", Some("mlflow-db-secret")));
        assert_eq!(stores.artifacts_destination.as_deref(), Some("s3://bucket/mlflow"));
        assert!(stores.registry.is_none() && stores.serves_artifacts);
        // unreadable: the Secret is named, the reason given
        let sources = Sources::from([(Source::Secret("mlflow-db-secret".into()), Err("forbidden".into()))]);
        let backend = super::stores(&server, &sources).backend.unwrap();
        assert!(backend.described.is_none() && backend.note.as_deref() == Some("forbidden"));
    }

    #[test]
    fn the_sign_in_is_read_from_the_proxys_command_line() {
        let mut d = deployment(json!({"name": "mlflow", "command": ["mlflow", "server"]}), json!([]));
        let plain = auth(&Server::of(&d).unwrap(), &Sources::new());
        assert_eq!((plain.basic_auth, plain.single_sign_on), (false, None));
        let proxy = json!({"name": "oauth2-proxy", "args": ["--provider=oidc", "--oidc-issuer-url=https://login.example.com/realms/ml",
            "--email-domain=*", "--allowed-group=mlflow-users", "--allowed-group=admins", "--skip-auth-route=GET=^/health$"]});
        let pod = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
        pod.containers.push(serde_json::from_value(proxy).unwrap());
        let sign_in = auth(&Server::of(&d).unwrap(), &Sources::new()).single_sign_on.unwrap();
        assert_eq!(
            sign_in,
            SignIn {
                issuer: "https://login.example.com/realms/ml".into(),
                email_domains: vec!["*".into()],
                allowed_groups: vec!["mlflow-users".into(), "admins".into()],
            }
        );
    }

    #[test]
    fn arguments_win_and_basic_auth_reads_its_ini() {
        let d = deployment(
            json!({"name": "mlflow", "command": ["mlflow", "server", "--backend-store-uri", "sqlite:////m/m.db", "--app-name=basic-auth"],
                   "env": [{"name": "MLFLOW_BACKEND_STORE_URI", "value": "sqlite:////other.db"},
                           {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": "/etc/mlflow/auth/basic_auth.ini"},
                           {"name": "MLFLOW_AUTH_ADMIN_USERNAME", "value": "root"}],
                   "volumeMounts": [{"name": "auth-config", "mountPath": "/etc/mlflow/auth"}]}),
            json!([{"name": "auth-config", "secret": {"secretName": "mlflow-mlflow-auth"}}]),
        );
        let server = Server::of(&d).unwrap();
        assert!(server.sources().contains(&Source::Secret("mlflow-mlflow-auth".into())));
        let ini = "[mlflow]\ndefault_permission = READ\ndatabase_uri = postgresql://a:pw@db:5432/auth\nadmin_username = admin\n";
        let sources = Sources::from([(
            Source::Secret("mlflow-mlflow-auth".into()),
            Ok(BTreeMap::from([("basic_auth.ini".to_string(), ini.to_string())])),
        )]);
        let backend = stores(&server, &sources).backend.unwrap();
        assert_eq!(
            (backend.source.as_str(), backend.described.unwrap().database.as_deref()),
            ("argument", Some("/m/m.db"))
        );
        let auth = auth(&server, &sources);
        assert_eq!((auth.basic_auth, auth.admin_user.as_deref()), (true, Some("root")));
        let database = auth.database.unwrap();
        assert_eq!(database.described.unwrap().to_string(), "PostgreSQL database auth on db:5432");
        assert_eq!(database.source_key.as_deref(), Some("basic_auth.ini"));
    }
}
