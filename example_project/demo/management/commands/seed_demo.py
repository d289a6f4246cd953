"""``manage.py seed_demo``: the demo user and clients, safe to run any number of times."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from durin.models import Client

USERNAME = "demo"
PASSWORD = "demo-password"

#: name -> the fields the demo relies on. Re-running the command puts them back.
CLIENTS: dict[str, dict[str, Any]] = {
    "web": {"token_ttl": timedelta(days=1), "session_limit": 1},
    # Long-lived tokens on phones: refresh rotates them, so a copied token is caught when
    # either holder uses it after the other refreshed.
    "mobile": {"token_ttl": timedelta(days=30), "session_limit": 2, "rotate_on_refresh": True},
    "cli": {"token_ttl": timedelta(days=7), "session_limit": 1},
}


class Command(BaseCommand):
    help = "Create (or restore) the demo user and the web, mobile, cli and API-access clients."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        self.seed_user()
        clients = dict(CLIENTS)
        api_access = settings.REST_DURIN.get("API_ACCESS_CLIENT_NAME")
        if api_access:
            # Up to five named keys per user (API keys on the web page, keys/).
            clients[api_access] = {"token_ttl": timedelta(days=365), "session_limit": 5}
        for name, fields in clients.items():
            # Every client the demo relies on gets every field back, rotation included.
            fields = {"rotate_on_refresh": False, **fields}
            client, created = Client.objects.update_or_create(name=name, defaults=fields)
            limit = "unlimited" if client.session_limit is None else client.session_limit
            rotates = ", rotates tokens on refresh" if client.rotate_on_refresh else ""
            self.stdout.write(
                f"client {name!r}: {'created' if created else 'up to date'} "
                f"(token_ttl {client.token_ttl}, session_limit {limit}{rotates})"
            )

    def seed_user(self) -> None:
        """A superuser, so the same account opens the admin.

        An existing user keeps its tokens: its password is written only if it is no
        longer the documented one, since a password change logs the user out.
        """
        user, created = get_user_model()._default_manager.get_or_create(
            username=USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created or not user.check_password(PASSWORD) or not user.is_active:
            user.set_password(PASSWORD)
            user.is_active = user.is_staff = user.is_superuser = True
            user.save()
            state = "created" if created else "reset"
        else:
            state = "up to date"
        self.stdout.write(f"user {USERNAME!r} (password {PASSWORD!r}): {state}")
