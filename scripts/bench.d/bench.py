"""The measurements of scripts/bench: each pair (ours, peer) alternately in one run, medians and
their ratio in one Markdown table on stdout; progress on stderr.

Configuration comes from scripts/bench through the environment (BENCH_*); see that script.
Traffic goes only to 127.0.0.1 and to the test clusters' API servers (their kubeconfigs).
"""

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ENV = os.environ
BIN = ENV["BENCH_BIN_DIR"]
TOOLS = ENV["BENCH_TOOLS_DIR"]
HELM = os.path.join(TOOLS, "helm")
KUBECTL = os.path.join(TOOLS, "kubectl")
QUICK = ENV.get("BENCH_QUICK") == "1"
RUN_ID = ENV.get("BENCH_RUN_ID", str(os.getpid()))
MIB = 1024 * 1024

rows = []  # (case, ours, peer, ratio, goal, met)
rows_notes = []  # failed runs, printed under the table
facts = []  # what a row measured (the backup archive's size), printed under the table


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ours(name):
    return os.path.join(BIN, name)


def run(cmd, env=None, check=True):
    """Runs cmd quietly; on failure says what failed, with its stderr."""
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if check and done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return done


def spawn_time(cmd, exit_code=0):
    """Wall and CPU (user + system) time of one run, with the least harness overhead
    (posix_spawn, no pipes). On a loaded machine the CPU time is the steadier of the two."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        start = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != exit_code:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {os.waitstatus_to_exitcode(status)}, not {exit_code}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime)


class Sample(float):
    """A wall time that also carries the CPU time of the same run."""

    def __new__(cls, wall, cpu):
        sample = super().__new__(cls, wall)
        sample.cpu = cpu
        return sample


def cpu_median(samples):
    return statistics.median(s.cpu for s in samples)


def alternate(n, a, b):
    """Calls a() and b() n times each, alternating which goes first; returns both lists."""
    xs, ys = [], []
    for i in range(n):
        if i % 2 == 0:
            xs.append(a())
            ys.append(b())
        else:
            ys.append(b())
            xs.append(a())
    return xs, ys


def ms(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def add_time_row(case, ours_s, peer_s, goal=None):
    """Times: ratio = ours / peer (lower is better; 0.05 means 20x faster). Samples of spawn_time
    also show their CPU time."""
    if not ours_s or not peer_s:
        rows.append((case, "failed" if not ours_s else "-", "failed" if not peer_s else "-", "-", goal.__doc__ if goal else "-", "-"))
        return
    o = statistics.median(ours_s)
    p = statistics.median(peer_s)
    ours_text, peer_text, ratio = ms(o), ms(p), f"{o / p:.3f}x"
    if isinstance(ours_s[0], Sample):
        oc, pc = cpu_median(ours_s), cpu_median(peer_s)
        ours_text += f" (cpu {ms(oc)})"
        peer_text += f" (cpu {ms(pc)})"
        ratio += f" (cpu {oc / pc:.3f}x)"
        if getattr(goal, "on_cpu", False):
            o, p = oc, pc
    rows.append((case, ours_text, peer_text, ratio, goal.__doc__ if goal else "-", yes_no(goal(o, p) if goal else None)))


def yes_no(met):
    return "-" if met is None else ("yes" if met else "**no**")


def empty_start_goal(o, p):
    """≤ 1.5x (cpu)"""
    return o <= 1.5 * p


# A few milliseconds of wall time on a loaded machine are mostly waiting for a CPU: judged by CPU.
empty_start_goal.on_cpu = True


def install_goal(o, p):
    """≤ 0.35x"""
    return o <= 0.35 * p


# ------------------------------------------------------------------------------------------------
# render, --help, sizes


def empty_binary(workdir):
    """`fn main() {}` built as scripts/package builds the plugins: the release profile of the
    workspace's Cargo.toml (opt-level z, fat LTO, one codegen unit, stripped, panic = abort) and
    its Linux flags (no unwind tables, not position-independent)."""
    source = os.path.join(workdir, "empty.rs")
    with open(source, "w") as f:
        f.write("fn main() {}\n")
    host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    host = next(line.split(": ", 1)[1] for line in host.splitlines() if line.startswith("host: "))
    flags = ["-C", "opt-level=z", "-C", "lto=fat", "-C", "codegen-units=1", "-C", "strip=symbols", "-C", "panic=abort"]
    if "-linux-" in host:
        flags += ["-C", "force-unwind-tables=no", "-C", "relocation-model=static"]
    binary = os.path.join(workdir, "empty")
    run(["rustc", "--edition=2021", "--target", host, *flags, "-o", binary, source])
    return binary


def bench_render(empty):
    n = 5 if QUICK else 21
    for label, path in [("quick start", "tests/values/quickstart.yaml"),
                        ("production example", "charts/example-mlflow-charts.yaml"),
                        ("everything.yaml", "tests/values/everything.yaml")]:
        log(f"render {label} ({n} each, against helm template and an empty Rust binary)")
        render = lambda: spawn_time([ours("kubectl-mlflow-install"), "--dry-run", "-f", path])
        a, b = alternate(n, render, lambda: spawn_time([HELM, "template", "./charts", "-f", path]))
        add_time_row(f"render: {label} (install --dry-run vs helm template)", a, b)
        # What is left is mostly starting a process: the goal is against the start of one that
        # does nothing, built and started the same way.
        a, b = alternate(n, render, lambda: spawn_time([empty]))
        add_time_row(f"render: {label} (install --dry-run vs an empty Rust binary's start)", a, b, empty_start_goal)
    # The floor under those rows: the same binary starting, parsing its arguments and refusing one
    # (a usage error, exit 2), with nothing read, checked or rendered.
    refused = lambda: spawn_time([ours("kubectl-mlflow-install"), "--no-such-flag"], exit_code=2)
    a, b = alternate(n, refused, lambda: spawn_time([empty]))
    add_time_row("render's floor: install refusing an unknown flag (vs an empty Rust binary's start)", a, b)


def bench_help(binaries, empty):
    n = 10 if QUICK else 41
    log(f"--help start-up ({n} each)")
    helm_help = [spawn_time([HELM, "--help"]) for _ in range(n)]
    p = statistics.median(helm_help)
    times = [spawn_time([empty]) for _ in range(n)]
    o = statistics.median(times)
    rows.append(("start-up: an empty Rust binary, built as ours (vs helm --help)", f"{ms(o)} (cpu {ms(cpu_median(times))})",
                 f"{ms(p)} (cpu {ms(cpu_median(helm_help))})", f"{o / p:.3f}x", "-", "-"))
    for name in binaries:
        times = [spawn_time([ours(name), "--help"]) for _ in range(n)]
        o = statistics.median(times)
        rows.append((f"start-up: {name} --help (vs helm --help)", f"{ms(o)} (cpu {ms(cpu_median(times))})",
                     f"{ms(p)} (cpu {ms(cpu_median(helm_help))})", f"{o / p:.3f}x", "≤ 10 ms", yes_no(o <= 0.010)))


def bench_sizes(binaries):
    peer = os.path.getsize(HELM) / MIB
    for name in binaries:
        size = os.path.getsize(ours(name)) / MIB
        rows.append((f"size: {name} (vs helm)", f"{size:.2f} MiB", f"{peer:.1f} MiB", f"{size / peer:.3f}x", "≤ 8 MiB", yes_no(size <= 8)))


# ------------------------------------------------------------------------------------------------
# install, no-op rerun, uninstall on the KWOK cluster


def kube_env(kubeconfig):
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    env.pop("HELM_NAMESPACE", None)
    env.pop("HELM_KUBECONTEXT", None)
    return env


def bench_cluster(kubeconfig, uninstall):
    env = kube_env(kubeconfig)
    # 7 installs of each in fresh namespaces, and 3 no-op reruns after each: 21
    n, reruns = (2, 1) if QUICK else (7, 3)
    values = "tests/values/quickstart.yaml"
    namespaces = []

    failures = []

    def attempt(cmd):
        """Seconds, or None for a failed run (noted and left out of the medians)."""
        start = time.perf_counter()
        done = run(cmd, env, check=False)
        if done.returncode != 0:
            failures.append(f"{' '.join(os.path.basename(c) if c.startswith('/') else c for c in cmd[:3])} -n {cmd[cmd.index('-n') + 1]}: "
                            + done.stderr.decode(errors="replace").strip().splitlines()[-1])
            log(f"failed: {failures[-1]}")
            return None
        return time.perf_counter() - start

    def install(kind, ns):
        if kind == "ours":
            cmd = [ours("kubectl-mlflow-install"), "-n", ns, "--create-namespace", "-f", values]
        else:
            cmd = [HELM, "upgrade", "--install", "mlflow", "./charts", "-n", ns, "--create-namespace", "-f", values, "--wait", "--timeout", "5m"]
        return attempt(cmd)

    def remove(kind, ns):
        if kind == "ours":
            cmd = [uninstall, "-n", ns]
        else:
            cmd = [HELM, "uninstall", "mlflow", "-n", ns, "--wait", "--timeout", "5m"]
        return attempt(cmd)

    results = {k: {"install": [], "noop": [], "uninstall": []} for k in ("ours", "helm")}
    installed = []
    for i in range(n):
        order = ("ours", "helm") if i % 2 == 0 else ("helm", "ours")
        for kind in order:
            ns = f"bench-{RUN_ID}-{kind}-{i}"
            namespaces.append(ns)
            log(f"install {kind} into {ns}")
            took = install(kind, ns)
            if took is None:
                continue
            results[kind]["install"].append(took)
            results[kind]["noop"].extend(install(kind, ns) for _ in range(reruns))
            installed.append((kind, ns))
    if uninstall:
        for kind, ns in installed:
            log(f"uninstall {kind} from {ns}")
            results[kind]["uninstall"].append(remove(kind, ns))
    for ns in namespaces:
        run([KUBECTL, "delete", "namespace", ns, "--wait=false"], env, check=False)
    for kind in results:
        for case in results[kind]:
            results[kind][case] = [t for t in results[kind][case] if t is not None]
    if failures:
        rows_notes.extend(failures)

    add_time_row("install to Available, KWOK (vs helm upgrade --install --wait)", results["ours"]["install"], results["helm"]["install"], install_goal)
    noop = results["ours"]["noop"]
    if not noop or not results["helm"]["noop"]:
        return
    o = statistics.median(noop)
    p = statistics.median(results["helm"]["noop"])
    rows.append(("no-op rerun, KWOK (vs helm upgrade --install --wait)", ms(o), ms(p), f"{o / p:.3f}x", "≤ 100 ms", yes_no(o <= 0.100)))
    if uninstall:
        add_time_row("uninstall to gone, KWOK (vs helm uninstall --wait)", results["ours"]["uninstall"], results["helm"]["uninstall"])
    else:
        rows.append(("uninstall to gone, KWOK (vs helm uninstall --wait)", "pending", "-", "-", "-", "-"))


def status_goal(o, p):
    """≤ 300 ms"""
    return o <= 0.300


def bench_status(kubeconfig):
    """kubectl-mlflow-status of a quick start on the KWOK cluster against the kubectl line that
    reads the same objects (Deployment, pods, events), alternately."""
    env = kube_env(kubeconfig)
    n = 5 if QUICK else 21
    ns = f"bench-{RUN_ID}-status"
    log(f"install a quick start into {ns} for the status row")
    run([ours("kubectl-mlflow-install"), "-n", ns, "--create-namespace", "-f", "tests/values/quickstart.yaml"], env)
    try:
        status = [ours("kubectl-mlflow-status"), "--kubeconfig", kubeconfig, "-n", ns]
        peer = [KUBECTL, "--kubeconfig", kubeconfig, "get", "deploy,pods,events", "-n", ns]
        spawn_time(status)  # warm: the first exec attempt and connections
        o, p = alternate(n, lambda: spawn_time(status), lambda: spawn_time(peer))
        add_time_row("status, KWOK (vs kubectl get deploy,pods,events)", o, p, status_goal)
    finally:
        run([KUBECTL, "delete", "namespace", ns, "--wait=false"], env, check=False)


# ------------------------------------------------------------------------------------------------
# port-forward on the real node


class Forward:
    """A port-forward process on a free local port, stopped by its pid."""

    def __init__(self, cmd, env, port):
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.port = port
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"bench: {' '.join(cmd)} did not serve /health on 127.0.0.1:{port} within 60 s")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def http_get_loop(port, path, stop_at, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"bench: GET {path} answered {head[:40]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[0] += 1
    finally:
        writer.close()


def requests_per_second(port, clients, seconds):
    counts = [0]

    async def all_clients():
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(http_get_loop(port, "/health", stop_at, counts) for _ in range(clients)))

    start = time.perf_counter()
    asyncio.run(all_clients())
    return counts[0] / (time.perf_counter() - start)


def download_mb_per_s(port, path):
    start = time.perf_counter()
    total = 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=300) as r:
        while chunk := r.read(1 << 20):
            total += len(chunk)
    if total != 64 * MIB:
        raise SystemExit(f"bench: downloaded {total} bytes, not 64 MiB")
    return total / MIB / (time.perf_counter() - start)


def log_artifact(port):
    """Logs a 64 MiB artifact through the MLflow client (the contract venv); returns its download path."""
    script = (
        "import mlflow, os, tempfile\n"
        "d = tempfile.mkdtemp(); p = os.path.join(d, 'blob.bin')\n"
        "open(p, 'wb').write(os.urandom(64 * 1024 * 1024))\n"
        "with mlflow.start_run() as r:\n"
        "    mlflow.log_artifact(p)\n"
        "    print('artifact_uri=' + r.info.artifact_uri)\n"
    )
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    done = subprocess.run([ENV["BENCH_MLFLOW_PYTHON"], "-c", script], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: logging the artifact failed:\n{done.stderr}")
    uri = next(line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("artifact_uri="))
    if not uri.startswith("mlflow-artifacts:"):
        raise SystemExit(f"bench: the run's artifacts are at {uri}, not served by the server (mlflow-artifacts:)")
    # mlflow-artifacts:/0/<run>/artifacts or mlflow-artifacts://host:port/0/<run>/artifacts
    rest = uri.removeprefix("mlflow-artifacts:").lstrip("/")
    if uri.startswith("mlflow-artifacts://"):
        rest = rest.split("/", 1)[1]
    return f"/api/2.0/mlflow-artifacts/artifacts/{rest}/blob.bin"


def bench_portforward(kubeconfig):
    env = kube_env(kubeconfig)
    ns = f"bench-{RUN_ID}-pf"
    log(f"installing the quick start (one worker) into {ns} on the real node")
    forwards = []
    try:
        run([ours("kubectl-mlflow-install"), "-n", ns, "--create-namespace", "-f", "tests/values/quickstart.yaml",
             "--set", "server.value_options.workers=1", "--timeout", "10m"], env)
        pod = subprocess.run([KUBECTL, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance=mlflow", "-o", "jsonpath={.items[0].metadata.name}"],
                             env=env, check=True, capture_output=True, text=True).stdout
        p_ours, p_kubectl = free_port(), free_port()
        forwards.append(Forward([ours("kubectl-mlflow-portforward"), "-n", ns, "--port", str(p_ours)], env, p_ours))
        forwards.append(Forward([KUBECTL, "port-forward", "-n", ns, f"pod/{pod}", f"{p_kubectl}:5000"], env, p_kubectl))
        log("logging a 64 MiB artifact through the MLflow client")
        path = log_artifact(p_ours)
        n = 2 if QUICK else 5
        log(f"64 MiB downloads ({n} each)")
        a, b = alternate(n, lambda: download_mb_per_s(p_ours, path), lambda: download_mb_per_s(p_kubectl, path))
        add_rate_row("port-forward: 64 MiB artifact download (vs kubectl port-forward)", a, b, "MiB/s")
        seconds = 1 if QUICK else 3
        for clients in (1, 16):
            log(f"GET /health, {clients} client(s), {n} x {seconds} s each")
            a, b = alternate(n, lambda: requests_per_second(p_ours, clients, seconds), lambda: requests_per_second(p_kubectl, clients, seconds))
            add_rate_row(f"port-forward: GET /health, {clients} client{'s' if clients > 1 else ''} (vs kubectl port-forward)", a, b, "req/s")
    finally:
        for f in forwards:
            f.stop()
        run([KUBECTL, "delete", "namespace", ns, "--wait=false"], env, check=False)


# ------------------------------------------------------------------------------------------------
# check on the real node


def check_goal(o, p):
    """≤ 5 s"""
    return o <= 5.0


def bench_check(kubeconfig):
    """kubectl-mlflow-check of the quick start (1 MiB artifact) against the same steps by the MLflow
    client through a kubectl port-forward started for it (check_peer.py), alternately."""
    env = kube_env(kubeconfig)
    ns = f"bench-{RUN_ID}-check"
    peer_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_peer.py")
    log(f"installing the quick start (one worker) into {ns} on the real node")
    try:
        run([ours("kubectl-mlflow-install"), "-n", ns, "--create-namespace", "-f", "tests/values/quickstart.yaml",
             "--set", "server.value_options.workers=1", "--timeout", "10m"], env)

        def ours_check():
            start = time.perf_counter()
            run([ours("kubectl-mlflow-check"), "-n", ns], env)
            return time.perf_counter() - start

        def peer_check():
            start = time.perf_counter()
            port = free_port()
            forward = subprocess.Popen([KUBECTL, "port-forward", "-n", ns, "svc/mlflow-mlflow", f"{port}:5000"], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
            try:
                if not forward.stdout.readline().startswith("Forwarding from"):
                    raise SystemExit("bench: kubectl port-forward did not start")
                run([ENV["BENCH_MLFLOW_PYTHON"], peer_script, str(MIB)], dict(env, MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}"))
            finally:
                os.killpg(forward.pid, signal.SIGTERM)
                forward.wait(timeout=10)
            return time.perf_counter() - start

        n = 3 if QUICK else 11
        log(f"check of the quick start ({n} each)")
        a, b = alternate(n, ours_check, peer_check)
        add_time_row("check: quick start, 1 MiB artifact, real node (vs MLflow client through kubectl port-forward)", a, b, check_goal)
    finally:
        run([KUBECTL, "delete", "namespace", ns, "--wait=false"], env, check=False)


# ------------------------------------------------------------------------------------------------
# backup and restore on the real node


POPULATE = """
import os, sqlite3, uuid, random
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
RUNS, METRICS, STEPS, ART_MIB = {runs}, 10, 100, {art_mib}
store = SqlAlchemyStore("sqlite:////mlflow/mlflow.db", "mlflow-artifacts:/")
exp = store.create_experiment("bench")
runs = [store.create_run(exp, "bench", 1700000000000, [], "r%d" % i).info.run_id for i in range(RUNS)]
db = sqlite3.connect("/mlflow/mlflow.db")
rows = ((f"m{{k}}", random.random(), 1700000000000 + s, r, s, 0) for r in runs for k in range(METRICS) for s in range(STEPS))
db.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", rows)
db.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)",
               ((f"m{{k}}", 0.5, 1700000000000, STEPS - 1, 0, r) for r in runs for k in range(METRICS)))
