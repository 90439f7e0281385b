//! The API server's audit log (`scripts/test-cluster up --audit-policy FILE` writes it to
//! `<state dir>/logs/audit.log`, one JSON event a line): which writes a command made, in order,
//! and a watcher that acts the moment the Nth of them reaches the API server.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The verbs that change something.
const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// When the audit log saw a request: as it arrived, or once it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Received,
    Completed,
}

impl Stage {
    fn of(event: &Value) -> Option<Stage> {
        match event["stage"].as_str()? {
            "RequestReceived" => Some(Stage::Received),
            "ResponseComplete" => Some(Stage::Completed),
            _ => None,
        }
    }
}

/// One write a client made, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub stage: Stage,
    pub verb: String,
    /// `deployments`, `secrets`, … (with `/status` when a subresource)
    pub resource: String,
    pub name: String,
    pub namespace: String,
    pub user_agent: String,
    /// The response code (completed writes only).
    pub code: Option<u16>,
}

impl Write {
    /// `patch deployments/mlflow-mlflow`
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.verb, self.resource, self.name)
    }

    fn parse(event: &Value) -> Option<Write> {
        let verb = event["verb"].as_str()?;
        if !WRITE_VERBS.contains(&verb) {
            return None;
        }
        // a server-side dry run changes nothing
        if event["requestURI"].as_str().is_some_and(|uri| uri.contains("dryRun=")) {
            return None;
        }
        let object = &event["objectRef"];
        let mut resource = object["resource"].as_str().unwrap_or_default().to_string();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        Some(Write {
            stage: Stage::of(event)?,
            verb: verb.to_string(),
            resource,
            name: object["name"].as_str().unwrap_or_default().to_string(),
            namespace: object["namespace"].as_str().unwrap_or_default().to_string(),
            user_agent: event["userAgent"].as_str().unwrap_or_default().to_string(),
            code: event["responseStatus"]["code"].as_u64().map(|c| c as u16),
        })
    }
}

/// Which writes count: those of a user agent (prefix) in one namespace (or of the namespace
/// itself).
#[derive(Debug, Clone)]
pub struct Filter {
    pub user_agent: String,
    pub namespace: String,
}

impl Filter {
    /// The writes of this project's plugins (`kubectl-mlflow/v… (install)`) in `namespace`.
    pub fn plugins_in(namespace: &str) -> Filter {
        Filter { user_agent: "kubectl-mlflow/".into(), namespace: namespace.into() }
    }

    pub fn matches(&self, write: &Write) -> bool {
        write.user_agent.starts_with(&self.user_agent)
            && (write.namespace == self.namespace || (write.resource == "namespaces" && write.name == self.namespace))
    }
}

/// Which write [`AuditLog::on_nth_write`] waits for: the `n`th (1-based) matching `filter`
/// from offset `from` on, at `stage`, for at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Nth<'a> {
    pub from: u64,
    pub filter: &'a Filter,
    pub n: usize,
    pub stage: Stage,
    pub limit: Duration,
}

