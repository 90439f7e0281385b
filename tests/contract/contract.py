"""Runs the command lines kubectl-mlflow renders on the real MLflow, locally.

A values file is rendered by the real binary (`kubectl-mlflow-install ... --dry-run -o json`); the
mlflow container of the Deployment (or the gc container of the CronJob) is then run as a local
process with:

- a clean environment: PATH (the venv's bin first), HOME, LANG, MLflow's telemetry turned off
  (NO_TELEMETRY), then the container's `envFrom` and `env`, in Kubernetes order, `valueFrom`
  resolved to the test values in TEST_SECRETS / TEST_ENV_FROM (or to the rendered ConfigMap);
- the container's mount paths (and only those) mapped to local directories: every occurrence of a
  mount path as a path prefix in args, env values and mounted ConfigMap files is rewritten
  (`/mlflow` -> `<tmp>/pvc-<claim>`, `/etc/mlflow/tls` -> a dir with an openssl-made certificate,
  `/etc/mlflow/auth` -> a dir with the rendered Secret's files, emptyDirs -> fresh dirs);
- Kubernetes' `$(VAR)` references in command/args expanded from that environment;
- the container port replaced by a free local port (`--port=5000` -> `--port=<free>`).

Nothing else of the rendered command is changed.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VALUES_DIR = REPO / "tests" / "values"
HERE = Path(__file__).resolve().parent
RELEASE = "mlflow"
NAMESPACE = "mlflow"
HEALTH_TIMEOUT = 240.0  # 8-20 s on an idle machine; CI overlaps image and release builds
LOG_START = "---- server output ----"
# The default 4 uvicorn workers each import MLflow (about 5 s of CPU apiece): a server of a values
# file that does not choose its workers runs one, which is enough for every check here.
ONE_WORKER = ("server.value_options.workers=1",)


def server_sets(values_file: str) -> tuple[str, ...]:
    """The --set flags a test server of this values file gets: one worker unless the file sets them."""
    chosen = re.search(r"^\s*workers:", (VALUES_DIR / values_file).read_text(), re.MULTILINE)
    return () if chosen else ONE_WORKER

# Test values of the Secrets the values files refer to. A callable gets the Instance (for paths).
ADMIN_PASSWORD = "contract-admin-pw-0123"  # >= 12 characters, as MLflow demands
SECRET_KEY = "contract-flask-secret-key-0123456789"
TEST_SECRETS = {
    # No PostgreSQL runs here: the backend store Secret gets a SQLite database on a local dir.
    ("mlflow-db-secret", "uri"): lambda inst: f"sqlite:///{inst.dir('db')}/mlflow.db",
    # The Secret external-secrets.yaml's ExternalSecret makes (the operator assembles the URI).
    ("mlflow-backend-store", "db-uri"): lambda inst: f"sqlite:///{inst.dir('db')}/mlflow.db",
    # auth-database-secret.yaml's auth database: the tracking store's database (as in
    # production-auth.yaml), so both migrations share it.
    ("mlflow-auth-db", "uri"): lambda inst: f"sqlite:///{inst.dir('db')}/mlflow.db",
    ("mlflow-auth-secret", "admin-password"): lambda inst: ADMIN_PASSWORD,
    # The release's own auth Secret: its admin password is generated anew by every rendering, and
    # kept from the installed Secret in a cluster; here it is as if installed with this one.
    (f"{RELEASE}-mlflow-auth", "admin-password"): lambda inst: ADMIN_PASSWORD,
    ("mlflow-auth-secret", "secret-key"): lambda inst: SECRET_KEY,
    ("s3-credentials", "access-key-id"): lambda inst: "AKIACONTRACTTEST",
    ("s3-credentials", "secret-access-key"): lambda inst: "contract-test-secret",
}
TEST_ENV_FROM = {
    ("secretRef", "azure-storage"): {
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=myaccount;"
        "AccountKey=Y29udHJhY3Q=;EndpointSuffix=core.windows.net",
    },
    ("secretRef", "s3-credentials-env"): {
        "AWS_ACCESS_KEY_ID": "AKIACONTRACTTEST",
        "AWS_SECRET_ACCESS_KEY": "contract-test-secret",
    },
}
# Files of mounted Secrets other than the TLS one (which is made with openssl).
TEST_SECRET_FILES = {
    "gcs-credentials": {"key.json": json.dumps({"type": "service_account", "project_id": "contract"})},
}


def venv_bin() -> Path:
    env = os.environ.get("MLFLOW_VENV")
    return (Path(env) if env else Path(sys.prefix)) / "bin"


def binary() -> Path:
    if os.environ.get("KUBECTL_MLFLOW_INSTALL"):
        return Path(os.environ["KUBECTL_MLFLOW_INSTALL"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target / "debug" / "kubectl-mlflow-install"


def gc_binary() -> Path:
    if os.environ.get("KUBECTL_MLFLOW_GC"):
        return Path(os.environ["KUBECTL_MLFLOW_GC"])
    return binary().parent / "kubectl-mlflow-gc"


def containers(spec: dict) -> list[dict]:
    """A pod spec's init containers (they run first, in order), then its containers."""
    return spec.get("initContainers", []) + spec["containers"]


