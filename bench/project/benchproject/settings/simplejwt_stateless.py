"""djangorestframework-simplejwt, JWTStatelessUserAuthentication (no user lookup)."""

from datetime import timedelta

from .base import *

REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication"
]
SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(days=1)}
