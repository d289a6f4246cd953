"""Session metadata and sliding expiry: written at most once per MIN_REFRESH_INTERVAL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from durin import services
from durin.models import AuthToken

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db
LOCMEM = "locmem" in django_settings.CACHES["default"]["BACKEND"]


def get(api, token, url="whoami"):
    return api.get(reverse(url), **auth_header(token))


def test_first_requests_after_login_write_nothing(api, token, django_assert_num_queries):
    for _ in range(3):
        with django_assert_num_queries(1):
            assert get(api, token).status_code == 200


def test_last_used_written_once_per_interval(api, token, django_assert_num_queries):
    later = timezone.now() + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        with django_assert_num_queries(2):  # read + one UPDATE
            get(api, token)
        with django_assert_num_queries(1):
            get(api, token)
    assert AuthToken.objects.get(pk=token.pk).last_used == later


def test_interval_setting_and_turning_it_off(api, token, settings, django_assert_num_queries):
    settings.REST_DURIN = {"MIN_REFRESH_INTERVAL": 3600}
    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        with django_assert_num_queries(1):
            get(api, token)
    settings.REST_DURIN = {"MIN_REFRESH_INTERVAL": None}
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        with django_assert_num_queries(1):
            get(api, token)
    assert AuthToken.objects.get(pk=token.pk).last_used == token.last_used


def test_two_processes_due_at_once_write_once(token):
    # Both loaded the row before either wrote: only the first UPDATE matches.
    first, second = AuthToken.objects.get(pk=token.pk), AuthToken.objects.get(pk=token.pk)
    now = timezone.now() + timedelta(minutes=5)
    assert services.record_use(first, now) is True
    assert services.record_use(second, now + timedelta(seconds=1)) is False
    assert AuthToken.objects.get(pk=token.pk).last_used == now


@pytest.mark.skipif(not LOCMEM, reason="time travel cannot age entries inside Redis")
def test_cached_hits_never_write_and_the_entry_ends_when_a_write_is_due(
    api, token, django_assert_num_queries
):
    with django_assert_num_queries(1):
        get(api, token, "cached-whoami")
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        with django_assert_num_queries(0):
            get(api, token, "cached-whoami")
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        with django_assert_num_queries(2):
            get(api, token, "cached-whoami")
        with django_assert_num_queries(0):
            get(api, token, "cached-whoami")


def test_sliding_expiry(api, user, make_client):
    client = make_client("slide", token_ttl=timedelta(hours=1), auto_refresh=True)
    token = AuthToken.objects.create(user, client)
    later = token.created + timedelta(minutes=40)
    with time_machine.travel(later, tick=False):
        assert get(api, token).status_code == 200
    assert AuthToken.objects.get(pk=token.pk).expiry == later + timedelta(hours=1)
    # Used regularly, it outlives its first expiry...
    with time_machine.travel(token.created + timedelta(minutes=90), tick=False):
        assert get(api, token).status_code == 200
    # ...but not a gap longer than token_ttl.
    with time_machine.travel(token.created + timedelta(hours=4)):
        assert get(api, token).status_code == 401


def test_sliding_expiry_is_capped_by_max_token_lifetime(api, user, make_client):
    client = make_client(
        "slide",
        token_ttl=timedelta(hours=1),
        auto_refresh=True,
        max_token_lifetime=timedelta(hours=2),
    )
    token = AuthToken.objects.create(user, client)
    for minutes in (50, 100):
        with time_machine.travel(token.created + timedelta(minutes=minutes), tick=False):
            assert get(api, token).status_code == 200
    assert AuthToken.objects.get(pk=token.pk).expiry == token.created + timedelta(hours=2)
    with time_machine.travel(token.created + timedelta(hours=2, seconds=1)):
        assert get(api, token).status_code == 401


def test_no_sliding_without_auto_refresh(api, token):
    with time_machine.travel(token.created + timedelta(hours=20), tick=False):
        get(api, token)
    assert AuthToken.objects.get(pk=token.pk).expiry == token.expiry


def login(api, **meta):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    response = api.post(reverse("durin_login"), body, format="json", **meta)
    assert response.status_code == 200, response.content
    return AuthToken.objects.get(digest__isnull=False, user__username="alice")


def test_metadata_recorded_at_login(api, user, web):
    token = login(
        api, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="x" * 1000, HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert token.ip_address == "203.0.113.9"  # the header is not trusted by default
    assert token.user_agent == "x" * 256


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client forged the left entry
        (2, "6.6.6.6, 1.2.3.4, 10.0.0.2", "1.2.3.4"),
        (1, "not-an-ip", "10.0.0.1"),
        (2, "1.2.3.4", "10.0.0.1"),  # fewer hops than proxies: header not to be trusted
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_trusted_proxy_header(api, user, web, settings, proxies, forwarded, expected):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": proxies}
    token = login(api, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert token.ip_address == expected


def test_odd_remote_addr_is_stored_as_unknown(api, user, web):
    assert login(api, REMOTE_ADDR="unix:/run/gunicorn.sock").ip_address is None


def test_sessions_list_shows_metadata(api, user, web):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    meta = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Firefox/140"}
    token = api.post(reverse("durin_login"), body, format="json", **meta).json()["token"]
    (session,) = api.get(reverse("durin_tokensessions-list"), **auth_header(token)).json()
    assert (session["ip_address"], session["user_agent"]) == ("198.51.100.7", "Firefox/140")
    assert session["last_used"] is not None


@pytest.mark.skipif(not LOCMEM, reason="time travel cannot age entries inside Redis")
def test_cached_hits_make_no_query_for_the_whole_cache_timeout(
    api, token, settings, django_assert_num_queries
):
    settings.REST_DURIN = {"TOKEN_CACHE_TIMEOUT": 300}
    start = timezone.now()
    get(api, token, "cached-whoami")
    for seconds in (30, 90, 150, 290):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            with django_assert_num_queries(0):
                assert get(api, token, "cached-whoami").status_code == 200
    with time_machine.travel(start + timedelta(seconds=301), tick=False):
        with django_assert_num_queries(2):  # miss: read, and the last_used now due
            get(api, token, "cached-whoami")


@pytest.mark.parametrize("url", ["whoami", "cached-whoami"])
def test_sliding_expiry_shorter_than_the_write_interval(api, user, make_client, url):
    client = make_client("short", token_ttl=timedelta(seconds=45), auto_refresh=True)
    token = AuthToken.objects.create(user, client)
    for seconds in range(10, 200, 10):  # in steady use for longer than four TTLs
        with time_machine.travel(token.created + timedelta(seconds=seconds), tick=False):
            assert get(api, token, url).status_code == 200, seconds
