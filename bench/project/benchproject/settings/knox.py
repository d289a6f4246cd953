"""django-rest-knox with its defaults."""

from .base import *

INSTALLED_APPS += ["knox"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["knox.auth.TokenAuthentication"]
