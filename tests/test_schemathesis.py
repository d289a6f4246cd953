"""schemathesis against the demo's OpenAPI schema: no server error, nothing undocumented.

The fuzzing itself is ``schemathesis_demo.py``, run in a subprocess with the demo's
settings on an in-memory SQLite database (the WSGI app runs in that same process and
thread), so it neither needs nor touches the suite's database, cache or settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("schemathesis")
pytest.importorskip("drf_spectacular")

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("DURIN_TEST_DB", "sqlite") != "sqlite",
    reason="the demo runs on its own SQLite database whatever the pass: the SQLite pass runs it",
)
def test_schemathesis_finds_nothing_in_the_demo_api() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DURIN_DEMO_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(DJANGO_SETTINGS_MODULE="example_project.settings", DURIN_DEMO_SQLITE_PATH=":memory:")
    result = subprocess.run(
        [sys.executable, str(HERE / "schemathesis_demo.py")],
        check=False,
        cwd=HERE.parent / "example_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert result.stdout.rstrip().endswith("no failures"), result.stdout
