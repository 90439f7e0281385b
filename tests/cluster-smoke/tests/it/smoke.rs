//! Smoke tests of the local test cluster (`scripts/test-cluster`): a real API server with
//! admission, controllers and scheduler, and KWOK's simulated node.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::PostParams;
use kube::Api;
use kubectl_mlflow_test_support::{cluster, poll_until, write_cri_log, NODE_NAME};

const TIMEOUT: Duration = Duration::from_secs(90);

fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

fn pod(name: &str, port: Option<u16>) -> Pod {
    let mut container = serde_json::json!({
        "name": "main",
        "image": "registry.invalid/never-pulled:1",
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": true,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"}
        }
    });
    if let Some(p) = port {
        container["ports"] = serde_json::json!([{"containerPort": p}]);
    }
    from_json(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [container]}
    }))
}

async fn wait_running(pods: &Api<Pod>, name: &str) {
    let ok = poll_until(TIMEOUT, || async {
        pods.get_opt(name).await.ok().flatten().and_then(|p| p.status).and_then(|s| s.phase).as_deref()
            == Some("Running")
    })
    .await;
    assert!(ok.is_ok(), "pod {name} never became Running");
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn readyz_is_ok() {
    let out = cluster().kubectl_output(&["get", "--raw", "/readyz"]).unwrap();
    assert_eq!(out.trim(), "ok");
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn server_version_is_reported() {
    let c = cluster();
    let info = c.client().await.apiserver_version().await.unwrap();
    assert_eq!(info.major, "1");
    assert!(info.git_version.starts_with("v1."), "gitVersion {:?}", info.git_version);
    assert!(!info.git_version.contains("master"), "gitVersion {:?}", info.git_version);
    let out = c.kubectl_output(&["version", "-o", "json"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["serverVersion"]["gitVersion"], info.git_version.as_str());
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn deployment_becomes_available() {
    let ns = cluster().namespace("smoke-deploy").await;
    let deploys: Api<Deployment> = ns.api();
    let d: Deployment = from_json(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}
            }
        }
    }));
    deploys.create(&PostParams::default(), &d).await.unwrap();
    let ok = poll_until(TIMEOUT, || async {
        let Ok(d) = deploys.get("web").await else {
            return false;
        };
        let status = d.status.unwrap_or_default();
        status.available_replicas == Some(1)
            && status.conditions.unwrap_or_default().iter().any(|c| c.type_ == "Available" && c.status == "True")
    })
    .await;
    assert!(ok.is_ok(), "deployment never became Available");
    let pods: Api<Pod> = ns.api();
    let list = pods.list(&Default::default()).await.unwrap();
    let p = &list.items[0];
    assert_eq!(p.spec.as_ref().unwrap().node_name.as_deref(), Some(NODE_NAME));
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn job_completes() {
    let ns = cluster().namespace("smoke-job").await;
    let jobs: Api<Job> = ns.api();
    let j: Job = from_json(serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "once", "image": "registry.invalid/once:1"}]
                }
            }
        }
    }));
    jobs.create(&PostParams::default(), &j).await.unwrap();
    let ok = poll_until(TIMEOUT, || async {
        let Ok(j) = jobs.get("once").await else {
            return false;
        };
        let status = j.status.unwrap_or_default();
        status.succeeded == Some(1)
            && status.conditions.unwrap_or_default().iter().any(|c| c.type_ == "Complete" && c.status == "True")
    })
    .await;
    assert!(ok.is_ok(), "job never completed");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn pvc_binds_with_default_storage_class() {
    let ns = cluster().namespace("smoke-pvc").await;
    let pvcs: Api<PersistentVolumeClaim> = ns.api();
    let pvc: PersistentVolumeClaim = from_json(serde_json::json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }));
    pvcs.create(&PostParams::default(), &pvc).await.unwrap();
    let ok = poll_until(TIMEOUT, || async {
        pvcs.get("data").await.ok().and_then(|p| p.status).and_then(|s| s.phase).as_deref() == Some("Bound")
    })
    .await;
    assert!(ok.is_ok(), "pvc never bound");
    let bound = pvcs.get("data").await.unwrap();
    assert!(bound.spec.unwrap().storage_class_name.is_some(), "default StorageClass not applied");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn port_forward_reaches_local_listener() {
    let c = cluster();
    let ns = c.namespace("smoke-pf").await;
    let pods: Api<Pod> = ns.api();

    // The test's own listener: echoes back a greeting line. Its answer comes through a channel
    // read with a timeout, so a connection that never arrives fails the test instead of hanging it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap();
    let (heard, server) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut line = String::new();
        BufReader::new(s.try_clone().unwrap()).read_line(&mut line).unwrap();
        s.write_all(format!("echo:{line}").as_bytes()).unwrap();
        let _ = heard.send(line);
    });

    pods.create(&PostParams::default(), &pod("pf", Some(8080))).await.unwrap();
    ns.forward_pod_port("pf", 8080, target).await;
    wait_running(&pods, "pf").await;

    // kubectl port-forward, its local port read with a timeout (support's port_forward).
    let forward = c.port_forward(ns.name(), "pod/pf", 8080, TIMEOUT);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], forward.port()));
    let mut conn = TcpStream::connect_timeout(&address, Duration::from_secs(30)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    conn.write_all(b"hello through the api server\n").unwrap();
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply).unwrap();
    drop(forward);
    assert_eq!(reply, "echo:hello through the api server\n");
    let line = server.recv_timeout(Duration::from_secs(30)).expect("the listener heard nothing within 30 s");
    assert_eq!(line, "hello through the api server\n");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn logs_return_test_file() {
    let c = cluster();
    let ns = c.namespace("smoke-logs").await;
    let pods: Api<Pod> = ns.api();
    let dir = std::env::temp_dir().join(format!("kmlf-smoke-logs-{}", ns.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("main.log");
    write_cri_log(&file, &["first line from the test", "second line"]).unwrap();

    pods.create(&PostParams::default(), &pod("logger", None)).await.unwrap();
    ns.serve_pod_logs("logger", &file).await;
    wait_running(&pods, "logger").await;

    let mut last = String::new();
    let ok = poll_until(TIMEOUT, || {
        let r = c.kubectl_output(&["-n", ns.name(), "logs", "logger"]);
        last = format!("{r:?}");
        async move { r.map(|out| out == "first line from the test\nsecond line\n").unwrap_or(false) }
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok.is_ok(), "kubectl logs never returned the test's file; last: {last}");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn restricted_namespace_refuses_privileged_pod() {
    let ns =
        cluster().namespace_with_labels("smoke-psa", &[("pod-security.kubernetes.io/enforce", "restricted")]).await;
    let pods: Api<Pod> = ns.api();
    let privileged: Pod = from_json(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root"},
        "spec": {"containers": [{
            "name": "root",
            "image": "registry.invalid/root:1",
            "securityContext": {"privileged": true}
        }]}
    }));
    let err = pods
        .create(&PostParams::default(), &privileged)
        .await
        .expect_err("a privileged pod must be refused in a restricted namespace");
    let msg = err.to_string();
    assert!(msg.contains("violates PodSecurity"), "unexpected error: {msg}");
    // A pod that meets the restricted profile is admitted.
    pods.create(&PostParams::default(), &pod("compliant", None)).await.unwrap();
    ns.delete().await;
}
