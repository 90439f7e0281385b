//! Single sign-on (one test binary for the crate), ignored by plain `cargo test`: `kwok_cluster`
//! (the KWOK cluster) and `real_node` (the real node), selected by module path
//! (`-- --ignored kwok_cluster::`). `provider`, `browser` and `http` hold what the real-node test
//! uses.

mod browser;
mod http;
mod kwok_cluster;
mod provider;
mod real_node;
