//! Real helm binaries: helm 3.17 and helm 4.1 from `scripts/k8s-tools` (tool sets `v32` and
//! `v35`), the same script CI runs, and helm 3.8.2 from `scripts/helm-oldest`. A helm that cannot
//! be found or installed is a test failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::{cluster, repo_root};

/// The chart directory, `charts/`.
pub fn chart_dir() -> PathBuf {
    repo_root().join("charts")
}

/// A helm the chart is tested with: the two majors, and the oldest the deployment guide names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helm {
    /// helm 3.17, from the tool set `v32` (with kubectl 1.32).
    V3,
    /// helm 4.1, from the tool set `v35` (with kubectl 1.35).
    V4,
    /// helm 3.8.2, the oldest the deployment guide names ("Helm 3.8+"), built by `scripts/helm-oldest`.
    Oldest,
}

/// Both helm majors, oldest first.
pub const HELMS: [Helm; 2] = [Helm::V3, Helm::V4];

/// What a helm run gave.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for messages.
    pub command: String,
}

impl Run {
    /// Panics with the whole run unless it succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success, "{} failed:\n{}\n{}", self.command, self.stderr, self.stdout);
        self
    }

    /// Panics with the whole run unless it failed.
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success, "{} succeeded but should have failed:\n{}", self.command, self.stdout);
        self
    }

    /// The lines of the chart's `fail` message: from an `execution error at (...)` error (helm
    /// template), or from what helm lint logs instead of failing (helm 3: an `[INFO] Fail:` line
    /// followed by the message; helm 4: `level=INFO msg="funcMap fail" message="<quoted>"`).
    pub fn fail_lines(&self) -> Vec<String> {
        let text = format!("{}\n{}", self.stderr, self.stdout);
        const HELM4_LINT: &str = "msg=\"funcMap fail\" message=\"";
        if let Some(at) = text.find(HELM4_LINT) {
            let message = unquote_go(&text[at + HELM4_LINT.len()..]);
            return message.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        }
        let lines: Vec<&str> = text.lines().collect();
        let Some(start) = lines.iter().position(|l| l.contains("execution error at (") || l.contains("[INFO] Fail:"))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for line in &lines[start + 1..] {
            if line.trim().is_empty() || line.starts_with("Use --debug") {
                break;
            }
            out.push(line.trim_end().to_string());
        }
        out
    }
}

/// The text of a Go-quoted string whose opening quote was already consumed, up to its closing quote.
fn unquote_go(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

impl Helm {
    /// The tool set of `scripts/k8s-tools` holding this helm.
    pub fn tool_set(self) -> &'static str {
        match self {
            Helm::V3 => "v32",
            Helm::V4 => "v35",
            Helm::Oldest => "helm-oldest",
        }
    }

    /// The major version helm must report.
    pub fn major_prefix(self) -> &'static str {
        match self {
            Helm::V3 => "v3.17.",
            Helm::V4 => "v4.1.",
            Helm::Oldest => "v3.8.2",
        }
    }

    /// Path of the helm binary (installed by `scripts/k8s-tools` on first use). Panics if the
    /// script cannot provide it: CI installs both, so a missing helm is a failure, not a skip.
    pub fn binary(self) -> PathBuf {
        static V3: OnceLock<PathBuf> = OnceLock::new();
        static V4: OnceLock<PathBuf> = OnceLock::new();
        static OLDEST: OnceLock<PathBuf> = OnceLock::new();
        let (cell, script, args) = match self {
            Helm::V3 => (&V3, "scripts/k8s-tools", vec!["path", self.tool_set()]),
            Helm::V4 => (&V4, "scripts/k8s-tools", vec!["path", self.tool_set()]),
            Helm::Oldest => (&OLDEST, "scripts/helm-oldest", vec![]),
        };
        cell.get_or_init(|| {
            let script = repo_root().join(script);
            let out = Command::new(&script)
                .args(&args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(
                out.status.success(),
                "`{} {}` failed:\n{}",
                script.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            let printed = PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim());
            let helm = match self {
                Helm::Oldest => printed,
                _ => printed.join("helm"),
            };
            assert!(helm.is_file(), "{} does not exist", helm.display());
            let version = Command::new(&helm).args(["version", "--short"]).output().expect("helm version");
            let version = String::from_utf8_lossy(&version.stdout).to_string();
            assert!(
                version.starts_with(self.major_prefix()),
                "{} reports {version:?}, expected {}*",
                helm.display(),
                self.major_prefix()
            );
            helm
        })
        .clone()
    }

    /// `helm template mlflow ./charts --namespace mlflow EXTRA`, in a clean helm environment.
    pub fn template(self, extra: &[&str]) -> Run {
        self.template_chart(&chart_dir(), extra)
    }

    /// `helm template mlflow CHART --namespace mlflow EXTRA` of another chart directory.
    pub fn template_chart(self, chart: &Path, extra: &[&str]) -> Run {
        let chart = chart.to_string_lossy();
        let mut args = vec!["template", "mlflow", chart.as_ref(), "--namespace", "mlflow"];
        args.extend_from_slice(extra);
        self.run(args)
    }

    /// This helm on the test cluster (its kubeconfig), in the repository root, with the user's
    /// helm environment left out.
    pub fn on_cluster(self) -> Command {
        let mut cmd = Command::new(self.binary());
        cmd.current_dir(repo_root())
            .env("KUBECONFIG", cluster().kubeconfig())
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT");
        cmd
    }

    /// Runs helm with `args` in the repository root, in a clean helm environment (no repositories,
    /// no plugins, no kubeconfig of the user).
    pub fn run<I, S>(self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let home = helm_home();
        let mut cmd = Command::new(self.binary());
        cmd.args(&args)
            .current_dir(repo_root())
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("KUBECONFIG", home.join("no-kubeconfig"))
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT");
        let out = cmd.output().expect("run helm");
        Run {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            command: format!(
                "helm {} {}",
                self.major_prefix().trim_end_matches('.'),
                args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
            ),
        }
    }
}

/// A private, empty helm home for the tests (shared by test processes: helm only reads it here).
fn helm_home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = std::env::temp_dir().join("kubectl-mlflow-chart-tests-helm-home");
        std::fs::create_dir_all(&dir).expect("helm home");
        dir
    })
    .clone()
}
