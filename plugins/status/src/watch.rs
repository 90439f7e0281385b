//! `--watch`: the status again whenever the release changes — its pods, Deployment, Jobs,
//! claims or the namespace's Warning events, seen through watches (no polling) — drawn anew only
//! when it reads differently. Ctrl-C ends it, with the exit code of the last verdict.

use std::io::IsTerminal;
use std::time::Duration;

use futures::stream::{self, BoxStream};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::runtime::watcher::{self, watcher};
use kube::runtime::WatchStreamExt;
use kubectl_mlflow_core::cluster::lookup::Found;
use kubectl_mlflow_core::cluster::Session;
use kubectl_mlflow_core::{identity, Failure};

use crate::read::{self, Cache};
use crate::{build, find, Cli};

/// Changes that arrive this close together are drawn once.
const SETTLE: Duration = Duration::from_millis(250);

pub async fn run(cli: &Cli, session: &Session, found: Found) -> Result<(), Failure> {
    let mut changes = changes(session, &cli.release, &found);
    let terminal = std::io::stdout().is_terminal();
    let mut cache = Cache::default();
    let mut shown: Option<String> = None;
    let mut next = Some(found);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let found = match next.take() {
            Some(found) => found,
            None => find::release(session, &cli.release).await?,
        };
        let observed = read::observe(session, &cli.release, found, &mut cache).await?;
        let status = build::status(&observed);
        let text = crate::show(&status, cli.output, observed.now);
        if shown.as_ref() != Some(&text) {
            draw(&text, terminal, shown.is_some());
            shown = Some(text);
        }
        tokio::select! {
            _ = &mut interrupted => return crate::outcome(&status),
            change = changes.next() => if change.is_none() {
                return Err(Failure::failed("the watches of the release ended"));
            },
        }
        loop {
            tokio::select! {
                _ = &mut interrupted => return crate::outcome(&status),
                _ = tokio::time::sleep(SETTLE) => break,
                _ = changes.next() => {}
            }
        }
    }
}

/// On a terminal the screen is replaced; otherwise each new status follows the last one.
fn draw(text: &str, terminal: bool, again: bool) {
    let mut out = String::new();
    if terminal {
        out.push_str("\x1b[H\x1b[2J");
    } else if again {
        out.push('\n');
    }
    out.push_str(text);
    crate::write_out(&out);
}

/// One item per change of what the status shows (the watches' initial lists are not changes).
fn changes(session: &Session, release: &str, found: &Found) -> BoxStream<'static, ()> {
    let (client, ns) = (&session.client, session.namespace.as_str());
    let deployment = found.deployment.metadata.name.clone().unwrap_or_default();
    let selector = found
        .deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let of_release = watcher::Config::default().labels(&identity::selector(release, None));
    let streams = vec![
        only_changes(watcher(Api::<Pod>::namespaced(client.clone(), ns), watcher::Config::default().labels(&selector))),
        only_changes(watcher(
            Api::<Deployment>::namespaced(client.clone(), ns),
            watcher::Config::default().fields(&format!("metadata.name={deployment}")),
        )),
        // (the Jobs a CronJob makes carry none of the release's labels)
        only_changes(watcher(Api::<Job>::namespaced(client.clone(), ns), watcher::Config::default())),
        only_changes(watcher(Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns), of_release)),
        only_changes(watcher(
            Api::<Event>::namespaced(client.clone(), ns),
            watcher::Config::default().fields("type=Warning"),
        )),
    ];
    stream::select_all(streams).boxed()
}

fn only_changes<K: Send + 'static>(
    events: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
) -> BoxStream<'static, ()> {
    events
        .default_backoff()
        .filter_map(|event| async move {
            match event {
                Ok(watcher::Event::Apply(_)) | Ok(watcher::Event::Delete(_)) => Some(()),
                _ => None,
            }
        })
        .boxed()
}
