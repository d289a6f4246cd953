from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from durin.serializers import ClientSerializer


class Command(BaseCommand):
    help = "Creates a new client with the given values."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A unique identification name for the client.")
        parser.add_argument("--token-ttl", help="Token lifetime, as 'DAYS HH:MM:SS' or 'HH:MM:SS'.")
        parser.add_argument("--throttle-rate", default="", help="DRF rate such as '100/h'.")
        parser.add_argument(
            "--session-limit",
            help="Live tokens a user may hold for this client (default 1); 'none' for unlimited.",
        )
        parser.add_argument(
            "--refuse-at-limit",
            action="store_true",
            help="At the session limit, refuse the new login instead of revoking the oldest.",
        )
        parser.add_argument(
            "--auto-refresh", action="store_true", help="Sliding expiry: extend tokens on use."
        )
        parser.add_argument(
            "--max-token-lifetime", help="Cap on a token's whole life, as 'DAYS HH:MM:SS'."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data: dict[str, Any] = {
            "name": options["name"],
            "throttle_rate": options["throttle_rate"],
            "auto_refresh": options["auto_refresh"],
        }
        if options["token_ttl"]:
            data["token_ttl"] = options["token_ttl"]
        if options["max_token_lifetime"]:
            data["max_token_lifetime"] = options["max_token_lifetime"]
        limit = options["session_limit"]
        if limit is not None:
            data["session_limit"] = None if limit.lower() == "none" else limit
        if options["refuse_at_limit"]:
            data["session_limit_action"] = "refuse"
        serializer = ClientSerializer(data=data)
        if not serializer.is_valid():
            problems = "\n".join(
                f"{field}: {' '.join(str(e) for e in errors)}"
                for field, errors in serializer.errors.items()
            )
            raise CommandError(f"Can't create client!\n{problems}")
        client = serializer.save()
        self.stdout.write(self.style.SUCCESS(f"Client {client.name} created!"))
