"""Two real servers share one database and one Redis: a revocation through one is seen by the
other on its very next request (CONTRACT §3, §6).

Two gunicorn processes serve example_project with ``CachedTokenAuthentication``, on a
throwaway PostgreSQL database and under a Redis key prefix of their own. Each token is
first served several times by both servers, so both have it in the shared cache; then it
is revoked through server A (or by a command run against the same database and cache) and
server B must refuse it at once. Runs in the PostgreSQL + Redis pass only.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from .live_servers import http_call, postgres_admin

PROJECT_DIR = Path(__file__).resolve().parent.parent / "example_project"
DB = settings.DATABASES["default"]
REDIS_DB = 14  # not the other suites' 15; the key prefix below keeps each run apart too
PASSWORD = "a-password-for-cross-process"
WARM_REQUESTS = 3
WRITE_CHECK_INTERVAL = 5  # the default CACHE_WRITE_CHECK_INTERVAL of the demo

pytestmark = pytest.mark.skipif(
    "postgresql" not in DB["ENGINE"] or "redis" not in settings.CACHES["default"]["BACKEND"],
    reason="needs PostgreSQL and Redis (servers share a database and a cache): "
    "runs in bin/test's PostgreSQL + Redis pass",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def call(self, method: str, path: str, token: str | None = None, body: Any = None, parse=True):
        """``(status, parsed JSON body or None)``; never raises for an HTTP error status."""
        status, _, raw = http_call(self.port, method, path, token, body)
        return status, json.loads(raw) if raw and parse else raw


@dataclass
class Deployment:
    a: Server
    b: Server
    env: dict[str, str]
    prefix: str
    redis_port: int
    redis_db: int

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run a management command of the demo against the servers' database and cache."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def shell(self, code: str) -> None:
        self.manage("shell", "--no-startup", "-c", code)

    def cache_keys(self, pattern: str) -> list[bytes]:
        """This deployment's keys that match ``pattern`` (after the prefix and version)."""
        import redis

        with redis.Redis(host="127.0.0.1", port=self.redis_port, db=self.redis_db) as client:
            return list(client.scan_iter(match=f"{self.prefix}:1:{pattern}", count=1000))

    def cache_entry(self, token: str) -> bytes | None:
        """The token's entry, in whatever namespace the servers derived."""
        import redis

        digest = hashlib.sha256(token.encode()).hexdigest()
        keys = self.cache_keys(f"durin:token:*:{digest}")
        assert len(keys) <= 1, keys
        if not keys:
            return None
        with redis.Redis(host="127.0.0.1", port=self.redis_port, db=self.redis_db) as client:
            return client.get(keys[0])


def start_server(name: str, env: dict[str, str], tmp: Path) -> Server:
    port, log = free_port(), tmp / f"gunicorn-{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1", "--timeout", "30", "example_project.wsgi:application"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the arbiter and its worker go together
    )
    return Server(name, port, process, log)


def wait_until_serving(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log.read_text()
        try:
            if server.call("GET", "/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server {server.name} did not start:\n{server.log.read_text()}")


def stop(server: Server) -> None:
    """SIGTERM to the server's process group, SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if server.process.poll() is not None:
            return
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def deploy(
    tmp: Path,
    name: str,
    redis_port: int,
    redis_db: int,
    *,
    prefix: str | None = None,
    secret_key: str = "durin-demo-not-a-secret",
    server_names: tuple[str, ...] = ("A", "B"),
) -> Iterator[Deployment]:
    """Servers A and B on database ``<test database>_<name>`` and the given Redis; all gone
    afterwards: servers stopped, database dropped, this deployment's keys deleted."""
    db_name = f"{DB['TEST']['NAME']}_{name}"
    prefix = prefix or f"durin-{name}-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURIN_DEMO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DURIN_DEMO_DB="postgres",
        DURIN_DEMO_DEBUG="0",
        PGHOST=DB["HOST"],
        PGPORT=str(DB["PORT"]),
        PGUSER=DB["USER"],
        PGDATABASE=db_name,
        DURIN_DEMO_REDIS_URL=f"redis://127.0.0.1:{redis_port}/{redis_db}",
        DURIN_DEMO_CACHE_PREFIX=prefix,
        DURIN_DEMO_SECRET_KEY=secret_key,
    )
    with postgres_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')  # a killed run's
        conn.execute(f'CREATE DATABASE "{db_name}"')
    servers: list[Server] = []
    try:
        deployment = Deployment(None, None, env, prefix, redis_port, redis_db)  # type: ignore[arg-type]
        deployment.manage("migrate", "--verbosity", "0")
        deployment.manage("seed_demo")
        usernames = [name.removeprefix("test_") for name in globals() if name.startswith("test_")]
        deployment.shell(  # one user per test, made in one go (each command starts Django)
            "from django.contrib.auth import get_user_model\n"
            f"for name in {usernames!r}:\n"
            f"    get_user_model().objects.create_user(name, password={PASSWORD!r})"
        )
        servers = [start_server(f"{name}-{server}", env, tmp) for server in server_names]
        deadline = time.monotonic() + 60
        for server in servers:
            wait_until_serving(server, deadline)
        deployment.a, deployment.b = (servers + [None])[:2]  # type: ignore[assignment]
        yield deployment
    finally:
        for server in servers:
            stop(server)
        with postgres_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        import redis

        with redis.Redis(host="127.0.0.1", port=redis_port, db=redis_db) as client:
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """On the machine's Redis, in a logical database and under a key prefix of their own."""
    with deploy(tmp_path_factory.mktemp("cross-process"), "xproc", 6379, REDIS_DB) as servers:
        yield servers


