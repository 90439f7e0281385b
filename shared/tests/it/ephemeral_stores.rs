//! Stores placed on the pod's /tmp are accepted with a warning that their data is lost when the
//! pod restarts, and how to keep it: recorded for every values file that has one (the official
//! chart CI's values, tests/values/tmp-stores.yaml), and printed by `kubectl mlflow install`,
//! `--dry-run` too (plugins/install/tests/ephemeral_warnings.rs).

use std::path::Path;

use kubectl_mlflow_core::release::{prepare, Options};
use kubectl_mlflow_core::Source;

#[test]
fn the_warnings_of_every_values_file_are_as_recorded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/values");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut warned = 0;
    for file in files {
        let sources = [Source::File(file.display().to_string())];
        let prepared = prepare("mlflow", "mlflow", &sources, &mut std::io::empty(), &Options::default())
            .unwrap_or_else(|problems| panic!("{}: {problems}", file.display()));
        let warnings = prepared.rendered.warnings;
        if !warnings.is_empty() {
            warned += 1;
            let name = file.file_stem().unwrap().to_string_lossy().to_string();
            insta::assert_snapshot!(format!("{name}-warnings"), warnings.join("\n"));
        }
    }
    assert!(warned >= 1, "no values file keeps a store on the pod's /tmp");
}
