//! The faults that need bytes to flow, on the real node with an audit log (`scripts/test-cluster
//! up --real --audit-policy tests/faults/audit-policy.yaml`). Run one test at a time (some restart
//! the cluster's daemons): `scripts/fault-test`.

mod control_plane;
mod database;
mod full_volume;
mod kill_points;
mod load;
mod node_daemons;
mod object_store;
mod serving_pod;
