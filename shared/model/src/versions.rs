//! The versions the model names, at its bottom: the renderer (labels), the image checks and the
//! server-option table all read them here, so none of them imports another for a version.

/// The chart's appVersion (`charts/Chart.yaml`): the MLflow version the image tag defaults to.
pub const APP_VERSION: &str = "3.17.2";
