"""CONTRACT §3 under a project unlike the suite's: ``tests/customuser`` runs in a pytest of
its own, with ``tests/custom_settings.py`` (a custom user model with a UUID key and the
e-mail as its name, an organisation joined through ``AUTHTOKEN_SELECT_RELATED_LIST``, a
router reading durin's models from a mirror alias, ``TIME_ZONE = "Europe/Paris"``), once
with ``USE_TZ`` on and once off, on this run's database and cache.

By hand: ``DURIN_CUSTOM_USE_TZ=false python -m pytest tests/customuser -p no:randomly
--ds=tests.custom_settings`` (with ``DURIN_TEST_DB`` and ``DURIN_TEST_CACHE`` as for the suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("use_tz", ["true", "false"])
def test_custom_user_model_router_and_time_zone(use_tz: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/customuser",
        "--ds=tests.custom_settings",
        "-p",
        "pytest_django.plugin",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    # pytest-django is the only plugin the run needs; loading the others costs seconds.
    env = {**os.environ, "DURIN_CUSTOM_USE_TZ": use_tz, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout, result.stdout
