# The server pod's first step with auth.databaseUriFrom: writes MLflow's basic-auth ini (the
# Secret's, given first) with database_uri from MLFLOW_AUTH_DATABASE_URI to the path given second.
# configparser reads "%" as interpolation: it is doubled, as MLflow reads the file.
import configparser
import os
import sys

config = configparser.ConfigParser(interpolation=None)
config.read(sys.argv[1])
config["mlflow"]["database_uri"] = os.environ["MLFLOW_AUTH_DATABASE_URI"].replace("%", "%%")
with open(sys.argv[2], "w") as out:
    config.write(out)
print(f"wrote {sys.argv[2]} (database_uri from MLFLOW_AUTH_DATABASE_URI)")
