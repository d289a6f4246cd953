"""django-rest-durin 1.1.0 from PyPI, its TokenAuthentication."""

from .base import *  # noqa: F403

INSTALLED_APPS += ["durin"]  # noqa: F405
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["durin.auth.TokenAuthentication"]  # noqa: F405
