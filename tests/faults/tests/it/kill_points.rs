//! Case 1: each command of the table SIGKILLed at drawn points of its writes (and while it
//! waits), then rerun: the release converges to what an uninterrupted run leaves, and nothing
//! logged before is lost. The cases are in `kwok_cluster::kill_points` (the commands whose
//! writes and convergence the control plane shows: a first install, uninstall, `secrets
//! --overwrite`) and `real_node::kill_points` (those that need MLflow serving: the upgrade with a
//! migration Job on PostgreSQL, gc); on the real node the setups log runs, read back afterwards.

use std::time::Duration;

use kubectl_mlflow_fault_tests::commands::{Before, Check, Row, Setup, FIRST_URI, SECOND_URI};
use kubectl_mlflow_fault_tests::draw::Draw;
use kubectl_mlflow_fault_tests::mlflow::{client, Forward};
use kubectl_mlflow_fault_tests::release::{converged, Expected};
use kubectl_mlflow_fault_tests::victim::{Plugin, Point};
use kubectl_mlflow_fault_tests::{fault_namespace, figure, kubectl, on_real_node, text, ONE_WORKER, RELEASE};
use kubectl_mlflow_test_support::TestNamespace;
use serde_json::Value;

use crate::production::{self, Production};

/// A case's world: its namespace and what its setup made.
struct World {
    ns: TestNamespace,
    production: Option<Production>,
    /// Runs logged before the faults: (run id, blob SHA-256 when it has a blob)
    runs: Vec<(String, Option<String>)>,
    deleted: Option<String>,
    /// Where the case's archives go (`{dir}` in the row's arguments).
    dir: tempfile::TempDir,
}

async fn world(row: &Row, ns: TestNamespace) -> World {
    let dir = tempfile::tempdir().expect("a directory for archives");
    let mut world = World { ns, production: None, runs: Vec::new(), deleted: None, dir };
    match row.setup {
        Setup::Nothing => {}
        Setup::QuickStart => {
            install_quick_start(&world.ns);
            if on_real_node() {
                log_run(&mut world, None);
            }
        }
        Setup::BigQuickStart => {
            install_quick_start(&world.ns);
            log_run(&mut world, Some("128"));
        }
        Setup::Production => {
            world.production = Some(production::install(&world.ns, &["--set", "podAnnotations.kmlf-fault=point-0"]));
            log_run(&mut world, Some("5"));
        }
        Setup::DbSecret => write_secret(&world.ns, FIRST_URI),
        Setup::BackedUp => {
            install_quick_start(&world.ns);
            // an artifact big enough that the restore is still loading it 8-15 s in
            let forward = Forward::start(&world.ns, Duration::from_secs(120));
            let run = client(&forward.url, &["roundtrip", "--blob-mib", "48"]);
            world
                .runs
                .push((run["run_id"].as_str().unwrap().to_string(), run["blob_sha256"].as_str().map(String::from)));
            drop(forward);
            let archive = world.dir.path().join("source.tar.gz").display().to_string();
            let out = Plugin::new("kubectl-mlflow-backup", &["-o", &archive]).run(&world.ns);
            assert!(out.status.success(), "backup: {}", text(&out));
        }
    }
    world
}

fn install_quick_start(ns: &TestNamespace) {
    let out = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]).run(ns);
    assert!(out.status.success(), "install: {}", text(&out));
}

/// Logs a run, with an artifact of `blob_mib` MiB of random bytes if given.
fn log_run(world: &mut World, blob_mib: Option<&str>) {
    let forward = Forward::start(&world.ns, Duration::from_secs(120));
    let args: &[&str] = match blob_mib {
        Some(mib) => &["roundtrip", "--blob-mib", mib],
        None => &["roundtrip"],
    };
    let run = client(&forward.url, args);
    world.runs.push((run["run_id"].as_str().unwrap().to_string(), run["blob_sha256"].as_str().map(String::from)));
}

fn write_secret(ns: &TestNamespace, uri: &str) {
    let out = Plugin::new("kubectl-mlflow-secrets", &["db", "--uri", uri, "--overwrite"]).run(ns);
    assert!(out.status.success(), "secrets db: {}", text(&out));
}

