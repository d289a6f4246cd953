"""Validators and default callables named by migrations: their import paths are permanent."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError


def default_token_ttl() -> timedelta:
    """Default ``Client.token_ttl``: the ``DEFAULT_TOKEN_TTL`` setting, read when a row is made."""
    from .settings import durin_settings

    return durin_settings.DEFAULT_TOKEN_TTL


def validate_throttle_rate(rate: str) -> None:
    """Accept exactly the rates DRF's own parser accepts, such as ``100/h`` or ``2/minute``."""
    from rest_framework.throttling import SimpleRateThrottle

    if not isinstance(rate, str):
        raise ValidationError("A throttle rate must be a string like '100/h'.")
    if rate == "":
        return
    try:
        SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    except (ValueError, KeyError, IndexError):
        raise ValidationError(
            "%(rate)r is not a throttle rate: use 'number/period' with a period of "
            "s, m, h or d (for example '100/h').",
            code="invalid_throttle_rate",
            params={"rate": rate},
        ) from None


#: The longest token lifetime (``token_ttl``, ``max_token_lifetime``, ``delta_ttl``):
#: 100 years. Far beyond any sane token, and far from what overflows a date
#: (year 9999) when added to now.
MAX_TOKEN_TTL = timedelta(days=36500)

#: The shortest: a token must outlive the response that carries it.
MIN_TOKEN_TTL = timedelta(seconds=1)


def validate_positive_duration(value: timedelta) -> None:
    """A token lifetime: at least ``MIN_TOKEN_TTL``, at most ``MAX_TOKEN_TTL``.

    Its name is kept for the migrations that reference it; the upper bound keeps
    ``now + lifetime`` a date, so a client cannot make every login a 500.
    """
    if value is None:
        return
    if value <= timedelta(0):
        raise ValidationError("The duration must be positive.", code="non_positive_duration")
    if value < MIN_TOKEN_TTL:
        raise ValidationError(
            "The duration must be at least one second.", code="duration_too_short"
        )
    if value > MAX_TOKEN_TTL:
        raise ValidationError(
            "The duration must be at most %(max)s days.",
            code="duration_too_long",
            params={"max": MAX_TOKEN_TTL.days},
        )


def bounded_duration(duration: timedelta | None) -> timedelta | None:
    """A stored duration within ``MAX_TOKEN_TTL`` either way.

    Validation refuses larger ones; a row written around it (``Client.objects.create``,
    ``update()``) must not turn every login or request into an ``OverflowError``.
    """
    return None if duration is None else max(min(duration, MAX_TOKEN_TTL), -MAX_TOKEN_TTL)


#: RFC 6749 §3.3's scope-token: printable ASCII but space, double quote and backslash, so
#: that a name fits a space-separated ``scope`` and a challenge's quoted ``scope="..."``.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def is_scope_token(name: Any) -> bool:
    """Whether ``name`` may name a scope (``SCOPES`` keys are checked by durin.E010)."""
    return isinstance(name, str) and SCOPE_TOKEN.fullmatch(name) is not None
