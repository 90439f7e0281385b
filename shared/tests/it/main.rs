//! The core crate's integration tests: validation and rendering through the library, one module
//! each (one test binary for the crate).

mod ephemeral_stores;
mod local_stores;
mod server_option_names;
mod server_option_rules;
mod snapshots;
mod validation;
mod validator_checks;
