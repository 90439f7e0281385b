//! The status as one screen of text: a labelled row per section, the pods and warnings as tables.

use std::fmt::Write;

use k8s_openapi::jiff::Timestamp;

use crate::document::{Gc, Pod, State, Status, Store, Volume};
use crate::verdict::age;
use crate::volumes::bytes;

const LABEL: usize = 11;
/// Longer event messages are cut on the screen (`-o json` has them whole).
const MESSAGE: usize = 100;

pub fn render(status: &Status, now: Timestamp) -> String {
    let mut out = String::new();
    let release = &status.release;
    row(&mut out, "Release", &[format!("{} in namespace {} · {}", release.name, release.namespace, engine(status))]);
    let versions = [
        release.mlflow_version.as_ref().map(|v| format!("MLflow {v}")),
        release.chart.as_ref().map(|c| format!("chart {c}")),
        release.image.as_ref().map(|i| format!("image {i}")),
    ];
    row(&mut out, "Versions", &[versions.into_iter().flatten().collect::<Vec<_>>().join(" · ")]);
    let mut verdict = vec![format!("{:?}", status.verdict.state)];
    if status.verdict.state != State::Healthy {
        verdict = status.verdict.reasons.iter().map(|r| format!("{:?}: {r}", status.verdict.state)).collect();
        verdict.truncate(1);
        verdict.extend(status.verdict.reasons.iter().skip(1).map(|r| format!("{}  {r}", " ".repeat(8))));
    }
    row(&mut out, "Verdict", &verdict);
    out.push('\n');
    let server = &status.server;
    row(&mut out, "Server", &[format!("Deployment/{}: {}", server.deployment, server.rollout)]);
    pods(&mut out, &server.pods, now);
    if !status.events.is_empty() {
        row(&mut out, "Warnings", &["(last hour)".to_string()]);
        events(&mut out, status, now);
    }
    out.push('\n');
    row(&mut out, "Stores", &stores(status));
    row(&mut out, "Schema", &[schema(status)]);
    let mut volumes: Vec<String> = status.volumes.iter().map(volume).collect();
    if volumes.is_empty() {
        volumes.push("none".into());
    }
    row(&mut out, "Volume", &volumes);
    row(&mut out, "GC", &[gc(status.gc.as_ref(), now)]);
    row(&mut out, "Auth", &auth(status));
    row(&mut out, "URLs", &urls(status));
    if !status.notes.is_empty() {
        row(&mut out, "Notes", &status.notes);
    }
    out
}

fn row(out: &mut String, label: &str, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        let _ = writeln!(out, "{label:<LABEL$}{line}");
    }
}

fn engine(status: &Status) -> String {
    let release = &status.release;
    let mut text = match release.engine.as_str() {
        "helm" => format!(
            "helm, revision {} ({})",
            release.revision.unwrap_or_default(),
            release.helm_status.as_deref().unwrap_or("?")
        ),
        "native" => {
            let by = release.applied_by.as_ref().map(|t| format!(", applied by {t}")).unwrap_or_default();
            format!("native (ApplySet {}{by})", release.apply_set.as_deref().unwrap_or("?"))
        }
        other => format!("engine {other} ({})", release.engine_note.as_deref().unwrap_or("-")),
    };
    if let Some(progress) = &release.in_progress {
        text.push_str(&format!(" · installing: {progress}"));
    }
    text
}

fn table(out: &mut String, rows: Vec<Vec<String>>) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> =
            row.iter().enumerate().map(|(c, cell)| format!("{cell:<width$}", width = widths[c])).collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
}

