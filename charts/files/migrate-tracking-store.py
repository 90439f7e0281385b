# `mlflow db upgrade URL`; an empty database first gets MLflow's tables as its server makes them
# (3.17.2's `mlflow db upgrade` does so itself; 3.12.0 and 2.x fail there: "no such table: metrics").
import subprocess
import sys

import sqlalchemy
from mlflow.store.db import utils

url = sys.argv[1]
engine = utils.create_sqlalchemy_engine_with_retry(url)
empty = all(table.startswith("alembic_") for table in sqlalchemy.inspect(engine).get_table_names())
if empty:
    utils._initialize_tables(engine)
    print("the database held no MLflow tables: made them at the newest schema revision", flush=True)
else:
    engine.dispose()
    sys.exit(subprocess.call(["mlflow", "db", "upgrade", url]))
