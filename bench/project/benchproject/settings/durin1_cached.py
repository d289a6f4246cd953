"""django-rest-durin 1.1.0, its CachedTokenAuthentication (django-cache-memoize)."""

from .base import *  # noqa: F403

INSTALLED_APPS += ["durin"]  # noqa: F405
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [  # noqa: F405
    "durin.auth.CachedTokenAuthentication"
]
