"""GC contract: the rendered CronJob's `mlflow gc` command, run against the store of the running
server of the same values file, purges soft-deleted runs and their artifacts.

How the gc reaches the server: the rendered --tracking-uri is the Service's cluster DNS name
(http://<F>.<NS>.svc.cluster.local:<P>). Only its port is rewritten to the local server's port; a
sitecustomize on the gc's PYTHONPATH (tests/contract/gc_resolver) resolves *.svc.cluster.local to
127.0.0.1. So the gc sends `Host: <F>.<NS>.svc.cluster.local:<port>`, as in the cluster, and the
server's allowed-hosts check (MLFLOW_SERVER_ALLOWED_HOSTS) is exercised for real. The gc container
mounts the same PVC as the server and so gets the same local directories.
"""

from pathlib import Path

import pytest

from contract import dir_listing, gc_instance, plugin_gc_instance, run_gc, run_plugin_gc


def artifact_dir(srv, out) -> Path | None:
    """The local directory of a run's proxied artifacts (mlflow-artifacts:/<exp>/<run>/artifacts)."""
    uri = out["artifact_uri"]
    if not uri.startswith("mlflow-artifacts:"):
        return None
    dest = srv.inst.env["MLFLOW_ARTIFACTS_DESTINATION"]
    return Path(dest) / out["experiment_id"] / out["run_id"]


def gc(srv, info, sets=()):
    inst, p = run_gc(srv, sets)
    info.append(inst)
    assert p.returncode == 0, f"mlflow gc failed (rc {p.returncode}):\n{p.stderr[-5000:]}\n{p.stdout[-2000:]}"
    return p


@pytest.mark.values_file("gc.yaml")
@pytest.mark.mlflow_processes(3)
def test_gc_older_than_keeps_recent_then_purges(srv, info):
    """gc.yaml renders --older-than=30d: a run deleted just now is kept. Rendered without olderThan
    (--set garbageCollection.olderThan=), the same CronJob removes the run and its artifacts."""
    out = srv.client("roundtrip", "--delete")
    adir = artifact_dir(srv, out)
    assert adir is not None and "notes/hello.txt" in "\n".join(dir_listing(adir)), dir_listing(adir)

    gc(srv, info)
    assert any(a.startswith("--older-than=30d") for a in info[-1].command), info[-1].command
    assert srv.run_stage(out["run_id"]) == "deleted"
    assert adir.exists(), "--older-than=30d removed the artifacts of a run deleted just now"

    before = srv.log_tail(100000).count("DELETE /api/2.0/mlflow-artifacts/artifacts/")
    gc(srv, info, ("garbageCollection.olderThan=",))
    assert not any(a.startswith("--older-than") for a in info[-1].command), info[-1].command
    # The proxied artifacts were deleted through the server, reached by the Service's DNS name.
    assert srv.log_tail(100000).count("DELETE /api/2.0/mlflow-artifacts/artifacts/") > before
    assert srv.run_stage(out["run_id"]) == "absent"
    # MLflow removes the run's artifacts/ directory; the empty <run_id> directory may stay.
    assert dir_listing(adir) == [], f"artifacts left after gc: {dir_listing(adir)}"


@pytest.mark.values_file("basic-auth.yaml")
@pytest.mark.mlflow_processes(2)
def test_gc_with_basic_auth(srv, info):
    """With basic auth the gc logs in to the server as the admin (MLFLOW_TRACKING_USERNAME/PASSWORD)
    to delete proxied artifacts: basic-auth.yaml with garbageCollection.enabled=true."""
    out = srv.client("roundtrip", "--delete")
    adir = artifact_dir(srv, out)
    assert adir is not None and adir.exists()
    gc(srv, info, ("garbageCollection.enabled=true",))
    assert srv.run_stage(out["run_id"]) == "absent"
    # MLflow removes the run's artifacts/ directory; the empty <run_id> directory may stay.
    assert dir_listing(adir) == [], f"artifacts left after gc: {dir_listing(adir)}"


