"""Attack: durin.E008 reads LOCATION as Django does not.

Django's RedisCache splits a LOCATION string on ``[;,]``
(django/core/cache/backends/redis.py: ``re.split("[;,]", server)``), so
``"redis://primary;redis://replica"`` sends reads to the replica as surely as the
comma does; the check splits on "," only.
"""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings


@pytest.mark.parametrize("separator", [",", ";"])
def test_every_spelling_of_several_servers_is_refused(separator):
    location = separator.join(["redis://127.0.0.1:6379/9", "redis://127.0.0.1:6380/9"])
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "tokens": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location},
    }
    with override_settings(
        CACHES=caches_setting,
        REST_DURIN={"TOKEN_CACHE_ALIAS": "tokens"},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"]
        },
    ):
        errors = [m.id for m in checks.run_checks() if m.id.startswith("durin.E")]
    assert errors, f"LOCATION {location!r}: reads go to the second server, and no check says so"
