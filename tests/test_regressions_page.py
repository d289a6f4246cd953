"""Attacks on the demo's web page and its endpoints (issue 14) that the Django test client
can make. Each finding is a strict xfail until it is fixed.

As in test_demo_page.py, the requests run in a subprocess with the demo's own settings on a
throwaway SQLite file, so nothing here depends on the test settings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .demo_server import LOG_IN, PROJECT_DIR, demo_environment, run
from .test_demo_page import CSP

REPO = PROJECT_DIR.parent

#: A key limited to clock:read, and what it can do to its user's logins.
SCOPED_KEY = (
    LOG_IN
    + """
def status(token):
    return http.get("/api/hello/", **token).status_code

cli, web = log_in("cli"), log_in("web")
created = http.post(
    "/api/auth/keys/", {"name": "clock only", "scopes": ["clock:read"]},
    content_type="application/json", **cli,
)
key = {"HTTP_AUTHORIZATION": "Token " + created.json()["token"]}
answers = {
    "clock": http.get("/api/clock/", **key).status_code,
    "profile": http.get("/api/profile/", **key).status_code,
    "sessions": http.get("/api/auth/sessions/", **key).status_code,
}
web_id = [s["id"] for s in http.get("/api/auth/sessions/", **cli).json() if s["client"] == "web"]
answers["end_web"] = http.delete(f"/api/auth/sessions/{web_id[0]}", **key).status_code
answers["web_after_end"] = status(web)
answers["logoutothers"] = http.post("/api/auth/logoutothers/", **key).status_code
answers["logoutall"] = http.post("/api/auth/logoutall/", **key).status_code
answers["cli_after_all"] = status(cli)
print(json.dumps(answers))
"""
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("attack14") / "db.sqlite3"
    run(["manage.py", "migrate", "--verbosity", "0"], db)
    run(["manage.py", "seed_demo"], db)
    return db


@pytest.fixture(scope="module")
def scoped_key(seeded: Path) -> dict:
    return json.loads(run(["-c", SCOPED_KEY], seeded))


def test_the_scoped_key_is_what_the_page_makes(scoped_key: dict) -> None:
    # The premise of the two findings below: the page's "clock:read" key reads the clock only.
    assert (scoped_key["clock"], scoped_key["profile"]) == (200, 403)


def test_a_key_limited_to_the_clock_cannot_end_its_users_logins(scoped_key: dict) -> None:
    assert scoped_key["end_web"] == 403 and scoped_key["web_after_end"] == 200
    assert scoped_key["logoutothers"] == 403
    assert scoped_key["logoutall"] == 403 and scoped_key["cli_after_all"] == 200


def test_a_key_limited_to_the_clock_cannot_read_where_its_user_logs_in(scoped_key: dict) -> None:
    assert scoped_key["sessions"] == 403


def check_with(max_age: str) -> subprocess.CompletedProcess:
    env = demo_environment(Path(os.devnull), DURIN_DEMO_REAUTHENTICATION_MAX_AGE=max_age)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("value", ["", "5m"])
def test_a_bad_reauthentication_max_age_is_a_clear_error(value: str) -> None:
    result = check_with(value)
    last = (result.stderr.strip().splitlines() or [""])[-1]
    # Either the value falls back to the default, or the error itself names the variable.
    assert result.returncode == 0 or "DURIN_DEMO_REAUTHENTICATION_MAX_AGE" in last, last


def test_the_headers_docs_demo_md_shows_are_the_ones_served() -> None:
    # Not a finding: a guard. docs/demo.md's block of headers is a ``` block with no
    # language, which no test ran, so it could drift from page.py unnoticed.
    text = (REPO / "docs" / "demo.md").read_text()
    block = re.search(r"sent with:\n\n\s*```\n(.*?)\n\s*```", text, re.S)
    assert block, "docs/demo.md no longer lists the page's headers where this test looks"
    shown = dict(line.strip().split(": ", 1) for line in block[1].splitlines())
    sys.path.insert(0, str(PROJECT_DIR))
    try:
        from example_project import page
    finally:
        sys.path.remove(str(PROJECT_DIR))
    served = {k: v for k, v in page.SECURITY_HEADERS.items() if k != "Cache-Control"}
    assert shown == served
    assert shown["Content-Security-Policy"] == CSP