/// Brings the world to the point's start.
async fn before(row: &Row, world: &mut World) {
    match row.before {
        Before::Nothing => {}
        Before::FreshNamespace => {
            let fresh = fault_namespace(row.name).await;
            let old = std::mem::replace(&mut world.ns, fresh);
            drop(old);
        }
        Before::Reinstall => install_quick_start(&world.ns),
        Before::DeletedRun => {
            let forward = Forward::start(&world.ns, Duration::from_secs(120));
            let run = client(&forward.url, &["roundtrip", "--delete"]);
            world.deleted = Some(run["run_id"].as_str().unwrap().to_string());
        }
        Before::FirstSecret => write_secret(&world.ns, FIRST_URI),
        Before::FreshQuickStart => {
            let fresh = fault_namespace(row.name).await;
            install_quick_start(&fresh);
            drop(std::mem::replace(&mut world.ns, fresh));
        }
    }
}

fn plugin(row: &Row, world: &World, point: usize) -> Plugin {
    let s3 = world.production.as_ref().map(|p| p.s3_values.display().to_string()).unwrap_or_default();
    Plugin { binary: row.binary, args: row.args_for(point, &s3, &world.dir.path().display().to_string()) }
}

/// Whether the world is what an uninterrupted run of `command` leaves.
fn check(row: &Row, world: &World, command: &Plugin) -> Result<(), String> {
    match row.check {
        Check::Installed => {
            let others = world.production.as_ref().map(Production::others).unwrap_or_default();
            converged(&world.ns, &Expected::of(command, &world.ns), &others)?;
            runs_intact(world)
        }
        Check::Uninstalled => uninstalled(&world.ns),
        Check::Collected => collected(world),
        Check::SecretReplaced => secret_is(&world.ns, SECOND_URI),
        Check::Archived => {
            archive_whole(world, command)?;
            workers_ended(&world.ns)?;
            runs_intact(world)
        }
        Check::Restored => {
            workers_ended(&world.ns)?;
            runs_intact(world)
        }
        Check::Pending => Err(format!("{} is pending", row.name)),
    }
}

/// Every run logged before is there, the blob by its SHA-256.
fn runs_intact(world: &World) -> Result<(), String> {
    if world.runs.is_empty() {
        return Ok(());
    }
    let forward = Forward::start(&world.ns, Duration::from_secs(180));
    for (run, sha) in &world.runs {
        let mut args = vec!["check", run.as_str()];
        if let Some(sha) = sha {
            args.extend(["--blob-sha256", sha.as_str()]);
        }
        let seen = client(&forward.url, &args);
        if seen["run_id"] != run.as_str() {
            return Err(format!("run {run}: {seen}"));
        }
    }
    Ok(())
}

