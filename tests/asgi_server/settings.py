"""The suite's settings for a uvicorn server of its own (tests/test_asgi_server.py).

Its database and cache come from the environment the test gives it: a SQLite file, or a
throwaway PostgreSQL database; Django's local-memory cache, or Redis under a key prefix of
its own.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.asgi_server.urls"
ALLOWED_HOSTS = ["127.0.0.1"]

if os.environ.get("DURIN_ASGI_PG_NAME"):
    DATABASES = {
        "default": {
            **DATABASES["default"],  # noqa: F405
            "NAME": os.environ["DURIN_ASGI_PG_NAME"],
            "CONN_MAX_AGE": 0,
        }
    }
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DURIN_ASGI_SQLITE"]}
    }

if os.environ.get("DURIN_ASGI_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["DURIN_ASGI_REDIS_URL"],
            "KEY_PREFIX": os.environ["DURIN_ASGI_CACHE_PREFIX"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
