"""Settings of ``tests/customuser``: durin under a project unlike the suite's.

A custom user model (UUID key, e-mail as ``USERNAME_FIELD``, an organisation joined through
``AUTHTOKEN_SELECT_RELATED_LIST``), a router that reads durin's models from a second alias
(a test mirror of the default), ``TIME_ZONE`` away from UTC and ``USE_TZ`` as
``DURIN_CUSTOM_USE_TZ`` says (``true`` or ``false``). The database and cache are the suite's
(``DURIN_TEST_DB``, ``DURIN_TEST_CACHE``), under a test database name of their own, since the
suite that starts this run holds its own test database meanwhile.
"""

from __future__ import annotations

import os

from tests import settings as suite

SECRET_KEY = "durin-custom-user-tests-not-secret"
DEBUG = False
USE_TZ = {"true": True, "false": False}[os.environ.get("DURIN_CUSTOM_USE_TZ", "true")]
TIME_ZONE = "Europe/Paris"
ROOT_URLCONF = "tests.customuser.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "durin",
    "tests.customuser",
]
AUTH_USER_MODEL = "customuser.User"

_default = dict(suite.DATABASES["default"])
if "TEST" in _default:
    _default["TEST"] = {"NAME": f"{_default['TEST']['NAME']}_customuser"}
DATABASES = {
    "default": _default,
    # The same database in tests; the router's choice is what the tests observe.
    "replica": {**_default, "TEST": {"MIRROR": "default"}},
}
DATABASE_ROUTERS = ["tests.customuser.routers.DurinReadsFromReplica"]

CACHES = {
    alias: {**cache, "KEY_PREFIX": "durin-custom-user-tests"}
    for alias, cache in suite.CACHES.items()
}

REST_FRAMEWORK = {
    # What durin's own views (logout) authenticate with; the tests' views pick their class.
    "DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
}
REST_DURIN = {"AUTHTOKEN_SELECT_RELATED_LIST": ["user", "client", "user__organisation"]}
