//! The chart published in a real OCI registry — the distribution project's registry, built by
//! `scripts/oci-registry` and served on 127.0.0.1 over plain HTTP, one per test: `scripts/package
//! chart --push` puts the chart and Artifact Hub's repository metadata there; helm 3.17 and 4.1
//! install it from there (`helm install mlflow oci://…/mlflow --version V`) on the KWOK cluster;
//! `kubectl mlflow install --chart oci://…` installs it through helm, and refuses another version,
//! or other files under the same version, before anything is written. Ignored by plain `cargo
//! test`; `scripts/test` runs them with `--ignored` once the cluster is up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kubectl_mlflow_chart_tests::Helm;
use kubectl_mlflow_test_support::{cluster, repo_root, TestNamespace};

/// A registry of its own on 127.0.0.1, stopped (by its pid) on drop; helm's and oras' settings in
/// a temporary home, so nothing of the user's is read or written.
struct Registry {
    dir: tempfile::TempDir,
    addr: String,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let out = script("oci-registry", &["start", &dir.path().join("registry").display().to_string()], &[]);
        assert!(out.status.success(), "scripts/oci-registry start: {}", text(&out));
        let addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Registry { dir, addr }
    }

    /// `oci://127.0.0.1:PORT/<path>`.
    fn url(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    fn helm_env(&self) -> Vec<(String, PathBuf)> {
        let home = self.dir.path().join("helm");
        ["HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"]
            .iter()
            .map(|var| (var.to_string(), home.join(var.to_lowercase())))
            .collect()
    }

    /// `scripts/package chart --push oci://…/<path> --plain-http`: the chart of this commit.
    fn push_this_chart(&self, path: &str) {
        let dist = self.dir.path().join("dist");
        let mut env = self.helm_env();
        env.push(("KMLF_DIST_DIR".into(), dist));
        let out = script("package", &["chart", "--push", &self.url(path), "--plain-http"], &env);
        assert!(out.status.success(), "scripts/package chart --push: {}", text(&out));
    }

    /// A copy of charts/ changed by `change`, packaged and pushed with helm 4.1.
    fn push_changed_chart(&self, path: &str, change: impl Fn(&Path)) {
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

    fn helm(&self, helm: Helm, args: &[&str]) -> String {
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

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn chart_version() -> String {
    let chart: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("charts/Chart.yaml")).unwrap()).unwrap();
    chart["version"].as_str().unwrap().to_string()
}

fn install(ns: &TestNamespace, registry: &Registry, args: &[&str]) -> Output {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    assert_cmd::Command::cargo_bin("kubectl-mlflow-install")
        .unwrap()
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .envs(registry.helm_env())
        .args(["--kubeconfig", &kubeconfig, "-n", ns.name(), "--timeout", "3m"])
        .args(args)
        .output()
        .unwrap()
}

/// `helm list` of the namespace: (release, chart) pairs.
fn helm_releases(ns: &TestNamespace, registry: &Registry) -> Vec<(String, String)> {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let list = registry.helm(Helm::V4, &["list", "-n", ns.name(), "--kubeconfig", &kubeconfig, "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["chart"].as_str().unwrap().to_string()))
        .collect()
}

async fn deployments(ns: &TestNamespace) -> Vec<String> {
    let list = ns.api::<Deployment>().list(&ListParams::default()).await.unwrap();
    list.items.into_iter().filter_map(|d| d.metadata.name).collect()
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

/// The seed's quick start values, as `helm install` takes them.
const QUICK_START: [&str; 6] = [
    "--set",
    "storage.enabled=true",
    "--set",
    "mlflow.backendStoreUri=sqlite:////mlflow/mlflow.db",
    "--set",
    "mlflow.artifactsDestination=/mlflow/artifacts",
];

/// `helm install mlflow oci://…/mlflow --version V` with this helm, as a user of the published
/// chart runs it.
async fn helm_installs_the_published_chart(helm: Helm) {
    let registry = Registry::start();
    registry.push_this_chart("charts");
    let ns = cluster().namespace(&format!("oci-helm{}", helm.tool_set())).await;
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let version = chart_version();
    let url = registry.url("charts/mlflow");
    let mut args = vec!["install", "mlflow", url.as_str()];
    args.extend(["--version", &version, "--plain-http", "-n", ns.name(), "--kubeconfig", &kubeconfig]);
    args.extend(QUICK_START);
    args.extend(["--wait", "--timeout", "3m"]);
    registry.helm(helm, &args);
    assert_eq!(helm_releases(&ns, &registry), [("mlflow".to_string(), format!("mlflow-{version}"))]);
    assert_eq!(deployments(&ns).await, ["mlflow-mlflow"]);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster and scripts/oci-registry"]
async fn helm_3_installs_the_published_chart() {
    helm_installs_the_published_chart(Helm::V3).await;
}

#[tokio::test]
#[ignore = "needs the test cluster and scripts/oci-registry"]
async fn helm_4_installs_the_published_chart() {
    helm_installs_the_published_chart(Helm::V4).await;
}

/// `kubectl mlflow install --chart oci://…` with this helm: a helm release of the published chart,
/// which is the embedded one (by default its version, or the one given), waited for as ever.
async fn the_plugin_installs_the_published_chart(helm: Helm, version: Option<&str>) {
    let registry = Registry::start();
    registry.push_this_chart("charts");
    let ns = cluster().namespace(&format!("oci-plugin{}", helm.tool_set())).await;
    let binary = helm.binary().display().to_string();
    let url = registry.url("charts/mlflow");
    let mut args = vec!["--chart", url.as_str(), "--plain-http", "--helm-binary", binary.as_str()];
    if let Some(version) = version {
        args.extend(["--version", version]);
    }
    let out = install(&ns, &registry, &args);
    assert!(out.status.success(), "install --chart: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("helm release mlflow is listed by"), "{}", text(&out));
    assert_eq!(helm_releases(&ns, &registry), [("mlflow".to_string(), format!("mlflow-{}", chart_version()))]);
    assert_eq!(deployments(&ns).await, ["mlflow-mlflow"]);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster and scripts/oci-registry"]
async fn the_plugin_installs_the_published_chart_with_helm_4() {
    the_plugin_installs_the_published_chart(Helm::V4, None).await;
}

#[tokio::test]
#[ignore = "needs the test cluster and scripts/oci-registry"]
async fn the_plugin_installs_the_published_chart_with_helm_3_and_an_explicit_version() {
    the_plugin_installs_the_published_chart(Helm::V3, Some(&chart_version())).await;
}

/// Another version, and other files under the embedded chart's version: refused with exit code 2,
/// saying why and what to do, and nothing is written (no helm release, no object).
#[tokio::test]
#[ignore = "needs the test cluster and scripts/oci-registry"]
async fn another_chart_version_or_other_files_are_refused_before_any_write() {
    let registry = Registry::start();
    let version = chart_version();
    registry.push_changed_chart("charts", |chart| {
        let path = chart.join("Chart.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(&format!("\nversion: {version}\n"), "\nversion: 9.9.9\n")).unwrap();
    });
    registry.push_changed_chart("republished", |chart| {
        let path = chart.join("templates/service.yaml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("# changed after publication\n");
        std::fs::write(&path, text).unwrap();
    });
    let ns = cluster().namespace("oci-refused").await;
    let helm = Helm::V4.binary().display().to_string();

    let url = registry.url("charts/mlflow");
    let out = install(&ns, &registry, &["--chart", &url, "--version", "9.9.9", "--plain-http", "--helm-binary", &helm]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        format!("--chart {url} --version 9.9.9 is chart mlflow 9.9.9, and this plugin embeds mlflow {version}"),
        format!("use --version {version} (the embedded chart's), the kubectl-mlflow release of that chart"),
        format!("helm upgrade --install RELEASE {url} --version 9.9.9"),
    ] {
        assert!(stderr.contains(&expected), "expected {expected:?} in:\n{stderr}");
    }

    let url = registry.url("republished/mlflow");
    let out = install(&ns, &registry, &["--chart", &url, "--plain-http", "--helm-binary", &helm]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "--chart {url} --version {version} is chart mlflow {version} but not the one this plugin embeds: its \
         templates/service.yaml differs"
    );
    assert!(stderr.contains(&expected), "expected {expected:?} in:\n{stderr}");

    // a version the registry does not have: helm's reason, exit code 1
    let url = registry.url("charts/mlflow");
    let out = install(&ns, &registry, &["--chart", &url, "--version", "0.0.1", "--plain-http", "--helm-binary", &helm]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("helm pull {url} failed")), "{}", text(&out));

    assert!(helm_releases(&ns, &registry).is_empty(), "a refused install left a helm release");
    assert!(deployments(&ns).await.is_empty(), "a refused install left a Deployment");
    let secrets = ns.api::<Secret>().list(&ListParams::default()).await.unwrap();
    assert!(
        secrets.items.iter().all(|s| !s.metadata.name.as_deref().unwrap_or_default().starts_with("sh.helm.release")),
        "a refused install left helm's release Secret"
    );
    ns.delete().await;
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
        assert_cmd::Command::cargo_bin("kubectl-mlflow-install")
            .unwrap()
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
