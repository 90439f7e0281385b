"""kubectl mlflow backup/restore: the part that runs in the release's own image, in a Job beside
the server (python3 there has MLflow, SQLAlchemy and the drivers the server uses).

The store URIs come from the environment the Job copies from the server (KMLF_STORE_URI, the auth
ini of MLFLOW_AUTH_CONFIG_PATH): they are never printed. Subcommands (argv[1]), with a JSON
settings argument (argv[2]) that holds no secret:

  backup   an uncompressed tar on stdout: tracking.db (a SQLite snapshot of the tracking store),
           auth.db (of the basic-auth store), artifacts/<path>, and last worker.json (MLflow
           version, schema revisions, counts, sha256 and size of every part)
  probe    one JSON line on stdout: what restore must know of the target before it writes
  restore  reads an archive (tar, gzip or not) on stdin; writes a marker into the target first,
           the artifacts, then the database in one transaction, verifies, removes the marker;
           a JSON report on stdout

Progress goes to stderr as `kmlf: <message>` lines.
"""

import configparser
import contextlib
import datetime
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import time

SCRATCH = os.environ.get("KMLF_SCRATCH", "/kmlf")
MARKER = "kubectl_mlflow_restore"
CHUNK = 1 << 20
# How long a finished backup waits for the client to say it has the whole stream.
ACK_WAIT = 300
# Tables of a running server's own bookkeeping: neither copied nor counted as content.
RUNTIME_TABLES = {"job_locks", "scheduler_leases", MARKER}
# The columns that hold artifact URIs, rewritten to the target's artifact root on restore.
URI_COLUMNS = [
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("model_versions", "source"),
    ("model_versions", "storage_location"),
    ("logged_models", "artifact_location"),
]
# An alembic script's own revision and the ones it follows (a string, a tuple of them, or None).
REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([0-9A-Za-z_]+)['\"]", re.M)
DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(\([^)]*\)|[^\n]*)", re.M)
QUOTED = re.compile(r"['\"]([0-9A-Za-z_]+)['\"]")
URI_TAGS = [("trace_tags", "key", "value", "mlflow.artifactLocation")]
COUNTED = {
    "experiments": "experiments",
    "runs": "runs",
    "registered_models": "registered_models",
    "model_versions": "model_versions",
    "trace_info": "traces",
    "logged_models": "logged_models",
    "metrics": "metric_rows",
    "params": "params",
    "tags": "run_tags",
}


def say(message):
    print(f"kmlf: {message}", file=sys.stderr, flush=True)


class Refused(Exception):
    """A condition the user must fix; printed as one line, exit 3."""


# --------------------------------------------------------------------------------------------
# where things are


def store_uri():
    uri = os.environ.get("KMLF_STORE_URI", "")
    if not uri or uri.startswith("$("):
        raise Refused("the server's backend store URI is not set in its environment")
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    return uri


def dialect(uri):
    return uri.split(":", 1)[0].split("+", 1)[0]


def sqlite_path(uri):
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return os.path.abspath(path)


def auth_settings():
    """(database URI, admin user name) of the basic-auth app, or None without it."""
    if os.environ.get("KMLF_AUTH") != "1":
        return None
    path = os.environ.get("MLFLOW_AUTH_CONFIG_PATH")
    if not path:
        spec = importlib.util.find_spec("mlflow")
        path = os.path.join(spec.submodule_search_locations[0], "server", "auth", "basic_auth.ini")
    config = configparser.ConfigParser()
    config.read(path)
    section = config["mlflow"] if config.has_section("mlflow") else {}
    uri = section.get("database_uri", "sqlite:///basic_auth.db")
    admin = os.environ.get("MLFLOW_AUTH_ADMIN_USERNAME") or section.get("admin_username", "admin")
    return uri, admin


def artifact_root():
    root = os.environ.get("KMLF_ARTIFACT_ROOT", "").rstrip("/")
    return root or None


