"""durin.E007: LOGIN_THROTTLE_CACHE must name a shared cache that counts atomically."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from durin.checks import check_login_throttle_cache

BACKENDS = "django.core.cache.backends."
DEFAULT = {"default": {"BACKEND": BACKENDS + "locmem.LocMemCache"}}


def messages(alias, backend=None, **options):
    caches = dict(DEFAULT)
    if backend:
        caches["throttle"] = {"BACKEND": BACKENDS + backend, "LOCATION": "x", **options}
    with override_settings(CACHES=caches, REST_DURIN={"LOGIN_THROTTLE_CACHE": alias}):
        return check_login_throttle_cache()


def test_counting_in_the_database_needs_no_cache():
    assert messages(None) == []


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        ("locmem.LocMemCache", "keeps its counts per process"),
        ("dummy.DummyCache", "keeps nothing"),
        ("db.DatabaseCache", "cannot count atomically"),
        ("filebased.FileBasedCache", "cannot count atomically"),
        ("memcached.PyMemcacheCache", "evicts the least recently used keys"),
        ("memcached.PyLibMCCache", "evicts the least recently used keys"),
    ],
)
def test_caches_that_cannot_count_for_every_process_are_refused(backend, reason):
    [error] = messages("throttle", backend)
    assert error.id == "durin.E007" and error.is_serious()
    assert reason in error.msg and "LOGIN_THROTTLE_CACHE" in error.hint


@pytest.mark.parametrize("backend", ["redis.RedisCache"])
def test_shared_atomic_caches_are_accepted(backend):
    """Accepted by the check; at run time its eviction policy is read on every attempt."""
    assert messages("throttle", backend) == []


def test_an_alias_missing_from_caches_is_refused():
    [error] = messages("nowhere")
    assert error.id == "durin.E007" and "no such cache" in error.msg


def test_a_wrong_type_is_left_to_e003():
    assert messages(42) == []


def test_the_check_is_registered():
    caches = {**DEFAULT, "throttle": {"BACKEND": BACKENDS + "dummy.DummyCache"}}
    settings = override_settings(CACHES=caches, REST_DURIN={"LOGIN_THROTTLE_CACHE": "throttle"})
    with settings, pytest.raises(SystemCheckError, match="durin.E007"):
        call_command("check")