@pytest.mark.values_file("workspaces.yaml")
@pytest.mark.mlflow_processes(3)
def test_gc_all_workspaces(srv, info, tmp_path):
    """workspaces.yaml renders --all-workspaces: a run soft-deleted in a non-default workspace is
    purged with its artifacts. The server's default artifact root is an s3 bucket (not reachable
    here, and deleting there needs boto3), so the client creates this workspace with its own
    artifact root on a local directory (a per-workspace client setting, not a rendered value)."""
    root = tmp_path / "team-gc-artifacts"
    out = srv.client("roundtrip", "--workspace", "team-gc", "--workspace-artifact-root", root.as_uri(), "--delete")
    adir = Path(out["artifact_uri"].removeprefix("file://"))
    assert "notes/hello.txt" in dir_listing(adir), (out, dir_listing(root))
    gc(srv, info)
    assert "--all-workspaces" in info[-1].command
    assert srv.client("run-state", out["run_id"], "--workspace", "team-gc")["stage"] == "absent"
    assert dir_listing(adir) == [], f"artifacts left after gc: {dir_listing(adir)}"


@pytest.mark.values_file("basic-auth.yaml")
@pytest.mark.mlflow_processes(3)
def test_the_gc_plugins_job_purges_like_the_cronjob(srv, info):
    """`kubectl mlflow gc` builds its Job from the release's Deployment (image, env, volumes,
    credentials): its command, run the same way, keeps a run deleted just now with
    --older-than 30d and removes it, with its artifacts, without."""
    out = srv.client("roundtrip", "--delete")
    adir = artifact_dir(srv, out)
    assert adir is not None and adir.exists()

    inst, p = run_plugin_gc(srv, ("--older-than", "30d"))
    info.append(inst)
    assert p.returncode == 0, f"the plugin's gc failed (rc {p.returncode}):\n{p.stderr[-5000:]}"
    assert "--older-than=30d" in inst.command, inst.command
    assert srv.run_stage(out["run_id"]) == "deleted"

    inst, p = run_plugin_gc(srv)
    info.append(inst)
    assert p.returncode == 0, f"the plugin's gc failed (rc {p.returncode}):\n{p.stderr[-5000:]}"
    assert srv.run_stage(out["run_id"]) == "absent"
    assert dir_listing(adir) == [], f"artifacts left after gc: {dir_listing(adir)}"


@pytest.mark.values_file("gc.yaml")
@pytest.mark.mlflow_processes(4)
def test_the_store_uri_stays_out_of_the_arguments_and_mlflows_own_flags_pass(srv, info):
    """The gc finds the store through its env (MLFLOW_TRACKING_URI=$(MLFLOW_BACKEND_STORE_URI)),
    not its arguments; the plugin's Job, made from gc.yaml's CronJob, passes --jobs and
    --logged-model-ids to MLflow: a soft-deleted logged model is purged (a second purge of the
    same id fails, as for any id MLflow does not hold as deleted), the soft-deleted run with it."""
    out = srv.client("roundtrip", "--delete")
    model = srv.client("deleted-logged-model")["model_id"]
    for inst in (gc_instance(srv), plugin_gc_instance(srv, ("--older-than", "30d"))):
        assert not any("STORE_URI" in a or "sqlite" in a for a in inst.original), inst.original
        assert inst.rendered_env["MLFLOW_TRACKING_URI"] == inst.rendered_env["MLFLOW_BACKEND_STORE_URI"]

    inst, p = run_plugin_gc(srv, ("--jobs", "--logged-model-ids", model))
    info.append(inst)
    assert p.returncode == 0, f"the plugin's gc failed (rc {p.returncode}):\n{p.stderr[-5000:]}"
    assert "--jobs" in inst.command and f"--logged-model-ids={model}" in inst.command, inst.command
    assert srv.run_stage(out["run_id"]) == "absent"

    inst, p = run_plugin_gc(srv, ("--logged-model-ids", model))
    info.append(inst)
    assert p.returncode != 0 and "not found" in p.stderr, f"a purged logged model was found again:\n{p.stderr[-3000:]}"
