"""Migration 0007's rewrite, apart from the full 1.x upgrade (tests/test_upgrade_from_1x.py)."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

rewrite = importlib.import_module("durin.migrations.0007_rewrite_authtoken_table")


def test_each_backend_rewrites_the_tables_it_is_given():
    quote = connection.ops.quote_name
    tables = ["durin_authtoken", "django_admin_log"]
    assert rewrite.rewrite_statements("postgresql", quote, tables) == [
        f"VACUUM FULL {quote('durin_authtoken')}",
        f"VACUUM FULL {quote('django_admin_log')}",
    ]
    assert rewrite.rewrite_statements("mysql", quote, tables) == [
        f"ALTER TABLE {quote('durin_authtoken')} FORCE",
        f"ALTER TABLE {quote('django_admin_log')} FORCE",
    ]
    assert rewrite.rewrite_statements("sqlite", quote, tables)[0] == "VACUUM"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row versions")
@pytest.mark.django_db(transaction=True)
def test_an_older_transaction_that_stays_open_fails_the_migration_saying_which():
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"]
    ) as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute("SELECT 1").fetchone()  # its snapshot
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")  # a write after it, as 0005's
            with pytest.raises(RuntimeError) as refused:
                rewrite.wait_for_older_transactions(cursor, timeout=0.3)
        assert str(reader.info.backend_pid) in str(refused.value)
        assert "run migrate again" in str(refused.value)
    with connection.cursor() as cursor:
        rewrite.wait_for_older_transactions(cursor, timeout=5)  # returns: none is left
