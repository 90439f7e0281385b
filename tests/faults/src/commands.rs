//! The commands the suite kills at their writes: one row each, with the state it starts from,
//! what a converged run leaves, and whether it is pending (its command is not in main yet: the
//! row is reported, never silently skipped). Adding a command is one row, with a setup and a
//! check from the lists below (or a new one of each).

/// The state a command is killed in (made once per case, then kept up by [`Before`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// An empty namespace.
    Nothing,
    /// The quick start installed, with a run logged.
    QuickStart,
    /// The quick start installed, with a run and a 128 MiB artifact logged: a backup of it is
    /// still streaming 2 and 8 s after its worker Job's create.
    BigQuickStart,
    /// The production example (PostgreSQL, S3, Secrets by `kubectl mlflow secrets`) installed,
    /// with a run and a 5 MiB artifact logged.
    Production,
    /// The Secret `mlflow-db-secret` written by `kubectl mlflow secrets db`.
    DbSecret,
    /// The quick start installed, a run and a 48 MiB artifact logged, and backed up into
    /// `{dir}/source.tar.gz` (restore's archive).
    BackedUp,
}

/// What each point needs before the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// Nothing: the last point's converged state is this one's start.
    Nothing,
    /// A fresh namespace (the release not there at all).
    FreshNamespace,
    /// The release installed again (after an uninstall).
    Reinstall,
    /// A run soft-deleted, for gc to purge.
    DeletedRun,
    /// The Secret back at its first value.
    FirstSecret,
    /// A fresh namespace with the quick start installed (an empty store to restore into).
    FreshQuickStart,
}

/// What the release must look like once the command was rerun (or left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The ApplySet is exactly the command's rendering, rolled out, nothing left over; the runs
    /// logged before are all there.
    Installed,
    /// No member, no parent, no pod left; the claim stays with the data.
    Uninstalled,
    /// The soft-deleted run is purged, the others are there, no gc Job still running.
    Collected,
    /// The Secret holds the new value, labelled for the release.
    SecretReplaced,
    /// The archive (`-o`) is whole (restore's own check of every checksum accepts it) and no
    /// partial file is left beside it; no worker Job still runs; the runs logged before are there.
    Archived,
    /// Every run of the archive is in the release (same IDs, the artifact by SHA-256); no worker
    /// Job still runs.
    Restored,
    /// Not written yet (the command is pending).
    Pending,
}

/// One command of the table.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The case's name (`KMLF_FAULT_ONLY` picks rows by it).
    pub name: &'static str,
    pub binary: &'static str,
    /// Its arguments; `{point}` is replaced by the point's number (so each upgrade changes the
    /// pod template).
    pub args: &'static [&'static str],
    pub setup: Setup,
    pub before: Before,
    pub check: Check,
    /// When the command waits after a write (for a rollout, a Job, a stream), the seconds into
    /// that wait it is killed at too (none: it does not wait).
    pub waits: &'static [u64],
    /// Why it cannot run yet.
    pub pending: Option<&'static str>,
    /// The flag the command's refusal names to start again (restore's `--force` after a restore
    /// killed half-way): when the rerun is refused naming it, the command is run once more with it.
    pub again: Option<&'static str>,
}

/// The points in a wait: early, and once it is well under way.
const WAITS: &[u64] = &[2, 8];

const QUICK: &[&str] = &["--timeout", "8m", "--set", crate::ONE_WORKER];

/// Every command killed at its writes.
pub const TABLE: &[Row] = &[
    Row {
        name: "install-first",
        binary: "kubectl-mlflow-install",
        args: QUICK,
        setup: Setup::Nothing,
        before: Before::FreshNamespace,
        check: Check::Installed,
        waits: WAITS,
        pending: None,
        again: None,
    },
    Row {
        name: "install-upgrade-migration",
        binary: "kubectl-mlflow-install",
        args: &[
            "--timeout",
            "8m",
            "-f",
            "charts/example-mlflow-charts.yaml",
            "-f",
            "{s3-values}",
            "--set",
            crate::ONE_WORKER,
            "--set",
            "replicaCount=1",
            "--set",
            "podAnnotations.kmlf-fault=point-{point}",
        ],
        setup: Setup::Production,
        before: Before::Nothing,
        check: Check::Installed,
        waits: WAITS,
        pending: None,
        again: None,
    },
    Row {
        name: "uninstall",
        binary: "kubectl-mlflow-uninstall",
        args: &["--timeout", "3m"],
        setup: Setup::QuickStart,
        before: Before::Reinstall,
        check: Check::Uninstalled,
        waits: WAITS,
        pending: None,
        again: None,
    },
    Row {
        name: "gc",
        binary: "kubectl-mlflow-gc",
        args: &["--timeout", "5m"],
        setup: Setup::QuickStart,
        before: Before::DeletedRun,
        check: Check::Collected,
        waits: WAITS,
        pending: None,
        again: None,
    },
    Row {
        name: "secrets-overwrite",
        binary: "kubectl-mlflow-secrets",
        args: &["db", "--uri", "postgresql://mlflow:second-kmlf-fault@postgres:5432/mlflow", "--overwrite"],
        setup: Setup::DbSecret,
        before: Before::FirstSecret,
        check: Check::SecretReplaced,
        waits: &[],
        pending: None,
        again: None,
    },
    Row {
        name: "backup",
        binary: "kubectl-mlflow-backup",
        args: &["-o", "{dir}/backup-{point}.tar.gz", "--timeout", "5m"],
        setup: Setup::BigQuickStart,
        before: Before::Nothing,
        check: Check::Archived,
        waits: WAITS,
        pending: None,
        again: None,
    },
    Row {
        name: "restore",
        binary: "kubectl-mlflow-restore",
        args: &["{dir}/source.tar.gz", "--timeout", "5m"],
        setup: Setup::BackedUp,
        before: Before::FreshQuickStart,
        check: Check::Restored,
        waits: &[2, 8, 15, 30],
        pending: None,
        again: Some("--force"),
    },
];

/// The secrets row's values: the first and the one the killed command writes.
pub const FIRST_URI: &str = "postgresql://mlflow:first-kmlf-fault@postgres:5432/mlflow";
pub const SECOND_URI: &str = "postgresql://mlflow:second-kmlf-fault@postgres:5432/mlflow";

impl Row {
    /// The arguments for point `point`, with `{s3-values}` the production setup's snippet and
    /// `{dir}` the case's directory of archives.
    pub fn args_for(&self, point: usize, s3_values: &str, dir: &str) -> Vec<String> {
        let filled = |a: &&str| a.replace("{point}", &point.to_string()).replace("{s3-values}", s3_values);
        self.args.iter().map(|a| filled(a).replace("{dir}", dir)).collect()
    }

    /// Whether `KMLF_FAULT_ONLY` (comma-separated names) leaves this row in.
    pub fn selected(&self) -> bool {
        match std::env::var("KMLF_FAULT_ONLY").ok().filter(|s| !s.is_empty()) {
            None => true,
            Some(only) => only.split(',').any(|n| n.trim() == self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_check_and_pending_rows_say_why() {
        for row in TABLE {
            assert_eq!(row.pending.is_some(), row.check == Check::Pending, "{}", row.name);
            assert!(row.binary.starts_with("kubectl-mlflow-"), "{}", row.name);
        }
        assert_eq!(TABLE[4].args_for(3, "", "")[2], SECOND_URI);
        assert_eq!(TABLE[5].args_for(3, "", "/d")[1], "/d/backup-3.tar.gz");
    }
}