def render_cmd(values_file: str, sets: tuple[str, ...] = ()) -> list[str]:
    cmd = [str(binary()), RELEASE, "-n", NAMESPACE, "-f", str(VALUES_DIR / values_file)]
    for s in sets:
        cmd += ["--set", s]
    return cmd + ["--dry-run", "-o", "json"]


_render_cache: dict = {}


def render(values_file: str, sets: tuple[str, ...] = ()) -> list[dict]:
    key = (values_file, sets)
    if key not in _render_cache:
        cmd = render_cmd(values_file, sets)
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{values_file}: rendering failed ({shlex.join(cmd)}):\n{p.stderr}")
        _render_cache[key] = json.loads(p.stdout)["items"]
    return _render_cache[key]


def find(objects: list[dict], kind: str) -> dict | None:
    return next((o for o in objects if o["kind"] == kind), None)


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


# The harness's one addition to a container's environment. Test traffic stays on loopback, and
# MLflow 3.17.2's telemetry, where its config cannot be fetched (no route out), unsets
# _MLFLOW_TELEMETRY_SESSION_ID from a thread while `mlflow server` copies os.environ to start
# its workers: the server then exits 1 with KeyError (seen once in CI). The chart leaves
# telemetry as MLflow ships it.
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}

# KMLF_CONTRACT_PORTS=FIRST-LAST: the ports this pytest process gives its servers, apart from the
# other processes' (scripts/contract-test), each once as long as the range lasts, from a random one
# on (another run of the suite on this machine starts elsewhere in it); else any free port.
_PORTS = os.environ.get("KMLF_CONTRACT_PORTS", "")
_next_port = random.randint(*(int(x) for x in _PORTS.split("-"))) if _PORTS else 0


def free_port() -> int:
    """A port nothing listens on, for a server of this process (the servers bind 0.0.0.0 or
    127.0.0.1)."""
    global _next_port
    if not _PORTS:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    first, last = (int(x) for x in _PORTS.split("-"))
    for _ in range(last - first + 1):
        port = _next_port
        _next_port = first if port >= last else port + 1
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise RuntimeError(f"no free port in KMLF_CONTRACT_PORTS={_PORTS}")


