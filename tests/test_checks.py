"""System checks: each id is raised when it should be, and only then."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.checks.registry import registry
from django.core.management import call_command
from django.test import override_settings
from django.urls import include, path

from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.checks import check_api_access_client, check_token_lifetimes
from durin.models import Client

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}
}


#: The URLconf the checks see unless a test says otherwise: durin's views, which take the
#: project's default classes, and no view of its own (tests.urls sets the cached class on one).
urlpatterns = [path("api/auth/", include("durin.urls"))]


def ids(messages):
    return [m.id for m in messages]


def run_durin_checks(deploy=False):
    """durin's registered checks as ``manage.py check`` (``--deploy``) runs them: no database."""
    registered = registry.get_checks(include_deployment_checks=deploy)
    return [
        message
        for check in registered
        if check.__module__ == "durin.checks"
        for message in check(app_configs=None, databases=None)
    ]


def check(deploy=False, **overrides):
    overrides.setdefault("ROOT_URLCONF", __name__)
    with override_settings(**overrides):
        messages = run_durin_checks(deploy)
    assert all(m.hint for m in messages)
    return ids(messages)


def test_default_settings_are_clean():
    assert check() == []
    assert check(deploy=True) == []


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
        # §9: a grace of 0 to 1 day; a reauthentication age in whole seconds.
        ("ROTATION_GRACE_PERIOD", 30),
        ("ROTATION_GRACE_PERIOD", None),
        ("ROTATION_GRACE_PERIOD", timedelta(seconds=-1)),
        ("ROTATION_GRACE_PERIOD", timedelta(days=1, microseconds=1)),
        ("REAUTHENTICATION_MAX_AGE", timedelta(minutes=5)),
        ("REAUTHENTICATION_MAX_AGE", "300"),
        ("REAUTHENTICATION_MAX_AGE", 300.0),
        ("REAUTHENTICATION_MAX_AGE", True),
        ("REAUTHENTICATION_MAX_AGE", -1),
        ("REAUTHENTICATION_MAX_AGE", 10**14),  # past what a timedelta holds
    ],
)
def test_e003_wrong_type(name, value):
    assert check(REST_DURIN={name: value}) == ["durin.E003"]


@pytest.mark.parametrize(
    "rest_durin",
    [
        {"ROTATION_GRACE_PERIOD": timedelta(0), "REAUTHENTICATION_MAX_AGE": 0},
        {"ROTATION_GRACE_PERIOD": timedelta(days=1), "REAUTHENTICATION_MAX_AGE": 100 * 365 * 86400},
        {"ROTATION_GRACE_PERIOD": timedelta(seconds=5), "REAUTHENTICATION_MAX_AGE": 60},
    ],
)
def test_sessions_settings_at_their_bounds_are_clean(rest_durin):
    assert check(REST_DURIN=rest_durin) == []


def test_e003_says_which_session_setting_is_wrong_and_what_it_must_be():
    with override_settings(
        ROOT_URLCONF=__name__,
        REST_DURIN={"ROTATION_GRACE_PERIOD": 30, "REAUTHENTICATION_MAX_AGE": True},
    ):
        messages = {m.msg for m in run_durin_checks()}
    assert len(messages) == 2
    age, grace = sorted(messages)
    assert "ROTATION_GRACE_PERIOD" in grace and "timedelta" in grace
    assert "REAUTHENTICATION_MAX_AGE" in age and "seconds" in age


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


def test_w003_cached_class_on_a_process_local_cache_is_a_deployment_check():
    """A development server is one process: only ``check --deploy`` says so."""
    cached = {"DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"]}
    assert check(deploy=True, REST_FRAMEWORK=cached, CACHES=LOCMEM) == ["durin.W003"]
    assert check(REST_FRAMEWORK=cached, CACHES=LOCMEM) == []
    assert check(deploy=True, REST_FRAMEWORK=cached, CACHES=REDIS) == []
    assert check(deploy=True, CACHES=LOCMEM) == []  # TokenAuthentication reads no cache


