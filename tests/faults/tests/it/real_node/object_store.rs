//! Case 6: the object store (moto's S3 server) stopped (frozen: it keeps its objects in memory,
//! so stopping its process would lose them) while MLflow serves: artifact calls fail with
//! MLflow's error, everything else keeps working, and once it is back artifacts work again
//! without a human; the artifact logged before is intact.

use std::time::{Duration, Instant};

use kubectl_mlflow_fault_tests::mlflow::{client, one_try, Forward};
use kubectl_mlflow_fault_tests::node::{freeze, thaw};
use kubectl_mlflow_fault_tests::{figure, kubectl, real_fault_namespace, wait_available};
use kubectl_mlflow_test_support::poll_until;

use crate::production;

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn artifacts_fail_with_mlflows_error_and_the_rest_keeps_working_while_s3_is_down() {
    let ns = real_fault_namespace("fault-s3").await;
    let _production = production::install(&ns, &[]);
    let forward = Forward::start(&ns, Duration::from_secs(120));
    let before = client(&forward.url, &["roundtrip", "--blob-mib", "2"]);
    let frozen = freeze(&ns, "s3");
    // the S3 pod fails its readiness probe: the Service has no endpoint left
    let unready = poll_until(Duration::from_secs(60), || async {
        kubectl(&[
            "get",
            "endpointslices",
            "-n",
            ns.name(),
            "-l",
            "kubernetes.io/service-name=s3",
            "-o",
            "jsonpath={.items[*].endpoints[*].conditions.ready}",
        ])
        .trim()
            != "true"
    });
    let unready = unready.await.is_ok();
    let t0 = Instant::now();
    let artifact = one_try(&forward.url, &["roundtrip"], 120);
    let artifact_took = t0.elapsed();
    let metadata = one_try(&forward.url, &["roundtrip", "--no-artifact"], 120);
    thaw(&frozen);
    wait_available(&ns, &["deploy/s3"], Duration::from_secs(120));
    let back = Instant::now();
    let mut after = Err(String::new());
    while back.elapsed() < Duration::from_secs(120) {
        after = one_try(&forward.url, &["roundtrip"], 120);
        if after.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    figure(
        "object store stopped while serving",
        &format!(
            "S3 endpoint unready: {unready}; artifact call: {} after {:.1} s; params and metrics: {}; artifacts again {:.0} s after S3's return: {}",
            match &artifact { Ok(_) => "succeeded".to_string(), Err(e) => format!("failed: {e}") },
            artifact_took.as_secs_f64(),
            if metadata.is_ok() { "ok" } else { "FAILED" },
            back.elapsed().as_secs_f64(),
            after.is_ok()
        ),
    );
    let err = artifact.expect_err("an artifact was logged with the object store down");
    assert!(
        err.contains("MlflowException")
            || err.contains("RestException")
            || err.contains("500")
            || err.contains("Error"),
        "not MLflow's error: {err}"
    );
    metadata.unwrap_or_else(|e| panic!("a run without artifacts failed while only S3 was down: {e}"));
    after.unwrap_or_else(|e| panic!("artifacts did not work again within 2 min of S3's return: {e}"));
    let seen = client(
        &forward.url,
        &["check", before["run_id"].as_str().unwrap(), "--blob-sha256", before["blob_sha256"].as_str().unwrap()],
    );
    assert_eq!(seen["blob_sha256"], before["blob_sha256"]);
    drop(forward);
    ns.delete().await;
}
