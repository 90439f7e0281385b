//! Waiting until deleted objects are gone: one watch per kind on the release's labels (no
//! polling), each object counted gone when its delete event comes or a relist misses it.

use std::collections::{BTreeMap, BTreeSet};

use futures::{stream, StreamExt};
use kube::core::DynamicObject;
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kubectl_mlflow_core::cluster::Session;
use kubectl_mlflow_core::engine::kinds::Kind;
use kubectl_mlflow_core::engine::Sink;

use crate::plan::{api, ObjectRef};

/// The objects not yet gone.
#[derive(Debug, Default)]
pub struct Pending {
    left: BTreeSet<ObjectRef>,
    relisted: BTreeMap<Kind, BTreeSet<String>>,
}

impl Pending {
    pub fn new(objects: impl IntoIterator<Item = ObjectRef>) -> Self {
        Pending { left: objects.into_iter().collect(), relisted: BTreeMap::new() }
    }

    pub fn left(&self) -> Vec<String> {
        self.left.iter().map(ObjectRef::describe).collect()
    }

    fn kinds(&self) -> BTreeSet<Kind> {
        self.left.iter().map(|o| o.kind).collect()
    }

    fn apply(&mut self, kind: Kind, event: Event<DynamicObject>) {
        let uid = |object: &DynamicObject| object.metadata.uid.clone().unwrap_or_default();
        match event {
            Event::Delete(meta) => self.left.retain(|o| !(o.kind == kind && o.uid == uid(&meta))),
            Event::Init => {
                self.relisted.insert(kind, BTreeSet::new());
            }
            Event::InitApply(meta) => {
                self.relisted.entry(kind).or_default().insert(uid(&meta));
            }
            Event::InitDone => {
                let present = self.relisted.remove(&kind).unwrap_or_default();
                self.left.retain(|o| o.kind != kind || present.contains(&o.uid));
            }
            Event::Apply(_) => {}
        }
    }
}

/// Watches until every pending object is gone, showing what is left.
pub async fn wait(session: &Session, selector: &str, pending: &mut Pending, progress: &mut dyn Sink) {
    let streams = pending.kinds().into_iter().map(|kind| {
        let config = watcher::Config::default().labels(selector);
        watcher(api(session, kind), config).default_backoff().map(move |event| (kind, event)).boxed()
    });
    let mut events = stream::select_all(streams);
    show(pending, progress);
    while !pending.left.is_empty() {
        let Some((kind, event)) = events.next().await else { break };
        // A failed watch is retried (with backoff) by the watcher itself.
        if let Ok(event) = event {
            pending.apply(kind, event);
            show(pending, progress);
        }
    }
}

fn show(pending: &Pending, progress: &mut dyn Sink) {
    let left = pending.left();
    if !left.is_empty() {
        progress.phase(&format!("waiting for {} objects to be deleted: {}", left.len(), left.join(", ")));
    }
}
