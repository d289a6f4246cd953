"""SQLite, the embedded default, serves simultaneous logins without "database is locked"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("users", "per_user"), [(10, 1), (1, 10)])
def test_simultaneous_logins_on_a_sqlite_file(tmp_path, users, per_user):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sqlite_file.settings",
        "DURIN_SQLITE_FILE": str(tmp_path / "db.sqlite3"),
        # This checkout's durin first: the environment's may be installed from another one.
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    run = subprocess.run(
        [sys.executable, "-m", "tests.sqlite_file.concurrent_logins", str(users), str(per_user)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["codes"] == [200] * (users * per_user)
    assert result["live"] == [1] * users
