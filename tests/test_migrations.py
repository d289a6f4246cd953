from __future__ import annotations

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