def test_w003_is_shown_by_check_deploy_only(capsys):
    cached = {"DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"]}
    with override_settings(REST_FRAMEWORK=cached, CACHES=LOCMEM, ROOT_URLCONF=__name__):
        call_command("check")
        assert "durin.W003" not in capsys.readouterr().err
        call_command("check", deploy=True)
        assert "durin.W003" in capsys.readouterr().err


def test_only_w003_waits_for_deploy():
    deploy_only = set(registry.get_checks(include_deployment_checks=True)) - set(
        registry.get_checks()
    )
    assert [c.__name__ for c in deploy_only if c.__module__.startswith("durin")] == [
        "check_deployment"
    ]


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
    assert check(deploy=True, ROOT_URLCONF="tests.urls", CACHES=LOCMEM) == ["durin.W003"]
    assert check(deploy=True, ROOT_URLCONF="tests.urls", CACHES=REDIS) == []


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


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"CACHES": cache_of("django.core.cache.backends.dummy.DummyCache")}, "durin.E006"),
        (
            {
                "REST_DURIN": {"LOGIN_THROTTLE_CACHE": "counts"},
                "CACHES": {**REDIS, "counts": LOCMEM["default"]},
            },
            "durin.E007",
        ),
        (
            {
                "CACHES": {
                    "default": {
                        "BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": ["redis://primary", "redis://replica"],
                    }
                }
            },
            "durin.E008",
        ),
    ],
)
def test_security_errors_never_wait_for_deploy(overrides, error):
    """An error that makes a promise false anywhere is shown by plain ``check`` too."""
    cached = {"DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"]}
    assert check(REST_FRAMEWORK=cached, **overrides) == [error]
    assert check(deploy=True, REST_FRAMEWORK=cached, **overrides) == [error]


@pytest.mark.django_db
def test_w006_names_each_client_with_a_lifetime_of_zero(django_assert_num_queries):
    """1.1.0's ``create_client`` without ``--token-ttl`` stored a zero token_ttl."""
    Client.objects.create(name="web")
    Client.objects.create(name="legacy", token_ttl=timedelta(0))
    Client.objects.create(name="broken", token_ttl=-timedelta(seconds=1))
    with django_assert_num_queries(1):
        messages = check_token_lifetimes(databases=["default"])
    assert ids(messages) == ["durin.W006", "durin.W006"]
    assert ["'broken'" in messages[0].msg, "'legacy'" in messages[1].msg] == [True, True]
    assert "create_client legacy --update --token-ttl" in messages[1].hint
    with django_assert_num_queries(0):
        assert check_token_lifetimes(databases=None) == []  # plain `check`: no query


@pytest.mark.django_db
def test_w006_is_shown_by_migrate_and_check_database(capsys):
    Client.objects.create(name="legacy", token_ttl=timedelta(0))
    call_command("check")
    assert "durin.W006" not in capsys.readouterr().err
    call_command("check", databases=["default"])
    assert "durin.W006" in capsys.readouterr().err


def test_w007_refresh_token_on_login_has_nothing_to_renew():
    assert check(REST_DURIN={"REFRESH_TOKEN_ON_LOGIN": True}) == ["durin.W007"]
    assert check(REST_DURIN={"REFRESH_TOKEN_ON_LOGIN": False}) == []
    assert check(REST_DURIN={"REFRESH_TOKEN_ON_LOGIN": "yes"}) == ["durin.E003"]


class NotASerializer:
    pass


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("myproject.serializers.UserSerializer", "does not import"),
        ("durin.serializers.NoSuchSerializer", "does not import"),
        ("nodots", "does not import"),
        (f"{__name__}.NotASerializer", "not a serializer class"),
        (f"{__name__}.ids", "not a serializer class"),
        (NotASerializer, "not a serializer class"),
    ],
)
def test_e009_user_serializer_that_cannot_serve(value, words):
    with override_settings(REST_DURIN={"USER_SERIALIZER": value}, ROOT_URLCONF=__name__):
        messages = run_durin_checks()
    assert ids(messages) == ["durin.E009"]
    assert words in messages[0].msg


