"""System checks. Every id durin uses is listed here, once."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError

from . import crypto
from .settings import durin_settings

# E001: TOKEN_CHARACTER_LENGTH / TOKEN_PREFIX leave too little randomness.
# W001: API_ACCESS_RESPONSE_INCLUDE_TOKEN is set but cannot be honoured.
# W002: API_ACCESS_CLIENT_NAME names a client that does not exist.


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    try:
        crypto.generate_token(durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX)
    except (ValueError, TypeError) as exc:
        messages.append(
            Error(
                f"durin cannot issue tokens with these settings: {exc}",
                hint="Raise REST_DURIN['TOKEN_CHARACTER_LENGTH'] or shorten TOKEN_PREFIX.",
                id="durin.E001",
            )
        )
    if durin_settings.API_ACCESS_RESPONSE_INCLUDE_TOKEN:
        messages.append(
            Warning(
                "API_ACCESS_RESPONSE_INCLUDE_TOKEN has no effect: tokens are stored only as "
                "digests, so an API token can be shown only in the response that issues it.",
                hint="Remove REST_DURIN['API_ACCESS_RESPONSE_INCLUDE_TOKEN'].",
                id="durin.W001",
            )
        )
    return messages


def check_api_access_client(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """A database check: runs only when Django names databases (``check --database``, ``migrate``)."""
    from .models import Client

    name = durin_settings.API_ACCESS_CLIENT_NAME
    if not name or not databases:
        return []
    try:
        exists = any(Client.objects.using(db).filter(name=name).exists() for db in databases)
    except DatabaseError:  # Not migrated yet: nothing to say.
        return []
    if exists:
        return []
    return [
        Warning(
            f"API_ACCESS_CLIENT_NAME is {name!r}, but no client has that name: the API "
            "access view answers 404 to every request.",
            hint=f"Create it: python manage.py create_client {name}",
            id="durin.W002",
        )
    ]
