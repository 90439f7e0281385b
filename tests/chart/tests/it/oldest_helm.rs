//! The prerequisites of MLflow's Kubernetes deployment guide say "Helm 3.8+": helm 3.8.2, built from the Go module by
//! `scripts/helm-oldest`, renders every values file exactly as helm 3.17 does, lints the chart,
//! and refuses bad values with the same lines. Ignored by plain `cargo test` (the build takes a
//! minute or two the first time); `scripts/test` runs it.

use kubectl_mlflow_test_support::helm::{chart_dir, Helm};
use kubectl_mlflow_test_support::values::{temp_values_file, values_files_and_example};

/// `helm template` of a values file, the generated admin password (new on every rendering) masked.
fn render(helm: Helm, file: &str) -> Result<String, Vec<String>> {
    let run = helm.template(&["-f", file]);
    if !run.success {
        return Err(run.fail_lines());
    }
    let masked = run.stdout.lines().map(|line| match line.trim_start().starts_with("admin-password: \"") {
        true => "  admin-password: <generated>",
        false => line,
    });
    Ok(masked.collect::<Vec<_>>().join("\n"))
}

#[test]
#[ignore = "builds helm 3.8.2 from its Go module: scripts/helm-oldest"]
fn helm_3_8_renders_every_values_file_as_helm_3_17_does() {
    for file in values_files_and_example() {
        let file = file.to_string_lossy().into_owned();
        let (oldest, current) = (render(Helm::Oldest, &file), render(Helm::V3, &file));
        assert!(current.is_ok(), "helm 3.17 refuses {file}: {current:?}");
        assert!(oldest == current, "helm 3.8.2 renders {file} otherwise:\n{oldest:?}");
    }
}

#[test]
#[ignore = "builds helm 3.8.2 from its Go module: scripts/helm-oldest"]
fn helm_3_8_lints_the_chart_and_refuses_bad_values_alike() {
    let chart = chart_dir().to_string_lossy().into_owned();
    let lint = Helm::Oldest.run(["lint", chart.as_str()]);
    assert!(lint.success, "{}:\n{}\n{}", lint.command, lint.stdout, lint.stderr);

    let yaml = "metrics: {enabled: true, path: /prom}\nstorage: {size: 10GB}\ngarbageCollection: {enabled: true, schedule: weekly}\n";
    let bad = temp_values_file(yaml);
    let bad = bad.path().to_string_lossy().into_owned();
    let (oldest, current) = (render(Helm::Oldest, &bad), render(Helm::V3, &bad));
    assert!(matches!(&current, Err(lines) if lines.len() >= 3), "helm 3.17: {current:?}");
    assert_eq!(oldest, current);
}
