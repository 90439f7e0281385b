//! Archives for the tests, made as `kubectl mlflow backup` writes them (a tar with a manifest
//! that lists every other entry's sha256 and size).

use std::io::Write;
use std::path::Path;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Writes a gzip archive of `files` with a manifest of MLflow `version`.
pub fn write(path: &Path, files: &[(&str, &[u8])], version: &str) {
    let mut parts = Map::new();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (name, data) in files {
        append(&mut builder, name, data);
        let sha: String = Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect();
        parts.insert(name.to_string(), json!({"sha256": sha, "size": data.len()}));
    }
    let manifest = json!({
        "format": 1, "mlflow_version": version, "store": "sqlite",
        "revisions": {"tracking": "dc11669786a5"}, "counts": {"experiments": 1, "runs": 0},
        "artifact_root": "mlflow-artifacts:", "parts": Value::Object(parts)
    });
    append(&mut builder, "manifest.json", &serde_json::to_vec(&manifest).unwrap());
    let bytes = builder.into_inner().unwrap().finish().unwrap();
    std::fs::File::create(path).unwrap().write_all(&bytes).unwrap();
}

fn append<W: Write>(builder: &mut tar::Builder<W>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, name, data).unwrap();
}

/// The same archive with one byte of `tracking.db` changed, the manifest left as it was.
pub fn altered(good: &Path, bad: &Path) {
    let mut input = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(good).unwrap()));
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if name == "tracking.db" {
            data[0] ^= 0xff;
        }
        append(&mut builder, &name, &data);
    }
    std::fs::write(bad, builder.into_inner().unwrap().finish().unwrap()).unwrap();
}
