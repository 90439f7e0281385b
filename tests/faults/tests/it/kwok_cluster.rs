//! The faults the control plane shows, on the test cluster's KWOK node with an audit log
//! (`scripts/test-cluster up --audit-policy tests/faults/audit-policy.yaml`): commands killed at
//! their writes, two installs at once, permissions lost between preflight and apply.

mod concurrent;
mod credentials;
mod kill_points;