@pytest.mark.parametrize(
    "value", [None, "durin.serializers.UserSerializer", "rest_framework.serializers.Serializer"]
)
def test_e009_accepts_a_serializer(value):
    assert check(REST_DURIN={"USER_SERIALIZER": value}) == []


class ReadsFromAReplica:
    """Django's primary/replica routing: reads from the replica, writes to the primary."""

    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"


class ReadsDurinFromThePrimary(ReadsFromAReplica):
    def db_for_read(self, model, **hints):
        return None if model._meta.app_label == "durin" else "replica"


class PrimaryNowAndThen(ReadsFromAReplica):
    """Picks a database per read, the primary among them (as a random choice would)."""

    answers = itertools.cycle(["default", "default", "replica"])

    def db_for_read(self, model, **hints):
        return next(self.answers)


REPLICA_ROUTER = [f"{__name__}.ReadsFromAReplica"]


class MyTokenAuthentication(TokenAuthentication):
    pass


@pytest.mark.parametrize(
    "classes",
    [
        ["durin.auth.TokenAuthentication"],
        [f"{__name__}.MyTokenAuthentication"],
        [MyTokenAuthentication],
        ["durin.auth.CachedTokenAuthentication", "durin.auth.TokenAuthentication"],
    ],
)
def test_e011_the_plain_class_reading_tokens_from_a_replica(classes):
    """It trusts the replica's answer: a revoked token is accepted while the replica lags
    (tests/test_replicas.py shows it)."""
    rest_framework = {"DEFAULT_AUTHENTICATION_CLASSES": classes}
    found = check(REST_FRAMEWORK=rest_framework, CACHES=REDIS, DATABASE_ROUTERS=REPLICA_ROUTER)
    assert "durin.E011" in found


def test_e011_says_where_tokens_are_read_and_what_to_do():
    with override_settings(DATABASE_ROUTERS=REPLICA_ROUTER, ROOT_URLCONF=__name__):
        (message,) = run_durin_checks()
    assert message.id == "durin.E011"
    assert "from 'replica'" in message.msg and "on 'default'" in message.msg
    assert "CachedTokenAuthentication" in message.hint


def test_e011_counts_a_plain_class_set_on_a_view():
    """tests.urls sets each class on a view of its own."""
    overrides = {"REST_FRAMEWORK": CACHED_DEFAULT, "CACHES": REDIS}
    assert check(ROOT_URLCONF="tests.urls", **overrides) == []
    assert check(ROOT_URLCONF="tests.urls", DATABASE_ROUTERS=REPLICA_ROUTER, **overrides) == [
        "durin.E011"
    ]


@pytest.mark.parametrize("auth_class", [CachedTokenAuthentication, MyCachedAuthentication])
def test_e011_leaves_the_cached_class_alone(auth_class):
    """A revocation's stale marker sends the revoked token's lookup to the primary."""
    rest_framework = {"DEFAULT_AUTHENTICATION_CLASSES": [auth_class]}
    assert check(REST_FRAMEWORK=rest_framework, CACHES=REDIS, DATABASE_ROUTERS=REPLICA_ROUTER) == []


def test_e011_leaves_reads_of_durins_models_on_the_primary_alone():
    assert check(DATABASE_ROUTERS=[f"{__name__}.ReadsDurinFromThePrimary"]) == []
    assert check() == []  # no router at all


def test_e011_asks_a_router_that_picks_per_read_more_than_once():
    assert check(DATABASE_ROUTERS=[f"{__name__}.PrimaryNowAndThen"]) == ["durin.E011"]


def test_e011_never_waits_for_deploy():
    assert check(deploy=True, DATABASE_ROUTERS=REPLICA_ROUTER) == ["durin.E011"]
