//! `extraObjects`: manifests the user adds to the release, objects as given or strings templated
//! with the release's values (the chart's `tpl`; natively the subset of [`crate::template`]).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_core::DynamicObject;
use serde_json::Value;

use super::Context;
use crate::problem::{index, Problem, Problems};
use crate::template::{self, Scope};

pub const KEY: &str = "extraObjects";

/// What every extra object needs, as the chart says it too.
const NEEDS: &str = "an extra object needs apiVersion, kind and metadata.name, each a string";

/// One object of `extraObjects`: where in the values it comes from, and the object.
#[derive(Debug, Clone)]
pub struct Extra {
    /// `extraObjects[2]`.
    pub path: String,
    pub object: DynamicObject,
}

impl Extra {
    pub fn api_version(&self) -> &str {
        self.object.types.as_ref().map(|t| t.api_version.as_str()).unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.object.types.as_ref().map(|t| t.kind.as_str()).unwrap_or_default()
    }

    /// The API group of its apiVersion (`""` for the core group).
    pub fn group(&self) -> &str {
        group_of(self.api_version())
    }
}

/// The group of an apiVersion: `apps/v1` → `apps`, `v1` → `""`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(group, _)| group).unwrap_or_default()
}

/// What rendering `extraObjects` made.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub objects: Vec<Extra>,
    /// Templates outside the native subset: helm renders them, the native engine refuses them.
    pub helm_only: Problems,
    /// Templates whose output helm would refuse too.
    pub problems: Problems,
}