def artifact_location():
    location = os.environ.get("KMLF_ARTIFACT_LOCATION", "")
    if not location or location.startswith("$("):
        return None
    if location.startswith("file://"):
        location = location[len("file://"):]
    if "://" not in location and not location.startswith("mlflow-artifacts:"):
        return os.path.abspath(location)
    return location.rstrip("/")


def is_local(location):
    return location is not None and location.startswith("/")


def mlflow_version():
    return importlib.metadata.version("mlflow")


def migrations_dir(*parts):
    spec = importlib.util.find_spec("mlflow")
    return os.path.join(spec.submodule_search_locations[0], *parts)


@functools.lru_cache(maxsize=None)
def revisions(*parts):
    """{revision: [down revisions]} of an alembic migrations directory, read from the scripts'
    text: loading them through alembic imports all of MLflow (seconds in a small pod)."""
    found = {}
    versions = os.path.join(migrations_dir(*parts), "versions")
    for name in os.listdir(versions):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(versions, name), encoding="utf-8") as script:
            text = script.read()
        revision = REVISION.search(text)
        if revision:
            down = DOWN_REVISION.search(text)
            found[revision.group(1)] = QUOTED.findall(down.group(1)) if down else []
    return found


def head_revision(*parts):
    known = revisions(*parts)
    downs = {d for ds in known.values() for d in ds}
    heads = [r for r in known if r not in downs]
    return heads[0] if len(heads) == 1 else None


def tracking_head():
    return head_revision("store", "db_migrations")


def auth_head():
    return head_revision("server", "auth", "db", "migrations")


def known_revision(revision, *parts):
    try:
        return revision in revisions(*parts)
    except OSError:
        return False


def engine_for(uri):
    import sqlalchemy

    return sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool)


def sqlite_revision(path, table="alembic_version"):
    with contextlib.closing(sqlite3.connect(path)) as db:
        try:
            row = db.execute(f'SELECT version_num FROM "{table}"').fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None


def sqlite_counts(path):
    counts = {}
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table, key in COUNTED.items():
            counts[key] = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] if table in names else 0
        if "users" in names:
            counts["users"] = db.execute("SELECT count(*) FROM users").fetchone()[0]
    return counts


def free_bytes(path):
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        st = os.statvfs(path or "/")
        return st.f_bavail * st.f_frsize
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# copying a database into a SQLite file and back


def snapshot(uri, dest, create_schema):
    """A consistent copy of the database at `uri` as the SQLite file `dest`."""
    if dialect(uri) == "sqlite":
        path = sqlite_path(uri)
        if not os.path.exists(path):
            raise Refused("the SQLite database file of the store does not exist")
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as src:
            with contextlib.closing(sqlite3.connect(dest)) as dst:
                src.backup(dst)
        return
    import sqlalchemy

    target = engine_for(f"sqlite:///{dest}")
    create_schema(target)
    source = engine_for(uri)
    src_meta = sqlalchemy.MetaData()
    src_meta.reflect(source)
    dst_meta = sqlalchemy.MetaData()
    dst_meta.reflect(target)
    with target.begin() as out:
        out.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in reversed(dst_meta.sorted_tables):
            if not table.name.startswith("alembic_version"):
                out.execute(table.delete())
    level = {"postgresql": "REPEATABLE READ", "mysql": "REPEATABLE READ"}.get(dialect(uri))
    options = {"isolation_level": level} if level else {}
    with source.connect().execution_options(**options) as conn, target.begin() as out:
        out.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in dst_meta.sorted_tables:
            if table.name.startswith("alembic_version") or table.name in RUNTIME_TABLES:
                continue
            if table.name not in src_meta.tables:
                continue
            copy_rows(conn, src_meta.tables[table.name], out, table)
        for name in [n for n in dst_meta.tables if n.startswith("alembic_version")]:
            if name in src_meta.tables:
                out.execute(dst_meta.tables[name].delete())
                copy_rows(conn, src_meta.tables[name], out, dst_meta.tables[name])


