//! The backup archive on the local disk: a tar (gzip-compressed for `.gz`/`.tgz` names) of
//! `tracking.db`, `auth.db`, `artifacts/<path>`, `values.yaml` and, last, `manifest.json` (MLflow
//! version, schema revisions, counts, and the sha256 and size of every other entry).
//!
//! Writing passes the worker's tar stream through, checking each entry against the worker's own
//! manifest; reading checks every entry against `manifest.json` before anything is restored.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "manifest.json";
const WORKER_MANIFEST: &str = "worker.json";
pub const VALUES: &str = "values.yaml";
const BUFFER: usize = 1 << 20;

/// Whether a file name asks for gzip.
pub fn gzip_name(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    name.ends_with(".gz") || name.ends_with(".tgz")
}

/// Facts about the backup that the plugin adds to the worker's manifest.
pub struct Origin {
    pub release: String,
    pub namespace: String,
    pub created: String,
    pub values: Option<String>,
}

/// What was written.
pub struct Written {
    pub manifest: Value,
    pub bytes: u64,
}

enum Out {
    Gzip(GzEncoder<BufWriter<File>>),
    Plain(BufWriter<File>),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Gzip(w) => w.write(buf),
            Out::Plain(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Gzip(w) => w.flush(),
            Out::Plain(w) => w.flush(),
        }
    }
}

impl Out {
    fn finish(self) -> io::Result<File> {
        let buffered = match self {
            Out::Gzip(w) => w.finish()?,
            Out::Plain(w) => w,
        };
        buffered.into_inner().map_err(|e| e.into_error())
    }
}

/// A reader that hashes and counts what passes.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing { inner, sha: Sha256::new(), size: 0 }
    }

    fn part(&self) -> Value {
        json!({"sha256": hex(&self.sha.clone().finalize()), "size": self.size})
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the worker's tar `stream` into `path`, checked against the worker's manifest, then the
/// values and the manifest. `Err` says what went wrong (the caller removes the file).
pub fn write(stream: impl Read, path: &Path, gzip: bool, origin: &Origin) -> Result<Written, String> {
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let buffered = BufWriter::with_capacity(BUFFER, file);
    let out = if gzip { Out::Gzip(GzEncoder::new(buffered, Compression::fast())) } else { Out::Plain(buffered) };
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    let mut archive = tar::Archive::new(stream);
    let mut parts = Map::new();
    let mut worker: Option<Value> = None;
    let entries = archive.entries().map_err(|e| format!("the worker's stream is not a tar: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("the worker's stream broke off: {e}"))?;
        let name = entry.path().map_err(|e| format!("a bad entry name: {e}"))?.to_string_lossy().to_string();
        if name == WORKER_MANIFEST {
            let mut text = String::new();
            let mut entry = entry;
            entry.read_to_string(&mut text).map_err(|e| format!("the worker's manifest: {e}"))?;
            worker = Some(serde_json::from_str(&text).map_err(|e| format!("the worker's manifest: {e}"))?);
            continue;
        }
        let mut header = entry.header().clone();
        let mut hashing = Hashing::new(entry);
        builder
            .append_data(&mut header, &name, &mut hashing)
            .map_err(|e| format!("cannot write {name} into {}: {e}", path.display()))?;
        parts.insert(name, hashing.part());
    }
    let mut manifest = worker.ok_or("the worker's stream ended before its manifest")?;
    check_parts(&manifest["parts"], &parts, "the worker's stream")?;
    if let Some(values) = &origin.values {
        let mut header = tar::Header::new_gnu();
        header.set_size(values.len() as u64);
        header.set_mode(0o644);
        let mut hashing = Hashing::new(values.as_bytes());
        builder.append_data(&mut header, VALUES, &mut hashing).map_err(|e| format!("cannot write {VALUES}: {e}"))?;
        manifest["parts"][VALUES] = hashing.part();
    }
    manifest["release"] = json!(origin.release);
    manifest["namespace"] = json!(origin.namespace);
    manifest["created"] = json!(origin.created);
    manifest["kubectl_mlflow_version"] = json!(env!("CARGO_PKG_VERSION"));
    let text = serde_json::to_vec_pretty(&manifest).expect("serializes");
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, MANIFEST, text.as_slice()).map_err(|e| format!("cannot write {MANIFEST}: {e}"))?;
    let out = builder.into_inner().map_err(|e| format!("cannot finish {}: {e}", path.display()))?;
    let file = out.finish().map_err(|e| format!("cannot finish {}: {e}", path.display()))?;
    file.sync_all().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(Written { manifest, bytes })
}

/// Every part the manifest lists was seen with its checksum and size, and nothing else.
fn check_parts(listed: &Value, seen: &Map<String, Value>, source: &str) -> Result<(), String> {
    let listed = listed.as_object().ok_or(format!("{source}: the manifest lists no parts"))?;
    for (name, want) in listed {
        match seen.get(name) {
            None => return Err(format!("{name} is missing")),
            Some(got) if got["size"] != want["size"] => {
                return Err(format!("{name}: {} bytes, the manifest says {}", got["size"], want["size"]))
            }
            Some(got) if got["sha256"] != want["sha256"] => {
                return Err(format!("{name}: its sha256 differs from the manifest's"))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|name| !listed.contains_key(*name)) {
        return Err(format!("{extra} is not in the manifest"));
    }
    Ok(())
}

/// A checked archive.
pub struct Checked {
    pub manifest: Value,
    pub bytes: u64,
}

/// Reads the whole archive and checks every entry against its manifest; `progress` gets the
/// bytes read so far.
pub fn check(path: &Path, mut progress: impl FnMut(u64)) -> Result<Checked, String> {
    let file = File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut counted = Counting { inner: BufReader::with_capacity(BUFFER, file), read: 0, report: &mut progress };
    let gzip = std::io::BufRead::fill_buf(&mut counted.inner)
        .map_err(|e| format!("cannot read it: {e}"))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + '_> =
        if gzip { Box::new(MultiGzDecoder::new(&mut counted)) } else { Box::new(&mut counted) };
    let mut archive = tar::Archive::new(reader);
    let mut parts = Map::new();
    let mut manifest = None;
    let damaged = |e: io::Error| format!("it is damaged or cut short ({e}): make a new backup");
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry.path().map_err(damaged)?.to_string_lossy().to_string();
        if name == MANIFEST {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(damaged)?;
            manifest =
                Some(serde_json::from_str::<Value>(&text).map_err(|e| format!("its {MANIFEST} is not JSON: {e}"))?);
            continue;
        }
        let mut hashing = Hashing::new(&mut entry);
        io::copy(&mut hashing, &mut io::sink()).map_err(damaged)?;
        let part = hashing.part();
        parts.insert(name, part);
    }
    // The end of the stream too: a gzip member cut after the tar's last entry is damaged.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(damaged)?;
    let manifest = manifest
        .ok_or(format!("it holds no {MANIFEST}: not a kubectl mlflow backup, or cut short (make a new backup)"))?;
    if manifest["format"] != 1 {
        return Err(format!(
            "its {MANIFEST} is of an unknown format {} (a newer kubectl-mlflow made it?)",
            manifest["format"]
        ));
    }
    check_parts(&manifest["parts"], &parts, "the archive")
        .map_err(|e| format!("{e}: the archive was altered or damaged (make a new backup)"))?;
    Ok(Checked { manifest, bytes })
}

struct Counting<'a, R, F: FnMut(u64)> {
    inner: R,
    read: u64,
    report: &'a mut F,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<'_, R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.report)(self.read);
        Ok(n)
    }
}

