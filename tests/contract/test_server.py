"""The rendered `mlflow server` command of each values file runs on real MLflow 3.17.2.

Each values file gets one local server (see contract.py for exactly what is mapped), shared by the
checks below. Feature checks (Ingress, basic auth, metrics, workspaces) are generated only for
the values files that have the feature.
"""

import base64
import os
import re

import pytest

from conftest import started
from contract import ADMIN_PASSWORD, NAMESPACE, VALUES_DIR, dir_listing, find, render

# Values files whose server runs here. The backend store Secret (mlflow-db-secret) is a SQLite
# database in a temp dir: no PostgreSQL runs here.
SERVER_FILES = [
    "quickstart.yaml",
    "storage.yaml",
    "tls.yaml",
    "ingress.yaml",
    "basic-auth.yaml",
    "metrics.yaml",
    "server-options.yaml",
    "resources.yaml",
    "postgres-secret.yaml",
    "s3.yaml",
    "gcs.yaml",
    "azure.yaml",
    "workspaces.yaml",
    "gc.yaml",
    "availability.yaml",
    "httproute.yaml",
    "external-secrets.yaml",
    "tmp-stores.yaml",
    "autoscaling.yaml",
    "oidc.yaml",
]
# Values files not run, and why.
NOT_RUN = {
    "everything.yaml": "a literal PostgreSQL URI to the in-cluster host `db` (not a Secret we can point "
    "at SQLite), a ConfigMap registry store and an s3 default artifact root",
    "production-auth.yaml": "a literal PostgreSQL URI to the in-cluster host `postgres` for the backend "
    "and the auth database",
    "auth-database-secret.yaml": "the auth database's URI reaches MLflow's ini through the server pod's "
    "init container, which this harness does not run (the Job's steps run in test_migrate.py)",
    "tmp-sized.yaml": "a literal PostgreSQL URI to the in-cluster host `postgres`",
    "tmp-ephemeral.yaml": "a literal MySQL URI to the in-cluster host `mysql`",
    "extra-objects.yaml": "the quick start's server (quickstart.yaml runs it) with manifests beside it that MLflow "
    "never reads; the KWOK tests apply and prune them",
    "oidc-everything.yaml": "basic auth and TLS served by the oauth2-proxy sidecar, which this suite does not "
    "run (MLflow itself serves plain HTTP on 127.0.0.1 there; tests/sso runs the proxy on the real node)",
}
# Known contract failures: values file -> {test name: reason}. The renderer change is in the report.
XFAIL: dict[str, dict[str, str]] = {}


def _has(feature: str, objects: list[dict]) -> bool:
    c = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    cmd = c["command"] + c.get("args", [])
    return {
        "ingress": find(objects, "Ingress") is not None or find(objects, "HTTPRoute") is not None,
        "basic_auth": "--app-name=basic-auth" in cmd,
        "metrics": any(a.startswith("--expose-prometheus") for a in cmd),
        "workspaces": "--enable-workspaces" in cmd,
    }[feature]


# Checks that apply only to values files with the feature; the others run for every file.
FEATURE_OF_TEST = {
    "test_ingress_hosts": "ingress",
    "test_basic_auth": "basic_auth",
    "test_metrics": "metrics",
    "test_workspaces": "workspaces",
}


def pytest_generate_tests(metafunc):
    if "values_file" not in metafunc.fixturenames:
        return
    feature = FEATURE_OF_TEST.get(metafunc.definition.originalname)
    files = [f for f in SERVER_FILES if feature is None or _has(feature, render(f))]
    # Module scope: pytest groups the tests by values file, so each file's server starts once.
    metafunc.parametrize("values_file", files, ids=[f.removesuffix(".yaml") for f in files], scope="module")


@pytest.fixture
def server(servers, values_file, info, request):
    reason = XFAIL.get(values_file, {}).get(request.node.originalname)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    return started(servers, values_file, info)


def remote_artifacts(srv) -> str | None:
    """The cloud URI the artifacts of a new run would go to, if any (not reachable here)."""
    for k in ("MLFLOW_DEFAULT_ARTIFACT_ROOT", "MLFLOW_ARTIFACTS_DESTINATION"):
        v = srv.inst.rendered_env.get(k, "")
        if re.match(r"^(s3|gs|wasbs|abfss|hdfs)://", v):
            return v
    return None


def api(srv, **kw):
    return srv.request("/api/2.0/mlflow/experiments/search?max_results=1", **kw)


def fullname(srv) -> str:
    return find(srv.objects, "Deployment")["metadata"]["name"]


def test_every_values_file_is_considered():
    on_disk = {p.name for p in VALUES_DIR.glob("*.yaml")}
    assert on_disk == set(SERVER_FILES) | set(NOT_RUN), "add the new values file to SERVER_FILES or NOT_RUN"


def test_health(server):
    status, _, body = server.request("/health")
    assert status == 200 and body.strip() == b"OK", (status, body)
    if server.tls:
        assert server.base.startswith("https://")
    # The probes ask <staticPrefix>/health without credentials, on the container port.
    dep = find(server.objects, "Deployment")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        c = dep["spec"]["template"]["spec"]["containers"][0]
        if probe in c:
            get = c[probe]["httpGet"]
            assert get["path"] == f"{server.prefix}/health"
            assert get["scheme"] == ("HTTPS" if server.tls else "HTTP")


