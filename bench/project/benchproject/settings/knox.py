"""django-rest-knox with its defaults."""

from .base import *  # noqa: F403

INSTALLED_APPS += ["knox"]  # noqa: F405
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["knox.auth.TokenAuthentication"]  # noqa: F405