/// The audit log of a running test cluster.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The audit log beside a cluster's kubeconfig (`<state dir>/logs/audit.log`), if `up` was
    /// given a policy.
    pub fn beside(kubeconfig: &Path) -> Option<AuditLog> {
        let path = kubeconfig.parent()?.join("logs/audit.log");
        path.is_file().then_some(AuditLog { path })
    }

    /// Where the log ends now: [`AuditLog::writes`] from here sees only later requests.
    pub fn end(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// The completed writes matching `filter` logged from `from` on.
    pub fn writes(&self, from: u64, filter: &Filter) -> Vec<Write> {
        self.writes_at(from, filter, Stage::Completed)
    }

    /// The writes matching `filter` logged at `stage` from `from` on.
    pub fn writes_at(&self, from: u64, filter: &Filter, stage: Stage) -> Vec<Write> {
        let mut tail = Tail::open(&self.path, from);
        let mut out = Vec::new();
        while let Some(event) = tail.next_event() {
            if let Some(write) = Write::parse(&event).filter(|w| w.stage == stage && filter.matches(w)) {
                out.push(write);
            }
        }
        out
    }

    /// Follows the log from `nth.from` until the `nth.n`th write (1-based) matching
    /// `nth.filter` reaches `nth.stage`, then runs `act` at once and returns that write; `None`
    /// when `give_up` says so first (checked every few milliseconds) or after `nth.limit`.
    pub fn on_nth_write(&self, nth: &Nth, mut give_up: impl FnMut() -> bool, act: impl FnOnce()) -> Option<Write> {
        let Nth { from, filter, n, stage, limit } = *nth;
        let deadline = Instant::now() + limit;
        let mut tail = Tail::open(&self.path, from);
        let mut seen = 0;
        loop {
            match tail.next_event() {
                Some(event) => {
                    let Some(write) = Write::parse(&event).filter(|w| w.stage == stage && filter.matches(w)) else {
                        continue;
                    };
                    seen += 1;
                    if seen == n {
                        act();
                        return Some(write);
                    }
                }
                None => {
                    if give_up() || Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}

/// Reads whole lines from an offset on, keeping a line still being written for the next read.
struct Tail {
    reader: Option<BufReader<File>>,
    partial: String,
}

impl Tail {
    fn open(path: &Path, from: u64) -> Tail {
        let reader = File::open(path).ok().map(|mut f| {
            let _ = f.seek(SeekFrom::Start(from));
            BufReader::new(f)
        });
        Tail { reader, partial: String::new() }
    }

    fn next_event(&mut self) -> Option<Value> {
        let reader = self.reader.as_mut()?;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if !line.ends_with('\n') {
                self.partial.push_str(&line);
                return None;
            }
            let whole = std::mem::take(&mut self.partial) + &line;
            if let Ok(event) = serde_json::from_str(&whole) {
                return Some(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_writes_and_leaves_out_dry_runs_reads_and_other_clients() {
        let dir = std::env::temp_dir().join(format!("kmlf-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.log");
        let event = |stage: &str, verb: &str, uri: &str, ua: &str| {
            serde_json::json!({"stage": stage, "verb": verb, "requestURI": uri, "userAgent": ua,
                "objectRef": {"resource": "secrets", "namespace": "ns", "name": "s"},
                "responseStatus": {"code": 200}})
            .to_string()
        };
        let ua = "kubectl-mlflow/v0.1.0 (install)";
        let lines = [
            event("RequestReceived", "patch", "/api/v1/namespaces/ns/secrets/s", ua),
            event("ResponseComplete", "patch", "/api/v1/namespaces/ns/secrets/s?dryRun=All", ua),
            event("ResponseComplete", "get", "/api/v1/namespaces/ns/secrets/s", ua),
            event("ResponseComplete", "patch", "/api/v1/namespaces/ns/secrets/s", "kubectl/v1.35"),
            event("ResponseComplete", "patch", "/api/v1/namespaces/ns/secrets/s", ua),
        ];
        std::fs::write(&path, lines.join("\n") + "\n{\"stage\": \"Resp").unwrap();
        let log = AuditLog { path: path.clone() };
        let writes = log.writes(0, &Filter::plugins_in("ns"));
        assert_eq!(writes.len(), 1);
        assert_eq!((writes[0].describe(), writes[0].code), ("patch secrets/s".to_string(), Some(200)));
        let mut acted = false;
        let filter = Filter::plugins_in("ns");
        let nth = |n, stage, limit| Nth { from: 0, filter: &filter, n, stage, limit };
        let first = log.on_nth_write(&nth(1, Stage::Received, Duration::from_secs(1)), || false, || acted = true);
        assert!(acted && first.is_some());
        let none = log.on_nth_write(&nth(3, Stage::Completed, Duration::from_millis(50)), || false, || {});
        assert!(none.is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
