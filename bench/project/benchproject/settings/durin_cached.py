"""durin (this repository), its CachedTokenAuthentication."""

from .base import *

INSTALLED_APPS += ["durin"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["durin.auth.CachedTokenAuthentication"]
