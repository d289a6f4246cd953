"""durin's settings, read from ``settings.REST_DURIN``.

``durin_settings`` is one long-lived object: it resolves each key on first use,
caches it, and forgets the cache in place when ``REST_DURIN`` (or DRF's own
settings) change, so ``from durin.settings import durin_settings`` never goes
stale under ``override_settings``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


class _DRFDatetimeFormat:
    """Stands for "DRF's ``DATETIME_FORMAT``", looked up when the setting is read."""

    def __repr__(self) -> str:
        return "REST_FRAMEWORK['DATETIME_FORMAT']"


DRF_DATETIME_FORMAT = _DRFDatetimeFormat()

DEFAULTS: dict[str, Any] = {
    # The keys of django-rest-durin 1.x, with its defaults.
    "DEFAULT_TOKEN_TTL": timedelta(days=1),
    "TOKEN_CHARACTER_LENGTH": 64,
    "USER_SERIALIZER": None,
    "AUTH_HEADER_PREFIX": "Token",
    "EXPIRY_DATETIME_FORMAT": DRF_DATETIME_FORMAT,
    "TOKEN_CACHE_TIMEOUT": 60,
    "REFRESH_TOKEN_ON_LOGIN": False,
    "AUTHTOKEN_SELECT_RELATED_LIST": ["user"],
    "API_ACCESS_CLIENT_NAME": None,
    "API_ACCESS_EXCLUDE_FROM_SESSIONS": False,
    "API_ACCESS_RESPONSE_INCLUDE_TOKEN": False,
    # New in durin 2.
    "TOKEN_PREFIX": "",
    "ACCEPT_LEGACY_TOKENS": True,
    "TOKEN_CACHE_ALIAS": "default",
    "MIN_REFRESH_INTERVAL": 60,
    "LOGIN_THROTTLE_RATE": "10/m",
    "REVOKE_TOKENS_ON_PASSWORD_CHANGE": True,
    "REVOKE_TOKENS_ON_DEACTIVATION": True,
    "NUM_TRUSTED_PROXIES": 0,
    "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
    # §12: every promise in every configuration.
    "CACHE_WRITE_CHECK_INTERVAL": 5,
    "LOGIN_THROTTLE_CACHE": None,
    "MAX_TOKENS_PER_USER_CLIENT": 100,
    # §9: sessions users can trust.
    "ROTATION_GRACE_PERIOD": timedelta(seconds=30),
    "REAUTHENTICATION_MAX_AGE": 300,
    # §10: API keys and other services.
    "SCOPES": {},
    "REVOKE_THROTTLE_RATE": "60/m",
}

IMPORT_STRINGS = frozenset({"USER_SERIALIZER"})

#: Settings that change what durin reads, so a change to any of them resets the cache.
WATCHED_SETTINGS = frozenset({"REST_DURIN", "REST_FRAMEWORK"})


class DurinSettings:
    """Attribute access to ``REST_DURIN`` with durin's defaults filled in."""

    def __init__(self, defaults: dict[str, Any], import_strings: frozenset[str]) -> None:
        self.defaults = defaults
        self.import_strings = import_strings
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, "REST_DURIN", None) or {}

    def __getattr__(self, name: str) -> Any:
        if name not in self.defaults:
            raise AttributeError(f"Invalid durin setting: {name!r}")
        value = self.user_settings.get(name, self.defaults[name])
        if value is DRF_DATETIME_FORMAT:
            from rest_framework.settings import api_settings

            value = api_settings.DATETIME_FORMAT
        elif name in self.import_strings and isinstance(value, str):
            value = import_string(value)
        setattr(self, name, value)
        self._cached.add(name)
        return value

    def reload(self) -> None:
        """Forget every cached value; the next access reads ``REST_DURIN`` again."""
        for name in self._cached:
            self.__dict__.pop(name, None)
        self._cached.clear()


durin_settings = DurinSettings(DEFAULTS, IMPORT_STRINGS)


def reload_durin_settings(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver, connected in ``DurinConfig.ready()``."""
    if setting in WATCHED_SETTINGS:
        durin_settings.reload()
