"""Before a new MLflow image serves a SQLite store: a copy of the database beside it, named with
its schema revision (the last three kept), then `mlflow db upgrade`; a failed migration puts the
copy back, so the running release keeps its data. Lines starting with KMLF- tell the engine."""
import glob
import importlib.util
import os
import sqlite3
import subprocess
import sys

from alembic.script import ScriptDirectory

uri = os.environ["MLFLOW_BACKEND_STORE_URI"]
path = os.path.abspath(uri[len("sqlite:///"):].split("?", 1)[0])
if not os.path.exists(path):
    print("no database yet: MLflow makes it at its first start", flush=True)
    sys.exit(0)
package = importlib.util.find_spec("mlflow").submodule_search_locations[0]
head = ScriptDirectory(os.path.join(package, "store", "db_migrations")).get_current_head()
with sqlite3.connect(path) as db:
    try:
        current = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except (sqlite3.Error, TypeError):
        print("the database has no schema revision yet", flush=True)
        sys.exit(0)
if current == head:
    print(f"the schema is at {head} already", flush=True)
    sys.exit(0)
copy = f"{path}.{current}.bak"
with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
    src.backup(dst)
print(f"KMLF-SQLITE-COPY {copy} {current} {head}", flush=True)
for old in sorted(glob.glob(f"{path}.*.bak"), key=os.path.getmtime)[:-3]:
    os.remove(old)
if subprocess.call(["mlflow", "db", "upgrade", uri]) != 0:
    with sqlite3.connect(copy) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    print(f"KMLF-SQLITE-RESTORED {copy} {current}", flush=True)
    sys.exit(1)
