//! The chart's tests with real helm are in `tests/it/`; what they share (helm, the values files)
//! is in the test-support crate (`tests/support`).
