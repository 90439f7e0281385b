"""Accepted means runs, round two: what the project refuses of mlflow server's options, the real
mlflow server 3.17.2 refuses too, and what it accepts starts.

tests/contract/server_option_samples.json holds, for every rule of the option table
(shared/model/data/mlflow-server-options.json), values the project refuses, with the arguments
the renderer would give `mlflow server` for them (`run`), and values it accepts:

- each refused sample is refused by kubectl-mlflow-install (exit 2, the sample's problem), and
  its arguments make the real `mlflow server` fail: it never answers 200 on /health of its port
  over this machine's own address, as the kubelet's probes reach a pod on its IP (it exits, answers
  otherwise, or serves elsewhere once started); or, for an option set after the user's (`expect:
  ignored`), it serves but not as the value asked;
- each accepted sample renders, and its rendered command starts and serves /health.

Cheap by design: `mlflow` is imported once in this process, and each refused sample runs the real
`mlflow server` command (`mlflow.cli.cli`, as the `mlflow` script does) in a forked child on a
copy of one migrated SQLite database; only the samples whose server really boots (a handful)
cost an import of the application.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import traceback
import urllib.error
import urllib.request

import pytest

from contract import HERE, NO_TELEMETRY, Server, binary, free_port, make_cert, venv_bin

SAMPLES = json.loads((HERE / "server_option_samples.json").read_text())
# The store the Rust test's samples start from (shared/tests/server_option_rules.rs).
BASE_SETS = ("mlflow.backendStoreUri=sqlite:////tmp/mlflow.db",)
DECIDE_TIMEOUT = 180.0  # a start under load; most samples are decided in a second
STARTED_MARKS = ("Application startup complete", "Uvicorn running on", "Listening at:", "Booting worker")


def machine_address() -> str:
    """An IPv4 address of this machine other than loopback, as a pod's IP is for the kubelet."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    for address in out:
        if "." in address and not address.startswith("127."):
            return address
    pytest.fail(f"this machine has no IPv4 address but loopback ({out}): the samples need one, as a pod has its IP")


def sample_id(sample: dict) -> str:
    return f"{sample['rule']}:{' '.join(sample['set'])}"[:90]


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def health(address: str, port: int, https: bool) -> int | None:
    """The status of GET /health (Host: localhost, which MLflow allows), or None without an answer."""
    url = f"{'https' if https else 'http'}://{address}:{port}/health"
    context = None
    if https:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"Host": "localhost"})
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ssl.SSLError):
        return None


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def mlflow_cli():
    """`mlflow`'s click group, imported once (then forked per sample)."""
    from mlflow.cli import cli

    return cli


