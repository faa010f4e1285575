"""Private servers for tests that stop, kill or restart them: never the shared PostgreSQL or Redis.

* `private_redis`: a redis-server on a free loopback port, no persistence, stoppable and restartable on the
  same port (what a Redis outage and recovery look like to the app).
* `private_postgres`: a throwaway PostgreSQL 15 cluster (initdb as the `postgres` OS user, trust auth, a free
  port, a temp data directory), stoppable and restartable on the same port.
* `AppServer`: gunicorn serving taskforce.wsgi in a subprocess, with the environment we give it.
* `CeleryWorker`: a real `celery -A taskforce worker` subprocess whose email goes to files we can count.

Every fixture tears its server down in a finalizer, whatever the test did. Reusable by any suite: import the
classes, or request the fixtures from a conftest that does `from tests.reliability.conftest import ...`.
"""

from __future__ import annotations

import email
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it; a tiny race we accept)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(process: subprocess.Popen, *, timeout: float = 20) -> None:
    """SIGTERM (graceful), then SIGKILL if it will not go; always reaped, so no zombie outlives the test.

    Our children start in a session of their own (start_new_session=True), so the signal goes to the whole
    process group: gunicorn's workers and an embedded Celery beat go with their parent, even when killed.
    """

    def signal_group(sig: signal.Signals) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass

    if process.poll() is None:
        signal_group(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(signal.SIGKILL)
            process.wait(10)
    signal_group(signal.SIGKILL)  # anything of its group still there (its parent may have died first)


def database_url(db: dict) -> str:
    """A DATABASES entry as a postgres:// URL, for subprocesses that read DATABASE_URL."""
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_database_url() -> str:
    """The pytest-django test database (test_<name>) this process uses, for workers and app subprocesses."""
    from django.db import connections

    # The connection's settings, not settings.DATABASES: pytest-django renames the database there.
    return database_url(connections["default"].settings_dict)


test_database_url.__test__ = False  # a helper, not a test


# --- Redis ------------------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own. stop() and start() keep the port, so clients see an outage, then recovery."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.log_path = directory / "redis.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        argv = [
            REDIS_SERVER,
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(self.log_path),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port, timeout=10, process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A running private redis-server; the test may stop and restart it. Always killed at the end."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- PostgreSQL -------------------------------------------------------------------------------------------


def _as_postgres(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    # PostgreSQL refuses to run as root; the Debian package's `postgres` OS user owns the cluster.
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], check=check, capture_output=True, text=True, timeout=timeout
    )


class PostgresCluster:
    """A throwaway cluster: trust auth on 127.0.0.1 only, its socket in its own data directory."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not pytest's tmp_path: its parents are root-only (0700), and the postgres user must reach this.
        self.root = Path(tempfile.mkdtemp(prefix="taskforce-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        shutil.chown(self.root, "postgres", "postgres")
        try:
            _as_postgres(
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data} -c fsync=off"
        result = _as_postgres(
            str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log_path),
            "-o", options, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"pg_ctl start failed: {result.stderr}\n{self.log()}")

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(PG_BIN / "pg_ctl"), "stop", "-w", "-t", "30", "-m", mode, "-D", str(self.data), check=False)

    def restart(self) -> None:
        """Stop (fast: disconnects every client) and start again on the same port: what an upgrade or crash does."""
        self.stop("fast")
        self.start()

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", self.url(dbname), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    """A running private PostgreSQL cluster on a free port; the test may stop or restart it. Always removed."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"no PostgreSQL binaries in {PG_BIN} (set PG_BIN)", pytrace=False)
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


# --- the app and its worker as subprocesses ---------------------------------------------------------------

# The real entry points with one change: email goes to files in $EMAIL_FILE_PATH, so a test can count what
# was sent from another process. Done here rather than in settings.py so there is no test-only setting.
BOOT = """
import os, sys
import taskforce.settings as s
s.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                         "OPTIONS": {"file_path": os.environ["EMAIL_FILE_PATH"]}}}
if os.environ.get("TEST_FAST_HASHING"):  # the cast's passwords, hashed as tests/conftest.py does
    s.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if os.environ.get("TEST_SWEEP_SECONDS"):
    s.CELERY_BEAT_SCHEDULE["send-due-notifications"]["schedule"] = float(os.environ["TEST_SWEEP_SECONDS"])
entry = sys.argv[1]
sys.argv = sys.argv[1:]
if entry == "celery":
    from celery.__main__ import main
else:
    from gunicorn.app.wsgiapp import run as main
sys.exit(main())
"""


