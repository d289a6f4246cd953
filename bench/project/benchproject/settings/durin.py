"""durin (this repository), its TokenAuthentication."""

from .base import *

INSTALLED_APPS += ["durin"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["durin.auth.TokenAuthentication"]
