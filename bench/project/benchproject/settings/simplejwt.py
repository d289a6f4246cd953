"""djangorestframework-simplejwt, JWTAuthentication (loads the user per request)."""

from datetime import timedelta

from .base import *

REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "rest_framework_simplejwt.authentication.JWTAuthentication"
]
SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(days=1)}
