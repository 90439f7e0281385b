//! Case 1 on the real node: the commands that need MLflow serving, SIGKILLed at drawn points of
//! their writes (and while they wait), then rerun (`crate::kill_points`); the runs logged before
//! are read back after each point.

kill_case!(
    install_killed_in_an_upgrade_with_a_migration_job_converges_on_rerun,
    "install-upgrade-migration",
    "needs the real node with an audit log: scripts/test-cluster up --real --audit-policy tests/faults/audit-policy.yaml"
);
kill_case!(
    gc_killed_converges_on_rerun,
    "gc",
    "needs the real node with an audit log: scripts/test-cluster up --real --audit-policy tests/faults/audit-policy.yaml"
);
kill_case!(
    backup_killed_converges_on_rerun,
    "backup",
    "needs the real node with an audit log: scripts/test-cluster up --real --audit-policy tests/faults/audit-policy.yaml"
);
kill_case!(
    restore_killed_converges_on_rerun,
    "restore",
    "needs the real node with an audit log: scripts/test-cluster up --real --audit-policy tests/faults/audit-policy.yaml"
);
