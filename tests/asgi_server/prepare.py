"""Migrate the server's database and add its user and client (run once, before uvicorn)."""

from __future__ import annotations

import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from durin.models import Client  # noqa: E402

username, password = sys.argv[1], sys.argv[2]
call_command("migrate", verbosity=0)
get_user_model().objects.create_user(username, password=password)
Client.objects.create(name="web")
