//! The fault suite, on the real node of `scripts/test-cluster up --real --audit-policy
//! tests/faults/audit-policy.yaml` (docs/faults.md; the figures in README "Reliability"). Every
//! case ends with "nothing lost" (runs, params, metric histories and artifacts logged before and
//! during the fault, read back through MLflow's REST API, artifacts by SHA-256) and "converges"
//! (rerunning the command, or nothing, leaves what an uninterrupted run leaves). Run alone, one
//! case at a time: cases restart the cluster's daemons.
//!
//! `KMLF_FAULT_SEED` draws the points (a failure prints its seed), `KMLF_FAULT_SAMPLE` says how
//! many run (`all`: the full sweep), `KMLF_FAULT_ONLY` picks rows of the command table.

mod concurrent;
mod control_plane;
mod credentials;
mod database;
mod full_volume;
mod kill_points;
mod load;
mod node_daemons;
mod object_store;
mod production;
mod serving_pod;
