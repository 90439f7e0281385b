//! A chart published in an OCI registry (`kubectl mlflow install --chart oci://…`): pulled through
//! helm, then held against the embedded chart — the one the values model, the preflight, the
//! server-side dry run and the wait know.

use std::path::{Path, PathBuf};

use super::chart::{self, Difference};
use super::helm;
use kubectl_mlflow_model::Failure;

/// A pulled chart, in a temporary directory removed on drop.
pub struct Published {
    _dir: tempfile::TempDir,
    /// The chart's directory (holding its `Chart.yaml`).
    pub path: PathBuf,
    /// How it differs from the embedded chart, if it does.
    pub difference: Option<Difference>,
}

/// `helm pull` of `reference` (an `oci://` reference; `version` as helm takes it, a version or a
/// range), compared with the embedded chart.
pub async fn pull(helm: &Path, reference: &str, version: Option<&str>, plain_http: bool) -> Result<Published, Failure> {
    let dir =
        tempfile::tempdir().map_err(|err| Failure::Failed(format!("cannot make a temporary directory: {err}")))?;
    helm::pull(helm, reference, version, plain_http, dir.path()).await?;
    let path = chart_dir(dir.path())
        .ok_or_else(|| Failure::Failed(format!("helm pull {reference} left no chart directory")))?;
    let difference = chart::compare(&path)
        .map_err(|err| Failure::Failed(format!("cannot read the chart pulled from {reference}: {err}")))?;
    Ok(Published { _dir: dir, path, difference })
}

/// The one directory `helm pull --untar` made.
fn chart_dir(dir: &Path) -> Option<PathBuf> {
    let mut dirs = std::fs::read_dir(dir).ok()?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir());
    let first = dirs.next()?;
    dirs.next().is_none().then_some(first)
}
