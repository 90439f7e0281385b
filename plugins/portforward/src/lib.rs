//! `kubectl mlflow portforward` (the multicall `kubectl-mlflow` also accepts `port-forward`): a
//! local port forwarded to a Ready server pod of a release, that follows the release. A watch of
//! its pods moves new connections to the next Ready pod when the one in use goes away or stops
//! being Ready, so the local port outlives rollouts, evictions and crashes.

mod browser;
mod follow;
mod forward;
mod listen;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kubectl_mlflow_core::cluster::server_settings::ServerSettings;
use kubectl_mlflow_core::cluster::{lookup, pods, releases, Session};
use kubectl_mlflow_core::ui::{self, format_duration, parse_duration, ClusterArgs, OutputArgs, Progress, Reporter};
use kubectl_mlflow_core::{names, Failure};
use tokio::net::TcpListener;
use tokio::sync::watch;

use follow::KnownPods;
use forward::Forward;
use listen::{parse_address, Address};

/// Forward a local port to the MLflow server of a release, following it across pod restarts.
///
/// Finds the release by its labels (installed by kubectl mlflow install, by helm with this chart,
/// or by the official MLflow chart) and forwards each local connection to a Ready server pod
/// through the API server. When that pod goes away or stops being Ready, new connections go to
/// the next Ready pod; the local port stays open until Ctrl-C.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-portforward",
    bin_name = "kubectl mlflow portforward",
    version,
    after_help = "Examples:\n  kubectl mlflow portforward -n mlflow\n  kubectl mlflow portforward -n mlflow --port 0 --open\n  kubectl mlflow portforward my-release -n mlflow --address 127.0.0.1 --address ::1 --port 8080"
)]
pub struct Cli {
    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Local address to listen on: an IP address or localhost (repeatable)
    #[arg(long = "address", value_name = "ADDRESS", default_value = "127.0.0.1", value_parser = parse_address)]
    pub addresses: Vec<Address>,

    /// Local port; 0 picks a free one (printed)
    #[arg(long, default_value_t = 5000, value_name = "PORT")]
    pub port: u16,

    /// Open the URL in the browser
    #[arg(long)]
    pub open: bool,

    /// How long to wait for a Ready server pod, as 90s, 5m or 1h
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    #[command(flatten)]
    pub out: OutputArgs,
}

impl ui::Command for Cli {
    /// Each forwarded connection is a task: two workers let two of them move bytes at once.
    const WORKER_THREADS: usize = 2;

    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

/// The whole binary: parses `args` (the first is the program name), runs, exits 0, 1 or 2.
pub fn main<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    ui::main(args, run)
}

/// Runs the command until the user interrupts it (Ctrl-C or SIGTERM: a clean end).
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let reporter = Reporter::new(&cli.out);
    until_interrupted(forward(&cli, &reporter)).await.unwrap_or(Ok(()))
}

