//! The one failure type of every layer and plugin: input problems (exit 2, every problem listed,
//! found before any write) or a failed operation (exit 1, one message with advice). The ui layer
//! prints it once, at the binary's edge.

use crate::problem::{Problem, Problems};

/// 1: the operation failed (the cluster said no, a timeout, a pod failed).
pub const EXIT_FAILED: u8 = 1;
/// 2: bad usage or invalid input, caught before any write.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The user's input is wrong (also what the cluster shows to be wrong before a write, like a
    /// missing Secret): every problem, nothing written.
    #[error("{0}")]
    Input(Problems),
    /// The operation failed: what happened and what to do about it.
    #[error("{0}")]
    Failed(String),
}

impl Failure {
    /// One input problem that belongs to no key path (a flag, a file).
    pub fn input(message: impl Into<String>) -> Self {
        Failure::Input(Problem::at("", message).into())
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Failure::Failed(message.into())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => EXIT_USAGE,
            Failure::Failed(_) => EXIT_FAILED,
        }
    }
}

impl From<Problems> for Failure {
    fn from(problems: Problems) -> Self {
        Failure::Input(problems)
    }
}

impl From<Problem> for Failure {
    fn from(problem: Problem) -> Self {
        Failure::Input(problem.into())
    }
}
