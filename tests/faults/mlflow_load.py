"""MLflow clients for the fault suite (run with the contract venv's python: scripts/mlflow-venv).

  mlflow_load.py log --clients N --seconds S --max-ops M [--artifact-every K] --out FILE
      N processes, each an MLflow client in its own run of one experiment, logging the metric
      "m" (step i, value i/2) and, every K-th operation, a small text artifact a/<i>.txt, until S
      seconds have passed or M operations are done (both bounds hold). An operation that still
      fails after the client's own retries (MLFLOW_HTTP_REQUEST_MAX_RETRIES, ...) is recorded,
      not retried again. FILE gets one JSON object: per client its run, what it logged, its
      failures; the latencies' p50/p99 and the operations per second of all clients together.
  mlflow_load.py verify FILE
      reads every client's run back through the REST API: the metric history holds every step
      logged (duplicates counted), every artifact is there with its SHA-256. Prints one JSON line
      (missing, partial, duplicates); exits 1 when anything logged is missing or partial.

Traffic goes only to MLFLOW_TRACKING_URI (a port-forward on 127.0.0.1).
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid


def client_loop(args):
    index, experiment_id, seconds, max_ops, artifact_every, start_at = args
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    out = {"client": index, "metrics": [], "artifacts": {}, "failures": [], "latencies": []}
    # every client starts at the same moment, after its imports
    time.sleep(max(0.0, start_at - time.time()))
    began = time.monotonic()
    try:
        run = client.create_run(experiment_id)
    except Exception as e:  # the run itself could not be made: every operation counts as failed
        out["failures"].append(f"create_run: {type(e).__name__}: {e}"[:300])
        return out
    out["run_id"] = run.info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(max_ops):
            if time.monotonic() - began >= seconds:
                break
            t0 = time.monotonic()
            try:
                if artifact_every and i % artifact_every == artifact_every - 1:
                    text = f"client {index} operation {i} {uuid.uuid4().hex}\n" * 4
                    path = os.path.join(tmp, f"{i}.txt")
                    with open(path, "w") as f:
                        f.write(text)
                    client.log_artifact(out["run_id"], path, "a")
                    out["artifacts"][f"a/{i}.txt"] = hashlib.sha256(text.encode()).hexdigest()
                else:
                    client.log_metric(out["run_id"], "m", i / 2, step=i, timestamp=int(time.time() * 1000))
                    out["metrics"].append(i)
                out["latencies"].append(time.monotonic() - t0)
            except Exception as e:
                out["failures"].append(f"operation {i}: {type(e).__name__}: {e}"[:300])
    out["seconds"] = time.monotonic() - began
    return out


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def log(args):
    import mlflow

    experiment_id = mlflow.create_experiment("faults-" + uuid.uuid4().hex[:8])
    start_at = time.time() + 8
    jobs = [(i, experiment_id, args.seconds, args.max_ops, args.artifact_every, start_at) for i in range(args.clients)]
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
        clients = pool.map(client_loop, jobs)
    latencies = [l for c in clients for l in c.pop("latencies")]
    ops = len(latencies)
    failures = sum(len(c["failures"]) for c in clients)
    wall = max((c.get("seconds", 0) for c in clients), default=0)
    summary = {
        "experiment_id": experiment_id,
        "clients": clients,
        "operations": ops,
        "failed": failures,
        "ops_per_second": round(ops / wall, 1) if wall else 0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 1) if latencies else None,
        "seconds": round(wall, 1),
    }
    with open(args.out, "w") as f:
        json.dump(summary, f)
    print(json.dumps({k: v for k, v in summary.items() if k != "clients"}))


def verify(args):
    from mlflow import MlflowClient

    client = MlflowClient()
    with open(args.file) as f:
        summary = json.load(f)
    missing, partial, duplicates, checked = [], [], 0, 0
    for c in summary["clients"]:
        run_id = c.get("run_id")
        if not run_id:
            continue
        history = client.get_metric_history(run_id, "m")
        steps = {}
        for m in history:
            steps.setdefault(m.step, []).append(m.value)
        for step in c["metrics"]:
            checked += 1
            values = steps.get(step, [])
            if not values:
                missing.append(f"{run_id} m step {step}")
            elif any(v != step / 2 for v in values):
                partial.append(f"{run_id} m step {step}: values {values}")
            duplicates += max(0, len(values) - 1)
        listed = {f.path for f in client.list_artifacts(run_id, "a")}
        with tempfile.TemporaryDirectory() as d:
            for path, sha in c["artifacts"].items():
                checked += 1
                if path not in listed:
                    missing.append(f"{run_id} {path}")
                    continue
                got = client.download_artifacts(run_id, path, d)
                with open(got, "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() != sha:
                        partial.append(f"{run_id} {path}")
    result = {"checked": checked, "missing": missing, "partial": partial, "duplicates": duplicates}
    print(json.dumps(result))
    sys.exit(1 if missing or partial else 0)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("log")
    lg.add_argument("--clients", type=int, required=True)
    lg.add_argument("--seconds", type=float, required=True)
    lg.add_argument("--max-ops", type=int, required=True)
    lg.add_argument("--artifact-every", type=int, default=10)
    lg.add_argument("--out", required=True)
    v = sub.add_parser("verify")
    v.add_argument("file")
    args = p.parse_args()
    {"log": log, "verify": verify}[args.cmd](args)


if __name__ == "__main__":
    main()
