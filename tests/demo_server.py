"""The demo (example_project/) run as bin/demo runs it: its own settings on a throwaway SQLite
file, in subprocesses, so that nothing depends on (or disturbs) the test settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .conftest import free_port
from .live_servers import http_call

PROJECT_DIR = Path(__file__).resolve().parent.parent / "example_project"

#: The start of a script for ``run(["-c", ...])``: Django set up with the demo's settings, a
#: test client ``http``, and ``log_in(client)``, the ``Authorization`` of a fresh login of the
#: demo user through that client.
LOG_IN = """
import json, django
django.setup()
from django.test import Client

http = Client(HTTP_HOST="localhost")

def log_in(client):
    response = http.post(
        "/api/auth/login/",
        {"username": "demo", "password": "demo-password", "client": client},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return {"HTTP_AUTHORIZATION": "Token " + response.json()["token"]}
"""


def demo_environment(db: Path, **extra: str) -> dict[str, str]:
    """This process's environment for the demo on ``db``: none of the DURIN_DEMO_ variables
    a developer may have set, and the demo's settings, not the tests' (pytest-django exports
    those)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DURIN_DEMO_")}
    env.update(DJANGO_SETTINGS_MODULE="example_project.settings", DURIN_DEMO_SQLITE_PATH=str(db))
    env.update(extra)
    return env


def run(args: list[str], db: Path) -> str:
    """Run the demo's Python with its settings on ``db``; fail with its output if it fails."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_DIR,
        env=demo_environment(db),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def seed(db: Path) -> Path:
    """Migrate ``db`` and seed the demo's user and clients into it, as bin/demo does."""
    run(["manage.py", "migrate", "--verbosity", "0"], db)
    run(["manage.py", "seed_demo"], db)
    return db


@contextmanager
def running_demo(db: Path, log_path: Path, **env: str) -> Iterator[int]:
    """Serve the demo on ``db`` (seeded) with runserver on a free port; yields the port once
    the demo answers. On exit the server is stopped (killed if it will not stop) and its log
    closed; if it never answers, the error carries the log."""
    port = free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=PROJECT_DIR,
            env=demo_environment(db, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while http_status(port) != 200:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(f"the demo did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def http_status(port: int) -> int | None:
    """The status of the demo's public list of scopes, or None while nothing listens."""
    try:
        return http_call(port, "GET", "/api/scopes/")[0]
    except OSError:
        return None
