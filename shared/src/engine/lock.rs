//! One native install of a release at a time: a Lease `kubectl-mlflow.release.<release>` in the
//! release's namespace, held by a run that is to write from before it reads the release's record
//! (again: see [`super::install`]) until it ends (its wait included). A second install of the same release waits for it (up to its
//! `--timeout`), so two runs never interleave their writes: without it, two installs started at
//! once left one's pod template beside the other's Service (tests/faults, case 8).
//!
//! A holder that died stops renewing: its lease is free once `LEASE_SECONDS` have passed since
//! its last renewal; a holder on this machine whose process is gone (killed, Ctrl-C) frees it at
//! once. The Lease is deleted when the install ends, so a release leaves none behind (a user who
//! may not delete Leases leaves it without a holder: the lock needs only get, create and update,
//! as an install needs no delete unless it prunes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::Client;

use super::Sink;
use crate::cluster::describe;
use kubectl_mlflow_model::Failure;

/// How long a lease outlives its holder's last renewal.
const LEASE_SECONDS: i32 = 30;
const RENEW_EVERY: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_secs(1);

/// The lock of a release, held until [`Held::release`] (or the process's end).
pub struct Held {
    api: Api<Lease>,
    name: String,
    /// The resourceVersion of this run's last write of the Lease (its creation or a renewal):
    /// while the Lease is at it, nobody else has taken it.
    written: Arc<Mutex<Option<String>>>,
    renewing: tokio::task::JoinHandle<()>,
}

/// `kubectl-mlflow <host> <pid>`: who holds it, and how to tell whether that process is gone.
fn holder() -> String {
    format!("kubectl-mlflow {} {}", host(), std::process::id())
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

/// Whether a lease can be taken: nobody holds it, its holder stopped renewing, or its holder is
/// a process of this machine that no longer runs.
fn free(lease: &Lease, now: k8s_openapi::jiff::Timestamp) -> bool {
    let Some(spec) = &lease.spec else { return true };
    let Some(holder) = spec.holder_identity.as_deref().filter(|h| !h.is_empty()) else { return true };
    let seconds = spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS) as i64;
    let expired = spec.renew_time.as_ref().is_none_or(|t| now.as_second() - t.0.as_second() > seconds);
    expired || gone_here(holder)
}

/// A holder on this machine whose process does not run any more.
fn gone_here(holder: &str) -> bool {
    let mut words = holder.split(' ');
    match (words.next(), words.next(), words.next().and_then(|p| p.parse::<u32>().ok())) {
        (Some("kubectl-mlflow"), Some(h), Some(pid)) if h == host() && !h.is_empty() => {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

fn lease(name: &str, namespace: &str, resource_version: Option<String>) -> Lease {
    let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            resource_version,
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..LeaseSpec::default()
        }),
    }
}

/// Whether the namespace is known not to exist. Read before writing: the API server answers a
/// write into a namespace it does not know only after waiting 50 ms for its cache
/// (NamespaceLifecycle admission), a read at once. Without the permission to read namespaces,
/// the Lease's creation tells.
pub async fn namespace_absent(client: &Client, namespace: &str) -> bool {
    matches!(Api::<Namespace>::all(client.clone()).get_opt(namespace).await, Ok(None))
}

