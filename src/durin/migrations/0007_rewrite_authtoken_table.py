# Rewrites the token table, so that no 1.x plaintext survives on disk.
#
# 0005 replaced each plaintext by its digest and 0006 dropped the column, but neither
# rewrites the table's files: PostgreSQL keeps the old row versions (and the dropped
# column's values inside the live rows) until the table is rewritten, MariaDB's instant
# DROP COLUMN leaves the values in the rows, and SQLite leaves the old pages on its free
# list. The admin log, whose 1.x entries 0005 scrubbed, is rewritten too when it holds
# entries for tokens. Cheap on a fresh database: the tables are empty.
#
# Not atomic: SQLite's VACUUM and PostgreSQL's VACUUM FULL refuse to run in a transaction.

from django.db import migrations


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


def rewrite_tables(apps, schema_editor):
    connection = schema_editor.connection
    tables = [apps.get_model("durin", "AuthToken")._meta.db_table]
    admin_log = admin_log_with_tokens(apps, connection)
    if admin_log is not None:
        tables.append(admin_log)
    statements = rewrite_statements(connection.vendor, connection.ops.quote_name, tables)
    with connection.cursor() as cursor:
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
