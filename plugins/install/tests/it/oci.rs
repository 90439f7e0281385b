//! The chart published in a real OCI registry — the distribution project's registry, built by
//! `scripts/oci-registry` and served on 127.0.0.1 over plain HTTP, one per test: `scripts/package
//! chart --push` puts the chart and Artifact Hub's repository metadata there, and `kubectl mlflow
//! install --chart oci://… --dry-run` pulls and checks it with no cluster. The installs from the
//! registry onto the KWOK cluster are `kwok_cluster::published`, which uses the registry from here.
//! Ignored by plain `cargo test` (they need the registry's Go build); `scripts/test` runs them with
//! `-- --ignored oci::`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::{plugin, repo_root, text};

/// A registry of its own on 127.0.0.1, stopped (by its pid) on drop; helm's and oras' settings in
/// a temporary home, so nothing of the user's is read or written.
pub struct Registry {
    dir: tempfile::TempDir,
    addr: String,
}

impl Registry {
    pub fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let out = script("oci-registry", &["start", &dir.path().join("registry").display().to_string()], &[]);
        assert!(out.status.success(), "scripts/oci-registry start: {}", text(&out));
        let addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Registry { dir, addr }
    }

    /// `oci://127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    pub fn helm_env(&self) -> Vec<(String, PathBuf)> {
        let home = self.dir.path().join("helm");
        ["HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"]
            .iter()
            .map(|var| (var.to_string(), home.join(var.to_lowercase())))
            .collect()
    }

    /// `scripts/package chart --push oci://…/<path> --plain-http`: the chart of this commit.
    pub fn push_this_chart(&self, path: &str) {
        let dist = self.dir.path().join("dist");
        let mut env = self.helm_env();
        env.push(("KMLF_DIST_DIR".into(), dist));
        let out = script("package", &["chart", "--push", &self.url(path), "--plain-http"], &env);
        assert!(out.status.success(), "scripts/package chart --push: {}", text(&out));
    }

    /// A copy of charts/ changed by `change`, packaged and pushed with helm 4.1.
    pub fn push_changed_chart(&self, path: &str, change: impl Fn(&Path)) {
        let copy = tempfile::tempdir().unwrap();
        let chart = copy.path().join("mlflow");
        copy_dir(&repo_root().join("charts"), &chart);
        change(&chart);
        let packaged = copy.path().join("packaged");
        self.helm(
            Helm::V4,
            &["package", &chart.display().to_string(), "--destination", &packaged.display().to_string()],
        );
        let file = std::fs::read_dir(&packaged).unwrap().next().unwrap().unwrap().path();
        self.helm(Helm::V4, &["push", &file.display().to_string(), &self.url(path), "--plain-http"]);
    }

    pub fn helm(&self, helm: Helm, args: &[&str]) -> String {
        let out = Command::new(helm.binary()).args(args).envs(self.helm_env()).output().unwrap();
        assert!(out.status.success(), "helm {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn oras(&self, args: &[&str]) -> Vec<u8> {
        let out = script("oci-registry", &["path"], &[]);
        let oras = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("oras");
        let out = Command::new(oras).args(args).arg("--plain-http").output().unwrap();
        assert!(out.status.success(), "oras {args:?}: {}", text(&out));
        out.stdout
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = script("oci-registry", &["stop", &self.dir.path().join("registry").display().to_string()], &[]);
    }
}

fn script(name: &str, args: &[&str], env: &[(String, PathBuf)]) -> Output {
    Command::new(repo_root().join("scripts").join(name))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(repo_root())
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

pub fn chart_version() -> String {
    let chart: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("charts/Chart.yaml")).unwrap()).unwrap();
    chart["version"].as_str().unwrap().to_string()
}

#[test]
#[ignore = "needs scripts/oci-registry (Go build)"]
fn scripts_package_pushes_the_chart_and_artifact_hubs_repository_metadata() {
    let registry = Registry::start();
    registry.push_this_chart("charts");
    let tags = registry.oras(&["repo", "tags", &format!("{}/charts/mlflow", registry.addr)]);
    let tags: Vec<&str> = std::str::from_utf8(&tags).unwrap().lines().collect();
    assert_eq!(tags, [chart_version().as_str(), "artifacthub.io"], "the tags of charts/mlflow");

    // the chart: helm's media types
    let reference = format!("{}/charts/mlflow:{}", registry.addr, chart_version());
    let manifest: serde_json::Value =
        serde_json::from_slice(&registry.oras(&["manifest", "fetch", &reference])).unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");

    // Artifact Hub's metadata: the tag, media types and file its docs give
    let reference = format!("{}/charts/mlflow:artifacthub.io", registry.addr);
    let manifest: serde_json::Value =
        serde_json::from_slice(&registry.oras(&["manifest", "fetch", &reference])).unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.cncf.artifacthub.config.v1+yaml");
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.cncf.artifacthub.repository-metadata.layer.v1.yaml");
    assert_eq!(layer["annotations"]["org.opencontainers.image.title"], "artifacthub-repo.yml");
    let blob = format!("{}/charts/mlflow@{}", registry.addr, layer["digest"].as_str().unwrap());
    let pushed = registry.oras(&["blob", "fetch", "--output", "-", &blob]);
    assert_eq!(pushed, std::fs::read(repo_root().join("artifacthub-repo.yml")).unwrap());
}

/// `--dry-run` with `--chart` needs no cluster, but pulls and checks the chart all the same: the
/// objects of the published chart when it is the embedded one, the refusal otherwise.
#[test]
#[ignore = "needs scripts/oci-registry (Go build)"]
fn a_dry_run_with_chart_checks_the_published_chart_too() {
    let registry = Registry::start();
    registry.push_this_chart("charts");
    let version = chart_version();
    registry.push_changed_chart("charts", |chart| {
        let path = chart.join("Chart.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(&format!("\nversion: {version}\n"), "\nversion: 9.9.9\n")).unwrap();
    });
    let helm = Helm::V3.binary().display().to_string();
    let url = registry.url("charts/mlflow");
    let dry_run = |extra: &[&str]| {
        plugin("kubectl-mlflow-install")
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .envs(registry.helm_env())
            .args(["--chart", &url, "--plain-http", "--helm-binary", &helm, "--dry-run", "-o", "yaml"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = dry_run(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: Deployment"), "{}", text(&out));
    let out = dry_run(&["--version", "9.9.9"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is chart mlflow 9.9.9"), "{}", text(&out));
}
