//! Stores on the pod's file system: under a writable volume or refused, and SQLite with one
//! replica only; unknown artifact schemes refused. Through the library, as the install runs it.

use kubectl_mlflow_test_support::values;

fn problems(sets: &[&str]) -> Vec<String> {
    values::problems(sets, false)
}

#[test]
fn sqlite_and_file_stores_must_be_on_a_writable_volume() {
    let cases: [(&[&str], &str); 7] = [
        (&["mlflow.backendStoreUri=sqlite:////data/mlflow.db", "storage.enabled=true"], "mlflow.backendStoreUri: \"sqlite:////data/mlflow.db\": /data/mlflow.db is on no writable volume: the container's root is read-only and /tmp is lost on restart"),
        (&["mlflow.backendStoreUri=sqlite:////var/mlflow.db", "mlflow.artifactsDestination=s3://b/a"], "(set storage.enabled: true and put it under storage.mountPath (/mlflow by default)"),
        (&["mlflow.backendStoreUri=/srv/mlruns", "storage.enabled=true"], "mlflow.backendStoreUri: \"/srv/mlruns\": /srv/mlruns is on no writable volume"),
        (&["mlflow.backendStoreUri=file:///srv/mlruns", "storage.enabled=true"], "put it under storage.mountPath /mlflow, or under the mountPath of a writable extraVolumeMounts entry"),
        (&["mlflow.backendStoreUri=mlruns", "storage.enabled=true"], "mlflow.backendStoreUri: \"mlruns\": \"mlruns\" is a relative path, resolved in the server's working directory on the read-only root (use an absolute path under a volume, e.g. /mlflow/mlruns)"),
        (&["mlflow.backendStoreUri=sqlite:////mlflow/m.db", "mlflow.registryStoreUri=sqlite:////mlflowx/r.db", "storage.enabled=true"], "mlflow.registryStoreUri: \"sqlite:////mlflowx/r.db\": /mlflowx/r.db"),
        (&["mlflow.backendStoreUri=sqlite:////mlflow/m.db", "mlflow.artifactsDestination=/artifacts", "storage.enabled=true"], "mlflow.artifactsDestination: \"/artifacts\": /artifacts is on no writable volume"),
    ];
    for (sets, expected) in cases {
        let found = problems(sets);
        assert!(found.iter().any(|p| p.contains(expected)), "{sets:?}: {found:#?}");
    }
}

#[test]
fn auth_sqlite_must_be_on_a_writable_volume() {
    let found = problems(&[
        "mlflow.backendStoreUri=postgresql://u@db/m",
        "mlflow.artifactsDestination=s3://b/a",
        "server.value_options.app_name=basic-auth",
        "auth.databaseUri=sqlite:////auth/users.db",
    ]);
    assert!(
        found.iter().any(|p| p
            .starts_with("auth.databaseUri: \"sqlite:////auth/users.db\": /auth/users.db is on no writable volume")),
        "{found:#?}"
    );
}

#[test]
fn paths_under_a_writable_mount_pass() {
    let mount = [
        "extraVolumes[0].name=data",
        "extraVolumes[0].emptyDir.medium=",
        "extraVolumeMounts[0].name=data",
        "extraVolumeMounts[0].mountPath=/data/",
    ];
    let cases: [Vec<&str>; 5] = [
        vec!["mlflow.backendStoreUri=sqlite:////mlflow/mlflow.db", "storage.enabled=true"],
        vec![
            "mlflow.backendStoreUri=sqlite+pysqlite:////store/mlflow.db",
            "storage.enabled=true",
            "storage.mountPath=/store/",
        ],
        vec![
            "mlflow.backendStoreUri=/mlflow/mlruns",
            "mlflow.artifactsDestination=file:///mlflow/artifacts",
            "storage.enabled=true",
        ],
        [&["mlflow.backendStoreUri=sqlite:////data/m.db", "mlflow.artifactsDestination=/data/a"][..], &mount[..]]
            .concat(),
        vec![
            "mlflow.backendStoreUri=postgresql://u@db/m",
            "mlflow.artifactsDestination=mlflow-artifacts:/x",
            "mlflow.defaultArtifactRoot=hdfs://nn/x",
        ],
    ];
    for sets in cases {
        assert_eq!(problems(&sets), Vec::<String>::new(), "{sets:?}");
    }
}

#[test]
fn a_read_only_mount_is_not_writable() {
    let found = problems(&[
        "mlflow.backendStoreUri=sqlite:////data/m.db",
        "mlflow.artifactsDestination=s3://b/a",
        "extraVolumes[0].name=data",
        "extraVolumes[0].emptyDir.medium=",
        "extraVolumeMounts[0].name=data",
        "extraVolumeMounts[0].mountPath=/data",
        "extraVolumeMounts[0].readOnly=true",
    ]);
    assert!(found.iter().any(|p| p.contains("/data/m.db is on no writable volume")), "{found:#?}");
}

#[test]
fn unknown_artifact_schemes_are_refused() {
    let found = problems(&["mlflow.backendStoreUri=postgresql://u@db/m", "mlflow.artifactsDestination=s4://b/a"]);
    assert_eq!(found, vec!["mlflow.artifactsDestination: \"s4://b/a\": MLflow has no artifact store for the scheme \"s4\" (use one of file, s3, r2, b2, gs, wasbs, abfss, ftp, sftp, dbfs, hdfs, viewfs, runs, models, http, https, mlflow-artifacts, or an absolute path on a volume)"]);
}

#[test]
fn sqlite_has_one_writer() {
    let sqlite = [
        "mlflow.backendStoreUri=sqlite:////mlflow/m.db",
        "storage.enabled=true",
        "storage.accessMode=ReadWriteMany",
        "replicaCount=2",
    ];
    assert_eq!(
        problems(&sqlite),
        vec!["replicaCount: 2 replicas cannot share the SQLite database of mlflow.backendStoreUri: SQLite has one writer (set replicaCount: 1, or use a PostgreSQL, MySQL or MSSQL database)"]
    );
    let auth = [
        "mlflow.backendStoreUri=postgresql://u@db/m",
        "storage.enabled=true",
        "storage.accessMode=ReadWriteMany",
        "replicaCount=3",
        "server.value_options.app_name=basic-auth",
    ];
    assert!(
        problems(&auth)[0].starts_with("replicaCount: 3 replicas cannot share the SQLite database of auth.databaseUri"),
        "{:?}",
        problems(&auth)
    );
    assert!(problems(&[
        "mlflow.backendStoreUri=postgresql://u@db/m",
        "mlflow.artifactsDestination=s3://b/a",
        "replicaCount=2"
    ])
    .is_empty());
}

#[test]
fn postgres_is_refused_with_the_fix() {
    let found = problems(&["mlflow.backendStoreUri=postgres://u:secret@db/m", "mlflow.artifactsDestination=s3://b/a"]);
    assert_eq!(found, vec!["mlflow.backendStoreUri: \"postgres://u:***@db/m\": SQLAlchemy does not know the scheme \"postgres\" (write postgresql:// instead)"]);
}
