//! The recent Warning events of the release's objects, deduplicated: one line per reason and
//! message, with how often it happened, on how many objects, and when last.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;

use crate::document::EventLine;

/// Events older than this are not recent (the API server keeps them about an hour anyway).
const RECENT_SECONDS: i64 = 3600;
/// Lines shown at most, newest first.
pub const MAX_LINES: usize = 10;

/// The release's objects, by uid and by the name prefix of their pods (a deleted pod's events
/// outlive it: its ReplicaSet's name prefixes its name).
#[derive(Debug, Default)]
pub struct Objects {
    pub uids: BTreeSet<String>,
    pub pod_prefixes: BTreeSet<String>,
}

impl Objects {
    fn owns(&self, event: &Event) -> bool {
        let object = &event.involved_object;
        if object.uid.as_ref().is_some_and(|uid| self.uids.contains(uid)) {
            return true;
        }
        let name = object.name.as_deref().unwrap_or_default();
        object.kind.as_deref() == Some("Pod")
            && self.pod_prefixes.iter().any(|prefix| name.starts_with(prefix.as_str()))
    }
}

/// When an event was last seen: its series, its last timestamp, its event time or its creation.
fn last_seen(event: &Event) -> Option<Timestamp> {
    event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or(event.last_timestamp.as_ref().map(|t| t.0))
        .or(event.event_time.as_ref().map(|t| t.0))
        .or(event.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn count(event: &Event) -> i32 {
    event.series.as_ref().and_then(|s| s.count).or(event.count).unwrap_or(1).max(1)
}

/// The Warning events of `objects` seen in the last hour, one line per (kind, reason, message),
/// newest first.
pub fn lines(events: &[Event], objects: &Objects, now: Timestamp) -> Vec<EventLine> {
    struct Merged {
        object: String,
        objects: BTreeSet<String>,
        count: i32,
        last: Option<Timestamp>,
    }
    let mut merged: BTreeMap<(String, String, String), Merged> = BTreeMap::new();
    for event in events.iter().filter(|e| e.type_.as_deref() == Some("Warning") && objects.owns(e)) {
        let seen = last_seen(event);
        if seen.is_some_and(|t| now.as_second() - t.as_second() > RECENT_SECONDS) {
            continue;
        }
        let object = &event.involved_object;
        let kind = object.kind.clone().unwrap_or_default();
        let name = format!("{kind}/{}", object.name.clone().unwrap_or_default());
        let key = (
            kind,
            event.reason.clone().unwrap_or_default(),
            event.message.clone().unwrap_or_default().trim().to_string(),
        );
        let entry = merged.entry(key).or_insert(Merged {
            object: name.clone(),
            objects: BTreeSet::new(),
            count: 0,
            last: None,
        });
        entry.count += count(event);
        entry.objects.insert(name.clone());
        if seen >= entry.last {
            entry.last = seen;
            entry.object = name;
        }
    }
    let mut lines: Vec<(Option<Timestamp>, EventLine)> = merged
        .into_iter()
        .map(|((_, reason, message), m)| {
            let line = EventLine {
                object: m.object,
                objects: m.objects.len(),
                reason,
                message,
                count: m.count,
                last_seen: m.last.map(|t| t.to_string()),
            };
            (m.last, line)
        })
        .collect();
    lines.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.reason.cmp(&b.1.reason)));
    lines.into_iter().map(|(_, line)| line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(uid: &str, name: &str, reason: &str, count: i32, last: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.{reason}")},
            "involvedObject": {"kind": "Pod", "name": name, "uid": uid},
            "type": "Warning", "reason": reason, "message": "Back-off restarting failed container mlflow",
            "count": count, "lastTimestamp": last
        }))
        .unwrap()
    }

    #[test]
    fn the_same_warning_of_two_pods_is_one_line() {
        let objects = Objects { uids: BTreeSet::from(["a".to_string(), "b".to_string()]), ..Objects::default() };
        let events = [
            event("a", "mlflow-1", "BackOff", 3, "2026-01-01T00:05:00Z"),
            event("b", "mlflow-2", "BackOff", 2, "2026-01-01T00:08:00Z"),
            event("c", "other-1", "BackOff", 9, "2026-01-01T00:09:00Z"),
            event("a", "mlflow-1", "Old", 1, "2025-12-31T20:00:00Z"),
        ];
        let lines = lines(&events, &objects, "2026-01-01T00:10:00Z".parse().unwrap());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!((lines[0].count, lines[0].objects, lines[0].object.as_str()), (5, 2, "Pod/mlflow-2"));
    }

    #[test]
    fn a_deleted_pod_is_known_by_its_replica_set() {
        let objects =
            Objects { pod_prefixes: BTreeSet::from(["mlflow-mlflow-5d9f-".to_string()]), ..Objects::default() };
        let events = [event("gone", "mlflow-mlflow-5d9f-abcde", "Failed", 1, "2026-01-01T00:05:00Z")];
        assert_eq!(lines(&events, &objects, "2026-01-01T00:10:00Z".parse().unwrap()).len(), 1);
    }
}
