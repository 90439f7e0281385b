"""The backup worker (plugins/backup/python/worker.py) reads MLflow's alembic revisions from the
scripts' text, without importing MLflow: the graph it reads is alembic's own."""

import importlib.util
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

WORKER = Path(__file__).resolve().parents[2] / "plugins" / "backup" / "python" / "worker.py"


@pytest.fixture(scope="module")
def worker():
    spec = importlib.util.spec_from_file_location("kmlf_backup_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("parts", [("store", "db_migrations"), ("server", "auth", "db", "migrations")])
def test_the_workers_revision_graph_is_alembics(worker, parts):
    alembic = ScriptDirectory(worker.migrations_dir(*parts))
    graph = {script.revision: sorted(script._all_down_revisions) for script in alembic.walk_revisions()}
    read = {revision: sorted(downs) for revision, downs in worker.revisions(*parts).items()}
    assert read == graph
    assert [worker.head_revision(*parts)] == alembic.get_heads()
    assert worker.known_revision(next(iter(graph)), *parts)
    assert not worker.known_revision("000000000000", *parts)
