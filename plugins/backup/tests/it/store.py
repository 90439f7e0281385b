"""The MLflow client against the server in MLFLOW_TRACKING_URI, for the backup/restore tests.
Prints one JSON document.

  store.py populate [--runs N] [--steps N] [--blob-mib N] [--user NAME:PASSWORD] [--trace]
      two experiments; runs with params, tags, metric histories and artifacts (a text file and,
      with --blob-mib, N MiB of random bytes); a registered model with two versions; with
      --trace a trace (its spans in the database, its traces.json among the artifacts);
      with --user a basic-auth user with READ on the first experiment (needs admin credentials)
  store.py dump [--traces]
      everything the server serves through its REST API: experiments, runs (params, tags, every
      metric's history), artifacts (path, size, sha256 of the downloaded bytes), registered
      models and their versions; with --traces each experiment's traces (ID, state, times,
      metadata, tags, and their spans' names, inputs and outputs)
  store.py login NAME:PASSWORD EXPERIMENT_ID
      reads the experiment as that user
"""

import argparse
import hashlib
import json
import os
import tempfile

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository


def populate(args):
    client = MlflowClient()
    out = {"experiments": [], "runs": []}
    for e in range(2):
        exp_id = client.create_experiment(f"backup-exp-{e}", tags={"team": f"t{e}"})
        out["experiments"].append(exp_id)
        for r in range(args.runs):
            run = client.create_run(exp_id, run_name=f"run-{e}-{r}", tags={"kind": "test"})
            rid = run.info.run_id
            params = [Param("alpha", str(0.1 * r)), Param("layers", str(r + 1))]
            metrics = []
            for step in range(args.steps):
                metrics.append(Metric("loss", 1.0 / (step + 1 + r), 1700000000000 + step, step))
                metrics.append(Metric("acc", step / (args.steps + r), 1700000000000 + step, step))
            # one request per 1,000 values (MLflow's limit), not one per value: basic auth
            # checks the password on every request
            client.log_batch(rid, metrics=metrics[:1000], params=params)
            for at in range(1000, len(metrics), 1000):
                client.log_batch(rid, metrics=metrics[at:at + 1000])
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "hello.txt"), "w") as f:
                    f.write(f"run {e}-{r}\n")
                client.log_artifact(rid, os.path.join(d, "hello.txt"), "notes")
                if args.blob_mib and r == 0:
                    with open(os.path.join(d, "blob.bin"), "wb") as f:
                        f.write(os.urandom(args.blob_mib * 1024 * 1024))
                    client.log_artifact(rid, os.path.join(d, "blob.bin"), "data")
            client.set_terminated(rid)
            out["runs"].append(rid)
    model = client.create_registered_model("backup-model", tags={"stage": "test"}, description="two versions")
    for rid in out["runs"][:2]:
        client.create_model_version(model.name, f"runs:/{rid}/notes", rid, description=f"from {rid}")
    client.set_registered_model_alias(model.name, "champion", "2")
    if args.trace:
        mlflow.set_experiment(experiment_id=out["experiments"][0])
        with mlflow.start_span(name="backup-trace") as span:
            span.set_inputs({"q": "hello"})
            span.set_outputs({"a": "world"})
        mlflow.flush_trace_async_logging(terminate=True)
        out["trace"] = span.trace_id
    if args.user:
        name, password = args.user.split(":", 1)
        from mlflow.server.auth.client import AuthServiceClient

        auth = AuthServiceClient(os.environ["MLFLOW_TRACKING_URI"])
        auth.create_user(name, password)
        auth.grant_user_permission(name, "experiment", out["experiments"][0], "READ")
        out["user"] = name
    print(json.dumps(out))


def sha256_of(repo, path):
    with tempfile.TemporaryDirectory() as d:
        local = repo.download_artifacts(path, d)
        sha = hashlib.sha256()
        with open(local, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
        return sha.hexdigest(), os.path.getsize(local)


def artifacts(repo, path=None):
    """Through the run's own artifact URI, as a 2.x server serves it too (the 3.x client's runs:/
    listing also searches logged models, which 2.x servers do not have)."""
    found = []
    for info in repo.list_artifacts(path):
        if info.is_dir:
            found += artifacts(repo, info.path)
        else:
            sha, size = sha256_of(repo, info.path)
            found.append({"path": info.path, "size": size, "sha256": sha})
    return found


def traces(client, experiment_id):
    found = []
    for trace in client.search_traces(locations=[experiment_id], include_spans=True):
        info = trace.info
        tags = {k: v for k, v in info.tags.items() if k != "mlflow.artifactLocation"}
        spans = [[s.name, s.inputs, s.outputs] for s in trace.data.spans]
        found.append([info.trace_id, str(info.state), info.request_time, info.execution_duration,
                      info.trace_metadata, tags, spans])
    return sorted(found, key=lambda t: t[0])


def dump(args):
    client = MlflowClient()
    out = {"experiments": [], "models": []}
    for exp in sorted(client.search_experiments(view_type=3), key=lambda e: e.experiment_id):
        runs = []
        for run in sorted(client.search_runs([exp.experiment_id], run_view_type=3), key=lambda r: r.info.run_id):
            history = {
                key: [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run.info.run_id, key)]
                for key in sorted(run.data.metrics)
            }
            runs.append({
                "id": run.info.run_id,
                "name": run.info.run_name,
                "status": run.info.status,
                "start": run.info.start_time,
                "end": run.info.end_time,
                "artifact_uri": run.info.artifact_uri,
                "params": run.data.params,
                "tags": {k: v for k, v in run.data.tags.items()},
                "metrics": history,
                "artifacts": artifacts(get_artifact_repository(run.info.artifact_uri)),
            })
        out["experiments"].append({
            "id": exp.experiment_id,
            "name": exp.name,
            "stage": exp.lifecycle_stage,
            "artifact_location": exp.artifact_location,
            "tags": exp.tags,
            "runs": runs,
            "traces": traces(client, exp.experiment_id) if args.traces else None,
        })
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name='{model.name}'")
        out["models"].append({
            "name": model.name,
            "description": model.description,
            "tags": model.tags,
            "aliases": model.aliases,
            "versions": sorted(
                [{"version": v.version, "run_id": v.run_id, "source": v.source, "description": v.description} for v in versions],
                key=lambda v: int(v["version"]),
            ),
        })
    print(json.dumps(out, sort_keys=True))


def login(args):
    name, password = args.user.split(":", 1)
    os.environ["MLFLOW_TRACKING_USERNAME"] = name
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password
    exp = MlflowClient().get_experiment(args.experiment)
    print(json.dumps({"user": name, "experiment": exp.name}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("populate")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--blob-mib", type=int, default=0)
    p.add_argument("--user")
    p.add_argument("--trace", action="store_true")
    p.set_defaults(func=populate)
    d = sub.add_parser("dump")
    d.add_argument("--traces", action="store_true")
    d.set_defaults(func=dump)
    l = sub.add_parser("login")
    l.add_argument("user")
    l.add_argument("experiment")
    l.set_defaults(func=login)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
