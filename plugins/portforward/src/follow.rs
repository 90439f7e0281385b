//! Following the release: a watch of its server pods keeps the pod to forward to current (the
//! one in use while it is Ready, else the next Ready one), published on a `tokio::sync::watch`.

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;
use kubectl_mlflow_core::cluster::pods::Pods;
use tokio::sync::watch;

/// What the forward knows of the release's pods.
#[derive(Debug, Clone, Default)]
pub struct KnownPods {
    /// The pod new connections go to; `None` while no pod is Ready.
    pub current: Option<String>,
    /// `name: state` of every pod.
    pub states: Vec<(String, String)>,
    /// The first list has arrived.
    pub synced: bool,
    /// The last error of the watch (it retries by itself).
    pub error: Option<String>,
}

impl KnownPods {
    /// Why `pod` is no longer used: its state, or that it is gone.
    pub fn why_not(&self, pod: &str) -> String {
        match self.states.iter().find(|(name, _)| name == pod) {
            Some((_, state)) if state == "Terminating" => "is terminating".into(),
            Some((_, state)) => format!("is no longer Ready ({state})"),
            None => "is gone".into(),
        }
    }

    /// The pods' states on one line, for errors.
    pub fn describe_states(&self) -> String {
        if self.states.is_empty() {
            return "no pods".into();
        }
        self.states.iter().map(|(name, state)| format!("{name}: {state}")).collect::<Vec<_>>().join("; ")
    }
}

/// Watches the pods matching `selector` until the receiver side is gone.
pub async fn follow(api: Api<Pod>, selector: String, view: watch::Sender<KnownPods>) {
    let config = watcher::Config::default().labels(&selector);
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut pods = Pods::default();
    let mut listing: Option<BTreeMap<String, Pod>> = None;
    while let Some(event) = events.next().await {
        let mut synced = false;
        match event {
            Ok(Event::Init) => listing = Some(BTreeMap::new()),
            Ok(Event::InitApply(pod)) => {
                if let (Some(list), Some(name)) = (listing.as_mut(), pod.metadata.name.clone()) {
                    list.insert(name, pod);
                }
                continue;
            }
            Ok(Event::InitDone) => {
                pods.replace(listing.take().unwrap_or_default());
                synced = true;
            }
            Ok(Event::Apply(pod)) => pods.set(pod),
            Ok(Event::Delete(pod)) => pods.remove(&pod),
            Err(err) => {
                view.send_modify(|v| v.error = Some(err.to_string()));
                continue;
            }
        }
        let changed = view.send_if_modified(|v| {
            let current = pods.choose(v.current.as_deref());
            let states = pods.states();
            let modified = v.current != current || v.states != states || (synced && !v.synced) || v.error.is_some();
            v.current = current;
            v.states = states;
            v.synced |= synced;
            v.error = None;
            modified
        });
        if !changed && view.is_closed() {
            return;
        }
    }
}
