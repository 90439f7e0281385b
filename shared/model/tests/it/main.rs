//! The model crate's integration tests, one module each (one test binary for the crate).

mod api_rules;
mod layers;
mod no_panic;
