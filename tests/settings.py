"""Test settings. DURIN_TEST_DB=sqlite|postgres|mysql and DURIN_TEST_CACHE=locmem|redis."""

from __future__ import annotations

import os

SECRET_KEY = "durin-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
STATIC_URL = "/static/"  # the live server's static handler needs one (test_possession.py)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "durin",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DB = os.environ.get("DURIN_TEST_DB", "sqlite")
if DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "NAME": "test",
            "USER": os.environ.get("PGUSER", "postgres"),
            # Separate runs at once (a developer and CI) need separate test databases.
            "TEST": {"NAME": os.environ.get("DURIN_TEST_DB_NAME", "test_durin")},
        }
    }
elif DB == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "NAME": "test",
            "USER": "root",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": os.environ.get("DURIN_TEST_DB_NAME", "test_durin")},
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

# A read replica, for the tests that route reads to one and copy rows to it late, as a lagging
# replica would. pytest-django creates its test database only when a test asks for it.
if DB in ("postgres", "mysql"):
    _replica_test_name = DATABASES["default"]["TEST"]["NAME"] + "_replica"
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"NAME": _replica_test_name}}
else:
    DATABASES["replica"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}

CACHE = os.environ.get("DURIN_TEST_CACHE", "locmem")
if CACHE == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
            "KEY_PREFIX": "durin-tests",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
}
REST_DURIN: dict = {}
