//! `kubectl mlflow backup` and `kubectl mlflow restore`: a release's tracking store, basic-auth
//! store and artifacts in one checked archive, and back into a release of any backend. Both run
//! `python/worker.py` in a Job on the release's own image (it has MLflow, SQLAlchemy and the
//! drivers; the store URIs stay in the pod) and stream the archive through exec.

pub mod backup;
pub mod restore;

mod archive;
mod exec;
mod progress;
mod server;
mod worker;
