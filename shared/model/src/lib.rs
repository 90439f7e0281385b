//! The model layer of kubectl-mlflow, the bottom of the stack: the chart's values (load, merge,
//! `--set`, schema), their validation, the release identity (labels, names, endpoint) and the
//! native renderer. No Kubernetes client, no async runtime, no terminal: the chart and parity
//! tests need nothing else, and every layer above builds on it (arrows point down only).

pub mod api_rules;
pub mod autoscaling;
pub mod duration;
pub mod failure;
pub mod identity;
pub mod image;
pub mod kubelet;
pub mod local_paths;
pub mod names;
pub mod oidc;
pub mod problem;
pub mod release;
pub mod render;
pub mod server_options;
pub mod server_opts;
pub mod shlex;
pub mod store_uri;
pub mod stores;
pub mod template;
pub mod validate;
pub mod values;
pub mod versions;
pub mod yaml;

pub use failure::Failure;
pub use identity::Identity;
pub use problem::{Problem, Problems};
pub use render::{render, Object, Release, Rendered};
pub use validate::Valid;
pub use values::{Source, Values};
