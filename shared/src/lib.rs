//! The core of kubectl-mlflow: the chart's values model, their validation, and the native
//! renderer that turns them into the same Kubernetes objects as the Helm chart.

pub mod names;
pub mod problem;
pub mod render;
pub mod validate;
pub mod values;
pub mod yaml;

pub use problem::{Problem, Problems};
pub use render::{render, Object, Release, Rendered};
pub use values::{Source, Values};
