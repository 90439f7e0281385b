//! The labels every object carries, and those that select the server's pods.

use std::collections::BTreeMap;

use super::{Context, APP_VERSION};

/// `app.kubernetes.io/managed-by` of natively applied objects (the chart writes `Helm`).
pub const MANAGED_BY: &str = "kubectl-mlflow";

pub type Labels = BTreeMap<String, String>;

/// The labels of every object; with a component (`server`, `gc`) for the workloads.
pub fn common(ctx: &Context, component: Option<&str>) -> Labels {
    let mut labels = selector(ctx, component);
    labels.insert("app.kubernetes.io/version".into(), APP_VERSION.into());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    labels
}

/// The labels that find a release's pods: name, instance and, when given, component.
pub fn selector(ctx: &Context, component: Option<&str>) -> Labels {
    let mut labels = Labels::new();
    labels.insert("app.kubernetes.io/name".into(), "mlflow".into());
    labels.insert("app.kubernetes.io/instance".into(), ctx.release.name.clone());
    if let Some(component) = component {
        labels.insert("app.kubernetes.io/component".into(), component.into());
    }
    labels
}

/// Selects the server's pods (never the GC job's).
pub fn server_selector(ctx: &Context) -> Labels {
    selector(ctx, Some("server"))
}
