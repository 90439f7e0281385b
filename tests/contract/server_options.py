"""The option table of `mlflow server`, read from the real program (click's parameters of
mlflow.cli.server): what shared/model/data/mlflow-server-options.json holds and the values'
server.value_options / server.flag_options are checked against.

Run `python server_options.py` in the MLflow venv to print it; test_server_options.py compares
the committed file with a fresh one."""

import json
import sys
from pathlib import Path

COMMITTED = Path(__file__).resolve().parents[2] / "shared" / "model" / "data" / "mlflow-server-options.json"


def long_names(opts):
    return sorted(o[2:].replace("-", "_") for o in opts if o.startswith("--"))


def value_type(param):
    import click

    kind = param.type
    if isinstance(kind, click.Choice):
        return {"type": "choice", "choices": sorted(set(kind.choices))}
    if isinstance(kind, click.types._NumberRangeBase):
        return {"type": "int" if isinstance(kind, click.IntRange) else "float", "min": kind.min, "max": kind.max}
    if kind is click.INT:
        return {"type": "int"}
    if kind is click.FLOAT:
        return {"type": "float"}
    return {"type": "string"}


def option(param):
    entry = {"name": param.name, "names": long_names(param.opts) + long_names(param.secondary_opts)}
    if param.envvar:
        entry["envvar"] = param.envvar
    if param.is_flag:
        entry["kind"] = "flag"
    else:
        entry["kind"] = "value"
        entry.update(value_type(param))
    return entry


def table():
    import click
    import mlflow
    from mlflow.cli import server

    options = [option(p) for p in server.params if isinstance(p, click.Option)]
    return {"mlflow": mlflow.__version__, "options": sorted(options, key=lambda o: o["name"])}


def render(data):
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(table()))
