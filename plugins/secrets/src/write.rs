//! Writing the Secret: compare with what the cluster holds, then create, keep or replace it with
//! server-side apply; print the values snippet and the notes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kubectl_mlflow_core::cluster::{describe, Resolved};
use kubectl_mlflow_core::engine::apply::FIELD_MANAGER;
use kubectl_mlflow_core::ui::output;
use kubectl_mlflow_core::ui::Reporter;
use kubectl_mlflow_core::{yaml, Failure};
use serde_json::json;

use crate::kinds::Plan;
use crate::secret;
use crate::{Common, DryRun};

/// What happened to the Secret.
enum Outcome {
    Created,
    Unchanged,
    Labelled,
    Replaced,
}

struct Job {
    plan: Plan,
    common: Common,
    namespace: String,
    reporter: Reporter,
}

type Result<T> = std::result::Result<T, Failure>;

/// Writes each Secret in turn. With several, every one that would be refused (another Secret of
/// its name holding other data) is found before the first is written.
pub async fn execute_all(plans: Vec<Plan>, common: Common, reporter: Reporter) -> Result<()> {
    if plans.len() > 1 && common.dry_run != Some(DryRun::Client) && !common.overwrite {
        refuse_before_writing(&plans, &common, &reporter).await?;
    }
    for plan in plans {
        execute(plan, common.clone(), reporter.clone()).await?;
    }
    Ok(())
}

async fn refuse_before_writing(plans: &[Plan], common: &Common, reporter: &Reporter) -> Result<()> {
    let resolved = Resolved::read(&common.cluster.target())?;
    let namespace = resolved.namespace.clone();
    let session = resolved.connect().await?;
    let api = Api::<Secret>::namespaced(session.client, &namespace);
    for plan in plans {
        let job = Job {
            plan: plan.clone(),
            common: common.clone(),
            namespace: namespace.clone(),
            reporter: reporter.clone(),
        };
        let existing = api.get_opt(&plan.name).await;
        job.log("GET", &existing.as_ref().map(|found| if found.is_some() { "200" } else { "404" }));
        let existing = existing.map_err(|err| job.failed(&format!("cannot read {}: {}", job.id(), describe(&err))))?;
        if let Some(old) = existing {
            let (data, _) = job.data(Some(&old));
            let differences = secret::differences(&old, plan.type_, &data);
            if !differences.is_empty() {
                return Err(job.other_data(&differences));
            }
        }
    }
    Ok(())
}

pub async fn execute(plan: Plan, common: Common, reporter: Reporter) -> Result<()> {
    let resolved = Resolved::read(&common.cluster.target())?;
    let job = Job { plan, common, namespace: resolved.namespace.clone(), reporter };
    if job.common.dry_run == Some(DryRun::Client) {
        let data = job.plan.data.clone();
        job.reporter.note(&format!(
            "dry run: Secret/{} in namespace {} checked, nothing written",
            job.plan.name, job.namespace
        ));
        return job.finish(&data, false);
    }
    job.apply(resolved).await
}

impl Job {
    fn id(&self) -> String {
        format!("Secret/{} in namespace {}", self.plan.name, self.namespace)
    }

    async fn apply(self, resolved: Resolved) -> Result<()> {
        let session = resolved.connect().await?;
        let api = Api::<Secret>::namespaced(session.client, &self.namespace);
        let existing = api.get_opt(&self.plan.name).await;
        self.log("GET", &existing.as_ref().map(|found| if found.is_some() { "200" } else { "404" }));
        let existing =
            existing.map_err(|err| self.failed(&format!("cannot read {}: {}", self.id(), describe(&err))))?;
        let (data, reused) = self.data(existing.as_ref());
        let outcome = match &existing {
            None => self.write(&api, &data, false).await.map(|_| Outcome::Created)?,
            Some(old) => self.update(&api, old, &data).await?,
        };
        let dry = if self.common.dry_run.is_some() { " (server dry run: nothing persisted)" } else { "" };
        let said = match outcome {
            Outcome::Created => "created",
            Outcome::Unchanged => "unchanged (it holds this data already)",
            Outcome::Labelled => "labelled for release (its data was already this)",
            Outcome::Replaced => "replaced (--overwrite)",
        };
        self.reporter.note(&format!("{} {said}{dry}", self.id()));
        if !reused.is_empty() {
            self.reporter.note(&format!("kept the existing {} (--overwrite makes new ones)", reused.join(" and ")));
        }
        self.finish(&data, self.common.dry_run.is_none() && reused.is_empty())
    }

    /// The data to write: generated values give way to the existing Secret's unless --overwrite.
    fn data(&self, existing: Option<&Secret>) -> (BTreeMap<String, Vec<u8>>, Vec<&'static str>) {
        let mut data = self.plan.data.clone();
        let mut reused = Vec::new();
        let old = existing.map(secret::data_of).unwrap_or_default();
        if self.common.overwrite {
            return (data, reused);
        }
        for key in &self.plan.generated {
            if let Some(value) = old.get(*key) {
                data.insert(key.to_string(), value.clone());
                reused.push(*key);
            }
        }
        (data, reused)
    }

