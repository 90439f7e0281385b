// The chart of this commit, packed for the binary: a tar of charts/ (sorted, fixed headers, so
// every build packs the same bytes), gzip-compressed. Raw, its 170 KB held the multi-call binary
// over its 8 MiB; gzip makes it about 40 KB. Rebuilt whenever anything under charts/ changes.
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=../charts");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("chart.tar.gz");
    let gzip = flate2::write::GzEncoder::new(std::fs::File::create(out).unwrap(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gzip);
    for name in files {
        let bytes = std::fs::read(root.join(&name)).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        tar.append_data(&mut header, &name, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}
