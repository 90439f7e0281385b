"""The option table of `mlflow server`, read from the real program (click's parameters of
mlflow.cli.server), with the rules it and the server it starts apply at start-up: what
shared/model/data/mlflow-server-options.json holds and the values' server.value_options /
server.flag_options are checked against.

Besides the click types, the table names each option's rules (RULES below, read from MLflow
3.17.2's source: the click callbacks of `mlflow server`, `server()` and `_validate_server_args` in
mlflow/cli/__init__.py, `_run_server` and `_build_*_command` in mlflow/server/__init__.py), and
holds the option tables of the two servers MLflow starts on Linux, read from them: uvicorn's click
command (`uvicorn.main`) and gunicorn's argparse settings (`gunicorn.config.KNOWN_SETTINGS`), for
the `uvicorn_opts` / `gunicorn_opts` strings MLflow hands them (split with `shlex.split`).

Run `python server_options.py` in the MLflow venv to print it; test_server_options.py compares
the committed file with a fresh one."""

import json
import sys
from pathlib import Path

COMMITTED = Path(__file__).resolve().parents[2] / "shared" / "model" / "data" / "mlflow-server-options.json"

# What each rule means, and where it comes from. The model (shared/model/src/server_options.rs
# and server_opts.rs) implements each by its name.
RULE_TEXT = {
    "static_prefix": "click callback _validate_static_prefix: begins with '/', does not end with '/', "
    "holds no '{' or '}'",
    "whole_number": "passed as uvicorn's --workers / gunicorn's -w, both integers (gunicorn: 0 or more)",
    "one_server": "_validate_server_args: at most one of --gunicorn-opts, --waitress-opts, --uvicorn-opts",
    "needs_uvicorn": "_validate_server_args: --allowed-hosts, --cors-allowed-origins and "
    "--disable-security-middleware on the command line only with uvicorn",
    "dev_alone": "server(): --dev not with --gunicorn-opts, --uvicorn-opts (the chart's TLS too) or --app-name",
    "no_backend_store": "artifacts_only_config_validation: --artifacts-only with a backend store is "
    "refused, and the chart always sets one (MLFLOW_BACKEND_STORE_URI)",
    "file_in_container": "click.Path(exists=True) / the server opens the file at start-up: it must be "
    "in the container, on a mounted volume",
    "store_uri": "opened as a store at start-up (initialize_backend_stores): a URI MLflow opens",
    "not_installed": "the server module is not installed on Linux (MLflow depends on waitress on "
    "Windows only)",
    "uvicorn_opts": "shlex.split, then uvicorn's own command line (servers.uvicorn)",
    "gunicorn_opts": "shlex.split, then gunicorn's own command line (servers.gunicorn)",
    "wildcard_host": "the kubelet's probes and the Service reach the pod on its IP: bind 0.0.0.0 or ::",
    # rules of the servers' own options
    "set_by_mlflow": "MLflow passes it after the user's options (the last wins, or a second bind)",
    "binds_elsewhere": "the server would not listen on the port the probes and the Service use",
    "exits": "prints or checks something and exits instead of serving",
    "tls": "set by the chart from tls.enabled",
    "header_pair": "uvicorn splits each --header at ':' (name:value) and fails without one",
    "positive": "0 or less refuses every request (uvicorn answers 503 above the limit)",
    "runtime_choice": "uvicorn imports the implementation at start-up: one of the installed choices",
    "no_positional": "MLflow passes the application itself; another one is an extra argument",
    "shadowed_env": "an env entry naming the variable of an option the command line carries is "
    "ignored (click takes the flag); the *_opts strings in env escape their checks and the TLS merge",
}

# The rules of mlflow server's options, by option name.
RULES = {
    "static_prefix": ["static_prefix"],
    "workers": ["whole_number"],
    "host": ["wildcard_host"],
    "uvicorn_opts": ["one_server", "uvicorn_opts"],
    "gunicorn_opts": ["one_server", "gunicorn_opts"],
    "waitress_opts": ["one_server", "not_installed"],
    "cors_allowed_origins": ["needs_uvicorn"],
    "disable_security_middleware": ["needs_uvicorn"],
    "dev": ["dev_alone"],
    "artifacts_only": ["no_backend_store"],
    "trace_archival_config": ["file_in_container"],
    "read_replica_backend_store_uri": ["store_uri"],
    "workspace_store_uri": ["store_uri"],
}

# The click callbacks of mlflow server, each with the rule that mirrors it: a callback not listed
# here fails test_server_options.py (a new MLflow check the model does not know).
CALLBACKS = {"_validate_static_prefix": "static_prefix"}

UVICORN_RULES = {
    "--host": ["set_by_mlflow"],
    "--port": ["set_by_mlflow"],
    "--workers": ["set_by_mlflow"],
    "--uds": ["binds_elsewhere"],
    "--fd": ["binds_elsewhere"],
    "--version": ["exits"],
    "--help": ["exits"],
    "--ssl-keyfile": ["tls", "file_in_container"],
    "--ssl-certfile": ["tls", "file_in_container"],
    "--ssl-ca-certs": ["file_in_container"],
    "--header": ["header_pair"],
    "--env-file": ["file_in_container"],
    "--log-config": ["file_in_container"],
    "--reload-dir": ["file_in_container"],
    "--limit-concurrency": ["positive"],
    "--loop": ["runtime_choice"],
    "--http": ["runtime_choice"],
    "--ws": ["runtime_choice"],
}

