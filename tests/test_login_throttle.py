"""Failed logins are throttled per (client network, account), CONTRACT §4 and §12."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from durin.login_throttle import LoginThrottle, resolve_account
from durin.models import AuthToken, LoginFailureCount

from .conftest import PASSWORD, free_port
from .test_concurrency import in_threads

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


# --- §12: the count follows the account the database resolves ---------------------------

ON_MARIADB = pytest.mark.skipif(
    connection.vendor != "mysql", reason="MariaDB's collations; runs in the MariaDB pass"
)


def username_collation():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = 'auth_user' "
            "AND column_name = 'username'"
        )
        return cursor.fetchone()[0]


@contextmanager
def username_collated(collation):
    """``auth_user.username`` in ``collation`` for the block (DDL commits: transactional tests)."""
    original = username_collation()
    alter = "ALTER TABLE auth_user MODIFY username varchar(150) COLLATE {} NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(alter.format(collation))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(alter.format(original))


def logs_in_as(api, spelling, owner, ip):
    """Control: without a throttle in the way, ``spelling`` does log into ``owner``'s account."""
    response = attempt(api, username=spelling, password=PASSWORD, ip=ip)
    assert response.status_code == 200, (spelling, response.json())
    token = AuthToken.objects.get(client__name="web", ip_address=ip)
    assert token.user == owner


@ON_MARIADB
def test_mariadb_default_collation_spellings_share_the_account_count(api, make_user, web):
    # The attacker's report: on MariaDB's default collation "sısßi" is "sissi".
    assert username_collation() == "utf8mb4_general_ci"
    sissi = make_user("sissi")
    spellings = ["sısßi", "SISSI", "sıssı", "ſissi", "ßissi"]
    for n, spelling in enumerate(spellings):
        logs_in_as(api, spelling, sissi, ip=f"198.51.100.{n}")
    AuthToken.objects.all().delete()
    # Ten failures, each under another spelling: the eleventh attempt is refused.
    fail(api, 5, username="sissi")
    for spelling in spellings:
        fail(api, 1, username=spelling)
    for spelling in ["sissi", *spellings]:
        assert attempt(api, username=spelling, password=PASSWORD).status_code == 429, spelling
    assert not AuthToken.objects.exists()


@ON_MARIADB
@pytest.mark.django_db(transaction=True)
def test_mariadb_uca_ignorable_characters_share_the_account_count(api, make_user, make_client):
    make_client("web")
    with username_collated("utf8mb4_unicode_ci"):
        sissi = make_user("sissi")
        spellings = ["si\x7fssi", "s\x7f\x7fissi\x7f"]
        for n, spelling in enumerate(spellings):
            logs_in_as(api, spelling, sissi, ip=f"198.51.100.{n}")
        AuthToken.objects.all().delete()
        fail(api, 9, username="sissi")
        fail(api, 1, username=spellings[0])
        for spelling in ["sissi", *spellings]:
            assert attempt(api, username=spelling, password=PASSWORD).status_code == 429
        assert not AuthToken.objects.exists()


def test_unknown_names_count_per_address_and_folded_name(api, user, web):
    fail(api, 10, username="nobody")
    assert attempt(api, username="NÖBODY\u200b").status_code == 429
    assert attempt(api, username="nobody", ip="198.51.100.7").status_code == 400
    assert attempt(api, username="somebody").status_code == 400
    assert attempt(api, password=PASSWORD).status_code == 200  # alice is another pair


