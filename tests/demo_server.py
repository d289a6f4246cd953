"""The demo (example_project/) served as bin/demo serves it: its own settings, a throwaway
SQLite file, migrated and seeded, behind runserver on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent / "example_project"


def demo_environment(db: Path, **extra: str) -> dict[str, str]:
    """This process's environment less what points the demo elsewhere, on ``db``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DURIN_DEMO_DB", "DURIN_DEMO_REDIS_URL"}
    }
    # pytest-django exports the test settings; the demo must use its own.
    env.update(DJANGO_SETTINGS_MODULE="example_project.settings", DURIN_DEMO_SQLITE_PATH=str(db))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_demo(workdir: Path, **extra_env: str) -> Iterator[int]:
    """Serve a freshly seeded demo; yields its port, stops it on exit."""
    env = demo_environment(workdir / "db.sqlite3", **extra_env)
    for command in (["migrate", "--verbosity", "0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_DIR,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    port = free_port()
    log = (workdir / "runserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(
                        "the demo did not start:\n" + (workdir / "runserver.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