GUNICORN_RULES = {
    "--bind": ["set_by_mlflow"],
    "--workers": ["set_by_mlflow"],
    "--version": ["exits"],
    "--help": ["exits"],
    "--check-config": ["exits"],
    "--print-config": ["exits"],
    "--daemon": ["exits"],
    "--keyfile": ["tls", "file_in_container"],
    "--certfile": ["tls", "file_in_container"],
    "--ca-certs": ["file_in_container"],
    "--config": ["file_in_container"],
    "--chdir": ["file_in_container"],
    "--paste": ["file_in_container"],
}

# gunicorn validators with a fixed set of values (their source lists them; the test checks each
# against the validator itself).
GUNICORN_CHOICES = {
    "validate_asgi_loop": ["auto", "asyncio", "uvloop"],
    "validate_asgi_lifespan": ["auto", "on", "off"],
    "validate_http_parser": ["auto", "fast", "python"],
}


def long_names(opts):
    return sorted(o[2:].replace("-", "_") for o in opts if o.startswith("--"))


def value_type(kind):
    import click

    if isinstance(kind, click.Choice):
        return {"type": "choice", "choices": sorted(set(kind.choices))}
    if isinstance(kind, click.types._NumberRangeBase):
        return {"type": "int" if isinstance(kind, click.IntRange) else "float", "min": kind.min, "max": kind.max}
    if isinstance(kind, click.Path):
        return {"type": "path", "exists": bool(kind.exists), "dir_okay": bool(kind.dir_okay)}
    if kind is click.INT:
        return {"type": "int"}
    if kind is click.FLOAT:
        return {"type": "float"}
    if kind is click.BOOL:
        return {"type": "bool"}
    return {"type": "string"}


def option(param):
    entry = {"name": param.name, "names": long_names(param.opts) + long_names(param.secondary_opts)}
    if param.envvar:
        entry["envvar"] = param.envvar
    if param.is_flag:
        entry["kind"] = "flag"
    else:
        entry["kind"] = "value"
        entry.update(value_type(param.type))
    if param.callback is not None:
        entry["callback"] = param.callback.__name__
    rules = list(RULES.get(param.name, []))
    if param.callback is not None and CALLBACKS.get(param.callback.__name__) not in rules:
        rules.append(CALLBACKS.get(param.callback.__name__, f"unknown callback {param.callback.__name__}"))
    if rules:
        entry["rules"] = rules
    return entry


def installed(target):
    """Whether uvicorn can import an implementation ("module:attr"; None is none at all)."""
    from uvicorn.importer import ImportFromStringError, import_from_string

    if target is None:
        return True
    try:
        import_from_string(target)
        return True
    except (ImportError, ImportFromStringError):
        return False


def uvicorn_table():
    import click
    import uvicorn
    import uvicorn.config as config
    import uvicorn.main

    command = uvicorn.main.main if isinstance(uvicorn.main.main, click.Command) else uvicorn.main.main.__self__
    runtime = {"--loop": config.LOOP_FACTORIES, "--http": config.HTTP_PROTOCOLS, "--ws": config.WS_PROTOCOLS}
    params = list(command.params) + [command.get_help_option(click.Context(command))]
    options = []
    for p in params:
        if not isinstance(p, click.Option):
            continue
        entry = {"names": sorted(p.opts + p.secondary_opts), "kind": "flag" if p.is_flag else "value"}
        if not p.is_flag:
            entry.update(value_type(p.type))
        if p.multiple:
            entry["multiple"] = True
        name = max(p.opts, key=len)
        if name in runtime:
            entry["type"] = "choice"
            entry["choices"] = sorted(k for k, target in runtime[name].items() if installed(target))
        rules = UVICORN_RULES.get(name, [])
        if rules:
            entry["rules"] = rules
        options.append(entry)
    arguments = [p.name for p in command.params if isinstance(p, click.Argument)]
    return {"version": uvicorn.__version__, "arguments": arguments, "options": sorted(options, key=lambda o: o["names"])}


def gunicorn_table():
    import gunicorn
    import gunicorn.config as config
    from gunicorn.reloader import reloader_engines

    choices = dict(GUNICORN_CHOICES, validate_reload_engine=sorted(reloader_engines))
    options = [
        {"names": ["--version", "-v"], "kind": "flag", "rules": ["exits"]},
        {"names": ["--help", "-h"], "kind": "flag", "rules": ["exits"]},
    ]
    for s in config.KNOWN_SETTINGS:
        if not s.cli:
            continue
        flag = s.action in ("store_true", "store_const")
        entry = {"names": sorted(s.cli, key=lambda n: (not n.startswith("--"), n)), "kind": "flag" if flag else "value"}
        validator = s.validator.__name__ if s.validator else None
        if not flag:
            if validator == "validate_pos_int":
                entry.update({"type": "int", "min": 0, "auto_int": getattr(s.type, "__name__", "") == "auto_int"})
            elif validator in choices:
                entry.update({"type": "choice", "choices": sorted(choices[validator])})
            else:
                entry["type"] = "string"
            entry["validator"] = validator
        if s.action == "append":
            entry["multiple"] = True
        long = next(n for n in entry["names"] if n.startswith("--"))
        rules = GUNICORN_RULES.get(long, [])
        if rules:
            entry["rules"] = rules
        options.append(entry)
    return {
        "version": gunicorn.__version__,
        "abbreviations": True,
        "options": sorted(options, key=lambda o: o["names"]),
    }


def table():
    import click
    import mlflow
    from mlflow.cli import server

    options = [option(p) for p in server.params if isinstance(p, click.Option)]
    return {
        "mlflow": mlflow.__version__,
        "options": sorted(options, key=lambda o: o["name"]),
        "rules": RULE_TEXT,
        "servers": {"gunicorn": gunicorn_table(), "uvicorn": uvicorn_table()},
    }


def render(data):
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(table()))
