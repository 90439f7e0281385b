//! Every repository path that README.md and docs/*.md name exists: a path in code or a link
//! target that starts with one of the repository's top-level directories. A moved or renamed file
//! fails here until the documents follow it.

use std::path::{Path, PathBuf};

/// The top-level directories a documented path starts with.
const TOP_LEVEL: [&str; 7] = [".ci", "charts", "docs", "plugins", "scripts", "shared", "tests"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The documents: README.md and docs/*.md.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    docs.insert(0, repo_root().join("README.md"));
    docs
}

/// The code of a Markdown document (the lines of fenced blocks, the text in backticks) and its
/// link targets (`](target)`).
fn spans(markdown: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            found.push(line);
        } else {
            found.extend(line.split('`').skip(1).step_by(2));
            found.extend(line.split("](").skip(1).filter_map(|rest| rest.split(')').next()));
        }
    }
    found
}

/// The repository paths in a span: its words that start with a top-level directory, cut before
/// a placeholder (`<release>`, `*`, `{a,b}`) to the directory that holds it.
fn paths(span: &str) -> Vec<String> {
    span.split(|c: char| c.is_whitespace() || "()=,'\"".contains(c))
        .map(|word| word.trim_start_matches("./").trim_end_matches(['.', ',', ':', ';']))
        .filter(|word| TOP_LEVEL.iter().any(|top| word == top || word.starts_with(&format!("{top}/"))))
        .map(|word| match word.find(['<', '*', '{', '|', '\\']) {
            Some(at) => word[..word[..at].rfind('/').unwrap_or(at)].to_string(),
            None => word.to_string(),
        })
        .collect()
}

#[test]
fn every_path_the_documents_name_exists() {
    let mut checked = 0;
    let mut missing = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("a document");
        let name = doc.strip_prefix(repo_root()).unwrap_or(&doc).display().to_string();
        for path in spans(&text).into_iter().flat_map(paths) {
            checked += 1;
            if !repo_root().join(&path).exists() {
                missing.push(format!("{name}: {path}"));
            }
        }
    }
    assert!(checked > 50, "only {checked} paths found: is the scan still reading the documents?");
    assert!(missing.is_empty(), "the documents name paths that do not exist:\n{}", missing.join("\n"));
}

#[test]
fn paths_are_read_from_backticks_and_links() {
    let text = "see `scripts/test-cluster up` and [the objects](docs/objects.md), `tests/values/*.yaml`, \
                `./charts`, `kubectl get pods` and `charts/templates/<name>.yaml`.";
    let found: Vec<String> = spans(text).into_iter().flat_map(paths).collect();
    assert_eq!(found, ["scripts/test-cluster", "tests/values", "charts", "charts/templates", "docs/objects.md"]);
}
