"""django-rest-durin 1.1.0, its CachedTokenAuthentication (django-cache-memoize)."""

from .base import *

INSTALLED_APPS += ["durin"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["durin.auth.CachedTokenAuthentication"]
