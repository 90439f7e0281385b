"""Fixtures of the MLflow contract tests: one local server per values file, reused by every check
of that file, one server at a time (2 cores)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contract import Server, binary  # noqa: E402


class ServerPool:
    """Keeps at most one server running: asking for another values file stops the current one."""

    def __init__(self, factory):
        self.factory = factory
        self.current: Server | None = None

    def get(self, values_file: str) -> Server:
        if self.current is not None and self.current.values_file == values_file:
            return self.current
        self.close()
        root = self.factory.mktemp(values_file.removesuffix(".yaml"))
        srv = Server(values_file, root)
        self.current = srv
        srv.start()
        return srv

    def close(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    if not binary().exists():
        pytest.exit(f"{binary()} is missing: build it first (scripts/contract-test does)", returncode=4)
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.close()


@pytest.fixture
def info(request):
    """A list of objects with describe(); printed with the test's report when it fails."""
    items = []
    request.node._contract_info = items
    return items


def started(pool: ServerPool, values_file: str, info: list) -> Server:
    srv = pool.get(values_file)
    info.append(srv)
    if srv.start_error:
        pytest.fail(f"tests/values/{values_file}: {srv.start_error}", pytrace=False)
    return srv


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and (rep.failed or hasattr(rep, "wasxfail")):
        for obj in getattr(item, "_contract_info", []):
            text = obj.describe()
            if hasattr(obj, "log_tail"):
                text += "\n--- server log (last lines) ---\n" + obj.log_tail()
            rep.sections.append(("contract: values file and command lines", text))
