"""A real PostgreSQL server for wfctl's tests (Debian's ``postgresql`` package), and the Workflow SDK schema.

What it gives
-------------

* :class:`PostgresServer` — ``initdb`` + ``postgres`` in a fresh temporary directory, listening on
  127.0.0.1 on a free port (and a Unix socket inside that directory). When the test process runs as root the
  server runs as an unprivileged system user (``postgres`` if it exists, else ``nobody``; override with
  ``WFCTL_PG_USER``) that owns the directory, because PostgreSQL refuses to run as root. ``start()`` waits
  for a real connection with a deadline; ``stop()`` signals the postmaster by its PID (SIGINT = PostgreSQL's
  "fast" shutdown, then SIGKILL after a grace period); ``restart()`` brings it back on the **same port and
  data directory** (the reconnect tests use this). The superuser ``postgres`` connects over the Unix socket
  with ``trust``; TCP connections need a password (SCRAM), so wrong passwords really fail.
* :func:`ensure_postgres` / :func:`require_postgres` — find the binaries (``WFCTL_PG_BINDIR``, else the
  newest ``/usr/lib/postgresql/<v>/bin``, else ``initdb`` on PATH). ``tests/run`` installs Debian's
  ``postgresql``; a fixture never does (``require_postgres``): missing binaries fail under ``CI=true`` with a
  message naming ``tests/run``, and skip elsewhere. ``ensure_postgres()`` outside the tests (benchmarks) may
  still install them when root with ``apt-get`` (disable with ``WFCTL_PG_INSTALL=0``).
* :func:`bootstrap_world` — ``npx --package=@workflow/world-postgres bootstrap`` run in the fixture app's
  directory (the real drizzle migrations and graphile-worker schema), falling back to the package's own
  ``bin/setup.js`` when npx cannot resolve it offline.
* :func:`record_world` — runs the real fixture app (``examples/workflow-sdk-app``) on the Postgres world
  against a database and leaves a known set of runs written by the world itself.
* pytest fixtures: ``pg_server`` (session: one server with role/database ``world``/``world``),
  ``world_template`` (session: a bootstrapped database used as a template), ``world_db`` (a fresh copy of
  the template per test, as a DSN), ``recorded_world`` (session: a database the real app wrote, and its run
  ids) and ``recorded_db`` (a fresh copy of it per test: ``(dsn, ids)``). Import them into a test module.

Standard library plus psycopg 3 (a test dependency).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

from .net import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "examples" / "workflow-sdk-app"

SUPERUSER = "postgres"
SUPERPASSWORD = "postgres"


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed (and could not be installed)."""


def _is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, or None."""
    override = os.environ.get("WFCTL_PG_BINDIR")
    candidates: list[Path] = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    return None


def ensure_postgres(install: bool | None = None) -> Path:
    """The binaries' directory; installs Debian's ``postgresql`` when missing and allowed (root + apt-get)."""
    found = find_bindir()
    if found:
        return found
    if install is None:
        install = os.environ.get("WFCTL_PG_INSTALL", "1") not in ("0", "false", "no")
    apt = shutil.which("apt-get")
    if install and apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        argv = [apt, "install", "-y", "--no-install-recommends", "postgresql"]
        if subprocess.run(argv, env=env, capture_output=True, timeout=900).returncode != 0:
            subprocess.run([apt, "update"], env=env, capture_output=True, timeout=900)
            subprocess.run(argv, env=env, capture_output=True, timeout=900)
        found = find_bindir()
        if found:
            return found
    raise PostgresMissing(
        "PostgreSQL server binaries (initdb, postgres) not found; install Debian's 'postgresql' "
        "package or set WFCTL_PG_BINDIR"
    )


def require_postgres() -> Path:
    """:func:`ensure_postgres` for tests, which never install anything (``tests/run`` does): fail under CI=true,
    skip elsewhere."""
    import pytest

    try:
        return ensure_postgres(install=False)
    except PostgresMissing as exc:
        exc = PostgresMissing(f"{exc}; tests/run installs it (apt-get, as root)")
        if _is_ci():
            pytest.fail(f"peer missing under CI: {exc}")
        pytest.skip(f"peer missing: {exc}")
        raise  # pragma: no cover - pytest.skip raises


def _service_user() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as (None: run as ourselves, we are not root)."""
    if os.geteuid() != 0:
        return None
    names = [os.environ["WFCTL_PG_USER"]] if os.environ.get("WFCTL_PG_USER") else ["postgres", "nobody"]
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresMissing(
        f"no unprivileged user to run PostgreSQL as (tried {', '.join(names)}); create one or set WFCTL_PG_USER"
    )


