//! `kubectl mlflow gc` against the test cluster: it finds releases made by either engine by their
//! labels, and its Job completes (KWOK plays the pod). Run by scripts/test with --ignored.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use kube::api::ListParams;
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::{plugin_command, Running};
use kubectl_mlflow_test_support::{
    append_cri_log, assert_ok, bound_pod, cluster, set_pod_state, write_cri_log, ScriptedNode, TestNamespace,
};

/// How long the plugin may take to print a line, or to end.
const PRINTED: Duration = Duration::from_secs(60);

async fn gc_completes(ns: &TestNamespace) {
    assert_ok(&ns.run("kubectl-mlflow-gc", &["--older-than", "30d", "--timeout", "2m"]));
    let jobs = ns.api::<Job>().list(&ListParams::default().labels("app.kubernetes.io/component=gc")).await.unwrap();
    assert_eq!(jobs.items.len(), 1);
    let job = &jobs.items[0];
    assert_eq!(job.status.as_ref().and_then(|s| s.succeeded), Some(1));
    let command = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].command.clone().unwrap();
    assert!(command.contains(&"--older-than=30d".to_string()), "{command:?}");
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn gc_runs_on_a_natively_installed_release() {
    let ns = cluster().namespace("gcnative").await;
    assert_ok(&ns.run("kubectl-mlflow-install", &["--no-wait"]));
    gc_completes(&ns).await;
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn gc_runs_on_a_release_installed_with_helm() {
    let ns = cluster().namespace("gchelm").await;
    let helm = Helm::V4.binary().display().to_string();
    assert_ok(&ns.run("kubectl-mlflow-install", &["--helm", "--helm-binary", &helm, "--no-wait"]));
    gc_completes(&ns).await;
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_missing_release_is_named() {
    let ns = cluster().namespace("gcmissing").await;
    let out = ns.run("kubectl-mlflow-gc", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("release mlflow not found in namespace {}", ns.name()))
    );
    ns.delete().await;
}

/// The Job made from the release's GC CronJob: its template, an owner reference to the CronJob
/// and kubectl's `instantiate: manual` annotation, with the requested flags; pinned beside the
/// server pod because the quick start's PVC is ReadWriteOnce.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_job_is_made_from_the_cronjob_and_pinned_beside_the_server() {
    let ns = cluster().namespace("gccron").await;
    assert_ok(&ns.run("kubectl-mlflow-install", &["-f", "tests/values/gc.yaml", "--timeout", "2m"]));
    let refused = ns.run("kubectl-mlflow-gc", &["--logged-model-ids", "m 1", "--jobs"]);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));

    let out =
        ns.run("kubectl-mlflow-gc", &["--run-ids", "r1", "--logged-model-ids", "m-1", "--jobs", "--timeout", "2m"]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cron = ns.api::<CronJob>().get("mlflow-mlflow-gc").await.unwrap();
    let jobs = ns.api::<Job>().list(&ListParams::default().labels("app.kubernetes.io/component=gc")).await.unwrap();
    assert_eq!(jobs.items.len(), 1, "the refused run made no Job");
    let job = &jobs.items[0];
    let owner = &job.metadata.owner_references.as_ref().expect("an owner reference")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), Some(owner.uid.as_str())),
        ("CronJob", "mlflow-mlflow-gc", cron.metadata.uid.as_deref())
    );
    assert_eq!(owner.controller, Some(true));
    assert_eq!(job.metadata.annotations.as_ref().unwrap()["cronjob.kubernetes.io/instantiate"], "manual");
    let spec = job.spec.as_ref().unwrap();
    let template = cron.spec.unwrap().job_template.spec.unwrap();
    assert_eq!(spec.backoff_limit, template.backoff_limit);
    let pod = spec.template.spec.as_ref().unwrap();
    let template_pod = template.template.spec.unwrap();
    assert_eq!(pod.volumes, template_pod.volumes);
    assert_eq!(pod.containers[0].resources, template_pod.containers[0].resources);
    assert_eq!(pod.containers[0].image, template_pod.containers[0].image);
    let command = pod.containers[0].command.clone().unwrap();
    assert_eq!(command[3..], ["--run-ids=r1", "--logged-model-ids=m-1", "--jobs"], "{command:?}");

    let server =
        ns.api::<Pod>().list(&ListParams::default().labels("app.kubernetes.io/component=server")).await.unwrap();
    let node = server.items[0].spec.as_ref().unwrap().node_name.clone().unwrap();
    assert_eq!(required_node(pod), Some(node.clone()), "{:?}", pod.affinity);
    assert!(stderr.contains(&format!("is ReadWriteOnce: the Job's pod runs on node {node}")), "{stderr}");
    ns.delete().await;
}

/// The node name the pod's required node affinity names.
fn required_node(pod: &PodSpec) -> Option<String> {
    let terms = &pod
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let field = terms.first()?.match_fields.as_ref()?.iter().find(|f| f.key == "metadata.name")?;
    field.values.as_ref()?.first().cloned()
}

/// The plugin running in the background, its stdout and stderr read line by line.
fn start(ns: &TestNamespace, args: &[&str]) -> Running {
    let mut gc = plugin_command("kubectl-mlflow-gc");
    gc.args(ns.cluster_args()).args(args);
    Running::start(gc)
}

/// A release whose pods land on a node the test holds, with its server pod running there.
async fn release_on_a_scripted_node(ns: &TestNamespace) -> ScriptedNode {
    release_on_a_scripted_node_with(ns, &[]).await
}

