//! The chart published in a real OCI registry (`crate::oci::Registry`: the distribution project's,
//! on 127.0.0.1) installed on the KWOK cluster: by helm 3.17 and 4.1 (`helm install mlflow
//! oci://…/mlflow --version V`) and by `kubectl mlflow install --chart oci://…` through helm, which
//! refuses another version, or other files under the same version, before anything is written.

use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::{cluster, plugin, text, TestNamespace};

use crate::oci::{chart_version, Registry};

fn install(ns: &TestNamespace, registry: &Registry, args: &[&str]) -> Output {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    plugin("kubectl-mlflow-install")
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

/// The deployment guide's quick start values, as `helm install` takes them.
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
