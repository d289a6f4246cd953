from __future__ import annotations

import shlex
from argparse import BooleanOptionalAction
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router, transaction

from durin.models import Client
from durin.serializers import ClientSerializer
from durin.text import storable


def _problems(errors: dict[str, Any]) -> str:
    return "\n".join(
        f"{field}: {' '.join(str(e) for e in messages)}" for field, messages in errors.items()
    )


class Command(BaseCommand):
    help = (
        "Creates a client with the given values, or with --update changes an existing "
        "client's given values (the others are left as they are)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A unique identification name for the client.")
        parser.add_argument(
            "--update",
            action="store_true",
            help="Change the existing client NAME (only the options given); never creates one.",
        )
        parser.add_argument("--token-ttl", help="Token lifetime, as 'DAYS HH:MM:SS' or 'HH:MM:SS'.")
        parser.add_argument(
            "--throttle-rate", help="DRF rate such as '100/h'; '' for the default rate."
        )
        parser.add_argument(
            "--session-limit",
            help="Live tokens a user may hold for this client (default 1); 'none' for unlimited.",
        )
        parser.add_argument(
            "--refuse-at-limit",
            action=BooleanOptionalAction,
            help="At the session limit, refuse the new login instead of revoking the oldest.",
        )
        parser.add_argument(
            "--auto-refresh",
            action=BooleanOptionalAction,
            help="Sliding expiry: extend tokens on use.",
        )
        parser.add_argument(
            "--rotate-on-refresh",
            action=BooleanOptionalAction,
            help="Refresh answers a new token for the session; a replaced token presented "
            "after ROTATION_GRACE_PERIOD revokes the session.",
        )
        parser.add_argument(
            "--max-token-lifetime",
            help="Cap on a token's whole life, as 'DAYS HH:MM:SS'; 'none' for no cap.",
        )

    @staticmethod
    def given_values(options: dict[str, Any]) -> dict[str, Any]:
        """The client fields named on the command line, as text for ``ClientSerializer``."""
        data: dict[str, Any] = {}
        for option in ("token_ttl", "throttle_rate", "session_limit", "max_token_lifetime"):
            value = options[option]
            if value is None:
                continue
            nullable = option in ("session_limit", "max_token_lifetime")
            data[option] = None if nullable and value.strip().lower() == "none" else value
        for option in ("auto_refresh", "rotate_on_refresh"):
            if options[option] is not None:
                data[option] = options[option]
        if options["refuse_at_limit"] is not None:
            data["session_limit_action"] = (
                Client.REFUSE if options["refuse_at_limit"] else Client.REVOKE_OLDEST
            )
        return data

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if not storable(name):  # undecodable bytes in argv arrive as lone surrogates
            raise CommandError(f"{name!r} is not a name a database can store.")
        data = self.given_values(options)
        if options["update"]:
            self.update(name, data)
            return
        serializer = ClientSerializer(data={**data, "name": name})
        if not serializer.is_valid():
            problems = _problems(serializer.errors)
            if any(e.code == "unique" for e in serializer.errors.get("name", [])):
                problems += self.update_hint(name)
            raise CommandError(f"Can't create client!\n{problems}")
        client = Client(**serializer.validated_data)
        self.full_clean(client, "create client")
        client.save()
        self.stdout.write(self.style.SUCCESS(f"Client {client.name} created!"))

    def update(self, name: str, data: dict[str, Any]) -> None:
        if not data:
            raise CommandError("Nothing to update: give at least one option to change.")
        using = router.db_for_write(Client)
        with transaction.atomic(using=using):
            try:
                client = Client.named(name, using=using)
            except Client.DoesNotExist:
                raise CommandError(
                    f"Can't update client {name!r}: no client has that name "
                    "(leave out --update to create it)."
                ) from None
            client = Client.objects.using(using).select_for_update().get(pk=client.pk)
            serializer = ClientSerializer(client, data=data, partial=True)
            if not serializer.is_valid():
                raise CommandError(f"Can't update client {name!r}!\n{_problems(serializer.errors)}")
            for field, value in serializer.validated_data.items():
                setattr(client, field, value)
            self.full_clean(client, f"update client {name!r}")
            client.save(update_fields=list(serializer.validated_data))
        self.stdout.write(self.style.SUCCESS(f"Client {name} updated!"))

    @staticmethod
    def update_hint(name: str) -> str:
        """How to change the client that took ``name``: DRF trims the name, and MariaDB's
        collation may match one that differs in case, so the command names that client."""
        taken = Client.objects.filter(name=name.strip()).values_list("name", flat=True).first()
        if taken is None:
            return ""
        return f"\nTo change client {taken!r}, run: create_client {shlex.quote(taken)} --update ..."

    @staticmethod
    def full_clean(client: Client, doing: str) -> None:
        """The model's own validation, on every field (a 1.x row may hold a value it refuses)."""
        try:
            client.full_clean()
        except ValidationError as exc:
            raise CommandError(f"Can't {doing}!\n{_problems(exc.message_dict)}") from None
