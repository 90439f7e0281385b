//! Values loading, `--set` parsing, validation and rendering never panic, whatever the input:
//! random `--set` expressions, random YAML text, and random value trees over the schema's keys.
//! Seeded: the same inputs on every run unless `KMLF_FUZZ_SEED` gives a seed or `random`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use kubectl_mlflow_model::release::{prepare, Options};
use kubectl_mlflow_model::values::SetKind;
use kubectl_mlflow_model::Source;
use kubectl_mlflow_test_support::random::{self, Rng};
use serde_json::{json, Value};

/// The seed of a run without `KMLF_FUZZ_SEED`: every run draws the same inputs.
const FIXED_SEED: u64 = 0x6d6c_666c_6f77;

fn seed() -> u64 {
    random::seed("no_panic", "KMLF_FUZZ_SEED", FIXED_SEED)
}

/// Runs the whole path from sources to rendered objects; a panic fails with the input.
fn survives(sources: &[Source], seed: u64) {
    let run = catch_unwind(AssertUnwindSafe(|| {
        let _ = prepare("mlflow", "ml", sources, &mut std::io::empty(), &Options { quick_start: true });
    }));
    assert!(run.is_ok(), "seed {seed}: panicked on {sources:?}");
}

const SET_ALPHABET: [char; 24] = [
    'a', 'b', 'x', '0', '1', '9', '.', '.', '[', ']', '=', '=', ',', '{', '}', '\\', '-', '_', ' ', '"', 'é', '*', '/',
    ':',
];

const KEYS: [&str; 20] = [
    "storage.size",
    "storage.mountPath",
    "env[0].name",
    "env[1].valueFrom.secretKeyRef.name",
    "server.value_options.port",
    "server.flag_options",
    "replicaCount",
    "extraVolumes[0].name",
    "extraVolumeMounts[0].mountPath",
    "resources.limits.memory",
    "ingress.hosts[0].host",
    "tolerations[0].operator",
    "podLabels.a",
    "mlflow.backendStoreUri",
    "image.tag",
    "garbageCollection.schedule",
    "deploymentStrategy.type",
    "securityContext.runAsUser",
    "a[99999999999]",
    "",
];

#[test]
fn random_set_expressions_never_panic() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    for _ in 0..1000 {
        let expr = match rng.below(3) {
            0 => rng.text(&SET_ALPHABET, 24),
            1 => format!("{}={}", KEYS[rng.below(KEYS.len())], rng.text(&SET_ALPHABET, 12)),
            _ => format!("{}{}", KEYS[rng.below(KEYS.len())], rng.text(&SET_ALPHABET, 8)),
        };
        let kind = [SetKind::Typed, SetKind::String][rng.below(2)];
        survives(&[Source::Set(kind, expr)], seed);
    }
}

const YAML_ALPHABET: [char; 22] =
    ['a', 'k', '1', ':', ':', ' ', ' ', '\n', '\n', '-', '[', ']', '{', '}', ',', '"', '\'', '&', '*', '!', '|', '#'];

#[test]
fn random_yaml_text_never_panics() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    for _ in 0..500 {
        let yaml = rng.text(&YAML_ALPHABET, 60);
        survives(&[Source::Text { name: "fuzz".into(), yaml }], seed);
    }
}

fn random_leaf(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => json!(null),
        1 => json!(rng.below(2) == 0),
        2 => json!([-1i64, 0, 1, 65535, 65536, i64::MAX, i64::MIN][rng.below(7)]),
        3 => json!(1.5),
        4 => json!(
            ["", "lots", "/tmp", "10Gi", "sqlite:///rel.db", "basic-auth", "postgresql://db/x", "s3://b/p", "*"]
                [rng.below(9)]
        ),
        5 => json!([]),
        6 => json!({}),
        7 => json!([{"name": "x"}]),
        _ => json!({"name": "", "value": 1}),
    }
}

/// A random tree over the schema's keys: real keys, any values.
fn random_tree(schema: &Value, rng: &mut Rng, depth: usize) -> Value {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return random_leaf(rng) };
    let mut tree = serde_json::Map::new();
    let keys: Vec<&String> = props.keys().collect();
    for _ in 0..=rng.below(3) {
        let key = keys[rng.below(keys.len())];
        let value =
            if depth < 3 && rng.below(3) > 0 { random_tree(&props[key], rng, depth + 1) } else { random_leaf(rng) };
        tree.insert(key.clone(), value);
    }
    Value::Object(tree)
}

#[test]
fn random_value_trees_never_panic() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    let schema: Value = serde_json::from_str(include_str!("../../../../charts/values.schema.json")).unwrap();
    for _ in 0..500 {
        let yaml = serde_yaml::to_string(&random_tree(&schema, &mut rng, 0)).unwrap();
        survives(&[Source::Text { name: "fuzz".into(), yaml }], seed);
    }
}