def test_a_known_account_is_counted_by_account_not_only_by_name(api, user, web, monkeypatch):
    # A project whose manager matches usernames loosely (here: ignoring a "+tag"),
    # as Django's docs suggest for case-insensitive names: the database, not the
    # spelling, decides who logs in, so the count follows the account.
    from django.contrib.auth.models import UserManager

    natural = UserManager.get_by_natural_key
    monkeypatch.setattr(
        UserManager,
        "get_by_natural_key",
        lambda self, name: natural(self, name.split("+")[0]),
    )
    for n in range(10):
        assert attempt(api, username=f"alice+{n}").status_code == 400
    assert attempt(api, username="alice+again", password=PASSWORD).status_code == 429
    assert attempt(api, password=PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "username", ["ali\x00ce", "\ud800alice", ["alice"], {"a": 1}, None, True, 10**40, "x" * 5000]
)
def test_names_no_database_can_hold_are_refused_cleanly(username, user, web):
    api = APIClient(raise_request_exception=False)
    body = json.dumps({"username": username, "password": "wrong", "client": "web"})
    response = api.generic("POST", reverse("durin_login"), body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_resolving_several_users_resolves_nobody(db, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import UserManager

    def several(self, name):
        raise get_user_model().MultipleObjectsReturned

    monkeypatch.setattr(UserManager, "get_by_natural_key", several)
    assert resolve_account("alice") is None


def test_reauthentication_shares_the_login_count(api, user, web, rf):
    fail(api, 9)
    request = rf.post("/", REMOTE_ADDR="192.0.2.1")
    LoginThrottle(request, None, user=user).failed()
    assert attempt(api, password=PASSWORD).status_code == 429


# --- §12: counts every process shares, which an attacker cannot evict -------------------


def test_counts_live_in_the_database_not_in_the_cache(api, user, web):
    fail(api, 10)
    cache.clear()  # another process, a restart, or an eviction
    assert attempt(api, password=PASSWORD).status_code == 429
    assert LoginFailureCount.objects.exists()


def test_cheap_requests_cannot_evict_the_attackers_own_count(api, user, web):
    fail(api, 10)
    for n in range(300):  # no password: nothing is hashed, each costs the server little
        api.post(reverse("durin_login"), {"username": f"u{n}", "client": "web"}, format="json")
    assert attempt(api, password=PASSWORD).status_code == 429


def test_a_dummy_default_cache_does_not_turn_the_throttle_off(api, user, web, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    fail(api, 10)
    assert attempt(api, password=PASSWORD).status_code == 429


def test_each_process_sees_the_same_count(api, user, web, settings):
    # Two workers with local-memory caches of their own: what one counted, the other sees.
    worker = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    for n in range(10):
        settings.CACHES = {"default": {**worker, "LOCATION": f"worker-{n % 2}"}}
        fail(api, 1)
    settings.CACHES = {"default": {**worker, "LOCATION": "worker-2"}}
    assert attempt(api, password=PASSWORD).status_code == 429


def test_a_success_gives_its_reservation_back(api, user, web):
    fail(api, 9)
    assert attempt(api, password=PASSWORD).status_code == 200
    assert attempt(api, password=PASSWORD).status_code == 200
    fail(api, 1)
    assert attempt(api, password=PASSWORD).status_code == 429


def test_a_new_window_starts_from_zero_and_old_counts_are_pruned(api, user, web):
    with time_machine.travel(time.time(), tick=False) as clock:
        fail(api, 10)
        clock.shift(61)
        fail(api, 10)  # the same rows, reset: ten more failures are allowed
        assert attempt(api).status_code == 429
        assert LoginFailureCount.objects.count() == 2  # (address, name) and (address, account)
        out = StringIO()
        call_command("purge_expired_tokens", stdout=out)
        assert LoginFailureCount.objects.count() == 2  # the window is still open
        clock.shift(61)
        call_command("purge_expired_tokens", stdout=out)
        assert "Deleted 2 old failed-login count(s)." in out.getvalue()
    assert not LoginFailureCount.objects.exists()


def test_purge_dry_run_counts_old_failed_login_counts(api, user, web):
    fail(api, 1)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        out = StringIO()
        call_command("purge_expired_tokens", "--dry-run", stdout=out)
    assert "2 old failed-login count(s) would be deleted (dry run)." in out.getvalue()
    assert LoginFailureCount.objects.count() == 2


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="real concurrency needs PostgreSQL or MariaDB (in-memory SQLite locks whole tables)",
)
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_get_no_more_than_the_limit(make_user, make_client, monkeypatch):
    make_user("alice")
    make_client("web")
    checked = []
    verify = MD5PasswordHasher.verify

    def slow_verify(self, password, encoded):
        checked.append(password)
        time.sleep(0.3)  # every request is in flight at once, as with a real hasher
        return verify(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", slow_verify)
    codes = sorted(getattr(r, "status_code", r) for r in in_threads(25, lambda api: attempt(api)))
    assert codes == [400] * 10 + [429] * 15
    assert len(checked) == 10


# --- LOGIN_THROTTLE_CACHE -----------------------------------------------------------------

redis_only = pytest.mark.skipif(
    "redis" not in django_settings.CACHES["default"]["BACKEND"].lower(),
    reason="a shared cache; runs in the Redis pass",
)


@redis_only
def test_counts_in_the_named_cache_when_configured(api, user, web, settings):
    settings.CACHES = {**settings.CACHES, "throttle": settings.CACHES["default"]}
    settings.REST_DURIN = {"LOGIN_THROTTLE_CACHE": "throttle"}
    fail(api, 10)
    response = attempt(api, password=PASSWORD)
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    assert not LoginFailureCount.objects.exists()


@pytest.mark.django_db
def test_an_unreachable_throttle_cache_falls_back_to_the_database(api, user, web, settings, caplog):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead},
    }
    settings.REST_DURIN = {"LOGIN_THROTTLE_CACHE": "throttle"}
    fail(api, 10)
    assert attempt(api, password=PASSWORD).status_code == 429
    assert "failed logins are counted in the database" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_do_not_roll_the_count_back(make_user, make_client, settings):
    make_user("alice")
    make_client("web")
    settings.DATABASES["default"]["ATOMIC_REQUESTS"] = True
    try:
        api = APIClient()
        fail(api, 10)
        assert attempt(api, password=PASSWORD).status_code == 429
    finally:
        settings.DATABASES["default"]["ATOMIC_REQUESTS"] = False
