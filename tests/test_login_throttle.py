"""Failed logins are throttled per (client IP, username), CONTRACT §4."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.urls import reverse

from durin.models import AuthToken

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(api, username="alice", password="wrong", ip="192.0.2.1"):
    body = {"username": username, "password": password, "client": "web"}
    return api.post(reverse("durin_login"), body, format="json", REMOTE_ADDR=ip)


def fail(api, times, **kwargs):
    assert [attempt(api, **kwargs).status_code for _ in range(times)] == [400] * times


def test_after_ten_failures_even_the_right_password_gets_429(api, user, web):
    fail(api, 10)
    response = attempt(api, password=PASSWORD)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"]
    assert not AuthToken.objects.exists()


def test_the_window_ends(api, user, web):
    with time_machine.travel(time.time(), tick=False) as clock:
        fail(api, 10)
        assert attempt(api).status_code == 429
        clock.shift(61)
        assert attempt(api, password=PASSWORD).status_code == 200


def test_other_pairs_are_not_affected(api, user, make_user, web):
    make_user("bob")
    fail(api, 10)
    assert attempt(api, username="bob", password=PASSWORD).status_code == 200
    assert attempt(api, password=PASSWORD, ip="198.51.100.2").status_code == 200


def test_successes_do_not_count_and_reset_nothing(api, user, make_user, web):
    make_user("mallory")
    for _ in range(12):
        assert attempt(api, password=PASSWORD).status_code == 200
    fail(api, 9)
    # The attacker logs into their own account from the same address...
    assert attempt(api, username="mallory", password=PASSWORD).status_code == 200
    # ...and the victim logs in from theirs: neither resets the attacker's count.
    assert attempt(api, password=PASSWORD, ip="198.51.100.2").status_code == 200
    fail(api, 1)
    assert attempt(api).status_code == 429


def test_unknown_usernames_answer_alike(api, user, web):
    fail(api, 10)
    fail(api, 10, username="nobody")
    known, unknown = attempt(api), attempt(api, username="nobody")
    assert known.status_code == unknown.status_code == 429
    assert known.json().keys() == unknown.json().keys()


def test_username_case_does_not_buy_more_attempts(api, user, web):
    fail(api, 10)
    assert attempt(api, username="ALICE").status_code == 429


def test_rate_setting_and_off(api, user, web, settings):
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": "2/h"}
    fail(api, 2)
    response = attempt(api)
    assert response.status_code == 429 and int(response["Retry-After"]) > 3500
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": None}
    fail(api, 15)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(api, user, web, settings):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": 1}
    for _ in range(10):
        body = {"username": "alice", "password": "wrong", "client": "web"}
        api.post(
            reverse("durin_login"),
            body,
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    blocked = api.post(
        reverse("durin_login"),
        body,
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    other = api.post(
        reverse("durin_login"),
        body,
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    assert (blocked.status_code, other.status_code) == (429, 200)


@pytest.mark.parametrize("spelling", ["Álice", "alíce", "ＡＬＩＣＥ"])
def test_accents_and_width_do_not_buy_more_attempts(api, user, web, spelling):
    fail(api, 10)
    assert attempt(api, username=spelling, password=PASSWORD).status_code == 429
