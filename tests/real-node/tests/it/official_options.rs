//! Options the chart adds itself, merged with the user's, and what the kubelet refuses, on the
//! real node of `scripts/test-cluster up --real` (ignored by plain `cargo test`):
//! - TLS and the user's `server.value_options.uvicorn_opts` both reach uvicorn: the response
//!   carries the user's `--header`, over HTTPS;
//! - a security context the kubelet refuses when it creates the container (`runAsNonRoot`
//!   against MLflow's image, which runs as root) is refused by `kubectl mlflow install` before
//!   anything is written; and the kubelet does refuse it, shown once with a bare pod.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use kubectl_mlflow_test_support::{
    assert_ok, cluster, deployment_guide, ready_pods, real_namespace, text, TestNamespace,
};
use serde_json::json;

const SLIM: &str = "ghcr.io/mlflow/mlflow:v3.17.2";

fn install(ns: &TestNamespace, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--timeout", "8m"];
    all.extend(args);
    ns.run("kubectl-mlflow-install", &all)
}

/// The user's uvicorn option and the chart's TLS options in one `--uvicorn-opts`: uvicorn serves
/// HTTPS and adds the user's default header to every response.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_users_uvicorn_option_works_with_tls() {
    let ns = real_namespace("real-uvicorn-tls").await;
    let dir = tempfile::tempdir().unwrap();
    deployment_guide::self_signed(dir.path(), "localhost");
    cluster().shell_in(dir.path(), &deployment_guide::tls_secret(ns.name())).unwrap();
    let out = install(
        &ns,
        &[
            "--set",
            "image.tag=v3.17.2",
            "--set",
            "server.value_options.workers=1",
            "--set",
            "mlflow.backendStoreUri=sqlite:////tmp/mlflow.db",
            "--set",
            "tls.enabled=true",
            "--set",
            "server.value_options.uvicorn_opts=--header x-kmlf-user-option:kept --timeout-keep-alive 7",
        ],
    );
    assert_ok(&out);
    let deployment = ns.api::<Deployment>().get("mlflow-mlflow").await.unwrap();
    let command = deployment.spec.unwrap().template.spec.unwrap().containers[0].command.clone().unwrap();
    let opts: Vec<&String> = command.iter().filter(|a| a.starts_with("--uvicorn-opts")).collect();
    assert_eq!(
        opts,
        ["--uvicorn-opts=--header x-kmlf-user-option:kept --timeout-keep-alive 7 --ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt"],
        "one --uvicorn-opts with both: {command:?}"
    );
    assert_eq!(ready_pods(&ns, "app.kubernetes.io/instance=mlflow").await.len(), 1);
    let pf = cluster().port_forward(ns.name(), "svc/mlflow-mlflow", 5000, Duration::from_secs(30));
    let cert = dir.path().join("tls.crt").display().to_string();
    let url = format!("https://localhost:{}/health", pf.port());
    let headers = cluster()
        .shell(&format!("curl --silent --show-error --fail --cacert {cert} --dump-header - --output /dev/null {url}"))
        .unwrap_or_else(|e| panic!("GET {url} over HTTPS: {e}"));
    assert!(headers.starts_with("HTTP/"), "{headers}");
    assert!(
        headers.to_ascii_lowercase().contains("x-kmlf-user-option: kept"),
        "the user's --header did not reach uvicorn:\n{headers}"
    );
    ns.delete().await;
}

/// What the kubelet would refuse is refused before anything is written, and the kubelet does
/// refuse it: runAsNonRoot against MLflow's image (no USER: root) without a runAsUser, and
/// runAsUser 0 with runAsNonRoot.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn what_the_kubelet_refuses_is_refused_before_anything_is_written() {
    let ns = real_namespace("real-kubelet").await;
    let cases = [
        (
            &["--set", "podSecurityContext.runAsUser=null"][..],
            "podSecurityContext.runAsNonRoot: true, but no runAsUser is set and the image ghcr.io/mlflow/mlflow:v3.17.2 runs as root",
            "container has runAsNonRoot and image will run as root",
            json!({"runAsNonRoot": true}),
        ),
        (
            &["--set", "securityContext.runAsUser=0"][..],
            "securityContext.runAsUser: 0 (root) with podSecurityContext.runAsNonRoot: true",
            "container's runAsUser breaks non-root policy",
            json!({"runAsNonRoot": true, "runAsUser": 0}),
        ),
    ];
    for (i, (sets, ours, kubelets, context)) in cases.iter().enumerate() {
        let mut args = vec!["--set", "image.tag=v3.17.2"];
        args.extend(sets.iter());
        let out = install(&ns, &args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(ours), "{stderr}");
        assert!(stderr.contains(kubelets), "the refusal quotes the kubelet: {stderr}");
        let deployments = ns.api::<Deployment>().list(&ListParams::default()).await.unwrap();
        assert!(deployments.items.is_empty(), "something was written: {:?}", deployments.items);

        // the kubelet's own verdict on the same security context and image
        let name = format!("kubelet-{i}");
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": context,
                "containers": [{"name": "mlflow", "image": SLIM, "imagePullPolicy": "Never", "command": ["mlflow", "--version"]}],
            },
        }))
        .unwrap();
        ns.api::<Pod>().create(&PostParams::default(), &pod).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let message = loop {
            let pod = ns.api::<Pod>().get(&name).await.unwrap();
            let waiting = pod
                .status
                .and_then(|s| s.container_statuses)
                .and_then(|c| c.into_iter().next())
                .and_then(|c| c.state)
                .and_then(|s| s.waiting);
            if let Some(w) = waiting.filter(|w| w.reason.as_deref() == Some("CreateContainerConfigError")) {
                break w.message.unwrap_or_default();
            }
            assert!(Instant::now() < deadline, "the kubelet did not refuse pod {name}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert!(message.contains(kubelets), "the kubelet said: {message}");
    }
    ns.delete().await;
}