/// Runs `body` until it ends or the user interrupts (Ctrl-C, SIGTERM): an interrupt is a clean end.
async fn until_interrupted<T>(body: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::select! {
        code = body => Some(code),
        () = interrupted() => None,
    }
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Finds the release, binds, waits for a Ready pod, then forwards until interrupted.
async fn forward(cli: &Cli, reporter: &Reporter) -> Result<(), Failure> {
    if let Some(message) = names::check_release_name(&cli.release) {
        return Err(Failure::input(format!("release name {message}")));
    }
    // The port first: a busy port or a foreign address is known before any API call.
    let listeners = listen::bind(&cli.addresses, cli.port).await?;
    let session = Session::connect(&cli.cluster.target()).await?;
    let found = releases::find(&session, &cli.release).await?;
    let (client, namespace) = (session.client, session.namespace);
    let served = ServerSettings::of(&found.deployment);
    let selector = pods::selector(&found.deployment).unwrap_or_else(|| lookup::selector(&cli.release));

    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    let (view_tx, mut view) = watch::channel(KnownPods::default());
    tokio::spawn(follow::follow(pods.clone(), selector, view_tx));
    let pod = first_pod(&mut view, cli, &namespace).await?;

    let locals: Vec<SocketAddr> = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
    show(cli, reporter, &served, &locals, &pod, &namespace);
    let forward = Forward {
        pods,
        port: served.port,
        view: view.clone(),
        timeout: cli.timeout,
        verbose: cli.out.verbose,
        reporter: reporter.clone(),
    };
    for listener in listeners {
        tokio::spawn(accept(listener, forward.clone()));
    }
    announce(view, Some(pod), reporter.clone(), cli.timeout).await;
    Err(Failure::failed("lost the watch of the release's pods"))
}

/// Waits (with progress) for the first Ready pod, up to `--timeout`.
async fn first_pod(view: &mut watch::Receiver<KnownPods>, cli: &Cli, namespace: &str) -> Result<String, Failure> {
    let deadline = tokio::time::Instant::now() + cli.timeout;
    let mut progress: Option<Progress> = None;
    loop {
        {
            let now = view.borrow_and_update();
            if let Some(pod) = now.current.clone() {
                progress.as_mut().map(Progress::finish);
                return Ok(pod);
            }
            if now.synced {
                let progress = progress.get_or_insert_with(|| {
                    let mut progress = Progress::new();
                    progress.phase(&format!(
                        "waiting for a Ready server pod of release {} (up to {})",
                        cli.release,
                        format_duration(cli.timeout)
                    ));
                    progress
                });
                for (name, state) in &now.states {
                    progress.pod(name, state);
                }
            }
        }
        let changed = tokio::time::timeout_at(deadline, view.changed()).await;
        if !matches!(changed, Ok(Ok(()))) {
            progress.as_mut().map(Progress::finish);
            let now = view.borrow();
            let watch_error =
                now.error.as_ref().map(|e| format!(" (the watch of its pods failed: {e})")).unwrap_or_default();
            return Err(Failure::failed(format!(
                "no Ready server pod of release {} in namespace {namespace} after {}{watch_error}; pods: {} (see kubectl describe pods -n {namespace} -l app.kubernetes.io/instance={})",
                cli.release,
                format_duration(cli.timeout),
                now.describe_states(),
                cli.release
            )));
        }
    }
}

/// The URLs on stdout (one per local address); where they lead, and how to log in, on stderr.
fn show(cli: &Cli, reporter: &Reporter, served: &ServerSettings, locals: &[SocketAddr], pod: &str, namespace: &str) {
    let urls: Vec<String> = locals.iter().map(|local| served.url(*local)).collect();
    for url in &urls {
        println!("{url}");
    }
    let from: Vec<String> = locals.iter().map(ToString::to_string).collect();
    reporter.note(&format!(
        "forwarding {} to pod {pod} port {} in namespace {namespace}; Ctrl-C to stop",
        from.join(", "),
        served.port
    ));
    if served.tls {
        reporter.note("the server serves TLS with its own certificate: clients may need it (MLFLOW_TRACKING_SERVER_CERT_PATH) or MLFLOW_TRACKING_INSECURE_TLS=true");
    }
    if let Some(auth) = &served.auth {
        reporter.note(&auth.describe(namespace));
    }
    if let Some(issuer) = &served.sign_in {
        let callbacks: Vec<String> = urls.iter().map(|url| format!("{url}oauth2/callback")).collect();
        reporter.note(&format!(
            "single sign-on: the browser signs in with {issuer}, which must allow the redirect URL {} (the port must stay the same); clients send a token the provider issued: {}=<token>",
            callbacks.join(" or "),
            kubectl_mlflow_core::oidc::TRACKING_TOKEN_ENV
        ));
    }
    if cli.open {
        if let Err(message) = urls.first().map(|url| browser::open(url)).unwrap_or(Ok(())) {
            reporter.warn(&message);
        }
    }
}

async fn accept(listener: TcpListener, forward: Forward) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                // As kubectl's: without it a response written in two pieces waits for the
                // client's delayed ACK (tens of ms per request on a kept-alive connection).
                let _ = stream.set_nodelay(true);
                tokio::spawn(forward.clone().serve(stream, peer));
            }
            Err(err) => {
                forward.reporter.warn(&format!("accepting a connection failed: {err}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One line whenever the pod behind the port changes; returns when the watch is gone.
async fn announce(
    mut view: watch::Receiver<KnownPods>,
    mut current: Option<String>,
    reporter: Reporter,
    timeout: Duration,
) {
    while view.changed().await.is_ok() {
        let now = view.borrow_and_update().clone();
        if now.current == current {
            continue;
        }
        let line = match (&current, &now.current) {
            (Some(old), Some(new)) => format!("pod {old} {}: forwarding to pod {new} now", now.why_not(old)),
            (Some(old), None) => format!(
                "pod {old} {}: no Ready pod left; new connections wait for one (up to {})",
                now.why_not(old),
                format_duration(timeout)
            ),
            (None, Some(new)) => format!("forwarding to pod {new} now"),
            (None, None) => continue,
        };
        reporter.note(&line);
        current = now.current;
    }
}
