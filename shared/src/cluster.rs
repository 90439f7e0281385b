//! Where a command points: the kubeconfig's context and namespace, as kubectl resolves them.

use kube::config::{Kubeconfig, KubeconfigError};

use crate::cli::ClusterArgs;
use crate::problem::Problem;

/// The namespace a command works in: `-n`, else the context's namespace, else `default`.
/// A missing kubeconfig is not an error here (rendering needs no cluster); an unreadable one is.
pub fn namespace(args: &ClusterArgs) -> Result<String, Problem> {
    if let Some(namespace) = &args.namespace {
        return Ok(namespace.clone());
    }
    let config = match read_kubeconfig(args) {
        Ok(Some(config)) => config,
        Ok(None) => return Ok("default".into()),
        Err(problem) => return Err(problem),
    };
    let context_name = args.context.clone().or(config.current_context.clone());
    let context = config.contexts.iter().find(|c| Some(&c.name) == context_name.as_ref());
    if args.context.is_some() && context.is_none() {
        return Err(Problem::at(
            "",
            format!("--context {}: no such context in the kubeconfig (see kubectl config get-contexts)", context_name.unwrap_or_default()),
        ));
    }
    Ok(context
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.namespace.clone())
        .unwrap_or_else(|| "default".into()))
}

fn read_kubeconfig(args: &ClusterArgs) -> Result<Option<Kubeconfig>, Problem> {
    if let Some(path) = &args.kubeconfig {
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|err| Problem::at("", format!("--kubeconfig {path}: {}", describe(&err))));
    }
    match Kubeconfig::read() {
        Ok(config) => Ok(Some(config)),
        Err(KubeconfigError::FindPath) | Err(KubeconfigError::ReadConfig(..)) => Ok(None),
        Err(err) => Err(Problem::at("", format!("the kubeconfig cannot be read: {}", describe(&err)))),
    }
}

fn describe(err: &KubeconfigError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

/// A client for the kubeconfig context the flags name.
pub async fn connect(args: &ClusterArgs) -> Result<kube::Client, Problem> {
    let kubeconfig = match read_kubeconfig(args)? {
        Some(config) => config,
        None => {
            return Err(Problem::at(
                "",
                "no kubeconfig found (set KUBECONFIG or --kubeconfig, or create ~/.kube/config)",
            ))
        }
    };
    let options = kube::config::KubeConfigOptions { context: args.context.clone(), ..Default::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|err| Problem::at("", format!("the kubeconfig cannot be used: {}", describe(&err))))?;
    kube::Client::try_from(config).map_err(|err| Problem::at("", format!("cannot make a Kubernetes client: {err}")))
}
