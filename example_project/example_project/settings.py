"""Settings of the durin demo.

Everything runs out of the box on SQLite and the local-memory cache, so a
newcomer needs nothing but Python. Environment variables (see README.md) switch
to PostgreSQL and Redis, the setup durin is meant for when several processes
share one token cache.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# A fixed key is fine for a demo on localhost; set DURIN_DEMO_SECRET_KEY anywhere else.
def env_seconds(name: str, default: int) -> int:
    """Read a whole number of seconds, at least 1; anything else stops the demo, naming it."""
    value = os.environ.get(name)
    if value is None:
        return default
    if not (value.strip().isascii() and value.strip().isdigit() and int(value) >= 1):
        raise ImproperlyConfigured(
            f"{name} must be a whole number of seconds (1 or more), not {value!r}."
        )
    return int(value)


SECRET_KEY = os.environ.get("DURIN_DEMO_SECRET_KEY", "durin-demo-not-a-secret")
DEBUG = env_flag("DURIN_DEMO_DEBUG", True)
ALLOWED_HOSTS = os.environ.get("DURIN_DEMO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally: no CDN needed
    "durin",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

if os.environ.get("DURIN_DEMO_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "NAME": os.environ.get("PGDATABASE", "postgres"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # Overridable so that tests can work on a throwaway file.
            "NAME": os.environ.get("DURIN_DEMO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }

# CachedTokenAuthentication keeps tokens here. The local-memory cache is per process,
# which is enough for one runserver; Redis lets several processes share it.
REDIS_URL = os.environ.get("DURIN_DEMO_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Overridable so that tests sharing a Redis server keep to their own keys.
            "KEY_PREFIX": os.environ.get("DURIN_DEMO_CACHE_PREFIX", "durin-demo"),
            # If Redis stalls, durin authenticates from the database: after half a second,
            # not after the operating system's TCP timeout.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # runserver is one process, so a process-local token cache is coherent here; with
    # several processes, set DURIN_DEMO_REDIS_URL instead of silencing this warning.
    SILENCED_SYSTEM_CHECKS = ["durin.W003"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    # Token first; the session lets a user logged in to the admin use the browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "durin.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # One budget per (user, client); a client's own throttle_rate overrides this default.
    "DEFAULT_THROTTLE_CLASSES": ["durin.throttling.UserClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user_per_client": "1000/hour"},
    # OpenAPI 3 at /api/schema/, Swagger UI at /api/docs/ (durin documents its own views).
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "durin demo",
    "DESCRIPTION": "durin's token endpoints under /api/auth/, and endpoints to call with a token.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

REST_DURIN = {
    "DEFAULT_TOKEN_TTL": timedelta(days=1),
    "API_ACCESS_CLIENT_NAME": "durin_api_access",
    # sessions/ lists logins only: API keys have keys/ (and their own part of the web page).
    "API_ACCESS_EXCLUDE_FROM_SESSIONS": True,
    # What an API key may be limited to (views name them with TokenHasScope).
    "SCOPES": {
        "profile:read": "Read who you are and how you logged in (api/profile/).",
        "clock:read": "Read the server's time (api/clock/).",
    },
    # Creating or rolling an API key needs a password proved this recently (seconds). The
    # browser test sets it low to see the page ask for the password again.
    "REAUTHENTICATION_MAX_AGE": env_seconds("DURIN_DEMO_REAUTHENTICATION_MAX_AGE", 300),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"durin": {"handlers": ["console"], "level": "INFO"}},
}
