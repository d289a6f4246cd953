"""DRF's own TokenAuthentication (rest_framework.authtoken)."""

from .base import *  # noqa: F403

INSTALLED_APPS += ["rest_framework.authtoken"]  # noqa: F405
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [  # noqa: F405
    "rest_framework.authentication.TokenAuthentication"
]