fn pods(out: &mut String, pods: &[Pod], now: Timestamp) {
    if pods.is_empty() {
        let _ = writeln!(out, "  no server pods");
        return;
    }
    let mut rows = vec![["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"].map(String::from).to_vec()];
    for pod in pods {
        rows.push(vec![
            pod.name.clone(),
            pod.containers_ready.clone(),
            pod.status.clone(),
            pod.restarts.to_string(),
            pod.age_seconds.map(age).unwrap_or_else(|| "-".into()),
            pod.node.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    table(out, rows);
    for pod in pods {
        if let Some(problem) = &pod.image_problem {
            let message = problem.message.as_ref().map(|m| format!(": {}", cut(m))).unwrap_or_default();
            let _ = writeln!(out, "    {}: image {} {}{message}", pod.name, problem.image, problem.reason);
        } else if let (false, Some(message)) = (pod.ready, &pod.message) {
            let _ = writeln!(out, "    {}: {}", pod.name, cut(message));
        }
        if let Some(end) = &pod.last_termination {
            let when = end.finished_at.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
            let when = when.map(|t| format!(" {} ago", age(now.as_second() - t.as_second()))).unwrap_or_default();
            let line = end.log_line.as_ref().map(|l| format!(": {}", cut(l))).unwrap_or_default();
            let _ = writeln!(out, "    {}: last exit {} ({}){when}{line}", pod.name, end.exit_code, end.reason);
        }
    }
}

fn events(out: &mut String, status: &Status, now: Timestamp) {
    let mut rows = vec![["COUNT", "LAST SEEN", "OBJECT", "REASON", "MESSAGE"].map(String::from).to_vec()];
    for event in status.events.iter().take(crate::events::MAX_LINES) {
        let seen = event.last_seen.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
        let object = match event.objects {
            1 => event.object.clone(),
            n => format!("{} (+{} more)", event.object, n - 1),
        };
        rows.push(vec![
            event.count.to_string(),
            seen.map(|t| age(now.as_second() - t.as_second())).unwrap_or_else(|| "-".into()),
            object,
            event.reason.clone(),
            cut(&event.message),
        ]);
    }
    table(out, rows);
    let more = status.events.len().saturating_sub(crate::events::MAX_LINES);
    if more > 0 {
        let _ = writeln!(out, "  … and {more} more (-o yaml shows all)");
    }
}

fn cut(text: &str) -> String {
    let text = text.replace('\n', " ");
    match text.chars().count() > MESSAGE {
        true => text.chars().take(MESSAGE - 1).collect::<String>() + "…",
        false => text,
    }
}

fn store(store: &Store) -> String {
    let source = match (store.source.as_str(), &store.source_name, &store.source_key) {
        ("secret", Some(name), Some(key)) => format!("from Secret {name}, key {key}"),
        ("configMap", Some(name), Some(key)) => format!("from ConfigMap {name}, key {key}"),
        ("argument", _, _) => "on the command line".into(),
        ("value", _, _) => "in the pod spec".into(),
        (other, _, _) => other.into(),
    };
    let note = store.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default();
    match &store.described {
        Some(described) => format!("{described} ({source}{note})"),
        None => format!("unknown ({source}{note})"),
    }
}

fn stores(status: &Status) -> Vec<String> {
    let stores = &status.stores;
    let mut lines = vec![format!(
        "backend    {}",
        stores.backend.as_ref().map(store).unwrap_or_else(|| "not set (MLflow's default)".into())
    )];
    lines.push(format!(
        "registry   {}",
        stores.registry.as_ref().map(store).unwrap_or_else(|| "the backend store".into())
    ));
    let proxied = if stores.serves_artifacts { "proxied by the server" } else { "not proxied: clients write there" };
    match (&stores.artifacts_destination, &stores.default_artifact_root) {
        (None, None) => lines.push(format!("artifacts  MLflow's default ({proxied})")),
        (destination, root) => {
            lines.extend(destination.iter().map(|d| format!("artifacts  {d} ({proxied})")));
            lines.extend(root.iter().map(|r| format!("root       {r} (default artifact root of new experiments)")));
        }
    }
    if let Some(database) = &status.auth.database {
        lines.push(format!("auth db    {}", store(database)));
    }
    lines
}

fn schema(status: &Status) -> String {
    let schema = &status.schema;
    let reason = schema.reason.clone().unwrap_or_default();
    let within = schema.pod.as_ref().map(|p| format!(", read in pod {p}")).unwrap_or_default();
    match schema.state.as_str() {
        "current" => format!(
            "at {}, as MLflow {} expects{within}",
            schema.current.join(", "),
            status.release.mlflow_version.as_deref().unwrap_or("?")
        ),
        "migrationPending" => format!("migration pending: {reason}"),
        "notApplicable" => format!("no schema: {reason}"),
        _ => format!("unknown ({reason})"),
    }
}

fn volume(volume: &Volume) -> String {
    let size = volume.capacity.clone().unwrap_or_else(|| "no size".into());
    let phase = volume.phase.as_deref().filter(|p| *p != "Bound").map(|p| format!(", {p}")).unwrap_or_default();
    match (volume.used_bytes, volume.available_bytes, volume.capacity_bytes, volume.used_percent) {
        (Some(used), Some(free), Some(total), Some(percent)) => {
            let warning = if volume.warning { " — warning: above 85 %" } else { "" };
            format!(
                "{} ({size}{phase}): {} used, {} free of {} ({percent:.1} %){warning}",
                volume.claim,
                bytes(used),
                bytes(free),
                bytes(total)
            )
        }
        _ => format!("{} ({size}{phase}): usage unknown ({})", volume.claim, volume.reason.as_deref().unwrap_or("-")),
    }
}

fn gc(gc: Option<&Gc>, now: Timestamp) -> String {
    let Some(gc) = gc else { return "no CronJob (garbageCollection.enabled is off)".into() };
    let suspended = if gc.suspended { ", suspended" } else { "" };
    let last = match &gc.last_run {
        Some(run) => {
            let when = run.started_at.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
            let when = when.map(|t| format!(" {} ago", age(now.as_second() - t.as_second()))).unwrap_or_default();
            let message = run.message.as_ref().map(|m| format!(": {}", cut(m))).unwrap_or_default();
            format!("last run Job/{}{when}: {}{message}", run.job, run.result)
        }
        None => "not run yet".into(),
    };
    format!("CronJob/{}, schedule \"{}\"{suspended}; {last}", gc.cron_job, gc.schedule)
}

fn auth(status: &Status) -> Vec<String> {
    let auth = &status.auth;
    let basic = match auth.basic_auth {
        false => "basic auth off".into(),
        true => format!("basic auth on, admin user {}", auth.admin_user.as_deref().unwrap_or("admin")),
    };
    let Some(sign_in) = &auth.single_sign_on else { return vec![basic] };
    let mut admits = Vec::new();
    if !sign_in.allowed_groups.is_empty() {
        admits.push(format!("groups {}", sign_in.allowed_groups.join(", ")));
    }
    if !sign_in.email_domains.is_empty() {
        admits.push(format!("email domains {}", sign_in.email_domains.join(", ")));
    }
    let admits = if admits.is_empty() { String::new() } else { format!(", admitting {}", admits.join("; ")) };
    vec![format!("single sign-on with {} (oauth2-proxy){admits}", sign_in.issuer), basic]
}

fn urls(status: &Status) -> Vec<String> {
    let urls = &status.urls;
    let mut lines: Vec<String> = urls.service.iter().map(|u| format!("{u} (in the cluster)")).collect();
    lines.extend(urls.load_balancer.iter().map(|u| format!("{u} (LoadBalancer)")));
    lines.extend(urls.ingress.iter().map(|u| format!("{u} (Ingress)")));
    lines.extend(urls.http_route.iter().map(|u| format!("{u} (HTTPRoute)")));
    if lines.is_empty() {
        lines.push("no Service".into());
    }
    lines
}
