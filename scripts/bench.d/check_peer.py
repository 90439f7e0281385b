"""The peer of `kubectl mlflow check` in scripts/bench: the same steps with MLflow's Python client
against MLFLOW_TRACKING_URI (a `kubectl port-forward`): /health and /version, a new experiment, a
run with a param, a metric and a tag, an artifact of random bytes (argv[1] bytes) uploaded and
downloaded byte-identical, the run found by search, then the artifacts, the run and the
experiment deleted. Exits non-zero when a step fails."""

import os
import sys
import tempfile
import urllib.request
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository


def main():
    uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    size = int(sys.argv[1])
    for path in ("/health", "/version"):
        with urllib.request.urlopen(uri + path, timeout=30) as answer:
            assert answer.status == 200, f"{path}: {answer.status}"
    client = MlflowClient()
    experiment = client.create_experiment("bench-check-peer-" + uuid.uuid4().hex[:8])
    run = client.create_run(experiment)
    run_id = run.info.run_id
    token = uuid.uuid4().hex
    client.log_batch(run_id, params=[Param("k", token)], metrics=[Metric("k", 0.5, 0, 0)], tags=[RunTag("k", token)])
    data = os.urandom(size)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "blob.bin")
        with open(path, "wb") as f:
            f.write(data)
        client.log_artifact(run_id, path)
        out = os.path.join(d, "out")
        os.mkdir(out)
        got = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="blob.bin", dst_path=out)
        with open(got, "rb") as f:
            assert f.read() == data, "the downloaded bytes differ"
    found = client.search_runs([experiment], filter_string=f"params.k = '{token}' and metrics.k = 0.5 and tags.k = '{token}'")
    assert [r.info.run_id for r in found] == [run_id], found
    get_artifact_repository(run.info.artifact_uri).delete_artifacts()
    client.delete_run(run_id)
    client.delete_experiment(experiment)


if __name__ == "__main__":
    main()