def copy_rows(conn, src_table, out, dst_table):
    # generated columns (spans.duration_ns) are computed by the target: inserting them is an error
    columns = [c.name for c in dst_table.columns if c.name in src_table.columns and c.computed is None]
    select = src_table.select().with_only_columns(*[src_table.c[c] for c in columns])
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(select)
    total = 0
    for rows in result.partitions(5000):
        out.execute(dst_table.insert(), [dict(zip(columns, row)) for row in rows])
        total += len(rows)
    if total:
        say(f"{dst_table.name}: {total} rows")


def tracking_schema(engine):
    import mlflow.store.db.utils as utils

    utils._initialize_tables(engine)


def auth_schema(engine):
    from mlflow.server.auth.db import utils

    utils.migrate(engine, "head")


# --------------------------------------------------------------------------------------------
# backup


class HashingReader:
    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size=-1):
        data = self.raw.read(size)
        self.sha.update(data)
        return data


def add_file(tar, path, name, parts):
    info = tar.gettarinfo(path, arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with open(path, "rb") as raw:
        reader = HashingReader(raw)
        tar.addfile(info, reader)
    parts[name] = {"sha256": reader.sha.hexdigest(), "size": info.size}


def local_files(root):
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            yield path, os.path.relpath(path, root)


def remote_files(repo, path=None):
    for info in repo.list_artifacts(path):
        if info.is_dir:
            yield from remote_files(repo, info.path)
        else:
            yield info.path


def artifact_repo(location):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(location)


def cmd_backup(settings):
    os.makedirs(SCRATCH, exist_ok=True)
    uri = store_uri()
    tracking = os.path.join(SCRATCH, "tracking.db")
    say("snapshot of the tracking store")
    snapshot(uri, tracking, tracking_schema)
    revision = sqlite_revision(tracking)
    manifest = {
        "format": 1,
        "mlflow_version": mlflow_version(),
        "store": dialect(uri),
        "revisions": {"tracking": revision},
        "counts": sqlite_counts(tracking),
        "artifact_root": artifact_root(),
        "artifact_location_kind": None,
        "parts": {},
    }
    auth = auth_settings()
    auth_db = None
    if auth:
        auth_db = os.path.join(SCRATCH, "auth.db")
        say("snapshot of the basic-auth store")
        snapshot(auth[0], auth_db, auth_schema)
        manifest["revisions"]["auth"] = sqlite_revision(auth_db, "alembic_version_auth")
        manifest["counts"]["users"] = sqlite_counts(auth_db).get("users", 0)
    out = sys.stdout.buffer
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK, copybufsize=CHUNK) as tar:
        add_file(tar, tracking, "tracking.db", manifest["parts"])
        os.remove(tracking)
        if auth_db:
            add_file(tar, auth_db, "auth.db", manifest["parts"])
            os.remove(auth_db)
        if not settings.get("no_artifacts"):
            add_artifacts(tar, manifest)
        data = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo("worker.json")
        info.size = len(data)
        info.mtime = int(time.time())
        import io

        tar.addfile(info, io.BytesIO(data))
    out.flush()
    if settings.get("ack"):
        wait_for_ack()


def wait_for_ack():
    """Waits until the client has the whole stream (a line on stdin, at most ACK_WAIT seconds):
    this process's exit status could otherwise overtake the stream's last bytes in the API server
    and cut the client's copy short."""
    import select

    readable, _, _ = select.select([sys.stdin], [], [], ACK_WAIT)
    if readable:
        sys.stdin.buffer.readline()


def add_artifacts(tar, manifest):
    location = artifact_location()
    files = bytes_total = 0
    if location is None:
        say("the server names no artifact store: no artifacts")
        return
    if is_local(location):
        manifest["artifact_location_kind"] = "volume"
        if not os.path.isdir(location):
            say("the artifact directory does not exist yet: no artifacts")
            return
        for path, rel in local_files(location):
            add_file(tar, path, f"artifacts/{rel}", manifest["parts"])
            files += 1
            bytes_total += manifest["parts"][f"artifacts/{rel}"]["size"]
    else:
        manifest["artifact_location_kind"] = location.split(":", 1)[0]
        repo = artifact_repo(location)
        with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
            for rel in remote_files(repo):
                local = repo.download_artifacts(rel, dst_path=tmp)
                add_file(tar, local, f"artifacts/{rel}", manifest["parts"])
                os.remove(local)
                files += 1
                bytes_total += manifest["parts"][f"artifacts/{rel}"]["size"]
    manifest["counts"]["artifact_files"] = files
    manifest["counts"]["artifact_bytes"] = bytes_total
    say(f"artifacts: {files} files, {bytes_total} bytes")