@pytest.fixture
def make_user(deployment: Deployment, request: pytest.FixtureRequest) -> str:
    """A user of the servers' database of its own, named after the test."""
    return request.node.name.removeprefix("test_")


def login(deployment: Deployment, username: str, client: str) -> str:
    body = {"username": username, "password": PASSWORD, "client": client}
    status, answer = deployment.a.call("POST", "/api/auth/login/", body=body)
    assert status == 200, answer
    return answer["token"]


def warm(deployment: Deployment, *tokens: str) -> None:
    """Serve each token several times from each server: it is in the shared cache."""
    for token in tokens:
        for server in (deployment.a, deployment.b):
            for _ in range(WARM_REQUESTS):
                status, answer = server.call("GET", "/api/hello/", token)
                assert status == 200, (server.name, answer)
        entry = deployment.cache_entry(token)
        assert entry is not None and isinstance(pickle.loads(entry), tuple), entry


def refused_by_b(deployment: Deployment, token: str) -> bool:
    status, answer = deployment.b.call("GET", "/api/hello/", token)
    assert status in (200, 401), answer
    return status == 401


def test_logout(deployment, make_user):
    token = login(deployment, make_user, "web")
    warm(deployment, token)
    assert deployment.a.call("POST", "/api/auth/logout/", token)[0] == 204
    assert refused_by_b(deployment, token)


def test_logout_all(deployment, make_user):
    web, mobile = login(deployment, make_user, "web"), login(deployment, make_user, "mobile")
    warm(deployment, web, mobile)
    assert deployment.a.call("POST", "/api/auth/logoutall/", web)[0] == 204
    assert refused_by_b(deployment, web)
    assert refused_by_b(deployment, mobile)


def test_session_delete(deployment, make_user):
    web, mobile = login(deployment, make_user, "web"), login(deployment, make_user, "mobile")
    warm(deployment, web, mobile)
    status, sessions = deployment.a.call("GET", "/api/auth/sessions/", web)
    assert status == 200
    (other,) = [s["id"] for s in sessions if not s["is_current"]]
    assert deployment.a.call("DELETE", f"/api/auth/sessions/{other}", web)[0] == 204
    assert refused_by_b(deployment, mobile)
    assert not refused_by_b(deployment, web)


def test_login_on_another_device(deployment, make_user):
    """The web client allows one session: a second login through A ends the first on B."""
    first = login(deployment, make_user, "web")
    warm(deployment, first)
    second = login(deployment, make_user, "web")
    assert refused_by_b(deployment, first)
    assert not refused_by_b(deployment, second)


def test_password_change(deployment, make_user):
    token = login(deployment, make_user, "web")
    warm(deployment, token)
    deployment.shell(
        "from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.get(username={make_user!r}); "
        "u.set_password('another password'); u.save()"
    )
    assert refused_by_b(deployment, token)


def test_deactivation(deployment, make_user):
    token = login(deployment, make_user, "web")
    warm(deployment, token)
    deployment.shell(
        "from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.get(username={make_user!r}); "
        "u.is_active = False; u.save()"
    )
    assert refused_by_b(deployment, token)


def test_reuse_of_a_rotated_token_revokes_the_session_on_every_server(deployment, make_user):
    """A refresh through A rotates the token; both servers serve the replaced one during its
    grace; replayed at B after it, the session ends, and A (which has the new token
    cached) refuses the new token at once (CONTRACT §9)."""
    deployment.shell(
        "from durin.models import Client; Client.objects.get_or_create(name='rotating', "
        "defaults={'rotate_on_refresh': True, 'session_limit': None})"
    )
    first = login(deployment, make_user, "rotating")
    warm(deployment, first)
    status, answer = deployment.a.call("POST", "/api/auth/refresh/", first)
    assert status == 200 and set(answer) == {"token", "expiry"}, answer
    second = answer["token"]
    warm(deployment, second)
    assert not refused_by_b(deployment, first)  # in its grace, on the other server too
    deployment.shell(  # the grace ends: moved into the past rather than waited for
        "from datetime import timedelta; from django.db.models import F; "
        "from durin.models import SupersededToken; SupersededToken.objects.update("
        "superseded_at=F('superseded_at') - timedelta(minutes=1))"
    )
    assert refused_by_b(deployment, first)
    assert deployment.a.call("GET", "/api/hello/", second)[0] == 401
    assert refused_by_b(deployment, second)
    assert deployment.a.call("POST", "/api/auth/refresh/", second)[0] == 401


