//! What the kubelet refuses when it creates a container, though the API server accepted the pod:
//! the pod then sits in `CreateContainerConfigError` until someone looks. The kubelet
//! (`pkg/kubelet/kuberuntime`, `verifyRunAsNonRoot`) checks the effective security context (the
//! container's over the pod's) against the image's user when `runAsNonRoot` is true:
//! - a `runAsUser` of 0: "container's runAsUser breaks non-root policy";
//! - no `runAsUser` and an image that runs as root (no USER, or USER 0): "container has
//!   runAsNonRoot and image will run as root";
//! - no `runAsUser` and an image whose USER is a name: "image has non-numeric user …, cannot
//!   verify user is non-root".
//!
//! The image's user is known for MLflow's own images only (`ghcr.io/mlflow/mlflow`, every tag:
//! MLflow's Dockerfiles set no USER, so they run as root); a `runAsUser` of 0 is refused for any
//! image. On OpenShift the restricted SCC assigns `runAsUser` at admission, so a missing one is
//! not a problem there.

use k8s_openapi::api::core::v1::{Container, PodSecurityContext, SecurityContext};

use crate::image::{self, OFFICIAL_REPOSITORY};
use crate::problem::{index, Problem, Problems};
use crate::values::Values;

/// One container's effective settings, with the values paths they came from.
struct Effective {
    non_root: Option<(bool, String)>,
    user: Option<(i64, String)>,
}

fn effective(pod: Option<&PodSecurityContext>, container: Option<&SecurityContext>, own: &str) -> Effective {
    let from_container = |field: &str| format!("{own}.{field}");
    let from_pod = |field: &str| format!("podSecurityContext.{field}");
    let non_root = match container.and_then(|c| c.run_as_non_root) {
        Some(v) => Some((v, from_container("runAsNonRoot"))),
        None => pod.and_then(|p| p.run_as_non_root).map(|v| (v, from_pod("runAsNonRoot"))),
    };
    let user = match container.and_then(|c| c.run_as_user) {
        Some(v) => Some((v, from_container("runAsUser"))),
        None => pod.and_then(|p| p.run_as_user).map(|v| (v, from_pod("runAsUser"))),
    };
    Effective { non_root, user }
}

/// The pod security context the release renders: without the ids on OpenShift, whose SCC assigns them.
fn pod_context(values: &Values) -> Option<PodSecurityContext> {
    let mut context = values.pod_security_context.clone()?;
    if values.openshift {
        (context.run_as_user, context.run_as_group, context.fs_group) = (None, None, None);
    }
    Some(context)
}

/// Whether the image is known to run as root: MLflow's own, whose Dockerfiles set no USER.
fn runs_as_root(image: &str) -> bool {
    repository(image) == OFFICIAL_REPOSITORY
}

/// An image reference without its digest and tag (a registry's port stays).
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

pub fn check(values: &Values, out: &mut Problems) {
    let pod = pod_context(values);
    let server = format!("the {} container (and the GC and migration containers)", crate::identity::SERVER_CONTAINER);
    let mut containers: Vec<(String, Option<SecurityContext>, String, String)> =
        vec![(server, values.security_context.clone(), "securityContext".to_string(), image::reference(&values.image))];
    for (list, key) in
        [(&values.extra_containers, "extraContainers"), (&values.extra_init_containers, "extraInitContainers")]
    {
        for (i, c) in list.iter().enumerate() {
            let own = format!("{}.securityContext", index(key, i));
            containers.push((container_name(c), c.security_context.clone(), own, c.image.clone().unwrap_or_default()));
        }
    }
    let mut seen = Vec::new();
    for (what, context, own, image) in containers {
        let found = problem(&effective(pod.as_ref(), context.as_ref(), &own), &what, &image, values.openshift);
        if let Some(problem) = found.filter(|p| !seen.contains(&p.path)) {
            seen.push(problem.path.clone());
            out.push(problem);
        }
    }
}

fn container_name(c: &Container) -> String {
    format!("the {} container", c.name)
}

fn problem(e: &Effective, what: &str, image: &str, openshift: bool) -> Option<Problem> {
    let Some((true, non_root_at)) = &e.non_root else { return None };
    match &e.user {
        Some((0, user_at)) => Some(Problem::at(
            user_at,
            format!(
                "0 (root) with {non_root_at}: true: the kubelet would refuse to start {what} (\"container's runAsUser breaks non-root policy\") (use another user id, e.g. 1000, or set runAsNonRoot: false)"
            ),
        )),
        None if !openshift && runs_as_root(image) => Some(Problem::at(
            non_root_at,
            format!(
                "true, but no runAsUser is set and the image {image} runs as root (MLflow's images set no USER): the kubelet would refuse to start {what} (\"container has runAsNonRoot and image will run as root\") (set podSecurityContext.runAsUser, e.g. 1000, or runAsNonRoot: false)"
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories() {
        assert_eq!(repository("ghcr.io/mlflow/mlflow:v3.17.2-full"), "ghcr.io/mlflow/mlflow");
        assert_eq!(repository("ghcr.io/mlflow/mlflow@sha256:abc"), "ghcr.io/mlflow/mlflow");
        assert_eq!(repository("registry:5000/mlflow"), "registry:5000/mlflow");
        assert_eq!(repository("registry:5000/mlflow:ci"), "registry:5000/mlflow");
        assert_eq!(repository("busybox"), "busybox");
    }
}
