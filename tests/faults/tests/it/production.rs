//! The production example (charts/example-mlflow-charts.yaml) on PostgreSQL and S3 in the case's
//! namespace, as tests/real-node/tests/production.rs installs it: the cases that need a database
//! or an object store start from it.

use std::path::PathBuf;

use kubectl_mlflow_fault_tests::release::Others;
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{backing_services, text, ONE_WORKER};
use kubectl_mlflow_test_support::TestNamespace;

/// tests/real-node/manifests/postgres.yaml's password, and the S3 server's key (fixtures).
const DB_URI: &str = "postgresql://mlflow:kmlf-real-node-pg@postgres:5432/mlflow";
const S3_SECRET_KEY: &str = "kmlf-real-node-s3-secret";

pub struct Production {
    /// The s3 command's values snippet (the env list with the endpoint).
    pub s3_values: PathBuf,
}

impl Production {
    /// What the setup made beside the release.
    pub fn others(&self) -> Others {
        Others {
            secrets: vec!["postgres".into(), "mlflow-db-secret".into(), "s3-credentials".into()],
            claims: vec!["postgres-data".into()],
        }
    }

    /// The install command of the example with `extra` arguments.
    pub fn install(&self, extra: &[&str]) -> Plugin {
        let s3 = self.s3_values.display().to_string();
        let mut args =
            vec!["--timeout", "8m", "-f", "charts/example-mlflow-charts.yaml", "-f", &s3, "--set", ONE_WORKER];
        args.extend(["--set", "replicaCount=1"]);
        args.extend(extra);
        Plugin::new("kubectl-mlflow-install", &args)
    }
}

/// PostgreSQL and S3, the Secrets, then the example installed (one replica) with `extra`.
pub fn install(ns: &TestNamespace, extra: &[&str]) -> Production {
    let production = prepare(ns);
    let out = production.install(extra).run(ns);
    assert!(out.status.success(), "install of the production example: {}", text(&out));
    production
}

/// PostgreSQL, S3 and the Secrets, nothing installed yet.
pub fn prepare(ns: &TestNamespace) -> Production {
    backing_services(ns);
    let db = Plugin::new("kubectl-mlflow-secrets", &["db", "--uri", DB_URI]).run(ns);
    assert!(db.status.success(), "secrets db: {}", text(&db));
    let s3 = Plugin::new(
        "kubectl-mlflow-secrets",
        &[
            "s3",
            "--access-key-id",
            "kmlf-real-node",
            "--secret-access-key",
            S3_SECRET_KEY,
            "--endpoint-url",
            "http://s3:9000",
            "--region",
            "us-east-1",
        ],
    )
    .run(ns);
    assert!(s3.status.success(), "secrets s3: {}", text(&s3));
    let s3_values = std::env::temp_dir().join(format!("{}-s3-values.yaml", ns.name()));
    std::fs::write(&s3_values, &s3.stdout).unwrap();
    Production { s3_values }
}
