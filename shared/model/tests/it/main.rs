//! The model crate's integration tests, one module each (one test binary for the crate), and the
//! repository's own checks (`layers`: the model depends on no client; `doc_paths`: the documents
//! name paths that exist).

mod api_rules;
mod doc_paths;
mod layers;
mod no_panic;
