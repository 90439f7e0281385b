//! What is recorded about an installed release: which engine made it — the native engine's
//! ApplySet parent, or helm's release records with their revision and status — and the chart,
//! MLflow version and image its server Deployment carries. Read only; releases of the official
//! MLflow chart read the same way (helm records, the same labels).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::Client;

use super::applyset::{self, TOOLING};
use crate::cluster::describe;
use crate::identity::SERVER_CONTAINER;

/// The label helm writes on its objects: `<chart>-<version>`.
pub const HELM_CHART_LABEL: &str = "helm.sh/chart";
/// The label of the MLflow version both charts write (`.Chart.AppVersion`).
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";

/// One of helm's release records (`sh.helm.release.v1.<release>.v<revision>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmRecord {
    pub revision: u32,
    /// `deployed`, `pending-install`, `pending-upgrade`, `pending-rollback`, `failed`, `superseded`…
    pub status: String,
}

/// The records of a release in its namespace.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// The native engine's ApplySet parent: its id and the tooling that applied it last.
    pub parent: Option<Parent>,
    /// helm's records, newest revision first.
    pub helm: Vec<HelmRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub applyset: String,
    /// `kubectl-mlflow/v0.1.0`
    pub tooling: Option<String>,
}

/// Which engine made the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    Native(Parent),
    Helm(HelmRecord),
    /// Labelled for the release, but neither engine recorded it (`kubectl apply`, a GitOps tool).
    Unrecorded,
}

impl Records {
    pub fn is_empty(&self) -> bool {
        self.parent.is_none() && self.helm.is_empty()
    }

    /// helm's newest record wins: a release helm took over from the native engine is helm's.
    pub fn engine(&self) -> Engine {
        match (self.helm.first(), &self.parent) {
            (Some(record), _) => Engine::Helm(record.clone()),
            (None, Some(parent)) => Engine::Native(parent.clone()),
            (None, None) => Engine::Unrecorded,
        }
    }
}

impl HelmRecord {
    /// An install, upgrade or rollback that has not finished.
    pub fn is_pending(&self) -> bool {
        self.status.starts_with("pending-")
    }
}

/// Reads the ApplySet parent and helm's records of `release` (metadata only: the values and
/// manifests in them stay unread).
pub async fn records(client: &Client, namespace: &str, release: &str) -> Result<Records, String> {
    let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
    let parent_name = applyset::parent_name(release);
    let helm_selector = format!("owner=helm,name={release}");
    let of_helm = ListParams::default().labels(&helm_selector);
    let (parent, helm) = futures::join!(secrets.get_metadata_opt(&parent_name), secrets.list_metadata(&of_helm));
    let parent = parent.map_err(|err| format!("cannot read Secret/{parent_name}: {}", describe(&err)))?;
    let helm = helm.map_err(|err| format!("cannot list helm's release Secrets: {}", describe(&err)))?;
    let mut records: Vec<HelmRecord> = helm
        .items
        .iter()
        .filter_map(|item| {
            let labels = item.metadata.labels.as_ref()?;
            Some(HelmRecord {
                revision: labels.get("version")?.parse().ok()?,
                status: labels.get("status").cloned().unwrap_or_default(),
            })
        })
        .collect();
    records.sort_by_key(|r| std::cmp::Reverse(r.revision));
    let parent = parent.map(|p| Parent {
        applyset: applyset::id(&parent_name, namespace),
        tooling: p.metadata.annotations.as_ref().and_then(|a| a.get(TOOLING)).cloned(),
    });
    Ok(Records { parent, helm: records })
}

/// What a server Deployment says of its versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    /// `mlflow-0.1.0` (helm's chart label), when a chart made it.
    pub chart: Option<String>,
    /// The MLflow version label, else the image tag's version (`v3.17.2-full` → `3.17.2`).
    pub mlflow: Option<String>,
    /// The server container's image.
    pub image: Option<String>,
}

pub fn versions(deployment: &Deployment) -> Versions {
    let label = |key: &str| deployment.metadata.labels.as_ref().and_then(|l| l.get(key)).cloned();
    let containers = deployment.spec.as_ref().and_then(|s| s.template.spec.as_ref()).map(|s| &s.containers[..]);
    let server = containers.and_then(|c| c.iter().find(|c| c.name == SERVER_CONTAINER).or(c.first()));
    let image = server.and_then(|c| c.image.clone());
    let mlflow = label(VERSION_LABEL).or_else(|| image.as_deref().and_then(tag_version));
    Versions { chart: label(HELM_CHART_LABEL), mlflow, image }
}

/// The version in an image tag: `repo:v3.17.2-full` → `3.17.2`.
fn tag_version(image: &str) -> Option<String> {
    let tag = image.rsplit_once(':').map(|(_, t)| t).filter(|t| !t.contains('/'))?;
    let version = tag.trim_start_matches('v').split('-').next()?;
    let numeric = version.split('.').count() >= 2 && version.split('.').all(|p| p.parse::<u32>().is_ok());
    numeric.then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_tags() {
        assert_eq!(tag_version("ghcr.io/mlflow/mlflow:v3.17.2-full").as_deref(), Some("3.17.2"));
        assert_eq!(tag_version("burakince/mlflow:3.12.0").as_deref(), Some("3.12.0"));
        assert_eq!(tag_version("localhost:5000/mlflow"), None);
        assert_eq!(tag_version("mlflow:latest"), None);
    }

    #[test]
    fn helm_wins_over_a_parent() {
        let parent = Parent { applyset: "applyset-x-v1".into(), tooling: None };
        let helm = HelmRecord { revision: 2, status: "pending-upgrade".into() };
        let records = Records { parent: Some(parent.clone()), helm: vec![helm.clone()] };
        assert_eq!(records.engine(), Engine::Helm(helm.clone()));
        assert!(helm.is_pending());
        assert_eq!(Records { parent: Some(parent.clone()), helm: vec![] }.engine(), Engine::Native(parent));
        assert_eq!(Records::default().engine(), Engine::Unrecorded);
    }
}