async fn release_on_a_scripted_node_with(ns: &TestNamespace, extra: &[&str]) -> ScriptedNode {
    let node = ScriptedNode::new(ns).await;
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.push("--no-wait".to_string());
    for set in node.sets() {
        args.extend(["--set".to_string(), set]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_ok(&ns.run("kubectl-mlflow-install", &args));
    let server = bound_pod(ns, "app.kubernetes.io/component=server").await;
    assert_eq!(server.spec.as_ref().unwrap().node_name.as_deref(), Some(node.name.as_str()));
    set_pod_state(ns, &server, None).await;
    node
}

/// The GC CronJob's pod mounts the server's ReadWriteOnce volume, which one node at a time can
/// attach: it runs on the server's node (pod affinity) with the server's tolerations, though the
/// KWOK node is free and untainted (with ReadWriteMany it goes there).
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_gc_cronjobs_pod_runs_on_the_servers_node() {
    let ns = cluster().namespace("gccron-node").await;
    let node = release_on_a_scripted_node_with(&ns, &["--set", "garbageCollection.enabled=true"]).await;
    let from = "--from=cronjob/mlflow-mlflow-gc";
    cluster().kubectl_output(&["create", "job", "gc-now", from, "-n", ns.name()]).unwrap();
    let pod = bound_pod(&ns, "job-name=gc-now").await;
    assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some(node.name.as_str()), "the GC pod is not beside the server");
    node.delete(&ns).await;
    ns.delete().await;
}

/// Whether the Job has a Complete or Failed condition.
async fn job_ended(ns: &TestNamespace, job: &Job) -> bool {
    let job = ns.api::<Job>().get(job.metadata.name.as_deref().unwrap()).await.unwrap();
    let conditions = job.status.and_then(|s| s.conditions).unwrap_or_default();
    conditions.iter().any(|c| c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed"))
}

async fn the_gc_job(ns: &TestNamespace) -> Job {
    let jobs = ns.api::<Job>().list(&ListParams::default().labels("app.kubernetes.io/component=gc")).await.unwrap();
    assert_eq!(jobs.items.len(), 1, "one GC Job");
    jobs.items.into_iter().next().unwrap()
}

/// The log streams while the Job runs (lines written after the plugin started arrive before the
/// Job ends); a failed Job ends the plugin with exit code 1, its log shown, a store password
/// masked. The Job runs on a node the test holds, beside the server pod (RWO PVC).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_log_streams_while_the_job_runs_and_a_failed_job_exits_1() {
    let ns = cluster().namespace("gcstream").await;
    let node = release_on_a_scripted_node(&ns).await;
    let gc = start(&ns, &["--timeout", "3m"]);
    let pod = bound_pod(&ns, "app.kubernetes.io/component=gc").await;
    assert_eq!(
        required_node(pod.spec.as_ref().unwrap()).as_deref(),
        Some(node.name.as_str()),
        "pinned beside the server pod"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gc.log");
    write_cri_log(&file, &["gc started"]).unwrap();
    ns.follow_pod_logs(&pod.metadata.name.clone().unwrap(), "gc", &file).await;
    set_pod_state(&ns, &pod, None).await;
    gc.stdout.wait_for("gc started", PRINTED);
    append_cri_log(&file, "cannot reach postgresql://mlflow:hunter2secret@db:5432/mlflow");
    gc.stdout.wait_for("postgresql://mlflow:***@db:5432/mlflow", PRINTED);
    let job = the_gc_job(&ns).await;
    assert!(!job_ended(&ns, &job).await, "the log came before the Job ended");

    set_pod_state(&ns, &pod, Some(1)).await;
    let (code, stdout, stderr) = gc.end(PRINTED);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains(&format!("Job/{} failed", job.metadata.name.unwrap())), "{stderr}");
    assert!(stdout.contains("gc started"), "the log is shown:\n{stdout}");
    assert!(!(stdout + &stderr).contains("hunter2secret"), "a password was printed");
    node.delete(&ns).await;
    ns.delete().await;
}

/// Ctrl-C stops following and leaves the Job running, saying how to follow and delete it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn ctrl_c_leaves_the_job_running_and_says_how_to_follow_or_delete_it() {
    let ns = cluster().namespace("gcctrlc").await;
    let node = release_on_a_scripted_node(&ns).await;
    let gc = start(&ns, &["--timeout", "3m"]);
    let pod = bound_pod(&ns, "app.kubernetes.io/component=gc").await;
    set_pod_state(&ns, &pod, None).await;
    gc.stderr.wait_for("its log follows", PRINTED);
    gc.interrupt();
    let (code, _, stderr) = gc.end(PRINTED);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    let job = the_gc_job(&ns).await;
    let name = job.metadata.name.clone().unwrap();
    let namespace = ns.name();
    for text in [
        format!("interrupted: Job/{name} keeps running"),
        format!("kubectl logs -f job/{name} -n {namespace}"),
        format!("kubectl delete job/{name} -n {namespace}"),
    ] {
        assert!(stderr.contains(&text), "{text:?} not in:\n{stderr}");
    }
    assert!(
        job.metadata.deletion_timestamp.is_none() && !job_ended(&ns, &job).await,
        "the Job keeps running: {:?}",
        job.status
    );
    assert!(
        ns.api::<Pod>().get_opt(pod.metadata.name.as_deref().unwrap()).await.unwrap().is_some(),
        "its pod is still there"
    );
    node.delete(&ns).await;
    ns.delete().await;
}