/// The problems of one manifest given as a map (what validation reports), or its object.
pub fn to_object(path: &str, value: &Value, made: &str) -> Result<DynamicObject, Vec<Problem>> {
    let Value::Object(map) = value else {
        return Err(vec![Problem::at(path, format!("{made}a YAML {}, not an object ({NEEDS})", kind_of(value)))]);
    };
    let mut problems = Vec::new();
    let string = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let metadata = map.get("metadata");
    for (field, given) in [
        ("apiVersion", string(map.get("apiVersion"))),
        ("kind", string(map.get("kind"))),
        ("metadata.name", string(metadata.and_then(|m| m.get("name")))),
    ] {
        if !given {
            problems.push(Problem::at(path, format!("{made}no {field} ({NEEDS})")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if let Err(err) = serde_json::from_value::<ObjectMeta>(metadata.cloned().unwrap_or_default()) {
        return Err(vec![Problem::at(format!("{path}.metadata"), format!("{made}not valid object metadata: {err}"))]);
    }
    serde_json::from_value(value.clone()).map_err(|err| vec![Problem::at(path, format!("{made}not an object: {err}"))])
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// The extra objects of a release, in the order given.
pub fn render(ctx: &Context) -> Extras {
    let mut extras = Extras::default();
    if ctx.values.extra_objects.is_empty() {
        return extras;
    }
    let tree = serde_json::to_value(ctx.values).expect("values serialize");
    let service_account = ctx.service_account();
    let scope = Scope {
        values: &tree,
        release_name: &ctx.release.name,
        release_namespace: &ctx.release.namespace,
        fullname: &ctx.fullname,
        service_account: &service_account,
    };
    for (i, item) in ctx.values.extra_objects.iter().enumerate() {
        let path = index(KEY, i);
        match item {
            Value::String(text) => templated(&path, text, &scope, &mut extras),
            // Validation refused maps that make no object.
            other => extras.objects.extend(to_object(&path, other, "").ok().map(|object| Extra { path, object })),
        }
    }
    extras
}

fn templated(path: &str, text: &str, scope: &Scope, extras: &mut Extras) {
    let manifest = match template::evaluate(text, scope) {
        Ok(manifest) => manifest,
        Err(template::Error::Unsupported(what)) => {
            extras.helm_only.push(Problem::at(path, helm_only_message(&what)));
            return;
        }
        Err(template::Error::Invalid(why)) => {
            extras.problems.push(Problem::at(path, format!("the template cannot be rendered: {why}")));
            return;
        }
    };
    let documents = match crate::yaml::parse_documents(&manifest) {
        Ok(documents) => documents,
        Err(problem) => {
            let message = format!("the template made no valid YAML: {}", problem.message);
            extras.problems.push(Problem::at(path, message));
            return;
        }
    };
    if documents.is_empty() {
        extras.problems.push(Problem::at(path, format!("the template made no object ({NEEDS})")));
    }
    for document in documents {
        match to_object(path, &document, "the template made ") {
            Ok(object) => extras.objects.push(Extra { path: path.to_string(), object }),
            Err(problems) => problems.into_iter().for_each(|p| extras.problems.push(p)),
        }
    }
}

fn helm_only_message(what: &str) -> String {
    format!(
        "{what} is beyond the templates the native engine evaluates (.Release.Name, .Release.Namespace, \
         .Chart.Name, .Chart.AppVersion, .Values.<key path> of a string, number or boolean, include \
         \"mlflow.fullname\" . or \"mlflow.serviceAccountName\" ., each optionally | quote): install with --helm, \
         which renders it, or write the object as a map"
    )
}

/// Extra objects that would replace one the chart renders, or each other: (group, kind, name)
/// alike, in the same namespace (an object that names none is in the release's; a cluster-scoped
/// object of the chart is in every one).
pub fn duplicates(extras: &[&Extra], chart: &[&super::Object], namespace: &str) -> Problems {
    let mut problems = Problems::default();
    let key = |api_version: &str, kind: &str, name: &Option<String>| {
        (group_of(api_version).to_string(), kind.to_string(), name.clone().unwrap_or_default())
    };
    let place = |extra: &Extra| extra.object.metadata.namespace.clone().unwrap_or_else(|| namespace.to_string());
    for (i, extra) in extras.iter().enumerate() {
        let mine = key(extra.api_version(), extra.kind(), &extra.object.metadata.name);
        let described = format!("{}/{}", extra.kind(), mine.2);
        let of_chart = chart.iter().any(|o| {
            let json = o.to_json();
            let api_version = json["apiVersion"].as_str().unwrap_or_default();
            let meta = o.metadata();
            key(api_version, o.kind(), &meta.name) == mine
                && meta.namespace.as_ref().is_none_or(|ns| *ns == place(extra))
        });
        if of_chart {
            problems.push(Problem::at(
                &extra.path,
                format!(
                    "{described} is an object the chart renders already (give it another name, or change the \
                     chart's object through its values)"
                ),
            ));
            continue;
        }
        let before = extras[..i]
            .iter()
            .find(|e| key(e.api_version(), e.kind(), &e.object.metadata.name) == mine && place(e) == place(extra));
        if let Some(before) = before {
            problems.push(Problem::at(
                &extra.path,
                format!("{described} is given twice (also at {}; keep one)", before.path),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::render::{render, Object, Release};
    use crate::{validate, values};

    fn rendered(extra: serde_json::Value) -> crate::Rendered {
        let user = json!({"mlflow": {"backendStoreUri": "postgresql://u@db/m", "artifactsDestination": "s3://b/a"},
            "extraObjects": extra});
        let (_, values) = values::resolve(&user).unwrap();
        let valid = validate::validated(values).unwrap();
        render(&valid, &Release { name: "rel".into(), namespace: "ns".into() })
    }

    #[test]
    fn maps_as_given_and_templates_of_the_subset() {
        let out = rendered(json!([
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}},
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"mlflow.fullname\" . }}-b\n---\n\
             apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: {{ .Release.Namespace }}}\n",
        ]));
        let extras = out.extras();
        let names: Vec<(&str, &str, &str)> =
            extras.iter().map(|e| (e.path.as_str(), e.kind(), e.object.metadata.name.as_deref().unwrap())).collect();
        assert_eq!(
            names,
            [
                ("extraObjects[0]", "ConfigMap", "a"),
                ("extraObjects[1]", "ConfigMap", "rel-mlflow-b"),
                ("extraObjects[1]", "Thing", "ns")
            ]
        );
        assert_eq!(extras[2].group(), "example.com");
        assert_eq!(out.objects.last().unwrap().to_json()["data"], serde_json::Value::Null);
        assert_eq!(out.objects.iter().filter(|o| matches!(o, Object::Extra(_))).count(), 3);
        assert!(out.helm_only.is_empty() && out.extra_problems.is_empty());
    }

    #[test]
    fn templates_beyond_the_subset_are_left_to_helm() {
        let out = rendered(json!(["{{ toYaml .Values.extraObjects }}"]));
        assert!(out.extras().is_empty());
        assert_eq!(out.helm_only.0.len(), 1);
        assert!(out.helm_only.0[0]
            .to_string()
            .starts_with("extraObjects[0]: {{ toYaml .Values.extraObjects }} is beyond"));
    }

    #[test]
    fn duplicates_of_the_chart_and_of_each_other() {
        let out = rendered(json!([
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "rel-mlflow"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ns"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "other"}},
        ]));
        let chart: Vec<&Object> = out.objects.iter().filter(|o| !matches!(o, Object::Extra(_))).collect();
        let found: Vec<String> =
            super::duplicates(&out.extras(), &chart, "ns").iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("extraObjects[0]: Service/rel-mlflow is an object the chart renders already"));
        assert!(found[1].starts_with("extraObjects[2]: ConfigMap/x is given twice (also at extraObjects[1]"));
    }
}
