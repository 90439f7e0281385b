//! A property test against the test cluster's API server: value sets made by mutating every
//! `tests/values/` file (random keys from `charts/values.schema.json`, random and boundary
//! values, wrong types, Kubernetes fragments good and bad). For each, the tool's verdict (before
//! any cluster call) is compared with the API server's on the rendered objects (server-side
//! apply with dryRun=All, what the native engine sends): accepted by us ⇒ accepted by the
//! server; what the server refuses, we refuse.
//!
//! The mutants are `mutants.rs`'s (shared with the generative parity test). Seeded: the same value
//! sets on every run unless `KMLF_PROPERTY_SEED` gives a seed or `random` (to explore; a run's seed
//! is printed), and `KMLF_PROPERTY_CASES` sets how many mutants each file gets (default 24).

use futures::future::join_all;
use kube::api::{Patch, PatchParams};
use kubectl_mlflow_core::engine::apply::{Applier, Member};
use kubectl_mlflow_core::release::{prepare, Options};
use kubectl_mlflow_core::{render, validate, values, Object, Release, Source};
use kubectl_mlflow_test_support::cluster;
use kubectl_mlflow_test_support::random::{self, Rng};
use kubectl_mlflow_test_support::values::values_files;

use crate::mutants::{base_values, cases_per_file, Mutator, FIXED_SEED};

/// The objects the tool would render, even when it refuses them (`None`: refused earlier).
fn rendered_anyway(yaml: &str, namespace: &str) -> Option<Vec<Object>> {
    let sources = [Source::Text { name: "mutant".into(), yaml: yaml.into() }];
    let mut user = values::load_user_values(&sources, &mut std::io::empty()).ok()?;
    values::apply_quick_start(&mut user);
    let (_, resolved) = values::resolve(&user).ok()?;
    let valid = validate::validated(resolved).ok()?;
    Some(render(&valid, &Release { name: "mlflow".into(), namespace: namespace.into() }).objects)
}

/// The server's verdict: `Err` with what it said about the first object it refused. The test
/// cluster has no CRDs: objects of CRDs (ServiceMonitor, HTTPRoute, External Secrets) are left out,
/// and so are extra objects, given as the user wrote them (their kinds need discovery).
async fn server_verdict(applier: &Applier, objects: &[Object]) -> Result<(), String> {
    let params = PatchParams::apply("kubectl-mlflow-property").dry_run().force();
    let members: Vec<Member> = objects
        .iter()
        .filter(|o| !matches!(o.kind(), "ServiceMonitor" | "HTTPRoute" | "SecretStore" | "ExternalSecret"))
        .filter(|o| !matches!(o, Object::Extra(_)))
        .map(Member::plain)
        .collect();
    let results = join_all(members.iter().map(|m| {
        let params = &params;
        async move { applier.api(m.kind).patch(m.name(), params, &Patch::Apply(&m.object)).await }
    }))
    .await;
    for (member, result) in members.iter().zip(results) {
        if let Err(err) = result {
            return Err(format!("{}: {err}", member.describe()));
        }
    }
    Ok(())
}

#[derive(Default, Debug)]
struct Counts {
    accepted_by_both: usize,
    refused_by_both: usize,
    refused_by_us_only: usize,
    refused_before_rendering: usize,
    accepted_by_us_refused_by_server: usize,
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn our_verdict_matches_the_api_servers_on_mutated_values() {
    let seed = random::seed("property", "KMLF_PROPERTY_SEED", FIXED_SEED);
    let per_file = cases_per_file(24);
    eprintln!("property: {per_file} mutants per values file (KMLF_PROPERTY_CASES)");
    let mut rng = Rng::new(seed);
    let mutator = Mutator::from_chart_schema();
    let ns = cluster().namespace("property").await;
    let applier = Applier {
        client: ns.client(),
        namespace: ns.name().to_string(),
        force_conflicts: true,
        dry_run: true,
        verbose: false,
    };
    let files = values_files();
    let mut counts = Counts::default();
    let mut violations = Vec::new();
    for file in &files {
        let base = base_values(file);
        for _ in 0..per_file {
            let mutant = mutator.mutate(&base, &mut rng);
            let yaml = serde_yaml::to_string(&mutant).unwrap();
            let sources = [Source::Text { name: "mutant".into(), yaml: yaml.clone() }];
            let ours = prepare("mlflow", ns.name(), &sources, &mut std::io::empty(), &Options { quick_start: true });
            let Some(objects) = ours
                .as_ref()
                .map(|p| Some(p.rendered.objects.clone()))
                .unwrap_or_else(|_| rendered_anyway(&yaml, ns.name()))
            else {
                counts.refused_before_rendering += 1;
                continue;
            };
            let server = server_verdict(&applier, &objects).await;
            match (&ours, server) {
                (Ok(_), Ok(())) => counts.accepted_by_both += 1,
                (Ok(_), Err(said)) => {
                    counts.accepted_by_us_refused_by_server += 1;
                    violations.push(format!("{}:\n{yaml}the server said: {said}", file.display()));
                }
                (Err(_), Err(_)) => counts.refused_by_both += 1,
                (Err(_), Ok(())) => counts.refused_by_us_only += 1,
            }
        }
    }
    eprintln!("property: {} value sets: {counts:?}", files.len() * per_file);
    ns.delete().await;
    assert!(
        violations.is_empty(),
        "seed {seed}: {} value sets we accept are refused by the API server:\n\n{}",
        violations.len(),
        violations.join("\n\n")
    );
    assert!(counts.accepted_by_both > 0 && counts.refused_by_both > 0, "the mutants exercised too little: {counts:?}");
}
