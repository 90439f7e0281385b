"""helm test contract: the command of the chart's `helm test` pod (charts/templates/tests/health.yaml,
rendered by real helm: the native renderer has no such pod) passes against the running server of the
same values file, over HTTPS with tls.yaml, and fails when nothing answers.

As with the gc, the pod's URL names the Service (<F>.<NS>.svc.cluster.local:<SP>): only the port is
rewritten to the local server's, and tests/contract/gc_resolver resolves the name to 127.0.0.1, so
the server's allowed-hosts check sees the Service's name as in the cluster.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import started
from contract import HERE, REPO, VALUES_DIR, free_port, venv_bin


def helm() -> Path:
    tools = subprocess.run([str(REPO / "scripts" / "k8s-tools"), "path", "v35"], capture_output=True, text=True, check=True)
    return Path(tools.stdout.strip()) / "helm"


def rendered_test_pod_command(values_file: str) -> list[str]:
    cmd = [str(helm()), "template", "mlflow", str(REPO / "charts"), "-n", "mlflow", "-f", str(VALUES_DIR / values_file),
           "--show-only", "templates/tests/health.yaml"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    pod = yaml.safe_load(p.stdout)
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    return pod["spec"]["containers"][0]["command"]


def run(command: list[str], port: int) -> subprocess.CompletedProcess:
    assert command[0] == "python", command
    url = re.sub(r"(\.svc\.cluster\.local):\d+", rf"\1:{port}", command[-1])
    env = {"PATH": f"{venv_bin()}:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(HERE / "gc_resolver")}
    return subprocess.run([str(venv_bin() / "python"), *command[1:-1], url], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("values_file", ["quickstart.yaml", "basic-auth.yaml", "tls.yaml"])
def test_the_helm_test_pod_passes_against_the_server(servers, info, values_file):
    srv = started(servers, values_file, info)
    command = rendered_test_pod_command(values_file)
    assert command[-1].startswith("https://" if srv.tls else "http://"), command[-1]
    assert command[-1].endswith(f"{srv.prefix}/health"), command[-1]
    p = run(command, srv.port)
    assert p.returncode == 0, f"the helm test pod's command failed (rc {p.returncode}):\n{p.stdout}\n{p.stderr[-3000:]}"
    assert " 200 OK" in p.stdout, p.stdout


def test_the_helm_test_pod_fails_when_nothing_answers():
    p = run(rendered_test_pod_command("quickstart.yaml"), free_port())
    assert p.returncode != 0, p.stdout
