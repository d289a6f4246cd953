from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django.test import override_settings


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rest_durin",
    [
        {},
        {
            "TOKEN_CHARACTER_LENGTH": 128,
            "DEFAULT_TOKEN_TTL": __import__("datetime").timedelta(days=9),
        },
    ],
)
def test_no_missing_migrations_whatever_the_settings(rest_durin):
    with override_settings(REST_DURIN=rest_durin):
        call_command("makemigrations", "durin", "--check", "--dry-run", verbosity=0)


def test_migration_history_lines_up_with_1x():
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    first = loader.disk_migrations[("durin", "0001_squashed_0002_client_throttlerate")]
    assert first.replaces == [("durin", "0001_initial"), ("durin", "0002_client_throttlerate")]
    assert ("durin", "0003_alter_client_token_ttl") in loader.disk_migrations


@pytest.mark.django_db
def test_0004_leaves_the_clients_it_finds_unlimited(make_client):
    """Every client 0004 finds came from 1.x, where all of a user's devices shared a token.

    The real upgrade, on each database, is tests/test_upgrade_from_1x.py.
    """
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from durin.models import Client

    migration = importlib.import_module("durin.migrations.0004_client_sessions_authtoken_digest")
    make_client("web")
    make_client("cli", session_limit=3)
    migration.keep_1x_sessions_unlimited(apps, SimpleNamespace(connection=connection))
    assert dict(Client.objects.values_list("name", "session_limit")) == {"web": None, "cli": None}
    assert Client.objects.create(name="new").session_limit == 1
