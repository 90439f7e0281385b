//! The deletes, in order: helm's release (by helm, or by hand when helm would take the claims), the native ApplySet through
//! the engine's prune and then its parent, the gc Jobs, and what the flags ask for.

use std::path::{Path, PathBuf};

use kube::api::{DeleteParams, Preconditions};
use kubectl_mlflow_core::cluster::{describe, Session};
use kubectl_mlflow_core::engine::apply::is_not_found;
use kubectl_mlflow_core::engine::{helm, prune, Sink};
use kubectl_mlflow_core::Failure;

use crate::plan::{api, ObjectRef, Plan};
use crate::Cli;

/// How a helm release goes: through `helm uninstall`, or object by object when helm would take
/// claims the user keeps (see `stored`).
pub enum HelmRemoval {
    Uninstall(PathBuf),
    ByHand(Vec<ObjectRef>),
}

/// Deletes what the plan and the flags say; returns the objects deleted.
pub async fn all(
    cli: &Cli,
    session: &Session,
    plan: &Plan,
    helm_removal: Option<&HelmRemoval>,
    progress: &mut dyn Sink,
) -> Result<Vec<ObjectRef>, Failure> {
    let mut deleted = Vec::new();
    match helm_removal {
        Some(HelmRemoval::Uninstall(helm)) => {
            progress.phase(&format!("helm uninstall {}", cli.release));
            helm::uninstall(&helm_target(cli, session, helm), cli.timeout).await?;
        }
        Some(HelmRemoval::ByHand(objects)) => {
            progress.phase(&format!("deleting the objects of helm release {} (its claims stay)", cli.release));
            delete(session, objects).await?;
            // Last, so that an interrupted run still finds the release.
            delete(session, &plan.helm_records).await?;
        }
        None => {}
    }
    delete(session, &plan.helm_hooks).await?;
    deleted.extend(plan.helm_records.iter().cloned());
    if let Some(parent) = &plan.parent {
        progress.phase("deleting the members of the release's ApplySet");
        let options = prune::PruneOptions { dry_run: false, verbose: cli.out.verbose };
        prune::all_members(session, &cli.release, &options).await?;
        // Last, so that an interrupted run finds the set again and can be repeated.
        delete(session, std::slice::from_ref(parent)).await?;
    }
    deleted.extend(plan.objects.iter().cloned());
    deleted.extend(plan.parent.iter().cloned());
    delete(session, &plan.gc_jobs).await?;
    if cli.delete_secrets {
        delete(session, &plan.secrets).await?;
        deleted.extend(plan.secrets.iter().cloned());
    }
    if cli.delete_pvcs {
        let claims: Vec<ObjectRef> = plan.claims.iter().map(|c| c.obj.clone()).collect();
        delete(session, &claims).await?;
        deleted.extend(claims);
    }
    Ok(deleted)
}

/// The release as helm addresses it, with the command's context and kubeconfig.
pub fn helm_target<'a>(cli: &'a Cli, session: &'a Session, helm: &'a Path) -> helm::Target<'a> {
    helm::Target {
        helm,
        release: &cli.release,
        namespace: &session.namespace,
        context: session.context.as_deref(),
        kubeconfig: session.kubeconfig.as_deref(),
    }
}

/// Deletes exactly the objects read (by uid: one made since under the same name stays); their
/// dependents go in the background.
async fn delete(session: &Session, objects: &[ObjectRef]) -> Result<(), Failure> {
    for obj in objects {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(obj.uid.clone()), resource_version: None }),
            ..DeleteParams::background()
        };
        match api(session, obj.kind).delete(&obj.name, &params).await {
            Ok(_) => {}
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(Failure::failed(format!("cannot delete {}: {}", obj.describe(), describe(&err)))),
        }
    }
    Ok(())
}
