"""The floor: no authentication at all, the endpoint open to anyone."""

from .base import *

REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = ["rest_framework.permissions.AllowAny"]
