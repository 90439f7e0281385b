//! The production example (charts/example-mlflow-charts.yaml) on PostgreSQL and S3 in the case's
//! namespace, as tests/real-node/tests/production.rs installs it: the cases that need a database
//! or an object store start from it.

use std::path::PathBuf;

use kubectl_mlflow_fault_tests::release::Others;
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{text, ONE_WORKER};
use kubectl_mlflow_test_support::stores::{start_stores, store_secrets};
use kubectl_mlflow_test_support::TestNamespace;

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
    start_stores(ns);
    let s3_values = store_secrets(ns);
    Production { s3_values }
}
