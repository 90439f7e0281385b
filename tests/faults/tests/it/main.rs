//! The fault suite, one binary (docs/faults.md; the figures in README "Reliability"): every case
//! ends with "nothing lost" (runs, params, metric histories and artifacts logged before and
//! during the fault, read back through MLflow's REST API, artifacts by SHA-256) and "converges"
//! (rerunning the command, or nothing, leaves what an uninterrupted run leaves).
//!
//! [`kwok_cluster`]: what the control plane shows (`scripts/test-cluster up --audit-policy
//! tests/faults/audit-policy.yaml`); [`real_node`]: what needs MLflow serving (`up --real
//! --audit-policy …`), one test at a time. All are ignored by plain `cargo test`: run them with
//! `-- --ignored kwok_cluster::` (scripts/test does, a sample) or `scripts/fault-test`.
//!
//! `KMLF_FAULT_SEED` draws the points (a failure prints its seed), `KMLF_FAULT_SAMPLE` says how
//! many run (`all`: the full sweep), `KMLF_FAULT_ONLY` picks rows of the command table,
//! `KMLF_FAULT_POINTS` names points instead of drawing them (`"15 s after,30 s after"`).

#[macro_use]
mod kill_points;
mod kwok_cluster;
mod production;
mod real_node;
