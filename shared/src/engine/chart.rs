//! The chart of this commit, embedded in the binary so `--helm` installs exactly what the
//! native engine renders.

use std::path::Path;

use include_dir::{include_dir, Dir};

static CHART: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../charts");

/// Writes the chart into `dir` (which becomes the chart's root).
pub fn extract(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    CHART.extract(dir)
}
