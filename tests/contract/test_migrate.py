"""Migration contract: the rendered migration Job's `mlflow db upgrade` (charts/files/
migrate-tracking-store.py) runs on real MLflow against a fresh store, then again on the migrated
one, and the server of the same values then starts on that store without creating or
upgrading its schema again.

postgres-secret.yaml reads the store URI from the Secret mlflow-db-secret; no PostgreSQL runs
here, so the harness gives that Secret a fresh SQLite database (TEST_SECRETS), which `mlflow db
upgrade` treats alike.
"""

import sqlite3
import subprocess

import pytest

from contract import Instance, Server, containers, find, render, run_migration

VALUES = "postgres-secret.yaml"


def schema_version(db) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute("select version_num from alembic_version").fetchall()


@pytest.mark.mlflow_processes(5)
def test_migration_then_the_server_starts_without_migrating_again(tmp_path, info):
    job = find(render(VALUES), "Job")
    assert job is not None, f"{VALUES} renders no migration Job"
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"

    inst, p = run_migration(VALUES, tmp_path)
    info.append(inst)
    # The URL is the script's argument, expanded by the kubelet from the env.
    assert inst.original[:2] == ["python", "-c"] and inst.original[3:] == ["$(MLFLOW_BACKEND_STORE_URI)"], inst.original
    assert "mlflow db upgrade" in inst.original[2], inst.original[2]
    assert p.returncode == 0, f"the migration failed (rc {p.returncode}):\n{p.stderr[-5000:]}\n{p.stdout[-2000:]}"
    output = p.stdout + p.stderr
    assert "Creating initial MLflow database tables" in output, output[-3000:]
    db = tmp_path / "db" / "mlflow.db"
    migrated = schema_version(db)
    assert len(migrated) == 1, migrated

    # The next install's Job finds MLflow's tables: `mlflow db upgrade` itself, at the head already.
    inst, p = run_migration(VALUES, tmp_path)
    assert p.returncode == 0, f"the second migration failed (rc {p.returncode}):\n{p.stderr[-5000:]}\n{p.stdout[-2000:]}"
    assert "Creating initial MLflow database tables" not in p.stdout + p.stderr, (p.stdout + p.stderr)[-3000:]
    assert schema_version(db) == migrated

    srv = Server(VALUES, tmp_path)
    info.append(srv)
    try:
        srv.start()
        assert srv.start_error is None, srv.start_error
        out = srv.client("roundtrip")
        assert out["run_id"], out
        log = srv.log_tail(100000)
        # A fresh store would be created by the server itself; a migrated one is only verified.
        assert "Creating initial MLflow database tables" not in log, log[-3000:]
        assert "Running upgrade" not in log, log[-3000:]
        assert schema_version(db) == migrated
    finally:
        srv.stop()


@pytest.mark.mlflow_processes(3)
def test_every_step_of_the_job_runs_in_its_order_on_one_database(tmp_path, info):
    """auth-database-secret.yaml: the wait, `mlflow db upgrade`, then the auth database's own
    migration, in the rendered order, all on one database (the auth URI read from a Secret): the
    tracking store must go first, as `mlflow db upgrade` takes a database that holds any table
    (the auth tables) for one to upgrade. Then the server starts on it without migrating again."""
    values = "auth-database-secret.yaml"
    objects = render(values)
    spec = find(objects, "Job")["spec"]["template"]["spec"]
    steps = [c["name"] for c in containers(spec)]
    assert steps == ["wait-for-database", "migrate", "migrate-auth"], steps
    for step in steps:
        inst = Instance(values, objects, step, tmp_path)
        info.append(inst)
        p = subprocess.run(inst.command, env=inst.process_env(), cwd=inst.dir(f"{step}-cwd"), capture_output=True,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, f"{step} failed (rc {p.returncode}):\n{p.stderr[-5000:]}\n{p.stdout[-2000:]}"
        if step == "wait-for-database":
            assert "accepts a login" in p.stdout, p.stdout
    db = tmp_path / "db" / "mlflow.db"
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"alembic_version", "alembic_version_auth", "runs", "users"} <= tables, sorted(tables)
