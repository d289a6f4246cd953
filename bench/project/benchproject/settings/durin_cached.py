"""durin (this repository), its CachedTokenAuthentication."""

from .base import *  # noqa: F403

INSTALLED_APPS += ["durin"]  # noqa: F405
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [  # noqa: F405
    "durin.auth.CachedTokenAuthentication"
]
