# Rewrites the token table, so that no 1.x plaintext survives on disk.
#
# 0005 replaced each plaintext by its digest and 0006 dropped the column, but neither
# rewrites the table's files: PostgreSQL keeps the old row versions (and the dropped
# column's values inside the live rows) until the table is rewritten, MariaDB's instant
# DROP COLUMN leaves the values in the rows, and SQLite leaves the old pages on its free
# list. The admin log, whose 1.x entries 0005 scrubbed, is rewritten too when it holds
# entries for tokens. Cheap on a fresh database: the tables are empty.
#
# PostgreSQL copies into the new files the row versions that a running transaction may
# still read: the admin log's pre-0005 rows among them (the token table's are safe: the
# dropped column is emptied in every version copied). So it first waits, up to
# SNAPSHOT_WAIT seconds, for the transactions in this database that are older than the
# rewrite; if one is still open then, the migration fails, saying which, and can be run again.
#
# Not atomic: SQLite's VACUUM and PostgreSQL's VACUUM FULL refuse to run in a transaction.

import time

from django.db import migrations

#: Seconds to wait for transactions older than the rewrite (PostgreSQL).
SNAPSHOT_WAIT = 300


def admin_log_with_tokens(apps, connection) -> str | None:
    """The admin log's table if it has entries about tokens (0005 rewrote them in place)."""
    try:
        LogEntry = apps.get_model("admin", "LogEntry")
        ContentType = apps.get_model("contenttypes", "ContentType")
    except LookupError:
        return None
    tables = connection.introspection.table_names()
    if LogEntry._meta.db_table not in tables or ContentType._meta.db_table not in tables:
        return None
    db = connection.alias
    content_types = ContentType.objects.using(db).filter(app_label="durin", model="authtoken")
    if not LogEntry.objects.using(db).filter(content_type__in=content_types).exists():
        return None
    return LogEntry._meta.db_table


def rewrite_statements(vendor: str, quote, tables: list[str]) -> list[str]:
    """The statements that rewrite ``tables`` (data, TOAST and indexes) on ``vendor``."""
    if vendor == "postgresql":
        return [f"VACUUM FULL {quote(table)}" for table in tables]
    if vendor == "mysql":
        return [f"ALTER TABLE {quote(table)} FORCE" for table in tables]
    if vendor == "sqlite":
        # The whole file: freed pages are not per table. Then empty a WAL, if any.
        return ["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
    return []


OLDER_TRANSACTIONS = """
    SELECT pid, state, xact_start FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)
      AND (age(backend_xmin) > age(%s::xid) OR age(backend_xid) > age(%s::xid))
"""


def wait_for_older_transactions(cursor, timeout: float) -> None:
    """Wait until no other transaction in this database may read a row version older than now."""
    cursor.execute("SELECT (txid_current() % 4294967296)::text")
    now_xid = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        cursor.execute(OLDER_TRANSACTIONS, [now_xid, now_xid])
        older = cursor.fetchall()
        if not older:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(
                "durin's migration 0007 rewrites tables so that no 1.x token is left on disk, "
                "and PostgreSQL keeps the old rows while older transactions may read them. "
                f"Still open after {timeout:.0f} seconds (pid, state, started): {older}. "
                "End them and run migrate again."
            )
        time.sleep(0.2)


def rewrite_tables(apps, schema_editor):
    connection = schema_editor.connection
    tables = [apps.get_model("durin", "AuthToken")._meta.db_table]
    admin_log = admin_log_with_tokens(apps, connection)
    if admin_log is not None:
        tables.append(admin_log)
    statements = rewrite_statements(connection.vendor, connection.ops.quote_name, tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            wait_for_older_transactions(cursor, SNAPSHOT_WAIT)
        for statement in statements:
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("durin", "0006_remove_authtoken_token"),
    ]

    operations = [
        migrations.RunPython(rewrite_tables, migrations.RunPython.noop, elidable=False),
    ]
