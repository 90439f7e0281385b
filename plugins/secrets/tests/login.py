"""Runs MLflow 3.17 as the chart would run it with the values snippet `kubectl mlflow secrets auth`
printed and the Secret it wrote (argv: snippet file, JSON {"name", "data"} of the Secret), through
the contract suite's harness (tests/contract/contract.py), and logs the admin in with the Secret's
password. Prints the statuses as JSON; exit 0 when the admin gets in and a wrong password does not.
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "contract"))
import contract  # noqa: E402

snippet, secret_file = sys.argv[1], sys.argv[2]
secret = json.loads(Path(secret_file).read_text())
for key, value in secret["data"].items():
    contract.TEST_SECRETS[(secret["name"], key)] = (lambda v: lambda inst: v)(value)
contract.HEALTH_TIMEOUT = 240.0  # a loaded machine; a bound, not a measurement

root = Path(tempfile.mkdtemp(prefix="secrets-login-"))
# One worker: uvicorn's supervisor kills workers that answer its pings late, which a loaded test
# machine makes happen; the login path does not depend on the worker count.
server = contract.Server(snippet, root, sets=("server.value_options.workers=1",))
try:
    server.start()
    if server.start_error:
        print(server.start_error + "\n" + server.describe() + "\n" + server.log_tail(), file=sys.stderr)
        sys.exit(1)
    user = server.inst.rendered_env["MLFLOW_AUTH_ADMIN_USERNAME"]
    path = f"/api/2.0/mlflow/users/get?username={user}"
    admin, _, body = server.request(path, auth=(user, secret["data"]["admin-password"]))
    wrong, _, _ = server.request(path, auth=(user, "wrong-password-123"))
    print(json.dumps({"auth": server.auth, "user": user, "admin": admin, "wrong": wrong, "body": body.decode(errors="replace")[:200]}))
    sys.exit(0 if server.auth and admin == 200 and wrong == 401 else 1)
finally:
    server.stop()
    contract.rmtree(root)
