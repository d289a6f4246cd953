"""Upgrade a django-rest-durin 1.1.0 database in place with this durin, and check the result.

Run by tests/test_upgrade_from_1x.py in a subprocess (``python -m
tests.legacy_1x.upgrade_check TOKENS_JSON``) with ``settings_upgrade``, so that
Django talks to the 1.x database directly rather than to a test database.
Prints each failed check and exits 1 if any failed.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import django

django.setup()

from django.contrib.admin.models import LogEntry  # noqa: E402
from django.core.checks import Tags, run_checks  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.db.migrations.recorder import MigrationRecorder  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_test_environment,
)
from django.urls import reverse  # noqa: E402
from rest_framework.exceptions import AuthenticationFailed  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.test import APIClient, APIRequestFactory  # noqa: E402

from durin import legacy  # noqa: E402
from durin.auth import TokenAuthentication  # noqa: E402
from durin.models import AuthToken, Client  # noqa: E402

EXPECTED_DURIN_MIGRATIONS = {
    "0001_squashed_0002_client_throttlerate",
    "0003_alter_client_token_ttl",
    "0004_client_sessions_authtoken_digest",
    "0005_hash_plaintext_tokens",
    "0006_remove_authtoken_token",
    "0007_rewrite_authtoken_table",
    "0008_login_failure_count",
    "0009_sessions_users_can_trust",
}

failures: list[str] = []


def check(condition: bool, message: str, detail: object = "") -> None:
    """Print one result; ``detail`` is shown only for a failure."""
    print(("ok      " if condition else "FAILED  ") + message)
    if not condition:
        if detail:
            print(f"        {detail}")
        failures.append(message)


def authenticate(token: str):
    """``TokenAuthentication.authenticate`` on a bare request, and the queries it made."""
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token}"))
    with CaptureQueriesContext(connection) as queries:
        try:
            result = TokenAuthentication().authenticate(request)
        except AuthenticationFailed as exc:
            result = exc
    return result, queries.captured_queries


def database_dump() -> str:
    """Every value of every row of every table, as one string to search for plaintexts."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("utf-8", "replace")
                    chunks.append(f"{table}: {value}")
    return "\n".join(chunks)


def durin_schema(conn) -> dict:
    """durin's tables: their columns' types and their constraints.

    Constraint names are left out: the FKs that 1.x's 0002 re-created (when ids became
    bigint) are named ``..._fk``, not ``..._fk_<table>_<column>``, and nothing relies on it.
    """
    schema = {}
    with conn.cursor() as cursor:
        for table in conn.introspection.table_names(cursor):
            if not table.startswith("durin_"):
                continue
            columns = {
                c.name: (str(c.type_code), c.null_ok)
                for c in conn.introspection.get_table_description(cursor, table)
            }
            constraints = sorted(
                json.dumps({k: v for k, v in c.items() if k != "orders"}, sort_keys=True)
                for c in conn.introspection.get_constraints(cursor, table).values()
            )
            schema[table] = {"columns": columns, "constraints": constraints}
    return schema


def check_schema_matches_fresh_install() -> None:
    """Compare with a database built by our migrations alone (the ``fresh`` alias)."""
    fresh = connections["fresh"]
    old_name = fresh.settings_dict["NAME"]
    fresh.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        expected = durin_schema(fresh)
    finally:
        fresh.creation.destroy_test_db(old_name, verbosity=0)
    upgraded = durin_schema(connection)
    diff = {
        t: {"upgraded": upgraded.get(t), "fresh": expected.get(t)}
        for t in set(upgraded) | set(expected)
        if upgraded.get(t) != expected.get(t)
    }
    check(not diff, "the upgraded schema is the one a fresh install gets", diff)


def command_passes(name: str, **options) -> bool:
    """Whether a ``--check`` management command is satisfied (it exits non-zero if not)."""
    try:
        call_command(name, check=True, **options)
    except SystemExit:
        return False
    return True


def check_schema_and_migrations() -> None:
    recorded = MigrationRecorder(connection).applied_migrations()
    missing = EXPECTED_DURIN_MIGRATIONS - {name for app, name in recorded if app == "durin"}
    check(not missing, "every durin migration is recorded as applied", sorted(missing))
    check(command_passes("migrate", verbosity=0), "migrate --check: nothing left to apply")
    check(
        command_passes("makemigrations", dry_run=True),
        "makemigrations --check: models and migrations agree",
    )
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, "durin_authtoken")
    columns = sorted(c.name for c in description)
    check("token" not in columns, "durin_authtoken has no token column", columns)
    check("digest" in columns, "durin_authtoken has a digest column", columns)


