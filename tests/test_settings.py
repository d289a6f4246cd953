"""``durin_settings`` never goes stale: a reference imported at module level sees overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

# Imported once, at module level, as user code would.
from durin.settings import DEFAULTS, durin_settings

held = durin_settings


def test_defaults_are_the_1x_ones():
    assert durin_settings.DEFAULT_TOKEN_TTL == timedelta(days=1)
    assert durin_settings.TOKEN_CHARACTER_LENGTH == 64
    assert durin_settings.AUTH_HEADER_PREFIX == "Token"
    assert durin_settings.TOKEN_CACHE_TIMEOUT == 60
    assert durin_settings.AUTHTOKEN_SELECT_RELATED_LIST == ["user"]
    assert durin_settings.USER_SERIALIZER is None
    assert durin_settings.API_ACCESS_CLIENT_NAME is None
    assert durin_settings.REFRESH_TOKEN_ON_LOGIN is False
    assert durin_settings.API_ACCESS_EXCLUDE_FROM_SESSIONS is False
    assert durin_settings.API_ACCESS_RESPONSE_INCLUDE_TOKEN is False
    assert durin_settings.EXPIRY_DATETIME_FORMAT == "iso-8601"
    assert "DEFAULT_TOKEN_TTL" in durin_settings.defaults


def test_compatibility_with_override_settings():
    assert held.AUTH_HEADER_PREFIX == "Token"
    with override_settings(REST_DURIN={"AUTH_HEADER_PREFIX": "Bearer"}):
        assert held.AUTH_HEADER_PREFIX == "Bearer"
        assert held.TOKEN_CHARACTER_LENGTH == 64
    assert held.AUTH_HEADER_PREFIX == "Token"


def test_drf_datetime_format_followed():
    with override_settings(REST_FRAMEWORK={"DATETIME_FORMAT": "%d"}):
        assert held.EXPIRY_DATETIME_FORMAT == "%d"
    assert held.EXPIRY_DATETIME_FORMAT == "iso-8601"


def test_import_strings_are_imported():
    from durin.serializers import UserSerializer

    with override_settings(REST_DURIN={"USER_SERIALIZER": "durin.serializers.UserSerializer"}):
        assert held.USER_SERIALIZER is UserSerializer


def test_unknown_setting_is_an_attribute_error():
    with pytest.raises(AttributeError):
        durin_settings.NO_SUCH_SETTING  # noqa: B018


def test_every_default_resolves():
    for name in DEFAULTS:
        getattr(durin_settings, name)