/// The size of a part in the manifest.
pub fn part_size(manifest: &Value, name: &str) -> u64 {
    manifest["parts"][name]["size"].as_u64().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker_tar(files: &[(&str, &[u8])], tamper: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut parts = Map::new();
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, *data).unwrap();
            let mut hashing = Hashing::new(*data);
            io::copy(&mut hashing, &mut io::sink()).unwrap();
            let mut part = hashing.part();
            if tamper {
                part["sha256"] = json!("0");
            }
            parts.insert(name.to_string(), part);
        }
        let manifest = serde_json::to_vec(&json!({"format": 1, "parts": parts, "counts": {}})).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        builder.append_data(&mut header, WORKER_MANIFEST, manifest.as_slice()).unwrap();
        builder.into_inner().unwrap()
    }

    fn origin() -> Origin {
        Origin {
            release: "mlflow".into(),
            namespace: "ml".into(),
            created: "now".into(),
            values: Some("a: 1\n".into()),
        }
    }

    #[test]
    fn a_written_archive_checks_and_a_changed_byte_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("artifacts/{}/x.bin", "d".repeat(120));
        let stream = worker_tar(&[("tracking.db", b"sqlite"), (&long, b"bytes")], false);
        for name in ["b.tar.gz", "b.tar"] {
            let path = dir.path().join(name);
            let written = write(stream.as_slice(), &path, gzip_name(&path), &origin()).unwrap();
            assert!(written.manifest["parts"][VALUES].is_object());
            let checked = check(&path, |_| {}).unwrap();
            assert_eq!(checked.manifest["release"], "mlflow");
            assert_eq!(part_size(&checked.manifest, &long), 5);
        }
        let plain = dir.path().join("b.tar");
        let mut bytes = std::fs::read(&plain).unwrap();
        let at = bytes.windows(6).position(|w| w == b"sqlite").unwrap();
        bytes[at] = b'S';
        std::fs::write(&plain, &bytes).unwrap();
        let err = check(&plain, |_| {}).err().unwrap();
        assert!(err.starts_with("tracking.db: its sha256 differs"), "{err}");
        let gz = dir.path().join("b.tar.gz");
        let bytes = std::fs::read(&gz).unwrap();
        std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        assert!(check(&gz, |_| {}).err().unwrap().contains("damaged or cut short"));
    }

    #[test]
    fn a_stream_unlike_its_manifest_is_not_written_as_good() {
        let dir = tempfile::tempdir().unwrap();
        let stream = worker_tar(&[("tracking.db", b"sqlite")], true);
        let err = write(stream.as_slice(), &dir.path().join("b.tar"), false, &origin()).err().unwrap();
        assert!(err.contains("sha256 differs"), "{err}");
        let cut = worker_tar(&[("tracking.db", b"sqlite")], false);
        let err = write(&cut[..700], &dir.path().join("c.tar"), false, &origin()).err().unwrap();
        assert!(err.contains("broke off") || err.contains("before its manifest"), "{err}");
    }
}