def _temp_parent() -> str:
    """A temporary directory every user can traverse (pytest's own tmp dirs are 0700 root)."""
    parent = tempfile.gettempdir()
    try:
        mode = os.stat(parent).st_mode
    except OSError:
        return "/tmp"
    return parent if mode & 0o001 else "/tmp"


_LIVE: dict[int, "PostgresServer"] = {}


@atexit.register
def _stop_leftovers() -> None:  # a crashed test session must not leave servers behind
    for server in list(_LIVE.values()):
        with contextlib.suppress(Exception):
            server.stop(timeout=5)


class PostgresServer:
    """One throw-away PostgreSQL cluster. Use as a context manager, or call ``init()``/``start()``/``cleanup()``."""

    def __init__(
        self,
        bindir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        settings: Mapping[str, str] | None = None,
    ):
        self.bindir = Path(bindir) if bindir else ensure_postgres()
        self.host = host
        self.port = port or free_port(host)
        self.user = _service_user()
        self._owns_dir = base_dir is None
        self.base = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="wfctl-pg-", dir=_temp_parent()))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base
        self.log_path = self.base / "postgres.log"
        self.settings = {
            "listen_addresses": host,
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",  # a test cluster: speed over durability
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "timezone": "UTC",
            "log_timezone": "UTC",
            "max_connections": "200",
            **(settings or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._chown(self.base)
        os.chmod(self.base, 0o700)

    # -- helpers -----------------------------------------------------------------------------------------
    def _chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"cwd": str(self.base), "stdin": subprocess.DEVNULL}
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
            kwargs["env"] = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self.base),
                "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8",
                "USER": self.user.pw_name,
            }
        else:
            kwargs["env"] = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        return kwargs

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle -----------------------------------------------------------------------------------------
    def init(self) -> "PostgresServer":
        """``initdb``: superuser ``postgres`` (password ``postgres``), trust on the socket, SCRAM over TCP."""
        if (self.data_dir / "PG_VERSION").exists():
            return self
        pwfile = self.base / "pwfile"
        pwfile.write_text(SUPERPASSWORD + "\n")
        self._chown(pwfile)
        argv = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ]
        proc = subprocess.run(
            argv + ["--locale=C.UTF-8"], capture_output=True, text=True, timeout=120, **self._popen_kwargs()
        )
        if proc.returncode != 0:  # no C.UTF-8 locale on this system
            shutil.rmtree(self.data_dir, ignore_errors=True)
            proc = subprocess.run(
                argv + ["--no-locale"], capture_output=True, text=True, timeout=120, **self._popen_kwargs()
            )
        pwfile.unlink()
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> "PostgresServer":
        """Start the postmaster and wait, with a deadline, until it accepts connections."""
        if self.is_running():
            return self
        self.init()
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for key, value in self.settings.items():
            argv += ["-c", f"{key}={value}"]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **self._popen_kwargs()
            )
        finally:
            log.close()
        _LIVE[id(self)] = self
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop(timeout=5)
            raise
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while True:
            if not self.is_running():
                raise RuntimeError(
                    f"postgres exited with {self.proc.returncode if self.proc else None}:\n{self.read_log()[-3000:]}"
                )
            try:
                with psycopg.connect(self.admin_conninfo(), connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.Error as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"postgres on port {self.port} not ready after {timeout}s ({last}):\n{self.read_log()[-3000:]}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0, mode: str = "fast") -> int | None:
        """Stop by PID: SIGINT ("fast": abort transactions, disconnect clients), SIGTERM ("smart") or SIGQUIT
        ("immediate"); SIGKILL after ``timeout``. Returns the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            sig = {"fast": signal.SIGINT, "smart": signal.SIGTERM, "immediate": signal.SIGQUIT}[mode]
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _LIVE.pop(id(self), None)
        return proc.returncode

    def restart(self, timeout: float = 30.0, mode: str = "fast") -> "PostgresServer":
        """Stop and start again on the same port and data directory."""
        self.stop(timeout=timeout, mode=mode)
        return self.start(timeout=timeout)

    def cleanup(self) -> None:
        self.stop(timeout=10)
        if self._owns_dir:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"<PostgresServer pid={self.pid} {self.host}:{self.port} dir={self.base}>"

    # -- connecting ----------------------------------------------------------------------------------------
    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """The superuser over the Unix socket (trust)."""
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    def dsn(
        self,
        user: str = "world",
        password: str | None = "world",
        dbname: str = "world",
        host: str | None = None,
        port: int | None = None,
    ) -> str:
        """A ``postgresql://`` URL over TCP, like the Workflow SDK's ``WORKFLOW_POSTGRES_URL``."""
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@{host or self.host}:{port or self.port}/{dbname}"

    def execute(self, sql: str, params: Any = None, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit); returns the rows, if any."""
        import psycopg

        with psycopg.connect(self.admin_conninfo(dbname), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def create_role(self, user: str = "world", password: str = "world") -> None:
        from psycopg import sql

        if not self.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [user]):
            self.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
                .format(sql.Identifier(user), sql.Literal(password))
                .as_string(None)
            )

    def terminate_connections(self, dbname: str) -> None:
        """End every session connected to ``dbname`` (a template must have none)."""
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        )

    def create_database(
        self, name: str, owner: str = "world", template: str | None = None, timeout: float = 10.0
    ) -> None:
        import psycopg
        from psycopg import sql

        query = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
        if template:
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        deadline = time.monotonic() + timeout
        while True:
            if template:
                self.terminate_connections(template)
            try:
                self.execute(query.as_string(None))
                return
            except psycopg.errors.ObjectInUse:  # a session of the template was still closing
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)).as_string(None))

    def create_world(self, user: str = "world", password: str = "world", dbname: str = "world") -> str:
        """Role + database as the Workflow SDK's default URL expects them; returns the DSN."""
        self.create_role(user, password)
        if not self.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]):
            self.create_database(dbname, owner=user)
        return self.dsn(user, password, dbname)