def service_env(*, database_url: str, redis_url: str, mail_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "taskforce.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_FILE_PATH": str(mail_dir),
        "DB_POOL_MAX": "2",
        "REQUIRE_MFA": "0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("TASKFORCE_REQUIRE_SERVICES", None)
    return env


def sent_notification_ids(mail_dir: Path) -> list[str]:
    """The notification id of every email in a file-backend directory (one entry per delivery)."""
    ids = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            # A process killed mid-write leaves a torn message without our header: not delivered.
            if chunk.strip() and (pk := email.message_from_bytes(chunk)["X-Taskforce-Notification"]):
                ids.append(pk)
    return ids


class Subprocess:
    """A logged child process; output() shows its log when an assertion needs it."""

    name: str
    log_path: Path
    process: subprocess.Popen

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", BOOT, *argv],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, for stop_process
        )

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


class CeleryWorker(Subprocess):
    """`celery -A taskforce worker` (solo pool), optionally with the beat embedded (-B)."""

    def __init__(
        self, name: str, tmp_path: Path, *, queue: str = "celery", beat: bool = False, **env_options: str
    ) -> None:
        self.name = name
        self.mail_dir = tmp_path / f"mail-{name}"
        self.log_path = tmp_path / f"{name}.log"
        argv = [
            "celery", "-A", "taskforce", "worker",
            "-P", "solo", "-c", "1", "-n", f"{name}-{queue}@%h", "-Q", queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
        ]  # fmt: skip
        if beat:
            argv += ["-B", "-s", str(tmp_path / f"{name}-beat-schedule")]
        self._spawn(argv, service_env(mail_dir=self.mail_dir, **env_options))

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} did not start:\n{self.output()}")

    def sent_ids(self) -> list[str]:
        return sent_notification_ids(self.mail_dir)


class AppServer(Subprocess):
    """gunicorn serving taskforce.wsgi on a free port: the app as deployed, in its own process."""

    def __init__(self, tmp_path: Path, *, threads: int = 2, **env_options: str) -> None:
        self.name = "app"
        self.port = free_port()
        self.mail_dir = tmp_path / "mail-app"
        self.log_path = tmp_path / "app.log"
        argv = [
            "gunicorn", "taskforce.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1", "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5",
            "--no-control-socket",  # else every gunicorn shares ~/.gunicorn/gunicorn.ctl
        ]  # fmt: skip
        self._spawn(argv, service_env(mail_dir=self.mail_dir, **env_options))
        try:
            wait_for_port(self.port, timeout=30, process=self.process)
        except AssertionError:
            self.stop()
            raise AssertionError(f"gunicorn did not start:\n{self.output()}") from None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> set[int]:
        """gunicorn's worker processes (children of the arbiter): the ones holding database connections."""
        result = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False, timeout=10
        )
        return {int(pid) for pid in result.stdout.split()}


def clone_test_schema(cluster: PostgresCluster, name: str) -> str:
    """A database in `cluster` with the test database's schema and migration history: `migrate` there then
    only creates content types and permissions (seconds, where migrating from scratch takes half a minute)."""
    source = test_database_url()
    schema = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", source],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    history = subprocess.run(
        ["pg_dump", "--data-only", "--table=django_migrations", source], check=True, capture_output=True, timeout=60
    ).stdout
    url = cluster.create_database(name)
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url],
        input=schema + history,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return url


def run_django(code: str, *, env: dict[str, str], timeout: float = 120) -> str:
    """Run Python with Django set up in a subprocess (against whatever DATABASE_URL env gives); its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout


def page_summary(body: str) -> str:
    """The gist of a response for an assertion message: Django's debug page title (the exception), else the end."""
    if match := re.search(r"<title>(.*?)</title>", body, re.DOTALL):
        return " ".join(match.group(1).split())
    return body[-1000:]


class WebClient:
    """A cookie-keeping HTTP client for an AppServer: no redirects followed, every status returned, a timeout
    on every request (a hung app is a failure, not a stuck test run)."""

    class _NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
            return None

    def __init__(self, base_url: str, *, timeout: float = 15) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), self._NoRedirects())

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, body, Location) of GET path, or of POST path with data and this session's CSRF token."""
        body = None
        if data is not None:
            token = next((c.value for c in self.cookies if c.name == "csrftoken"), "")
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        req = urllib.request.Request(self.base_url + path, data=body)  # noqa: S310 (our own loopback server)
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                return response.status, response.read().decode(errors="replace"), response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.headers.get("Location", "")

    def get(self, path: str) -> tuple[int, str, str]:
        return self.request(path)

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        return self.request(path, data)

    def sign_in(self, email_address: str, password: str) -> None:
        self.get("/accounts/login/")  # sets the CSRF cookie
        status, body, location = self.post("/accounts/login/", {"login": email_address, "password": password})
        assert status == 302, f"sign-in failed with {status}: {page_summary(body)}"