def check_no_plaintext(tokens: dict, logged_token_pk: int) -> None:
    dump = database_dump()
    for name, info in tokens.items():
        leaks = [line for line in dump.splitlines() if info["token"] in line]
        check(not leaks, f"plaintext of {name} appears nowhere in the database", leaks)
    entries = list(LogEntry.objects.filter(object_id=str(logged_token_pk)))
    check(len(entries) == 1, "the 1.x admin log entry for the token is still there")
    reprs = [e.object_repr for e in entries]
    check(
        reprs == [f"AuthToken #{logged_token_pk}"],
        f"the admin log entry names the token without its plaintext: {reprs}",
    )


def postgres_files(table: str) -> list[Path]:
    """The files of ``table``, its TOAST table and every index of both, after a checkpoint."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # dirty buffers reach the files
        cursor.execute("SHOW data_directory")
        data_directory = Path(cursor.fetchone()[0])
        cursor.execute(
            """
            WITH heap AS (
                SELECT oid FROM pg_class WHERE oid = %s::regclass
                UNION SELECT reltoastrelid FROM pg_class
                      WHERE oid = %s::regclass AND reltoastrelid <> 0
            )
            SELECT pg_relation_filepath(oid) FROM heap
            UNION SELECT pg_relation_filepath(indexrelid) FROM pg_index
                  WHERE indrelid IN (SELECT oid FROM heap)
            """,
            [table, table],
        )
        relations = [data_directory / row[0] for row in cursor.fetchall()]
    return [
        path
        for relation in relations
        for path in relation.parent.iterdir()
        # The main fork and its 1 GB segments (``.1``, ...); the other forks hold no rows.
        if re.fullmatch(re.escape(relation.name) + r"(\.\d+)?", path.name)
    ]


def mariadb_files(table: str) -> list[Path]:
    """The InnoDB tablespace of ``table`` (rows and indexes), its pages flushed to disk."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@datadir, @@innodb_file_per_table")
        data_directory, per_table = cursor.fetchone()
        assert per_table, "the check needs innodb_file_per_table"
        cursor.execute(f"FLUSH TABLES {connection.ops.quote_name(table)} FOR EXPORT")
        cursor.execute("UNLOCK TABLES")
    return [Path(data_directory) / connection.settings_dict["NAME"] / f"{table}.ibd"]


def sqlite_files() -> list[Path]:
    database = Path(connection.settings_dict["NAME"])
    return [p for p in (database, Path(f"{database}-wal")) if p.exists()]


def files_holding(table: str) -> list[Path]:
    if connection.vendor == "postgresql":
        return postgres_files(table)
    if connection.vendor == "mysql":
        return mariadb_files(table)
    return sqlite_files()


def check_no_plaintext_on_disk(plaintexts: list[str]) -> None:
    """Read the files the database server keeps the tables in: no 1.x plaintext is left."""
    for table in ("durin_authtoken", "django_admin_log"):
        files = files_holding(table)
        check(bool(files), f"found the {len(files)} file(s) of {table}", files)
        content = b"".join(path.read_bytes() for path in files)
        found = [p for p in plaintexts if p.encode("ascii") in content]
        check(
            not found,
            f"no 1.x plaintext in the files of {table} ({len(found)} of {len(plaintexts)} found)",
            found[:3],
        )


def check_live_tokens(tokens: dict) -> None:
    client = APIClient()
    url = reverse("whoami")
    for name, info in tokens.items():
        if name.endswith("_expired"):
            continue
        response = client.get(url, HTTP_AUTHORIZATION=f"Token {info['token']}")
        body = response.json() if response.status_code in (200, 401) else response.content
        check(
            response.status_code == 200
            and body == {"username": info["user"], "client": info["client"]},
            f"old token {name} authenticates through DRF: {response.status_code} {body}",
        )
        result, queries = authenticate(info["token"])
        check(
            isinstance(result, tuple) and result[0].get_username() == info["user"],
            f"TokenAuthentication accepts old token {name}: {result!r}",
        )
        check(
            len(queries) == 1,
            f"old token {name} costs exactly one query (made {len(queries)})",
            [q["sql"] for q in queries],
        )


