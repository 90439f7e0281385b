//! Case 1 on the KWOK node: a first install, uninstall and `secrets db --overwrite` SIGKILLed at
//! drawn points of their writes (and while they wait), then rerun (`crate::kill_points`).

kill_case!(
    install_killed_in_a_first_install_converges_on_rerun,
    "install-first",
    "needs the test cluster with an audit log: scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml"
);
kill_case!(
    uninstall_killed_converges_on_rerun,
    "uninstall",
    "needs the test cluster with an audit log: scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml"
);
kill_case!(
    secrets_overwrite_killed_converges_on_rerun,
    "secrets-overwrite",
    "needs the test cluster with an audit log: scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml"
);
