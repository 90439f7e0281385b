//! Finding the release by its labels (the core's lookup). When its server Deployment is not
//! there, either it is being installed (its engine's records, or its migration Job, are there
//! already): the operation cannot answer yet, exit 1; or there is no such release: bad input,
//! exit 2, naming the releases that are there.

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams};
use kubectl_mlflow_core::cluster::lookup::{self, Found};
use kubectl_mlflow_core::cluster::releases;
use kubectl_mlflow_core::cluster::Session;
use kubectl_mlflow_core::engine::installed::{self, Engine};
use kubectl_mlflow_core::identity::{self, parent_secret_name, MIGRATE_COMPONENT};
use kubectl_mlflow_core::Failure;

use crate::gc;

pub async fn release(session: &Session, release: &str) -> Result<Found, Failure> {
    match lookup::in_session(session, release).await {
        Err(Failure::Input(_)) => Err(not_there(session, release).await),
        other => other,
    }
}

async fn not_there(session: &Session, release: &str) -> Failure {
    let (client, ns) = (&session.client, session.namespace.as_str());
    let jobs = Api::<Job>::namespaced(client.clone(), ns);
    let of_migration = ListParams::default().labels(&identity::selector(release, Some(MIGRATE_COMPONENT)));
    let (records, migrations) = futures::join!(installed::records(client, ns, release), jobs.list(&of_migration));
    let mut started = Vec::new();
    match records.map(|r| r.engine()) {
        Ok(Engine::Helm(record)) => started.push(format!("helm has revision {} ({})", record.revision, record.status)),
        Ok(Engine::Native(_)) => {
            started.push(format!("the native engine has recorded it (Secret/{})", parent_secret_name(release)))
        }
        _ => {}
    }
    let jobs = migrations.map(|list| list.items).unwrap_or_default();
    started.extend(jobs.iter().map(|job| {
        let run = gc::run(job);
        match run.result.as_str() {
            "Running" => format!("its migration Job/{} is running (mlflow db upgrade)", run.job),
            result => format!(
                "its migration Job/{} {} (kubectl logs job/{} -n {ns})",
                run.job,
                result.to_lowercase(),
                run.job
            ),
        }
    }));
    if started.is_empty() {
        return Failure::input(releases::not_found(client, ns, release).await);
    }
    Failure::failed(format!(
        "release {release} in namespace {ns} is being installed, or its install stopped before the server: {}; its server Deployment does not exist yet (run kubectl mlflow status again when the install is done; an install that stopped is finished by running it again)",
        started.join("; ")
    ))
}