def test_client_roundtrip(server):
    """The MLflow client logs a param, a metric and an artifact, and reads them back."""
    args = ["roundtrip"]
    remote = remote_artifacts(server)
    if remote:
        # The artifact store is a cloud bucket this machine cannot reach: only the run's param and
        # metric are checked (the server itself started without reaching the cloud).
        args.append("--no-artifact")
    out = server.client(*args)
    if remote:
        assert out["artifact_uri"].startswith(remote) or out["artifact_uri"].startswith("mlflow-artifacts:")
    else:
        assert out["artifact"] == "notes/hello.txt"


def test_service_dns_hosts(server):
    """In-cluster clients (and the GC CronJob) use the Service's DNS names with the Service port."""
    f, port = fullname(server), find(server.objects, "Service")["spec"]["ports"][0]["port"]
    for host in (f, f"{f}.{NAMESPACE}", f"{f}.{NAMESPACE}.svc", f"{f}.{NAMESPACE}.svc.cluster.local"):
        for h in (host, f"{host}:{port}"):
            status, _, body = api(server, headers={"Host": h}, auth=admin(server))
            assert status == 200, (h, status, body[:300])
    status, _, body = api(server, headers={"Host": "mlflow.attacker.example.net"}, auth=admin(server))
    assert status == 403, (status, body[:300])


def admin(srv):
    if not srv.auth:
        return None
    return (srv.inst.rendered_env.get("MLFLOW_AUTH_ADMIN_USERNAME", "admin"), ADMIN_PASSWORD)


def test_ingress_hosts(server):
    """The hosts of the Ingress and the HTTPRoute are let in; another is not."""
    ing = find(server.objects, "Ingress")
    route = find(server.objects, "HTTPRoute")
    hosts = [r["host"] for r in ing["spec"]["rules"]] if ing else []
    hosts += route["spec"].get("hostnames", []) if route else []
    assert hosts, "neither an Ingress nor an HTTPRoute host"
    for h in hosts:
        status, _, body = api(server, headers={"Host": h}, auth=admin(server))
        assert status == 200, (h, status, body[:300])
    status, _, body = api(server, headers={"Host": "other.example.org"}, auth=admin(server))
    assert status == 403, (status, body[:300])
    assert b"Invalid Host header" in body or status == 403


def test_basic_auth(server):
    status, headers, _ = api(server)
    assert status == 401, status
    assert "basic" in {k.lower(): v for k, v in headers.items()}.get("www-authenticate", "").lower()
    status, _, _ = api(server, auth=("admin", "wrong-password-123"))
    assert status == 401, status
    status, _, body = api(server, auth=admin(server))
    assert status == 200, (status, body[:300])
    # The probes send no credentials.
    status, _, _ = server.request("/health")
    assert status == 200
    # The users database is where the rendered basic_auth.ini says: on the volume.
    secret = next(o for o in server.objects if o["kind"] == "Secret" and o["metadata"]["name"].endswith("-auth"))
    ini = base64.b64decode(secret["data"]["basic_auth.ini"]).decode()
    db = re.search(r"^database_uri = sqlite:///(/\S+)$", ini, re.M)
    if db:
        local = server.inst.map_paths(db.group(1))
        assert local != db.group(1) and os.path.exists(local), (db.group(1), local)


def test_metrics(server):
    sm = find(server.objects, "ServiceMonitor")
    path = sm["spec"]["endpoints"][0]["path"] if sm else "/metrics"
    server.request("/health")
    status, headers, body = server.request(path, auth=admin(server), prefix=False)
    assert status == 200, (path, status, body[:300])
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    text = body.decode()
    assert "# TYPE" in text and "# HELP" in text, text[:500]
    # Prometheus (ServiceMonitor) scrapes the pod's IP: Host is <pod IP>:<port>, checked by MLflow.
    port = find(server.objects, "Service")["spec"]["ports"][0]["port"]
    status, _, body = server.request(path, auth=admin(server), prefix=False, headers={"Host": f"10.244.1.17:{port}"})
    assert status == 200, ("Host: <pod IP>", status, body[:300])
    # --expose-prometheus writes its multiprocess files into the mapped emptyDir.
    mdir = next(d for m, d in server.inst.mounts if m == "/var/run/mlflow/metrics")
    assert dir_listing(mdir), f"nothing written to {mdir}"


def test_workspaces(server):
    # The default artifact root is an s3 bucket (not reachable here): param and metric only.
    out = server.client("roundtrip", "--workspace", "team-a", "--no-artifact")
    assert out["workspace"] == "team-a"
    state = server.client("run-state", out["run_id"], "--workspace", "team-a")
    assert state["stage"] == "active"


def test_writes_only_to_volumes(server):
    """After the checks above, nothing was written outside the mounted volumes: the container's root
    filesystem is read-only (securityContext.readOnlyRootFilesystem)."""
    cwd = server.inst.dir("mlflow-cwd")
    assert dir_listing(cwd) == [], f"written to the working directory (read-only in the pod): {dir_listing(cwd)}"
    # $HOME is not creatable (see Instance.readonly_home): a write there would have failed above.