    async fn update(&self, api: &Api<Secret>, old: &Secret, data: &BTreeMap<String, Vec<u8>>) -> Result<Outcome> {
        let differences = secret::differences(old, self.plan.type_, data);
        if differences.is_empty() {
            if secret::is_labelled(old, &self.common.release) {
                return Ok(Outcome::Unchanged);
            }
            return self.write(api, data, false).await.map(|_| Outcome::Labelled);
        }
        if !self.common.overwrite {
            return Err(self.other_data(&differences));
        }
        if old.type_.as_deref().unwrap_or("Opaque") != self.plan.type_ {
            self.delete(api, old).await?;
            if self.common.dry_run.is_some() {
                return Ok(Outcome::Replaced);
            }
        }
        let written = self.write(api, data, true).await?;
        self.drop_extra_keys(api, &written, data).await?;
        Ok(Outcome::Replaced)
    }

    async fn write(&self, api: &Api<Secret>, data: &BTreeMap<String, Vec<u8>>, force: bool) -> Result<Secret> {
        let object = secret::object(&self.plan.name, &self.namespace, &self.common.release, self.plan.type_, data);
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = force;
        params.dry_run = self.common.dry_run.is_some();
        let result = api.patch(&self.plan.name, &params, &Patch::Apply(&object)).await;
        self.log("PATCH (apply)", &result.as_ref().map(|_| "200"));
        result.map_err(|err| self.failed(&format!("cannot write {}: {}", self.id(), describe(&err))))
    }

    /// The type of a Secret cannot change: replacing one of another type deletes it first.
    async fn delete(&self, api: &Api<Secret>, old: &Secret) -> Result<()> {
        let preconditions =
            Preconditions { uid: old.metadata.uid.clone(), resource_version: old.metadata.resource_version.clone() };
        let params = DeleteParams {
            dry_run: self.common.dry_run.is_some(),
            preconditions: Some(preconditions),
            ..DeleteParams::default()
        };
        let result = api.delete(&self.plan.name, &params).await;
        self.log("DELETE", &result.as_ref().map(|_| "200"));
        result.map(|_| ()).map_err(|err| self.failed(&format!("cannot replace {}: {}", self.id(), describe(&err))))
    }

    /// Keys another writer (e.g. kubectl create secret) put there are not removed by apply.
    async fn drop_extra_keys(
        &self,
        api: &Api<Secret>,
        written: &Secret,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        let extra: BTreeMap<String, serde_json::Value> = secret::data_of(written)
            .into_keys()
            .filter(|k| !data.contains_key(k))
            .map(|k| (k, serde_json::Value::Null))
            .collect();
        if extra.is_empty() {
            return Ok(());
        }
        let params = PatchParams {
            dry_run: self.common.dry_run.is_some(),
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let result = api.patch(&self.plan.name, &params, &Patch::Merge(json!({"data": extra}))).await;
        self.log("PATCH (merge)", &result.as_ref().map(|_| "200"));
        result
            .map(|_| ())
            .map_err(|err| self.failed(&format!("cannot remove old keys of {}: {}", self.id(), describe(&err))))
    }

    fn log<T>(&self, verb: &str, result: &std::result::Result<T, &kube::Error>)
    where
        T: std::fmt::Display,
    {
        if !self.common.out.verbose {
            return;
        }
        let status = match result {
            Ok(status) => status.to_string(),
            Err(kube::Error::Api(status)) => status.code.to_string(),
            Err(err) => format!("error: {err}"),
        };
        eprintln!("api: {verb} secrets -n {} {} -> {status}", self.namespace, self.plan.name);
    }

    fn other_data(&self, differences: &[String]) -> Failure {
        self.failed(&format!(
            "{} already exists and holds other data ({}); nothing changed (rerun with --overwrite to replace it)",
            self.id(),
            differences.join(", ")
        ))
    }

    fn failed(&self, message: &str) -> Failure {
        Failure::failed(message)
    }

    /// Prints the Secret (-o, dry runs only) or the values snippet, then notes, warnings and the
    /// generated value to reveal.
    fn finish(&self, data: &BTreeMap<String, Vec<u8>>, reveal_generated: bool) -> Result<()> {
        for warning in &self.plan.warnings {
            self.reporter.warn(warning);
        }
        let text = match self.common.output {
            Some(format) => output::object(
                &secret::object(&self.plan.name, &self.namespace, &self.common.release, self.plan.type_, data),
                format,
            ),
            None if self.plan.snippet.is_null() => String::new(),
            None => yaml::to_string(&self.plan.snippet),
        };
        std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|err| Failure::failed(format!("cannot write to stdout: {err}")))?;
        for note in &self.plan.notes {
            self.reporter.note(note);
        }
        if self.common.dry_run.is_none() {
            self.reveal(data, reveal_generated).map_err(Failure::failed)?;
        }
        Ok(())
    }

    fn reveal(&self, data: &BTreeMap<String, Vec<u8>>, generated_now: bool) -> std::result::Result<(), String> {
        let Some(reveal) = &self.plan.reveal else { return Ok(()) };
        let value = String::from_utf8_lossy(data.get(reveal.key).map(Vec::as_slice).unwrap_or_default()).into_owned();
        if let Some(file) = &reveal.file {
            write_private(file, &value)
                .map_err(|err| format!("--password-file {}: cannot write it: {err}", file.display()))?;
            self.reporter.note(&format!("wrote the {} to {}", reveal.what, file.display()));
        } else if generated_now && std::io::stderr().is_terminal() {
            eprintln!("{} (shown once): {value}", reveal.what);
        } else if generated_now {
            self.reporter.note(&format!(
                "generated the {}; not shown without a terminal: kubectl get secret {} -n {} -o jsonpath='{{.data.{}}}' | base64 -d",
                reveal.what, self.plan.name, self.namespace, reveal.key
            ));
        }
        Ok(())
    }
}

fn write_private(path: &std::path::Path, value: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(format!("{value}\n").as_bytes())
}