# --------------------------------------------------------------------------------------------
# probe: the target before anything is written


def content(uri, allowed):
    """Tables of the store holding more than MLflow makes on its first start: {table: rows}, and
    the marker of an unfinished restore. `allowed(conn, table)` is how many rows MLflow makes
    there, or None for a table that is not looked at."""
    import sqlalchemy

    engine = engine_for(uri)
    found = {}
    marker = None
    with engine.connect() as conn:
        names = sqlalchemy.inspect(conn).get_table_names()
        for name in names:
            if name.startswith("alembic_version") or name in RUNTIME_TABLES:
                continue
            allow = allowed(conn, name)
            if allow is None:
                continue
            count = conn.execute(sqlalchemy.text(f'SELECT count(*) FROM "{name}"')).scalar()
            if count > allow:
                found[name] = count - allow
        if MARKER in names:
            row = conn.exec_driver_sql(f"SELECT started, archive FROM {MARKER}").first()
            marker = {"started": row[0], "archive": row[1]} if row else {"started": "?", "archive": "?"}
    engine.dispose()
    return found, marker


def tracking_defaults(conn, name):
    import sqlalchemy

    if name == "jobs":
        return None
    if name == "experiments":
        return conn.execute(sqlalchemy.text("SELECT count(*) FROM experiments WHERE experiment_id = 0")).scalar()
    if name == "workspaces":
        return conn.execute(sqlalchemy.text("SELECT count(*) FROM workspaces WHERE name = 'default'")).scalar()
    return 0


def auth_defaults(admin):
    def allowed(conn, name):
        import sqlalchemy

        if name == "users":
            return conn.execute(sqlalchemy.text("SELECT count(*) FROM users WHERE username = :u"), {"u": admin}).scalar()
        return 0 if name.endswith("permissions") or name == "user_role_assignments" else None

    return allowed


def cmd_probe(settings):
    uri = store_uri()
    report = {
        "mlflow_version": mlflow_version(),
        "store": dialect(uri),
        "revisions": {"tracking": None, "tracking_head": tracking_head()},
        "artifact_root": artifact_root(),
        "artifact_location_kind": None,
        "free": {"scratch": free_bytes(SCRATCH)},
        "auth": False,
        "backup_revision_known": {},
    }
    for kind, revision in settings.get("backup_revisions", {}).items():
        parts = ("store", "db_migrations") if kind == "tracking" else ("server", "auth", "db", "migrations")
        report["backup_revision_known"][kind] = revision is None or known_revision(revision, *parts)
    engine = engine_for(uri)
    with engine.connect() as conn:
        from alembic.migration import MigrationContext

        report["revisions"]["tracking"] = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    found, marker = content(uri, tracking_defaults)
    report["content"] = found
    report["marker"] = marker
    if dialect(uri) == "sqlite":
        report["free"]["database"] = free_bytes(os.path.dirname(sqlite_path(uri)))
    auth = auth_settings()
    if auth:
        report["auth"] = True
        report["auth_store"] = dialect(auth[0])
        report["auth_content"], _ = content(auth[0], auth_defaults(auth[1]))
        if dialect(auth[0]) == "sqlite":
            report["free"]["auth"] = free_bytes(os.path.dirname(sqlite_path(auth[0])))
    location = artifact_location()
    if is_local(location):
        report["artifact_location_kind"] = "volume"
        report["free"]["artifacts"] = free_bytes(location)
    elif location:
        report["artifact_location_kind"] = location.split(":", 1)[0]
    print(json.dumps(report), flush=True)


# --------------------------------------------------------------------------------------------
# restore


