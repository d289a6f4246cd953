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
        {
            "ROTATION_GRACE_PERIOD": __import__("datetime").timedelta(minutes=2),
            "REAUTHENTICATION_MAX_AGE": 60,
            "API_ACCESS_CLIENT_NAME": "keys",
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


BEFORE_0009 = ("durin", "0008_login_failure_count")


@pytest.mark.django_db(transaction=True)
def test_0009_on_a_populated_database_keeps_every_token_working(user, api):
    """Tokens and clients made before 0009 authenticate after it, have no
    ``authenticated_at`` (no one knows when their password was last checked), and their
    clients do not rotate until the project opts in."""
    from datetime import timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.urls import reverse
    from django.utils import timezone

    from durin import crypto
    from durin.models import AuthToken, Client

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE_0009])
    try:
        with connection.cursor() as cursor:
            columns = connection.introspection.get_table_description(cursor, "durin_client")
        assert "rotate_on_refresh" not in {column.name for column in columns}
        old = executor.loader.project_state([BEFORE_0009]).apps
        OldClient, OldToken = old.get_model("durin", "Client"), old.get_model("durin", "AuthToken")
        now = timezone.now()
        plaintexts = {}
        for name in ("web", "mobile"):
            client = OldClient.objects.create(name=name, token_ttl=timedelta(days=1))
            plaintexts[name] = crypto.generate_token(64, "")
            OldToken.objects.create(
                digest=crypto.digest(plaintexts[name]),
                user_id=user.pk,
                client_id=client.pk,
                created=now,
                expiry=now + timedelta(days=1),
            )
    finally:
        executor = MigrationExecutor(connection)  # the graph as the database now has it
        executor.migrate(latest)

    assert set(Client.objects.values_list("name", "rotate_on_refresh")) == {
        ("web", False),
        ("mobile", False),
    }
    assert list(AuthToken.objects.values_list("authenticated_at", flat=True)) == [None, None]
    for name, plaintext in plaintexts.items():
        response = api.get(reverse("whoami"), HTTP_AUTHORIZATION=f"Token {plaintext}")
        assert response.json() == {"username": "alice", "client": name}
    # Refresh answers an expiry as before; a client switched to rotation then rotates.
    api.credentials(HTTP_AUTHORIZATION=f"Token {plaintexts['web']}")
    assert set(api.post(reverse("durin_refresh")).json()) == {"expiry"}
    Client.objects.filter(name="mobile").update(rotate_on_refresh=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {plaintexts['mobile']}")
    rotated = api.post(reverse("durin_refresh")).json()
    assert set(rotated) == {"token", "expiry"}
    response = api.get(reverse("whoami"), HTTP_AUTHORIZATION=f"Token {rotated['token']}")
    assert response.json() == {"username": "alice", "client": "mobile"}
