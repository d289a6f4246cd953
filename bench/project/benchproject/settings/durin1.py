"""django-rest-durin 1.1.0 from PyPI, its TokenAuthentication."""

from .base import *

INSTALLED_APPS += ["durin"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["durin.auth.TokenAuthentication"]