def write_marker(uri, archive):
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    engine = engine_for(uri)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {MARKER} (started VARCHAR(32), archive VARCHAR(1000))")
        conn.exec_driver_sql(f"DELETE FROM {MARKER}")
        import sqlalchemy

        conn.execute(sqlalchemy.text(f"INSERT INTO {MARKER} VALUES (:s, :a)"), {"s": started, "a": archive})
    engine.dispose()
    return started


def drop_marker(uri):
    engine = engine_for(uri)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {MARKER}")
    engine.dispose()


class ArtifactSink:
    """Writes the archive's artifacts into the target's artifact store."""

    def __init__(self, location, tmp):
        self.location = location
        self.local = is_local(location)
        self.repo = None if self.local or location is None else artifact_repo(location)
        self.tmp = tmp
        self.written = {}

    def write(self, rel, stream):
        sha = hashlib.sha256()
        size = 0
        if self.local:
            path = os.path.join(self.location, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
        else:
            folder = tempfile.mkdtemp(dir=self.tmp)
            path = os.path.join(folder, os.path.basename(rel))
        with open(path, "wb") as out:
            while True:
                data = stream.read(CHUNK)
                if not data:
                    break
                sha.update(data)
                size += len(data)
                out.write(data)
        if not self.local:
            parent = os.path.dirname(rel)
            self.repo.log_artifact(path, parent or None)
            shutil.rmtree(os.path.dirname(path))
        self.written[rel] = {"sha256": sha.hexdigest(), "size": size}

    def verify(self, expected):
        """Reads back what was written: the same bytes (a volume) or sizes (an object store)."""
        problems = []
        if self.local:
            for rel, want in expected.items():
                path = os.path.join(self.location, rel)
                sha = hashlib.sha256()
                try:
                    with open(path, "rb") as f:
                        for block in iter(lambda: f.read(CHUNK), b""):
                            sha.update(block)
                except OSError as err:
                    problems.append(f"artifacts/{rel}: {err.strerror}")
                    continue
                if sha.hexdigest() != want["sha256"]:
                    problems.append(f"artifacts/{rel}: checksum differs after writing")
        elif expected:
            sizes = {}
            for folder in {os.path.dirname(rel) for rel in expected}:
                for info in self.repo.list_artifacts(folder or None):
                    if not info.is_dir:
                        sizes[info.path] = info.file_size
            for rel, want in expected.items():
                if sizes.get(rel) != want["size"]:
                    problems.append(f"artifacts/{rel}: {sizes.get(rel)} bytes in the store, {want['size']} in the backup")
        return problems


def receive(stream, staging, sink, archive_name):
    """Reads the archive: databases into `staging`, artifacts into the sink; returns the manifest
    and the sha256/size of what was read."""
    seen = {}
    manifest = None
    with tarfile.open(fileobj=stream, mode="r|*", bufsize=CHUNK) as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            source = tar.extractfile(member)
            if name == "manifest.json":
                manifest = json.loads(source.read())
                continue
            if name.startswith("artifacts/"):
                if sink.location is None:
                    raise Refused("the target server names no artifact store for the backup's artifacts")
                rel = name[len("artifacts/"):]
                if rel.startswith("/") or ".." in rel.split("/"):
                    raise Refused(f"{archive_name}: {name}: not a path inside the artifact store")
                sink.write(rel, source)
                seen[name] = sink.written[rel]
                continue
            sha = hashlib.sha256()
            size = 0
            target = os.path.join(staging, os.path.basename(name))
            with open(target, "wb") as out:
                for block in iter(lambda: source.read(CHUNK), b""):
                    sha.update(block)
                    size += len(block)
                    out.write(block)
            seen[name] = {"sha256": sha.hexdigest(), "size": size}
    if manifest is None:
        raise Refused(f"{archive_name} ended before its manifest (truncated?)")
    for name, want in manifest["parts"].items():
        got = seen.get(name)
        if got is None:
            raise Refused(f"{archive_name}: {name} is missing")
        if got != want:
            raise Refused(f"{archive_name}: {name}: checksum or size differs from the manifest")
    return manifest


def rewrite_uris(path, old, new):
    if not old or not new or old == new:
        return 0
    changed = 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table, column in URI_COLUMNS:
            if table in names:
                cur = db.execute(
                    f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                    f'WHERE "{column}" = ? OR substr("{column}", 1, ?) = ?',
                    (new, len(old) + 1, old, len(old) + 1, old + "/"),
                )
                changed += cur.rowcount
        for table, key_col, value_col, key in URI_TAGS:
            if table in names:
                cur = db.execute(
                    f'UPDATE "{table}" SET "{value_col}" = ? || substr("{value_col}", ?) '
                    f'WHERE "{key_col}" = ? AND substr("{value_col}", 1, ?) = ?',
                    (new, len(old) + 1, key, len(old) + 1, old + "/"),
                )
                changed += cur.rowcount
        db.commit()
    return changed


def add_marker_table(path, started, archive):
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (started VARCHAR(32), archive VARCHAR(1000))")
        db.execute(f"DELETE FROM {MARKER}")
        db.execute(f"INSERT INTO {MARKER} VALUES (?, ?)", (started, archive))
        db.commit()


def upgrade(path, schema_upgrade, revision, head, what):
    if revision == head:
        return
    say(f"migrating the {what} store of the backup from revision {revision} to {head}")
    schema_upgrade(engine_for(f"sqlite:///{path}"))


def upgrade_tracking(engine):
    import mlflow.store.db.utils as utils

    utils._upgrade_db(engine)


def upgrade_auth(engine):
    from mlflow.server.auth.db import utils

    utils.migrate_if_needed(engine, "head")


def load(staged, uri):
    """Replaces the database at `uri` with the staged SQLite file, in one transaction."""
    if dialect(uri) == "sqlite":
        with contextlib.closing(sqlite3.connect(staged)) as src:
            with contextlib.closing(sqlite3.connect(sqlite_path(uri), timeout=60)) as dst:
                src.backup(dst)
        return
    import sqlalchemy

    source = engine_for(f"sqlite:///{staged}")
    target = engine_for(uri)
    src_meta = sqlalchemy.MetaData()
    src_meta.reflect(source)
    dst_meta = sqlalchemy.MetaData()
    dst_meta.reflect(target)
    tables = [t for t in dst_meta.sorted_tables if not t.name.startswith("alembic_version") and t.name != MARKER]
    kind = dialect(uri)
    with source.connect() as conn, target.begin() as out:
        if kind == "mysql":
            out.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in reversed(tables):
            if table.name not in RUNTIME_TABLES:
                out.execute(table.delete())
        for table in tables:
            if table.name in RUNTIME_TABLES or table.name not in src_meta.tables:
                continue
            identity = kind == "mssql" and any(c.autoincrement is True for c in table.primary_key.columns)
            if identity:
                out.exec_driver_sql(f"SET IDENTITY_INSERT [{table.name}] ON")
            copy_rows(conn, src_meta.tables[table.name], out, table)
            if identity:
                out.exec_driver_sql(f"SET IDENTITY_INSERT [{table.name}] OFF")
        if kind == "postgresql":
            # Sequences follow the copied keys. Integer keys only: PostgreSQL types the query before
            # it finds no sequence, and MAX() of a text key (budget_policies) against 0 is an error.
            for table in tables:
                for column in table.primary_key.columns:
                    if not isinstance(column.type, sqlalchemy.Integer):
                        continue
                    out.execute(
                        sqlalchemy.text(
                            "SELECT setval(s::regclass, (SELECT COALESCE(MAX(" + f'"{column.name}"' + "), 0) + 1 FROM "
                            + f'"{table.name}"' + "), false) FROM pg_get_serial_sequence(:t, :c) AS s WHERE s IS NOT NULL"
                        ),
                        {"t": f'"{table.name}"', "c": column.name},
                    )
        if kind == "mysql":
            out.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    source.dispose()
    target.dispose()


def keep_target_admin(staged, auth_uri, admin):
    """The target's admin keeps the password of the target release's Secret."""
    import sqlalchemy

    engine = engine_for(auth_uri)
    with engine.connect() as conn:
        row = conn.execute(
            sqlalchemy.text("SELECT password_hash FROM users WHERE username = :u"), {"u": admin}
        ).first()
    engine.dispose()
    if row is None:
        return
    with contextlib.closing(sqlite3.connect(staged)) as db:
        if db.execute("SELECT 1 FROM users WHERE username = ?", (admin,)).fetchone():
            db.execute("UPDATE users SET password_hash = ?, is_admin = 1 WHERE username = ?", (row[0], admin))
        else:
            next_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM users").fetchone()[0]
            db.execute("INSERT INTO users (id, username, password_hash, is_admin) VALUES (?, ?, ?, 1)", (next_id, admin, row[0]))
        db.commit()


def target_counts(uri):
    import sqlalchemy

    engine = engine_for(uri)
    counts = {}
    with engine.connect() as conn:
        names = set(sqlalchemy.inspect(conn).get_table_names())
        for table, key in COUNTED.items():
            if table in names:
                counts[key] = conn.execute(sqlalchemy.text(f'SELECT count(*) FROM "{table}"')).scalar()
            else:
                counts[key] = 0
        if "users" in names:
            counts["users"] = conn.execute(sqlalchemy.text("SELECT count(*) FROM users")).scalar()
    engine.dispose()
    return counts


def cmd_restore(settings):
    uri = store_uri()
    archive = settings["archive"]
    os.makedirs(SCRATCH, exist_ok=True)
    staging = tempfile.mkdtemp(dir=SCRATCH)
    started = write_marker(uri, archive)
    say("marked the target: a restore is under way")
    sink = ArtifactSink(artifact_location(), staging)
    manifest = receive(sys.stdin.buffer, staging, sink, archive)
    say(f"received and checked {len(manifest['parts'])} parts")
    tracking = os.path.join(staging, "tracking.db")
    upgrade(tracking, upgrade_tracking, manifest["revisions"]["tracking"], tracking_head(), "tracking")
    rewritten = rewrite_uris(tracking, manifest.get("artifact_root"), artifact_root())
    if rewritten:
        say(f"{rewritten} artifact URIs now point to {artifact_root()}")
    add_marker_table(tracking, started, archive)
    auth = auth_settings()
    auth_db = os.path.join(staging, "auth.db")
    restored_auth = bool(auth) and os.path.exists(auth_db)
    if restored_auth:
        upgrade(auth_db, upgrade_auth, manifest["revisions"].get("auth"), auth_head(), "basic-auth")
        keep_target_admin(auth_db, auth[0], auth[1])
        staged_users = sqlite_counts(auth_db).get("users", 0)
        say("loading the basic-auth store")
        load(auth_db, auth[0])
    say("loading the tracking store")
    load(tracking, uri)
    counts = target_counts(uri)
    expected = {k: v for k, v in manifest["counts"].items() if k in counts}
    if restored_auth:
        expected["users"] = staged_users
        counts["users"] = target_counts(auth[0]).get("users", 0)
    problems = [f"{k}: {counts[k]} in the target, {v} in the backup" for k, v in expected.items() if counts[k] != v]
    artifacts = {n[len("artifacts/"):]: p for n, p in manifest["parts"].items() if n.startswith("artifacts/")}
    problems += sink.verify(artifacts)
    shutil.rmtree(staging, ignore_errors=True)
    report = {
        "counts": counts,
        "artifact_files": len(artifacts),
        "artifact_bytes": sum(p["size"] for p in artifacts.values()),
        "uris_rewritten": rewritten,
        "auth_restored": restored_auth,
        "problems": problems,
    }
    if not problems:
        drop_marker(uri)
    print(json.dumps(report), flush=True)
    if problems:
        sys.exit(4)


def main():
    command = sys.argv[1]
    settings = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        {"backup": cmd_backup, "probe": cmd_probe, "restore": cmd_restore}[command](settings)
    except Refused as refused:
        print(f"kmlf-refused: {refused}", file=sys.stderr, flush=True)
        sys.exit(3)
    except BrokenPipeError:
        sys.exit(5)


if __name__ == "__main__":
    main()
