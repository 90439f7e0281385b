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


@pytest.fixture
def srv(servers, info, request):
    """The server of the test's values_file marker."""
    return started(servers, request.node.get_closest_marker("values_file").args[0], info)


def values_file_of(item) -> str | None:
    """The values file whose server a test uses: its parameter or its values_file marker."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "values_file" in callspec.params:
        return callspec.params["values_file"]
    marker = item.get_closest_marker("values_file")
    return marker.args[0] if marker else None


def pytest_collection_modifyitems(items):
    """Runs the tests of one values file one after another, whatever their module, so that its
    server starts once (a server start costs about 10 s of CPU). The order is otherwise kept."""
    first: dict[str | None, int] = {}
    for i, item in enumerate(items):
        first.setdefault(values_file_of(item), i)
    items.sort(key=lambda item: first[values_file_of(item)])


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