fn uninstalled(ns: &TestNamespace) -> Result<(), String> {
    let left = kubectl(&[
        "get",
        "deploy,svc,sa,cronjob,job,pod,secret",
        "-n",
        ns.name(),
        "-l",
        &format!("app.kubernetes.io/instance={RELEASE}"),
        "-o",
        "name",
    ]);
    let parent = kubectl(&[
        "get",
        "secret",
        "-n",
        ns.name(),
        "--ignore-not-found",
        "-o",
        "name",
        &format!("kubectl-mlflow.release.{RELEASE}"),
    ]);
    let claims = kubectl(&["get", "pvc", "-n", ns.name(), "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.labels.applyset\\.kubernetes\\.io/part-of}{\"\\n\"}{end}"]);
    let mut problems = Vec::new();
    if !left.trim().is_empty() {
        problems.push(format!("left by uninstall: {}", left.trim()));
    }
    if !parent.trim().is_empty() {
        problems.push("the ApplySet parent is still there".to_string());
    }
    if claims.trim() != format!("{RELEASE}-mlflow") {
        problems.push(format!("the claim should stay, out of the set: {claims:?}"));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

fn collected(world: &World) -> Result<(), String> {
    let forward = Forward::start(&world.ns, Duration::from_secs(120));
    let deleted = world.deleted.as_deref().expect("a deleted run");
    let state = client(&forward.url, &["run-state", deleted]);
    if state["stage"] != "absent" {
        return Err(format!("the deleted run {deleted} is {}, not purged", state["stage"]));
    }
    let running = kubectl(&[
        "get",
        "jobs",
        "-n",
        world.ns.name(),
        "-o",
        "jsonpath={range .items[?(@.status.active)]}{.metadata.name} {end}",
    ]);
    if !running.trim().is_empty() {
        return Err(format!("gc Jobs still running: {running}"));
    }
    drop(forward);
    runs_intact(world)
}

/// How long a killed run's worker Job may idle on before it ends by itself (its two idle minutes,
/// plugins/backup's worker).
const WORKER_ENDS_WITHIN: Duration = Duration::from_secs(180);

/// No backup or restore worker Job is still running (a killed run's ends by itself).
fn workers_ended(ns: &TestNamespace) -> Result<(), String> {
    let selector = format!("app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component in (backup,restore)");
    let active = || {
        kubectl(&[
            "get",
            "jobs",
            "-n",
            ns.name(),
            "-l",
            &selector,
            "-o",
            "jsonpath={range .items[?(@.status.active)]}{.metadata.name} {end}",
        ])
    };
    let start = std::time::Instant::now();
    loop {
        let running = active();
        if running.trim().is_empty() {
            return Ok(());
        }
        if start.elapsed() > WORKER_ENDS_WITHIN {
            return Err(format!("worker Jobs still running {} s on: {running}", WORKER_ENDS_WITHIN.as_secs()));
        }
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// The archive `-o` names is whole: restore's own check (every checksum, the end of the stream)
/// accepts it, stopping only at the release it cannot find; no partial file is left beside it.
fn archive_whole(world: &World, command: &Plugin) -> Result<(), String> {
    let at = command.args.iter().position(|a| a == "-o").expect("backup's -o");
    let archive = std::path::Path::new(&command.args[at + 1]);
    let name = archive.file_name().unwrap().to_string_lossy();
    let partial = archive.with_file_name(format!(".{name}.partial"));
    if partial.exists() {
        return Err(format!("{} is left beside the archive", partial.display()));
    }
    if !archive.is_file() {
        return Err(format!("no archive at {}", archive.display()));
    }
    let probe = Plugin::new("kubectl-mlflow-restore", &[&archive.display().to_string(), "kmlf-no-such-release"]);
    let out = probe.run(&world.ns);
    let said = String::from_utf8_lossy(&out.stderr);
    match said.contains("kmlf-no-such-release") && !said.contains("damaged") {
        true => Ok(()),
        false => Err(format!("the archive {} is not whole: {said}", archive.display())),
    }
}

fn secret_is(ns: &TestNamespace, uri: &str) -> Result<(), String> {
    let secret: Value =
        serde_json::from_str(&kubectl(&["get", "secret", "mlflow-db-secret", "-n", ns.name(), "-o", "json"])).unwrap();
    let stored = secret["data"]["uri"].as_str().map(decode).unwrap_or_default();
    let labelled = secret["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE;
    // (the values are this test's fixtures, never a user's)
    match (stored == uri, labelled) {
        (true, true) => Ok(()),
        (same, labelled) => {
            Err(format!("mlflow-db-secret: holds the new URI: {same}, labelled for the release: {labelled}"))
        }
    }
}

fn decode(b64: &str) -> String {
    let out = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b64.as_bytes())?;
            c.wait_with_output()
        });
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// The case of one row: calibrate (an uninterrupted run, counting its writes), then each drawn
/// point: kill, rerun, check.
pub async fn row_case(row: &Row) {
    if let Some(why) = row.pending {
        figure(&format!("kill {}", row.name), &format!("PENDING: {why}"));
        return;
    }
    let mut draw = Draw::new(&format!("kill-{}", row.name));
    let mut world = world(row, fault_namespace(&format!("kill-{}", row.name)).await).await;
    before(row, &mut world).await;
    let calibration = plugin(row, &world, 1);
    let (out, writes) = calibration.run_counting(&world.ns);
    assert!(out.status.success(), "the uninterrupted {}: {}", calibration.describe(), text(&out));
    check(row, &world, &calibration)
        .unwrap_or_else(|e| panic!("the uninterrupted {} did not converge:\n{e}", row.name));
    let all = Point::all(writes.len(), row.waits);
    let points = match std::env::var("KMLF_FAULT_POINTS").ok().filter(|s| !s.is_empty()) {
        // named points instead of drawn ones ("30 s after", "write 2 in flight"): a replay of one
        Some(names) => {
            all.iter().filter(|p| names.split(',').any(|n| p.describe().contains(n.trim()))).copied().collect()
        }
        None => draw.sample(&all),
    };
    eprintln!(
        "kill {}: {} writes ({}); {} points, running {:?}",
        row.name,
        writes.len(),
        writes.iter().map(|w| w.describe()).collect::<Vec<_>>().join(", "),
        all.len(),
        points.iter().map(Point::describe).collect::<Vec<_>>()
    );
    // (survived, of which the command ended before the point, of which the rerun refused)
    let (mut survived, mut not_reached, mut refused) = (0, 0, Vec::new());
    // the points where the rerun was refused naming the row's `again` flag, and what it said
    let mut again: Vec<(String, String)> = Vec::new();
    for (i, point) in points.iter().enumerate() {
        before(row, &mut world).await;
        let command = plugin(row, &world, i + 2);
        let killed = command.run_killed_at(&world.ns, *point);
        let at = killed.killed_at.as_ref().map(|w| w.describe()).unwrap_or_else(|| "never (it ended first)".into());
        not_reached += usize::from(killed.killed_at.is_none());
        eprintln!("kill {}: {} → killed at {at}; rerunning", row.name, point.describe());
        let mut rerun = command.run(&world.ns);
        if let Some(flag) = row.again.filter(|flag| refused_naming(&rerun, flag)) {
            let said = first_line(&rerun.stderr);
            eprintln!(
                "kill {}: {}: the rerun refused, naming {flag}: {said}; once more with it",
                row.name,
                point.describe()
            );
            again.push((point.describe(), said));
            let mut forced = command.clone();
            forced.args.push(flag.to_string());
            rerun = forced.run(&world.ns);
        }
        let converged = check(row, &world, &command);
        // "rerunning the command, or nothing at all": a rerun that refuses is fine only when the
        // killed run had already left what an uninterrupted one leaves (it is counted apart)
        if !rerun.status.success() {
            assert!(
                converged.is_ok(),
                "kill {} at {} (killed at {at}): the rerun failed and the release has not converged ({}):\n{}\nkilled run: {}\nrerun: {}",
                row.name,
                point.describe(),
                draw.replay(),
                converged.unwrap_err(),
                text(&killed.output),
                text(&rerun)
            );
            let said = first_line(&rerun.stderr);
            eprintln!(
                "kill {}: {}: converged by the killed run; the rerun refused: {said}",
                row.name,
                point.describe()
            );
            refused.push((point.describe(), format!("exit {}: {said}", rerun.status.code().unwrap_or(-1))));
        } else if let Err(problems) = converged {
            panic!(
                "kill {} at {} (killed at {at}): not converged after the rerun ({}):\n{problems}",
                row.name,
                point.describe(),
                draw.replay()
            );
        }
        survived += 1;
    }
    let refused = match refused.first() {
        None => String::new(),
        Some((_, said)) => format!(
            "; at {} the killed run had already done it all and the rerun refused ({said})",
            refused.iter().map(|(point, _)| point.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    let again = match (again.first(), row.again) {
        (Some((_, said)), Some(flag)) => format!(
            "; at {} the rerun was refused naming {flag} ({said}) and with it converged",
            again.iter().map(|(point, _)| point.as_str()).collect::<Vec<_>>().join(", ")
        ),
        _ => String::new(),
    };
    figure(
        &format!("kill {}", row.name),
        &format!(
            "{survived}/{} points survived, {not_reached} of them not reached (the command ended first) ({} possible: {} writes{}){refused}{again}; data lost: none",
            points.len(),
            all.len(),
            writes.len(),
            match row.waits.len() {
                0 => String::new(),
                n => format!(" + {n} while waiting"),
            }
        ),
    );
    world.ns.delete().await;
}

/// Whether a run was refused (exit 2) with a message that names `flag` as the way to go on.
fn refused_naming(out: &std::process::Output, flag: &str) -> bool {
    out.status.code() == Some(2) && String::from_utf8_lossy(&out.stderr).contains(flag)
}

/// The error line of a command's stderr (else its first line), up to where it names the namespace (which differs
/// from point to point).
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    // its error, past any progress lines
    let line = text.lines().find(|l| l.starts_with("error:")).or(text.lines().next()).unwrap_or_default();
    line.split(" in namespace ").next().unwrap_or_default().to_string()
}

/// A test of one row of the table: `kill_case!(test_name, "row name", "why it is ignored")`.
macro_rules! kill_case {
    ($test:ident, $name:literal, $needs:literal) => {
        #[tokio::test]
        #[ignore = $needs]
        async fn $test() {
            use kubectl_mlflow_fault_tests::commands::TABLE;
            let row = TABLE.iter().find(|r| r.name == $name).expect("a row of the table");
            if row.selected() {
                $crate::kill_points::row_case(row).await;
            }
        }
    };
}
