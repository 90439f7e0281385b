//! The chart of this commit, embedded in the binary so `--helm` installs exactly what the
//! native engine renders.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// charts/ as build.rs packed it (a gzip-compressed tar).
const PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/chart.tar.gz"));

/// The chart's files by their path in the chart, unpacked once.
fn files() -> &'static BTreeMap<String, Vec<u8>> {
    static FILES: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(PACKED));
        let mut files = BTreeMap::new();
        for entry in archive.entries().expect("build.rs packed a tar") {
            let mut entry = entry.expect("build.rs packed a whole tar");
            let name = entry.path().expect("a file name").to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("a whole file");
            files.insert(name, bytes);
        }
        files
    })
}

/// Writes the chart into `dir` (which becomes the chart's root).
pub fn extract(dir: &Path) -> std::io::Result<()> {
    for (name, bytes) in files() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        std::fs::write(path, bytes)?;
    }
    Ok(())
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
    let file = files().get("Chart.yaml").expect("the chart has a Chart.yaml");
    serde_yaml::from_slice(file).expect("Chart.yaml has name, version and appVersion")
}

/// How a chart on disk differs from the embedded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Another chart, or another version of it.
    Version { name: String, version: String },
    /// The same name and version, other content: the first file (by path) that differs.
    Content { file: String },
}

/// Whether the chart in `dir` is the embedded one: the same files with the same bytes, and
/// `Chart.yaml` the same data (`helm package` writes it anew, in its own order and quoting).
pub fn compare(dir: &Path) -> std::io::Result<Option<Difference>> {
    let chart_yaml: serde_yaml::Value = serde_yaml::from_slice(&std::fs::read(dir.join("Chart.yaml"))?)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("Chart.yaml: {err}")))?;
    let text = |key: &str| chart_yaml[key].as_str().map(String::from).unwrap_or_default();
    let ours = metadata();
    if text("name") != ours.name || text("version") != ours.version {
        return Ok(Some(Difference::Version { name: text("name"), version: text("version") }));
    }
    let mut theirs = BTreeMap::new();
    read_tree(dir, dir, &mut theirs)?;
    let embedded = files();
    let paths: std::collections::BTreeSet<&String> = theirs.keys().chain(embedded.keys()).collect();
    for path in paths {
        let same = match (theirs.get(path), embedded.get(path)) {
            (Some(_), Some(ours)) if path == "Chart.yaml" => {
                serde_yaml::from_slice::<serde_yaml::Value>(ours).is_ok_and(|ours| ours == chart_yaml)
            }
            (Some(theirs), Some(ours)) => theirs == ours,
            _ => false,
        };
        if !same {
            return Ok(Some(Difference::Content { file: path.clone() }));
        }
    }
    Ok(None)
}

/// Every file under `dir`, by its path from `root`.
fn read_tree(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.is_dir() {
            read_tree(root, &path, files)?;
        } else {
            let name = path.strip_prefix(root).expect("under the root").to_string_lossy().into_owned();
            files.insert(name, std::fs::read(&path)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_read_from_chart_yaml() {
        let metadata = super::metadata();
        assert_eq!(metadata.name, "mlflow");
        assert!(!metadata.version.is_empty() && !metadata.app_version.is_empty());
    }

    fn extracted() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        extract(dir.path()).unwrap();
        dir
    }

    #[test]
    fn the_extracted_chart_is_the_embedded_one_even_with_chart_yaml_rewritten() {
        let dir = extracted();
        assert_eq!(compare(dir.path()).unwrap(), None);
        // helm package writes Chart.yaml anew: other order and quoting, the same data
        let data: serde_yaml::Value =
            serde_yaml::from_slice(&std::fs::read(dir.path().join("Chart.yaml")).unwrap()).unwrap();
        std::fs::write(dir.path().join("Chart.yaml"), serde_yaml::to_string(&data).unwrap()).unwrap();
        assert_eq!(compare(dir.path()).unwrap(), None);
    }

    #[test]
    fn another_version_or_other_content_is_named() {
        let dir = extracted();
        let chart_yaml = dir.path().join("Chart.yaml");
        let text = std::fs::read_to_string(&chart_yaml).unwrap();
        let version = metadata().version;
        std::fs::write(&chart_yaml, text.replace(&format!("\nversion: {version}\n"), "\nversion: 9.9.9\n")).unwrap();
        assert_eq!(
            compare(dir.path()).unwrap(),
            Some(Difference::Version { name: "mlflow".into(), version: "9.9.9".into() })
        );

        let dir = extracted();
        let deployment = dir.path().join("templates/deployment.yaml");
        let mut template = std::fs::read_to_string(&deployment).unwrap();
        template.push_str("# changed\n");
        std::fs::write(&deployment, template).unwrap();
        assert_eq!(
            compare(dir.path()).unwrap(),
            Some(Difference::Content { file: "templates/deployment.yaml".into() })
        );

        let dir = extracted();
        std::fs::write(dir.path().join("templates/extra.yaml"), "kind: ConfigMap\n").unwrap();
        assert_eq!(compare(dir.path()).unwrap(), Some(Difference::Content { file: "templates/extra.yaml".into() }));

        let dir = extracted();
        std::fs::remove_file(dir.path().join("values.schema.json")).unwrap();
        assert_eq!(compare(dir.path()).unwrap(), Some(Difference::Content { file: "values.schema.json".into() }));
    }
}
