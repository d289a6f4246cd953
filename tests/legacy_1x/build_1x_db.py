"""Run by django-rest-durin 1.1.0's interpreter: build a 1.x database with live tokens.

Migrates a fresh database with 1.1.0's own migrations, issues tokens through
1.1.0's own ``AuthToken.objects.create``, logs one the way 1.1.0's admin does
(``object_repr`` is ``str(token)``, the plaintext), expires one, revokes one (its
row deleted, as a 1.x logout does), issues a batch more, and writes the plaintexts as
JSON for the upgrade side to present or look for on disk. On SQLite it turns
``secure_delete`` off, as many SQLite builds ship (Debian's turns it on), so that
deleted rows keep their bytes as they would there. With ``--with-0003`` it also
records ``durin.0003_alter_client_token_ttl``, as an install from that project's
later main branch would have. It also makes a client with 1.1.0's own ``create_client``
and no ``--token-ttl``, which stores a lifetime of zero.

Usage: ``python build_1x_db.py OUT_JSON [--with-0003]``.
"""

import json
import os
import sys
from datetime import timedelta

os.environ["DJANGO_SETTINGS_MODULE"] = "settings_1x"

import django  # noqa: E402

django.setup()

from django.contrib.admin.models import ADDITION, LogEntry  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.recorder import MigrationRecorder  # noqa: E402
from django.utils import timezone  # noqa: E402

import durin  # noqa: E402
from durin.models import AuthToken, Client  # noqa: E402

#: Tokens issued besides the named ones, so that the table spans more than a page or two.
BATCH = 50


def main() -> None:
    # Guard: this must be the PyPI 1.1.0 package, which still stores plaintext.
    assert "site-packages" in durin.__file__, durin.__file__
    assert any(f.name == "token" for f in AuthToken._meta.fields)

    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA secure_delete = OFF")
    call_command("migrate", verbosity=0)
    recorder = MigrationRecorder(connection)
    durin_applied = sorted(name for app, name in recorder.applied_migrations() if app == "durin")
    assert durin_applied == ["0001_initial", "0002_client_throttlerate"], durin_applied
    if "--with-0003" in sys.argv:
        recorder.record_applied("durin", "0003_alter_client_token_ttl")

    User = get_user_model()
    admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
    alice = User.objects.create_user("alice", password="pw")
    bob = User.objects.create_user("bob", password="pw")
    web = Client.objects.create(name="web", token_ttl=timedelta(days=7))
    cli = Client.objects.create(name="cli", token_ttl=timedelta(days=30), throttle_rate="100/h")
    call_command("create_client", "legacy-zero", stdout=open(os.devnull, "w"))
    assert Client.objects.get(name="legacy-zero").token_ttl == timedelta(0)

    alice_web = AuthToken.objects.create(alice, web)
    alice_cli = AuthToken.objects.create(alice, cli)
    bob_web = AuthToken.objects.create(bob, web)
    AuthToken.objects.filter(pk=bob_web.pk).update(expiry=timezone.now() - timedelta(hours=1))
    carol = User.objects.create_user("carol", password="pw")
    carol_web = AuthToken.objects.create(carol, web)
    carol_web.delete()  # what 1.x's LogoutView does
    batch = [
        AuthToken.objects.create(User.objects.create_user(f"user{n}", password="pw"), web)
        for n in range(BATCH)
    ]

    # What ModelAdmin.log_addition() records when 1.1.0's admin issues a token.
    LogEntry.objects.log_action(
        user_id=admin.pk,
        content_type_id=ContentType.objects.get_for_model(AuthToken).pk,
        object_id=alice_cli.pk,
        object_repr=str(alice_cli),
        action_flag=ADDITION,
        change_message='[{"added": {}}]',
    )

    tokens = {
        "alice_web": {"token": alice_web.token, "user": "alice", "client": "web"},
        "alice_cli": {"token": alice_cli.token, "user": "alice", "client": "cli"},
        "bob_web_expired": {"token": bob_web.token, "user": "bob", "client": "web"},
    }
    others = [carol_web.token] + [t.token for t in batch]
    with open(sys.argv[1], "w") as out:
        json.dump({"tokens": tokens, "logged_token_pk": alice_cli.pk, "others": others}, out)


if __name__ == "__main__":
    main()
