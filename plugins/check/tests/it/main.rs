//! The tests of `kubectl mlflow check`, one binary: [`cli`] needs nothing (help, refused input);
//! [`kwok_cluster`] the test cluster's control plane with its KWOK node (`scripts/test-cluster
//! up`: finding the release and what stops a check before any byte, and step failures against a
//! fake server where a real one cannot be made to fail that way); [`real_node`] real MLflow on the
//! real node (`scripts/test-cluster up --real`). The cluster tests are ignored by plain `cargo
//! test`: run them with `-- --ignored kwok_cluster::` or `-- --ignored real_node::`.

mod cli;
mod kwok_cluster;
mod real_node;
mod run;
