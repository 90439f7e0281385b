//! The flags every kubectl-mlflow binary shares (the project's CLI conventions), so the binaries
//! feel like one tool, and like kubectl and helm.

use clap::Args;

use crate::cluster::Target;
pub use crate::ui::reporter::Reporter;
pub use crate::ui::run::{block_on, parse, EXIT_OK};
use crate::values::{SetKind, Source};
pub use kubectl_mlflow_model::duration::{format_duration, parse_duration};
pub use kubectl_mlflow_model::failure::{EXIT_FAILED, EXIT_USAGE};

/// kubectl's cluster flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Namespace of the release [default: the kubeconfig context's namespace, else "default"]
    #[arg(short = 'n', long, env = "HELM_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Kubeconfig context to use [default: the current context]
    #[arg(long, env = "HELM_KUBECONTEXT", value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<String>,
}

impl ClusterArgs {
    /// What the cluster layer resolves: the flags without clap.
    /// helm hands its plugins `HELM_KUBECONTEXT=""` when no `--kube-context` was given: an empty
    /// value means "not set", as it does to helm.
    pub fn target(&self) -> Target {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        Target { namespace: given(&self.namespace), context: given(&self.context), kubeconfig: given(&self.kubeconfig) }
    }
}

/// helm's values flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ValuesArgs {
    /// Values file (repeatable; later files win; "-" reads standard input)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,

    /// Set a value: a.b=c,list[0]=x,tags={a,b} (repeatable; typed like helm)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Set a value that is always a string (repeatable)
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,

    /// Set a value to the content of a file (repeatable)
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
}

impl ValuesArgs {
    /// The sources in helm's order: the files, then --set, --set-string, --set-file.
    pub fn sources(&self) -> Vec<Source> {
        let mut sources: Vec<Source> = self.values.iter().cloned().map(Source::File).collect();
        let sets = [(SetKind::Typed, &self.set), (SetKind::String, &self.set_string), (SetKind::File, &self.set_file)];
        for (kind, exprs) in sets {
            sources.extend(exprs.iter().map(|expr| Source::Set(kind, expr.clone())));
        }
        sources
    }
}

/// How messages are shown.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Show the API calls made (method, path, status)
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// No colors (also when NO_COLOR is set)
    #[arg(long)]
    pub no_color: bool,
}

#[cfg(test)]
mod tests {
    use super::ClusterArgs;

    #[test]
    fn an_empty_context_or_namespace_from_helm_means_not_set() {
        let args = ClusterArgs { namespace: Some(String::new()), context: Some(String::new()), kubeconfig: None };
        let target = args.target();
        assert_eq!((target.namespace, target.context), (None, None));
        let args = ClusterArgs { namespace: Some("ml".into()), context: Some("prod".into()), kubeconfig: None };
        assert_eq!(args.target().context.as_deref(), Some("prod"));
    }
}
