# The migration Job's first step: waits until each database server named by the environment
# variables given accepts a login, at most the Go duration given first ("4m", "90s"), saying what it
# waits for (host and port, never a user name or password). Exit code 3 when the time is up.
import os
import re
import sys
import time

import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}
TIMEOUTS = {"postgresql": {"connect_timeout": 5}, "mysql": {"connect_timeout": 5}}
UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


def seconds(text):
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", text)
    return sum(float(n) * UNITS[u] for n, u in parts)


def first_line(err, url):
    lines = str(getattr(err, "orig", None) or err).strip().splitlines() or [type(err).__name__]
    line = lines[0]
    if url.password:
        line = line.replace(str(url.password), "***")
    if url.username:  # as a whole word: a short name may be part of other words
        line = re.sub(rf"(?<!\w){re.escape(url.username)}(?!\w)", "***", line)
    return line


def wait(name, deadline, limit):
    url = make_url(os.environ[name])
    family = url.get_backend_name()
    what = f"{family} at {url.host or 'localhost'}:{url.port or PORTS.get(family, '?')}"
    print(f"waiting for {what} ({name}) to accept a login, at most {limit}", flush=True)
    try:
        engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args=TIMEOUTS.get(family, {}))
    except Exception as err:  # a missing driver: waiting cannot help
        print(f"cannot connect to {what}: {first_line(err, url)}", flush=True)
        sys.exit(1)
    said = None
    while True:
        try:
            with engine.connect():
                print(f"{what} accepts a login", flush=True)
                return
        except Exception as err:  # every driver has its own errors
            line = first_line(err, url)
            if line != said:
                print(f"not yet: {line}", flush=True)
                said = line
        if time.monotonic() >= deadline:
            print(f"gave up: {what} did not accept a login within {limit} (migrations.waitTimeout)", flush=True)
            sys.exit(3)
        time.sleep(2)


def main():
    limit = sys.argv[1]
    deadline = time.monotonic() + seconds(limit)
    for name in sys.argv[2:]:
        wait(name, deadline, limit)


main()
