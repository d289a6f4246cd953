"""System checks: each id is raised when it should be, and only then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import include, path

from durin.auth import CachedTokenAuthentication
from durin.checks import check_api_access_client, check_settings

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}
}


#: The URLconf the checks see unless a test says otherwise: durin's views, which take the
#: project's default classes, and no view of its own (tests.urls sets the cached class on one).
urlpatterns = [path("api/auth/", include("durin.urls"))]


def ids(messages):
    return [m.id for m in messages]


def check(**overrides):
    overrides.setdefault("ROOT_URLCONF", __name__)
    with override_settings(**overrides):
        messages = check_settings()
    assert all(m.hint for m in messages)
    return ids(messages)


def test_default_settings_are_clean():
    assert check() == []


@pytest.mark.parametrize(
    "rest_durin",
    [
        {"TOKEN_CHARACTER_LENGTH": 30},
        {"TOKEN_CHARACTER_LENGTH": 513},  # tokens over 512 characters are never read
        {"TOKEN_PREFIX": "has-dash"},
        {"TOKEN_PREFIX": "p" * 40},
    ],
)
def test_e001_token_format(rest_durin):
    assert check(REST_DURIN=rest_durin) == ["durin.E001"]


def test_w005_both_auth_classes():
    both = ["durin.auth.TokenAuthentication", "durin.auth.CachedTokenAuthentication"]
    assert check(REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": both}, CACHES=REDIS) == [
        "durin.W005"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_TOKEN_TTL", 3600),
        ("DEFAULT_TOKEN_TTL", timedelta(0)),
        ("DEFAULT_TOKEN_TTL", timedelta(days=3_000_000)),  # every login would overflow a date
        ("CACHE_WRITE_CHECK_INTERVAL", 0),
        ("LOGIN_THROTTLE_CACHE", 1),
        ("MAX_TOKENS_PER_USER_CLIENT", 0),
        ("TOKEN_CHARACTER_LENGTH", "64"),
        ("TOKEN_CACHE_TIMEOUT", True),
        ("TOKEN_CACHE_TIMEOUT", -1),
        ("AUTH_HEADER_PREFIX", "Two words"),
        ("AUTHTOKEN_SELECT_RELATED_LIST", "user"),
        ("ACCEPT_LEGACY_TOKENS", "no"),
        ("MIN_REFRESH_INTERVAL", 1.5),
        ("NUM_TRUSTED_PROXIES", -1),
        ("LOGIN_THROTTLE_RATE", 10),
        ("REVOKE_TOKENS_ON_DEACTIVATION", 1),
    ],
)
def test_e003_wrong_type(name, value):
    assert check(REST_DURIN={name: value}) == ["durin.E003"]


@pytest.mark.parametrize("rate", ["10", "ten/m", "10/fortnight"])
def test_e004_login_rate(rate):
    assert check(REST_DURIN={"LOGIN_THROTTLE_RATE": rate}) == ["durin.E004"]


def test_e005_unknown_cache_alias():
    assert check(REST_DURIN={"TOKEN_CACHE_ALIAS": "tokens"}) == ["durin.E005"]


def test_w001_include_token_setting():
    assert check(REST_DURIN={"API_ACCESS_RESPONSE_INCLUDE_TOKEN": True}) == ["durin.W001"]


@pytest.mark.django_db
def test_w002_missing_api_access_client(make_client):
    with override_settings(REST_DURIN={"API_ACCESS_CLIENT_NAME": "api"}):
        assert ids(check_api_access_client(databases=["default"])) == ["durin.W002"]
        assert check_api_access_client(databases=None) == []  # plain `check`: no query
        make_client("api")
        assert check_api_access_client(databases=["default"]) == []


def test_w003_cached_class_on_a_process_local_cache():
    cached = {"DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"]}
    assert check(REST_FRAMEWORK=cached, CACHES=LOCMEM) == ["durin.W003"]
    assert check(REST_FRAMEWORK=cached, CACHES=REDIS) == []


def test_w004_unknown_key():
    assert check(REST_DURIN={"TOKEN_TTL": timedelta(days=1)}) == ["durin.W004"]


def test_checks_are_registered(capsys):
    with override_settings(REST_DURIN={"API_ACCESS_RESPONSE_INCLUDE_TOKEN": True}):
        call_command("check")
    assert "durin.W001" in capsys.readouterr().err


CACHED_DEFAULT = {"DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"]}
DJANGO_REDIS = "django_redis.cache.RedisCache"


def cache_of(backend, **options):
    return {"default": {"BACKEND": backend, "LOCATION": "x", "OPTIONS": options}}


def test_w003_cached_class_set_on_a_view_only():
    """tests.urls routes a view whose authentication_classes is the cached class."""
    assert check(ROOT_URLCONF="tests.urls", CACHES=LOCMEM) == ["durin.W003"]
    assert check(ROOT_URLCONF="tests.urls", CACHES=REDIS) == []


@pytest.mark.parametrize(
    "caches",
    [
        cache_of("django.core.cache.backends.db.DatabaseCache"),
        cache_of("django.core.cache.backends.filebased.FileBasedCache"),
        cache_of("django.core.cache.backends.dummy.DummyCache"),
        cache_of(DJANGO_REDIS, IGNORE_EXCEPTIONS=True),
        cache_of("django.core.cache.backends.memcached.PyMemcacheCache", ignore_exc=True),
        cache_of("django.core.cache.backends.memcached.PyMemcacheCache", default_noreply=True),
    ],
)
@pytest.mark.parametrize(
    "where",
    [{"REST_FRAMEWORK": CACHED_DEFAULT}, {"ROOT_URLCONF": "tests.urls"}],
    ids=["default-class", "on-a-view"],
)
def test_e006_cache_that_swallows_errors(caches, where):
    assert check(CACHES=caches, **where) == ["durin.E006"]


def test_e006_django_redis_ignoring_exceptions_globally():
    caches = cache_of(DJANGO_REDIS)
    assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT) == []
    with override_settings(DJANGO_REDIS_IGNORE_EXCEPTIONS=True):
        assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT) == ["durin.E006"]
        # The cache's own option wins over the global one, as in django-redis.
        caches = cache_of(DJANGO_REDIS, IGNORE_EXCEPTIONS=False)
        assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT) == []


def test_e006_looks_at_the_token_cache_only():
    caches = {
        **REDIS,
        "tokens": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"},
    }
    assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT) == []
    tokens = {"TOKEN_CACHE_ALIAS": "tokens"}
    assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT, REST_DURIN=tokens) == ["durin.E006"]


class MyCachedAuthentication(CachedTokenAuthentication):
    pass


def test_e006_counts_subclasses_and_only_when_the_cached_class_is_used():
    database_cache = cache_of("django.core.cache.backends.db.DatabaseCache")
    assert check(CACHES=database_cache) == []  # TokenAuthentication only: no cache involved
    subclass = {"DEFAULT_AUTHENTICATION_CLASSES": [MyCachedAuthentication]}
    assert check(CACHES=database_cache, REST_FRAMEWORK=subclass) == ["durin.E006"]
    dotted = {"DEFAULT_AUTHENTICATION_CLASSES": [f"{__name__}.MyCachedAuthentication"]}
    assert check(CACHES=database_cache, REST_FRAMEWORK=dotted) == ["durin.E006"]


@pytest.mark.parametrize("backend", ["django.core.cache.backends.redis.RedisCache", DJANGO_REDIS])
@pytest.mark.parametrize(
    "location",
    [
        ["redis://primary:6379/0", "redis://replica:6379/0"],
        "redis://primary:6379/0,redis://replica:6379/0",
        "redis://primary:6379/0;redis://replica:6379/0",  # Django splits on ";" too
    ],
)
def test_e008_redis_cache_reading_from_replicas(backend, location):
    """Writes go to the first server, reads to the others: a marker can miss the reader."""
    caches = {"default": {"BACKEND": backend, "LOCATION": location}}
    assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT) == ["durin.E008"]
    assert check(CACHES=caches) == []  # TokenAuthentication reads no cache
    single = {"default": {"BACKEND": backend, "LOCATION": ["redis://primary:6379/0"]}}
    assert check(CACHES=single, REST_FRAMEWORK=CACHED_DEFAULT) == []


def test_e008_leaves_memcached_servers_alone():
    """Several memcached servers shard keys; each key lives on one server."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": ["127.0.0.1:11211", "127.0.0.1:11212"],
        }
    }
    assert check(CACHES=caches, REST_FRAMEWORK=CACHED_DEFAULT) == []