def check_legacy_lookups(tokens: dict) -> None:
    """A process learns once that 1.x tokens live here; then only 1.x's shape costs a lookup."""
    legacy.forget()
    result, queries = authenticate(tokens["alice_web"]["token"])
    check(
        isinstance(result, tuple) and len(queries) == 2,
        f"a process's first old token costs one query more, once (made {len(queries)})",
        [q["sql"] for q in queries],
    )
    # 1.x's shape: the tokens, then the rotation history (a token rotation replaced).
    for made_up, lookups in [("ab" * 31, 2), ("ab" * 31 + "a", 0), ("AB" * 32, 0)]:
        result, queries = authenticate(made_up)
        check(
            isinstance(result, AuthenticationFailed) and len(queries) == lookups,
            f"a made-up token {made_up[:4]}... of {len(made_up)} characters costs {lookups} "
            f"queries (made {len(queries)})",
        )


def check_legacy_tokens_refused(tokens: dict) -> None:
    with override_settings(REST_DURIN={"ACCEPT_LEGACY_TOKENS": False}):
        result, queries = authenticate(tokens["alice_web"]["token"])
    check(
        isinstance(result, AuthenticationFailed) and str(result.detail) == "Invalid token.",
        f"with ACCEPT_LEGACY_TOKENS off an old token is refused as invalid: {result!r}",
    )
    check(not queries, f"...with zero queries (made {len(queries)})", queries)


def check_expired_token(tokens: dict) -> None:
    info = tokens["bob_web_expired"]
    client = APIClient()
    response = client.get(reverse("whoami"), HTTP_AUTHORIZATION=f"Token {info['token']}")
    detail = response.json().get("detail") if response.status_code == 401 else response.content
    check(
        response.status_code == 401 and detail == "The given token has expired.",
        f"the expired old token is refused as expired: {response.status_code} {detail!r}",
    )
    check(
        not AuthToken.objects.filter(user__username=info["user"]).exists(),
        "the expired old token was deleted when presented",
    )


def check_session_fields_after_the_upgrade() -> None:
    """0009's columns and table exist; 1.x tokens have no ``authenticated_at`` (nobody knows
    when their password was last checked) and 1.x clients do not rotate (CONTRACT §9)."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        columns = {
            table: {c.name for c in connection.introspection.get_table_description(cursor, table)}
            for table in ("durin_authtoken", "durin_client")
        }
    check(
        "authenticated_at" in columns["durin_authtoken"],
        "durin_authtoken has an authenticated_at column",
    )
    check("rotate_on_refresh" in columns["durin_client"], "durin_client has rotate_on_refresh")
    check("durin_supersededtoken" in tables, "the rotation history table exists")
    stamped = list(AuthToken.objects.filter(authenticated_at__isnull=False).values_list("pk"))
    check(not stamped, "no 1.x token has an authenticated_at", stamped)
    rotating = list(Client.objects.filter(rotate_on_refresh=True).values_list("name", flat=True))
    check(not rotating, "no 1.x client rotates tokens on refresh", rotating)


def check_1x_tokens_reauthenticate_and_rotate(tokens: dict) -> None:
    """A 1.x token confirms its user's password, and is rotated once its client opts in: the
    new token works, the 1.x one works during the grace period and, presented after it, is
    reuse that ends the session."""
    api = APIClient()
    old = tokens["alice_cli"]["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    response = api.post(reverse("durin_reauthenticate"), {"password": "pw"}, format="json")
    check(
        response.status_code == 200 and "authenticated_at" in response.json(),
        f"a 1.x token reauthenticates: {response.status_code} {response.content[:200]!r}",
    )
    Client.objects.filter(name="cli").update(rotate_on_refresh=True)
    response = api.post(reverse("durin_refresh"))
    new = response.json().get("token") if response.status_code == 200 else None
    check(bool(new), f"refresh rotates a 1.x token: {response.status_code} {response.content!r}")
    check(works(new) and works(old), "the new token works, and the 1.x one during the grace")
    with override_settings(REST_DURIN={"ROTATION_GRACE_PERIOD": timedelta(0)}):
        check(not works(old), "the 1.x token presented after the grace is refused")
    check(not works(new), "...and that reuse ended the session: the new token is refused too")


def log_in(client_name: str):
    """alice logs in through durin 2's login view, as one more device would."""
    body = {"username": "alice", "password": "pw", "client": client_name}
    return APIClient().post(reverse("durin_login"), body, format="json")


def works(token: str | None) -> bool:
    if not token:
        return False
    response = APIClient().get(reverse("whoami"), HTTP_AUTHORIZATION=f"Token {token}")
    return response.status_code == 200


