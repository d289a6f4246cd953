"""An in-place upgrade from django-rest-durin 1.1.0, with the real 1.1.0 from PyPI (CONTRACT §7).

Our migrations claim to line up with 1.x databases; only the real package can
prove it. So 1.1.0 is installed in its own virtual environment (cached under
``.cache/``), builds a database and issues tokens there, and then this durin
migrates that same database in a subprocess of this interpreter and checks that
the old tokens still work, are stored only as digests, left no plaintext
behind (not in any row, nor in the files the database server keeps the tables
in: this runs on the same machine as the server, as root), that only 1.x's own
token shape costs a lookup, that the schema is the one a fresh install gets, and
that nobody's login behaviour changed: 1.x's clients get no session limit, so new
logins through them leave every earlier device logged in, clients made afterwards
get the default of 1, and the zero-lifetime client 1.1.0's ``create_client`` made is
flagged and refused with a 400 (see ``tests/legacy_1x/upgrade_check.py`` for the checks).

Two kinds of 1.x database are covered: 1.1.0 as released (durin 0001 + 0002
applied) and an install from that project's later main branch, which also
recorded ``0003_alter_client_token_ttl``. SQLite always; PostgreSQL or MariaDB too when
``DURIN_TEST_DB`` names one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import durin

REPO = Path(__file__).resolve().parents[1]
LEGACY = REPO / "tests" / "legacy_1x"
VENV = REPO / ".cache" / "durin-1.1.0-venv"
#: Written last, holding the requirements: a venv without it (or with others) is rebuilt.
MARKER = VENV / ".durin-complete"
#: A Django and DRF of 1.1.0's era; psycopg so that the same venv serves PostgreSQL.
REQUIREMENTS = [
    "django-rest-durin==1.1.0",
    "Django>=4.2,<5.0",
    "djangorestframework<3.16",
    "psycopg[binary]",
]

SERVER_DB = os.environ.get("DURIN_TEST_DB")
DATABASES = ["sqlite"] + ([SERVER_DB] if SERVER_DB in {"postgres", "mysql"} else [])
VARIANTS = {"1.1.0": [], "main-with-0003": ["--with-0003"]}
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
}


def run(cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: int) -> tuple[int, str]:
    """Run ``cmd`` with merged stdout and stderr; the exit code and the output."""
    proc = subprocess.run(
        cmd, env=env, cwd=cwd, timeout=timeout, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc.returncode, proc.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would leak our durin or settings."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE"}}
    return {**env, **extra}


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    """The interpreter of a venv with django-rest-durin 1.1.0, built once and then reused.

    Made by ``python -m venv`` with this interpreter (Django 4.2 supports it). A file
    lock keeps concurrent test runs from building it twice. A failed build
    fails the test: a skipped upgrade test would prove nothing.
    """
    VENV.parent.mkdir(parents=True, exist_ok=True)
    python = VENV / "bin" / "python"
    wanted = "\n".join(REQUIREMENTS)
    with open(VENV.parent / "durin-1.1.0-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1")
        if not (MARKER.is_file() and MARKER.read_text() == wanted and python.exists()):
            shutil.rmtree(VENV, ignore_errors=True)
            build(env, [sys.executable, "-m", "venv", str(VENV)])
            build(env, [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS])
            MARKER.write_text(wanted)
        # MariaDB's driver only when needed: it compiles against libmariadb-dev.
        if (
            "mysql" in DATABASES
            and run([str(python), "-c", "import MySQLdb"], env=env, cwd=REPO, timeout=60)[0]
        ):
            build(env, [str(python), "-m", "pip", "install", "--quiet", "mysqlclient"])
    return python


def build(env: dict[str, str], cmd: list[str]) -> None:
    code, output = run(cmd, env=env, cwd=REPO, timeout=600)
    if code != 0:
        pytest.fail(
            f"Could not build the django-rest-durin 1.1.0 venv (PyPI needed): "
            f"{' '.join(cmd)} exited {code}\n{output}",
            pytrace=False,
        )


@pytest.fixture(params=DATABASES)
def legacy_database(request, tmp_path):
    """Environment naming a fresh, empty database for the 1.x side to build on."""
    if request.param == "sqlite":
        path = tmp_path / "durin1x.sqlite3"
        yield {"DURIN_UPGRADE_ENGINE": "sqlite", "DURIN_UPGRADE_NAME": str(path)}
        return
    name = f"durin_upgrade_{uuid.uuid4().hex[:12]}"
    server_sql(request.param, f"CREATE DATABASE {name}")
    try:
        yield {"DURIN_UPGRADE_ENGINE": request.param, "DURIN_UPGRADE_NAME": name}
    finally:  # The driver drops its "_fresh" twin itself, unless it crashed.
        for db in (name, f"{name}_fresh"):
            server_sql(request.param, f"DROP DATABASE IF EXISTS {db}")


def server_sql(engine: str, statement: str) -> None:
    """Run one statement on the PostgreSQL or MariaDB server, outside any database."""
    if engine == "postgres":
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
            conn.execute(statement)
        return
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root")
    try:
        conn.cursor().execute(statement)
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_upgrade_from_1x(legacy_python, legacy_database, variant, tmp_path):
    """1.1.0 issues tokens; after ``migrate`` with this durin they still work, hashed."""
    tokens = tmp_path / "tokens.json"
    code, output = run(
        [str(legacy_python), str(LEGACY / "build_1x_db.py"), str(tokens), *VARIANTS[variant]],
        env=clean_env(**legacy_database),
        cwd=tmp_path,
        timeout=120,
    )
    assert code == 0, f"building the 1.x database failed:\n{output}"

    # This durin, wherever this process imports it from (a checkout's src/ before an
    # installed copy), migrates the database.
    ours = str(Path(durin.__file__).resolve().parents[1])
    code, output = run(
        [sys.executable, "-m", "tests.legacy_1x.upgrade_check", str(tokens)],
        env=clean_env(
            DJANGO_SETTINGS_MODULE="tests.legacy_1x.settings_upgrade",
            PYTHONPATH=ours,
            **legacy_database,
        ),
        cwd=REPO,
        timeout=120,
    )
    print(output)
    assert code == 0, f"the upgrade from 1.x ({variant}) failed:\n{output}"
