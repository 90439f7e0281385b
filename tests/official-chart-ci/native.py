"""Reads fields of the native renderer's objects (`kubectl-mlflow-install --dry-run -o json`, on
standard input) for the official chart CI's checks, which grep helm's text:

  servicemonitor-path            the ServiceMonitor's endpoint path
  has-probe KIND                 exit 0 when the mlflow container has that probe (livenessProbe ...)
  probe KIND FIELD               a field of that probe, e.g. httpGet.path, failureThreshold
"""

import json
import sys


def objects():
    return json.load(sys.stdin)["items"]


def container():
    deployment = next(o for o in objects() if o["kind"] == "Deployment")
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "mlflow")


def main(args):
    if args[0] == "servicemonitor-path":
        monitor = next(o for o in objects() if o["kind"] == "ServiceMonitor")
        print(monitor["spec"]["endpoints"][0]["path"])
    elif args[0] == "has-probe":
        return 0 if args[1] in container() else 1
    elif args[0] == "probe":
        value = container()[args[1]]
        for key in args[2].split("."):
            value = value[key]
        print(value)
    else:
        raise SystemExit(f"unknown query {args[0]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
