"""The floor: no authentication at all, the endpoint open to anyone."""

from .base import *  # noqa: F403

REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = ["rest_framework.permissions.AllowAny"]  # noqa: F405