def test_revocation_during_a_cache_outage_by_a_process_that_then_exits(
    private_redis, tmp_path, request
):
    """Redis stalls with two tokens cached on both servers. B serves a request meanwhile,
    so it sees the outage; a command revokes one token and exits with the marker it could
    not write. Once Redis is back with the entry intact, B draws a new generation on its
    next request, and neither B nor A (which saw no outage) trusts the entry."""
    username = request.node.name.removeprefix("test_")
    with deploy(tmp_path, "xproc_outage", private_redis.port, 0) as servers:
        kept, revoked = login(servers, username, "web"), login(servers, username, "mobile")
        warm(servers, kept, revoked)
        digest = hashlib.sha256(revoked.encode()).hexdigest()
        private_redis.send_signal(signal.SIGSTOP)
        try:
            # Authentication falls back to the database; the view's DRF throttle then
            # fails on the stalled cache (README: Running on several processes).
            assert servers.b.call("GET", "/api/hello/", kept, parse=False)[0] == 500
            servers.shell(
                "from durin.models import AuthToken; "
                f"AuthToken.objects.get(digest={digest!r}).delete()"
            )
        finally:
            private_redis.send_signal(signal.SIGCONT)
        assert isinstance(pickle.loads(servers.cache_entry(revoked)), tuple)  # it survived
        assert refused_by_b(servers, revoked)
        assert servers.a.call("GET", "/api/hello/", revoked)[0] == 401
        assert servers.a.call("GET", "/api/hello/", kept)[0] == 200


@pytest.mark.parametrize(
    "secret_keys",
    [("one key", "one key"), ("one key", "another key")],
    ids=["same-SECRET_KEY", "different-SECRET_KEYs"],
)
def test_deployments_sharing_a_cache_trust_none_of_each_other(
    private_redis, tmp_path, request, secret_keys
):
    """Two deployments on one Redis database under one KEY_PREFIX, each with its own
    PostgreSQL database: the same username has the same id in both, yet a token of one,
    cached there, is refused by the other; each keeps a generation of its own."""
    username = request.function.__name__.removeprefix("test_")
    shared = {"prefix": f"durin-shared-{uuid.uuid4().hex[:12]}", "server_names": ("A",)}
    with (
        deploy(
            tmp_path, "xdeploy_one", private_redis.port, 0, secret_key=secret_keys[0], **shared
        ) as one,
        deploy(
            tmp_path, "xdeploy_two", private_redis.port, 0, secret_key=secret_keys[1], **shared
        ) as two,
    ):
        for here, there in ((one, two), (two, one)):
            token = login(here, username, "web")
            for _ in range(WARM_REQUESTS):
                assert here.a.call("GET", "/api/hello/", token)[0] == 200
            assert isinstance(pickle.loads(here.cache_entry(token)), tuple)
            status, answer = there.a.call("GET", "/api/hello/", token)
            assert status == 401, answer
        assert len(one.cache_keys("durin:token:*:generation")) == 2


def test_a_replica_that_refuses_writes_is_distrusted_within_the_interval(
    private_redis, tmp_path, request
):
    """Redis turns into a replica of an unreachable master (a failover gone wrong): reads
    are served, writes refused. A command revokes a token cached on both servers and exits
    with the marker it could not write; once their write check is due, both refuse it."""
    import redis

    username = request.node.name.removeprefix("test_")
    with deploy(tmp_path, "xproc_readonly", private_redis.port, 0) as servers:
        token = login(servers, username, "web")
        warm(servers, token)
        digest = hashlib.sha256(token.encode()).hexdigest()
        with redis.Redis(host="127.0.0.1", port=private_redis.port) as admin:
            admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
            try:
                servers.shell(
                    "from durin.models import AuthToken; "
                    f"AuthToken.objects.get(digest={digest!r}).delete()"
                )
                assert isinstance(pickle.loads(servers.cache_entry(token)), tuple)  # unmarked
                # Each server last proved the cache writable before the revocation: waiting
                # one CACHE_WRITE_CHECK_INTERVAL (the default) makes its next check due.
                time.sleep(WRITE_CHECK_INTERVAL)
                assert refused_by_b(servers, token)
                assert servers.a.call("GET", "/api/hello/", token)[0] == 401
            finally:
                admin.execute_command("REPLICAOF", "NO", "ONE")
        assert isinstance(pickle.loads(servers.cache_entry(token)), tuple)  # still unmarked
        assert refused_by_b(servers, token)
        assert servers.a.call("GET", "/api/hello/", token)[0] == 401