# -- the Workflow SDK schema ---------------------------------------------------------------------------------


def node_ready(app_dir: Path = APP_DIR) -> bool:
    return bool(shutil.which("node")) and (app_dir / "node_modules" / "@workflow" / "world-postgres").is_dir()


def bootstrap_world(dsn: str, app_dir: Path = APP_DIR, timeout: float = 180.0) -> str:
    """The world's own set-up: ``npx --package=@workflow/world-postgres bootstrap`` (drizzle migrations into
    schema ``workflow`` + table ``workflow_drizzle.workflow_migrations``, then graphile-worker's schema).
    Returns the command's output. Raises RuntimeError on failure."""
    env = {
        **os.environ,
        "WORKFLOW_POSTGRES_URL": dsn,
        "npm_config_offline": "true",
        "npm_config_update_notifier": "false",
        "NO_COLOR": "1",
    }
    env.pop("DATABASE_URL", None)
    attempts = []
    if shutil.which("npx"):
        attempts.append(["npx", "--yes", "--package=@workflow/world-postgres", "bootstrap"])
    setup = app_dir / "node_modules" / "@workflow" / "world-postgres" / "bin" / "setup.js"
    if setup.exists() and shutil.which("node"):
        attempts.append(["node", str(setup)])
    if not attempts:
        raise RuntimeError("neither npx nor the app's node_modules/@workflow/world-postgres is available")
    outputs = []
    for argv in attempts:
        try:
            proc = subprocess.run(
                argv, cwd=app_dir, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            outputs.append(f"{' '.join(argv)}: timed out after {timeout}s")
            continue
        if proc.returncode == 0:
            return proc.stdout + proc.stderr
        outputs.append(f"{' '.join(argv)} exited with {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    raise RuntimeError("bootstrap failed:\n" + "\n".join(outputs))


def record_world(server: PostgresServer, dbname: str, app_dir: Path = APP_DIR, timeout: float = 60.0) -> dict[str, str]:
    """Run the real fixture app on the Postgres world against ``dbname`` (already bootstrapped) and leave a
    known set of runs behind, written by the world itself. Returns ``{role: runId}``:

    ``sleeping`` demoWorkflow("Ada", "1h") — running, one pending wait, two stream chunks;
    ``hook`` approvalWorkflow("doc1") — running, waiting on hook ``approval:doc1``;
    ``failed`` failingWorkflow("bad input") — failed, ``USER_ERROR``;
    ``completed`` demoWorkflow("Cy", "1s") — completed after a short sleep (wait created and completed);
    ``logs`` logsWorkflow("job1") — completed, a default stream and a closed ``logs`` stream;
    ``flaky`` flakyWorkflow(1) — completed on attempt 2 (a ``step_retrying`` event);
    ``approved`` approvalWorkflow("doc2") — resumed through its hook, completed;
    ``cancelled`` demoWorkflow("Bo", "1h") — cancelled by the official CLI while sleeping.
    The app is stopped before returning.
    """
    import psycopg

    from tests.doubles.wfapp import WorkflowApp, wait_until

    dsn = server.dsn(dbname=dbname)
    env = {"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres", "WORKFLOW_POSTGRES_URL": dsn}
    app = WorkflowApp(app_dir)
    ids: dict[str, str] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:

        def status(run_id: str) -> str | None:
            rows = conn.execute("SELECT status::text FROM workflow.workflow_runs WHERE id = %s", [run_id]).fetchall()
            return rows[0][0] if rows else None

        def has(sql: str, run_id: str) -> bool:
            return bool(conn.execute(sql, [run_id]).fetchall())

        waiting = "SELECT 1 FROM workflow.workflow_waits WHERE run_id = %s AND status = 'waiting'"
        hooked = "SELECT 1 FROM workflow.workflow_hooks WHERE run_id = %s"
        with app.start(env=env) as srv:
            ids["sleeping"] = srv.start_run("demoWorkflow", ["Ada", "1h"])
            ids["hook"] = srv.start_run("approvalWorkflow", ["doc1"])
            ids["failed"] = srv.start_run("failingWorkflow", ["bad input"])
            ids["completed"] = srv.start_run("demoWorkflow", ["Cy", "1s"])
            ids["logs"] = srv.start_run("logsWorkflow", ["job1"])
            ids["flaky"] = srv.start_run("flakyWorkflow", [1])
            ids["approved"] = srv.start_run("approvalWorkflow", ["doc2"])
            ids["cancelled"] = srv.start_run("demoWorkflow", ["Bo", "1h"])
            wait_until(lambda: has(hooked, ids["approved"]), timeout, message="the doc2 hook")
            srv.resume_hook("approval:doc2", {"approved": True, "by": "Dee"})
            for role in ("sleeping", "cancelled"):
                wait_until(lambda r=role: has(waiting, ids[r]), timeout, message=f"the {role} run's sleep")
            wait_until(lambda: has(hooked, ids["hook"]), timeout, message="the doc1 hook")
            srv.cancel(ids["cancelled"])
            expected = {
                "failed": "failed",
                "completed": "completed",
                "logs": "completed",
                "flaky": "completed",
                "approved": "completed",
                "cancelled": "cancelled",
            }
            for role, wanted in expected.items():
                wait_until(lambda r=role, w=wanted: status(ids[r]) == w, timeout, message=f"{role} to be {wanted}")
    server.terminate_connections(dbname)
    return ids


def require_node_world(app_dir: Path = APP_DIR) -> None:
    """Node and the app's ``node_modules`` (with @workflow/world-postgres) are needed to bootstrap."""
    import pytest

    if node_ready(app_dir):
        return
    what = "node and examples/workflow-sdk-app/node_modules (run npm ci there) to bootstrap the Postgres world"
    if _is_ci():
        pytest.fail(f"peer missing under CI: {what}")
    pytest.skip(f"peer missing: {what}")


# -- pytest fixtures ------------------------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - the module is also usable from benchmarks without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def pg_server() -> Iterator[PostgresServer]:
        """One PostgreSQL server for the session, with role and database ``world``/``world``."""
        bindir = require_postgres()
        server = PostgresServer(bindir)
        try:
            server.start()
            server.create_world()
            yield server
        finally:
            server.cleanup()

    @pytest.fixture(scope="session")
    def world_template(pg_server: PostgresServer) -> str:
        """A database bootstrapped by the world's own ``bootstrap`` command; copied per test."""
        require_node_world()
        name = "world_template"
        pg_server.drop_database(name)
        pg_server.create_database(name, owner="world")
        bootstrap_world(pg_server.dsn(dbname=name))
        return name

    @pytest.fixture(scope="session")
    def recorded_world(pg_server: PostgresServer, world_template: str) -> tuple[str, dict[str, str]]:
        """A database the real app wrote through the Postgres world (see :func:`record_world`)."""
        from tests.doubles.wfapp import node_available

        if not node_available():
            if _is_ci():
                pytest.fail("peer missing under CI: node and npm to run examples/workflow-sdk-app")
            pytest.skip("peer missing: node and npm to run examples/workflow-sdk-app")
        name = "world_recorded"
        pg_server.drop_database(name)
        pg_server.create_database(name, owner="world", template=world_template)
        return name, record_world(pg_server, name)

    @pytest.fixture
    def recorded_db(
        pg_server: PostgresServer, recorded_world: tuple[str, dict[str, str]]
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """A fresh copy of the recorded database for one test: ``(dsn, {role: runId})``."""
        template, ids = recorded_world
        name = f"rec_{uuid.uuid4().hex[:12]}"
        pg_server.create_database(name, owner="world", template=template)
        try:
            yield pg_server.dsn(dbname=name), dict(ids)
        finally:
            with contextlib.suppress(Exception):
                pg_server.drop_database(name)

    @pytest.fixture
    def world_db(pg_server: PostgresServer, world_template: str) -> Iterator[str]:
        """A fresh bootstrapped database (a copy of the template) for one test; yields its DSN."""
        name = f"world_{uuid.uuid4().hex[:12]}"
        pg_server.create_database(name, owner="world", template=world_template)
        try:
            yield pg_server.dsn(dbname=name)
        finally:
            with contextlib.suppress(Exception):
                pg_server.drop_database(name)