def make_cert(d: Path) -> None:
    """A self-signed certificate for localhost/127.0.0.1, as tls.crt/tls.key (its own CA)."""
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(d / "tls.key"), "-out", str(d / "tls.crt"), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand_k8s(s: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined vars are replaced, $$ is a literal $, others kept."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR_REF.sub(sub, s)


@dataclass
class Instance:
    """One rendered container made runnable here."""

    values_file: str
    objects: list[dict]
    container_name: str  # "mlflow" (Deployment), "gc" (CronJob or the gc plugin's Job), "migrate" (Job)
    root: Path
    shared_dirs: dict[str, Path] = field(default_factory=dict)  # volume key -> dir (to share the PVC)
    port: int | None = None
    sets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The first workload with a container of that name, a Job before a CronJob: the gc plugin's
        # Job comes before the release's objects (which may hold the migration Job).
        kinds = ("Deployment",) if self.container_name == "mlflow" else ("Job", "CronJob")
        self.workload = next(
            o for kind in kinds for o in self.objects
            if o["kind"] == kind and any(c["name"] == self.container_name for c in containers(pod_spec(o)))
        )
        spec = pod_spec(self.workload)
        self.container = next(c for c in containers(spec) if c["name"] == self.container_name)
        self.volumes = {v["name"]: v for v in spec.get("volumes", [])}
        self.mounts: list[tuple[str, Path]] = []
        for m in self.container.get("volumeMounts", []):
            self.mounts.append((m["mountPath"], self._volume_dir(self.volumes[m["name"]])))
        # Longest first, so nested mount paths win.
        self.mounts.sort(key=lambda mp: -len(mp[0]))
        self.env = self._resolve_env()
        self._write_configmaps()
        self.original = list(self.container["command"]) + list(self.container.get("args", []))
        self.command = self._map_command()

    # ---- directories -------------------------------------------------------------------------
    def dir(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _volume_dir(self, vol: dict) -> Path:
        if "persistentVolumeClaim" in vol:
            key = "pvc-" + vol["persistentVolumeClaim"]["claimName"]
        elif "emptyDir" in vol:
            return self.dir(f"{self.container_name}-emptydir-{vol['name']}")
        elif "secret" in vol:
            key = "secret-" + vol["secret"]["secretName"]
        elif "configMap" in vol:
            key = "configmap-" + vol["configMap"]["name"]
        else:
            raise NotImplementedError(f"volume {vol}")
        if key in self.shared_dirs:
            return self.shared_dirs[key]
        d = self.dir(key)
        self.shared_dirs[key] = d
        if "secret" in vol:
            name = vol["secret"]["secretName"]
            if self._rendered("Secret", name):  # basic_auth.ini, rendered by the tool
                self._pending_configmaps = getattr(self, "_pending_configmaps", []) + [("Secret", name, d)]
            elif name in TEST_SECRET_FILES:
                for fn, content in TEST_SECRET_FILES[name].items():
                    (d / fn).write_text(content)
            else:  # the TLS Secret (kubernetes.io/tls)
                make_cert(d)
        elif "configMap" in vol:
            self._pending_configmaps = getattr(self, "_pending_configmaps", []) + [("ConfigMap", vol["configMap"]["name"], d)]
        return d

    def _rendered(self, kind: str, name: str) -> dict | None:
        return next((o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name), None)

    def _write_configmaps(self) -> None:
        """Writes the files of the rendered ConfigMaps and Secrets the pod mounts."""
        for kind, name, d in getattr(self, "_pending_configmaps", []):
            for fn, content in self._rendered(kind, name).get("data", {}).items():
                if kind == "Secret":
                    content = base64.b64decode(content).decode()
                (d / fn).write_text(self.map_paths(content))

    # ---- mapping -----------------------------------------------------------------------------
    def map_paths(self, s: str) -> str:
        """Rewrites each mount path used as a path prefix, in one pass (longest mount first)."""
        if not self.mounts:
            return s
        local = dict(self.mounts)
        pattern = r"(?<![\w.-])(" + "|".join(re.escape(m) for m, _ in self.mounts) + r")(?=/|$|[\s,;:\"'])"
        return re.sub(pattern, lambda m: str(local[m.group(1)]), s)

    def _resolve_env(self) -> dict[str, str]:
        """The container's environment here. Values written in the manifest get the path mapping;
        test values of Secrets are local already and are taken as they are."""
        env: dict[str, str] = {}  # as the container would see it (unmapped, test secrets filled in)
        local: dict[str, str] = {}
        shown: list[str] = []  # as rendered, for the failure report
        for ef in self.container.get("envFrom", []):
            for kind in ("secretRef", "configMapRef"):
                if kind in ef:
                    vals = TEST_ENV_FROM.get((kind, ef[kind]["name"]))
                    if vals is None:
                        raise KeyError(f"{self.values_file}: no test values for envFrom {ef}")
                    shown.append(f"<envFrom {kind} {ef[kind]['name']}>")
                    for k, v in vals.items():
                        env[ef.get("prefix", "") + k] = local[ef.get("prefix", "") + k] = v
        for e in self.container.get("env", []):
            vf = e.get("valueFrom", {})
            if "value" in e:
                v = expand_k8s(e["value"], env)
                # Paths of the value itself are mapped, then $(VAR) expands to the (mapped) values.
                env[e["name"]], local[e["name"]] = v, expand_k8s(self.map_paths(e["value"]), local)
                shown.append(f"{e['name']}={shlex.quote(e['value'])}")
                continue
            if "secretKeyRef" in vf:
                ref = vf["secretKeyRef"]
                v = TEST_SECRETS[(ref["name"], ref["key"])](self)
                shown.append(f"{e['name']}=<secretKeyRef {ref['name']}/{ref['key']}>")
            elif "configMapKeyRef" in vf:
                ref = vf["configMapKeyRef"]
                cm = next((o for o in self.objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == ref["name"]), None)
                v = cm["data"][ref["key"]] if cm else TEST_SECRETS[(ref["name"], ref["key"])](self)
                shown.append(f"{e['name']}=<configMapKeyRef {ref['name']}/{ref['key']}>")
            else:
                raise NotImplementedError(f"env {e}")
            env[e["name"]] = local[e["name"]] = v
        self.rendered_env = env
        self.shown_env = shown
        return local

    def _map_command(self) -> list[str]:
        out = []
        for a in self.original:
            if not a.startswith("--static-prefix="):
                a = self.map_paths(a)
            a = expand_k8s(a, self.env)  # the env is mapped already
            if self.port is not None:
                a = re.sub(r"^--port=\d+$", f"--port={self.port}", a)
            out.append(a)
        return out

    def process_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {"PATH": f"{venv_bin()}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.readonly_home()), "LANG": "C.UTF-8"}
        env.update(NO_TELEMETRY)
        env.update(self.env)
        env.update(extra or {})
        return env

    def readonly_home(self) -> Path:
        """$HOME as in the pod: on the read-only root filesystem. It lies under a regular file, so
        nothing can be created in it, even by root (who ignores permission bits)."""
        blocker = self.root / "readonly-rootfs"
        if not blocker.exists():
            blocker.write_text("stands for the pod's read-only root filesystem\n")
        return blocker / "home"

    def describe(self) -> str:
        sets = "".join(f" --set {s}" for s in self.sets)
        lines = [
            f"values file: tests/values/{self.values_file}{sets} ({self.workload['kind']} container {self.container_name})",
            f"rendered command: {shlex.join(self.original)}",
            f"local command:    {shlex.join(self.command)}",
            "path mapping:     " + ", ".join(f"{m} -> {d}" for m, d in self.mounts),
            "rendered env:     " + " ".join(self.shown_env),
            "local env:        " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items()),
            f"working dir:      {self.dir(self.container_name + '-cwd')} (must stay empty); HOME={self.readonly_home()} (not creatable)",
        ]
        return "\n".join(lines)


class Server:
    """The Deployment's mlflow container, running locally."""

    def __init__(self, values_file: str, root: Path, sets: tuple[str, ...] | None = None):
        self.values_file = values_file
        if sets is None:
            sets = server_sets(values_file)
        self.objects = render(values_file, sets)
        self.port = free_port()
        self.inst = Instance(values_file, self.objects, "mlflow", root, port=self.port, sets=sets)
        self.root = root
        self.tls = any(
            (a.startswith("--uvicorn-opts=") and "--ssl-certfile" in a)
            or (a.startswith("--gunicorn-opts=") and "--certfile" in a)
            for a in self.inst.original
        )
        pfx = next((a.split("=", 1)[1] for a in self.inst.original if a.startswith("--static-prefix=")), "")
        self.prefix = pfx.rstrip("/")
        self.scheme = "https" if self.tls else "http"
        self.base = f"{self.scheme}://127.0.0.1:{self.port}{self.prefix}"
        self.ca = None
        if self.tls:
            self.ca = next(d for m, d in self.inst.mounts if m == "/etc/mlflow/tls") / "tls.crt"
            # The certificate names localhost; the client side uses that name.
            self.base = f"https://localhost:{self.port}{self.prefix}"
        self.log_path = root / "server.log"
        self.proc: subprocess.Popen | None = None
        self.start_error: str | None = None

    @property
    def auth(self) -> bool:
        return any(a == "--app-name=basic-auth" for a in self.inst.original)

    def start(self) -> None:
        self.cwd = self.inst.dir("mlflow-cwd")
        self.log = open(self.log_path, "w")
        self.log.write(self.inst.describe() + "\n" + LOG_START + "\n")
        self.log.flush()
        self.proc = subprocess.Popen(
            self.inst.command, env=self.inst.process_env(), cwd=self.cwd, stdout=self.log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < HEALTH_TIMEOUT:
            try:
                status, _, _ = self.request("/health")
                if status == 200:
                    self.startup_seconds = time.monotonic() - t0
                    return
                last = f"status {status}"
            except OSError as e:  # refused while starting
                last = repr(e)
            if self.proc.poll() is not None and time.monotonic() - t0 > 5:
                # 3.17.2 may exit 0 even when it failed; judge by /health, but stop waiting.
                last = f"server exited with {self.proc.returncode}"
                break
            time.sleep(0.5)
        self.start_error = f"{self.prefix}/health did not answer 200 within {HEALTH_TIMEOUT:.0f} s ({last})"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=8)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def ssl_context(self):
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca))

    def request(self, path: str, headers: dict | None = None, auth: tuple[str, str] | None = None,
                method: str = "GET", body: bytes | None = None, prefix: bool = True):
        url = f"{self.base if prefix else self.base[: len(self.base) - len(self.prefix)]}{path}"
        req = urllib.request.Request(url, method=method, data=body, headers=dict(headers or {}))
        if auth:
            import base64
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl_context()) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def run_stage(self, run_id: str) -> str:
        """A run's lifecycle stage by the REST API (`runs/get`, as the admin where basic auth is
        on), or "absent": what `client.py run-state` tells, without a process importing MLflow."""
        auth = (self.inst.rendered_env.get("MLFLOW_AUTH_ADMIN_USERNAME", "admin"), ADMIN_PASSWORD) if self.auth else None
        status, _, body = self.request(f"/api/2.0/mlflow/runs/get?run_id={run_id}", auth=auth)
        if status == 404 and b"RESOURCE_DOES_NOT_EXIST" in body:
            return "absent"
        assert status == 200, f"runs/get {run_id}: status {status}: {body[:2000]!r}"
        return json.loads(body)["run"]["info"]["lifecycle_stage"]

    def client_env(self, user: bool = True) -> dict[str, str]:
        env = {
            "PATH": f"{venv_bin()}:/usr/bin:/bin", "HOME": str(self.root / "client-home"), "LANG": "C.UTF-8",
            "MLFLOW_TRACKING_URI": self.base,
            # Keep the client's retries short: a failure should show quickly.
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
            **NO_TELEMETRY,
        }
        (self.root / "client-home").mkdir(exist_ok=True)
        if self.tls:
            env["MLFLOW_TRACKING_SERVER_CERT_PATH"] = str(self.ca)
        if self.auth and user:
            env["MLFLOW_TRACKING_USERNAME"] = self.inst.rendered_env.get("MLFLOW_AUTH_ADMIN_USERNAME", "admin")
            env["MLFLOW_TRACKING_PASSWORD"] = ADMIN_PASSWORD
        return env

    def client(self, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> dict:
        """Runs tests/contract/client.py in the venv; returns its JSON output."""
        e = self.client_env()
        e.update(env or {})
        p = subprocess.run(
            [str(venv_bin() / "python"), str(HERE / "client.py"), *args], env=e, capture_output=True,
            text=True, timeout=timeout, cwd=self.root / "client-home",
        )
        if p.returncode != 0:
            raise AssertionError(
                f"client.py {' '.join(args)} failed (rc {p.returncode}) against {self.base}:\n"
                f"{p.stderr[-6000:]}\n{p.stdout[-2000:]}"
            )
        return json.loads(p.stdout.strip().splitlines()[-1])

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").split(LOG_START, 1)[-1].splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def describe(self) -> str:
        return self.inst.describe() + f"\nlocal base URL:   {self.base}\nserver log:       {self.log_path}"


def run_migration(values_file: str, root: Path, timeout: float = 300) -> tuple[Instance, subprocess.CompletedProcess]:
    """Runs the rendered migration Job's container (`mlflow db upgrade`) here, with the directories
    a Server of the same values file and root will use (the backend store Secret's SQLite file)."""
    inst = Instance(values_file, render(values_file), "migrate", root)
    p = subprocess.run(inst.command, env=inst.process_env(), cwd=inst.dir("migrate-cwd"), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return inst, p


def gc_instance(server: Server, sets: tuple[str, ...] = ()) -> Instance:
    """The rendered CronJob's gc container made runnable against the running server's store (not
    run: run_gc runs it).

    The gc container mounts the same PVC as the server, so it shares the server's mapped dirs.
    Its --tracking-uri names the Service (http://F.NS.svc.cluster.local:P): only the port is
    rewritten to the local server's port, and a sitecustomize on PYTHONPATH makes the gc process
    resolve *.svc.cluster.local to 127.0.0.1. So the gc sends the Service's DNS name in its Host
    header, as in the cluster, and the server's allowed-hosts check is exercised for real.
    """
    return _gc_instance(server, render(server.values_file, sets), sets)


def run_gc(server: Server, sets: tuple[str, ...] = (), timeout: float = 300) -> tuple[Instance, subprocess.CompletedProcess]:
    """Runs the rendered CronJob's gc container (gc_instance) against the running server's store."""
    inst = gc_instance(server, sets)
    return inst, _run_gc(server, inst, timeout)


def plugin_gc_job(server: "Server", args: tuple[str, ...] = ()) -> tuple[list[str], dict]:
    """The Job `kubectl mlflow gc --manifests <rendered release> --dry-run` makes, and its command line."""
    manifests = server.root / "release.json"
    manifests.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": render(server.values_file)}))
    cmd = [str(gc_binary()), RELEASE, "--manifests", str(manifests), *args, "--dry-run", "-o", "json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{server.values_file}: the gc plugin failed ({shlex.join(cmd)}):\n{p.stderr}")
    return cmd, json.loads(p.stdout)


def plugin_gc_instance(server: "Server", args: tuple[str, ...] = ()) -> Instance:
    """The container of the gc plugin's Job (made from the release's Deployment), as gc_instance."""
    _, job = plugin_gc_job(server, args)
    return _gc_instance(server, [job, *render(server.values_file)], ())


def run_plugin_gc(server: "Server", args: tuple[str, ...] = (), timeout: float = 300) -> tuple[Instance, subprocess.CompletedProcess]:
    """Runs the container of the gc plugin's Job like run_gc."""
    inst = plugin_gc_instance(server, args)
    return inst, _run_gc(server, inst, timeout)


def _gc_instance(server: "Server", objects: list[dict], sets: tuple[str, ...]) -> Instance:
    inst = Instance(server.values_file, objects, "gc", server.root, shared_dirs=server.inst.shared_dirs, sets=sets)
    svc_port = str(next(p for p in find(objects, "Service")["spec"]["ports"])["port"])
    cmd = []
    for a in inst.command:
        if a.startswith("--tracking-uri="):
            a = re.sub(r"(\.svc\.cluster\.local):" + svc_port + r"\b", rf"\1:{server.port}", a)
        cmd.append(a)
    inst.command = cmd
    return inst


def _run_gc(server: "Server", inst: Instance, timeout: float) -> subprocess.CompletedProcess:
    env = inst.process_env({"PYTHONPATH": str(HERE / "gc_resolver")})
    if server.tls:
        env["MLFLOW_TRACKING_SERVER_CERT_PATH"] = str(server.ca)
    return subprocess.run(inst.command, env=env, cwd=inst.dir("gc-cwd"), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def dir_listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*")) if d.exists() else []


def rmtree(p: Path) -> None:
    shutil.rmtree(p, ignore_errors=True)
