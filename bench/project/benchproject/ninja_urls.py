"""The URLs of the django-ninja contenders: the one operation at ``/ninja/me/``."""

from __future__ import annotations

from django.urls import path

from .ninja_api import api

urlpatterns = [path("ninja/", api.urls)]
