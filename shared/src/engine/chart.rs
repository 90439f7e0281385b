//! The chart of this commit, embedded in the binary so `--helm` installs exactly what the
//! native engine renders.

use std::path::Path;

use include_dir::{include_dir, Dir};

static CHART: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../charts");

/// Writes the chart into `dir` (which becomes the chart's root).
pub fn extract(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    CHART.extract(dir)
}

/// What `Chart.yaml` says about the embedded chart.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    /// The chart's own version.
    pub version: String,
    /// The MLflow version the chart targets.
    pub app_version: String,
}

/// The embedded chart's `Chart.yaml` (a test below keeps it readable).
pub fn metadata() -> Metadata {
    let file = CHART.get_file("Chart.yaml").expect("the chart has a Chart.yaml");
    serde_yaml::from_slice(file.contents()).expect("Chart.yaml has name, version and appVersion")
}

#[cfg(test)]
mod tests {
    #[test]
    fn metadata_is_read_from_chart_yaml() {
        let metadata = super::metadata();
        assert_eq!(metadata.name, "mlflow");
        assert!(!metadata.version.is_empty() && !metadata.app_version.is_empty());
    }
}
