"""An async ninja operation under a real ASGI server: uvicorn, in a process of its own (§11).

The server (tests/asgi_server/) serves durin's views and an async operation guarded by
``TokenAuth(CachedTokenAuthentication)``. A login through durin's DRF view gives a token;
the operation answers it from the database, then from the cache; a logout makes the very
next request a 401. The server's database is a SQLite file (an in-memory one cannot be
shared with another process), or, in the PostgreSQL pass, a throwaway PostgreSQL database;
its cache is the pass's: local memory, or Redis under a key prefix of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from .conftest import free_port
from .live_servers import http_call, postgres_admin

pytest.importorskip("ninja", reason="django-ninja (the ninja extra) is not installed")
pytest.importorskip("uvicorn", reason="uvicorn (the test group's ASGI server) is not installed")

ROOT = Path(__file__).resolve().parent.parent
DB = settings.DATABASES["default"]
ON_POSTGRES = "postgresql" in DB["ENGINE"]
ON_REDIS = "redis" in settings.CACHES["default"]["BACKEND"]
PASSWORD = "a-password-for-the-asgi-server"


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    def call(self, method: str, path: str, token: str | None = None, body: Any = None):
        """``(status, headers, parsed JSON body or None)``; never raises for an HTTP error."""
        status, headers, raw = http_call(self.port, method, path, token, body)
        return status, headers, json.loads(raw) if raw else None


@pytest.fixture
def server_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The server's environment: this checkout's durin first, its own database and cache."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.asgi_server.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "DURIN_ASGI_SQLITE": str(tmp_path / "db.sqlite3"),
    }
    prefix = f"durin-asgi-{uuid.uuid4().hex[:12]}"
    if ON_REDIS:
        env["DURIN_ASGI_REDIS_URL"] = settings.CACHES["default"]["LOCATION"]
        env["DURIN_ASGI_CACHE_PREFIX"] = prefix
    db_name = f"{DB['TEST']['NAME']}_asgi" if ON_POSTGRES else None
    if db_name:
        env["DURIN_ASGI_PG_NAME"] = db_name
        with postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')  # a killed run's
            admin.execute(f'CREATE DATABASE "{db_name}"')
    try:
        yield env
    finally:
        if db_name:
            with postgres_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if ON_REDIS:
            import redis

            with redis.Redis.from_url(env["DURIN_ASGI_REDIS_URL"]) as client:
                keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
                if keys:
                    client.delete(*keys)


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    prepared = subprocess.run(
        [sys.executable, "-m", "tests.asgi_server.prepare", "alice", PASSWORD],
        cwd=ROOT,
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    port, log = free_port(), tmp_path / "uvicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.asgi_server.asgi:application"]
        + ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--workers", "1"],
        cwd=ROOT,
        env=server_env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if server.call("GET", "/ninja/whoami")[0] == 401:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"uvicorn did not start:\n{log.read_text()}"
            time.sleep(0.05)
        yield server
    finally:
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if process.poll() is not None:
                break
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue


def test_an_async_operation_under_uvicorn_sees_a_logout_on_the_next_request(server):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    status, _, answer = server.call("POST", "/api/auth/login/", body=body)
    assert status == 200, answer
    token = answer["token"]

    status, _, answer = server.call("GET", "/ninja/whoami", token)
    assert (status, answer) == (200, {"username": "alice", "client": "web", "from_cache": False})
    for _ in range(3):
        status, _, answer = server.call("GET", "/ninja/whoami", token)
        assert (status, answer) == (200, {"username": "alice", "client": "web", "from_cache": True})

    status, _, _ = server.call("POST", "/api/auth/logout/", token)
    assert status == 204
    status, headers, answer = server.call("GET", "/ninja/whoami", token)
    assert (status, answer) == (401, {"detail": "Invalid token."})
    assert headers["WWW-Authenticate"] == (
        'Token error="invalid_token", error_description="Invalid token."'
    )
    status, headers, answer = server.call("GET", "/ninja/whoami")
    assert (status, answer) == (401, {"detail": "Unauthorized"})
    assert "Traceback" not in server.log.read_text(), server.log.read_text()
