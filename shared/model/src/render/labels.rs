//! The labels every object carries, and those that select the server's pods (both from the
//! release identity).

use super::Context;
use crate::identity::{self, Labels, MANAGED_BY_LABEL, SERVER_COMPONENT};
use crate::versions::APP_VERSION;

/// `app.kubernetes.io/managed-by` of natively applied objects (the chart writes `Helm`).
pub const MANAGED_BY: &str = "kubectl-mlflow";

/// The labels of every object; with a component (`server`, `gc`) for the workloads.
pub fn common(ctx: &Context, component: Option<&str>) -> Labels {
    let mut labels = selector(ctx, component);
    labels.insert("app.kubernetes.io/version".into(), APP_VERSION.into());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    labels
}

/// The labels that find a release's pods: name, instance and, when given, component.
pub fn selector(ctx: &Context, component: Option<&str>) -> Labels {
    identity::labels(&ctx.release.name, component)
}

/// Selects the server's pods (never the GC job's).
pub fn server_selector(ctx: &Context) -> Labels {
    selector(ctx, Some(SERVER_COMPONENT))
}
