//! What the user is shown: on stdout one line per object deleted (or that would be) and per claim
//! or Secret kept; on stderr the exact commands that delete what was kept, and the volumes that
//! keep data after their claim is gone.

use kubectl_mlflow_core::cluster::Session;
use kubectl_mlflow_core::ui::Reporter;

use crate::plan::{Claim, ObjectRef, Plan};
use crate::Cli;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    DryRun,
    Done,
}

pub struct Report<'a> {
    pub cli: &'a Cli,
    pub session: &'a Session,
    pub plan: &'a Plan,
}

impl Report<'_> {
    /// Everything a run with these flags deletes, in the order it goes.
    pub fn would_delete(&self) -> Vec<ObjectRef> {
        let plan = self.plan;
        let mut objects: Vec<ObjectRef> = plan.helm_records.clone();
        objects.extend(plan.objects.iter().cloned());
        objects.extend(plan.parent.iter().cloned());
        if self.cli.delete_secrets {
            objects.extend(plan.secrets.iter().cloned());
        }
        if self.cli.delete_pvcs {
            objects.extend(plan.claims.iter().map(|c| c.obj.clone()));
        }
        objects
    }

    pub fn print(&self, deleted: &[ObjectRef], mode: Mode) {
        let (gone, kept) = match mode {
            Mode::DryRun => ("would delete", "would keep"),
            Mode::Done => ("deleted", "kept"),
        };
        let mut out = String::new();
        for obj in deleted {
            out.push_str(&format!("{gone} {}{}\n", obj.describe(), self.size_of(obj)));
        }
        for claim in self.kept_claims() {
            out.push_str(&format!("{kept} {} ({})\n", claim.obj.describe(), claim.size));
        }
        for secret in self.kept_secrets().into_iter().chain(&self.plan.kept) {
            out.push_str(&format!("{kept} {}\n", secret.describe()));
        }
        print!("{out}");
    }

    fn size_of(&self, obj: &ObjectRef) -> String {
        self.plan.claims.iter().find(|c| &c.obj == obj).map(|c| format!(" ({})", c.size)).unwrap_or_default()
    }

    fn kept_claims(&self) -> Vec<&Claim> {
        match self.cli.delete_pvcs {
            true => Vec::new(),
            false => self.plan.claims.iter().collect(),
        }
    }

    fn kept_secrets(&self) -> Vec<&ObjectRef> {
        match self.cli.delete_secrets {
            true => Vec::new(),
            false => self.plan.secrets.iter().collect(),
        }
    }

    /// After a run: how to delete what was kept, and which volumes still hold data.
    pub fn notes(&self, reporter: &Reporter) {
        if let Some(leftovers) = self.leftovers() {
            reporter.note(&format!("kept, with the release's data: {leftovers}"));
        }
        if !self.cli.delete_pvcs {
            return;
        }
        for claim in &self.plan.claims {
            match &claim.volume {
                Some(volume) if volume.reclaim_policy == "Retain" => reporter.note(&format!(
                    "PersistentVolume/{} of {} has reclaim policy Retain: it is now Released and still holds the data (delete it with kubectl delete pv {} when no longer needed)",
                    volume.name,
                    claim.obj.describe(),
                    volume.name
                )),
                _ => {}
            }
        }
    }

    /// The claims and Secrets that stay, with the exact command that deletes them.
    pub fn leftovers(&self) -> Option<String> {
        let claims: Vec<&str> = self.kept_claims().iter().map(|c| c.obj.name.as_str()).collect();
        let secrets: Vec<&str> = self.kept_secrets().iter().map(|s| s.name.as_str()).collect();
        let mut parts = Vec::new();
        if !claims.is_empty() {
            parts.push(format!(
                "PersistentVolumeClaim {} (delete with --delete-pvcs, or: {})",
                claims.join(", "),
                self.kubectl("pvc", &claims)
            ));
        }
        if !secrets.is_empty() {
            parts.push(format!(
                "Secret {} made by kubectl mlflow secrets (delete with --delete-secrets, or: {})",
                secrets.join(", "),
                self.kubectl("secret", &secrets)
            ));
        }
        for obj in &self.plan.kept {
            parts.push(format!(
                "{} marked helm.sh/resource-policy: keep{} (delete with: {})",
                obj.describe(),
                match obj.kind.kind {
                    "Secret" => ", the admin password the auth database still has",
                    _ => "",
                },
                self.kubectl(&obj.kind.resource(), &[&obj.name])
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// `kubectl delete <resource> <names> -n <namespace>`, with the context and kubeconfig given.
    fn kubectl(&self, resource: &str, names: &[&str]) -> String {
        let mut command = format!("kubectl delete {resource} {} -n {}", names.join(" "), self.session.namespace);
        if let Some(context) = &self.session.context {
            command.push_str(&format!(" --context {context}"));
        }
        if let Some(kubeconfig) = &self.session.kubeconfig {
            command.push_str(&format!(" --kubeconfig {kubeconfig}"));
        }
        command
    }
}
