# Run by `kubectl mlflow status` in a Ready server pod with the image's own python: the tracking
# database's alembic revision (SQLite through sqlite3, read-only; other databases through the
# SQLAlchemy MLflow ships) and the heads of the migrations of the MLflow installed there. Prints one JSON line; the store URI never leaves the pod: error
# texts lose it and its password before they are printed.
import json
import os
import sys


def store_uri():
    uri = os.environ.get("MLFLOW_BACKEND_STORE_URI", "")
    try:
        with open("/proc/1/cmdline", "rb") as f:
            words = [w.decode("utf-8", "replace") for w in f.read().split(b"\0")]
    except OSError:
        words = []
    for i, word in enumerate(words):
        if word.startswith("--backend-store-uri="):
            uri = word.split("=", 1)[1]
        elif word == "--backend-store-uri" and i + 1 < len(words):
            uri = words[i + 1]
    return uri


def secrets_of(uri):
    found = [uri]
    try:
        from urllib.parse import unquote, urlsplit

        password = urlsplit(uri).password
        if password:
            found += [password, unquote(password)]
    except ValueError:
        pass
    return [s for s in found if s]


def clean(error, secrets):
    text = (type(error).__name__ + ": " + str(error)).strip().splitlines()[0][:300]
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def expected_heads():
    # The heads of MLflow's alembic migrations, read from the scripts' text: alembic's own
    # ScriptDirectory imports every script (and MLflow with them), 30 times slower.
    import ast
    import importlib.util

    base = importlib.util.find_spec("mlflow").submodule_search_locations[0]
    versions = os.path.join(base, "store", "db_migrations", "versions")
    revisions, downs = set(), set()
    for name in os.listdir(versions):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(versions, name), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        found = {}
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    found[target.id] = ast.literal_eval(node.value)
        if "revision" in found:
            revisions.add(found["revision"])
            down = found.get("down_revision")
            downs.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    return sorted(revisions - downs)


def current_revisions(uri, dialect):
    if dialect == "sqlite":
        import sqlite3

        path = uri.split(":", 1)[1].lstrip("/").split("?", 1)[0]
        path = "/" + path if uri.startswith("sqlite:////") else path
        if not os.path.exists(path):
            raise FileNotFoundError("the SQLite file does not exist yet")
        connection = sqlite3.connect("file:" + path + "?mode=ro", uri=True, timeout=10)
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            connection.close()
    else:
        import sqlalchemy

        timeouts = {"postgresql": {"connect_timeout": 10}, "mysql": {"connect_timeout": 10}, "mssql": {"timeout": 10}}
        engine = sqlalchemy.create_engine(uri, connect_args=timeouts.get(dialect, {}), poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).fetchall()
    return sorted(row[0] for row in rows)


def main():
    out = {}
    try:
        from importlib import metadata

        out["mlflow"] = metadata.version("mlflow")
    except Exception:
        pass
    uri = store_uri()
    secrets = secrets_of(uri)
    dialect = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    out["dialect"] = dialect
    if dialect not in ("sqlite", "postgresql", "mysql", "mssql"):
        print(json.dumps(out))
        return
    try:
        out["expected"] = expected_heads()
    except Exception as error:
        out["expectedError"] = clean(error, secrets)
    try:
        out["current"] = current_revisions(uri, dialect)
    except Exception as error:
        out["currentError"] = clean(error, secrets)
    print(json.dumps(out))


main()
sys.stdout.flush()
