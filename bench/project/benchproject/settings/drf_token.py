"""DRF's own TokenAuthentication (rest_framework.authtoken)."""

from .base import *

INSTALLED_APPS += ["rest_framework.authtoken"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "rest_framework.authentication.TokenAuthentication"
]
