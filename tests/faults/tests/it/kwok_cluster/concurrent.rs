//! Case 8: two `install`s of the same release with different values started at the same
//! moment: one wins, or they run one after the other; never a mix of both. Each trial's values
//! mark every object they reach (the pod template, the Service, the stored values) with their
//! name; afterwards all marks are one trial's, and the release is that install's rendering.

use kubectl_mlflow_fault_tests::draw::Draw;
use kubectl_mlflow_fault_tests::release::{converged, Expected, Others};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{fault_namespace, figure, kubectl, text, ONE_WORKER, RELEASE};

fn install(who: &str) -> Plugin {
    let pod = format!("podAnnotations.kmlf-who={who}");
    let service = format!("service.annotations.kmlf-who={who}");
    Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER, "--set", &pod, "--set", &service])
}

#[tokio::test]
#[ignore = "needs the test cluster with an audit log: scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml"]
async fn two_installs_at_once_never_mix() {
    let mut draw = Draw::new("concurrent-installs");
    let ns = fault_namespace("fault-twice").await;
    let mut outcomes = Vec::new();
    for (a, b) in [("a1", "b1"), ("a2", "b2"), ("a3", "b3")] {
        let (first, second) = (install(a), install(b));
        let skew = std::time::Duration::from_millis(draw.below(40) as u64);
        let one = first.command(&ns).spawn().unwrap();
        std::thread::sleep(skew);
        let two = second.command(&ns).spawn().unwrap();
        let (one, two) = (one.wait_with_output().unwrap(), two.wait_with_output().unwrap());
        let marks = [
            kubectl(&[
                "get",
                "deploy",
                &format!("{RELEASE}-mlflow"),
                "-n",
                ns.name(),
                "-o",
                "jsonpath={.spec.template.metadata.annotations.kmlf-who}",
            ]),
            kubectl(&[
                "get",
                "svc",
                &format!("{RELEASE}-mlflow"),
                "-n",
                ns.name(),
                "-o",
                "jsonpath={.metadata.annotations.kmlf-who}",
            ]),
            stored_who(&ns),
        ];
        let winner = marks[0].trim().to_string();
        assert!(
            marks.iter().all(|m| m.trim() == winner),
            "a mix of {a} and {b} (skew {skew:?}, {}): pod template {}, Service {}, stored values {}\n{a}: {}\n{b}: {}",
            draw.replay(),
            marks[0],
            marks[1],
            marks[2],
            text(&one),
            text(&two)
        );
        let won = if winner == a { &first } else { &second };
        assert!(winner == a || winner == b, "neither's values: {winner:?}");
        let (won_out, lost_out) = if winner == a { (&one, &two) } else { (&two, &one) };
        assert!(won_out.status.success(), "the winner failed: {}", text(won_out));
        converged(&ns, &Expected::of(won, &ns), &Others::default())
            .unwrap_or_else(|e| panic!("not converged to {winner}'s values: {e}"));
        let loser = match lost_out.status.code() {
            Some(0) => "ran before it, succeeded".to_string(),
            code => format!(
                "exit {code:?}: {}",
                String::from_utf8_lossy(&lost_out.stderr).lines().find(|l| l.starts_with("error")).unwrap_or_default()
            ),
        };
        outcomes.push(format!("{winner} won (the other {loser})"));
    }
    figure("two installs at once", &format!("{} trials, no mix: {}", outcomes.len(), outcomes.join("; ")));
    ns.delete().await;
}

/// The mark in the values the ApplySet parent stored.
fn stored_who(ns: &kubectl_mlflow_test_support::TestNamespace) -> String {
    let values = kubectl(&[
        "get",
        "secret",
        &format!("kubectl-mlflow.release.{RELEASE}"),
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.data.values\\.yaml}",
    ]);
    let decoded = std::process::Command::new("sh")
        .args(["-c", &format!("echo '{}' | base64 -d", values.trim())])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&decoded.stdout).to_string();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("kmlf-who:"))
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .to_string()
}