db.commit()
for i in range(ART_MIB):
    d = f"/mlflow/artifacts/{{exp}}/{{runs[i % RUNS]}}/artifacts"
    os.makedirs(d, exist_ok=True)
    open(f"{{d}}/blob{{i}}.bin", "wb").write(os.urandom(1 << 20))
print(os.path.getsize("/mlflow/mlflow.db"))
"""


def pod_of(env, ns):
    return subprocess.run([KUBECTL, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance=mlflow", "--field-selector=status.phase=Running",
                           "-o", "jsonpath={.items[0].metadata.name}"], env=env, check=True, capture_output=True, text=True).stdout


def timed(cmd, env):
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return time.perf_counter() - start


def bench_backup(kubeconfig):
    env = kube_env(kubeconfig)
    src, dst = f"bench-{RUN_ID}-bk", f"bench-{RUN_ID}-rs"
    runs, art_mib = (100, 10) if QUICK else (1000, 100)
    work = tempfile.mkdtemp(prefix="kmlf-bench-backup-")
    try:
        for ns in (src, dst):
            log(f"installing the quick start (one worker) into {ns} on the real node")
            run([ours("kubectl-mlflow-install"), "-n", ns, "--create-namespace", "-f", "tests/values/quickstart.yaml",
                 "--set", "server.value_options.workers=1", "--timeout", "10m"], env)
        pod = pod_of(env, src)
        log(f"populating {runs} runs x 10 metrics x 100 steps and {art_mib} MiB of artifacts in pod {pod}")
        size = subprocess.run([KUBECTL, "exec", "-n", src, pod, "--", "python3", "-c", POPULATE.format(runs=runs, art_mib=art_mib)],
                              env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        log(f"the database holds {int(size) / MIB:.1f} MiB")
        n = 2 if QUICK else 3
        counter = [0]

        def backup():
            counter[0] += 1
            return timed([ours("kubectl-mlflow-backup"), "-n", src, "-o", f"{work}/b{counter[0]}.tar.gz"], env)

        def copy_out():
            shutil.rmtree(f"{work}/cp", ignore_errors=True)
            os.makedirs(f"{work}/cp")
            return timed([KUBECTL, "cp", "-n", src, f"{pod}:/mlflow/mlflow.db", f"{work}/cp/mlflow.db"], env) + \
                timed([KUBECTL, "cp", "-n", src, f"{pod}:/mlflow/artifacts", f"{work}/cp/artifacts"], env)

        log(f"backup vs kubectl cp out ({n} each)")
        a, b = alternate(n, backup, copy_out)
        add_time_row(f"backup: {runs} runs x 10 metrics x 100 steps + {art_mib} MiB artifacts (vs kubectl cp of the db and artifacts)", a, b, backup_goal)
        target = pod_of(env, dst)

        def restore():
            return timed([ours("kubectl-mlflow-restore"), f"{work}/b1.tar.gz", "-n", dst, "--force"], env)

        def copy_in():
            run([KUBECTL, "exec", "-n", dst, target, "--", "rm", "-rf", "/mlflow/cp"], env)
            run([KUBECTL, "exec", "-n", dst, target, "--", "mkdir", "-p", "/mlflow/cp"], env)
            return timed([KUBECTL, "cp", "-n", dst, f"{work}/cp/mlflow.db", f"{target}:/mlflow/cp/mlflow.db"], env) + \
                timed([KUBECTL, "cp", "-n", dst, f"{work}/cp/artifacts", f"{target}:/mlflow/cp/artifacts"], env)

        log(f"restore vs kubectl cp in ({n} each)")
        a, b = alternate(n, restore, copy_in)
        add_time_row(f"restore: the same archive, --force (vs kubectl cp of the db and artifacts into the pod)", a, b, backup_goal)
        archive = os.path.getsize(f"{work}/b1.tar.gz")
        facts.append(f"backup archive {archive / MIB:.1f} MiB (database {int(size) / MIB:.1f} MiB + {art_mib} MiB of random artifacts, gzip level 1)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for ns in (src, dst):
            run([KUBECTL, "delete", "namespace", ns, "--wait=false"], env, check=False)


def backup_goal(o, p):
    """≤ 2x"""
    return o <= 2 * p


def add_rate_row(case, ours_r, peer_r, unit):
    """Rates: ratio = ours / peer (higher is better)."""
    o, p = statistics.median(ours_r), statistics.median(peer_r)
    rows.append((case, f"{o:.1f} {unit}", f"{p:.1f} {unit}", f"{o / p:.2f}x", "≥ 1.0x", yes_no(o >= p)))


# ------------------------------------------------------------------------------------------------


def table():
    head = ("case", "ours (median)", "peer (median)", "ratio ours/peer", "goal", "met?")
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [""] + [f"Failed (left out of the medians): {note}" for note in rows_notes] if rows_notes else []
    lines += [""] + facts if facts else []
    return "\n".join(lines)


def machine():
    """The machine and its load, for the line under the table."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
        with open("/proc/meminfo") as f:
            memory = f"{int(f.readline().split()[1]) / MIB:.0f} GiB"
    except OSError:
        memory = "unknown memory"
    return f"{os.cpu_count()} cores ({model}), {memory}"


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    started_load = load()
    binaries = ENV["BENCH_BINARIES"].split()
    only = set(ENV.get("BENCH_ONLY", "").split(",")) - {""}
    uninstall = ours("kubectl-mlflow-uninstall") if "kubectl-mlflow-uninstall" in binaries else None
    workdir = tempfile.TemporaryDirectory()
    empty = empty_binary(workdir.name) if not only or {"render", "startup"} & only else None
    if not only or "render" in only:
        bench_render(empty)
    if (not only or "install" in only) and ENV.get("BENCH_KUBECONFIG"):
        bench_cluster(ENV["BENCH_KUBECONFIG"], uninstall)
    if (not only or "status" in only) and ENV.get("BENCH_KUBECONFIG") and "kubectl-mlflow-status" in binaries:
        bench_status(ENV["BENCH_KUBECONFIG"])
    if not only or "portforward" in only:
        if ENV.get("BENCH_REAL_KUBECONFIG"):
            bench_portforward(ENV["BENCH_REAL_KUBECONFIG"])
        else:
            rows.append(("port-forward on the real node", "skipped", "-", "-", "≥ 1.0x", "-"))
    if (not only or "check" in only) and "kubectl-mlflow-check" in binaries:
        if ENV.get("BENCH_REAL_KUBECONFIG"):
            bench_check(ENV["BENCH_REAL_KUBECONFIG"])
        else:
            rows.append(("check on the real node", "skipped", "-", "-", "≤ 5 s", "-"))
    if not only or "backup" in only:
        if ENV.get("BENCH_REAL_KUBECONFIG") and "kubectl-mlflow-backup" in binaries:
            bench_backup(ENV["BENCH_REAL_KUBECONFIG"])
        else:
            rows.append(("backup/restore on the real node", "skipped", "-", "-", "≤ 2x", "-"))
    if not only or "startup" in only:
        bench_help(binaries, empty)
        bench_sizes(binaries)
    print(table())
    print(f"\nMachine: {machine()}; load average (1, 5, 15 min) {started_load} at the start, {load()} at the end.")


if __name__ == "__main__":
    main()
