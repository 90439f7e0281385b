//! Which failure events end a wait: those that waiting cannot fix. Provisioners and schedulers
//! retry, so one failure is news, not a verdict — unless its message says it is permanent. The
//! same failure again is.

/// Messages of failures that retrying fixes (an optimistic-concurrency conflict, a timeout).
const TRANSIENT: [&str; 6] = [
    "the object has been modified",
    "please apply your changes to the latest version",
    "operation cannot be fulfilled",
    "timeout",
    "connection refused",
    "try again",
];

/// Messages of failures no retry fixes.
const PERMANENT: [&str; 11] = [
    "not found",
    "does not exist",
    "invalid",
    "not supported",
    "unsupported",
    "forbidden",
    "exceeded quota",
    "no volume plugin matched",
    "is not allowed",
    "no persistent volumes available",
    "didn't match",
];

/// Whether a failure event of the release ends the wait. `occurrences`: how often it happened so
/// far (the event's own count, or how often this wait saw it).
pub fn is_fatal(message: &str, occurrences: i32) -> bool {
    let m = message.to_lowercase();
    if TRANSIENT.iter().any(|t| m.contains(t)) {
        return occurrences >= 2;
    }
    occurrences >= 2 || PERMANENT.iter().any(|p| m.contains(p))
}

#[cfg(test)]
mod tests {
    use super::is_fatal;

    const CONFLICT: &str = "failed to provision volume with StorageClass \"standard\": Operation cannot be fulfilled on persistentvolumeclaims \"mlflow-mlflow\": the object has been modified; please apply your changes to the latest version and try again";

    #[test]
    fn one_conflict_is_waited_out_but_not_two() {
        assert!(!is_fatal(CONFLICT, 1));
        assert!(is_fatal(CONFLICT, 2));
    }

    #[test]
    fn a_permanent_failure_is_fatal_at_once() {
        assert!(is_fatal("storageclass.storage.k8s.io \"fast\" not found", 1));
        assert!(is_fatal("failed to provision volume with StorageClass \"x\": invalid AccessModes [ReadWriteMany]: only AccessModes [ReadWriteOnce] are supported", 1));
        assert!(is_fatal("exceeded quota: storage, requested: requests.storage=20Gi", 1));
    }

    #[test]
    fn an_unknown_failure_is_fatal_when_it_repeats() {
        assert!(!is_fatal("provisioner is busy", 1));
        assert!(is_fatal("provisioner is busy", 3));
    }
}