def check_1x_clients_keep_every_device_logged_in(tokens: dict) -> None:
    """1.x shared one token per user and client among all of a user's devices (CONTRACT §13)."""
    limits = dict(Client.objects.values_list("name", "session_limit"))
    check(
        set(limits.values()) == {None},
        f"every client from 1.x has no session limit: {limits}",
    )
    new_tokens = []
    for device in ("a new phone", "a laptop"):
        response = log_in("web")
        check(response.status_code == 200, f"alice logs in through web on {device}", response)
        new_tokens.append(response.json().get("token") if response.status_code == 200 else None)
    old = [tokens["alice_web"]["token"], tokens["alice_cli"]["token"]]
    working = [works(token) for token in old + new_tokens]
    check(
        working == [True] * 4,
        f"after two new logins, alice's 1.x tokens and both new ones all work: {working}",
    )


def check_new_clients_get_the_default_limit() -> None:
    client = Client.objects.create(name="after-upgrade")
    check(
        client.session_limit == 1,
        f"a client created after the upgrade has session_limit 1: {client.session_limit}",
    )
    first, second = (log_in("after-upgrade").json().get("token") for _ in range(2))
    working = [works(first), works(second)]
    check(
        working == [False, True],
        f"...so through it a second login ends the first session: {working}",
    )


def check_zero_lifetime_client() -> None:
    """1.1.0's ``create_client`` without ``--token-ttl`` stored a lifetime of zero."""
    warnings = [
        m for m in run_checks(tags=[Tags.database], databases=["default"]) if m.id == "durin.W006"
    ]
    check(
        len(warnings) == 1 and "'legacy-zero'" in warnings[0].msg,
        "check --database names 1.1.0's zero-lifetime client (durin.W006)",
        warnings,
    )
    response = log_in("legacy-zero")
    detail = response.json().get("detail", "") if response.status_code == 400 else response.content
    check(
        response.status_code == 400 and "cannot issue tokens" in detail,
        f"a login through it is a clear 400, not an expired token: {response.status_code} "
        f"{detail!r}",
    )


def hold_an_old_snapshot() -> threading.Thread:
    """A reader whose snapshot predates the upgrade, open until migration 0007 waits for it.

    What a long report, a ``pg_dump`` or an autovacuum ANALYZE does in production:
    PostgreSQL must keep the row versions 0005 replaced (plaintexts) while it is open.
    It locks no table, so nothing but 0007's own wait would make the rewrite wait for it.
    """
    import psycopg

    settings = connection.settings_dict
    params = {
        "host": settings["HOST"],
        "port": settings["PORT"],
        "user": settings["USER"],
        "dbname": settings["NAME"],
    }
    reader = psycopg.connect(**params)
    reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    reader.execute("SELECT 1").fetchone()  # the snapshot is taken here
    waited_for = threading.Event()

    def end_when_0007_waits() -> None:
        with psycopg.connect(**params, autocommit=True) as spy:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not waited_for.is_set():
                if spy.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND query LIKE '%pg_stat_progress_vacuum%'"
                ).fetchone():
                    waited_for.set()
                time.sleep(0.1)
        time.sleep(0.5)
        reader.rollback()
        reader.close()

    thread = threading.Thread(target=end_when_0007_waits, daemon=True)
    thread.waited_for = waited_for  # type: ignore[attr-defined]
    thread.start()
    return thread


def without_secure_delete(sender, connection, **kwargs) -> None:
    """Many SQLite builds leave deleted bytes in place (Debian's zeroes them): be one of them."""
    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA secure_delete = OFF")


def main() -> int:
    connection_created.connect(without_secure_delete)
    with open(sys.argv[1]) as f:
        built = json.load(f)
    tokens = built["tokens"]
    setup_test_environment()
    reader = hold_an_old_snapshot() if connection.vendor == "postgresql" else None
    call_command("migrate", verbosity=1)
    if reader is not None:
        reader.join()
        check(reader.waited_for.is_set(), "0007 waited for a transaction older than the upgrade")
    check_schema_and_migrations()
    check_schema_matches_fresh_install()
    check_no_plaintext(tokens, built["logged_token_pk"])
    plaintexts = [info["token"] for info in tokens.values()] + built["others"]
    check_no_plaintext_on_disk(plaintexts)
    check_live_tokens(tokens)
    check_session_fields_after_the_upgrade()
    check_legacy_lookups(tokens)
    check_legacy_tokens_refused(tokens)
    check_expired_token(tokens)
    check_1x_clients_keep_every_device_logged_in(tokens)
    check_new_clients_get_the_default_limit()
    check_zero_lifetime_client()
    check_1x_tokens_reauthenticate_and_rotate(tokens)
    if failures:
        print(f"\n{len(failures)} upgrade check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    print("\nall upgrade checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
