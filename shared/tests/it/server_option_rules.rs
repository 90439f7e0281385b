//! Accepted means runs: every rule of `mlflow server`'s option table (the rules of MLflow 3.17.2
//! and of the uvicorn and gunicorn it starts) refuses its samples in
//! tests/contract/server_option_samples.json, which the contract suite feeds to the real
//! `mlflow server` (tests/contract/test_server_option_rules.py), and the accepted samples pass.

use serde_json::Value;

fn samples() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/contract/server_option_samples.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn table() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/model/data/mlflow-server-options.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sets(sample: &Value) -> Vec<String> {
    sample["set"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

/// The values every sample starts from: a store, so that nothing else is refused.
const BASE: [&str; 1] = ["mlflow.backendStoreUri=sqlite:////tmp/mlflow.db"];

fn problems_of(sample: &Value) -> Vec<String> {
    let mut all: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
    all.extend(sets(sample));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    kubectl_mlflow_test_support::values::problems(&refs, false)
}

#[test]
fn every_refused_sample_is_refused_at_its_path_by_its_rule() {
    for sample in samples()["refused"].as_array().unwrap() {
        let expected = sample["problem"].as_str().unwrap();
        let found = problems_of(sample);
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{:?} (rule {}): no problem starts with {expected:?}:\n{found:#?}",
            sets(sample),
            sample["rule"]
        );
    }
}

#[test]
fn every_accepted_sample_is_accepted() {
    for sample in samples()["accepted"].as_array().unwrap() {
        assert_eq!(problems_of(sample), Vec::<String>::new(), "{}", sample["name"]);
    }
}

/// Each rule named in the table has a refused sample (a new rule needs one, and a contract run).
#[test]
fn every_rule_of_the_table_has_a_refused_sample() {
    let table = table();
    let mut rules: Vec<String> = table["rules"].as_object().unwrap().keys().cloned().collect();
    rules.sort();
    let sampled: Vec<String> =
        samples()["refused"].as_array().unwrap().iter().map(|s| s["rule"].as_str().unwrap().to_string()).collect();
    let missing: Vec<&String> = rules.iter().filter(|r| !sampled.contains(r)).collect();
    assert!(missing.is_empty(), "rules without a refused sample: {missing:?}");
    for rule in &sampled {
        assert!(rules.contains(rule), "a sample names the rule {rule:?}, which the table does not have");
    }
}

/// The TLS options go into the user's `uvicorn_opts` (or `gunicorn_opts`), one option each.
#[test]
fn tls_is_merged_into_the_users_server_options() {
    use kubectl_mlflow_core::release::{prepare, Options};
    use kubectl_mlflow_core::{Object, Source};
    let command = |extra: &str| {
        let sources: Vec<Source> = [BASE[0], "tls.enabled=true", extra]
            .iter()
            .map(|s| Source::Set(kubectl_mlflow_core::values::SetKind::Typed, s.to_string()))
            .collect();
        let prepared = prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options::default()).unwrap();
        let deployment = prepared.rendered.objects.iter().find_map(|o| match o {
            Object::Deployment(d) => Some(d.clone()),
            _ => None,
        });
        deployment.unwrap().spec.unwrap().template.spec.unwrap().containers[0].command.clone().unwrap()
    };
    let tls = "--ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt";
    let uvicorn = command("server.value_options.uvicorn_opts=--timeout-keep-alive 7");
    let opts: Vec<&String> = uvicorn.iter().filter(|a| a.starts_with("--uvicorn-opts")).collect();
    assert_eq!(opts, [&format!("--uvicorn-opts=--timeout-keep-alive 7 {tls}")]);
    let gunicorn = command("server.value_options.gunicorn_opts=--timeout 60");
    assert!(
        gunicorn.contains(
            &"--gunicorn-opts=--timeout 60 --keyfile=/etc/mlflow/tls/tls.key --certfile=/etc/mlflow/tls/tls.crt"
                .to_string()
        ),
        "{gunicorn:?}"
    );
    assert!(!gunicorn.iter().any(|a| a.starts_with("--uvicorn-opts")), "{gunicorn:?}");
    let alone = command("server.value_options.workers=1");
    assert!(alone.contains(&format!("--uvicorn-opts={tls}")), "{alone:?}");
}