@pytest.fixture(scope="module")
def template_db(tmp_path_factory, mlflow_cli):
    """One migrated SQLite database (a fresh one costs a migration), copied for each sample."""
    d = tmp_path_factory.mktemp("rules-template")
    p = subprocess.run(
        [str(venv_bin() / "python"), "-c",
         "import sys; from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore; "
         "SqlAlchemyStore(sys.argv[1], sys.argv[2])", f"sqlite:///{d}/mlflow.db", str(d / "artifacts")],
        capture_output=True, text=True, timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return d / "mlflow.db"


class Run:
    """The real `mlflow server ARGS` in a forked child, its output in a log."""

    def __init__(self, cli, root, template_db, args: list[str], port: int, extra_env: dict[str, str] | None = None):
        self.root, self.port = root, port
        self.log = root / "server.log"
        db = root / "mlflow.db"
        shutil.copy(template_db, db)
        (root / "home").mkdir()
        env = {
            "PATH": f"{venv_bin()}:/usr/bin:/bin", "HOME": str(root / "home"), "LANG": "C.UTF-8",
            # as the chart passes them (env, not flags)
            "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{db}",
            "MLFLOW_ARTIFACTS_DESTINATION": str(root / "artifacts"),
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            **NO_TELEMETRY,
            **(extra_env or {}),
        }
        self.args = ["--host=0.0.0.0", f"--port={port}", "--workers=1", *args]
        self.pid = os.fork()
        if self.pid == 0:
            self._child(cli, env)

    def _child(self, cli, env) -> None:
        code = 1
        try:
            os.setsid()
            os.chdir(self.root)
            os.environ.clear()
            os.environ.update(env)
            fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            cli.main(args=["server", *self.args], prog_name="mlflow", standalone_mode=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def decide(self, address: str, https: bool) -> str:
        """served | exited | answered NNN | unreachable (started, but not on the port) | undecided."""
        t0 = time.monotonic()
        started_at = None
        while time.monotonic() - t0 < DECIDE_TIMEOUT:
            exited = os.waitpid(self.pid, os.WNOHANG)[0] != 0
            status = health(address, self.port, https)
            if status == 200:
                return "served"
            if status is not None:
                return f"answered {status}"
            if exited:
                self.pid = 0
                return "exited"
            if started_at is None and any(m in self.text() for m in STARTED_MARKS):
                started_at = time.monotonic()
            if started_at is not None and time.monotonic() - started_at > 8:
                return "unreachable"
            time.sleep(0.5)
        return "undecided"

    def stop(self) -> None:
        if self.pid:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0

    def describe(self) -> str:
        return f"mlflow server {' '.join(self.args)}\n--- its output (last lines) ---\n" + "\n".join(self.text().splitlines()[-40:])


def refused_by_the_binary(sample: dict) -> None:
    cmd = [str(binary()), "mlflow", "-n", "mlflow", "--dry-run", "-o", "json"]
    for s in (*BASE_SETS, *sample["set"]):
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 2, f"kubectl-mlflow-install accepted {sample['set']} (rc {p.returncode})"
    assert f"error: {sample['problem']}" in p.stderr, p.stderr


@pytest.mark.parametrize("sample", SAMPLES["refused"], ids=sample_id)
def test_what_the_project_refuses_the_real_server_refuses(sample, mlflow_cli, template_db, tmp_path, servers):
    refused_by_the_binary(sample)
    servers.close()  # one server at a time
    tls = tmp_path / "tls"
    make_cert(tls)
    port, other = free_port(), free_port()
    values = {"port": str(port), "other_port": str(other), "tls": str(tls)}
    args = [fill(a, values) for a in sample["run"]]
    run = Run(mlflow_cli, tmp_path, template_db, args, port, sample.get("env"))
    try:
        outcome = run.decide(machine_address(), sample.get("https", False))
        if sample.get("expect", "fails") == "ignored":
            assert outcome == "served", f"{outcome}: the server did not start\n{run.describe()}"
            for p in sample.get("not_listening", []):
                assert not listening(int(fill(p, values))), f"the ignored value took effect: port {p} is served\n{run.describe()}"
            if "workers" in sample:
                time.sleep(3)  # every worker has logged its start by now
                started = run.text().count("Started server process")
                assert started == sample["workers"], f"{started} workers: the ignored value took effect\n{run.describe()}"
        else:
            assert outcome in ("exited", "unreachable") or outcome.startswith("answered"), (
                f"{outcome}: the real mlflow server {'served /health' if outcome == 'served' else 'did not decide'}"
                f" with a value the project refuses\n{run.describe()}"
            )
    finally:
        run.stop()


@pytest.mark.parametrize("sample", SAMPLES["accepted"], ids=lambda s: s["name"][:60])
def test_what_the_project_accepts_starts(sample, tmp_path, servers):
    servers.close()  # one server at a time
    srv = Server("quickstart.yaml", tmp_path, sets=tuple(sample["set"]))
    try:
        srv.start()
        assert srv.start_error is None, f"{srv.start_error}\n{srv.describe()}\n{srv.log_tail()}"
        status, headers, _ = srv.request("/health")
        assert status == 200
        if "header" in sample:
            name, value = (x.strip() for x in sample["header"].split(":", 1))
            assert {k.lower(): v for k, v in headers.items()}.get(name) == value, headers
    finally:
        srv.stop()


@pytest.mark.values_file("tmp-stores.yaml")
def test_the_official_ci_values_keep_the_users_uvicorn_option_beside_tls(srv):
    """tests/values/tmp-stores.yaml: TLS and the user's uvicorn option both reach uvicorn."""
    status, headers, _ = srv.request("/health")
    assert status == 200 and srv.base.startswith("https://")
    assert {k.lower(): v for k, v in headers.items()}.get("x-kmlf-user-option") == "kept", headers


def test_every_rule_of_the_table_is_known_and_every_callback_mirrored():
    """A click callback of `mlflow server` the table does not know (a new check of MLflow's) fails
    here: server_options.py names the rule that mirrors each."""
    from click import Option
    from mlflow.cli import server

    from server_options import CALLBACKS, RULE_TEXT, table

    for p in server.params:
        if isinstance(p, Option) and p.callback is not None:
            assert p.callback.__name__ in CALLBACKS, f"--{p.name}: callback {p.callback.__name__} has no rule"
    t = table()
    named = [r for o in t["options"] for r in o.get("rules", [])]
    for server_table in t["servers"].values():
        named += [r for o in server_table["options"] for r in o.get("rules", [])]
    assert set(named) <= set(RULE_TEXT), set(named) - set(RULE_TEXT)


def test_gunicorns_fixed_choices_are_its_validators():
    """The choices the table lists for a gunicorn validator are the ones it accepts."""
    import gunicorn.config as config

    from server_options import GUNICORN_CHOICES

    for name, choices in GUNICORN_CHOICES.items():
        validate = getattr(config, name)
        for choice in choices:
            validate(choice)
        with pytest.raises((ValueError, TypeError, config.ConfigError)):
            validate("no-such-choice")
