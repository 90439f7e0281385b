//! The cluster layer: where a command points (the kubeconfig's context and namespace, as kubectl
//! resolves them, read once per command), the client ([`client`]), finding a release by its labels
//! ([`lookup`], [`releases`]), what its server serves ([`served`]), its pods' states ([`pods`]),
//! where a Job beside its volumes runs ([`placement`]), a
//! connection to a pod's port ([`forward`], with the `forward` feature) and kube errors turned
//! into advice ([`describe`]).

pub mod client;
#[cfg(feature = "forward")]
pub mod forward;
pub mod lookup;
pub mod placement;
pub mod pods;
pub mod releases;
pub mod server_settings;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kubectl_mlflow_model::Failure;

/// The cluster flags, without clap: what a command was told to point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub namespace: Option<String>,
    pub context: Option<String>,
    /// An explicit kubeconfig file; else `$KUBECONFIG`, else `~/.kube/config`.
    pub kubeconfig: Option<String>,
}

/// The kubeconfig read once, with the namespace resolved: enough to render (no connection yet).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub target: Target,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// `None` when there is no kubeconfig (rendering needs none; connecting does).
    kubeconfig: Option<Kubeconfig>,
}

/// A command's connection: client, namespace and context together, resolved once.
#[derive(Clone)]
pub struct Session {
    pub client: kube::Client,
    pub namespace: String,
    /// The `--context` given, if any (helm gets it too).
    pub context: Option<String>,
    /// The `--kubeconfig` given, if any (helm gets it too).
    pub kubeconfig: Option<String>,
}

impl Resolved {
    /// Reads the kubeconfig and resolves the namespace. A missing kubeconfig is not an error here
    /// (rendering needs no cluster); an unreadable one, or an unknown `--context`, is.
    pub fn read(target: &Target) -> Result<Resolved, Failure> {
        let kubeconfig = read_kubeconfig(target)?;
        let namespace = namespace(target, kubeconfig.as_ref())?;
        Ok(Resolved { target: target.clone(), namespace, kubeconfig })
    }

    /// A client for the context the flags name.
    pub async fn connect(self) -> Result<Session, Failure> {
        let kubeconfig = self.kubeconfig.ok_or_else(|| {
            Failure::input("no kubeconfig found (set KUBECONFIG or --kubeconfig, or create ~/.kube/config)")
        })?;
        let options = KubeConfigOptions { context: self.target.context.clone(), ..Default::default() };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|err| Failure::input(format!("the kubeconfig cannot be used: {}", chain(&err))))?;
        config.headers.push((http::header::USER_AGENT, user_agent()));
        let client =
            client::make(config).map_err(|err| Failure::input(format!("cannot make a Kubernetes client: {err}")))?;
        Ok(Session {
            client,
            namespace: self.namespace,
            context: self.target.context,
            kubeconfig: self.target.kubeconfig,
        })
    }
}

/// What the API server's audit log and request metrics name this tool by, as kubectl names
/// itself: `kubectl-mlflow/v0.1.0 (install)`, the command taken from how the binary was called
/// (`kubectl-mlflow-install`, krew's `kubectl-mlflow_install`, or `kubectl-mlflow install`).
pub fn user_agent() -> http::HeaderValue {
    let args: Vec<String> = std::env::args().take(2).collect();
    let command = command_of(args.first().map(String::as_str).unwrap_or_default(), args.get(1).map(String::as_str));
    http::HeaderValue::from_str(&format!("kubectl-mlflow/v{} ({command})", env!("CARGO_PKG_VERSION")))
        .unwrap_or(http::HeaderValue::from_static("kubectl-mlflow"))
}

fn command_of<'a>(binary: &'a str, first_arg: Option<&'a str>) -> &'a str {
    let name = std::path::Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let command = match name.strip_prefix("kubectl-mlflow") {
        Some("") => first_arg.unwrap_or_default(),
        Some(rest) => rest.trim_start_matches(['-', '_']),
        None => "",
    };
    match command.starts_with(|c: char| c.is_ascii_alphanumeric())
        && command.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        true => command,
        false => "mlflow",
    }
}

impl Session {
    /// Reads the kubeconfig once and connects: what most commands start with.
    pub async fn connect(target: &Target) -> Result<Session, Failure> {
        Resolved::read(target)?.connect().await
    }
}

fn namespace(target: &Target, config: Option<&Kubeconfig>) -> Result<String, Failure> {
    if let Some(namespace) = &target.namespace {
        return Ok(namespace.clone());
    }
    let Some(config) = config else { return Ok("default".into()) };
    let context_name = target.context.clone().or(config.current_context.clone());
    let context = config.contexts.iter().find(|c| Some(&c.name) == context_name.as_ref());
    if target.context.is_some() && context.is_none() {
        return Err(Failure::input(format!(
            "--context {}: no such context in the kubeconfig (see kubectl config get-contexts)",
            context_name.unwrap_or_default()
        )));
    }
    Ok(context.and_then(|c| c.context.as_ref()).and_then(|c| c.namespace.clone()).unwrap_or_else(|| "default".into()))
}

fn read_kubeconfig(target: &Target) -> Result<Option<Kubeconfig>, Failure> {
    if let Some(path) = &target.kubeconfig {
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|err| Failure::input(format!("--kubeconfig {path}: {}", chain(&err))));
    }
    match Kubeconfig::read() {
        Ok(config) => Ok(Some(config)),
        Err(KubeconfigError::FindPath) | Err(KubeconfigError::ReadConfig(..)) => Ok(None),
        Err(err) => Err(Failure::input(format!("the kubeconfig cannot be read: {}", chain(&err)))),
    }
}

/// An error with its causes: `a: b: c`.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

/// The API server's message, without kube's wrapping.
pub fn describe(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::command_of;

    #[test]
    fn the_user_agent_names_the_command_however_the_binary_was_called() {
        assert_eq!(command_of("/usr/bin/kubectl-mlflow-install", Some("-n")), "install");
        assert_eq!(command_of("kubectl-mlflow_uninstall", None), "uninstall");
        assert_eq!(command_of("/x/kubectl-mlflow", Some("gc")), "gc");
        assert_eq!(command_of("/x/kubectl-mlflow", Some("--help")), "mlflow");
        assert_eq!(command_of("/x/kubectl-mlflow", Some("a b")), "mlflow");
        assert_eq!(command_of("other", Some("gc")), "mlflow");
    }
}
