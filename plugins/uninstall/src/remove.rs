//! The deletes, in order: helm's release (claims protected first), the native ApplySet through
//! the engine's prune and then its parent, the gc Jobs, and what the flags ask for.

use std::path::Path;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kubectl_mlflow_core::cluster::{describe, Session};
use kubectl_mlflow_core::engine::apply::is_not_found;
use kubectl_mlflow_core::engine::{helm, prune, Sink};
use kubectl_mlflow_core::Failure;

use crate::plan::{api, Obj, Plan};
use crate::Cli;

/// Deletes what the plan and the flags say; returns the objects deleted.
pub async fn all(cli: &Cli, session: &Session, plan: &Plan, helm_binary: Option<&Path>, progress: &mut dyn Sink) -> Result<Vec<Obj>, Failure> {
    let mut deleted = Vec::new();
    if let Some(helm) = helm_binary {
        if !cli.delete_pvcs {
            protect_claims(session, plan).await?;
        }
        progress.phase(&format!("helm uninstall {}", cli.release));
        let target = helm::Target {
            helm,
            release: &cli.release,
            namespace: &session.namespace,
            context: session.context.as_deref(),
            kubeconfig: session.kubeconfig.as_deref(),
        };
        helm::uninstall(&target, cli.timeout).await?;
        deleted.extend(plan.helm_records.iter().cloned());
    }
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
        let claims: Vec<Obj> = plan.claims.iter().map(|c| c.obj.clone()).collect();
        delete(session, &claims).await?;
        deleted.extend(claims);
    }
    Ok(deleted)
}

/// helm deletes a claim unless it carries `helm.sh/resource-policy: keep`. Known gap: helm reads
/// the policy from its stored manifest, so this live annotation does not stop it for a chart whose
/// claim lacks it (the official chart's may); this chart's claim has it.
async fn protect_claims(session: &Session, plan: &Plan) -> Result<(), Failure> {
    let claims = Api::<PersistentVolumeClaim>::namespaced(session.client.clone(), &session.namespace);
    let patch = serde_json::json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}});
    for claim in plan.claims.iter().filter(|c| !c.kept_by_helm) {
        claims
            .patch(&claim.obj.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|err| Failure::failed(format!("cannot keep {} from helm uninstall: {}", claim.obj.describe(), describe(&err))))?;
    }
    Ok(())
}

/// Deletes exactly the objects read (by uid: one made since under the same name stays); their
/// dependents go in the background.
async fn delete(session: &Session, objects: &[Obj]) -> Result<(), Failure> {
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
