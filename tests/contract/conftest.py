"""Fixtures of the MLflow contract tests: one local server per values file, reused by every check
of that file, one server at a time in a pytest process.

scripts/contract-test runs two pytest processes (2 cores: a server's start and a client's import
are CPU-bound, the waits between them are not). Each collects every test and runs the groups of
tests (a values file's, or one test function's) it claims first in the directory given with
--claims: the larger groups first, then whichever process is free takes the next one.
"""

import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contract import NO_TELEMETRY, Server, binary  # noqa: E402

# the tests import MLflow in this process too (its CLI, forked into servers)
os.environ.update(NO_TELEMETRY)


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


def group_of(item) -> str:
    """The tests that run together: those of one values file, whatever their module (its server
    starts once), else those of one test function (they share its module's fixtures)."""
    values_file = values_file_of(item)
    return values_file if values_file is not None else f"{item.path.name}::{item.originalname}"


def pytest_addoption(parser):
    parser.addoption(
        "--claims", metavar="DIR",
        help="run only the groups of tests this process claims first in DIR (a directory shared by "
        "the suite's pytest processes, scripts/contract-test)",
    )


def pytest_collection_modifyitems(config, items):
    """Runs each group's tests one after another, so that a values file's server starts once (a
    server start costs about 10 s of CPU). Alone, the order is otherwise kept; with --claims the
    groups that start the most MLflow processes go first, so that the last ones claimed are short."""
    first: dict[str, int] = {}
    weight: dict[str, int] = {}
    for i, item in enumerate(items):
        first.setdefault(group_of(item), i)
        weight[group_of(item)] = weight.get(group_of(item), 0) + processes_of(item)
    if config.getoption("claims"):
        items.sort(key=lambda item: (-weight[group_of(item)], first[group_of(item)]))
    else:
        items.sort(key=lambda item: first[group_of(item)])


def processes_of(item) -> int:
    """About how many MLflow processes a test starts: its mlflow_processes marker's, else one."""
    marker = item.get_closest_marker("mlflow_processes")
    return marker.args[0] if marker else 1


def groups(items) -> list[list]:
    """The items split where their group changes (they are sorted by group)."""
    out: list[list] = []
    for item in items:
        if out and group_of(out[-1][-1]) == group_of(item):
            out[-1].append(item)
        else:
            out.append([item])
    return out


def claim(claims: Path, group: str) -> bool:
    """Whether this process is the first to claim the group (an exclusively created file)."""
    name = hashlib.sha256(group.encode()).hexdigest()[:16]
    try:
        fd = os.open(claims / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, f"{group} {os.getpid()}\n".encode())
    os.close(fd)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """With --claims: pytest's own loop over the groups this process claims first."""
    claims = session.config.getoption("claims")
    if not claims or session.config.option.collectonly:
        return None
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} errors during collection")
    all_groups = groups(session.items)
    session.config._contract_claimed = (0, len(all_groups))
    for items in all_groups:
        if not claim(Path(claims), group_of(items[0])):
            continue
        ran, total = session.config._contract_claimed
        session.config._contract_claimed = (ran + 1, total)
        for i, item in enumerate(items):
            # (after a group's last test its fixtures end: the next group this process claims is
            # not known yet)
            nextitem = items[i + 1] if i + 1 < len(items) else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
    return True


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


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "_contract_claimed"):
        ran, total = config._contract_claimed
        terminalreporter.write_line(f"this process ran {ran} of the {total} groups of tests (the other processes the rest)")
