//! Case 2: the API server SIGKILLed and restarted while `install` waits for its rollout and
//! while `portforward` serves clients: the install goes on and succeeds; the port-forward
//! reconnects, and with the client's retries no operation fails and nothing is lost.

use std::time::Duration;

use kubectl_mlflow_fault_tests::draw::Draw;
use kubectl_mlflow_fault_tests::mlflow::{Forward, Load};
use kubectl_mlflow_fault_tests::release::{converged, Expected, Others};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{audited_real_namespace, figure, real_fault_namespace, text, ONE_WORKER};
use kubectl_mlflow_test_support::audit::{Filter, Nth, Stage};
use kubectl_mlflow_test_support::cluster;

#[tokio::test]
#[ignore = "needs a real node of its own (it restarts the API server) with an audit log: scripts/fault-test install_goes_on"]
async fn install_goes_on_when_the_api_server_restarts_while_it_waits() {
    let mut draw = Draw::new("apiserver-install");
    let ns = audited_real_namespace("fault-api-install").await;
    let install = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]);
    let log = cluster().audit_log().unwrap();
    let from = log.end();
    let child = install.command(&ns).spawn().expect("run install");
    // its Deployment is written: it waits for the rollout now
    let filter = Filter::plugins_in(ns.name());
    let deployment = (1..=20).find_map(|n| {
        log.on_nth_write(
            &Nth { from, filter: &filter, n, stage: Stage::Completed, limit: Duration::from_secs(120) },
            || false,
            || {},
        )
        .filter(|w| w.resource == "deployments")
    });
    assert!(deployment.is_some(), "install never wrote its Deployment");
    let down = 2 + draw.below(8) as u32;
    cluster().restart("kube-apiserver", down).unwrap_or_else(|e| panic!("{e}"));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "install failed across an API server restart ({}): {}", draw.replay(), text(&out));
    converged(&ns, &Expected::of(&install, &ns), &Others::default()).unwrap_or_else(|e| panic!("not converged: {e}"));
    figure("API server restarted while install waits", &format!("down {down} s; install succeeded, converged"));
    ns.delete().await;
}

const CLIENTS: usize = 4;

#[tokio::test]
#[ignore = "needs a real node of its own (it restarts the API server): scripts/fault-test portforward_reconnects"]
async fn portforward_reconnects_when_the_api_server_restarts() {
    let mut draw = Draw::new("apiserver-portforward");
    let ns = real_fault_namespace("fault-api-pf").await;
    let out = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]).run(&ns);
    assert!(out.status.success(), "install: {}", text(&out));
    let mut forward = Forward::start(&ns, Duration::from_secs(120));
    let record = std::env::temp_dir().join(format!("{}-load.json", ns.name()));
    let logging =
        Load { clients: CLIENTS as u32, seconds: 50, max_ops: 3000, artifact_every: 5 }.start(&forward.url, &record);
    tokio::time::sleep(Duration::from_secs(15 + draw.below(10) as u64)).await;
    let down = 2 + draw.below(8) as u32;
    cluster().restart("kube-apiserver", down).unwrap_or_else(|e| panic!("{e}"));
    let logged = logging.finish();
    assert!(forward.running(), "the port-forward ended with the API server: {}", forward.said());
    let verdict = logged.verify(None);
    // The API server carries every stream: a request in flight when it goes has its connection
    // cut (one per client at most, each client sending one at a time); any other failure is ours.
    let (in_flight, others) = logged.in_flight_failures();
    figure(
        "API server restarted while portforward serves",
        &format!(
            "down {down} s; {}, {} of them in flight when it went (the connection cut); read back: {verdict:?}",
            logged.figures(),
            in_flight.len()
        ),
    );
    assert!(
        others.is_empty() && in_flight.len() <= CLIENTS,
        "operations failed after the client's retries ({}): {:?}\n{}",
        draw.replay(),
        logged.failures(5),
        forward.said()
    );
    assert!(verdict.is_ok(), "data lost ({}): {verdict:?}", draw.replay());
    std::fs::remove_file(record).ok();
    ns.delete().await;
}
