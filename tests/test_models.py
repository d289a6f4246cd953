"""Models and the issuing service: 1.x signatures, digests only, plaintext once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings

from durin import crypto
from durin.models import AuthToken, Client, get_DEFAULT_TOKEN_TTL

pytestmark = pytest.mark.django_db


def test_create_returns_the_plaintext_once(user, web):
    token = AuthToken.objects.create(user, web)
    assert crypto.has_valid_checksum(token.token)
    assert str(token) == token.token
    assert token.digest == crypto.digest(token.token)
    loaded = AuthToken.objects.get(pk=token.pk)
    assert loaded.token is None
    assert str(loaded) == f"AuthToken #{token.pk}"
    assert token.token not in repr(loaded)


def test_create_with_delta_ttl(user, web):
    token = AuthToken.objects.create(user, web, delta_ttl=timedelta(hours=2))
    assert token.expiry - token.created == timedelta(hours=2)
    token = AuthToken.objects.create(user=user, client=web)
    assert token.expiry - token.created == web.token_ttl


def test_token_length_and_prefix_follow_settings(user, web):
    with override_settings(REST_DURIN={"TOKEN_CHARACTER_LENGTH": 80, "TOKEN_PREFIX": "drn_"}):
        token = AuthToken.objects.create(user, web).token
    assert len(token) == 80 and token.startswith("drn_")
    assert crypto.has_valid_checksum(token)


def test_too_short_tokens_are_refused(user, web):
    with override_settings(
        REST_DURIN={"TOKEN_CHARACTER_LENGTH": 40, "TOKEN_PREFIX": "long_prefix_"}
    ):
        with pytest.raises(ValueError, match="at least 33"):
            AuthToken.objects.create(user, web)


def test_has_expired_and_expires_in(user, web):
    token = AuthToken.objects.create(user, web)
    assert token.has_expired is False
    assert token.expires_in == "1 day"  # a moment less than the client's token_ttl
    with time_machine.travel(token.expiry + timedelta(seconds=1)):
        assert token.has_expired is True
        assert token.expires_in == "0 seconds"


def test_renew_token_on_a_revoked_token_does_not_resurrect_it(user, web):
    token = AuthToken.objects.create(user, web)
    AuthToken.objects.filter(pk=token.pk).delete()
    with pytest.raises(AuthToken.DoesNotExist):
        token.renew_token()
    assert not AuthToken.objects.exists()


def test_client_defaults_follow_settings_at_creation_time():
    with override_settings(REST_DURIN={"DEFAULT_TOKEN_TTL": timedelta(hours=3)}):
        client = Client.objects.create(name="c")
        assert get_DEFAULT_TOKEN_TTL() == timedelta(hours=3)
    assert client.token_ttl == timedelta(hours=3)
    assert (client.session_limit, client.auto_refresh, client.max_token_lifetime) == (
        1,
        False,
        None,
    )


@pytest.mark.parametrize("rate", ["100/h", "2/minute", "5/s", "1/d", ""])
def test_valid_throttle_rates(rate):
    Client(name="x", throttle_rate=rate).full_clean()


@pytest.mark.parametrize("rate", ["100", "abc/h", "10/x", "10/", "/h", "1/2/3"])
def test_invalid_throttle_rates(rate):
    with pytest.raises(ValidationError) as raised:
        Client(name="x", throttle_rate=rate).full_clean()
    assert "throttle_rate" in raised.value.message_dict


def test_session_limit_and_durations_validated():
    with pytest.raises(ValidationError) as raised:
        Client(
            name="x", session_limit=0, token_ttl=timedelta(0), max_token_lifetime=timedelta(-1)
        ).full_clean()
    assert set(raised.value.message_dict) == {"session_limit", "token_ttl", "max_token_lifetime"}


def test_legacy_import_paths():
    from durin.auth import CachedTokenAuthentication, TokenAuthentication  # noqa: F401
    from durin.permissions import AllowSpecificClients, DisallowSpecificClients  # noqa: F401
    from durin.serializers import (  # noqa: F401
        APIAccessTokenSerializer,
        ClientSerializer,
        TokenSessionsSerializer,
        UserSerializer,
    )
    from durin.settings import durin_settings
    from durin.signals import token_expired, token_renewed  # noqa: F401
    from durin.throttling import UserClientRateThrottle

    assert durin_settings.defaults["TOKEN_CACHE_TIMEOUT"] == 60
    UserClientRateThrottle.validate_client_throttle_rate("10/m")
