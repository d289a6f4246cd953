"""The demo in example_project/ keeps working: it is the first thing a newcomer runs.

Each step runs in a subprocess, as bin/demo runs it, with the demo's own settings on a
throwaway SQLite file, so nothing here depends on (or disturbs) the test settings.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from .demo_server import LOG_IN, PROJECT_DIR, run

LOGIN_THEN_HELLO = (
    LOG_IN
    + """
web, mobile = log_in("web"), log_in("mobile")
print(json.dumps({
    "hello": http.get("/api/hello/", **web).json(),
    "web_only": [http.get("/api/web-only/", **web).status_code,
                 http.get("/api/web-only/", **mobile).status_code],
    "anonymous": http.get("/api/hello/").status_code,
    # mobile rotates tokens: its refresh answers a new one.
    "refresh": [sorted(http.post("/api/auth/refresh/", **web).json()),
                sorted(http.post("/api/auth/refresh/", **mobile).json())],
}))
"""
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A demo database set up twice over, as two runs of bin/demo would; and the seed outputs."""
    db = tmp_path_factory.mktemp("demo") / "db.sqlite3"
    outputs = []
    for _ in range(2):
        run(["manage.py", "migrate", "--verbosity", "0"], db)
        outputs.append(run(["manage.py", "seed_demo"], db))
    return db, outputs


def test_check_passes(tmp_path: Path) -> None:
    assert "no issues" in run(["manage.py", "check"], tmp_path / "db.sqlite3")


def test_seed_demo_is_idempotent(seeded: tuple[Path, list[str]]) -> None:
    first, second = seeded[1]
    for name in ("'demo'", "'web'", "'mobile'", "'cli'", "'durin_api_access'"):
        assert name in first and name in second
    assert "created" in first and "created" not in second
    assert second.count("up to date") == 5


def test_login_then_hello(seeded: tuple[Path, list[str]]) -> None:
    result = json.loads(run(["-c", LOGIN_THEN_HELLO], seeded[0]))
    assert result == {
        "hello": {"hello": "demo", "client": "web"},
        "web_only": [200, 403],
        "anonymous": 401,
        "refresh": [["expiry"], ["expiry", "token"]],
    }


DEMO = PROJECT_DIR.parent / "bin" / "demo"


def demo(*args: str, db: Path, port: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run bin/demo with the demo's database on ``db``; each test here expects it to stop early."""
    env = {**os.environ, "DURIN_DEMO_SQLITE_PATH": str(db)}
    env.pop("DURIN_DEMO_DB", None)
    if port is not None:
        env["PORT"] = str(port)
    return subprocess.run(
        [str(DEMO), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_demo_help_names_every_variable_the_demo_reads(flag: str, tmp_path: Path) -> None:
    settings = (PROJECT_DIR / "example_project" / "settings.py").read_text()
    variables = {
        "PORT",
        *re.findall(r"(?:os\.environ\.get|env_flag|env_seconds)\(\s*\"(\w+)\"", settings),
    }
    assert "DURIN_DEMO_SQLITE_PATH" in variables  # the pattern finds what settings.py reads

    result = demo(flag, db=tmp_path / "db.sqlite3")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: bin/demo")
    assert sorted(v for v in variables if v not in result.stdout) == []
    assert "==>" not in result.stdout  # nothing created, installed or migrated
    assert not (tmp_path / "db.sqlite3").exists()


def test_demo_refuses_unknown_arguments(tmp_path: Path) -> None:
    result = demo("--port", "8001", db=tmp_path / "db.sqlite3")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown argument '--port'" in result.stderr
    assert "Usage: bin/demo" in result.stderr


@pytest.mark.parametrize("port", ["http", "0", "65536", "-1"])
def test_demo_refuses_a_port_that_is_not_one(port: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(DEMO)],
        env={**os.environ, "PORT": port},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert f"PORT must be a port number from 1 to 65535, not '{port}'" in result.stderr


def test_demo_reports_a_busy_port_before_touching_the_database(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        result = demo(db=db, port=port)

    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: it is in use" in result.stderr
    assert "==>" not in result.stdout  # neither installed, migrated nor seeded
    assert not db.exists()
