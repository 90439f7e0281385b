"""The MLflow Python client against the server in MLFLOW_TRACKING_URI (run in the venv by the
contract tests). Prints one JSON line with what it did.

  client.py roundtrip [--no-artifact] [--blob-mib N] [--delete] [--workspace NAME]
      logs a param, a metric and (unless --no-artifact) an artifact in a new run, reads them back
      and checks them; --blob-mib also logs data/blob.bin, N MiB of random bytes, and checks the
      downloaded copy's SHA-256; --delete then soft-deletes the run; --workspace creates the
      workspace (if needed) and works in it.
  client.py run-state RUN_ID      prints the run's lifecycle stage, or "absent"
  client.py check RUN_ID [--blob-sha256 HEX]
      checks the param, metric and artifact `roundtrip` logged (and the blob's SHA-256)
  client.py delete RUN_ID         soft-deletes the run
  client.py deleted-logged-model  creates a logged model in a new experiment, soft-deletes it,
      prints its id
"""

import argparse
import hashlib
import json
import os
import tempfile
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def roundtrip(args):
    if args.workspace:
        names = [w.name for w in MlflowClient().list_workspaces()]
        if args.workspace not in names:
            MlflowClient().create_workspace(
                args.workspace, description="contract test", default_artifact_root=args.workspace_artifact_root
            )
        mlflow.set_workspace(args.workspace)
    exp_name = "contract-" + uuid.uuid4().hex[:8]
    exp_id = mlflow.create_experiment(exp_name)
    client = MlflowClient()
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_param("alpha", "0.5")
        mlflow.log_metric("rmse", 0.25, step=1)
        if not args.no_artifact:
            mlflow.log_text("contract artifact\n", "notes/hello.txt")
        blob_sha256 = log_blob(args.blob_mib) if args.blob_mib else None
    run_id = run.info.run_id
    out = {"run_id": run_id, "experiment_id": exp_id}
    out.update(check_run(run_id, not args.no_artifact, blob_sha256))
    if args.delete:
        client.delete_run(run_id)
        assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    if args.workspace:
        out["workspace"] = args.workspace
    print(json.dumps(out))


def log_blob(mib):
    """Logs data/blob.bin, `mib` MiB of random bytes, in the active run; returns its SHA-256."""
    data = os.urandom(mib * 1024 * 1024)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "blob.bin")
        with open(path, "wb") as f:
            f.write(data)
        mlflow.log_artifact(path, "data")
    return hashlib.sha256(data).hexdigest()


def check_run(run_id, artifact=True, blob_sha256=None):
    """Reads back what roundtrip logged in run_id and checks it."""
    client = MlflowClient()
    got = client.get_run(run_id)
    assert got.data.params == {"alpha": "0.5"}, got.data.params
    assert got.data.metrics == {"rmse": 0.25}, got.data.metrics
    out = {"artifact_uri": got.info.artifact_uri}
    if artifact:
        listed = [f.path for f in client.list_artifacts(run_id, "notes")]
        assert listed == ["notes/hello.txt"], listed
        with tempfile.TemporaryDirectory() as d:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes/hello.txt", dst_path=d)
            with open(path) as f:
                content = f.read()
        assert content == "contract artifact\n", content
        out["artifact"] = "notes/hello.txt"
    if blob_sha256:
        with tempfile.TemporaryDirectory() as d:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="data/blob.bin", dst_path=d)
            with open(path, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
        assert got == blob_sha256, f"data/blob.bin: SHA-256 {got}, logged {blob_sha256}"
        out["blob"] = "data/blob.bin"
        out["blob_sha256"] = blob_sha256
    return out


def check(args):
    out = {"run_id": args.run_id}
    out.update(check_run(args.run_id, blob_sha256=args.blob_sha256))
    print(json.dumps(out))


def delete(args):
    MlflowClient().delete_run(args.run_id)
    print(json.dumps({"run_id": args.run_id, "stage": MlflowClient().get_run(args.run_id).info.lifecycle_stage}))


def run_state(args):
    if args.workspace:
        mlflow.set_workspace(args.workspace)
    try:
        stage = MlflowClient().get_run(args.run_id).info.lifecycle_stage
    except MlflowException as e:
        if "RESOURCE_DOES_NOT_EXIST" in str(e.error_code) or "not found" in str(e).lower():
            stage = "absent"
        else:
            raise
    print(json.dumps({"run_id": args.run_id, "stage": stage}))


def deleted_logged_model(args):
    client = MlflowClient()
    exp_id = mlflow.create_experiment("contract-lm-" + uuid.uuid4().hex[:8])
    model = client.create_logged_model(experiment_id=exp_id, name="contract-model")
    client.delete_logged_model(model.model_id)
    print(json.dumps({"model_id": model.model_id}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("roundtrip")
    r.add_argument("--no-artifact", action="store_true")
    r.add_argument("--delete", action="store_true")
    r.add_argument("--blob-mib", type=int)
    r.add_argument("--workspace")
    r.add_argument("--workspace-artifact-root")
    s = sub.add_parser("run-state")
    s.add_argument("run_id")
    s.add_argument("--workspace")
    c = sub.add_parser("check")
    c.add_argument("run_id")
    c.add_argument("--blob-sha256")
    d = sub.add_parser("delete")
    d.add_argument("run_id")
    sub.add_parser("deleted-logged-model")
    args = p.parse_args()
    commands = {"roundtrip": roundtrip, "run-state": run_state, "check": check, "delete": delete, "deleted-logged-model": deleted_logged_model}
    commands[args.cmd](args)


if __name__ == "__main__":
    main()