/// Takes the release's lock, waiting up to `timeout` while another run holds it. `Ok(None)` when
/// the namespace does not exist yet (nothing of the release can be there either).
pub async fn acquire(
    client: &Client,
    namespace: &str,
    release: &str,
    timeout: Duration,
    progress: &mut dyn Sink,
) -> Result<Option<Held>, Failure> {
    let api = Api::<Lease>::namespaced(client.clone(), namespace);
    let name = kubectl_mlflow_model::identity::parent_secret_name(release);
    let deadline = tokio::time::Instant::now() + timeout;
    let failed = |err: &kube::Error| lock_error(&name, namespace, err);
    if namespace_absent(client, namespace).await {
        return Ok(None);
    }
    let written = loop {
        match api.create(&PostParams::default(), &lease(&name, namespace, None)).await {
            Ok(created) => break created.metadata.resource_version,
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(err) => return Err(failed(&err)),
        }
        let current = match api.get_opt(&name).await {
            Ok(Some(current)) => current,
            Ok(None) => continue,
            Err(err) => return Err(failed(&err)),
        };
        if free(&current, k8s_openapi::jiff::Timestamp::now()) {
            let taken = lease(&name, namespace, current.metadata.resource_version.clone());
            match api.replace(&name, &PostParams::default(), &taken).await {
                Ok(replaced) => break replaced.metadata.resource_version,
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(err) => return Err(failed(&err)),
            }
        }
        let who = current.spec.and_then(|s| s.holder_identity).unwrap_or_default();
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::Failed(format!(
                "another run ({who}) is installing release {release} in namespace {namespace}: waited {} for it (Lease/{name}); rerun once it is done",
                kubectl_mlflow_model::duration::format_duration(timeout)
            )));
        }
        progress.phase(&format!("waiting for another run ({who}) installing release {release} to finish"));
        tokio::time::sleep(POLL_EVERY).await;
    };
    let written = Arc::new(Mutex::new(written));
    let renewing = tokio::spawn(renew(api.clone(), name.clone(), written.clone()));
    Ok(Some(Held { api, name, written, renewing }))
}

async fn renew(api: Api<Lease>, name: String, written: Arc<Mutex<Option<String>>>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        if let Ok(mut lease) = api.get(&name).await {
            if let Some(spec) = lease.spec.as_mut() {
                spec.renew_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::now()));
            }
            if let Ok(renewed) = api.replace(&name, &PostParams::default(), &lease).await {
                *written.lock().unwrap_or_else(|e| e.into_inner()) = renewed.metadata.resource_version;
            }
        }
    }
}

fn at_version(resource_version: Option<String>) -> DeleteParams {
    DeleteParams {
        preconditions: Some(kube::api::Preconditions { resource_version, uid: None }),
        ..DeleteParams::default()
    }
}

impl Held {
    /// Gives the lock up, if it is still this run's: deletes the Lease, or where the user may not
    /// delete Leases, clears its holder (the next run takes it at once).
    pub async fn release(self) {
        self.renewing.abort();
        // One request while the Lease is as this run last wrote it; else (a renewal in flight, a
        // user who may not delete Leases) the Lease is read to see whose it is.
        let written = self.written.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if written.is_some() {
            match self.api.delete(&self.name, &at_version(written)).await {
                Ok(_) => return,
                Err(kube::Error::Api(status)) if status.code == 404 => return,
                Err(_) => {}
            }
        }
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else { return };
        let ours = lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).is_some_and(|h| h == holder());
        if !ours {
            return;
        }
        let params = at_version(lease.metadata.resource_version.clone());
        if let Err(kube::Error::Api(status)) = self.api.delete(&self.name, &params).await {
            if status.code == 403 {
                if let Some(spec) = lease.spec.as_mut() {
                    spec.holder_identity = None;
                }
                let _ = self.api.replace(&self.name, &PostParams::default(), &lease).await;
            }
        }
    }
}

fn lock_error(name: &str, namespace: &str, err: &kube::Error) -> Failure {
    if let kube::Error::Api(status) = err {
        if status.code == 403 {
            return Failure::input(format!(
                "cannot take the release's lock, Lease/{name}: {} (an install needs get, create and update on leases.coordination.k8s.io in namespace {namespace})",
                status.message
            ));
        }
    }
    Failure::Failed(format!("cannot take the release's lock, Lease/{name}: {}", describe(err)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};

    fn held_by(holder: &str, renewed: Timestamp) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                renew_time: Some(MicroTime(renewed)),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn a_lease_is_free_when_its_holder_stopped_renewing_or_is_gone_from_this_machine() {
        let now = Timestamp::now();
        let elsewhere = "kubectl-mlflow other-machine 1";
        assert!(!free(&held_by(elsewhere, now), now));
        assert!(free(&held_by(elsewhere, now - SignedDuration::from_secs(31)), now));
        assert!(!free(&held_by(&holder(), now), now), "this very process holds it");
        // pids stop below 2^22 on Linux
        let dead = format!("kubectl-mlflow {} 4194999", host());
        assert!(free(&held_by(&dead, now), now));
        assert!(free(&held_by("", now), now));
        assert!(free(&Lease::default(), now));
    }
}
