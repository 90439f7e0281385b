//! The command lines without a cluster: help, and input refused with exit code 2 before any
//! connection (a bad archive name, a damaged, cut or altered archive).

use assert_cmd::Command;
use kubectl_mlflow_test_support::process::offline_plugin as bin;

/// stderr of a refused run (exit code 2, nothing on stdout).
fn refused(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn help_is_as_recorded() {
    for name in ["kubectl-mlflow-backup", "kubectl-mlflow-restore"] {
        let out = bin(name).arg("--help").output().unwrap();
        assert!(out.status.success());
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn backup_needs_an_archive_name_it_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken.tar.gz");
    std::fs::write(&taken, b"x").unwrap();
    let cases = [
        (dir.path().join("b.zip"), "name the archive FILE.tar.gz (gzip) or FILE.tar"),
        (taken, "the file exists (remove it, or choose another name)"),
        (dir.path().join("missing/b.tar.gz"), "missing does not exist"),
    ];
    for (path, message) in cases {
        let err = refused(bin("kubectl-mlflow-backup").arg("-o").arg(&path));
        assert!(err.contains(message) && err.contains(&format!("-o {}", path.display())), "{err}");
    }
    let err = refused(&mut bin("kubectl-mlflow-backup"));
    assert!(err.contains("--output <FILE>"), "{err}");
}

#[test]
fn restore_refuses_a_damaged_cut_or_altered_archive_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tar.gz");
    super::archive::write(
        &good,
        &[("tracking.db", b"SQLite format 3\0 and more"), ("artifacts/0/a.txt", b"hello")],
        "3.17.2",
    );
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let altered = dir.path().join("altered.tar.gz");
    super::archive::altered(&good, &altered);
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not an archive at all").unwrap();
    let other = dir.path().join("other.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&other).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    builder.append_data(&mut header, "x.txt", &b"hi"[..]).unwrap();
    builder.into_inner().unwrap();
    let cases = [
        (dir.path().join("none.tar.gz"), "no such file".to_string()),
        (cut, "it is damaged or cut short".to_string()),
        (altered, "tracking.db: its sha256 differs from the manifest's: the archive was altered or damaged (make a new backup)".to_string()),
        (junk, "it is damaged or cut short".to_string()),
        (other, "it holds no manifest.json: not a kubectl mlflow backup, or cut short".to_string()),
    ];
    for (path, message) in cases {
        let err = refused(bin("kubectl-mlflow-restore").arg(&path));
        assert!(err.contains(&format!("error: {}: {message}", path.display())), "{err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
    }
    // The good one passes the check and only then needs a cluster (here: none configured).
    let out = bin("kubectl-mlflow-restore").arg(&good).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no kubeconfig found"), "{err}");
}
