//! The ServiceAccount and the optional RBAC rules bound to it.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject};

use super::{non_empty, Context};

pub fn service_account(ctx: &Context) -> Option<ServiceAccount> {
    let sa = &ctx.values.service_account;
    sa.create.then(|| {
        let mut meta = ctx.meta(ctx.service_account(), None);
        meta.annotations = non_empty(&sa.annotations);
        ServiceAccount {
            metadata: meta,
            automount_service_account_token: Some(sa.automount_service_account_token),
            ..ServiceAccount::default()
        }
    })
}

fn subject(ctx: &Context) -> Vec<Subject> {
    vec![Subject {
        kind: "ServiceAccount".into(),
        name: ctx.service_account(),
        namespace: Some(ctx.release.namespace.clone()),
        ..Subject::default()
    }]
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: kind.into(), name: name.into() }
}

pub fn role(ctx: &Context) -> Option<(Role, RoleBinding)> {
    let rules = &ctx.values.namespace_rbac.extra_rules;
    if rules.is_empty() {
        return None;
    }
    let name = ctx.fullname.clone();
    let role = Role { metadata: ctx.meta(&name, None), rules: Some(rules.clone()) };
    let binding = RoleBinding {
        metadata: ctx.meta(&name, None),
        role_ref: role_ref("Role", &name),
        subjects: Some(subject(ctx)),
    };
    Some((role, binding))
}

pub fn cluster_role(ctx: &Context) -> Option<(ClusterRole, ClusterRoleBinding)> {
    let rules = &ctx.values.cluster_rbac.extra_rules;
    if rules.is_empty() {
        return None;
    }
    let name = format!("{}-{}", ctx.release.namespace, ctx.fullname);
    let role = ClusterRole { metadata: ctx.cluster_meta(&name), rules: Some(rules.clone()), ..ClusterRole::default() };
    let binding = ClusterRoleBinding {
        metadata: ctx.cluster_meta(&name),
        role_ref: role_ref("ClusterRole", &name),
        subjects: Some(subject(ctx)),
    };
    Some((role, binding))
}
