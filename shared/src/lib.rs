//! The core of kubectl-mlflow: the chart's values model, their validation, the native renderer
//! that turns them into the same Kubernetes objects as the Helm chart, and what every plugin's
//! command line shares.

pub mod chart;
pub mod cli;
pub mod cluster;
pub mod engine;
pub mod gc_job;
pub mod lookup;
pub mod names;
pub mod output;
pub mod problem;
pub mod release;
pub mod render;
pub mod validate;
pub mod values;
pub mod yaml;

pub use problem::{Problem, Problems};
pub use render::{render, Object, Release, Rendered};
pub use values::{Source, Values};
